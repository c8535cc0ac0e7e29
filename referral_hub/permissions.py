"""What each role may do: the one rule behind the portal's pages and behind tokens acting for users.

A permission is named like the API scope that asks for it. Who may do what:

- a portal user: what the user's role carries (`ROLE_PERMISSIONS`);
- a token of a partner system (client credentials): what its scopes say;
- a token acting for a user (authorization code): only what both its scopes and that user's
  role allow, so an app can never do more for a person than the person can in the portal;
- the hub itself (command line, jobs): everything.

The API checks a token here before a view runs (`oauth.server.authenticate`), the portal
checks its pages here (`portal.access.login_required(permission=...)`), and the operations
ask again (`permits`), so a rule is written once and every way in reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set
from typing import Protocol


class Acting(Protocol):
    """What the rule reads of an acting party (`actors.Actor`, which asks this module)."""

    kind: str
    role: str | None
    user_id: str | None
    scopes: Set[str]


ROLES = ("caseworker", "supervisor", "org_admin", "auditor")

#: What a caseworker does: keeps the unit's clients and their consent, sends referrals and
#: answers the ones received, and reads the agreements and the directory they go along.
_CASEWORK = frozenset(
    {
        "directory:read",
        "agreements:read",
        "clients:read",
        "clients:write",
        "referrals:read",
        "referrals:write",
        "referrals:respond",
        "events:read",
        # The intake and case parts of the contract (API.md) are casework too.
        "intakes:read",
        "intakes:write",
        "cases:read",
        "cases:write",
    }
)

#: Role -> the permissions it carries. An administrator runs the organisation's presence on
#: the hub (agreements, webhooks, the directory entry, the audit trail) but never reads or
#: moves a client's personal data; an auditor reads the record and changes nothing.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "caseworker": _CASEWORK,
    # Erasing a client (UU PDP) is a supervisor's or an administrator's act (API.md); the
    # administrator erases without reading: the confirmation shows the client's code only.
    "supervisor": _CASEWORK | {"agreements:write", "reports:read", "clients:erase"},
    "org_admin": frozenset(
        {
            "clients:erase",
            "directory:read",
            "directory:write",
            "agreements:read",
            "agreements:write",
            "events:read",
            "webhooks:write",
            "audit:read",
            "reports:read",
        }
    ),
    "auditor": frozenset(
        {"directory:read", "agreements:read", "events:read", "audit:read", "reports:read"}
    ),
}

#: Every permission some role carries: a scope missing here is one no person may use.
PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values())


def role_permits(role: str | None, permission: str) -> bool:
    """Whether a person of this role may do what `permission` names (no role: nothing)."""
    return permission in ROLE_PERMISSIONS.get(role or "", frozenset())


def roles_with(permission: str) -> tuple[str, ...]:
    """The roles that carry `permission`, in the order of ROLES."""
    return tuple(role for role in ROLES if role_permits(role, permission))


def holders(permission: str) -> Callable[[object], bool]:
    """A test of a user (anything with a `role`) for `permission`: for menus and panels."""

    def test(user: object) -> bool:
        return role_permits(getattr(user, "role", None), permission)

    test.__name__ = f"holders_of_{permission.replace(':', '_')}"
    return test


def permits(actor: Acting, permission: str) -> bool:
    """Whether the acting party may do what `permission` names (see the module's rule)."""
    if actor.kind == "system":
        return True
    if actor.kind == "client":
        if permission not in actor.scopes:
            return False
        # A token acting for a person is bounded by that person's role.
        return actor.user_id is None or role_permits(actor.role, permission)
    return role_permits(actor.role, permission)


def grantable(scopes: Iterable[str], role: str | None) -> list[str]:
    """Of `scopes`, those a person of this role can hand to an app (in the given order)."""
    return [scope for scope in dict.fromkeys(scopes) if role_permits(role, scope)]
