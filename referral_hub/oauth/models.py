"""OAuth clients, authorization codes and tokens; secrets and tokens are stored hashed."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral_hub.accounts.models import User
from referral_hub.db import UTCDateTime, new_id, utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.permissions import grantable


def secret_digest(value: str) -> str:
    """SHA-256 of a high-entropy secret or token; what the database keeps instead of it."""
    return hashlib.sha256(value.encode()).hexdigest()


class OAuthClient(db.Model, ClientMixin):
    __tablename__ = "oauth_clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    #: SHA-256 of the secret; None for a public (PKCE-only) client.
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Space-separated scopes this client may be granted.
    scope: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    grant_types: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    token_endpoint_auth_method: Mapped[str] = mapped_column(
        String(32), nullable=False, default="client_secret_basic"
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(lazy="joined")

    # --- Authlib ClientMixin -------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """No scope asked: all registered ones; a scope not registered: refused, not dropped."""
        allowed = scope_to_list(self.scope) or []
        if not scope:
            return " ".join(allowed)
        requested = scope_to_list(scope)
        refused = [s for s in requested if s not in allowed]
        if refused:
            raise InvalidScopeError(
                description="This client may not have: " + " ".join(sorted(refused))
            )
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret_hash or self.disabled_at is not None:
            return False
        return hmac.compare_digest(self.client_secret_hash, secret_digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.disabled_at is not None:
            return False
        if endpoint in ("token", "revocation"):
            # API.md promises both secret methods to every confidential client: they carry
            # the same secret, so allowing the body form weakens nothing. A public client
            # presents its id alone, at the token endpoint and to revoke its own tokens
            # (RFC 7009 2.1); what it can revoke is only what was issued to it.
            if self.client_secret_hash:
                return method in ("client_secret_basic", "client_secret_post")
            return method == "none"
        # introspection: confidential clients only
        return method in ("client_secret_basic", "client_secret_post") and bool(
            self.client_secret_hash
        )

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class OAuthAuthorizationCode(db.Model):
    __tablename__ = "oauth_authorization_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    redirect_uri: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    scope: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    code_challenge: Mapped[str] = mapped_column(String(128), nullable=False)
    code_challenge_method: Mapped[str] = mapped_column(String(8), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return utcnow() >= self.expires_at


class OAuthToken(db.Model, TokenMixin):
    __tablename__ = "oauth_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    #: The access token's scope.
    scope: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    #: The refresh token's: the grant as it was given, when a refresh asked for less for the
    #: access token (RFC 6749 6); NULL when the two are the same.
    grant_scope: Mapped[str | None] = mapped_column(String(1000))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    refresh_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refresh_revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Tokens issued by rotating one another share a family; reusing a rotated
    #: refresh token revokes the whole family (OAuth 2.0 Security BCP 4.14).
    family_id: Mapped[str] = mapped_column(String(32), nullable=False, default=new_id)

    client: Mapped[OAuthClient] = relationship(lazy="joined")
    organization: Mapped[Organization] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (Index("ix_oauth_tokens_family", "family_id"),)

    # --- Authlib TokenMixin --------------------------------------------------
    def check_client(self, client: OAuthClient) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        """The grant's scope, which Authlib reads of a refresh token only: what a refresh may
        ask for, and what it gets when it asks for nothing."""
        return self.grant_scope if self.grant_scope is not None else self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return utcnow() >= self.expires_at

    def is_revoked(self) -> bool:
        if self.revoked_at is not None or self.client.disabled_at is not None:
            return True
        return self.user is not None and not self.user.active

    def get_user(self) -> User | None:
        return self.user

    def get_client(self) -> OAuthClient:
        return self.client

    def introspection(self, issuer: str) -> dict[str, Any]:
        """RFC 7662 members for an active token; for a token acting for a person, the scopes
        that person's role lets it use (what the hub's own API would let it do)."""
        return self._introspection(issuer, self.scope)

    def _introspection(self, issuer: str, scope: str) -> dict[str, Any]:
        scopes = scope.split()
        if self.user is not None:
            scopes = grantable(scopes, self.user.role)
        out: dict[str, Any] = {
            "active": True,
            "client_id": self.client_id,
            "token_type": "Bearer",
            "scope": " ".join(scopes),
            "exp": int(self.expires_at.timestamp()),
            "iat": int(self.issued_at.timestamp()),
            "iss": issuer,
            "sub": self.user_id or self.client_id,
            "organization": self.organization.code,
        }
        if self.user is not None:
            out["username"] = self.user.email
        return out

    def refresh_introspection(self, issuer: str) -> dict[str, Any]:
        """The RFC 7662 members of the refresh token: the grant's scope, its own lifetime."""
        info = self._introspection(issuer, self.get_scope())
        info["token_type"] = "refresh_token"  # noqa: S105 (a token type, not a secret)
        if self.refresh_expires_at is not None:
            info["exp"] = int(self.refresh_expires_at.timestamp())
        return info
