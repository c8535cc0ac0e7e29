"""Who may open a portal page: signed in, with the permission it needs, of the right
organisation type.

A page names the permission it needs (`login_required(permission="clients:read")`), which
referral_hub/permissions.py decides per role: the rule that also bounds a token acting for
the same person, so the portal and the API cannot drift apart. The page check only decides
what to show; every change is still checked again by the operation it calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import g, redirect, request, url_for

from referral_hub.accounts.models import User
from referral_hub.accounts.session import current_user
from referral_hub.actors import Actor
from referral_hub.permissions import role_permits
from referral_hub.problems import Problem


@dataclass(frozen=True)
class Access:
    """The permission, roles and organisation types a page admits; None admits any."""

    roles: frozenset[str] | None = None
    org_types: frozenset[str] | None = None
    permission: str | None = None

    def allows(self, user: User | None) -> bool:
        """Whether this user may open the page."""
        if user is None:
            return False
        if self.permission is not None and not role_permits(user.role, self.permission):
            return False
        if self.roles is not None and user.role not in self.roles:
            return False
        return self.org_types is None or user.organization.type in self.org_types


def _as_set(values: Iterable[str] | str | None) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return frozenset({values})
    return frozenset(values)


def login_required(
    roles: Iterable[str] | str | Callable[..., Any] | None = None,
    org_types: Iterable[str] | str | None = None,
    *,
    permission: str | None = None,
):
    """Page decorator: sign-in first (back here afterwards), then permission (or role) and
    organisation type.

    Use as `@login_required`, `@login_required()` or
    `@login_required(permission="clients:read", org_types=("uptd_ppa",))`; `roles` is for
    what no permission names yet (account administration). A signed-out
    visitor is sent to /login?next=<this page>; a signed-in user without access gets 403.
    The rule is kept on the view (`view.portal_access`) so navigation shows only
    the pages the user may open.
    """
    if callable(roles):
        return login_required()(roles)
    access = Access(_as_set(roles), _as_set(org_types), permission)  # type: ignore[arg-type]

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("accounts.login", next=_return_path()))
            if not access.allows(user):
                raise Problem(
                    403,
                    "forbidden",
                    "This page is not open to your role.",
                    reason="page-not-for-role",
                )
            return view(*args, **kwargs)

        wrapped.portal_access = access  # type: ignore[attr-defined]
        return wrapped

    return decorator


def _return_path() -> str | None:
    """Where to come back after signing in: this page, for a GET."""
    if request.method != "GET":
        return None
    path = request.full_path
    return path[:-1] if path.endswith("?") else path


def portal_actor() -> Actor:
    """The acting party of the signed-in user (call only behind login_required)."""
    if "portal_actor" not in g:
        user = current_user()
        if user is None:
            raise Problem(401, "unauthorized", "Sign in first.")
        g.portal_actor = Actor.for_user(user)
    return g.portal_actor


def endpoint_access(view: Callable[..., Any] | None) -> Access | None:
    """The access rule a view declared with login_required, if any."""
    return getattr(view, "portal_access", None)
