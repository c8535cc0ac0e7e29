"""The signed-in portal user, kept in the signed session cookie by id only."""

from __future__ import annotations

from flask import g, session

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.extensions import db


def login_user(user: User) -> None:
    """Start a fresh session for the user (a new session id against fixation)."""
    session.clear()
    session["user_id"] = user.id
    session.permanent = True


def logout_user() -> None:
    session.clear()


def current_user() -> User | None:
    """The signed-in, active user, or None."""
    if "current_user" not in g:
        user_id = session.get("user_id")
        user = db.session.get(User, user_id) if user_id else None
        g.current_user = user if user is not None and user.active else None
    return g.current_user


def user_actor(user: User) -> Actor:
    """The actor behind a portal user."""
    return Actor(
        organization_id=user.organization_id,
        user_id=user.id,
        role=user.role,
        kind="user",
        label=user.email,
        organization_type=user.organization.type,
    )
