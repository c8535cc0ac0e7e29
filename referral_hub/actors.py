"""Who is acting: every operation takes one explicitly instead of reading the request."""

from __future__ import annotations

from dataclasses import dataclass, field

from referral_hub.permissions import permits


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
