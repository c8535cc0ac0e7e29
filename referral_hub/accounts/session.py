"""The signed-in portal user, kept in the signed session cookie by id only."""

from __future__ import annotations

import time

from flask import g, session
from sqlalchemy import update

from referral_hub.accounts.models import User
from referral_hub.extensions import db

#: However active, a session ends this long after sign-in (idle expiry is
#: PERMANENT_SESSION_LIFETIME, renewed on every request).
ABSOLUTE_SESSION_SECONDS = 12 * 3600
#: Time between the password and the second factor's code.
SECOND_FACTOR_SECONDS = 5 * 60


def login_user(user: User) -> None:
    """Start a fresh session for the user (a new session id against fixation)."""
    session.clear()
    session["user_id"] = user.id
    session["signed_in_at"] = int(time.time())
    session["epoch"] = user.session_epoch
    session.permanent = True


def start_second_factor(user: User) -> None:
    """Remember, in a fresh session, who passed the password; nobody is signed in yet."""
    session.clear()
    session["pending_user_id"] = user.id
    session["pending_at"] = int(time.time())


def pending_user() -> User | None:
    """The user between password and code, if the password was given recently."""
    user_id = session.get("pending_user_id")
    started = session.get("pending_at")
    if not user_id or not isinstance(started, int):
        return None
    if time.time() - started > SECOND_FACTOR_SECONDS:
        session.pop("pending_user_id", None)
        session.pop("pending_at", None)
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def logout_user(user: User | None = None) -> None:
    """End the session; with the user, end every session of theirs (the caller commits):
    the cookie is the session, so a copy of it would otherwise outlive the sign-out."""
    if user is not None:
        db.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(session_epoch=User.session_epoch + 1)
            .execution_options(synchronize_session=False)
        )
    session.clear()
    g.pop("current_user", None)


def current_user() -> User | None:
    """The signed-in, active user, or None."""
    if "current_user" not in g:
        user_id = session.get("user_id")
        signed_in_at = session.get("signed_in_at")
        if user_id and (
            not isinstance(signed_in_at, int)
            or time.time() - signed_in_at > ABSOLUTE_SESSION_SECONDS
        ):
            session.clear()
            user_id = None
        user = db.session.get(User, user_id) if user_id else None
        if user is not None and session.get("epoch") != user.session_epoch:
            session.clear()  # signed out since: this is a copy of an ended session
            user = None
        g.current_user = user if user is not None and user.active else None
    return g.current_user
