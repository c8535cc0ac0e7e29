"""Authlib wiring: grants, token storage, revocation, introspection and the resource protector.

The module is long (about 670 lines) because it is one Authlib server: the grants, the token
store, revocation and introspection share the token families and the refresh-reuse rule, and
`init_oauth` binds them with the resource side (the bearer-token check, `authenticate`,
`requires`) on the same shared objects. The resource side could be a module of its own; it
stays, as the one place `apidoc` (every API route's `requires`) and `security` (the check
before every API request) take the token rule from.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2 import current_token
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, Response, current_app, g, request
from sqlalchemy import Select, String, bindparam, func, or_, select, update

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import authorization, db, require_oauth
from referral_hub.oauth.models import (
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthToken,
    secret_digest,
)
from referral_hub.oauth.scopes import SCOPES
from referral_hub.permissions import grantable, role_permits
from referral_hub.problems import Problem
from referral_hub.transaction import commit_request, has_writes

REFRESH_TOKEN_LIFETIME = dt.timedelta(days=30)
AUTHORIZATION_CODE_LIFETIME = dt.timedelta(minutes=5)
CONFIDENTIAL_METHODS = ["client_secret_basic", "client_secret_post"]


def query_client(client_id: str) -> OAuthClient | None:
    """Authlib's hook: the client with this public id, if enabled."""
    return db.session.scalar(
        select(OAuthClient).where(
            OAuthClient.client_id == client_id, OAuthClient.disabled_at.is_(None)
        )
    )


def client_actor(client: OAuthClient, user: User | None = None) -> Actor:
    """The acting party of a request to the token, revocation or introspection endpoint: the
    authenticated client, acting for `user` when its grant has one."""
    return Actor.for_client(client, user)


def save_token(token: dict[str, Any], request: Any) -> None:
    """Store a new token pair by digest; a rotated refresh token keeps its family.

    A token acting for a person (code and refresh grants) is audited: who, which client,
    which scopes; never the token. A partner system's own tokens (client credentials, asked
    for again every hour) are not audited one by one.
    """
    client: OAuthClient = request.client
    user = getattr(request, "user", None)
    previous = getattr(request, "refresh_token", None)
    now = utcnow()
    row = OAuthToken(
        access_token_hash=secret_digest(token["access_token"]),
        refresh_token_hash=(
            secret_digest(token["refresh_token"]) if token.get("refresh_token") else None
        ),
        client_id=client.client_id,
        organization_id=client.organization_id,
        user_id=user.id if user is not None else None,
        scope=token.get("scope", ""),
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=int(token["expires_in"])),
        refresh_expires_at=now + REFRESH_TOKEN_LIFETIME if token.get("refresh_token") else None,
    )
    if isinstance(previous, OAuthToken):
        row.family_id = previous.family_id
        # RFC 6749 6: a refresh that asks for less narrows the access token, not the grant
        # the new refresh token carries on.
        grant = previous.get_scope()
        if set(grant.split()) != set(row.scope.split()):
            row.grant_scope = grant
    elif isinstance(getattr(request, "authorization_code", None), OAuthAuthorizationCode):
        # The code's id names the family, so a replayed code can revoke what it issued.
        row.family_id = request.authorization_code.id
    db.session.add(row)
    if user is not None:
        db.session.flush()  # the family id of a new grant
        audit.record(
            client_actor(client, user),
            "oauth.token_issued",
            "oauth_client",
            client.client_id,
            {
                "grant_type": request.payload.grant_type,
                "user_id": user.id,
                "email": user.email,
                "scope": row.scope,
                "grant_id": row.family_id,
            },
        )


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS


class S256CodeChallenge(CodeChallenge):
    """PKCE is required of every client, and only with S256."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' (S256)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be 'S256'")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: OAuthAuthorizationCode):
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: OAuthAuthorizationCode):
        return authorization_code.code_challenge_method


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*CONFIDENTIAL_METHODS, "none"]

    def create_authorization_response(self, redirect_uri: str, grant_user: Any):
        """The person's answer at /oauth/authorize, audited with the code it issues (if any).

        A person of another organisation than the client's gets no code, whatever they
        answer: a client acts for its own organisation's people only.
        """
        person = self.request.user  # who is signed in (get_consent_grant's end_user)
        client: OAuthClient = self.request.client
        scope = self.request.payload.scope or client.scope
        reason = None
        if person is not None and person.organization_id != client.organization_id:
            grant_user, reason = None, "another_organisation"
        elif grant_user is None:
            reason = "refused"
        if person is not None:
            requested = scope.split()
            granted = grantable(requested, person.role)
            detail = {"scope": " ".join(granted), "client": client.name}
            if len(granted) < len(requested):
                detail["refused_for_role"] = [s for s in requested if s not in granted]
            if reason is not None:
                detail["reason"] = reason
            audit.record(
                Actor.for_user(person),
                "oauth.grant_denied" if grant_user is None else "oauth.grant_approved",
                "oauth_client",
                client.client_id,
                detail,
                subject_organization_id=client.organization_id,
            )
        if grant_user is None:
            raise AccessDeniedError(redirect_uri=redirect_uri)
        return super().create_authorization_response(redirect_uri, grant_user)

    def save_authorization_code(self, code: str, request: Any) -> None:
        """Keep the code with the scope the person may hand over: the resolved request (the
        client's registered scopes when none was asked) within the person's role."""
        data = request.payload.data
        db.session.add(
            OAuthAuthorizationCode(
                code_hash=secret_digest(code),
                client_id=request.client.client_id,
                user_id=request.user.id,
                redirect_uri=request.payload.redirect_uri or "",
                scope=" ".join(grantable((request.scope or "").split(), request.user.role)),
                code_challenge=data["code_challenge"],
                code_challenge_method=data.get("code_challenge_method", "S256"),
                expires_at=utcnow() + AUTHORIZATION_CODE_LIFETIME,
            )
        )

    def query_authorization_code(self, code: str, client: OAuthClient):
        """Claim the code once, atomically; a code presented again revokes what it issued.

        The row is kept after use (its expiry set to the moment of use): tokens issued for it
        carry its id as their family, so a second presentation (RFC 6749 4.1.2: someone else
        holds the code) revokes them, access and refresh, and the racing twin of an exchange
        finds the code already claimed.
        """
        digest = secret_digest(code)
        now = utcnow()
        claimed = db.session.execute(
            update(OAuthAuthorizationCode)
            .where(
                OAuthAuthorizationCode.code_hash == digest,
                OAuthAuthorizationCode.client_id == client.client_id,
                OAuthAuthorizationCode.expires_at > now,
            )
            .values(expires_at=now)
            .returning(OAuthAuthorizationCode.id)
            .execution_options(synchronize_session=False)
        ).scalar()
        if claimed is not None:
            return db.session.get(OAuthAuthorizationCode, claimed, populate_existing=True)
        used = db.session.execute(
            select(OAuthAuthorizationCode.id, OAuthAuthorizationCode.user_id).where(
                OAuthAuthorizationCode.code_hash == digest,
                OAuthAuthorizationCode.client_id == client.client_id,
            )
        ).first()
        if used is not None:
            revoked = revoke_family(used.id)
            issued = db.session.scalar(
                select(func.count()).select_from(OAuthToken).where(OAuthToken.family_id == used.id)
            )
            if issued:
                # Exchanged before: someone else holds the code (an expired code that
                # issued nothing is merely late).
                audit.record(
                    client_actor(client),
                    "oauth.code_replayed",
                    "oauth_client",
                    client.client_id,
                    {"user_id": used.user_id, "grant_id": used.id, "revoked_tokens": revoked},
                )
        return None

    def delete_authorization_code(self, authorization_code: OAuthAuthorizationCode) -> None:
        """Kept, not deleted: query_authorization_code needs it to recognise a replay."""

    def authenticate_user(self, authorization_code: OAuthAuthorizationCode) -> User | None:
        user = db.session.get(User, authorization_code.user_id)
        return user if user is not None and user.active else None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*CONFIDENTIAL_METHODS, "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> OAuthToken | None:
        token = db.session.scalar(
            select(OAuthToken).where(OAuthToken.refresh_token_hash == secret_digest(refresh_token))
        )
        if token is None:
            return None
        if token.refresh_revoked_at is not None:
            # A rotated refresh token came back: someone holds a copy. End the family.
            _refresh_reused(self.request.client, token)
            return None
        if token.refresh_expires_at is None or utcnow() >= token.refresh_expires_at:
            return None
        if token.client.disabled_at is not None:
            return None
        return token

    def authenticate_user(self, refresh_token: OAuthToken) -> User | None:
        user = refresh_token.user
        return user if user is not None and user.active else None

    def revoke_old_credential(self, refresh_token: OAuthToken) -> None:
        # Claim the old refresh token in one UPDATE. Of requests racing with the same token
        # only the first gets it; the others are a reuse and end the family, including
        # the grant the first one was just issued: never two live branches.
        now = utcnow()
        claimed = db.session.execute(
            update(OAuthToken)
            .where(OAuthToken.id == refresh_token.id, OAuthToken.refresh_revoked_at.is_(None))
            .values(refresh_revoked_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            _refresh_reused(self.request.client, refresh_token)
            raise InvalidGrantError()
        refresh_token.revoked_at = refresh_token.revoked_at or now


def _refresh_reused(client: OAuthClient, token: OAuthToken) -> None:
    """A refresh token presented after its rotation or revocation: end its family, audited."""
    revoked = revoke_family(token.family_id)
    detail = {"user_id": token.user_id, "grant_id": token.family_id, "revoked_tokens": revoked}
    if token.client_id != client.client_id:
        detail["token_client_id"] = token.client_id
    audit.record(
        client_actor(client),
        "oauth.refresh_reused",
        "oauth_client",
        token.client_id,
        detail,
        subject_organization_id=token.organization_id,
    )


def revoke_family(family_id: str) -> int:
    """Revoke every access and refresh token of one rotation family; how many were live."""
    now = utcnow()
    return db.session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.family_id == family_id,
            or_(OAuthToken.revoked_at.is_(None), OAuthToken.refresh_revoked_at.is_(None)),
        )
        .values(
            revoked_at=func.coalesce(OAuthToken.revoked_at, now),
            refresh_revoked_at=func.coalesce(OAuthToken.refresh_revoked_at, now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def revoke_user_grants(user_id: str) -> None:
    """End everything a person handed to apps: every access and refresh token, and every
    authorization code not yet exchanged. For good: reactivating the person revives none."""
    now = utcnow()
    db.session.execute(
        update(OAuthToken)
        .where(OAuthToken.user_id == user_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.user_id == user_id,
            OAuthToken.refresh_token_hash.is_not(None),
            OAuthToken.refresh_revoked_at.is_(None),
        )
        .values(refresh_revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OAuthAuthorizationCode)
        .where(OAuthAuthorizationCode.user_id == user_id, OAuthAuthorizationCode.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def _query_any_token(token_string: str, hint: str | None) -> OAuthToken | None:
    digest = secret_digest(token_string)
    lookups = [
        ("access_token", OAuthToken.access_token_hash),
        ("refresh_token", OAuthToken.refresh_token_hash),
    ]
    if hint == "refresh_token":
        lookups.reverse()
    for half, column in lookups:
        token = db.session.scalar(select(OAuthToken).where(column == digest))
        if token is not None:
            # Which half was presented decides what "active" means for it (RFC 7662).
            token.presented_half = half
            return token
    return None


def _check_token_params(request: Any) -> None:
    """The `token` parameter is required; a `token_type_hint` the hub does not know is
    ignored, as RFC 7662 2.1 and RFC 7009 2.1 let the server search every kind of token
    (Authlib refuses it with unsupported_token_type)."""
    if "token" not in request.form:
        raise InvalidRequestError("Send the 'token' to look at.")


def _known_hint(hint: str | None) -> str | None:
    return hint if hint in ("access_token", "refresh_token") else None


class RevocationEndpointImpl(RevocationEndpoint):
    #: A public client (PKCE, no secret) may revoke its own tokens (RFC 7009 2.1: the
    #: client authenticates as it does at the token endpoint, by its id when it has no
    #: secret); introspection stays with confidential clients.
    CLIENT_AUTH_METHODS = [*CONFIDENTIAL_METHODS, "none"]

    def check_params(self, request: Any, client: OAuthClient) -> None:
        _check_token_params(request)

    def authenticate_token(self, request: Any, client: OAuthClient) -> OAuthToken | None:
        """The token, if it was issued to this client; another client's token is treated as
        an unknown one (RFC 7009 2.2: 200, nothing revoked, nothing revealed)."""
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token is None or not token.check_client(client):
            return None
        return token

    def query_token(self, token_string: str, token_type_hint: str | None):
        return _query_any_token(token_string, _known_hint(token_type_hint))

    def revoke_token(self, token: OAuthToken, request: Any) -> None:
        # Revoking either half ends the grant: the access token and its refresh token.
        now = utcnow()
        live = token.revoked_at is None or (
            token.refresh_token_hash is not None and token.refresh_revoked_at is None
        )
        token.revoked_at = token.revoked_at or now
        if token.refresh_token_hash:
            token.refresh_revoked_at = token.refresh_revoked_at or now
        if live:
            audit.record(
                client_actor(request.client),
                "oauth.token_revoked",
                "oauth_client",
                token.client_id,
                {
                    "token_type": getattr(token, "presented_half", "access_token"),
                    "user_id": token.user_id,
                    "grant_id": token.family_id,
                },
            )


class IntrospectionEndpointImpl(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def check_params(self, request: Any, client: OAuthClient) -> None:
        _check_token_params(request)

    def query_token(self, token_string: str, token_type_hint: str | None):
        return _query_any_token(token_string, _known_hint(token_type_hint))

    def check_permission(self, token: OAuthToken, client: OAuthClient, request: Any) -> bool:
        # A client may introspect tokens of its own organisation only.
        return token.organization_id == client.organization_id

    def create_introspection_payload(self, token: OAuthToken | None) -> dict[str, Any]:
        if token is not None and getattr(token, "presented_half", None) == "refresh_token":
            return _refresh_token_introspection(token)
        return super().create_introspection_payload(token)

    def introspect_token(self, token: OAuthToken) -> dict[str, Any]:
        if token.is_revoked() or token.is_expired():
            return {"active": False}
        return token.introspection(current_app.config["HUB_BASE_URL"])


def _refresh_token_introspection(token: OAuthToken) -> dict[str, Any]:
    """A refresh token is active by its own lifetime and revocation, not its access token's."""
    if (
        token.refresh_revoked_at is not None
        or token.refresh_expires_at is None
        or utcnow() >= token.refresh_expires_at
        or token.client.disabled_at is not None
        or (token.user is not None and not token.user.active)
    ):
        return {"active": False}
    return token.refresh_introspection(current_app.config["HUB_BASE_URL"])


@dataclass(frozen=True)
class BearerToken:
    """An access token as an API request sees it: what its checks and the Actor need.

    Read afresh from the database on every request, so a revocation, a disabled client or a
    deactivated user stops the token at once; nothing of it outlives the request.
    """

    organization_id: str
    organization_type: str
    client_id: str
    client_name: str
    client_disabled_at: dt.datetime | None
    user_id: str | None
    user_role: str | None
    user_active: bool | None
    scope: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    # --- what Authlib's BearerTokenValidator asks of a token -----------------------------
    def is_expired(self) -> bool:
        return utcnow() >= self.expires_at

    def is_revoked(self) -> bool:
        # The same rule as OAuthToken.is_revoked.
        if self.revoked_at is not None or self.client_disabled_at is not None:
            return True
        return self.user_id is not None and not self.user_active

    def get_scope(self) -> str:
        return self.scope


#: One row per token: the token, its client, organisation and user (if any), by one index
#: lookup and three primary keys; no ORM objects, no organisation services.
_BEARER_COLUMNS = (
    OAuthToken.organization_id,
    Organization.type,
    OAuthToken.client_id,
    OAuthClient.name,
    OAuthClient.disabled_at,
    OAuthToken.user_id,
    User.role,
    User.active,
    OAuthToken.scope,
    OAuthToken.expires_at,
    OAuthToken.revoked_at,
)


@functools.cache
def _bearer_statement() -> Select:
    """Built once (every API request runs it); the token's digest is the bound `digest`."""
    return (
        select(*_BEARER_COLUMNS)
        .select_from(OAuthToken)
        .join(OAuthClient, OAuthClient.client_id == OAuthToken.client_id)
        .join(Organization, Organization.id == OAuthToken.organization_id)
        .outerjoin(User, User.id == OAuthToken.user_id)
        .where(OAuthToken.access_token_hash == bindparam("digest", type_=String))
    )


class HubBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> BearerToken | None:
        row = db.session.execute(
            _bearer_statement(), {"digest": secret_digest(token_string)}
        ).first()
        return BearerToken(*row) if row is not None else None


def init_oauth(app: Flask) -> None:
    """Bind the authorization server and the resource protector to an app."""
    seconds = app.config["HUB_ACCESS_TOKEN_SECONDS"]
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "client_credentials": seconds,
        "authorization_code": seconds,
        "refresh_token": seconds,
    }
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_SCOPES_SUPPORTED"] = list(SCOPES)
    authorization.init_app(app, query_client=query_client, save_token=save_token)
    # Grants and endpoints live on the shared server object: register them once only.
    if not getattr(authorization, "_hub_registered", False):
        authorization.register_grant(ClientCredentialsGrant)
        authorization.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        authorization.register_grant(RefreshTokenGrant)
        authorization.register_endpoint(RevocationEndpointImpl)
        authorization.register_endpoint(IntrospectionEndpointImpl)
        require_oauth.register_token_validator(HubBearerTokenValidator())
        authorization._hub_registered = True


def actor_from_token(token: BearerToken) -> Actor:
    """The acting party behind a bearer token: the organisation, and the user if any."""
    return Actor(
        organization_id=token.organization_id,
        user_id=token.user_id,
        client_id=token.client_id,
        role=token.user_role,
        scopes=frozenset(token.scope.split()),
        kind="client",
        label=token.client_name,
        organization_type=token.organization_type,
    )


def _problem_from_oauth_error(error: OAuth2Error) -> Problem:
    headers = {k: v for k, v in error.get_headers() if k.lower() == "www-authenticate"}
    if error.error == "insufficient_scope":
        return Problem(
            403,
            "insufficient-scope",
            error.description or "The token lacks the scope this operation needs.",
            headers=headers or {"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            error="insufficient_scope",
        )
    if error.error in ("missing_authorization", "unsupported_token_type"):
        # RFC 6750 3.1: a request without a bearer token (none at all, or other credentials
        # such as Basic) gets the bare challenge, no error code (Authlib's own header names
        # "missing_authorization" or "unsupported_token_type", which RFC 6750 does not have).
        return Problem(
            401,
            "unauthorized",
            "Send an access token: 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="referral_hub"'},
        )
    return Problem(
        401,
        "invalid-token",
        "The access token is invalid, expired or revoked.",
        headers=headers or {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        error="invalid_token",
    )


def _beyond_the_users_role(token: BearerToken, scope: str) -> Problem:
    """A token acting for a person asks for what the person's role does not allow.

    The token may carry the scope (granted before a role changed, or by an older consent
    screen); it still does no more than the person could in the portal.
    """
    return Problem(
        403,
        "insufficient-scope",
        f"This token acts for a user whose role ({token.user_role}) does not allow "
        f"'{scope}': an app can do no more for a person than the person can in the portal.",
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        error="insufficient_scope",
    )


def authenticate(scope: str | None = None) -> Actor:
    """Validate the request's bearer token (and scope) and return the actor behind it."""
    # Kept on the request itself (not on g, which tests may share between requests).
    done = request.environ.get("hub.authenticated")
    if done is not None and done[0] == scope:
        return done[1]  # already checked for this request, before its arguments were parsed
    try:
        token = require_oauth.acquire_token([scope] if scope else None)
    except OAuth2Error as error:
        raise _problem_from_oauth_error(error) from None
    if scope and token.user_id is not None and not role_permits(token.user_role, scope):
        raise _beyond_the_users_role(token, scope)
    actor = actor_from_token(token)
    g.actor = actor
    request.environ["hub.authenticated"] = (scope, actor)
    return actor


def authenticate_protected_view() -> None:
    """Check the token of a protected view before its arguments are parsed.

    flask-smorest parses query and body in decorators outside the view's own token check,
    so a request without a token got a 422 listing the fields; API.md says a missing or
    bad token is a 401, whatever else is wrong with the request.
    """
    if request.method == "OPTIONS":
        return  # answered by Flask with Allow, without running the view
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is not None and hasattr(view, "_required_scope"):
        authenticate(view._required_scope)


def requires(scope: str | None = None) -> Callable:
    """Decorator for API views: a valid token with `scope`; the view gets `actor` as first arg."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = view(authenticate(scope), *args, **kwargs)
            if _answer_status(result) < 400 and has_writes():
                # The request's unit of work, closed before flask-smorest serialises the
                # result: the answer shows what was stored (transaction.py).
                commit_request()
            return result

        wrapped._required_scope = scope  # read by the OpenAPI security decoration
        return wrapped

    return decorate


def _answer_status(result: Any) -> int:
    """The status a view's return value answers with (200 unless it says otherwise)."""
    if isinstance(result, Response):
        return result.status_code
    if isinstance(result, tuple) and len(result) > 1 and isinstance(result[1], int):
        return result[1]
    return 200


__all__ = ["authenticate", "current_token", "init_oauth", "requires"]
