"""The transactional outbox: events are rows written with the change they report.

`emit()` adds an Event to the caller's transaction. Just before that transaction commits, its
events get their feed positions under a lock held until the commit ends, so positions are
handed out in commit order: a reader that has seen position N can never later find a new
event below N (a plain sequence would allow that, as PostgreSQL assigns sequence values at
insert while transactions commit in any order). After the commit, the dispatch of the
committed events (and the sending of notifications) is handed to the job queue; if that hand-off
fails (Redis down, process killed), the outbox sweeper finds the rows and does it later.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

# Imported first so the audit chain's before_commit hook is registered before this module's:
# every process then takes the audit lock before the feed lock, never the other way round.
import referral_hub.audit.operations  # noqa: F401
from referral_hub.actors import Actor
from referral_hub.db import isoformat, new_id, utcnow
from referral_hub.delivery.models import Event, EventAudience
from referral_hub.extensions import db

log = logging.getLogger(__name__)

#: The event types of API.md; emit() refuses any other.
EVENT_TYPES = (
    "referral.requested",
    "referral.accepted",
    "referral.rejected",
    "referral.cancelled",
    "referral.status_changed",
    "referral.overdue",
    "appointment.scheduled",
    "agreement.signed",
    "agreement.activated",
    "agreement.expiring",
    "agreement.expired",
    "consent.withdrawn",
    "audit.checkpoint",
    "case.follow_up_due",
    # Sent to one subscription when its owner asks (POST /api/v1/webhooks/{id}/ping); never
    # in the feed, whatever the subscription's `events`.
    "webhook.ping",
)

#: Where the detail of a subject is fetched (the `links.self` of feed items and payloads).
SUBJECT_PATHS = {
    "referral": "/api/v1/referrals/{id}",
    "agreement": "/api/v1/agreements/{id}",
    "client": "/api/v1/clients/{id}",
    "case": "/api/v1/cases/{id}",
    "consent": "/api/v1/consents/{id}",
    "audit_checkpoint": "/api/v1/audit/checkpoints",
    "webhook": "/api/v1/webhooks/{id}",
}

#: Keys that name personal data; an event carrying one is refused (also as a suffix "_name"...).
PERSONAL_DATA_KEYS = frozenset(
    {
        "name",
        "full_name",
        "first_name",
        "last_name",
        "nickname",
        "nik",
        "phone",
        "mobile",
        "address",
        "birth_date",
        "date_of_birth",
        "dob",
        "guardian",
        "email",
        "contact",
        "giver_name",
        "signatories",
    }
)
#: Keys that people fill with free text; in an event they may only hold a code
#: ("consent_withdrawn", "no_capacity"), never the words someone typed.
FREE_TEXT_KEYS = frozenset(
    {"reason", "summary", "note", "notes", "justification", "chronology", "description"}
)
_CODE = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,63}")
_PERSONAL_SUFFIXES = ("_name", "_nik", "_phone", "_email", "_address", "_birth_date")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_NIK = re.compile(r"\d{16}")
_PHONE = re.compile(r"(?:\+?62|0)8\d{7,11}")
_SEPARATORS = re.compile(r"[\s.\-()/]")
#: Free text has no place in an event: ids, numbers, statuses and links are short.
MAX_STRING = 300
MAX_DEPTH = 4
MAX_ITEMS = 100

_PENDING_EVENTS = "delivery_pending_events"
_PENDING_JOBS = "delivery_pending_jobs"
_COMMITTED = "delivery_committed"
#: pg_advisory_xact_lock key that serialises feed positions ("EVNT").
_FEED_LOCK_KEY = 0x45564E54


class PersonalDataInEvent(ValueError):
    """An event's data holds what looks like personal data; events carry none."""


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in event data")
        return isoformat(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in event data")


def _check_value(path: str, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise PersonalDataInEvent(f"{path}: nested too deep for an event")
    if isinstance(value, dict):
        for key, inner in value.items():
            name = str(key).lower()
            if name in PERSONAL_DATA_KEYS or name.endswith(_PERSONAL_SUFFIXES):
                raise PersonalDataInEvent(f"{path}.{key}: events carry no personal data")
            if name in FREE_TEXT_KEYS and not (
                inner is None or (isinstance(inner, str) and _CODE.fullmatch(inner))
            ):
                raise PersonalDataInEvent(f"{path}.{key}: only a code, never free text")
            _check_value(f"{path}.{key}", inner, depth + 1)
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise PersonalDataInEvent(f"{path}: more than {MAX_ITEMS} items")
        for index, inner in enumerate(value):
            _check_value(f"{path}[{index}]", inner, depth + 1)
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            raise PersonalDataInEvent(f"{path}: free text is not allowed in events")
        bare = _SEPARATORS.sub("", value)
        if _EMAIL.search(value) or _NIK.fullmatch(bare) or _PHONE.fullmatch(bare):
            raise PersonalDataInEvent(f"{path}: looks like an e-mail, NIK or phone number")
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int) and 10**15 <= abs(value) < 10**16:
        raise PersonalDataInEvent(f"{path}: a 16-digit number looks like a NIK")


def check_event_data(data: dict[str, Any]) -> dict[str, Any]:
    """Return `data` as plain JSON, or raise PersonalDataInEvent if it may hold personal data."""
    if not isinstance(data, dict):
        raise TypeError("event data is a dict")
    clean = json.loads(json.dumps(data, default=_json_default))
    _check_value("data", clean, 0)
    return clean


def emit(
    actor: Actor,
    event_type: str,
    *,
    subject_type: str,
    subject_id: str,
    organizations: list[str],
    data: dict[str, Any],
    session: Session | None = None,
) -> Event:
    """Add an event to the current transaction; it is published only if that transaction commits."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type '{event_type}'")
    if not subject_type or not subject_id:
        raise ValueError("an event needs its subject's type and id")
    audience = list(dict.fromkeys(o for o in organizations if o))
    if not audience:
        raise ValueError("an event must concern at least one organisation")
    session = session or db.session()
    item = Event(
        id=new_id(),
        type=event_type,
        occurred_at=utcnow(),
        subject_type=subject_type,
        subject_id=str(subject_id),
        actor_organization_id=actor.organization_id,
        data=check_event_data(data),
    )
    item.audiences = [EventAudience(organization_id=org_id) for org_id in audience]
    session.add(item)
    session.info.setdefault(_PENDING_EVENTS, []).append(item)
    return item


def enqueue_after_commit(
    task: str, *args: Any, coalesce: bool = False, session: Session | None = None
) -> None:
    """Hand a job (dotted path, id arguments) to the queue once the transaction commits."""
    session = session or db.session()
    session.info.setdefault(_PENDING_JOBS, []).append((task, args, coalesce))


def _in_session(session: Session, obj: Any) -> bool:
    state = inspect(obj)
    return (state.pending or state.persistent) and state.session_id == session.hash_key


def _lock_feed(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FEED_LOCK_KEY})
    # SQLite: the flush before this took the database's single write lock, held to the commit.


@sa_event.listens_for(Session, "before_commit")
def _number_events_before_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint; the outermost commit numbers everything at once
    pending = [e for e in session.info.pop(_PENDING_EVENTS, []) if _in_session(session, e)]
    jobs = session.info.pop(_PENDING_JOBS, [])
    if not pending and not jobs:
        return
    if pending:
        session.flush()
        _lock_feed(session)
        top = session.scalar(select(func.max(Event.seq))) or 0
        now = utcnow()
        for item in pending:
            top += 1
            item.seq = top
            item.recorded_at = now
            for audience in item.audiences:
                audience.event_seq = top
        session.flush()
    session.info[_COMMITTED] = ([e.id for e in pending], jobs)


@sa_event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return
    committed = session.info.pop(_COMMITTED, None)
    if not committed:
        return
    event_ids, jobs = committed
    try:
        from referral_hub.delivery.jobs import enqueue_committed

        enqueue_committed(event_ids, jobs)
    except Exception:  # the commit stands; the outbox sweeper will hand these off later
        log.exception("could not enqueue the dispatch of %d event(s)", len(event_ids))


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint: its events left the session; before_commit skips them
    for key in (_PENDING_EVENTS, _PENDING_JOBS, _COMMITTED):
        session.info.pop(key, None)


def subject_link(subject_type: str, subject_id: str, base_url: str) -> str | None:
    """The API URL of an event's subject, if the hub serves one."""
    path = SUBJECT_PATHS.get(subject_type)
    return base_url + path.format(id=subject_id) if path else None


def event_payload_data(item: Event, base_url: str) -> dict[str, Any]:
    """The event's data as partners see it: with `links.self` pointing at the subject."""
    data = dict(item.data or {})
    # Links are stored as hub paths and served absolute, under today's base URL.
    links = {
        name: base_url + value if isinstance(value, str) and value.startswith("/") else value
        for name, value in (data.get("links") or {}).items()
    }
    self_link = subject_link(item.subject_type, item.subject_id, base_url)
    if self_link:
        links.setdefault("self", self_link)
    data["links"] = links
    return data
