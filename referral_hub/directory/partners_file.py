"""Read and check partners.yaml, the partner directory and service taxonomy file."""

from __future__ import annotations

import copy
import functools
import json
import os
import pathlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from referral_hub.directory.regions import CODE, get_region

DEFAULT_CAPACITY_STATUS = "available"

_ENTRY_LISTS = ("services", "organizations")


class PartnersFileError(Exception):
    """A partners file that cannot be loaded; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        """Keep the problems and build a message that lists them all."""
        self.problems = list(problems)
        count = len(self.problems)
        lines = "".join(f"\n- {problem}" for problem in self.problems)
        super().__init__(f"partners file has {count} problem{'s' if count != 1 else ''}:{lines}")


def default_partners_path() -> pathlib.Path:
    """Return the partners.yaml at the repository root (the package directory's parent)."""
    return _repo_root() / "partners.yaml"


def schema_path() -> pathlib.Path:
    """Return the JSON Schema of the partners file (repository root / schemas)."""
    return _repo_root() / "schemas" / "partners.schema.json"


def read_partners_file(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Parse and validate; raise PartnersFileError naming the entry and field of every problem."""
    data = _load_yaml(pathlib.Path(path) if path is not None else default_partners_path())
    if data is None:
        raise PartnersFileError(
            ["the file is empty: expected a mapping with version, services and organizations"]
        )
    problems = _schema_problems(data) + _cross_problems(data)
    if problems:
        raise PartnersFileError(problems)
    return _normalise(data)


# --- YAML ---------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, except that a key repeated in one mapping is an error."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        """Refuse a key the mapping already has (merge keys may still be overridden)."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Mark] = {}
            for key_node, _value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable: SafeLoader reports it below
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r} (first at line {first.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _load_yaml(path: pathlib.Path) -> Any:
    """Read the file and parse it as YAML, turning every failure into a PartnersFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PartnersFileError([f"cannot read {path}: not UTF-8 text ({exc.reason})"]) from exc
    except OSError as exc:
        raise PartnersFileError([f"cannot read {path}: {exc.strerror or exc}"]) from exc
    try:
        # A SafeLoader subclass: builds plain data only, exactly like yaml.safe_load.
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506
    except yaml.MarkedYAMLError as exc:
        raise PartnersFileError([_describe_yaml_error(exc)]) from exc
    except yaml.YAMLError as exc:
        raise PartnersFileError([f"YAML error: {exc}"]) from exc


def _describe_yaml_error(exc: yaml.MarkedYAMLError) -> str:
    """Describe a YAML error with the line and column (1-based) where it was found."""
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = exc.problem or exc.context or "invalid YAML"
    context = ""
    if exc.context and exc.problem:
        context = f" ({exc.context}"
        if exc.context_mark is not None:
            context += f" that starts at line {exc.context_mark.line + 1}"
        context += ")"
    return f"YAML syntax error{where}: {problem}{context}"


# --- JSON Schema --------------------------------------------------------------------------


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """Check `pattern` as ECMA-262 reads it: ASCII \\d, and `$` only at the very end."""
    if validator.is_type(instance, "string") and _compile(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _compile(pattern: str) -> re.Pattern[str]:
    """Compile a schema pattern so that a final `$` does not accept a trailing newline."""
    trailing_backslashes = len(pattern[:-1]) - len(pattern[:-1].rstrip("\\"))
    if pattern.endswith("$") and trailing_backslashes % 2 == 0:
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern, re.ASCII)


_Validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


@functools.cache
def _schema() -> dict[str, Any]:
    """Load the JSON Schema of the partners file."""
    return json.loads(schema_path().read_text(encoding="utf-8"))


def _schema_problems(data: Any) -> list[str]:
    """Validate against the JSON Schema and describe every error, sorted by path."""
    errors = sorted(_Validator(_schema()).iter_errors(data), key=lambda e: _path_key(e.path))
    problems: list[str] = []
    for error in errors:
        for problem in _describe_schema_error(error, data):
            if problem not in problems:
                problems.append(problem)
    return problems


def _describe_schema_error(error: ValidationError, data: Any) -> list[str]:
    """Turn one schema error into messages that name the entry and the field."""
    path = list(error.path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        return [
            _locate(data, [*path, name], "required field is missing")
            for name in error.validator_value
            if name not in instance
        ]
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(error.schema.get("properties", {}))
        return [
            _locate(data, [*path, str(key)], f"unknown field (allowed: {', '.join(allowed)})")
            for key in instance
            if key not in allowed
        ]
    message = error.message
    if error.validator == "type" and isinstance(instance, int | float):
        expected = error.validator_value
        if expected == "string" or (isinstance(expected, list) and "string" in expected):
            message += " (put the value in quotes)"
    elif error.validator == "maxItems":
        count = len(instance) if isinstance(instance, Sequence) else 0
        message = f"has {count} item{'s' if count != 1 else ''}, at most {error.validator_value}"
        message += " allowed"
    if error.validator in ("pattern", "maxItems") and error.schema.get("description"):
        message += f" ({error.schema['description'].rstrip('.')})"
    return [_locate(data, path, message)]


# --- Checks across entries ----------------------------------------------------------------


def _cross_problems(data: Any) -> list[str]:
    """Check what the schema cannot: uniqueness, parents, cycles, service references, and
    that every region code names a Kemendagri region (directory/regions.py)."""
    if not isinstance(data, dict):
        return []
    problems: list[str] = []
    services = data.get("services")
    service_index = _code_index(data, "services", problems)
    org_index = _code_index(data, "organizations", problems)
    organizations = data.get("organizations")
    if not isinstance(organizations, list):
        return problems

    parents: dict[str, str] = {}
    for i, org in enumerate(organizations):
        if not isinstance(org, dict):
            continue
        code = org.get("code")
        parent = org.get("parent")
        if isinstance(parent, str):
            if parent == code:
                problems.append(
                    _locate(
                        data,
                        ["organizations", i, "parent"],
                        "an organisation cannot be its own parent",
                    )
                )
            elif parent not in org_index:
                problems.append(
                    _locate(
                        data,
                        ["organizations", i, "parent"],
                        f"{parent!r} is not the code of an organisation in this file",
                    )
                )
            elif isinstance(code, str) and org_index.get(code) == i:
                parents[code] = parent
        problems.extend(_offer_problems(data, i, org, service_index, isinstance(services, list)))
        region = org.get("region_code")
        if isinstance(region, str) and CODE.match(region) and get_region(region) is None:
            problems.append(
                _locate(
                    data,
                    ["organizations", i, "region_code"],
                    f"{region!r} is not a Kemendagri region code in use",
                )
            )

    problems.extend(_cycle_problems(data, parents, org_index))
    return problems


def _code_index(data: dict[str, Any], key: str, problems: list[str]) -> dict[str, int]:
    """Map each code of a top-level list to its first index, reporting the repeats."""
    index: dict[str, int] = {}
    entries = data.get(key)
    if not isinstance(entries, list):
        return index
    for i, entry in enumerate(entries):
        code = entry.get("code") if isinstance(entry, dict) else None
        if not isinstance(code, str):
            continue
        if code in index:
            problems.append(
                _locate(data, [key, i, "code"], f"{code!r} is already used by {key}[{index[code]}]")
            )
        else:
            index[code] = i
    return index


def _offer_problems(
    data: dict[str, Any],
    i: int,
    org: dict[str, Any],
    service_index: dict[str, int],
    check_known: bool,
) -> list[str]:
    """Report offered services that are unknown or offered twice by one organisation."""
    problems: list[str] = []
    offers = org.get("services")
    if not isinstance(offers, list):
        return problems
    seen: dict[str, int] = {}
    for j, offer in enumerate(offers):
        code = offer.get("code") if isinstance(offer, dict) else offer
        if not isinstance(code, str):
            continue
        where = ["organizations", i, "services", j]
        if check_known and code not in service_index:
            problems.append(
                _locate(data, where, f"{code!r} is not a service code listed in 'services'")
            )
        if code in seen:
            problems.append(
                _locate(data, where, f"{code!r} is offered twice (also services[{seen[code]}])")
            )
        else:
            seen[code] = j
    return problems


def _cycle_problems(
    data: dict[str, Any], parents: dict[str, str], org_index: dict[str, int]
) -> list[str]:
    """Report each parent cycle once, at its member that comes first in the file."""
    problems: list[str] = []
    done: set[str] = set()
    for start in org_index:
        chain: list[str] = []
        position: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done and node not in position:
            position[node] = len(chain)
            chain.append(node)
            node = parents.get(node)
        if node is not None and node in position:
            cycle = chain[position[node] :]
            first = min(range(len(cycle)), key=lambda k: org_index[cycle[k]])
            cycle = cycle[first:] + cycle[:first]
            message = "parents form a cycle: " + " -> ".join([*cycle, cycle[0]])
            problems.append(
                _locate(data, ["organizations", org_index[cycle[0]], "parent"], message)
            )
        done.update(chain)
    return problems


# --- Messages and results -----------------------------------------------------------------


def _locate(data: Any, path: Sequence[str | int], message: str) -> str:
    """Prefix a message with the entry (`organizations[3] (code 'x')`) and the field."""
    parts: list[str] = []
    rest = list(path)
    if len(rest) >= 2 and rest[0] in _ENTRY_LISTS and isinstance(rest[1], int):
        key, index = rest[0], rest[1]
        label = f"{key}[{index}]"
        entries = data.get(key) if isinstance(data, dict) else None
        entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
        if isinstance(entry, dict) and isinstance(entry.get("code"), str):
            label += f" (code {entry['code']!r})"
        parts.append(label)
        rest = rest[2:]
    if rest:
        parts.append(f"field '{_format_path(rest)}'")
    if not parts:
        parts.append("top level")
    return f"{': '.join(parts)}: {message}"


def _format_path(path: Sequence[str | int]) -> str:
    """Write a path as `services[1].capacity_status`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _path_key(path: Sequence[str | int]) -> tuple[tuple[int, int, str], ...]:
    """Sort key for a path that orders list indices numerically."""
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Return a copy with optional fields filled in and every offer as a dict."""
    result = copy.deepcopy(data)
    for service in result["services"]:
        service.setdefault("simfoni_group", None)
    for org in result["organizations"]:
        org["services"] = [
            {"code": offer, "capacity_status": DEFAULT_CAPACITY_STATUS}
            if isinstance(offer, str)
            else {
                "code": offer["code"],
                "capacity_status": offer.get("capacity_status") or DEFAULT_CAPACITY_STATUS,
            }
            for offer in org["services"]
        ]
        org.setdefault("parent", None)
        org.setdefault("notes", None)
    return result


def _repo_root() -> pathlib.Path:
    """Return the repository root: the parent of the referral_hub package directory."""
    return pathlib.Path(__file__).resolve().parent.parent.parent
