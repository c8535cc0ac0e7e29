"""Creating users and signing them in."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import case, func, or_, select, update

from referral_hub.accounts import throttle
from referral_hub.accounts.models import LOCALES, ROLES, User
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.oauth.server import revoke_user_grants
from referral_hub.problems import Problem, register_problem
from referral_hub.transaction import commit_now

#: argon2id with the library's defaults (RFC 9106's second recommendation: 64 MiB, t=3).
_PRODUCTION_HASHER = PasswordHasher()
#: The test suite creates hundreds of users; there the cost is the smallest argon2 allows.
_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_DUMMY_HASHES: dict[int, str] = {}


def _hasher() -> PasswordHasher:
    """The hasher for this app: cheap only when HUB_ENV=test."""
    testing = has_app_context() and current_app.config.get("HUB_ENV") == "test"
    return _TEST_HASHER if testing else _PRODUCTION_HASHER


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A valid hash of nothing, checked when the e-mail is unknown so timing tells nothing."""
    key = id(hasher)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash("not-a-password")
    return _DUMMY_HASHES[key]


#: Wrong second-factor codes before the account is locked for LOCKOUT. Only someone who
#: knows the password reaches the code step, so a lock there locks no one out at will;
#: passwords are held back per address and source instead (accounts/throttle.py).
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: A work phone as people write it: "+62 812-3456-7890", "(0542) 733 123", "0812 3456 7890".
_WORK_PHONE = re.compile(r"^\+?[0-9(][0-9 ()\-.]{5,30}$")

CANNOT_DEACTIVATE_SELF = register_problem(
    "cannot-deactivate-self", "Nobody can deactivate their own account"
)
CANNOT_RESET_OWN_SECOND_FACTOR = register_problem(
    "cannot-reset-own-second-factor", "Nobody can reset their own second factor"
)


def hash_password(password: str) -> str:
    """argon2id hash of a password."""
    return _hasher().hash(password)


def require_org_admin(actor: Actor, organization_id: str) -> None:
    """Only the system, or an org_admin user of that organisation, administers its accounts."""
    if actor.is_system:
        return
    if (
        actor.kind != "user"
        or actor.role != "org_admin"
        or actor.organization_id != organization_id
    ):
        raise Problem(
            403,
            "forbidden",
            "Only an administrator of this organisation may do this.",
            reason="admin-only",
        )


def list_users(actor: Actor) -> list[User]:
    """The accounts of the actor's organisation, active first, by name."""
    require_org_admin(actor, actor.organization_id or "")
    return list(
        db.session.scalars(
            select(User)
            .where(User.organization_id == actor.organization_id)
            .order_by(User.active.desc(), func.lower(User.name), User.email)
        )
    )


def active_members(organization_id: str, roles: Collection[str]) -> list[User]:
    """The active users of the organisation with one of `roles`, by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organization_id == organization_id,
                User.active,
                User.role.in_(tuple(roles)),
            )
            .order_by(User.name)
        )
    )


def find_active_member(organization_id: str, ref: str, roles: Collection[str]) -> User | None:
    """The active user of the organisation with one of `roles` named by `ref` (an id or an
    e-mail); None when there is none."""
    user = db.session.get(User, ref)
    if user is None:
        user = db.session.scalar(select(User).where(User.email == ref.strip().lower()))
    if (
        user is None
        or not user.active
        or user.organization_id != organization_id
        or user.role not in roles
    ):
        return None
    return user


def _managed_user(actor: Actor, user_id: str) -> User:
    """A user the actor administers; another organisation's user is not found, not forbidden."""
    user = db.session.get(User, user_id)
    if user is None or (not actor.is_system and user.organization_id != actor.organization_id):
        raise Problem(404, "not-found", "No such user.", reason="no-user")
    require_org_admin(actor, user.organization_id)
    return user


def clean_work_phone(value: str | None, errors: dict[str, list[str]]) -> str | None:
    """A work phone as given (None when empty), or an error under `work_phone`. It is the
    number other organisations sharing an agreement call about a referral: staff contact,
    never a client's."""
    phone = " ".join((value or "").split())
    if not phone:
        return None
    if len(phone) > 32 or not _WORK_PHONE.match(phone) or sum(c.isdigit() for c in phone) < 6:
        errors["work_phone"] = [
            "Not a valid work phone: use digits, spaces, +, - and ( ), at most 32."
        ]
    return phone


def set_work_phone(actor: Actor, user_id: str, work_phone: str | None) -> User:
    """Set (or clear) a person's work phone, shown as the referral contact; the
    organisation's admin keeps it. Audited."""
    user = _managed_user(actor, user_id)
    errors: dict[str, list[str]] = {}
    phone = clean_work_phone(work_phone, errors)
    if errors:
        raise Problem(
            422,
            "validation-error",
            "The work phone cannot be saved.",
            errors=errors,
        )
    if phone == user.work_phone:
        return user
    user.work_phone = phone
    db.session.flush()
    audit.record(
        actor,
        "user.work_phone_changed",
        "user",
        user.id,
        {"email": user.email, "work_phone": phone},
        subject_organization_id=user.organization_id,
    )
    return user


def deactivate_user(actor: Actor, user_id: str) -> User:
    """Stop an account from signing in; its sessions and tokens end at once, and for good.

    Its tokens are revoked and its sessions' epoch raised, not merely refused while the
    account is inactive: reactivating it gives the person a clean start, and no app or
    browser that held a grant from before gets it back.
    """
    user = _managed_user(actor, user_id)
    if actor.user_id == user.id:
        raise Problem(409, CANNOT_DEACTIVATE_SELF, "You cannot deactivate your own account.")
    if not user.active:
        return user
    user.active = False
    user.session_epoch += 1
    revoke_user_grants(user.id)
    db.session.flush()
    audit.record(
        actor,
        "user.deactivated",
        "user",
        user.id,
        {"email": user.email},
        subject_organization_id=user.organization_id,
    )
    return user


def reactivate_user(actor: Actor, user_id: str) -> User:
    """Let a deactivated account sign in again, with a clean slate of failed attempts."""
    user = _managed_user(actor, user_id)
    if user.active:
        return user
    user.active = True
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    audit.record(
        actor,
        "user.reactivated",
        "user",
        user.id,
        {"email": user.email},
        subject_organization_id=user.organization_id,
    )
    return user


def unlock_user(actor: Actor, user_id: str) -> User:
    """Lift what holds a person back before it runs out (the person was verified): the holds
    on failed sign-ins at their address, from every source, and a second-factor lock."""
    user = _managed_user(actor, user_id)
    released = throttle.release_holds(user.email)
    if user.locked_until is None and user.failed_logins == 0 and not released:
        return user
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    audit.record(
        actor,
        "user.unlocked",
        "user",
        user.id,
        {"email": user.email, "released_counts": released},
        subject_organization_id=user.organization_id,
    )
    return user


def sign_in_holds(actor: Actor, users: list[User]) -> dict[str, dt.datetime]:
    """User id -> until when signing in is held back for them (from some source, or by a
    second-factor lock), for the users of the actor's organisation held now."""
    require_org_admin(actor, actor.organization_id or "")
    mine = [user for user in users if user.organization_id == actor.organization_id]
    by_email = throttle.held_sign_ins([user.email for user in mine])
    now = utcnow()
    holds: dict[str, dt.datetime] = {}
    for user in mine:
        ends = [t for t in (by_email.get(user.email), user.locked_until) if t and t > now]
        if ends:
            holds[user.id] = max(ends)
    return holds


def second_factor_resettable(actor: Actor, user_id: str) -> User:
    """A user whose second factor the actor may reset, not the actor: an org_admin resets
    the accounts of their own organisation, the hub operator's org_admin anyone's."""
    hub_admin = actor.kind == "user" and actor.role == "org_admin" and actor.is_hub_operator
    if hub_admin:
        user = db.session.get(User, user_id)
        if user is None:
            raise Problem(404, "not-found", "No such user.", reason="no-user")
    else:
        user = _managed_user(actor, user_id)
    if actor.user_id == user.id:
        raise Problem(
            409, CANNOT_RESET_OWN_SECOND_FACTOR, "You cannot reset your own second factor."
        )
    return user


def reset_second_factor(actor: Actor, user_id: str) -> User:
    """Forget a user's TOTP secret and recovery codes (the phone and the codes were lost).

    The user enrols afresh at the next sign-in, after the password; until then no code
    of the old authenticator and no old recovery code is taken. The user's open sessions
    end too: one may be on the lost phone.
    """
    user = second_factor_resettable(actor, user_id)
    if (
        user.totp_enrolled_at is None
        and user.totp_secret_enc is None
        and not user.totp_recovery_hashes
    ):
        return user
    unused_recovery_codes = len(user.totp_recovery_hashes or [])
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    user.totp_recovery_hashes = None
    user.session_epoch += 1
    db.session.flush()
    audit.record(
        actor,
        "totp.reset",
        "user",
        user.id,
        {"email": user.email, "unused_recovery_codes": unused_recovery_codes},
        subject_organization_id=user.organization_id,
    )
    return user


def set_locale(actor: Actor, locale: str) -> None:
    """Remember the signed-in user's portal language."""
    if locale not in LOCALES:
        raise Problem(
            422,
            "validation-error",
            "Unknown language.",
            errors={"locale": [f"Must be one of: {', '.join(LOCALES)}."]},
        )
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    if user is None or user.locale == locale:
        return
    user.locale = locale
    db.session.flush()
    audit.record(actor, "user.locale_changed", "user", user.id, {"locale": locale})


def create_user(
    actor: Actor,
    *,
    organization: str,
    email: str,
    role: str,
    password: str,
    name: str | None = None,
    work_phone: str | None = None,
) -> User:
    """Create a staff account in an organisation; refuse weak passwords and duplicates."""
    email = email.strip().lower()
    errors: dict[str, list[str]] = {}
    phone = clean_work_phone(work_phone, errors)
    if not _EMAIL.match(email):
        errors["email"] = ["Not a valid e-mail address."]
    if role not in ROLES:
        errors["role"] = [f"Must be one of: {', '.join(ROLES)}."]
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"At least {MIN_PASSWORD_LENGTH} characters."]
    org = find_organization(organization)
    if org is None:
        errors["organization"] = [f"No organisation '{organization}'."]
    else:
        require_org_admin(actor, org.id)
    if not errors and db.session.scalar(select(func.count()).where(User.email == email)):
        errors["email"] = ["A user with this e-mail exists."]
    if errors:
        raise Problem(422, "validation-error", "The user cannot be created.", errors=errors)
    user = User(
        organization_id=org.id,
        email=email,
        name=name or email.split("@")[0],
        role=role,
        password_hash=hash_password(password),
        work_phone=phone,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor,
        "user.created",
        "user",
        user.id,
        {"email": email, "role": role, "organization": org.code},
        subject_organization_id=org.id,
    )
    return user


class SignInRefused(Exception):
    """Wrong credentials or a locked account; the message is safe to show."""

    def __init__(self, message: str, locked_until: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


class SignInHeld(SignInRefused):
    """Too many failed sign-ins at this address from this source, or from this source: try
    again after `held_until`. Said alike of every address, whether it has an account or not."""

    def __init__(self, held_until: dt.datetime) -> None:
        super().__init__("Too many failed sign-ins; try again later.")
        self.held_until = held_until


def _count_attempt(user_id: str, now: dt.datetime) -> int | None:
    """Count a second-factor attempt before its code is checked; None while the account is
    locked.

    One atomic UPDATE per attempt: parallel guesses each get their own number, so no more
    than MAX_FAILED_LOGINS codes are ever checked per lock. A lock that has run out
    starts a fresh count, so one typo afterwards does not lock the account again.
    """
    lock_ran_out = User.locked_until.is_not(None) & (User.locked_until <= now)
    attempt = db.session.execute(
        update(User)
        .where(User.id == user_id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(
            failed_logins=case((lock_ran_out, 1), else_=User.failed_logins + 1),
            locked_until=None,
        )
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar()
    commit_now()  # counted even if the check below never finishes
    return attempt


def sign_in(
    email: str, password: str, *, source: str = "portal", address: str | None = None
) -> User:
    """Check a password, holding back repeated failures per address and source. Audited.

    `address` is the source address of the attempt (the caller's IP). Known and unknown
    e-mail addresses go through the same steps: counted, held alike, one argon2 verification
    each (against a dummy hash when there is no active account), the same refusals.
    """
    email = (email or "").strip().lower()[:254]
    address = (address or "unknown")[:64]
    hasher = _hasher()
    dummy = _dummy_hash(hasher)  # made before anything is timed, known address or not
    now = utcnow()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None and not user.active:
        user = None
    actor = Actor.for_user(user) if user is not None else Actor.system(label=source)
    subject = user.id if user is not None else None
    attempt = throttle.count_attempt(email, address, now)
    if attempt.refused:
        if attempt.first_refusal:
            # One entry per hold: an attacker hammering a held address cannot grow the log.
            audit.record(
                actor,
                "signin.throttled",
                "user",
                subject,
                _signin_detail(user, email, address, held_until=attempt.held_until),
            )
        commit_now()  # the count (and the hold's audit) stand with the refusal
        raise SignInHeld(attempt.held_until)
    # Read before the commit expires the row: no query on one path that the other lacks.
    stored = user.password_hash if user is not None else dummy
    commit_now()  # counted even if the check below never finishes
    try:
        hasher.verify(stored, password or "")
        if user is None:
            raise VerificationError("no such active account")
    except (VerificationError, InvalidHashError):
        source_hold = throttle.count_failure(address, now)
        held_until = max(
            (t for t in (attempt.held_until, source_hold) if t is not None), default=None
        )
        detail = _signin_detail(user, email, address, attempt=attempt.number)
        if held_until is not None:
            detail["held_until"] = held_until.isoformat()
        audit.record(actor, "signin.failed", "user", subject, detail)
        commit_now()  # the failure and its audit stand with the refusal
        if held_until is not None:
            raise SignInHeld(held_until) from None
        raise SignInRefused("E-mail atau kata sandi salah.") from None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.sign_in_succeeded(email, address)
    audit.record(actor, "signin.succeeded", "user", user.id, {"source": source, "address": address})
    return user


def _signin_detail(user: User | None, email: str, address: str, **extra) -> dict:
    """What a sign-in entry says: the source address, and the e-mail typed when it names no
    account (a known account is the entry's object). Never the password."""
    detail: dict = {"address": address, **extra}
    if user is None:
        detail = {"email": email, "reason": "unknown", **detail}
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in detail.items()}
