"""Request checks at the edge of the API, and response headers for every page."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Request, Response, current_app, request
from flask.json.provider import DefaultJSONProvider

from referral_hub.problems import Problem

#: Endpoints that take multipart uploads instead of JSON (set by feature blueprints).
MULTIPART_ENDPOINTS: set[str] = set()
#: Deepest nesting of arrays and objects in a JSON body; the hub reads three levels at most.
MAX_JSON_DEPTH = 32
_JSON_TYPES = ("application/json", "application/merge-patch+json")
#: Paths whose bodies are read at the edge: the JSON API and the FHIR interface.
_BODY_PREFIXES = ("/api/", "/fhir/")
#: Paths that read no parameters: junk in their query string is ignored, not refused.
_PARAMETERLESS = ("/healthz", "/openapi.json", "/.well-known/")
#: What no database stores as text: NUL, and surrogates (only ever lone ones in a parsed
#: str: the JSON decoder joins a valid pair into one character).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_NUL_MESSAGE = "Must not contain a NUL character."
_SURROGATE_MESSAGE = "Must not contain a lone surrogate (\\ud800-\\udfff): it is not a character."
_UNDECODABLE_MESSAGE = "Must be UTF-8 text; some bytes are not."
TEXT_DETAIL = "Text must be UTF-8 and must not contain NUL characters or lone surrogates."
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class JSONTooDeep(ValueError):
    """A JSON body nested deeper than MAX_JSON_DEPTH (or than the parser's own stack)."""

    def __init__(self) -> None:
        super().__init__(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")


def load_json_body(data: bytes | str) -> Any:
    """The one reader of request JSON: strict UTF-8, at most MAX_JSON_DEPTH levels.

    Every failure is a ValueError (JSONDecodeError, UnicodeDecodeError, JSONTooDeep), which
    `get_json` turns into a 400; a RecursionError would have been a 500.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONTooDeep() from None
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise JSONTooDeep()
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return value


class HubJSONProvider(DefaultJSONProvider):
    """The app's JSON: `request.get_json` reads bodies with load_json_body.

    Flask hands each request the app's provider as its `json_module`; nothing else in the
    hub loads JSON through it.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return load_json_body(s) if not kwargs else super().loads(s, **kwargs)


class HubRequest(Request):
    """A request whose url-encoded form may be no larger than a JSON body.

    Only uploads need the document limit (MAX_CONTENT_LENGTH, some 20 MiB); werkzeug reads
    a url-encoded form whole into memory, and nothing a person types comes near
    HUB_JSON_BODY_LIMIT. The limit holds from the first read of the form, whoever reads it
    (the CSRF check runs before any view), and is answered with a 413.
    """

    @property
    def max_content_length(self) -> int | None:  # type: ignore[override]
        """The limit for this request's body: smaller for url-encoded forms."""
        if self._max_content_length is not None:
            return self._max_content_length
        limit = super().max_content_length
        if current_app and self.mimetype == "application/x-www-form-urlencoded":
            form_limit = current_app.config["HUB_JSON_BODY_LIMIT"]
            return form_limit if limit is None else min(limit, form_limit)
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """A body that is not JSON, or too deep, is a 400 problem, whoever asked to read it."""
        if isinstance(e, JSONTooDeep):
            raise Problem(400, "bad-request", str(e))
        if e is not None:
            raise Problem(400, "malformed-json", "The request body is not valid JSON.")
        return super().on_json_loading_failed(e)

    def _load_form_data(self) -> None:
        # Keep a url-encoded body as sent (it is small: see max_content_length), so that the
        # text check can tell bytes werkzeug could not decode, which it keeps as "%XX" text.
        if "form" not in self.__dict__ and self.mimetype == "application/x-www-form-urlencoded":
            self.get_data(cache=True, parse_form_data=False)
        super()._load_form_data()


def request_json(req: Request) -> Any:
    """The JSON body as the edge parsed and checked it; webargs reads bodies through this.

    An empty body is no body (webargs' `missing`), as webargs' own reader has it.
    """
    from webargs import core

    if not core.is_json(req.mimetype) or not req.get_data(cache=True):
        return core.missing
    return req.get_json()


def read_bodies_as_the_edge_did() -> None:
    """webargs takes the JSON body the edge parsed and checked (`request_json`).

    One parser for every body: its depth limit and text checks hold for whatever a schema
    reads, and a body is parsed once. The parser is the one every flask-smorest Blueprint
    shares; `create_app` calls this before it binds the API.
    """
    from flask_smorest import Blueprint

    Blueprint.ARGUMENTS_PARSER._raw_load_json = request_json


def check_api_request() -> None:
    """Size first (it costs nothing to refuse), then the token, then the body's type and text.

    A caller without a valid token learns only that it needs one (401), whatever it sent.
    """
    from referral_hub.oauth.server import authenticate_protected_view

    has_body = _check_api_body_size()
    authenticate_protected_view()
    if has_body:
        _check_api_media_type()
    _refuse_unstorable_text(read_json=has_body)


def _refuse_unstorable_text(*, read_json: bool) -> None:
    """Refuse text no database stores, everywhere a request carries text, in one place.

    No person types a NUL or a lone surrogate and PostgreSQL stores neither: refused as the
    input error it is, before a query or an encryption fails on it (a 500), or SQLite keeps
    what PostgreSQL would not. Bytes that are not UTF-8 in a query string or a url-encoded
    form are refused too: werkzeug would keep them as "%ED%A0%80" text nobody typed. An API
    body is parsed here, once (`read_json`): malformed or too deep is a 400 before any view.
    """
    if "\x00" in request.path:
        raise Problem(404, "not-found", "No such resource.")
    errors: dict[str, list[str]] = {}
    if not request.path.startswith(_PARAMETERLESS):
        for name in _undecodable_fields(request.query_string):
            errors[name] = [_UNDECODABLE_MESSAGE]
    for name, value in request.args.items(multi=True):
        _check_text(name, value, "", errors)
    if request.method in ("POST", "PUT", "PATCH"):
        if request.mimetype in _FORM_TYPES:
            for name, value in request.form.items(multi=True):
                _check_text(name, value, "", errors)
            for name, upload in request.files.items(multi=True):
                _check_text(name, upload.filename or "", "", errors)
            if request.mimetype == "application/x-www-form-urlencoded":
                for name in _undecodable_fields(request.get_data(cache=True)):
                    errors[name] = [_UNDECODABLE_MESSAGE]
        elif request.is_json:
            _find_unstorable(request.get_json(silent=not read_json), "", errors)
    if not errors:
        return
    if request.path.startswith("/oauth/"):  # RFC 6749 5.2: a 400 with an `error` member
        raise Problem(
            400,
            "oauth-invalid-request",
            TEXT_DETAIL,
            title="OAuth: invalid_request",
            errors=errors,
            error="invalid_request",
            error_description=TEXT_DETAIL,
            reason="unstorable-text",
        )
    raise Problem(422, "validation-error", TEXT_DETAIL, errors=errors, reason="unstorable-text")


def _undecodable_fields(raw: bytes) -> list[str]:
    """Names of the url-encoded fields (`a=1&b=2`) whose name or value is not UTF-8."""
    names = []
    if not raw or (raw.isascii() and b"%" not in raw):
        return names
    for pair in raw.split(b"&"):
        name, _, value = (unquote_to_bytes(p.replace(b"+", b" ")) for p in pair.partition(b"="))
        try:
            name.decode()
            value.decode()
        except UnicodeDecodeError:
            names.append(_clean_name(name.decode(errors="replace")) or "_form")
    return names


def _clean_name(name: str) -> str:
    return _UNSTORABLE.sub("", name)


def _check_text(name: str, value: str, path: str, errors: dict[str, list[str]]) -> None:
    """Note a field (its name or its value) holding text no database stores."""
    found = _UNSTORABLE.search(name) or _UNSTORABLE.search(value)
    if found:
        message = _NUL_MESSAGE if found.group() == "\x00" else _SURROGATE_MESSAGE
        errors[_clean_name(path or name) or "_body"] = [message]


def _find_unstorable(value: Any, path: str, errors: dict[str, list[str]]) -> None:
    """Collect the JSON paths (`a.b[2]`) of strings or keys holding unstorable text.

    The body was read by load_json_body, so it is at most MAX_JSON_DEPTH deep.
    """
    if isinstance(value, str):
        _check_text("", value, path, errors)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if _UNSTORABLE.search(str(key)):
                _check_text(str(key), "", name, errors)
            else:
                _find_unstorable(item, name, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_unstorable(item, f"{path}[{index}]", errors)


def _check_api_body_size() -> bool:
    """413 for an API body over its limit; True when a body to type-check follows."""
    if not request.path.startswith(_BODY_PREFIXES):
        return False
    if request.method not in ("POST", "PUT", "PATCH"):
        return False
    if request.routing_exception is not None:
        return False  # an unknown path or method: its 404 or 405 says more than a 415 would
    multipart = request.endpoint in MULTIPART_ENDPOINTS
    limit = (
        current_app.config["MAX_CONTENT_LENGTH"]
        if multipart
        else current_app.config["HUB_JSON_BODY_LIMIT"]
    )
    too_large = Problem(413, "payload-too-large", f"The body may be at most {limit} bytes.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    request.max_content_length = limit
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "")
    if chunked and request.content_length is None:
        # No length announced: werkzeug stops reading at the limit without an error, so
        # an oversized body would arrive cut short ("malformed JSON", a truncated file).
        # Read one byte more than allowed to tell.
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise too_large
    return (request.content_length or 0) > 0 or chunked


def _check_api_media_type() -> None:
    """415 unless the body is JSON, or multipart where a file upload is declared."""
    mimetype = request.mimetype
    if request.endpoint in MULTIPART_ENDPOINTS:
        if mimetype != "multipart/form-data":
            raise Problem(415, "unsupported-media-type", "Send the file as multipart/form-data.")
        return
    if mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
        raise Problem(
            415,
            "unsupported-media-type",
            "Send the body as application/json.",
            headers={"Accept-Post": "application/json"},
        )


def set_security_headers(response: Response) -> Response:
    """Headers that cost nothing and close whole classes of attack."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config["HUB_BASE_URL"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith(("/api/", "/oauth/", "/fhir/")):
        headers.setdefault("Cache-Control", "no-store")
    return response
