"""Registering OAuth clients."""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from referral_hub.accounts.operations import require_org_admin
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.directory.operations import require_organization
from referral_hub.extensions import db
from referral_hub.oauth.models import OAuthAuthorizationCode, OAuthClient, secret_digest
from referral_hub.oauth.scopes import SCOPES
from referral_hub.problems import Problem

GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")


#: How long a used or expired authorization code is kept: a replay within it revokes the
#: tokens the code issued; later it is refused as unknown, like any other code.
CODE_RETENTION = dt.timedelta(days=1)


def purge_authorization_codes(now: dt.datetime | None = None) -> int:
    """Delete the authorization codes used or expired more than CODE_RETENTION ago.

    A used code is kept with `expires_at` set to its use, so one rule covers both. The
    caller commits. Returns how many were deleted."""
    cutoff = (now or utcnow()) - CODE_RETENTION
    return db.session.execute(
        delete(OAuthAuthorizationCode)
        .where(OAuthAuthorizationCode.expires_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount


def create_client(
    actor: Actor,
    *,
    organization: str,
    name: str,
    scope: str,
    grant_types: list[str] | None = None,
    redirect_uris: list[str] | None = None,
    public: bool = False,
) -> tuple[OAuthClient, str | None]:
    """Register a client of an organisation; return it with its secret (shown once)."""
    org = require_organization(organization)
    require_org_admin(actor, org.id)
    scopes = scope.split()
    errors: dict[str, list[str]] = {}
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        errors["scope"] = ["Unknown scopes: " + " ".join(unknown)]
    if not scopes:
        errors["scope"] = ["At least one scope."]
    grant_types = list(grant_types or ["client_credentials"])
    bad = [g for g in grant_types if g not in GRANT_TYPES]
    if bad:
        errors["grant_types"] = ["Unknown grant types: " + " ".join(bad)]
    if "authorization_code" in grant_types:
        if "refresh_token" not in grant_types:
            grant_types.append("refresh_token")
        if not redirect_uris:
            errors["redirect_uris"] = ["The code grant needs at least one redirect URI."]
    for uri in redirect_uris or []:
        parts = urlsplit(uri)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
            errors["redirect_uris"] = [f"'{uri}' must be https (http only on loopback)."]
        if parts.fragment:
            errors["redirect_uris"] = [f"'{uri}' must not have a fragment."]
    if public and "client_credentials" in grant_types:
        errors["grant_types"] = ["A public client cannot use client_credentials."]
    if errors:
        raise Problem(422, "validation-error", "The client cannot be registered.", errors=errors)
    secret = None if public else secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id="hub_" + secrets.token_urlsafe(16),
        client_secret_hash=secret_digest(secret) if secret else None,
        organization_id=org.id,
        name=name,
        scope=" ".join(dict.fromkeys(scopes)),
        grant_types=grant_types,
        redirect_uris=list(redirect_uris or []),
        token_endpoint_auth_method="none" if public else "client_secret_basic",
    )
    db.session.add(client)
    db.session.flush()
    audit.record(
        actor,
        "oauth_client.created",
        "oauth_client",
        client.client_id,
        {"organization": org.code, "name": name, "scope": client.scope, "grant_types": grant_types},
        subject_organization_id=org.id,
    )
    return client, secret


def list_clients(actor: Actor) -> list[OAuthClient]:
    """The OAuth clients of the actor's organisation, enabled first, newest first."""
    require_org_admin(actor, actor.organization_id or "")
    return list(
        db.session.scalars(
            select(OAuthClient)
            .where(OAuthClient.organization_id == actor.organization_id)
            .order_by(OAuthClient.disabled_at.is_not(None), OAuthClient.created_at.desc())
        )
    )


def disable_client(actor: Actor, client_id: str) -> OAuthClient:
    """Disable a client for good: its secret and every token it holds stop working at once."""
    client = db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None or (not actor.is_system and client.organization_id != actor.organization_id):
        raise Problem(404, "not-found", "No such OAuth client.")
    require_org_admin(actor, client.organization_id)
    if client.disabled_at is not None:
        return client
    client.disabled_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        "oauth_client.disabled",
        "oauth_client",
        client.client_id,
        {"organization": client.organization.code, "name": client.name},
        subject_organization_id=client.organization_id,
    )
    return client
