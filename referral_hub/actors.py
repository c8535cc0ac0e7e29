"""Who is acting: every operation takes one explicitly instead of reading the request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from referral_hub.permissions import permits

if TYPE_CHECKING:
    from referral_hub.accounts.models import User
    from referral_hub.directory.models import Organization
    from referral_hub.oauth.models import OAuthClient


@dataclass(frozen=True)
class Actor:
    """A user, an OAuth client acting for its organisation, or the system itself."""

    organization_id: str | None
    user_id: str | None = None
    client_id: str | None = None
    role: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    #: "user" (portal), "client" (OAuth token), "system" (CLI, jobs)
    kind: str = "user"
    label: str | None = None
    organization_type: str | None = None

    @classmethod
    def for_user(cls, user: User) -> Actor:
        """A person signed in to the portal, acting for their organisation by their role."""
        return cls(
            organization_id=user.organization_id,
            user_id=user.id,
            role=user.role,
            kind="user",
            label=user.email,
            organization_type=user.organization.type,
        )

    @classmethod
    def for_client(cls, client: OAuthClient, user: User | None = None) -> Actor:
        """An OAuth client with its registered scopes, acting for `user` when its grant has one
        (then that person's role bounds it too)."""
        return cls(
            organization_id=client.organization_id,
            user_id=user.id if user is not None else None,
            client_id=client.client_id,
            role=user.role if user is not None else None,
            scopes=frozenset(client.scope.split()),
            kind="client",
            label=client.name,
            organization_type=client.organization.type,
        )

    @classmethod
    def for_organization(cls, organization: Organization, label: str) -> Actor:
        """The hub acting inside one organisation (demo data, a recipient's preview)."""
        return cls(
            organization_id=organization.id,
            kind="system",
            label=label,
            organization_type=organization.type,
        )

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """The hub itself: command line, scheduled jobs, migrations."""
        return cls(organization_id=None, kind="system", label=label)

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    @property
    def is_hub_operator(self) -> bool:
        return self.organization_type == "hub_operator"

    @property
    def acts_for_user(self) -> bool:
        """A token issued to an app acting for a person (authorization code grant)."""
        return self.kind == "client" and self.user_id is not None

    def has_scope(self, scope: str) -> bool:
        """Whether this party may do what `scope` names: a portal user by role, a token by its
        scopes and, when it acts for a person, that person's role too (permissions.py)."""
        return permits(self, scope)
