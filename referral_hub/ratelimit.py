"""Rate limits on sign-in, token issue and the expensive lists (Flask-Limiter).

The limits are attached to already-registered endpoints here, so feature blueprints stay
free of limiter code. Each limit value is read from the config at request time: the
operator tunes them with HUB_RATE_LIMITS_* (declared and checked at start in the settings
table, `referral_hub.config.SETTINGS`) and a test may lower one on its app.
Storage is Redis (HUB_REDIS_URL) when the hub has one, so every process shares the
counts; otherwise (the embedded mode) memory of the one process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from referral_hub.config import setting
from referral_hub.problems import from_http_exception, handle_problem

log = logging.getLogger(__name__)

#: The expensive reads: each may scan many rows or the whole audit chain.
LIST_ENDPOINTS = (
    "referrals.list_referrals",
    "agreements.list_agreements",
    "agreements.export_agreements",
    "agreements.coverage",
    "agreements.coverage_matrix",
    "audit.list_audit_entries",
    "audit.verify_audit_chain",
    "delivery.list_events",
)


def _limit(name: str) -> Callable[[], str]:
    return lambda: setting(current_app.config, name)


def _disabled() -> bool:
    return not setting(current_app.config, "HUB_RATE_LIMITS_ENABLED")


def _client_id() -> str:
    """The client a token request names (HTTP Basic or form), else the address."""
    auth = request.authorization
    client_id = (auth.username if auth and auth.type == "basic" else None) or request.form.get(
        "client_id"
    )
    return "client:" + (client_id or get_remote_address() or "-")[:200]


def _login_email() -> str:
    """The e-mail address signed in to, from this client address: counted per e-mail alone,
    anyone could keep its owner out by sending requests for it from elsewhere."""
    email = request.form.get("email", "").strip().lower()[:254]
    return "email:" + (email or "-") + "|" + (get_remote_address() or "-")


def _organisation() -> str:
    """The caller's organisation (set by the token check before the view), else the address."""
    actor = g.get("actor")
    organization_id = getattr(actor, "organization_id", None)
    return "org:" + (organization_id or get_remote_address() or "-")


def _api_message() -> str:
    return "Too many requests; wait for the time in Retry-After, then try again."


def login_limit_message() -> str:
    return _("Terlalu banyak percobaan masuk. Tunggu sebentar, lalu coba lagi.")


def _limit_reached(error: RateLimitExceeded) -> Response:
    """A limit's 429, answered as any refusal; the sign-in's names its reason
    (sign-in-attempts), which the sign-in page says."""
    problem = from_http_exception(error)
    if request.endpoint == "accounts.login":
        problem.extra["reason"] = "sign-in-attempts"
    return handle_problem(problem)


def init_rate_limits(app: Flask) -> Limiter:
    """Bind a limiter to this app and attach the limits to their endpoints."""
    redis_url = app.config.get("HUB_REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "hub-rl")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # Redis away for a moment must not turn every request into a 500: count in memory
    # until it answers again.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", bool(redis_url))

    # Registered before the limiter's own hook, so that it runs after it (Flask runs
    # after_request functions last registered first).
    @app.after_request
    def _no_retry_after_on_success(response):
        # flask-limiter adds Retry-After to every limited answer; on a success it tells a
        # client's retry logic to wait for nothing (RFC 9110 10.2.3: for 503 and 3xx only,
        # and 429 by RFC 6585).
        if response.status_code < 300:
            response.headers.pop("Retry-After", None)
        return response

    limiter = Limiter(get_remote_address, app=app)
    app.register_error_handler(RateLimitExceeded, _limit_reached)

    def attach(endpoint: str, *limits: tuple[str, Callable[[], str], Callable[[], str]]) -> None:
        view = app.view_functions[endpoint]
        for name, key_func, message in limits:
            view = limiter.limit(
                _limit(name),
                key_func=key_func,
                methods=["POST"] if endpoint in ("oauth.issue_token", "accounts.login") else None,
                error_message=message,
                exempt_when=_disabled,
                scope=name,
            )(view)
        app.view_functions[endpoint] = view

    attach(
        "oauth.issue_token",
        ("HUB_RATE_LIMITS_TOKEN", _client_id, _api_message),
        ("HUB_RATE_LIMITS_TOKEN_IP", get_remote_address, _api_message),
    )
    attach(
        "accounts.login",
        ("HUB_RATE_LIMITS_LOGIN", _login_email, login_limit_message),
        ("HUB_RATE_LIMITS_LOGIN_IP", get_remote_address, login_limit_message),
    )
    for endpoint in LIST_ENDPOINTS:
        if endpoint in app.view_functions:  # a feature left out of a trimmed app
            attach(endpoint, ("HUB_RATE_LIMITS_LISTS", _organisation, _api_message))
    return limiter
