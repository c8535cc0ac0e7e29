"""E-mail notifications about referrals: written with the change, sent by a job after commit.

The referral code calls `notify_referral_received`, `notify_referral_answered`,
`notify_referral_overdue`, `notify_referral_cancelled` and `notify_approval_pending` inside its
transaction (and the agreements code `notify_signature_disputed`); each adds a Notification row
and asks for the coalesced `send_notifications` job after the commit, which leases the due rows
in batches (so two workers never send the same e-mail) and sends them. The job finds the
organisation's users with the right roles at sending time, and sends each one a message in
Indonesian with the referral number, its status and a portal link: never a client's name, NIK
or any other personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from flask import current_app
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import or_, select, update

from referral_hub.accounts.models import User
from referral_hub.db import new_id, utcnow
from referral_hub.delivery.dispatch import next_state
from referral_hub.delivery.jobs import SEND_NOTIFICATION, SEND_NOTIFICATIONS
from referral_hub.delivery.mail import Mailer, MailError, MailMessage, mailer_for
from referral_hub.delivery.models import Notification
from referral_hub.delivery.outbox import check_event_data, enqueue_after_commit
from referral_hub.delivery.settings import DeliverySettings, settings
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.permissions import roles_with

log = logging.getLogger(__name__)

KINDS = (
    "invitation",
    "referral_received",
    "referral_answered",
    "referral_overdue",
    "referral_cancelled",
    "approval_pending",
    "signature_disputed",
)
#: Who is told of referrals to answer or answered: the roles that act on them (permissions.py).
RECIPIENT_ROLES = roles_with("referrals:respond")
SUPERVISORS = ("supervisor",)
#: Who is told of an agreement's trouble: the roles that change agreements.
AGREEMENT_WRITERS = roles_with("agreements:write")
#: A notification whose sending keeps failing is given up after this many attempts.
MAX_ATTEMPTS = 12
LEASE = dt.timedelta(minutes=5)
#: Notifications one sender leases at a time.
BATCH = 20

STATUS_LABELS = {
    "draft": "menunggu persetujuan supervisor, belum dikirim",
    "requested": "diajukan, menunggu tanggapan",
    "accepted": "diterima",
    "rejected": "ditolak",
    "cancelled": "dibatalkan",
    "in-progress": "sedang ditangani",
    "on-hold": "ditunda",
    "completed": "selesai",
    "failed": "tidak dapat diselesaikan",
    "entered-in-error": "salah input",
}
URGENCY_LABELS = {"routine": "biasa", "urgent": "mendesak", "emergency": "darurat"}
#: Why the hub itself cancelled a referral, and what the recipient should do about it.
CANCEL_REASONS = {
    "agreement_ended": (
        "perjanjian kerja sama yang menjadi dasarnya berakhir atau ditangguhkan",
        "Rujukan yang belum diterima dibatalkan; rujukan yang sudah diterima tetap\n"
        "berjalan sampai selesai.",
    ),
    "consent_withdrawn": (
        "persetujuan berbagi data yang menjadi dasarnya ditarik",
        "Hentikan pemrosesan data klien untuk rujukan ini sekarang juga.",
    ),
}

# Plain-text mail: HTML escaping would only garble it.
_templates = Environment(
    loader=PackageLoader("referral_hub.delivery", "templates/mail"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701
)


def _absolute(link: str) -> str:
    if link.startswith(("https://", "http://")):
        return link
    return current_app.config["HUB_BASE_URL"] + "/" + link.lstrip("/")


def _when(value: dt.datetime | str | None) -> str | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    zone = zoneinfo.ZoneInfo(current_app.config.get("HUB_TIMEZONE") or "Asia/Makassar")
    local = moment.astimezone(zone)
    return local.strftime("%d-%m-%Y %H:%M ") + (local.tzname() or "")


def _queue(kind: str, organization_id: str, roles: tuple[str, ...], **context: Any):
    clean = check_event_data({k: v for k, v in context.items() if v is not None})
    note = Notification(
        id=new_id(),
        kind=kind,
        organization_id=organization_id,
        roles=list(roles),
        context=clean,
        status="pending",
        next_attempt_at=utcnow(),
    )
    db.session.add(note)
    # One job sends every pending e-mail: a burst of commits queues one, not one each.
    enqueue_after_commit(SEND_NOTIFICATIONS, coalesce=True)
    return note


def notify_referral_received(
    referral_number: str,
    recipient_org_id: str,
    link: str,
    *,
    respond_by: dt.datetime | None = None,
    urgency: str | None = None,
) -> Notification:
    """Tell the recipient organisation's caseworkers and supervisors a referral arrived."""
    return _queue(
        "referral_received",
        recipient_org_id,
        RECIPIENT_ROLES,
        referral_number=referral_number,
        status="requested",
        link=_absolute(link),
        respond_by=respond_by,
        urgency=urgency,
    )


def notify_referral_answered(
    referral_number: str, sender_org_id: str, status: str, link: str
) -> Notification:
    """Tell the sending organisation's caseworkers and supervisors their referral was answered."""
    return _queue(
        "referral_answered",
        sender_org_id,
        RECIPIENT_ROLES,
        referral_number=referral_number,
        status=status,
        link=_absolute(link),
    )


def notify_referral_overdue(
    referral_number: str,
    *,
    sender_org_id: str,
    recipient_org_id: str,
    link: str,
    respond_by: dt.datetime | None = None,
    status: str = "requested",
) -> list[Notification]:
    """Tell the recipient's caseworkers and supervisors, and the sender's supervisors."""
    common = {
        "referral_number": referral_number,
        "status": status,
        "link": _absolute(link),
        "respond_by": respond_by,
    }
    return [
        _queue("referral_overdue", recipient_org_id, RECIPIENT_ROLES, side="recipient", **common),
        _queue("referral_overdue", sender_org_id, SUPERVISORS, side="sender", **common),
    ]


def notify_referral_cancelled(
    referral_number: str, recipient_org_id: str, reason: str, link: str
) -> Notification:
    """Tell the recipient's caseworkers and supervisors the hub cancelled a referral to them
    (its agreement ended, its consent was withdrawn): the number and the reason code only."""
    return _queue(
        "referral_cancelled",
        recipient_org_id,
        RECIPIENT_ROLES,
        referral_number=referral_number,
        status="cancelled",
        reason=reason,
        link=_absolute(link),
    )


def notify_approval_pending(referral_number: str, sender_org_id: str, link: str) -> Notification:
    """Tell the sending unit's supervisors that an override waits for their approval."""
    return _queue(
        "approval_pending",
        sender_org_id,
        SUPERVISORS,
        referral_number=referral_number,
        status="draft",
        link=_absolute(link),
    )


def notify_signature_disputed(
    agreement_number: str, organization_id: str, link: str
) -> Notification:
    """Tell a party's administrators and supervisors that a paper signature recorded on an
    agreement was disputed by its party (the agreement is suspended or back to draft)."""
    return _queue(
        "signature_disputed",
        organization_id,
        AGREEMENT_WRITERS,
        agreement_number=agreement_number,
        link=_absolute(link),
    )


#: Who is invited as what, in the invitation e-mail.
ROLE_LABELS = {
    "caseworker": "pendamping / petugas layanan",
    "supervisor": "supervisor",
    "org_admin": "admin lembaga",
    "auditor": "auditor",
}
#: The sealed parts of an invitation's context: the address and the link with its token.
#: They are sealed with the data key while the e-mail waits, and erased once it is sent, so
#: that the hub keeps only the token's hash (accounts/invitations.py).
_SEALED = ("recipient_sealed", "link_sealed")


def _seal(value: str, column: str, note_id: str) -> str:
    from referral_hub.clients.crypto import encrypt

    return encrypt(value, table="notifications", column=column, row_id=note_id)


def _unseal(context: dict[str, Any], column: str, note_id: str) -> str:
    from referral_hub.clients.crypto import decrypt

    return decrypt(context[column], table="notifications", column=column, row_id=note_id)


def notify_invitation(
    organization_id: str,
    email: str,
    link: str,
    *,
    role: str,
    expires_at: dt.datetime,
    second_factor: bool,
) -> Notification:
    """E-mail an invitation's single-use link to the invited address (not to users by role)."""
    note_id = new_id()
    note = Notification(
        id=note_id,
        kind="invitation",
        organization_id=organization_id,
        roles=[],
        context={
            "role": role,
            "expires_at": expires_at.isoformat(),
            "second_factor": second_factor,
            "recipient_sealed": _seal(email, "recipient_sealed", note_id),
            "link_sealed": _seal(_absolute(link), "link_sealed", note_id),
        },
        status="pending",
        next_attempt_at=utcnow(),
    )
    db.session.add(note)
    enqueue_after_commit(SEND_NOTIFICATIONS, coalesce=True)
    return note


def _render_invitation(context: dict[str, Any], organization: str, note_id: str):
    text = _templates.get_template("invitation.txt").render(
        organization=organization,
        role_label=ROLE_LABELS.get(context["role"], context["role"]),
        link=_unseal(context, "link_sealed", note_id),
        expires_at=_when(context["expires_at"]),
        second_factor=context.get("second_factor", False),
    )
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n")


def render(kind: str, context: dict[str, Any], organization: str) -> tuple[str, str]:
    """(subject, body) of a notification, in Indonesian."""
    values = {
        "organization": organization,
        "referral_number": context.get("referral_number", ""),
        "agreement_number": context.get("agreement_number", ""),
        "status_label": STATUS_LABELS.get(context.get("status", ""), context.get("status", "")),
        "urgency_label": URGENCY_LABELS.get(context.get("urgency") or ""),
        "respond_by": _when(context.get("respond_by")),
        "link": context["link"],
        "side": context.get("side", "recipient"),
    }
    reason = context.get("reason") or ""
    values["reason_label"], values["reason_advice"] = CANCEL_REASONS.get(reason, (reason, ""))
    text = _templates.get_template(f"{kind}.txt").render(**values)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n")


def _due(now: dt.datetime) -> tuple[Any, ...]:
    """A notification to send now: not yet sent or given up, due, and leased by no one."""
    return (
        Notification.status.in_(("pending", "retrying")),
        Notification.next_attempt_at <= now,
        or_(Notification.lease_until.is_(None), Notification.lease_until < now),
    )


def claim_due_notifications(limit: int = BATCH) -> list[str]:
    """Lease up to `limit` due notifications, oldest first; return their ids.

    Senders running this at once get different notifications (PostgreSQL skips rows another
    holds; the conditional update settles the rest), so no e-mail goes out twice.
    """
    now = utcnow()
    candidates = db.session.scalars(
        select(Notification.id)
        .where(*_due(now))
        .order_by(Notification.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        db.session.rollback()
        return []
    claimed = set(
        db.session.scalars(
            update(Notification)
            .where(Notification.id.in_(candidates), *_due(now))
            .values(lease_until=now + LEASE, attempts=Notification.attempts + 1)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    return [note_id for note_id in candidates if note_id in claimed]


def _release(note_ids: list[str]) -> None:
    """Give leased notifications back untried: due again at once, the attempt not counted."""
    if note_ids:
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(note_ids), Notification.status.in_(("pending", "retrying")))
            .values(lease_until=None, attempts=Notification.attempts - 1)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


class _Recipients:
    """The organisations' names and active staff by role, read once per batch."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._users: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = {}

    def name(self, organization_id: str) -> str:
        if organization_id not in self._names:
            organization = db.session.get(Organization, organization_id)
            self._names[organization_id] = organization.name if organization else ""
        return self._names[organization_id]

    def users(self, organization_id: str, roles: list[str]) -> list[tuple[str, str]]:
        key = (organization_id, tuple(sorted(roles)))
        if key not in self._users:
            self._users[key] = [
                (user_id, email)
                for user_id, email in db.session.execute(
                    select(User.id, User.email)
                    .where(
                        User.organization_id == organization_id,
                        User.role.in_(roles),
                        User.active.is_(True),
                    )
                    .order_by(User.email)
                )
            ]
        return self._users[key]


def _deliver(
    note: _Leased, mailer: Mailer, conf: DeliverySettings, recipients: _Recipients
) -> tuple[str, bool]:
    """Send a leased notification to its users; record the outcome.

    Commits; returns the new status and whether the mail server failed (which says the
    next notifications would fail too). Any other fault is this notification's alone: it is
    retried on its schedule, and retired after MAX_ATTEMPTS, without holding up the rest.
    """
    now = utcnow()
    sent = list(note.sent_to or [])
    error = None
    server_failed = False
    try:
        if note.kind == "invitation":
            if not all(k in note.context for k in _SEALED):
                raise ValueError("the invitation's link was erased")
            users = [("invitee", _unseal(note.context, "recipient_sealed", note.id))]
            subject, body = _render_invitation(
                note.context, recipients.name(note.organization_id), note.id
            )
        else:
            users = recipients.users(note.organization_id, note.roles)
            subject, body = render(note.kind, note.context, recipients.name(note.organization_id))
        for user_id, email in users:
            if user_id in sent:
                continue
            try:
                mailer.send(MailMessage(to=email, subject=subject, body=body))
                sent.append(user_id)
            except ValueError as refused:  # this address can never work; the others can
                log.warning("notification %s: not sent to user %s: %s", note.id, user_id, refused)
                sent.append(user_id)
            except MailError as failure:
                error = str(failure)
                server_failed = True
                break
    except Exception as fault:  # recorded on the notification, logged in full
        log.exception("notification %s could not be sent", note.id)
        db.session.rollback()
        error = f"{type(fault).__name__}: {fault}"
    values: dict[str, Any] = {"sent_to": sent, "lease_until": None}
    if error is None:
        status = "sent"
        values.update(sent_at=now, next_attempt_at=None, last_error=None)
        if note.kind == "invitation":
            # Sent: the hub keeps no usable copy of the link (only the token's hash).
            values["context"] = {k: v for k, v in note.context.items() if k not in _SEALED}
    else:
        status, due = next_state(note.attempts, note.created_at, utcnow(), conf)
        if note.attempts >= MAX_ATTEMPTS:
            status, due = "dead", None
        values.update(last_error=error[:500], next_attempt_at=due)
        log.warning("notification %s: %s (%s)", note.id, error, status)
    values["status"] = status
    db.session.execute(
        update(Notification)
        .where(Notification.id == note.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if status == "retrying":
        from referral_hub.delivery.jobs import enqueue

        enqueue(SEND_NOTIFICATION, note.id, at=values["next_attempt_at"])
    return status, server_failed


@dataclass(frozen=True)
class _Leased:
    """What sending a leased notification reads; plain values, so commits reload nothing."""

    id: str
    kind: str
    organization_id: str
    roles: list[str]
    context: dict[str, Any]
    sent_to: list[str]
    attempts: int
    created_at: dt.datetime


def _leased(note_ids: list[str]) -> list[_Leased]:
    """The leased notifications, in the order given."""
    columns = [getattr(Notification, f.name) for f in fields(_Leased)]
    rows = db.session.execute(select(*columns).where(Notification.id.in_(note_ids))).all()
    found = {row.id: _Leased(*row) for row in rows}
    return [found[note_id] for note_id in note_ids if note_id in found]


def send_due_notifications(
    limit: int = BATCH,
    mailer: Mailer | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[int, bool]:
    """Lease a batch of due notifications and send them.

    Returns how many it attempted, and whether the mail server failed: that ends the batch,
    the failed notification is retried on its schedule and the rest are given back untried
    (one connection timeout per batch while the server is down, not one per e-mail).
    `should_stop` is asked before each notification (the job's deadline, a worker's warm
    shutdown): when it says so, the rest are given back untried.
    """
    note_ids = claim_due_notifications(limit)
    if not note_ids:
        return 0, False
    started = time.monotonic()
    conf = settings()
    mailer = mailer or mailer_for(current_app._get_current_object(), conf.mail_from)
    recipients = _Recipients()
    notes = _leased(note_ids)
    for index, note in enumerate(notes):
        # Well inside the lease, or another sender could lease the rest meanwhile.
        if time.monotonic() - started > LEASE.total_seconds() / 2 or (
            should_stop is not None and should_stop()
        ):
            _release([n.id for n in notes[index:]])
            return index, False
        if _deliver(note, mailer, conf, recipients)[1]:
            _release([n.id for n in notes[index + 1 :]])
            return index + 1, True
    return len(notes), False


def send_notification(notification_id: str, mailer: Mailer | None = None) -> str | None:
    """Send one due notification to each user it is for; return its new status."""
    now = utcnow()
    claimed = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, *_due(now))
        .values(lease_until=now + LEASE, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    conf = settings()
    mailer = mailer or mailer_for(current_app._get_current_object(), conf.mail_from)
    (note,) = _leased([notification_id])
    return _deliver(note, mailer, conf, _Recipients())[0]


def due_notification_ids(now: dt.datetime, overdue_by: float, limit: int = 500) -> list[str]:
    """Notifications due for longer than `overdue_by` seconds (their hand-off was lost)."""
    cutoff = now - dt.timedelta(seconds=overdue_by)
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(
                Notification.status.in_(("pending", "retrying")),
                Notification.next_attempt_at <= cutoff,
                or_(Notification.lease_until.is_(None), Notification.lease_until < now),
            )
            .order_by(Notification.next_attempt_at)
            .limit(limit)
        )
    )
