"""Registering OAuth clients, and what the audit log keeps of their security events."""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit

from sqlalchemy import delete, func, or_, select, update

from referral_hub.accounts.operations import require_org_admin
from referral_hub.actors import Actor
from referral_hub.attempts import CounterRef, lock_counters
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.directory.operations import require_organization
from referral_hub.extensions import db
from referral_hub.oauth.models import (
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthToken,
    secret_digest,
)
from referral_hub.oauth.scopes import SCOPES
from referral_hub.problems import Problem, register_problem
from referral_hub.transaction import commit_now

GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")

OAUTH_CLIENT_HAS_NO_SECRET = register_problem(
    "oauth-client-has-no-secret", "A public OAuth client has no secret"
)
OAUTH_CLIENT_DISABLED = register_problem("oauth-client-disabled", "The OAuth client is disabled")

#: A failed client authentication is audited once per client id, endpoint and source address
#: in this window; the next entry says how many it stands for.
CLIENT_AUTH_WINDOW = dt.timedelta(minutes=1)
#: At most this many such entries per source address in a window, whatever ids it presents.
CLIENT_AUTH_ENTRIES_PER_SOURCE = 10
#: A presented client id is kept to this length (real ones are 26 characters).
PRESENTED_CLIENT_ID_LENGTH = 64


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
        "oauth.client_created",
        "oauth_client",
        client.client_id,
        {
            "organization": org.code,
            "name": name,
            "scope": client.scope,
            "grant_types": grant_types,
            "redirect_uris": client.redirect_uris,
            "public": public,
        },
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


def managed_client(actor: Actor, client_id: str) -> OAuthClient:
    """A client the actor administers; another organisation's is not found, not forbidden."""
    client = db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None or (not actor.is_system and client.organization_id != actor.organization_id):
        raise Problem(404, "not-found", "No such OAuth client.", reason="no-oauth-client")
    require_org_admin(actor, client.organization_id)
    return client


def disable_client(actor: Actor, client_id: str) -> OAuthClient:
    """Disable a client for good: its secret and every token it holds stop working at once."""
    client = managed_client(actor, client_id)
    if client.disabled_at is not None:
        return client
    client.disabled_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        "oauth.client_changed",
        "oauth_client",
        client.client_id,
        {"change": "disabled", "organization": client.organization.code, "name": client.name},
        subject_organization_id=client.organization_id,
    )
    return client


def secret_rotatable(actor: Actor, client_id: str) -> OAuthClient:
    """The client whose secret the actor may rotate now (asked before the confirmation too)."""
    client = managed_client(actor, client_id)
    if client.disabled_at is not None:
        raise Problem(409, OAUTH_CLIENT_DISABLED, "A disabled client cannot get a new secret.")
    if not client.client_secret_hash:
        raise Problem(
            409,
            OAUTH_CLIENT_HAS_NO_SECRET,
            "A public client uses no secret; it has none to rotate.",
        )
    return client


def rotate_client_secret(actor: Actor, client_id: str) -> tuple[OAuthClient, str]:
    """Give a client a new secret (shown once); the old one and every token obtained with
    it, access and refresh, stop working at once: a secret is rotated because it may leak."""
    client = secret_rotatable(actor, client_id)
    secret = secrets.token_urlsafe(32)
    client.client_secret_hash = secret_digest(secret)
    now = utcnow()
    revoked = db.session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.client_id == client.client_id,
            or_(OAuthToken.revoked_at.is_(None), OAuthToken.refresh_revoked_at.is_(None)),
        )
        .values(
            revoked_at=func.coalesce(OAuthToken.revoked_at, now),
            refresh_revoked_at=func.coalesce(OAuthToken.refresh_revoked_at, now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.flush()
    audit.record(
        actor,
        "oauth.client_changed",
        "oauth_client",
        client.client_id,
        {
            "change": "secret_rotated",
            "organization": client.organization.code,
            "name": client.name,
            "revoked_tokens": revoked,
        },
        subject_organization_id=client.organization_id,
    )
    return client, secret


def _printable(text: str | None) -> str:
    return "".join(ch for ch in (text or "") if ch.isprintable())


def note_failed_client_authentication(
    *, endpoint: str, client_id: str | None, address: str | None
) -> bool:
    """Audit a failed client authentication at /oauth/<endpoint>, rate-safe; True if written.

    Nothing changed, so the entry has a transaction of its own (committed here). It names the
    client id as presented (cut to PRESENTED_CLIENT_ID_LENGTH) and the source address, never
    what was presented as a secret. An attacker hammering the endpoint must not grow the log
    without bound: one entry per client id, endpoint and source a CLIENT_AUTH_WINDOW (the
    next one counts those left out), at most CLIENT_AUTH_ENTRIES_PER_SOURCE per source in a
    window. The rate limit of /oauth/token alone would not do: revocation and
    introspection have none, and it may be switched off or fall back to one process's memory.
    """
    # What was presented is the attacker's text: only its printable characters are kept (a
    # NUL cannot even be stored in PostgreSQL).
    presented = _printable(client_id)[:PRESENTED_CLIENT_ID_LENGTH] or None
    address = _printable(address)[:64] or "unknown"
    now = utcnow()
    pair, source = lock_counters(
        [
            CounterRef("client_auth", (endpoint, presented or "", address)),
            CounterRef("client_auth_source", (address,)),
        ],
        now,
    )
    left_out_before = 0
    if pair.started_at <= now - CLIENT_AUTH_WINDOW:
        left_out_before = pair.refused
        pair.restart(now)
    if source.started_at <= now - CLIENT_AUTH_WINDOW:
        source.restart(now)
    pair.count += 1
    pair.last_at = source.last_at = now
    # `count` of the source: entries written in its window; `refused` of the pair: failures
    # of its window left out of the log.
    write = pair.count == 1 and source.count < CLIENT_AUTH_ENTRIES_PER_SOURCE
    if write:
        source.count += 1
        client = (
            db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == presented))
            if presented
            else None
        )
        audit.record(
            Actor.system(label=f"oauth:{endpoint}"),
            "oauth.client_auth_failed",
            "oauth_client",
            presented,
            {
                "endpoint": endpoint,
                "address": address,
                "client_known": client is not None,
                "unrecorded_before": left_out_before,
            },
            subject_organization_id=client.organization_id if client is not None else None,
        )
    else:
        pair.refused += 1
    commit_now()  # after a refusal (401), which the request's unit of work rolls back
    return write
