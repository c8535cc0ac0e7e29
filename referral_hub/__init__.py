"""The referral hub: agreement-bound, consented referrals between UPTD PPA units and partners."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from referral_hub.config import ConfigError, load_config

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULT_LOCALE = "id"


class HubResponse(Response):
    """Every `Location` is absolute (the request's scheme and host before a relative path):
    partner clients and generated SDKs resolve it as is, without knowing the request URL."""

    autocorrect_location_header = True


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions in a fixed order, blueprints, then start-up checks."""
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get(
        "HUB_INSTANCE_PATH", str(REPO_DIR / "instance")
    )
    from referral_hub.transaction import HubFlask

    app = HubFlask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    app.response_class = HubResponse
    app.config.update(load_config(app.instance_path, config))
    if app.config["HUB_ENV"] == "production":
        # Behind a TLS-terminating proxy: trust one hop for scheme and host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    elif not app.config["HUB_BASE_URL"].startswith("https://"):
        # Development and tests speak plain HTTP on loopback; Authlib refuses that otherwise.
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

    _init_extensions(app)
    _connect_signals()
    _register_blueprints(app)
    _init_delivery(app)
    _init_rate_limits(app)
    _register_request_hooks(app)
    _register_cli(app)
    _check_start(app)
    return app


def _init_extensions(app: Flask) -> None:
    from referral_hub import models  # noqa: F401  (every table in the metadata)
    from referral_hub.apidoc import problem_schema_component
    from referral_hub.extensions import api, babel, csrf, db, migrate
    from referral_hub.idempotency.openapi import IdempotencyPlugin
    from referral_hub.interchange.hsds import hsds_page_schema_component
    from referral_hub.oauth.scopes import SCOPES
    from referral_hub.oauth.server import init_oauth
    from referral_hub.openapi_spec import ContractPlugin
    from referral_hub.paths import register_path_converters
    from referral_hub.security import read_bodies_as_the_edge_did

    db.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_locale=DEFAULT_LOCALE)
    base = app.config["HUB_BASE_URL"]
    register_path_converters(app, api)  # before the blueprints' rules use them
    read_bodies_as_the_edge_did()
    api.init_app(
        app,
        spec_kwargs={
            "info": {
                "description": "Agreement-bound, consented referrals between UPTD PPA units "
                "and their partner agencies. Errors are RFC 9457 problem details; each "
                f"`type` is documented at its URI ({base}/problems). The developer guide "
                f"({base}/docs, in Bahasa Indonesia and English) walks through a token, "
                "sending and answering a referral, the events feed, webhook verification, "
                "idempotent retries and errors, with examples that run against `make run`."
            },
            "externalDocs": {"description": "Developer guide", "url": f"{base}/docs"},
            "servers": [{"url": base}],
            "extra_plugins": [IdempotencyPlugin(), ContractPlugin()],
        },
    )
    if "oauth2" not in api.spec.components.security_schemes:
        api.spec.components.security_scheme(
            "oauth2",
            {
                "type": "oauth2",
                "flows": {
                    "clientCredentials": {"tokenUrl": base + "/oauth/token", "scopes": SCOPES},
                    "authorizationCode": {
                        "authorizationUrl": base + "/oauth/authorize",
                        "tokenUrl": base + "/oauth/token",
                        "refreshUrl": base + "/oauth/token",
                        "scopes": SCOPES,
                    },
                },
            },
        )
        api.spec.components.schema("Problem", problem_schema_component())
        api.spec.components.schema("HsdsPage", hsds_page_schema_component())
    init_oauth(app)


def _connect_signals() -> None:
    """Every process builds the app (web, CLI, rq workers): each has the receivers once."""
    from referral_hub.receivers import connect_receivers

    connect_receivers()


def _select_locale() -> str:
    from referral_hub.accounts.session import current_user

    chosen = session.get("locale")
    if chosen in ("id", "en"):
        return chosen
    user = current_user() if request else None
    if user is not None and user.locale in ("id", "en"):
        return user.locale
    return DEFAULT_LOCALE


def _register_blueprints(app: Flask) -> None:
    from referral_hub.accounts.views import bp as accounts_bp
    from referral_hub.agreements.api import blp as agreements_api
    from referral_hub.agreements.blueprint import bp as agreements_portal_bp
    from referral_hub.audit.api import blp as audit_api
    from referral_hub.cases.api import blp as cases_api
    from referral_hub.cases.views import bp as cases_portal_bp
    from referral_hub.clients.api import blp as clients_api
    from referral_hub.clients.rights_views import bp as clients_portal_bp  # with its routes
    from referral_hub.delivery.api import blp as delivery_api
    from referral_hub.delivery.views import bp as delivery_portal_bp
    from referral_hub.directory.api import blp as directory_api
    from referral_hub.extensions import api, csrf
    from referral_hub.health import bp as health_bp
    from referral_hub.intake.api import blp as intake_api
    from referral_hub.intake.views import bp as intake_portal_bp
    from referral_hub.interchange.fhir.views import bp as fhir_bp
    from referral_hub.interchange.hsds import blp as hsds_api
    from referral_hub.oauth.views import bp as oauth_bp
    from referral_hub.portal.blueprint import bp as portal_bp
    from referral_hub.referrals.api import blp as referrals_api
    from referral_hub.referrals.blueprint import bp as referrals_portal_bp
    from referral_hub.reports.api import blp as reports_api
    from referral_hub.reports.views import bp as reports_portal_bp

    apis = (
        directory_api,
        audit_api,
        clients_api,
        agreements_api,
        delivery_api,
        referrals_api,
        reports_api,
        cases_api,
        intake_api,
        hsds_api,
    )
    for blp in apis:
        api.register_blueprint(blp)
        csrf.exempt(blp)  # bearer tokens, not cookies: CSRF cannot apply
    for bp in (health_bp, oauth_bp, accounts_bp, portal_bp, referrals_portal_bp, clients_portal_bp):
        app.register_blueprint(bp)
    for bp in (
        agreements_portal_bp,
        delivery_portal_bp,
        cases_portal_bp,
        reports_portal_bp,
        intake_portal_bp,
    ):
        app.register_blueprint(bp)
    # FHIR R4 (docs/interchange.md): bearer tokens too, and outside the JSON API's OpenAPI.
    app.register_blueprint(fhir_bp)
    csrf.exempt(fhir_bp)


def _init_delivery(app: Flask) -> None:
    from referral_hub.delivery import init_app

    init_app(app)


def _init_rate_limits(app: Flask) -> None:
    from referral_hub.ratelimit import init_rate_limits

    init_rate_limits(app)


def _register_request_hooks(app: Flask) -> None:
    from flask_babel import get_locale

    from referral_hub.idempotency.hooks import init_idempotency
    from referral_hub.interchange.fhir.outcome import render as render_operation_outcome
    from referral_hub.portal.errors import render_error_page
    from referral_hub.portal.templating import show_erased
    from referral_hub.problems import (
        Problem,
        handle_problem,
        handle_unexpected,
        register_html_error_renderer,
        register_problem_renderer,
    )
    from referral_hub.security import (
        HubJSONProvider,
        HubRequest,
        check_api_request,
        set_security_headers,
    )
    from referral_hub.transaction import init_transactions

    app.request_class = HubRequest
    app.json = HubJSONProvider(app)
    app.register_error_handler(Problem, handle_problem)
    app.register_error_handler(Exception, handle_unexpected)
    register_html_error_renderer(app, render_error_page)  # portal pages answer in the portal
    register_problem_renderer(app, "/fhir", render_operation_outcome)  # FHIR's OperationOutcome
    app.before_request(check_api_request)
    app.after_request(set_security_headers)
    init_idempotency(app)  # after the token check: a key belongs to the authenticated caller
    init_transactions(app)  # the request's unit of work ends with its session
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or DEFAULT_LOCALE)
    # Wherever a page prints an erased client's personal text, it says so in words.
    app.jinja_env.finalize = show_erased


def _register_cli(app: Flask) -> None:
    from referral_hub.cli import hub

    app.cli.add_command(hub)


def _check_start(app: Flask) -> None:
    """Refuse to start on what the settings table cannot check alone (the schedule's job
    names, a partners file that cannot load), with a message naming the problem."""
    from referral_hub.delivery import check_start as check_delivery
    from referral_hub.directory.partners_file import (
        PartnersFileError,
        default_partners_path,
        read_partners_file,
    )

    check_delivery(app)
    path = app.config.get("HUB_PARTNERS_FILE") or str(default_partners_path())
    app.config["HUB_PARTNERS_FILE"] = path
    if not Path(path).exists():
        if app.config["HUB_ENV"] == "production":
            raise ConfigError(f"partners file not found: {path} (set HUB_PARTNERS_FILE)")
        return
    try:
        read_partners_file(path)
    except PartnersFileError as error:
        raise ConfigError(f"{path} cannot be loaded:\n  " + "\n  ".join(error.problems)) from None


__all__ = ["ConfigError", "create_app"]
