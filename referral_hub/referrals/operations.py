"""The rules of referrals: sending through every gate, what each party sees, the closed loop."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.orm import joinedload, lazyload, load_only
from sqlalchemy.orm.exc import StaleDataError

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.agreements.operations import active_agreements_covering
from referral_hub.audit import operations as audit
from referral_hub.clients import operations as clients
from referral_hub.clients.models import Client, Consent, local_today
from referral_hub.db import utcnow
from referral_hub.delivery.notifications import (
    notify_referral_answered,
    notify_referral_overdue,
    notify_referral_received,
)
from referral_hub.delivery.outbox import emit
from referral_hub.directory.models import Service
from referral_hub.directory.operations import require_organization
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem
from referral_hub.referrals.lifecycle import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    RECIPIENT,
    SENDER,
    TransitionRefused,
    allowed_actions,
    plan_transition,
)
from referral_hub.referrals.models import Appointment, Referral, ReferralEvent
from referral_hub.referrals.schemas import CASE_CATEGORIES

NO_ACTIVE_AGREEMENT = register_problem(
    "no-active-agreement", "No active agreement covers this service with this recipient"
)
DATA_CATEGORY_NOT_ALLOWED = register_problem(
    "data-category-not-allowed", "A requested data category is not allowed"
)
OVERRIDE_NOT_AUTHORISED = register_problem(
    "override-not-authorised", "The legal-basis override is not approved by a supervisor"
)
INVALID_TRANSITION = register_problem(
    "invalid-transition", "This action is not possible for this referral now"
)

#: Urgent referrals are answered within a day at most, emergencies within two hours.
URGENCY_CAP_HOURS = {"routine": None, "urgent": 24, "emergency": 2}
NUMBER_PREFIX = "RJ"
ACTING_ROLES = ("caseworker", "supervisor")
#: Categories that hold personal data; reading or sharing them is a disclosure.
PERSONAL_CATEGORIES = ("identity", "contact", "guardian", *CASE_CATEGORIES)
#: A recipient keeps sight of shared data while the referral is live or was carried out.
RECIPIENT_KEEPS_DATA = frozenset({*OPEN_STATUSES, "completed", "failed"})


# --- who is acting ------------------------------------------------------------------------


def _require_staff(actor: Actor) -> None:
    """Users act on referrals as caseworkers or supervisors; auditors and admins only read."""
    if actor.kind == "user" and actor.role not in ACTING_ROLES:
        raise Problem(403, "forbidden", "Only caseworkers and supervisors act on referrals.")
    if actor.organization_id is None:
        raise Problem(403, "forbidden", "Referrals are sent and answered by organisations.")


def side_of(actor: Actor, referral: Referral) -> str | None:
    """SENDER, RECIPIENT or None (an outsider, who must not learn the referral exists)."""
    if actor.organization_id == referral.sender_organization_id:
        return SENDER
    if actor.organization_id == referral.recipient_organization_id:
        return RECIPIENT
    return None


def _not_found(referral_id: str) -> Problem:
    return Problem(404, "not-found", f"No referral '{referral_id}'.")


def get_referral_for(actor: Actor, referral_id: str, *, lock: bool = False) -> Referral:
    """A referral the actor's organisation sent or received, else 404."""
    query = select(Referral).where(Referral.id == referral_id)
    if lock:
        query = query.with_for_update(of=Referral)
    referral = db.session.scalar(query) if isinstance(referral_id, str) else None
    if referral is None or side_of(actor, referral) is None:
        raise _not_found(referral_id)
    return referral


# --- sending ---------------------------------------------------------------------------------


def _field_error(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", message, errors={field: [message]})


def _approver(actor: Actor, approved_by: str) -> User:
    """The supervisor who approved an override; checked on the server, for every caller."""
    approver = db.session.scalar(
        select(User).where(or_(User.id == approved_by, User.email == approved_by.strip().lower()))
    )
    if (
        approver is None
        or not approver.active
        or approver.organization_id != actor.organization_id
        or approver.role != "supervisor"
    ):
        raise Problem(
            422,
            OVERRIDE_NOT_AUTHORISED,
            "approved_by must be an active supervisor of the sending organisation.",
            errors={"approved_by": ["Not a supervisor of your organisation."]},
        )
    if actor.user_id is not None and actor.user_id != approver.id:
        # A person cannot sign a supervisor's name: the supervisor sends the override.
        raise Problem(
            422,
            OVERRIDE_NOT_AUTHORISED,
            "An override is sent by the approving supervisor personally.",
            errors={"approved_by": ["Only that supervisor can send this override."]},
        )
    return approver


def respond_by_for(created_at: dt.datetime, response_hours: int, urgency: str) -> dt.datetime:
    """The agreement's response time, shortened for urgent and emergency referrals."""
    hours = response_hours
    cap = URGENCY_CAP_HOURS[urgency]
    if cap is not None:
        hours = min(hours, cap)
    return created_at + dt.timedelta(hours=hours)


def _link(referral: Referral) -> str:
    return f"/referrals/{referral.id}"


def _event_data(referral: Referral, **extra: Any) -> dict[str, Any]:
    """What events and webhooks carry: ids, numbers, statuses, links; never personal data."""
    return {
        "referral_id": referral.id,
        "number": referral.number,
        "status": referral.status,
        "service": referral.service_code,
        "urgency": referral.urgency,
        "sender": referral.sender.code,
        "recipient": referral.recipient.code,
        "respond_by": referral.respond_by.isoformat(),
        "links": {"self": f"/api/v1/referrals/{referral.id}", "portal": _link(referral)},
        **extra,
    }


def _timeline(
    actor: Actor,
    referral: Referral,
    action: str,
    from_status: str | None,
    to_status: str | None,
    note: str | None = None,
) -> None:
    db.session.add(
        ReferralEvent(
            referral_id=referral.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            organization_id=actor.organization_id,
            user_id=actor.user_id,
            oauth_client_id=actor.client_id,
            note=note,
            at=utcnow(),
        )
    )


def send_referral(actor: Actor, data: dict[str, Any], at: dt.datetime | None = None) -> Referral:
    """Send a client to a partner: only along an agreement in force that covers the service with
    the recipient as provider, only with consent covering recipient, service and categories (or
    a supervisor-approved legal basis), sharing only what agreement and consent both allow."""
    _require_staff(actor)
    now = at or utcnow()
    sender = require_organization(actor.organization_id or "", "to")
    if sender.type != "uptd_ppa":
        raise Problem(403, clients.NOT_A_UPTD, "Only UPTD PPA units send referrals.")
    client = clients.get_client_of(actor, data["client"])
    if client is None:
        raise _field_error("client", f"No client '{data['client']}' of your organisation.")
    recipient = require_organization(data["to"], "to")
    if recipient.id == sender.id:
        raise _field_error("to", "A unit does not refer to itself.")
    categories = list(dict.fromkeys(["demographics", *data.get("data_categories", [])]))

    agreements = active_agreements_covering(sender.id, recipient.id, data["service"], now)
    if not agreements:
        # No agreement covers an unknown service either: looked up only to say which it is.
        if db.session.get(Service, data["service"]) is None:
            raise _field_error("service", f"Unknown service '{data['service']}'.")
        raise Problem(
            422,
            NO_ACTIVE_AGREEMENT,
            f"No agreement in force between {sender.code} and {recipient.code} covers "
            f"'{data['service']}' with {recipient.code} as its provider.",
            errors={"to": ["No active agreement covers this service with this recipient."]},
        )
    agreement = agreements[0]
    outside = [c for c in categories if c != "demographics" and c not in agreement.data_categories]
    if outside:
        raise Problem(
            422,
            DATA_CATEGORY_NOT_ALLOWED,
            f"Agreement {agreement.number} does not allow sharing: {', '.join(outside)}.",
            errors={"data_categories": [f"'{c}' is outside the agreement." for c in outside]},
        )

    consent: Consent | None = None
    approver: User | None = None
    if data.get("consent"):
        consent = clients.require_consent_for(actor, data["consent"], client)
        clients.require_consent_covers(
            consent,
            recipient_org_id=recipient.id,
            service_code=data["service"],
            categories=categories,
            at=now,
        )
        legal_basis = "consent"
    else:
        approver = _approver(actor, data["approved_by"])
        legal_basis = data["legal_basis"]

    year = local_today(now).year
    serial = clients.take_number(NUMBER_PREFIX, sender.id, year)
    referral = Referral(
        number=f"{NUMBER_PREFIX}-{clients.organization_short_code(sender)}-{year}-{serial:06d}",
        sender_organization_id=sender.id,
        recipient_organization_id=recipient.id,
        client_id=client.id,
        service_code=data["service"],
        agreement_id=agreement.id,
        consent_id=consent.id if consent else None,
        legal_basis=legal_basis,
        override_approved_by_id=approver.id if approver else None,
        urgency=data.get("urgency", "routine"),
        data_categories=categories,
        sender_reference=data.get("sender_reference"),
        status="requested",
        respond_by=respond_by_for(now, agreement.response_hours, data.get("urgency", "routine")),
        created_at=now,
        updated_at=now,
        created_by_user_id=actor.user_id,
        created_by_client_id=actor.client_id,
        # The objects the gates loaded, so that the view of the new referral needs no query.
        sender=sender,
        recipient=recipient,
        client=client,
        agreement=agreement,
        consent=consent,
        override_approved_by=approver,
        appointments=[],
    )
    referral.reason = data["reason"]
    if approver is not None:
        referral.override_justification = data["justification"]
    case_data = {k: v for k, v in (data.get("case_data") or {}).items() if k in categories}
    referral.case_data = case_data or None
    # No flush here: the referral's id is set on construction, and its rows are written
    # with the timeline, disclosure, event and notification in the commit's one flush.
    db.session.add(referral)

    _timeline(actor, referral, "requested", None, "requested")
    audit.record(
        actor,
        "referral.sent",
        "referral",
        referral.id,
        {
            "number": referral.number,
            "recipient": recipient.code,
            "client": referral.client_id,
            "service": referral.service_code,
            "agreement": agreement.id,
            "legal_basis": legal_basis,
            "consent": referral.consent_id,
            "approved_by": approver.id if approver else None,
            "data_categories": categories,
        },
        subject_organization_id=recipient.id,
    )
    shared = [c for c in categories if c in PERSONAL_CATEGORIES]
    if shared:
        clients.record_disclosure(
            actor,
            client,
            shared,
            basis=_basis(referral),
            context=f"referral:{referral.number} sent",
            kind="share",
            to_organization_id=recipient.id,
        )
    emit(
        actor,
        "referral.requested",
        subject_type="referral",
        subject_id=referral.id,
        organizations=[sender.id, recipient.id],
        data=_event_data(referral),
    )
    notify_referral_received(
        referral.number,
        recipient.id,
        _link(referral),
        respond_by=referral.respond_by,
        urgency=referral.urgency,
    )
    return referral


def _basis(referral: Referral) -> str:
    return f"consent:{referral.consent_id}" if referral.consent_id else referral.legal_basis


# --- what each party sees ------------------------------------------------------------------


def visible_categories(referral: Referral, side: str | None, at: dt.datetime | None = None) -> set:
    """The one rule of what a party sees of a referral's client.

    The sender (the client's unit) sees every category. The recipient sees the categories the
    sender chose, which were within agreement and consent when sent, while the referral is live
    or was carried out, and only while the consent it rests on is not withdrawn. Everyone else
    sees nothing (they get 404 before this is asked).
    """
    if side == SENDER:
        return {"demographics", *PERSONAL_CATEGORIES}
    if side != RECIPIENT:
        return set()
    if referral.status not in RECIPIENT_KEEPS_DATA:
        return {"demographics"}
    if referral.consent is not None and referral.consent.withdrawn_at is not None:
        return {"demographics"}
    return set(referral.data_categories) | {"demographics"}


def _client_part(referral: Referral, categories: set[str]) -> dict[str, Any]:
    client_categories = [c for c in categories if c not in CASE_CATEGORIES]
    view = clients.client_view(referral.client, client_categories)
    case = referral.case_data or {}
    for category in CASE_CATEGORIES:
        if category in categories and category in case:
            view[category] = case[category]
    return view


def _org_ref(org) -> dict[str, str]:
    return {"id": org.id, "code": org.code, "name": org.name}


def is_overdue(referral: Referral, at: dt.datetime | None = None) -> bool:
    """Still unanswered after respond_by."""
    return referral.status == "requested" and (at or utcnow()) > referral.respond_by


def referral_view(actor: Actor, referral: Referral, *, record: bool = True) -> dict[str, Any]:
    """A referral as the actor's side may see it; a recipient's read of personal data is logged."""
    side = side_of(actor, referral)
    categories = visible_categories(referral, side)
    shown_personal = sorted(categories & set(PERSONAL_CATEGORIES))
    if record and shown_personal:
        clients.record_disclosure(
            actor,
            referral.client,
            [c for c in PERSONAL_CATEGORIES if c in categories],
            basis=_basis(referral) if side == RECIPIENT else "owner",
            context=f"referral:{referral.number} read",
            kind="read",
        )
    override = None
    if referral.legal_basis != "consent":
        override = {
            "legal_basis": referral.legal_basis,
            "approved_by": (
                {"id": referral.override_approved_by.id, "name": referral.override_approved_by.name}
                if referral.override_approved_by
                else None
            ),
        }
        if side == SENDER:
            override["justification"] = referral.override_justification
    agreement = referral.agreement
    return {
        "id": referral.id,
        "number": referral.number,
        "status": referral.status,
        "status_reason": referral.status_reason,
        "service": referral.service_code,
        "urgency": referral.urgency,
        "reason": referral.reason if side == SENDER or len(categories) > 1 else None,
        "sender": _org_ref(referral.sender),
        "recipient": _org_ref(referral.recipient),
        "agreement": {"id": agreement.id, "number": agreement.number, "kind": agreement.kind},
        "legal_basis": referral.legal_basis,
        "override": override,
        "data_categories": list(referral.data_categories),
        "client": _client_part(referral, categories),
        "respond_by": referral.respond_by,
        "overdue": is_overdue(referral),
        "outcome": referral.outcome,
        "outcome_summary": referral.outcome_summary,
        "sender_reference": referral.sender_reference if side == SENDER else None,
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "allowed_actions": allowed_actions(side, referral.status),
        "appointments": [appointment_view(a) for a in referral.appointments],
    }


def referral_summary(actor: Actor, referral: Referral) -> dict[str, Any]:
    """A line of a list: no personal data for anyone (lists are not disclosures)."""
    side = side_of(actor, referral)
    return {
        "id": referral.id,
        "number": referral.number,
        "status": referral.status,
        "service": referral.service_code,
        "urgency": referral.urgency,
        "sender": _org_ref(referral.sender),
        "recipient": _org_ref(referral.recipient),
        "client": clients.client_view(referral.client, []),
        "respond_by": referral.respond_by,
        "overdue": is_overdue(referral),
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "allowed_actions": allowed_actions(side, referral.status),
    }


#: What referral_summary reads of a referral and of its client.
_LINE_COLUMNS = (
    Referral.id,
    Referral.number,
    Referral.status,
    Referral.service_code,
    Referral.urgency,
    Referral.sender_organization_id,
    Referral.recipient_organization_id,
    Referral.client_id,
    Referral.respond_by,
    Referral.created_at,
    Referral.updated_at,
    Referral.version,
)
_LINE_CLIENT_COLUMNS = (
    Client.id,
    Client.code,
    Client.birth_date_enc,
    Client.sex,
    Client.disability,
    Client.domicile_region,
)


@functools.cache
def _lines_statement() -> Select:
    """The lists' select, loader options and order, built once (building the options cost
    as much CPU as loading a page of fifty lines); referrals_query adds the filters.

    A line (referral_summary) shows sender, recipient and client only: the agreement, the
    consent, the approver and the appointments the model loads eagerly for the detail
    would add five joins (most of the planning time) and six queries to every page. Nor
    does it read the encrypted texts of the referral or the client (but the birth date, for
    the age band), nor the client's organisation: not loading those saves a fifth of the
    page's row processing. Every caller of referrals_query shows lines, never the detail.
    """
    return (
        select(Referral)
        .options(
            load_only(*_LINE_COLUMNS),
            lazyload(Referral.agreement),
            lazyload(Referral.consent),
            lazyload(Referral.override_approved_by),
            lazyload(Referral.appointments),
            joinedload(Referral.client).options(
                load_only(*_LINE_CLIENT_COLUMNS), lazyload(Client.organization)
            ),
        )
        .order_by(Referral.respond_by.asc(), Referral.created_at.desc(), Referral.id)
    )


def referrals_query(
    actor: Actor,
    box: str,
    status: str | None = None,
    service: str | None = None,
    overdue: bool | None = None,
) -> Select:
    """Sent or received referrals of the actor's organisation: overdue first, then newest."""
    column = (
        Referral.sender_organization_id if box == "sent" else Referral.recipient_organization_id
    )
    query = _lines_statement().where(column == actor.organization_id)
    if status:
        query = query.where(Referral.status == status)
    if service:
        query = query.where(Referral.service_code == service)
    now = utcnow()
    late = and_(Referral.status == "requested", Referral.respond_by < now)
    if overdue is True:
        query = query.where(late)
    elif overdue is False:
        query = query.where(~late)
    return query


# --- the closed loop ------------------------------------------------------------------------

_ANSWER_EVENTS = {"accepted": "referral.accepted", "rejected": "referral.rejected"}


def act_on_referral(
    actor: Actor,
    referral_id: str,
    action: str,
    *,
    reason: str | None = None,
    outcome: str | None = None,
    summary: str | None = None,
    note: str | None = None,
) -> Referral:
    """Take one lifecycle action; exactly one of concurrent actions wins, the others get 409."""
    _require_staff(actor)
    referral = get_referral_for(actor, referral_id, lock=True)
    side = side_of(actor, referral)
    try:
        transition = plan_transition(action, side, referral.status)
    except TransitionRefused as refused:
        raise Problem(409, INVALID_TRANSITION, str(refused), status_now=referral.status) from None
    if transition.needs_reason and not (reason or "").strip():
        raise _field_error("reason", f"A reason is required to {action} a referral.")
    if transition.needs_outcome and not outcome:
        raise _field_error("outcome", "An outcome code is required to complete a referral.")

    before = referral.status
    now = utcnow()
    referral.status = transition.target
    referral.updated_at = now
    if reason:
        referral.status_reason = reason
    if transition.needs_outcome:
        referral.outcome = outcome
        referral.outcome_summary = summary
    _timeline(actor, referral, action, before, transition.target, reason or summary or note)
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Problem(
            409, INVALID_TRANSITION, "The referral changed meanwhile; read it again."
        ) from None
    audit.record(
        actor,
        f"referral.{action}",
        "referral",
        referral.id,
        {"number": referral.number, "from": before, "to": transition.target, "outcome": outcome},
        subject_organization_id=(
            referral.recipient_organization_id
            if side == SENDER
            else referral.sender_organization_id
        ),
    )
    _announce(actor, referral, before)
    return referral


def _announce(actor: Actor, referral: Referral, before: str) -> None:
    event_type = _ANSWER_EVENTS.get(referral.status)
    if event_type is None:
        event_type = (
            "referral.cancelled" if referral.status == "cancelled" else "referral.status_changed"
        )
    emit(
        actor,
        event_type,
        subject_type="referral",
        subject_id=referral.id,
        organizations=[referral.sender_organization_id, referral.recipient_organization_id],
        data=_event_data(referral, previous_status=before),
    )
    if referral.status in ("accepted", "rejected") or (
        referral.status in CLOSED_STATUSES
        and actor.organization_id != referral.sender_organization_id
    ):
        notify_referral_answered(
            referral.number, referral.sender_organization_id, referral.status, _link(referral)
        )


def timeline(actor: Actor, referral_id: str) -> list[dict[str, Any]]:
    """The referral's timeline for either party, oldest first."""
    referral = get_referral_for(actor, referral_id)
    rows = db.session.scalars(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == referral.id)
        .order_by(ReferralEvent.at, ReferralEvent.id)
    )
    return [
        {
            "at": row.at,
            "action": row.action,
            "from_status": row.from_status,
            "to_status": row.to_status,
            "organization": _org_ref(row.organization) if row.organization else None,
            "note": row.note,
        }
        for row in rows
    ]


# --- appointments ---------------------------------------------------------------------------


def appointment_view(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "starts_at": appointment.starts_at,
        "duration_minutes": appointment.duration_minutes,
        "mode": appointment.mode,
        "location": appointment.location,
        "practitioner": appointment.practitioner,
        "status": appointment.status,
        "note": appointment.note,
    }


def schedule_appointment(actor: Actor, referral_id: str, data: dict[str, Any]) -> Appointment:
    """The recipient schedules a session of an accepted or running referral."""
    _require_staff(actor)
    referral = get_referral_for(actor, referral_id, lock=True)
    if side_of(actor, referral) != RECIPIENT:
        raise Problem(409, INVALID_TRANSITION, "Only the recipient schedules appointments.")
    if referral.status not in ("accepted", "in-progress", "on-hold"):
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"A referral that is '{referral.status}' takes no appointments.",
        )
    appointment = Appointment(
        referral_id=referral.id,
        starts_at=data["starts_at"],
        duration_minutes=data.get("duration_minutes"),
        mode=data["mode"],
        practitioner=data.get("practitioner"),
        status="scheduled",
    )
    appointment.location = data.get("location")
    db.session.add(appointment)
    referral.updated_at = utcnow()
    db.session.flush()
    _timeline(actor, referral, "appointment_scheduled", None, None, None)
    audit.record(
        actor,
        "appointment.scheduled",
        "referral",
        referral.id,
        {"appointment": appointment.id, "starts_at": appointment.starts_at.isoformat()},
        subject_organization_id=referral.sender_organization_id,
    )
    emit(
        actor,
        "appointment.scheduled",
        subject_type="referral",
        subject_id=referral.id,
        organizations=[referral.sender_organization_id, referral.recipient_organization_id],
        data=_event_data(
            referral,
            appointment_id=appointment.id,
            starts_at=appointment.starts_at.isoformat(),
            mode=appointment.mode,
        ),
    )
    return appointment


def update_appointment(
    actor: Actor, referral_id: str, appointment_id: str, data: dict[str, Any]
) -> Appointment:
    """The recipient records attendance, a no-show, a cancellation or a new time."""
    _require_staff(actor)
    referral = get_referral_for(actor, referral_id, lock=True)
    if side_of(actor, referral) != RECIPIENT:
        raise Problem(409, INVALID_TRANSITION, "Only the recipient updates appointments.")
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.referral_id != referral.id:
        raise Problem(404, "not-found", f"No appointment '{appointment_id}'.")
    if not data:
        raise _field_error("status", "Nothing to change.")
    changes: dict[str, Any] = {}
    if "status" in data and data["status"] != appointment.status:
        if appointment.status != "scheduled":
            raise Problem(
                409,
                INVALID_TRANSITION,
                f"An appointment that is '{appointment.status}' cannot change status.",
            )
        changes["status"] = [appointment.status, data["status"]]
        appointment.status = data["status"]
    if "starts_at" in data:
        changes["starts_at"] = data["starts_at"].isoformat()
        appointment.starts_at = data["starts_at"]
    if "note" in data:
        appointment.note = data["note"]
        changes["note"] = True
    appointment.updated_at = utcnow()
    referral.updated_at = appointment.updated_at
    _timeline(actor, referral, f"appointment_{appointment.status}", None, None, data.get("note"))
    audit.record(
        actor,
        "appointment.updated",
        "referral",
        referral.id,
        {"appointment": appointment.id, **changes},
        subject_organization_id=referral.sender_organization_id,
    )
    return appointment


# --- consent withdrawal and overdue ----------------------------------------------------------


def cancel_referrals_on_withdrawn_consent(consent: Consent, actor: Actor) -> None:
    """Open referrals resting on a withdrawn consent are cancelled at once; recipients are told."""
    referrals = db.session.scalars(
        select(Referral)
        .where(Referral.consent_id == consent.id, Referral.status.in_(OPEN_STATUSES))
        .with_for_update(of=Referral)
    ).all()
    now = utcnow()
    for referral in referrals:
        before = referral.status
        referral.status = "cancelled"
        referral.status_reason = "consent_withdrawn"
        referral.updated_at = now
        _timeline(actor, referral, "cancel", before, "cancelled", "consent_withdrawn")
        audit.record(
            actor,
            "referral.cancel",
            "referral",
            referral.id,
            {"number": referral.number, "from": before, "reason": "consent_withdrawn"},
            subject_organization_id=referral.recipient_organization_id,
        )
        emit(
            actor,
            "referral.cancelled",
            subject_type="referral",
            subject_id=referral.id,
            organizations=[referral.sender_organization_id, referral.recipient_organization_id],
            data=_event_data(referral, previous_status=before, reason="consent_withdrawn"),
        )
    # Recipients of closed referrals lose sight too (visible_categories reads the withdrawal);
    # each recipient is told which of its referrals rest on the consent, and nothing else.
    by_recipient: dict[str, list[str]] = {}
    for recipient_id, referral_id in db.session.execute(
        select(Referral.recipient_organization_id, Referral.id)
        .where(Referral.consent_id == consent.id)
        .order_by(Referral.created_at)
    ):
        by_recipient.setdefault(recipient_id, []).append(referral_id)
    for recipient_id, referral_ids in by_recipient.items():
        emit(
            actor,
            "consent.withdrawn",
            subject_type="consent",
            subject_id=consent.id,
            organizations=[consent.organization_id, recipient_id],
            data={"consent_id": consent.id, "referral_ids": referral_ids},
        )


def sweep_overdue_referrals(now: dt.datetime | None = None) -> list[str]:
    """Announce, once, every referral still unanswered after respond_by."""
    now = now or utcnow()
    actor = Actor.system("scheduler:overdue")
    due = db.session.scalars(
        select(Referral)
        .where(
            Referral.status == "requested",
            Referral.respond_by < now,
            Referral.overdue_notified_at.is_(None),
        )
        .order_by(Referral.respond_by)
        .limit(500)
        .with_for_update(of=Referral, skip_locked=True)
    ).all()
    for referral in due:
        claimed = db.session.execute(
            update(Referral)
            .where(Referral.id == referral.id, Referral.overdue_notified_at.is_(None))
            .values(overdue_notified_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        audit.record(
            actor,
            "referral.overdue",
            "referral",
            referral.id,
            {"number": referral.number, "respond_by": referral.respond_by.isoformat()},
            subject_organization_id=referral.recipient_organization_id,
        )
        emit(
            actor,
            "referral.overdue",
            subject_type="referral",
            subject_id=referral.id,
            organizations=[referral.sender_organization_id, referral.recipient_organization_id],
            data=_event_data(referral),
        )
        notify_referral_overdue(
            referral.number,
            sender_org_id=referral.sender_organization_id,
            recipient_org_id=referral.recipient_organization_id,
            link=_link(referral),
            respond_by=referral.respond_by,
        )
    return [r.number for r in due]


def client_of_referral(referral: Referral) -> Client:
    return referral.client
