"""The role table: every scope decided, and the lines no role may cross."""

from __future__ import annotations

import pytest

from referral_hub.accounts.models import ROLES
from referral_hub.actors import Actor
from referral_hub.oauth.scopes import SCOPES
from referral_hub.permissions import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    grantable,
    permits,
    role_permits,
    roles_with,
)

PERSONAL_DATA = {"clients:read", "clients:write", "referrals:write", "referrals:respond"}


def test_the_table_covers_every_role_and_every_scope():
    assert set(ROLE_PERMISSIONS) == set(ROLES)
    # A scope no role carries would be unusable by every person's app: decide it first.
    assert set(SCOPES) <= PERMISSIONS


def test_an_auditor_never_writes_and_an_admin_never_touches_personal_data():
    assert not [p for p in ROLE_PERMISSIONS["auditor"] if not p.endswith(":read")]
    assert not ROLE_PERMISSIONS["auditor"] & {"clients:read", "referrals:read"}
    assert not ROLE_PERMISSIONS["org_admin"] & (PERSONAL_DATA | {"referrals:read"})
    assert "webhooks:write" not in ROLE_PERMISSIONS["caseworker"]
    assert roles_with("clients:read") == ("caseworker", "supervisor")


def _client(scopes: str, role: str | None = None, user_id: str | None = None) -> Actor:
    return Actor(
        organization_id="o",
        user_id=user_id,
        role=role,
        scopes=frozenset(scopes.split()),
        kind="client",
    )


@pytest.mark.parametrize(
    ("actor", "permission", "allowed"),
    [
        # a partner system: its scopes alone
        (_client("webhooks:write"), "webhooks:write", True),
        (_client("clients:read"), "webhooks:write", False),
        # an app acting for a person: scopes and role both
        (_client("webhooks:write", "caseworker", "u"), "webhooks:write", False),
        (_client("webhooks:write", "org_admin", "u"), "webhooks:write", True),
        (_client("clients:read", "org_admin", "u"), "clients:read", False),
        (_client("directory:read", "caseworker", "u"), "clients:read", False),
        # a portal user: the role
        (Actor(organization_id="o", user_id="u", role="caseworker"), "clients:read", True),
        (Actor(organization_id="o", user_id="u", role="auditor"), "clients:read", False),
        (Actor(organization_id="o", user_id="u", role=None), "directory:read", False),
        # the hub itself
        (Actor.system(), "clients:write", True),
    ],
)
def test_permits(actor, permission, allowed):
    assert permits(actor, permission) is allowed
    assert actor.has_scope(permission) is allowed


def test_a_person_grants_an_app_only_what_the_role_carries():
    asked = ["referrals:write", "webhooks:write", "clients:read", "webhooks:write"]
    assert grantable(asked, "org_admin") == ["webhooks:write"]
    assert grantable(asked, "caseworker") == ["referrals:write", "clients:read"]
    assert grantable(asked, None) == []
    assert not role_permits("nobody", "directory:read")
