"""Request checks at the edge of the API, and response headers for every page."""

from __future__ import annotations

from typing import Any

from flask import Request, Response, current_app, request

from referral_hub.problems import Problem

#: Endpoints that take multipart uploads instead of JSON (set by feature blueprints).
MULTIPART_ENDPOINTS: set[str] = set()
_JSON_TYPES = ("application/json", "application/merge-patch+json")
_NUL = "\x00"
_NUL_MESSAGE = "Must not contain a NUL character."
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


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


def check_api_request() -> None:
    """Size first (it costs nothing to refuse), then the token, then the body's type, no NULs.

    A caller without a valid token learns only that it needs one (401), whatever it sent.
    """
    from referral_hub.oauth.server import authenticate_protected_view

    has_body = _check_api_body_size()
    authenticate_protected_view()
    if has_body:
        _check_api_media_type()
    _refuse_nul_characters()


def _refuse_nul_characters() -> None:
    # No person types a NUL and PostgreSQL cannot store one: refuse it as the input error
    # it is, before a query fails on it (a 500) or SQLite keeps what PostgreSQL would not.
    if _NUL in request.path:
        raise Problem(404, "not-found", "No such resource.")
    errors: dict[str, list[str]] = {}
    for name, value in request.args.items(multi=True):
        if _NUL in name or _NUL in value:
            errors[name.replace(_NUL, "")] = [_NUL_MESSAGE]
    if request.method in ("POST", "PUT", "PATCH"):
        if request.mimetype in _FORM_TYPES:
            for name, value in request.form.items(multi=True):
                if _NUL in name or _NUL in value:
                    errors[name.replace(_NUL, "")] = [_NUL_MESSAGE]
            for name, upload in request.files.items(multi=True):
                if _NUL in name or _NUL in (upload.filename or ""):
                    errors[name.replace(_NUL, "")] = [_NUL_MESSAGE]
        elif request.is_json:
            _find_nul(request.get_json(silent=True), "", errors)
    if not errors:
        return
    detail = "Text must not contain NUL characters."
    if request.path.startswith("/oauth/"):  # RFC 6749 5.2: a 400 with an `error` member
        raise Problem(400, "bad-request", detail, errors=errors, error="invalid_request")
    raise Problem(422, "validation-error", detail, errors=errors)


def _find_nul(value: Any, path: str, errors: dict[str, list[str]]) -> None:
    """Collect the JSON paths (`a.b[2]`) of strings or keys holding a NUL."""
    if isinstance(value, str):
        if _NUL in value:
            errors[path or "_body"] = [_NUL_MESSAGE]
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if _NUL in str(key):
                errors[name.replace(_NUL, "")] = [_NUL_MESSAGE]
            else:
                _find_nul(item, name, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_nul(item, f"{path}[{index}]", errors)


def _check_api_body_size() -> bool:
    """413 for an API body over its limit; True when a body to type-check follows."""
    if not request.path.startswith("/api/"):
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
    if request.path.startswith("/api/") or request.path.startswith("/oauth/"):
        headers.setdefault("Cache-Control", "no-store")
    return response
