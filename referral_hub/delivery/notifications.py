"""E-mail notifications about referrals: written with the change, sent by a job after commit.

The referral code calls `notify_referral_received`, `notify_referral_answered` and
`notify_referral_overdue` inside its transaction; each adds a Notification row and asks for
`send_notification` after the commit. The job finds the organisation's users with the
right roles at sending time, and sends each one a message in Indonesian with the referral
number, its status and a portal link: never a client's name, NIK or any other personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from typing import Any

from flask import current_app
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import or_, select, update

from referral_hub.accounts.models import User
from referral_hub.db import new_id, utcnow
from referral_hub.delivery.dispatch import next_state
from referral_hub.delivery.jobs import SEND_NOTIFICATION
from referral_hub.delivery.mail import Mailer, MailError, MailMessage, mailer_for
from referral_hub.delivery.models import Notification
from referral_hub.delivery.outbox import check_event_data, enqueue_after_commit
from referral_hub.delivery.settings import settings
from referral_hub.directory.models import Organization
from referral_hub.extensions import db

log = logging.getLogger(__name__)

KINDS = ("referral_received", "referral_answered", "referral_overdue")
RECIPIENT_ROLES = ("caseworker", "supervisor")
SUPERVISORS = ("supervisor",)
#: A notification whose sending keeps failing is given up after this many attempts.
MAX_ATTEMPTS = 12
LEASE = dt.timedelta(minutes=5)

STATUS_LABELS = {
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
    enqueue_after_commit(SEND_NOTIFICATION, note.id)
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


def render(kind: str, context: dict[str, Any], organization: str) -> tuple[str, str]:
    """(subject, body) of a notification, in Indonesian."""
    values = {
        "organization": organization,
        "referral_number": context["referral_number"],
        "status_label": STATUS_LABELS.get(context.get("status", ""), context.get("status", "")),
        "urgency_label": URGENCY_LABELS.get(context.get("urgency") or ""),
        "respond_by": _when(context.get("respond_by")),
        "link": context["link"],
        "side": context.get("side", "recipient"),
    }
    text = _templates.get_template(f"{kind}.txt").render(**values)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n")


def send_notification(notification_id: str, mailer: Mailer | None = None) -> str | None:
    """Send a due notification to each user it is for; return its new status."""
    now = utcnow()
    claimed = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status.in_(("pending", "retrying")),
            Notification.next_attempt_at <= now,
            or_(Notification.lease_until.is_(None), Notification.lease_until < now),
        )
        .values(lease_until=now + LEASE, attempts=Notification.attempts + 1)
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    note = db.session.get(Notification, notification_id)
    conf = settings()
    organization = db.session.get(Organization, note.organization_id)
    users = db.session.scalars(
        select(User)
        .where(
            User.organization_id == note.organization_id,
            User.role.in_(note.roles),
            User.active.is_(True),
        )
        .order_by(User.email)
    ).all()
    subject, body = render(note.kind, note.context, organization.name if organization else "")
    mailer = mailer or mailer_for(current_app._get_current_object(), conf.mail_from)
    sent = list(note.sent_to or [])
    error = None
    for user in users:
        if user.id in sent:
            continue
        try:
            mailer.send(MailMessage(to=user.email, subject=subject, body=body))
            sent.append(user.id)
        except ValueError as refused:  # this address can never work; the others still can
            log.warning("notification %s: not sent to user %s: %s", note.id, user.id, refused)
            sent.append(user.id)
        except MailError as failure:
            error = str(failure)
            break
    note.sent_to = sent
    note.lease_until = None
    if error is None:
        note.status, note.sent_at, note.next_attempt_at, note.last_error = "sent", now, None, None
    else:
        note.last_error = error[:500]
        status, due = next_state(note.attempts, note.created_at, utcnow(), conf)
        if note.attempts >= MAX_ATTEMPTS:
            status, due = "dead", None
        note.status, note.next_attempt_at = status, due
        log.warning("notification %s: %s (%s)", note.id, error, status)
    db.session.commit()
    if note.status == "retrying" and note.next_attempt_at is not None:
        from referral_hub.delivery.jobs import enqueue

        enqueue(SEND_NOTIFICATION, note.id, at=note.next_attempt_at)
    return note.status


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
