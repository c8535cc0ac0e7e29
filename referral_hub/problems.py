"""RFC 9457 problem details: the one shape every API error takes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Response, current_app, has_request_context, json, render_template_string, request
from flask_smorest import Api
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: Slugs and titles of the problems a client can meet, also served at /problems/<slug>.
PROBLEM_TITLES = {
    "bad-request": "Bad request",
    "malformed-json": "The body is not valid JSON",
    "unauthorized": "Authentication required",
    "invalid-token": "The access token is invalid, expired or revoked",
    "insufficient-scope": "The access token lacks the scope this needs",
    "forbidden": "Not allowed",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "not-acceptable": "Not acceptable",
    "conflict": "Conflict",
    "precondition-failed": "The resource changed since you read it",
    "precondition-required": "If-Match is required",
    "payload-too-large": "The body is too large",
    "unsupported-media-type": "Unsupported media type",
    "validation-error": "The request does not validate",
    "too-many-requests": "Too many requests",
    # Shared by referrals and agreements (a status change their state does not allow).
    "invalid-transition": "The action is not allowed in the current status",
    "internal-error": "Internal error",
    "service-unavailable": "Service unavailable",
}

_STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}

#: Refused by a referral's or an agreement's current status (both features raise it).
INVALID_TRANSITION = "invalid-transition"

API_PREFIXES = ("/api/", "/hsds/", "/oauth/", "/.well-known/", "/openapi.json", "/healthz")


class Problem(Exception):
    """A refusal the client can act on, carried to the response as problem+json."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str | None = None,
        *,
        title: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or slug)
        self.status = status
        self.slug = slug
        self.title = title or PROBLEM_TITLES.get(slug) or slug.replace("-", " ").capitalize()
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


def problem_type(slug: str) -> str:
    """The URI of a problem type; it names the slug last and documents it."""
    return f"{current_app.config['HUB_BASE_URL']}/problems/{slug}"


#: The endpoints whose errors RFC 6749 5.2 shapes.
OAUTH_ENDPOINTS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")


def problem_response(problem: Problem) -> Response:
    """Render a Problem as an application/problem+json response."""
    body: dict[str, Any] = {
        "type": problem_type(problem.slug),
        "title": problem.title,
        "status": problem.status,
    }
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    # An OAuth error (one with an RFC 6749 `error` code) is application/json, as RFC 6749
    # 5.2 requires of the token endpoint and RFC 7009 / 7662 of theirs; it still carries
    # the problem members. Other refusals there (429, 413) stay problem+json.
    oauth_error = (
        "error" in problem.extra and has_request_context() and request.path in (OAUTH_ENDPOINTS)
    )
    media_type = "application/json" if oauth_error else PROBLEM_MEDIA_TYPE
    response = Response(json.dumps(body), status=problem.status, mimetype=media_type)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def wants_problem_json() -> bool:
    """API and machine paths answer problem+json; portal pages answer HTML."""
    return request.path.startswith(API_PREFIXES) or request.accept_mimetypes.best in (
        "application/json",
        PROBLEM_MEDIA_TYPE,
    )


_HTML_ERROR = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ status }} {{ title }}</title></head><body><main>
<h1>{{ status }} {{ title }}</h1>{% if detail %}<p>{{ detail }}</p>{% endif %}
<p><a href="/">Kembali ke beranda / Back to the start page</a></p></main></body></html>"""


#: Where `create_app` keeps the HTML error page renderer (app.extensions); this module never
#: imports the portal: create_app hands it the portal's renderer.
HTML_ERROR_RENDERER = "referral_hub.html_error_page"


def register_html_error_renderer(app: Any, render: Callable[[Problem], Response]) -> None:
    """Answer refusals on portal pages with `render` (called once by `create_app`)."""
    app.extensions[HTML_ERROR_RENDERER] = render


#: Where `create_app` keeps the renderers of problems under a path prefix (app.extensions):
#: an interchange standard answers its own error format (FHIR's OperationOutcome).
PREFIX_RENDERERS = "referral_hub.problem_renderers"


def register_problem_renderer(app: Any, prefix: str, render: Callable[[Problem], Response]) -> None:
    """Answer every refusal on paths under `prefix` with `render`, whatever raised it."""
    app.extensions.setdefault(PREFIX_RENDERERS, {})[prefix] = render


def _prefix_renderer() -> Callable[[Problem], Response] | None:
    for prefix, render in current_app.extensions.get(PREFIX_RENDERERS, {}).items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return render
    return None


def _respond(problem: Problem) -> Response:
    """The answer to a refusal: the path's own format, problem+json, or a page."""
    render = _prefix_renderer()
    if render is not None:
        return render(problem)
    return problem_response(problem) if wants_problem_json() else _html_response(problem)


def _html_response(problem: Problem) -> Response:
    render = current_app.extensions.get(HTML_ERROR_RENDERER)
    if render is not None:
        return render(problem)
    html = render_template_string(
        _HTML_ERROR, status=problem.status, title=problem.title, detail=problem.detail
    )
    response = Response(html, status=problem.status, mimetype="text/html")
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def from_http_exception(error: HTTPException) -> Problem:
    """Translate a werkzeug/webargs HTTP exception, keeping its headers (Allow, ...)."""
    status = error.code or 500
    slug = _STATUS_SLUGS.get(status, "bad-request" if status < 500 else "internal-error")
    headers: dict[str, str] = {}
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            headers[name] = value
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    headers.update(data.get("headers") or {})
    detail = data.get("message") or (error.description if status < 500 else None)
    if status == 400 and errors and _is_json_decode_error(errors):
        slug, detail, errors = "malformed-json", "The request body is not valid JSON.", None
    if status == 422 and errors:
        errors = _flatten_locations(errors)
        detail = data.get("message") or "One or more fields are invalid; see 'errors'."
    return Problem(status, slug, detail, errors=errors, headers=headers)


def _is_json_decode_error(errors: Any) -> bool:
    return (
        isinstance(errors, dict) and "json" in errors and errors["json"] == ["Invalid JSON body."]
    )


def _flatten_locations(errors: dict[str, Any]) -> dict[str, Any]:
    """webargs nests errors by location ({'json': {...}}); keep the location only if mixed."""
    if (
        set(errors) <= {"json", "query", "form", "files", "headers", "view_args"}
        and len(errors) == 1
    ):
        inner = next(iter(errors.values()))
        if isinstance(inner, dict):
            return inner
    return errors


class ProblemApi(Api):
    """flask-smorest Api whose errors are problem+json and keep their headers."""

    def init_app(self, app: Any, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        """Bind to the app; query strings are then checked as strictly as bodies."""
        _refuse_unknown_query_parameters()
        super().init_app(app, spec_kwargs=spec_kwargs)

    def _register_responses(self) -> None:
        """Document every error response, and the default one, as what is sent: problem+json.

        flask-smorest's own components say application/json with its Error schema; every
        operation's `default` and its generated 422 refer to them, so a client generated
        from the spec would not expect the 400, 404, 405, 413 or 415 it really receives.
        """
        problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["content"] = {PROBLEM_MEDIA_TYPE: problem}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR",
            {"description": "Problem details (RFC 9457)", "content": {PROBLEM_MEDIA_TYPE: problem}},
            lazy=True,
        )

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        """Answer any HTTP error as problem+json on API paths, as a page elsewhere."""
        problem = from_http_exception(error)
        if problem.status >= 500:
            log.error("HTTP %s on %s %s", problem.status, request.method, request.path)
        return _respond(problem)


def _refuse_unknown_query_parameters() -> None:
    """A misspelt filter (`?servce=...`) is a 422, not silently ignored with every row.

    webargs excludes unknown query parameters by default; with no default the schema's
    own `unknown` (marshmallow: RAISE) applies. The parser is the one every flask-smorest
    Blueprint shares and reads this at request time, so all query schemas follow.
    """
    from flask_smorest import Blueprint

    parser = Blueprint.ARGUMENTS_PARSER
    parser.DEFAULT_UNKNOWN_BY_LOCATION = {
        **parser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }


def handle_problem(problem: Problem) -> Response:
    """Flask error handler for Problem."""
    return _respond(problem)


#: Seconds a client is asked to wait when the database is unavailable (PostgreSQL restarts
#: in about one).
DATABASE_RETRY_AFTER = 5


def handle_unexpected(error: Exception) -> Response:
    """Log an unexpected exception and answer a bare 500 with no trace or SQL."""
    if isinstance(error, HTTPException):
        return ProblemApi.handle_http_exception(None, error)  # type: ignore[arg-type]
    if isinstance(error, (OperationalError, InterfaceError)):
        # PEP 249: trouble of the database's operation (restarting, unreachable, failed over),
        # not of the request; the client should come back, and cannot know whether a COMMIT
        # that lost its connection went through.
        log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        return handle_problem(
            Problem(
                503,
                "service-unavailable",
                "The hub's database did not answer; try again in a few seconds. A change sent "
                "just now may or may not have been made: look before repeating it.",
                headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
            )
        )
    log.exception("unhandled error on %s %s", request.method, request.path)
    problem = from_http_exception(InternalServerError())
    problem.detail = "The hub could not complete the request; nothing was changed."
    return handle_problem(problem)


_REGISTERED: dict[str, str] = {}


def register_problem(slug: str, title: str) -> str:
    """Declare a domain problem type (feature modules call this at import); return the slug.

    A slug is one problem type with one title, documented at /problems/<slug>: declaring it
    again with another title (two features meaning different things by it) is refused.
    """
    known = _REGISTERED.get(slug) or PROBLEM_TITLES.get(slug)
    if known is not None and known != title:
        raise ValueError(f"problem {slug!r} is already registered as {known!r}, not {title!r}")
    _REGISTERED[slug] = title
    PROBLEM_TITLES.setdefault(slug, title)
    return slug


def registered_problem_titles() -> dict[str, str]:
    return dict(_REGISTERED)
