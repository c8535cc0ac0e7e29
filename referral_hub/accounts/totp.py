"""The second factor of org_admin and auditor accounts: TOTP codes (RFC 6238) and recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp

from referral_hub.accounts.models import User
from referral_hub.accounts.operations import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    SignInRefused,
    _count_attempt,
)
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.transaction import commit_now

ISSUER = "Referral hub"
STEP_SECONDS = 30
#: Codes of the step before and after are taken too: phones' clocks drift.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


class SecondFactorRefused(SignInRefused):
    """A wrong, reused or unconfirmed code; `reason` is wrong, reused or mismatch."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def new_secret() -> str:
    """A fresh random base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _normalise(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step within the drift window whose code this is, or None."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash_recovery(code: str) -> str:
    # The codes are random (50 bits each) and single-use: a fast hash is enough.
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def enrol(user: User, secret: str, code: str, *, now: float | None = None) -> list[str]:
    """Confirm a secret with a current code, store it encrypted; return new recovery codes."""
    now = utcnow().timestamp() if now is None else now
    step = _matching_step(secret, _normalise(code), now)
    if step is None:
        audit.record(Actor.for_user(user), "totp.enrolment_failed", "user", user.id, {})
        commit_now()  # the failed enrolment is audited, though refused
        raise SecondFactorRefused("mismatch", "The code does not match the secret.")
    codes = _new_recovery_codes()
    user.totp_secret = secret
    user.totp_last_step = step
    user.totp_enrolled_at = utcnow()
    user.totp_recovery_hashes = [_hash_recovery(c) for c in codes]
    # A confirmed code is as good as the second factor at sign-in: the count of the
    # password's attempts, kept running until then, starts afresh.
    user.failed_logins = 0
    user.locked_until = None
    audit.record(Actor.for_user(user), "totp.enrolled", "user", user.id, {})
    return codes


def enrol_fixed(actor: Actor, user: User, secret: str) -> None:
    """Enrol with a known, published secret without a code (demo and test accounts only)."""
    user.totp_secret = secret
    user.totp_last_step = None
    user.totp_enrolled_at = utcnow()
    user.totp_recovery_hashes = []
    audit.record(actor, "totp.enrolled", "user", user.id, {"fixed_secret": True})


def verify_second_factor(user: User, code: str, *, now: float | None = None) -> None:
    """Check a TOTP or recovery code; failures count towards the same lockout as passwords."""
    now_dt = utcnow()
    now = now_dt.timestamp() if now is None else now
    actor = Actor.for_user(user)
    attempt = _count_attempt(user.id, now_dt)
    if attempt is None or attempt > MAX_FAILED_LOGINS:
        db.session.refresh(user)
        if user.locked_until is None or user.locked_until <= now_dt:
            user.locked_until = now_dt + LOCKOUT
        audit.record(actor, "signin.refused_locked", "user", user.id, {"step": "totp"})
        commit_now()  # the lock and its audit stand with the refusal
        raise SignInRefused(
            "Akun dikunci sementara karena terlalu banyak percobaan.", user.locked_until
        )
    db.session.refresh(user)
    normalised = _normalise(code)
    step = _matching_step(user.totp_secret or "", normalised, now)
    reused = step is not None and user.totp_last_step is not None and step <= user.totp_last_step
    recovery = None
    if step is None:
        hashed = _hash_recovery(normalised)
        remaining = list(user.totp_recovery_hashes or [])
        recovery = next((h for h in remaining if hmac.compare_digest(h, hashed)), None)
        if recovery is not None and normalised:
            remaining.remove(recovery)
            user.totp_recovery_hashes = remaining
    if (step is None and recovery is None) or reused:
        detail = {"failed_logins": attempt, "reason": "reused" if reused else "wrong"}
        if attempt >= MAX_FAILED_LOGINS:
            user.locked_until = now_dt + LOCKOUT
            detail["locked_until"] = user.locked_until.isoformat()
        audit.record(actor, "signin.second_factor_failed", "user", user.id, detail)
        commit_now()  # the failure (a lock, a used recovery code) stands with the refusal
        if user.locked_until is not None and user.locked_until > now_dt:
            raise SignInRefused(
                "Akun dikunci sementara karena terlalu banyak percobaan.", user.locked_until
            )
        raise SecondFactorRefused(
            "reused" if reused else "wrong",
            "This code was used already." if reused else "The code is wrong.",
        )
    if step is not None:
        user.totp_last_step = step
    user.failed_logins = 0
    user.locked_until = None
    audit.record(
        actor,
        "signin.second_factor_succeeded",
        "user",
        user.id,
        {"method": "totp" if step is not None else "recovery_code"},
    )
