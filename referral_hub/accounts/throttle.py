"""Holds on failed sign-ins: per (e-mail address, source address), and per source address.

Locking an account after failures let anyone lock anyone out (the e-mail address is enough)
and told known from unknown addresses (only a real account could be locked). Instead:

- every attempt at an e-mail address from a source address is counted before its password is
  checked (atomically: parallel guesses each get their own number); from the
  ADDRESS_ALLOWANCE-th on, that pair is held for a while, doubling each time up to
  LONGEST_HOLD. The owner elsewhere is not held; a success from the pair clears its count;
- failures from a source address, whatever e-mail they name, are counted too; past
  SOURCE_ALLOWANCE within QUIET_RESET the source is held (one machine trying many
  addresses). Successes do not lower this count: a valid account would otherwise let its
  holder spray guesses between its own sign-ins;
- none of this depends on whether the address belongs to an account: the same answers, in
  the same sequence, with the same argon2 work.

The counts live in the database (`referral_hub.attempts`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select

from referral_hub.attempts import QUIET_RESET, AttemptCounter, CounterRef, digest, lock_counters
from referral_hub.db import utcnow
from referral_hub.extensions import db

#: Attempts at one e-mail address from one source before that pair is held.
ADDRESS_ALLOWANCE = 5
#: Failed sign-ins from one source (any e-mail addresses) within QUIET_RESET before the
#: source is held. An office behind one public address shares it: keep it generous.
SOURCE_ALLOWANCE = 30
FIRST_HOLD = dt.timedelta(minutes=1)
LONGEST_HOLD = dt.timedelta(minutes=15)

__all__ = [
    "ADDRESS_ALLOWANCE",
    "QUIET_RESET",
    "SOURCE_ALLOWANCE",
    "Attempt",
    "count_attempt",
    "count_failure",
    "held_sign_ins",
    "release_holds",
    "sign_in_held_until",
    "sign_in_succeeded",
]


def _hold(count: int, allowance: int) -> dt.timedelta:
    """FIRST_HOLD at the allowance, doubling with each attempt past it, at most LONGEST_HOLD."""
    steps = min(count - allowance, 10)
    return min(FIRST_HOLD * 2**steps, LONGEST_HOLD)


def _normal(email: str) -> str:
    return (email or "").strip().lower()[:254]


def _address_ref(email: str, source: str) -> CounterRef:
    return CounterRef("signin_address", (_normal(email), source), subject=digest(_normal(email)))


def _source_ref(source: str) -> CounterRef:
    return CounterRef("signin_source", (source,))


@dataclass(frozen=True)
class Attempt:
    """What counting an attempt decided.

    `refused`: held, the password is not to be checked; `first_refusal`: the first refusal of
    its hold (the one audited). Otherwise `number` is the attempt's number for its pair, and
    `held_until` is set when this very attempt started a hold of the pair.
    """

    number: int
    refused: bool = False
    first_refusal: bool = False
    held_until: dt.datetime | None = None


def _forget_stale(address: AttemptCounter | None, source: AttemptCounter, now: dt.datetime):
    # The pair's count lasts while attempts go on; the source's is a window of QUIET_RESET.
    if address is not None and address.last_at <= now - QUIET_RESET and not address.held(now):
        address.restart(now)
    if source.started_at <= now - QUIET_RESET and not source.held(now):
        source.restart(now)


def count_attempt(email: str, source: str, now: dt.datetime | None = None) -> Attempt:
    """Count an attempt before its password is checked, or refuse it while held.

    The caller commits at once (before checking the password), so attempts in parallel see
    each other's counts.
    """
    now = now or utcnow()
    address, from_source = lock_counters([_address_ref(email, source), _source_ref(source)], now)
    _forget_stale(address, from_source, now)
    held = [row for row in (address, from_source) if row.held(now)]
    if held:
        first = any(row.refused == 0 for row in held)
        for row in held:
            row.refused += 1
            row.last_at = now
        until = max(row.held_until for row in held if row.held_until is not None)
        return Attempt(address.count, refused=True, first_refusal=first, held_until=until)
    address.count += 1
    address.last_at = now
    from_source.last_at = now
    if address.count >= ADDRESS_ALLOWANCE:
        address.held_until = now + _hold(address.count, ADDRESS_ALLOWANCE)
        address.refused = 0
        return Attempt(address.count, held_until=address.held_until)
    return Attempt(address.count)


def count_failure(source: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """Count a failed sign-in against its source; the end of the hold it started, if any."""
    now = now or utcnow()
    (from_source,) = lock_counters([_source_ref(source)], now)
    _forget_stale(None, from_source, now)
    from_source.count += 1
    from_source.last_at = now
    if from_source.count >= SOURCE_ALLOWANCE and not from_source.held(now):
        from_source.held_until = now + _hold(from_source.count, SOURCE_ALLOWANCE)
        from_source.refused = 0
        return from_source.held_until
    return None


def sign_in_succeeded(email: str, source: str) -> None:
    """A right password from this source: its count for the address starts afresh."""
    db.session.execute(
        delete(AttemptCounter)
        .where(AttemptCounter.key == _address_ref(email, source).key)
        .execution_options(synchronize_session=False)
    )


def sign_in_held_until(email: str, source: str) -> dt.datetime | None:
    """Until when sign-ins at `email` from `source` are refused, if they are now."""
    now = utcnow()
    keys = [_address_ref(email, source).key, _source_ref(source).key]
    ends = db.session.scalars(
        select(AttemptCounter.held_until).where(
            AttemptCounter.key.in_(keys), AttemptCounter.held_until > now
        )
    ).all()
    return max(ends) if ends else None


def held_sign_ins(emails: list[str]) -> dict[str, dt.datetime]:
    """E-mail address -> until when it is held from some source, for those held now."""
    by_subject = {digest(_normal(email)): email for email in emails}
    if not by_subject:
        return {}
    held: dict[str, dt.datetime] = {}
    rows = db.session.execute(
        select(AttemptCounter.subject, AttemptCounter.held_until).where(
            AttemptCounter.subject.in_(list(by_subject)), AttemptCounter.held_until > utcnow()
        )
    )
    for subject, until in rows:
        email = by_subject[subject]
        held[email] = max(until, held.get(email, until))
    return held


def release_holds(email: str) -> int:
    """Forget every count and hold of one e-mail address, from every source (an
    administrator verified the person). Source holds stay: they are not about this person."""
    return db.session.execute(
        delete(AttemptCounter)
        .where(
            AttemptCounter.kind == "signin_address",
            AttemptCounter.subject == digest(_normal(email)),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
