"""OAuth endpoints: token, revocation, introspection, authorization (login + consent), metadata."""

from __future__ import annotations

import base64
import binascii

from authlib.oauth2.rfc6749.errors import InvalidScopeError, OAuth2Error
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from referral_hub.accounts.session import current_user
from referral_hub.extensions import authorization, csrf
from referral_hub.oauth.operations import note_failed_client_authentication
from referral_hub.oauth.scopes import SCOPES
from referral_hub.permissions import grantable
from referral_hub.problems import Problem, problem_response
from referral_hub.transaction import commit_now

bp = Blueprint("oauth", __name__)


def _presented_client_id() -> str | None:
    """The client id a request presents (HTTP Basic or form), whether or not it is real."""
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        return auth.username
    return request.form.get("client_id") or None


def _finish(response, endpoint: str):
    """Persist what the grant wrote (tokens, codes, revocations, their audit), then answer.

    RFC 6749 errors keep their `error` and `error_description` members and also carry the
    RFC 9457 members (`type`, `title`, `status`) like every other API error, but are served
    as `application/json`, which RFC 6749 5.2 prescribes and OAuth libraries check. A failed
    client authentication is audited after, in a transaction of its own.
    """
    if 400 <= response.status_code < 500:
        # An OAuth error is answered, not raised, and what the grant wrote before it stands:
        # a replayed code or refresh token has revoked its family, and audited that.
        commit_now()
    if response.status_code >= 400 and response.is_json:
        body = response.get_json(silent=True) or {}
        if body.get("error") == "invalid_client":
            note_failed_client_authentication(
                endpoint=endpoint, client_id=_presented_client_id(), address=request.remote_addr
            )
        if "error" in body:
            status = response.status_code
            if status == 401 and body["error"] != "invalid_client":
                # RFC 6749 5.2: only a failed client authentication is a 401; Authlib
                # also answers 401 for e.g. unsupported_token_type, which misleads clients.
                status = 400
            problem = Problem(
                status,
                "oauth-" + str(body["error"]).replace("_", "-"),
                body.get("error_description"),
                title="OAuth: " + str(body["error"]),
                headers={
                    k: v for k, v in response.headers.items() if k.lower() == "www-authenticate"
                },
                **body,
            )
            response = problem_response(problem)  # application/json here (RFC 6749 5.2)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _refusal(status: int, error: str, description: str):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    return response


def _refuse_malformed(*, token_endpoint: bool = False):
    """Refuse what Authlib lets through or misnames: a body that is not a form, a missing
    `grant_type`, repeated parameters and undecodable credentials."""
    if request.mimetype != "application/x-www-form-urlencoded":
        # RFC 6749 3.2 / RFC 7009 2.1 / RFC 7662 2.1: parameters come as a form. A JSON
        # body would otherwise read as "no grant_type" (unsupported_grant_type).
        return _refusal(
            400,
            "invalid_request",
            "Send the parameters as application/x-www-form-urlencoded, not "
            f"{request.mimetype or 'an empty body'}.",
        )
    if token_endpoint and not request.form.get("grant_type"):
        return _refusal(400, "invalid_request", "The 'grant_type' parameter is required.")
    repeated = sorted(name for name, values in request.form.lists() if len(values) > 1)
    if repeated:
        # RFC 6749 3.2: parameters MUST NOT be included more than once.
        return _refusal(400, "invalid_request", "Repeated parameters: " + ", ".join(repeated))
    parts = request.headers.get("Authorization", "").split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "basic":
        try:
            credentials = base64.b64decode(parts[1]).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            # Authlib decodes these as UTF-8 without catching the failure (a 500).
            credentials = "\x00"
        if "\x00" in credentials:
            return _refusal(401, "invalid_client", "The Basic credentials cannot be decoded.")
    return None


@bp.post("/oauth/token")
@csrf.exempt
def issue_token():
    """RFC 6749 token endpoint: client_credentials, authorization_code (PKCE), refresh_token."""
    refused = _refuse_malformed(token_endpoint=True)
    if refused is not None:
        return _finish(refused, "token")
    return _finish(authorization.create_token_response(), "token")


@bp.post("/oauth/revoke")
@csrf.exempt
def revoke_token():
    """RFC 7009 revocation."""
    refused = _refuse_malformed()
    if refused is not None:
        return _finish(refused, "revoke")
    return _finish(authorization.create_endpoint_response("revocation"), "revoke")


@bp.post("/oauth/introspect")
@csrf.exempt
def introspect_token():
    """RFC 7662 introspection, for clients of the token's organisation."""
    refused = _refuse_malformed()
    if refused is not None:
        return _finish(refused, "introspect")
    return _finish(authorization.create_endpoint_response("introspection"), "introspect")


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    """Sign-in and consent screen for third-party apps acting for a user (code grant + PKCE)."""
    user = current_user()
    if user is None:
        return redirect(url_for("accounts.login", next=request.full_path))
    try:
        grant = authorization.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return (
            render_template("oauth/error.html", error=error.error, description=error.description),
            400,
        )
    client = grant.client
    if client.organization_id == user.organization_id:
        # A person hands an app only what the person's role carries: the rest of the request
        # is left out of the grant (RFC 6749 3.3; the token response names the scope issued),
        # and AuthorizationCodeGrant.save_authorization_code clips the code's scope by the
        # same rule.
        requested = (grant.request.payload.scope or client.scope).split()
        granted = grantable(requested, user.role)
        refused = [s for s in requested if s not in granted]
        if not granted:
            error = InvalidScopeError(
                description="The signed-in user's role allows none of the requested scopes.",
                redirect_uri=grant.redirect_uri,
            )
            error.state = grant.request.payload.state
            return authorization.handle_error_response(grant.request, error)
        if request.method == "GET":
            return render_template(
                "oauth/authorize.html",
                client=client,
                scopes=[(s, SCOPES.get(s, s)) for s in granted],
                refused=[(s, SCOPES.get(s, s)) for s in refused],
                user=user,
            )
    # The answer (or, for a person of another organisation, the refusal: the grant decides)
    # is audited by the grant with the code it issues.
    approved = request.method == "POST" and request.form.get("decision") == "allow"
    response = authorization.create_authorization_response(
        grant_user=user if approved else None, grant=grant
    )
    if response.status_code >= 400:
        commit_now()  # an OAuth error is answered, not raised: what the grant wrote stands
    return response


@bp.get("/.well-known/oauth-authorization-server")
def metadata():
    """RFC 8414 authorization server metadata."""
    base = current_app.config["HUB_BASE_URL"]
    methods = ["client_secret_basic", "client_secret_post"]
    return jsonify(
        {
            "issuer": base,
            "authorization_endpoint": base + "/oauth/authorize",
            "token_endpoint": base + "/oauth/token",
            "revocation_endpoint": base + "/oauth/revoke",
            "introspection_endpoint": base + "/oauth/introspect",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": [*methods, "none"],
            "revocation_endpoint_auth_methods_supported": methods,
            "introspection_endpoint_auth_methods_supported": methods,
            "code_challenge_methods_supported": ["S256"],
            "service_documentation": base + "/docs",
            "ui_locales_supported": ["id", "en"],
        }
    )
