"""Request checks at the edge of the API, and response headers for every page."""

from __future__ import annotations

from flask import Response, current_app, request

from referral_hub.problems import Problem

#: Endpoints that take multipart uploads instead of JSON (set by feature blueprints).
MULTIPART_ENDPOINTS: set[str] = set()
_JSON_TYPES = ("application/json", "application/merge-patch+json")


def check_api_request() -> None:
    """API bodies must be JSON (or multipart where declared) and within the size limit."""
    if not request.path.startswith("/api/"):
        return
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    multipart = request.endpoint in MULTIPART_ENDPOINTS
    limit = (
        current_app.config["MAX_CONTENT_LENGTH"]
        if multipart
        else current_app.config["HUB_JSON_BODY_LIMIT"]
    )
    if request.content_length is not None and request.content_length > limit:
        raise Problem(413, "payload-too-large", f"The body may be at most {limit} bytes.")
    request.max_content_length = limit
    has_body = (request.content_length or 0) > 0 or "chunked" in request.headers.get(
        "Transfer-Encoding", ""
    )
    if not has_body:
        return
    mimetype = request.mimetype
    if multipart:
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
