"""Rate limits on sign-in, token issue and the expensive lists (Flask-Limiter).

The limits are attached to already-registered endpoints here, so feature blueprints stay
free of limiter code. Each limit value is read from the config at request time: the
operator tunes them with HUB_RATE_LIMITS_* and a test may lower one on its app.
Storage is Redis (HUB_REDIS_URL) when the hub has one, so every process shares the
counts; otherwise (the embedded mode) memory of the one process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app, g, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many

log = logging.getLogger(__name__)

#: setting -> (default, meaning); values use the `limits` notation ("10/minute;100/hour").
LIMIT_SETTINGS = {
    "HUB_RATE_LIMITS_TOKEN": ("30/minute", "POST /oauth/token per client_id"),
    "HUB_RATE_LIMITS_TOKEN_IP": ("120/minute", "POST /oauth/token per client address"),
    "HUB_RATE_LIMITS_LOGIN": (
        "10/minute;50/hour",
        "POST /login per e-mail address and client address",
    ),
    "HUB_RATE_LIMITS_LOGIN_IP": ("60/minute", "POST /login per client address"),
    "HUB_RATE_LIMITS_LISTS": (
        "300/minute",
        "expensive API lists (referrals, agreements, audit, events, coverage) per organisation",
    ),
}

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
    return lambda: str(current_app.config.get(name) or LIMIT_SETTINGS[name][0])


def _disabled() -> bool:
    return not current_app.config.get("HUB_RATE_LIMITS_ENABLED", True)


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


def _check_limits(app: Flask) -> None:
    """Refuse to start on a limit the operator mistyped, naming the setting."""
    from referral_hub.config import ConfigError

    for name in LIMIT_SETTINGS:
        value = app.config.get(name)
        if value is None or str(value).strip() == "":
            continue
        try:
            if not parse_many(str(value)):
                raise ValueError(value)
        except ValueError:
            raise ConfigError(
                f"{name}: '{value}' is not a rate limit such as '10/minute' or '10/minute;100/hour'"
            ) from None


def init_rate_limits(app: Flask) -> Limiter:
    """Bind a limiter to this app and attach the limits to their endpoints."""
    enabled = app.config.get("HUB_RATE_LIMITS_ENABLED")
    app.config["HUB_RATE_LIMITS_ENABLED"] = (
        app.config["HUB_ENV"] != "test"
        if enabled is None or str(enabled).strip() == ""
        else str(enabled).strip().lower() in ("1", "true", "yes", "on")
    )
    redis_url = app.config.get("HUB_REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "hub-rl")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # Redis away for a moment must not turn every request into a 500: count in memory
    # until it answers again.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", bool(redis_url))
    _check_limits(app)

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

    def attach(endpoint: str, *limits: tuple[str, Callable[[], str], Callable[[], str]]) -> None:
        view = app.view_functions[endpoint]
        for setting, key_func, message in limits:
            view = limiter.limit(
                _limit(setting),
                key_func=key_func,
                methods=["POST"] if endpoint in ("oauth.issue_token", "accounts.login") else None,
                error_message=message,
                exempt_when=_disabled,
                scope=setting,
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
