"""Settings from HUB_* environment variables: one table, validated when the app starts.

`SETTINGS` declares every setting the hub reads, each once: its name, its parser (which
says what a good value is), its default and its meaning. `load_config` runs every parser
when the app is built, so a bad value stops the start with a message naming the variable;
the README's configuration table is generated from the same table (`settings_markdown`,
checked by a test). Code reads a parsed value from the app's config, or, where a test may
change the config afterwards, through `setting(config, name)` with the same parser.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import secrets
import tempfile
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "test", "production")


class ConfigError(RuntimeError):
    """The configuration cannot run the hub; the message says what to set."""


def parse_key_ring(value: str) -> dict[str, bytes]:
    """Parse 'kid:base64key,...' into an ordered {kid: 32-byte key} ring."""
    ring: dict[str, bytes] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not kid or not kid.isalnum():
            raise ConfigError("HUB_DATA_KEYS: each key is 'kid:base64key' with an alphanumeric kid")
        try:
            key = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise ConfigError(f"HUB_DATA_KEYS: key '{kid}' is not valid base64") from exc
        if len(key) != 32:
            raise ConfigError(f"HUB_DATA_KEYS: key '{kid}' must be 32 bytes (AES-256)")
        if kid in ring:
            raise ConfigError(f"HUB_DATA_KEYS: key id '{kid}' appears twice")
        ring[kid] = key
    if not ring:
        raise ConfigError("HUB_DATA_KEYS holds no key")
    return ring


@dataclass(frozen=True)
class AuditKey:
    """An Ed25519 key of the audit checkpoints: raw 32-byte halves, `private` None when retired."""

    private: bytes | None
    public: bytes


def parse_audit_key_ring(value: str) -> dict[str, AuditKey]:
    """Parse 'kid:base64key,kid:public:base64key,...' into {kid: AuditKey}; the first signs.

    A private key is the 32-byte Ed25519 seed (any 32 random bytes), base64; a retired key
    may be given by its public half only, so that the checkpoints it signed still verify.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    name = "HUB_AUDIT_SIGNING_KEYS"
    ring: dict[str, AuditKey] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        kid, sep, rest = part.partition(":")
        if not sep or not kid or not kid.isalnum():
            raise ConfigError(f"{name}: each key is 'kid:base64key' with an alphanumeric kid")
        public_only = rest.startswith("public:")
        try:
            raw = base64.b64decode(rest.removeprefix("public:"), validate=True)
        except ValueError:
            raise ConfigError(f"{name}: key '{kid}' is not valid base64") from None
        if len(raw) != 32:
            raise ConfigError(f"{name}: key '{kid}' must be 32 bytes (an Ed25519 key)")
        if kid in ring:
            raise ConfigError(f"{name}: key id '{kid}' appears twice")
        try:
            if public_only:
                Ed25519PublicKey.from_public_bytes(raw)
                ring[kid] = AuditKey(private=None, public=raw)
            else:
                public = Ed25519PrivateKey.from_private_bytes(raw).public_key()
                ring[kid] = AuditKey(raw, public.public_bytes(Encoding.Raw, PublicFormat.Raw))
        except ValueError:
            raise ConfigError(f"{name}: key '{kid}' is not an Ed25519 key") from None
    if not ring:
        raise ConfigError(f"{name} holds no key")
    if next(iter(ring.values())).private is None:
        raise ConfigError(f"{name}: the first key signs, so it must be a private key")
    return ring


# --- parsers: each takes the raw value (text, or a value a test passes) and returns the
# --- parsed one; ValueError says what is wrong, and the caller names the variable.

Parser = Callable[[Any], Any]
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def text(value: Any) -> str:
    return str(value).strip()


def flag(value: Any) -> bool:
    """1/true/yes/on or 0/false/no/off; anything else is a mistake, not a silent 'off'."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"must be 1 or 0 (true/false, yes/no, on/off), not '{value}'")


def choice(*options: str) -> Parser:
    def parse(value: Any) -> str:
        word = str(value).strip()
        if word not in options:
            raise ValueError(f"must be one of {', '.join(options)}, not '{word}'")
        return word

    return parse


def integer(low: int, high: int) -> Parser:
    """A whole number within [low, high]."""

    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"must be a whole number, not '{value}'")
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                raise ValueError(f"must be a whole number, not '{value}'") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _number(value: Any, minimum: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of seconds, got '{value}'") from None
    if number != number or number < minimum:  # NaN, or too small
        raise ValueError(f"must be at least {minimum:g} seconds")
    return number


def seconds(minimum: float = 0) -> Parser:
    """A duration in seconds (a number, fractions allowed), at least `minimum`."""
    return lambda value: _number(value, minimum)


def seconds_list(count: int | None = None, positive: bool = False) -> Parser:
    """Comma-separated durations in seconds, `count` of them when given."""

    def parse(value: Any) -> tuple[float, ...]:
        if isinstance(value, (list, tuple)):
            parts = list(value)
        else:
            parts = [p for p in str(value).replace(" ", "").split(",") if p]
        try:
            numbers = tuple(float(p) for p in parts)
        except ValueError:
            raise ValueError(f"expected comma-separated seconds, got '{value}'") from None
        if not numbers or any(not n >= 0 for n in numbers):
            raise ValueError(f"expected non-negative seconds, got '{value}'")
        if count is not None and len(numbers) != count:
            raise ValueError(f"expected {count} numbers, got '{value}'")
        if positive and any(n <= 0 for n in numbers):
            raise ValueError("every number must be positive")
        return numbers

    return parse


def intervals(value: Any) -> dict[str, float]:
    """'job=seconds,...' (at least 0.1 s each); the job names are checked against the
    schedule at start (`delivery.schedule.check_intervals`, from create_app)."""
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        items = [part.partition("=")[::2] for part in str(value or "").split(",") if part.strip()]
    out: dict[str, float] = {}
    for name, number in items:
        name = str(name).strip()
        try:
            out[name] = _number(number, 0.1)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    return out


def url(*schemes: str, host: bool = True) -> Parser:
    """A URL with one of `schemes` (and a host, unless `host` is False); no trailing '/'."""

    def parse(value: Any) -> str:
        address = str(value).strip()
        parts = urlsplit(address)
        if parts.scheme not in schemes:
            raise ValueError(
                "must start with " + ", ".join(f"{s}://" for s in schemes) + f", not '{address}'"
            )
        try:
            parts.port  # noqa: B018  (raises on a port that is no number)
        except ValueError:
            raise ValueError(f"'{address}' has a port that is no number") from None
        if host and not parts.hostname:
            raise ValueError(f"'{address}' names no host")
        return address.rstrip("/")

    return parse


def database_url(value: Any) -> str:
    """An SQLAlchemy URL; plain postgresql:// means the psycopg (3) driver."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    address = str(value).strip()
    if address.startswith("postgresql://"):
        address = "postgresql+psycopg://" + address.removeprefix("postgresql://")
    try:
        make_url(address)
    except ArgumentError:
        raise ValueError("is not a database URL such as postgresql+psycopg://...") from None
    return address


def time_zone(value: Any) -> str:
    name = str(value).strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name}'") from None
    return name


def rate_limit(value: Any) -> str:
    from limits import parse_many

    limit = str(value).strip()
    try:
        if not parse_many(limit):
            raise ValueError(limit)
    except ValueError:
        raise ValueError(
            f"'{limit}' is not a rate limit such as '10/minute' or '10/minute;100/hour'"
        ) from None
    return limit


# --- the table ---------------------------------------------------------------------------

Default = Any  # raw text parsed like a set value, a callable of the config so far, or None


@dataclass(frozen=True)
class Setting:
    """One HUB_* setting: `parse` turns its text into its value (ValueError: unusable)."""

    name: str
    parse: Parser
    default: Default
    meaning: str


def _mail_from(config: Mapping[str, Any]) -> str:
    host = urlsplit(str(config.get("HUB_BASE_URL") or "")).hostname or "localhost"
    if host.replace(".", "").isdigit() or ":" in host:
        host = "localhost"  # an address is no mail domain
    return f"noreply@{host}"


def _off_under_test(config: Mapping[str, Any]) -> str:
    return "0" if config.get("HUB_ENV") == "test" else "1"


#: Retry caps in seconds after the 1st, 2nd, ... failed attempt; the last one repeats.
DEFAULT_RETRY_SCHEDULE = "5,30,120,600,1800,3600,7200,14400,28800,36000"
#: Default limit of an agreement document; the whole request may carry a little more (the
#: multipart envelope), and JSON bodies get the much smaller HUB_JSON_BODY_LIMIT.
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
_MULTIPART_OVERHEAD = 64 * 1024
_MAX_CONTENT_LENGTH = DOCUMENT_MAX_BYTES + _MULTIPART_OVERHEAD
_RATE_LIMITS_NOTE = "Counts are kept in `HUB_REDIS_URL`'s Redis, else in process memory"

#: Every HUB_* setting the hub reads, in the order the README lists them.
SETTINGS: tuple[Setting, ...] = (
    Setting("HUB_ENV", choice(*ENVIRONMENTS), "development",
            "`development` (default), `test` or `production`"),
    Setting("HUB_DATABASE_URL", database_url, None,
            "SQLAlchemy URL (`postgresql+psycopg://...`); default SQLite under `instance/`"),
    Setting("HUB_REDIS_URL", url("redis", "rediss", "unix", host=False), None,
            "Redis for rq jobs; unset: jobs run in the app process"),
    Setting("HUB_SECRET_KEY", str, None,
            "session and CSRF signing key (32+ characters in production)"),
    Setting("HUB_DATA_KEYS", parse_key_ring, None,
            "encryption key ring `kid:base64key,...` (32-byte keys; the first encrypts)"),
    Setting("HUB_AUDIT_SIGNING_KEYS", parse_audit_key_ring, None,
            "Ed25519 keys that sign the audit checkpoints, `kid:base64key,...`: a key is any 32 "
            "random bytes (`python -c 'import base64,os; "
            "print(base64.b64encode(os.urandom(32)).decode())'`); the first signs. To rotate, "
            "put a new key first; a retired key may stay as its public half only, "
            "`kid:public:base64key` (as `GET /api/v1/audit/keys` lists it), so that the "
            "checkpoints it signed still verify"),
    Setting("HUB_BASE_URL", url("http", "https"), "http://127.0.0.1:5000",
            "public base URL and OAuth issuer (https in production; default "
            "`http://127.0.0.1:5000`)"),
    Setting("HUB_SMTP_URL", url("smtp", "smtp+starttls", "smtps"), None,
            "SMTP for notifications: `smtp://user:pass@host:587?starttls=1` (or "
            "`smtp+starttls://`), `smtps://` for TLS from the start"),
    Setting("HUB_WEBHOOK_ALLOW_LOOPBACK", flag, "0",
            "`1` lets webhooks target loopback/private addresses (development, tests; "
            "production refuses to start with it)"),
    Setting("HUB_PARTNERS_FILE", text, None,
            "the partners file checked at start (default `partners.yaml`)"),
    Setting("HUB_ACCESS_TOKEN_SECONDS", integer(60, 3600), "3600",
            "access token lifetime, 60 to 3600 (default 3600)"),
    Setting("HUB_JSON_BODY_LIMIT", integer(1, _MAX_CONTENT_LENGTH), str(1024 * 1024),
            "largest JSON or form request body in bytes (default 1 MiB)"),
    Setting("HUB_RATE_LIMITS_ENABLED", flag, _off_under_test,
            "`1`/`0`: rate limits on (default; off under `HUB_ENV=test`). " + _RATE_LIMITS_NOTE),
    Setting("HUB_RATE_LIMITS_TOKEN", rate_limit, "30/minute",
            "`POST /oauth/token` per `client_id` (default `30/minute`)"),
    Setting("HUB_RATE_LIMITS_TOKEN_IP", rate_limit, "120/minute",
            "`POST /oauth/token` per client address (default `120/minute`)"),
    Setting("HUB_RATE_LIMITS_LOGIN", rate_limit, "10/minute;50/hour",
            "`POST /login` per e-mail address and client address, besides the holds on "
            "failed sign-ins (default `10/minute;50/hour`)"),
    Setting("HUB_RATE_LIMITS_LOGIN_IP", rate_limit, "60/minute",
            "`POST /login` per client address (default `60/minute`)"),
    Setting("HUB_RATE_LIMITS_LISTS", rate_limit, "300/minute",
            "per organisation on the referral, agreement, audit, event and coverage lists "
            "(default `300/minute`)"),
    Setting("HUB_TIMEZONE", time_zone, "Asia/Makassar",
            "the hub's time zone: the portal's times and where each day begins (agreement dates, "
            "consents, ages); default `Asia/Makassar` (WITA), `Asia/Jakarta` for WIB"),
    Setting("HUB_SESSION_IDLE_MINUTES", integer(5, 24 * 60), "480",
            "portal sign-in ends after this long without a request (default 480)"),
    Setting("HUB_DOCUMENT_MAX_BYTES", integer(1024, 100 * 1024 * 1024),
            str(DOCUMENT_MAX_BYTES),
            "largest agreement document upload (default 20 MiB, at most 100 MiB)"),
    Setting("HUB_EMBEDDED_WORKER", flag, _off_under_test,
            "`1`: without `HUB_REDIS_URL`, jobs run in threads of the web process (default; "
            "off under `HUB_ENV=test`)"),
    Setting("HUB_WEBHOOK_TIMEOUT", seconds_list(2, positive=True), "5,10",
            "connect,read timeouts of a webhook delivery in seconds (default `5,10`)"),
    Setting("HUB_WEBHOOK_RETRY_SCHEDULE", seconds_list(), DEFAULT_RETRY_SCHEDULE,
            "retry caps in seconds, full jitter below each (default "
            f"`{DEFAULT_RETRY_SCHEDULE}`; the last repeats)"),
    Setting("HUB_WEBHOOK_RETRY_WINDOW", seconds(), "86400",
            "seconds a delivery is retried before it is dead (default 86400)"),
    Setting("HUB_WEBHOOK_LEASE_MARGIN", seconds(), "30",
            "seconds beyond the timeouts before an unfinished attempt (its worker died) is "
            "taken over (default 30)"),
    Setting("HUB_WEBHOOKS_PER_ORGANIZATION", integer(1, 1_000_000), "20",
            "subscriptions an organisation may hold (default 20)"),
    Setting("HUB_OUTBOX_SWEEP_AFTER", seconds(), "30",
            "seconds after commit an undispatched event is re-enqueued (default 30)"),
    Setting("HUB_SCHEDULE_INTERVALS", intervals, "",
            "override periodic job intervals, e.g. `outbox-sweep=5`"),
    Setting("HUB_MAIL_FROM", text, _mail_from,
            "sender address of notifications (default `noreply@<host of HUB_BASE_URL>`; "
            "without `HUB_SMTP_URL` mail is written under `instance/mail/`)"),
    Setting("HUB_CLIENT_RETENTION_YEARS", integer(1, 100), "5",
            "years a client's record is kept after the client's last work closed (default 5); "
            "a unit's own period (`flask hub retention-set`) overrides it; "
            "`flask hub retention-due` lists the records past it (docs/data-retention.md)"),
)  # fmt: skip
SETTING = {s.name: s for s in SETTINGS}

PRODUCTION_REQUIRED = (
    "HUB_SECRET_KEY",
    "HUB_DATA_KEYS",
    "HUB_DATABASE_URL",
    "HUB_BASE_URL",
    "HUB_AUDIT_SIGNING_KEYS",
)


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def setting(config: Mapping[str, Any], name: str) -> Any:
    """The parsed value of `name` in `config` (unset or blank: its default; None if none)."""
    entry = SETTING[name]
    value = config.get(name)
    if _unset(value):
        value = entry.default(config) if callable(entry.default) else entry.default
        if _unset(value):
            return None
    try:
        return entry.parse(value)
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from None


def settings_markdown() -> str:
    """The README's configuration table, made from `SETTINGS`."""
    rows = [f"| `{s.name}` | {s.meaning} |" for s in SETTINGS]
    return "\n".join(["| variable | meaning |", "|---|---|", *rows])


def _kept_once(
    path: Path, make: Callable[[], dict[str, str]], names: tuple[str, ...], loss: str
) -> dict:
    """The values in `path`, made and written by whichever process gets there first."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        values = make()
        # Written whole to a private temporary file, then linked into place only if no
        # other process (a server and a worker starting together) got there first:
        # everyone then reads the same secrets, never half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(values, fh)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    try:
        values = json.loads(path.read_text())
        if not all(isinstance(values.get(k), str) for k in names):
            raise ValueError(" or ".join(names) + " is missing")
    except (OSError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{path} cannot be used ({exc}); restore it, or remove it to generate new "
            f"development secrets ({loss})"
        ) from None
    return values


def _development_secrets(instance_path: Path) -> dict[str, str]:
    """Generate once, then reuse, the development secrets kept under instance/."""
    values = _kept_once(
        instance_path / "dev-secrets.json",
        lambda: {
            "HUB_SECRET_KEY": secrets.token_urlsafe(48),
            "HUB_DATA_KEYS": "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        },
        ("HUB_SECRET_KEY", "HUB_DATA_KEYS"),
        "data encrypted with the old keys is then unreadable",
    )
    # A file of its own, so that an instance made before checkpoints were signed keeps its
    # secrets and gets a signing key beside them.
    audit = _kept_once(
        instance_path / "dev-audit-keys.json",
        lambda: {
            "HUB_AUDIT_SIGNING_KEYS": "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode()
        },
        ("HUB_AUDIT_SIGNING_KEYS",),
        "checkpoints signed with the old key then fail verification",
    )
    return {
        "HUB_SECRET_KEY": values["HUB_SECRET_KEY"],
        "HUB_DATA_KEYS": values["HUB_DATA_KEYS"],
        "HUB_AUDIT_SIGNING_KEYS": audit["HUB_AUDIT_SIGNING_KEYS"],
    }


def load_config(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment and overrides; raise ConfigError if unusable."""
    raw: dict[str, Any] = {k: v for k, v in os.environ.items() if k.startswith("HUB_")}
    raw.update(overrides or {})
    env = setting(raw, "HUB_ENV")
    raw["HUB_ENV"] = env
    if env == "production":
        missing = [name for name in PRODUCTION_REQUIRED if _unset(raw.get(name))]
        if missing:
            raise ConfigError(
                "production mode needs " + ", ".join(missing) + " to be set "
                "(see README, 'Configuration')"
            )
    else:
        for name, value in _development_secrets(Path(instance_path)).items():
            if _unset(raw.get(name)):
                raw[name] = value
    if _unset(raw.get("HUB_DATABASE_URL")):
        raw["HUB_DATABASE_URL"] = "sqlite:///" + str(Path(instance_path) / "referral_hub.sqlite3")

    # Every setting parsed once here: a bad value stops the start, naming its variable.
    values = {s.name: setting(raw, s.name) for s in SETTINGS}
    _check_production(values)
    database_url = values["HUB_DATABASE_URL"]
    base_url = values["HUB_BASE_URL"]
    https = base_url.startswith("https://")
    document_max = values["HUB_DOCUMENT_MAX_BYTES"]
    config: dict[str, Any] = {
        **raw,
        **values,
        # The key rings are kept parsed beside the text they came from.
        "HUB_DATA_KEYS": raw["HUB_DATA_KEYS"],
        "HUB_DATA_KEY_RING": values["HUB_DATA_KEYS"],
        "HUB_AUDIT_SIGNING_KEYS": raw["HUB_AUDIT_SIGNING_KEYS"],
        "HUB_AUDIT_KEY_RING": values["HUB_AUDIT_SIGNING_KEYS"],
        "SECRET_KEY": values["HUB_SECRET_KEY"],
        # Whether HUB_BASE_URL was given: without it, links in e-mails queued during a
        # request follow the address the portal was opened at (`make run PORT=8000`).
        "BASE_URL_GIVEN": not _unset(raw.get("HUB_BASE_URL")),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "TESTING": env == "test" or bool(raw.get("TESTING")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        # __Host- cookies are refused by browsers unless Secure, host-only and Path=/.
        "SESSION_COOKIE_NAME": "__Host-hub_session" if https else "hub_session",
        # Idle expiry: a permanent session's cookie is re-signed on every request.
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(minutes=values["HUB_SESSION_IDLE_MINUTES"]),
        # A form token lives as long as the session: a caseworker may take an hour
        # over a referral, and the session's own expiry bounds the token.
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_TIMEZONE": values["HUB_TIMEZONE"],
        # Upload limit for documents; JSON bodies get a smaller limit per request.
        "MAX_CONTENT_LENGTH": document_max + _MULTIPART_OVERHEAD,
        "JSON_SORT_KEYS": False,
        # flask-smorest
        "API_TITLE": "Referral hub",
        "API_VERSION": "1.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_REDOC_PATH": None,
        "OPENAPI_SWAGGER_UI_PATH": None,
    }
    for key in ("TESTING",):
        if key in (overrides or {}):
            config[key] = overrides[key]
    return config


def _check_production(values: Mapping[str, Any]) -> None:
    """The rules that tie settings together in production."""
    if values["HUB_ENV"] != "production":
        return
    if len(values["HUB_SECRET_KEY"]) < 32:
        raise ConfigError("HUB_SECRET_KEY must be at least 32 characters in production")
    if not values["HUB_BASE_URL"].startswith("https://"):
        raise ConfigError("HUB_BASE_URL must be https in production")
    if values["HUB_WEBHOOK_ALLOW_LOOPBACK"]:
        raise ConfigError(
            "HUB_WEBHOOK_ALLOW_LOOPBACK=1 is for development and tests only: it lets a "
            "webhook reach the hub's own network (loopback, private ranges, cloud metadata). "
            "Unset it (or set 0) in production"
        )


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
