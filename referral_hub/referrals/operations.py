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
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.operations import active_agreements_covering, covers_at
from referral_hub.audit import operations as audit
from referral_hub.categories import (
    ALWAYS_SHARED,
    CASE_CATEGORIES,
    PERSONAL_CATEGORIES,
    SHAREABLE_CATEGORIES,
)
from referral_hub.clients import operations as clients
from referral_hub.clients.models import Client, Consent, local_today
from referral_hub.db import utcnow
from referral_hub.delivery.notifications import (
    notify_approval_pending,
    notify_referral_answered,
    notify_referral_cancelled,
    notify_referral_overdue,
    notify_referral_received,
)
from referral_hub.delivery.outbox import emit
from referral_hub.directory.models import Service
from referral_hub.directory.operations import require_organization
from referral_hub.extensions import db
from referral_hub.oauth.models import OAuthClient
from referral_hub.permissions import roles_with
from referral_hub.problems import INVALID_TRANSITION, Problem, register_problem
from referral_hub.referrals.lifecycle import (
    CLOSED_STATUSES,
    DRAFT,
    NOT_STARTED_STATUSES,
    OPEN_STATUSES,
    RECIPIENT,
    SENDER,
    Transition,
    TransitionRefused,
    allowed_actions,
    appointment_schedulable,
    plan_transition,
)
from referral_hub.referrals.models import Appointment, Referral, ReferralEvent

NO_ACTIVE_AGREEMENT = register_problem(
    "no-active-agreement", "No active agreement covers this service with this recipient"
)
DATA_CATEGORY_NOT_ALLOWED = clients.DATA_CATEGORY_NOT_ALLOWED
OVERRIDE_NOT_AUTHORISED = register_problem(
    "override-not-authorised", "The legal-basis override is not approved by a supervisor"
)
AGREEMENT_ENDED = register_problem(
    "agreement-ended", "The agreement this referral was sent under is no longer in force"
)

#: Urgent referrals are answered within a day at most, emergencies within two hours.
URGENCY_CAP_HOURS = {"routine": None, "urgent": 24, "emergency": 2}
NUMBER_PREFIX = "RJ"
#: Who acts on referrals (caseworkers and supervisors): decided per role in permissions.py.
ACTING_ROLES = roles_with("referrals:write")
#: The right a party needs to read a referral's personal data, by side: the sender's unit
#: owns the client (reading it is reading clients), the recipient reads what was shared.
READ_RIGHT = {SENDER: "clients:read", RECIPIENT: "referrals:read"}
#: A recipient keeps sight of shared data while the referral is live or was carried out.
RECIPIENT_KEEPS_DATA = frozenset({*OPEN_STATUSES, "completed", "failed"})
#: Why a category may not be shared (`shareable_categories`), in the order they are asked.
OUTSIDE_AGREEMENT = "outside-agreement"
OUTSIDE_CONSENT = "outside-consent"
NOT_ON_RECORD = clients.NOT_ON_RECORD
GUARDIAN_IS_ALLEGED_PERPETRATOR = clients.GUARDIAN_IS_ALLEGED_PERPETRATOR
_UNSHAREABLE_TEXTS = {
    OUTSIDE_AGREEMENT: "'{}' is outside the agreement.",
    OUTSIDE_CONSENT: "'{}' is outside the consent.",
    NOT_ON_RECORD: "'{}' is not on the client's record.",
    GUARDIAN_IS_ALLEGED_PERPETRATOR: (
        "'{}': the guardian is recorded as the alleged perpetrator and is never shared "
        "as a contact."
    ),
}
#: An override's approval: waiting (a draft), approved (sent), declined (never sent).
APPROVAL_PENDING, APPROVAL_APPROVED, APPROVAL_DECLINED = "pending", "approved", "declined"


# --- who is acting ------------------------------------------------------------------------


def _require_staff(actor: Actor) -> None:
    """Only a party with the right to send or answer referrals acts on them: a person (or an
    app acting for one) by role, caseworkers and supervisors; auditors and admins only read."""
    if not (actor.has_scope("referrals:write") or actor.has_scope("referrals:respond")):
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


def reached_recipient(referral: Referral) -> bool:
    """Whether the referral was ever sent to its recipient: on consent, or an approved
    override. A draft, and an override declined before it was sent, are the sender's alone."""
    return referral.approval_status in (None, APPROVAL_APPROVED)


#: reached_recipient as a clause, for the recipient's lists and counts.
_REACHED_RECIPIENT = or_(
    Referral.approval_status.is_(None), Referral.approval_status == APPROVAL_APPROVED
)


def get_referral_for(actor: Actor, referral_id: str, *, lock: bool = False) -> Referral:
    """A referral the actor's organisation sent or received, else 404 (and 404 for the
    recipient of a referral that never reached it)."""
    query = select(Referral).where(Referral.id == referral_id)
    if lock:
        query = query.with_for_update(of=Referral)
    referral = db.session.scalar(query) if isinstance(referral_id, str) else None
    if referral is None:
        raise _not_found(referral_id)
    side = side_of(actor, referral)
    if side is None or (side == RECIPIENT and not reached_recipient(referral)):
        raise _not_found(referral_id)
    return referral


# --- sending ---------------------------------------------------------------------------------


def _field_error(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", message, errors={field: [message]})


def acting_supervisor(actor: Actor, organization_id: str | None) -> User | None:
    """The user behind the actor when an active supervisor of `organization_id` acts as
    themselves (portal session, or a token issued to them); None otherwise, and always for
    a token without a user."""
    if actor.user_id is None or organization_id is None:
        return None
    user = db.session.get(User, actor.user_id)
    if (
        user is None
        or not user.active
        or user.role != "supervisor"
        or user.organization_id != organization_id
    ):
        return None
    return user


def _check_named_approver(actor: Actor, approved_by: str | None) -> None:
    """`approved_by` may name the caller only: an override is approved by a supervisor
    acting personally, never by being named (a machine client names no one)."""
    if not approved_by:
        return
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    named = approved_by.strip()
    if user is not None and (named == user.id or named.lower() == user.email):
        return
    raise _field_error(
        "approved_by",
        "approved_by may only name the caller: an override is approved by the "
        "supervisor personally, not named. Leave it out; the referral waits for approval.",
    )


def _require_approver(actor: Actor, referral: Referral) -> User:
    """The supervisor approving or declining this override, or 403 override-not-authorised."""
    supervisor = acting_supervisor(actor, referral.sender_organization_id)
    if supervisor is not None:
        return supervisor
    if actor.user_id is None:
        detail = (
            "A token without a user never approves an override: an active supervisor of "
            "the sending unit approves it personally (portal, or a token issued to them)."
        )
    else:
        detail = "Only an active supervisor of the sending unit approves an override."
    raise Problem(403, OVERRIDE_NOT_AUTHORISED, detail)


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
    categories = list(dict.fromkeys([ALWAYS_SHARED, *data.get("data_categories", [])]))
    agreement = _agreement_gates(
        sender, recipient, data["service"], categories, now, client, hold=True
    )

    consent: Consent | None = None
    approver: User | None = None
    if data.get("consent"):
        # Held until the commit, like the agreement: a withdrawal that committed meanwhile is
        # seen; one still running waits for this referral and then cancels it with the
        # others resting on the consent.
        consent = clients.require_consent_for(actor, data["consent"], client, hold=True)
        clients.require_consent_covers(
            consent,
            recipient_org_id=recipient.id,
            service_code=data["service"],
            categories=categories,
            at=now,
        )
        legal_basis = "consent"
    else:
        _check_named_approver(actor, data.get("approved_by"))
        # Sent at once only by a supervisor acting personally; anyone else's waits for one.
        approver = acting_supervisor(actor, sender.id)
        legal_basis = data["legal_basis"]
    # What agreement and consent allow was refused above with their own words; here the
    # client's record has its say (what it lacks, a guardian who is the alleged perpetrator).
    _require_shareable(client, agreement, consent, categories)
    override = consent is None
    draft = override and approver is None

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
        approval_status=(
            None if not override else APPROVAL_PENDING if draft else APPROVAL_APPROVED
        ),
        approval_decided_by_id=approver.id if approver else None,
        approval_decided_at=now if approver else None,
        urgency=data.get("urgency", "routine"),
        data_categories=categories,
        sender_reference=data.get("sender_reference"),
        status=DRAFT if draft else "requested",
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
        approval_decided_by=approver,
        appointments=[],
    )
    referral.reason = data["reason"]
    if override:
        referral.override_justification = data["justification"]
    case_data = {k: v for k, v in (data.get("case_data") or {}).items() if k in categories}
    referral.case_data = case_data or None
    # No flush here: the referral's id is set on construction, and its rows are written
    # with the timeline, disclosure, event and notification in the commit's one flush.
    db.session.add(referral)

    _timeline(
        actor,
        referral,
        "approval_requested" if draft else "requested",
        None,
        referral.status,
    )
    audit.record(
        actor,
        "referral.sent",
        "referral",
        referral.id,
        {
            "number": referral.number,
            "status": referral.status,
            "recipient": recipient.code,
            "client": referral.client_id,
            "service": referral.service_code,
            "agreement": agreement.id,
            "legal_basis": legal_basis,
            "consent": referral.consent_id,
            "approved_by": approver.id if approver else None,
            "data_categories": categories,
        },
        # A draft concerns the sender alone: the recipient's auditors learn of it when sent.
        subject_organization_id=None if draft else recipient.id,
    )
    if draft:
        # The unit's supervisors are told an approval waits: the number and a link, no more.
        notify_approval_pending(referral.number, sender.id, approval_link(referral))
    else:
        _share(actor, referral, "sent")
    return referral


def _agreement_gates(
    sender,
    recipient,
    service: str,
    categories: list[str],
    now: dt.datetime,
    client: Client,
    *,
    hold: bool = False,
):
    """The agreement a referral travels on: in force now, covering the service with the
    recipient as its provider, allowing every category; else the refusal sending gives.

    With `hold` (a new referral), the agreements are found under a FOR SHARE lock held until
    the commit: a suspension or termination (which locks the row
    FOR UPDATE) either committed before, and the agreement is no longer found, or waits for
    this referral's commit and then cancels it with the others not yet started. Without the
    lock the referral, committed after the ending's sweep, stayed `requested` and shared
    under an agreement no longer in force. (An approval needs no `hold`: it locks its
    referral, which the ending's sweep waits for.)
    """
    agreements = active_agreements_covering(sender.id, recipient.id, service, now, hold=hold)
    if not agreements:
        # No agreement covers an unknown service either: looked up only to say which it is.
        if db.session.get(Service, service) is None:
            raise _field_error("service", f"Unknown service '{service}'.")
        raise Problem(
            422,
            NO_ACTIVE_AGREEMENT,
            f"No agreement in force between {sender.code} and {recipient.code} covers "
            f"'{service}' with {recipient.code} as its provider.",
            errors={"to": ["No active agreement covers this service with this recipient."]},
        )
    agreement = agreements[0]
    shareable = shareable_categories(client, agreement)
    outside = [c for c in categories if OUTSIDE_AGREEMENT in shareable.get(c, ())]
    if outside:
        raise Problem(
            422,
            DATA_CATEGORY_NOT_ALLOWED,
            f"Agreement {agreement.number} does not allow sharing: {', '.join(outside)}.",
            errors={"data_categories": [f"'{c}' is outside the agreement." for c in outside]},
            categories=outside,
            agreement_number=agreement.number,
        )
    return agreement


def shareable_categories(
    client: Client, agreement: Agreement, consent: Consent | None = None
) -> dict[str, list[str]]:
    """The one rule of what a referral may share: every category but demographics (always
    shared) -> the reasons it may not ([]: it may), in the order asked.

    OUTSIDE_AGREEMENT: the agreement does not allow it; OUTSIDE_CONSENT: the consent the
    referral rests on does not (an override rests on none); NOT_ON_RECORD: the client's record
    holds no such data; GUARDIAN_IS_ALLEGED_PERPETRATOR: the guardian is never shared as a
    contact. `send_referral` refuses by it and the portal's wizard offers by it.
    """
    out: dict[str, list[str]] = {}
    for category in SHAREABLE_CATEGORIES:
        reasons = []
        if category not in agreement.data_categories:
            reasons.append(OUTSIDE_AGREEMENT)
        if consent is not None and not clients.consent_allows(consent, category):
            reasons.append(OUTSIDE_CONSENT)
        refusal = clients.record_refusal(client, category)
        if refusal is not None:
            reasons.append(refusal)
        out[category] = reasons
    return out


def _require_shareable(
    client: Client, agreement: Agreement, consent: Consent | None, categories: list[str]
) -> None:
    """Refuse with data-category-not-allowed, each category's reasons on `data_categories`."""
    shareable = shareable_categories(client, agreement, consent)
    refused = {c: shareable[c] for c in categories if shareable.get(c)}
    if refused:
        raise Problem(
            422,
            DATA_CATEGORY_NOT_ALLOWED,
            f"These data categories cannot be shared: {', '.join(refused)}.",
            errors={
                "data_categories": [
                    _UNSHAREABLE_TEXTS[reason].format(category)
                    for category, reasons in refused.items()
                    for reason in reasons
                ]
            },
        )


def _share(actor: Actor, referral: Referral, how: str) -> None:
    """The referral reaches its recipient: the share is logged, both sides get
    referral.requested, the recipient's staff an e-mail."""
    shared = [c for c in referral.data_categories if c in PERSONAL_CATEGORIES]
    if shared:
        clients.record_disclosure(
            actor,
            referral.client,
            shared,
            basis=_basis(referral),
            context=f"referral:{referral.number} {how}",
            kind="share",
            to_organization_id=referral.recipient_organization_id,
        )
    emit(
        actor,
        "referral.requested",
        subject_type="referral",
        subject_id=referral.id,
        organizations=[referral.sender_organization_id, referral.recipient_organization_id],
        data=_event_data(referral),
    )
    notify_referral_received(
        referral.number,
        referral.recipient_organization_id,
        _link(referral),
        respond_by=referral.respond_by,
        urgency=referral.urgency,
    )


def approval_link(referral: Referral) -> str:
    """The supervisor's page of a waiting override."""
    return f"/referrals/approvals/{referral.id}"


# --- the override's approval -----------------------------------------------------------------


def _plan(action: str, side: str | None, referral: Referral) -> Transition:
    try:
        return plan_transition(action, side, referral.status)
    except TransitionRefused as refused:
        raise Problem(409, INVALID_TRANSITION, str(refused), status_now=referral.status) from None


def _flush_change() -> None:
    """Write a status change now: a concurrent change of the same row loses with 409."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Problem(
            409, INVALID_TRANSITION, "The referral changed meanwhile; read it again."
        ) from None


def _approval_subject(actor: Actor, referral_id: str, action: str) -> tuple[Referral, User]:
    """The waiting override and the supervisor deciding it: 404, 403, or 409, in that order."""
    _require_staff(actor)
    referral = get_referral_for(actor, referral_id, lock=True)
    side = side_of(actor, referral)
    if side != SENDER:
        _plan(action, side, referral)  # the recipient's side: 409, as for any sender's action
    supervisor = _require_approver(actor, referral)
    _plan(action, side, referral)
    return referral, supervisor


def approve_override(
    actor: Actor, referral_id: str, *, note: str | None = None, at: dt.datetime | None = None
) -> Referral:
    """An active supervisor of the sending unit approves a waiting override personally: it
    passes the agreement's gates again, now, and is sent (shared, announced, respond_by from
    now)."""
    referral, supervisor = _approval_subject(actor, referral_id, "approve")
    now = at or utcnow()
    agreement = _agreement_gates(
        referral.sender,
        referral.recipient,
        referral.service_code,
        list(referral.data_categories),
        now,
        referral.client,
    )
    before = referral.status
    referral.status = "requested"
    referral.agreement = agreement
    referral.respond_by = respond_by_for(now, agreement.response_hours, referral.urgency)
    referral.override_approved_by = supervisor
    referral.approval_status = APPROVAL_APPROVED
    referral.approval_decided_by = supervisor
    referral.approval_decided_at = now
    referral.updated_at = now
    _timeline(actor, referral, "override_approved", before, referral.status, note)
    _flush_change()
    audit.record(
        actor,
        "referral.override_approved",
        "referral",
        referral.id,
        {
            "number": referral.number,
            "recipient": referral.recipient.code,
            "service": referral.service_code,
            "agreement": agreement.id,
            "legal_basis": referral.legal_basis,
            "approved_by": supervisor.id,
            "requested_by": referral.created_by_user_id or referral.created_by_client_id,
            "data_categories": list(referral.data_categories),
        },
        subject_organization_id=referral.recipient_organization_id,
    )
    _share(actor, referral, "sent on approval")
    return referral


def decline_override(actor: Actor, referral_id: str, reason: str | None) -> Referral:
    """An active supervisor of the sending unit declines a waiting override: it is cancelled
    without ever reaching the recipient, who is not told."""
    referral, supervisor = _approval_subject(actor, referral_id, "decline-approval")
    if not (reason or "").strip():
        raise _field_error("reason", "A reason is required to decline an override.")
    now = utcnow()
    before = referral.status
    referral.status = "cancelled"
    referral.status_reason = reason
    referral.approval_status = APPROVAL_DECLINED
    referral.approval_decided_by = supervisor
    referral.approval_decided_at = now
    referral.updated_at = now
    _timeline(actor, referral, "override_declined", before, referral.status, reason)
    _flush_change()
    audit.record(
        actor,
        "referral.override_declined",
        "referral",
        referral.id,
        {
            "number": referral.number,
            "from": before,
            "to": referral.status,
            "requested_by": referral.created_by_user_id or referral.created_by_client_id,
        },
    )
    # The sender's machine clients learn their draft will not go; the recipient never does.
    emit(
        actor,
        "referral.cancelled",
        subject_type="referral",
        subject_id=referral.id,
        organizations=[referral.sender_organization_id],
        data=_event_data(referral, previous_status=before),
    )
    return referral


def pending_approvals_query(actor: Actor) -> Select:
    """The sending unit's overrides waiting for approval, oldest first (lines only)."""
    return (
        _lines_statement()
        .where(
            Referral.sender_organization_id == actor.organization_id,
            Referral.status == DRAFT,
        )
        .order_by(None)
        .order_by(Referral.created_at, Referral.id)
    )


def _basis(referral: Referral) -> str:
    return f"consent:{referral.consent_id}" if referral.consent_id else referral.legal_basis


# --- what each party sees ------------------------------------------------------------------


def visible_categories(
    referral: Referral,
    side: str | None,
    at: dt.datetime | None = None,
    *,
    reader: Actor | None = None,
    status: str | None = None,
) -> set:
    """The one rule of what a party sees of a referral's client.

    The sender (the client's unit) sees every category. The recipient sees the categories the
    sender chose, which were within agreement and consent when sent, while the referral is live
    or was carried out, and only while the consent it rests on is not withdrawn. Everyone else
    sees nothing (they get 404 before this is asked). `status` asks what the recipient would
    see in another status (the approval's preview of a draft as sent).

    Given the `reader`, its own right to read counts too (READ_RIGHT: the sender's token needs
    clients:read, the recipient's referrals:read; a person, or an app acting for one, a role
    that may): without it the reader sees the demographics only. Without a reader this is
    what the side's staff see (the recipient's view that a sender previews or prints).
    """
    if reader is not None and side in READ_RIGHT and not reader.has_scope(READ_RIGHT[side]):
        return {"demographics"}
    if side == SENDER:
        return {"demographics", *PERSONAL_CATEGORIES}
    if side != RECIPIENT:
        return set()
    if (status or referral.status) not in RECIPIENT_KEEPS_DATA:
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


def _holds_data(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_data(v) for v in value.values())
    return value not in (None, "", [], ())


def personal_categories_in(client_part: dict[str, Any]) -> list[str]:
    """The personal-data categories a view's client part actually holds (an empty contact,
    an absent guardian, case data never given: not shown, so not disclosed)."""
    return [c for c in PERSONAL_CATEGORIES if _holds_data(client_part.get(c))]


def _user_ref(user: User | None) -> dict[str, str] | None:
    return {"kind": "user", "id": user.id, "name": user.name} if user is not None else None


def _requested_by(referral: Referral) -> dict[str, str] | None:
    """Who sent the override for approval: a user, or a machine client (by its name)."""
    if referral.created_by_user_id:
        return _user_ref(db.session.get(User, referral.created_by_user_id))
    if referral.created_by_client_id:
        name = db.session.scalar(
            select(OAuthClient.name).where(OAuthClient.client_id == referral.created_by_client_id)
        )
        return {"kind": "client", "id": referral.created_by_client_id, "name": name or ""}
    return None


def approval_view(referral: Referral) -> dict[str, Any] | None:
    """An override's approval as its sender sees it; None for a referral on consent."""
    if referral.approval_status is None:
        return None
    declined = referral.approval_status == APPROVAL_DECLINED
    return {
        "status": referral.approval_status,
        "requested_by": _requested_by(referral),
        "decided_by": _user_ref(referral.approval_decided_by),
        "decided_at": referral.approval_decided_at,
        "reason": referral.status_reason if declined else None,
    }


def may_approve(actor: Actor, referral: Referral) -> bool:
    """Whether the actor may approve or decline this override now."""
    return (
        referral.status == DRAFT
        and acting_supervisor(actor, referral.sender_organization_id) is not None
    )


def referral_view(
    actor: Actor, referral: Referral, *, record: bool = True, as_sent: bool = False
) -> dict[str, Any]:
    """A referral as the actor may see it: its side's categories within its right to read.

    Every personal-data category the answer holds is logged as the actor's read (the
    sender's as the owner's, the recipient's on the referral's basis); `record=False` only
    for a view nobody is shown (a preview built for another party). `as_sent`: a waiting
    override as it will be once approved and sent (status requested, respond_by counted from
    now), which is what its supervisor previews before approving.
    """
    side = side_of(actor, referral)
    status = "requested" if as_sent else referral.status
    categories = visible_categories(referral, side, reader=actor, status=status)
    client_part = _client_part(referral, categories)
    shown_personal = personal_categories_in(client_part)
    if record and shown_personal:
        clients.record_disclosure(
            actor,
            referral.client,
            shown_personal,
            basis=_basis(referral) if side == RECIPIENT else "owner",
            context=f"referral:{referral.number} read",
            kind="read",
        )
    # The texts written about the client go with its personal data, never without it.
    personal = len(categories) > 1
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
        if side == SENDER and personal:
            override["justification"] = referral.override_justification
    agreement = referral.agreement
    respond_by = referral.respond_by
    if as_sent:
        respond_by = respond_by_for(utcnow(), agreement.response_hours, referral.urgency)
    approver = side == SENDER and may_approve(actor, referral)
    return {
        "id": referral.id,
        "number": referral.number,
        "status": status,
        "status_reason": referral.status_reason,
        "service": referral.service_code,
        "urgency": referral.urgency,
        "reason": referral.reason if personal else None,
        "sender": _org_ref(referral.sender),
        "recipient": _org_ref(referral.recipient),
        "agreement": {"id": agreement.id, "number": agreement.number, "kind": agreement.kind},
        "legal_basis": referral.legal_basis,
        "override": override,
        "data_categories": list(referral.data_categories),
        "client": client_part,
        "respond_by": respond_by,
        "overdue": is_overdue(referral),
        "outcome": referral.outcome,
        "outcome_summary": referral.outcome_summary,
        "sender_reference": referral.sender_reference if side == SENDER else None,
        "approval": approval_view(referral) if side == SENDER else None,
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "allowed_actions": allowed_actions(side, status, approver=approver),
        "appointments": [appointment_view(a) for a in referral.appointments],
    }


def referral_summary(actor: Actor, referral: Referral) -> dict[str, Any]:
    """A line of a list: no personal data for anyone (lists are not disclosures)."""
    side = side_of(actor, referral)
    # The hint only (lines load no user): the operation checks the supervisor on approval.
    approver = (
        side == SENDER
        and referral.status == DRAFT
        and actor.user_id is not None
        and actor.role == "supervisor"
    )
    return {
        "id": referral.id,
        "number": referral.number,
        "status": referral.status,
        "approval": referral.approval_status if side == SENDER else None,
        "service": referral.service_code,
        "urgency": referral.urgency,
        "sender": _org_ref(referral.sender),
        "recipient": _org_ref(referral.recipient),
        "client": clients.client_view(referral.client, []),
        "respond_by": referral.respond_by,
        "overdue": is_overdue(referral),
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "allowed_actions": allowed_actions(side, referral.status, approver=approver),
    }


#: What referral_summary reads of a referral and of its client.
_LINE_COLUMNS = (
    Referral.id,
    Referral.number,
    Referral.status,
    Referral.approval_status,
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
            lazyload(Referral.approval_decided_by),
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
    *,
    sender_reference: str | None = None,
    updated_since: dt.datetime | None = None,
    order: str = "respond_by",
) -> Select:
    """Sent or received referrals of the actor's organisation: overdue first, then newest.

    `order="updated_at"` is the order for syncing: least recently changed first, ties by id,
    so a partner paging through with `updated_since` (its last sync) sees each change once,
    in a stable order whatever the clock's resolution.

    `sender_reference` finds the sender's referrals by its own reference (after a timeout:
    was it made?). It is the sender's: a recipient's box refuses it, whether or not such a
    referral exists, so the filter tells a recipient nothing.
    """
    if sender_reference is not None and box != "sent":
        raise _field_error(
            "sender_reference",
            "A sender's own reference finds referrals in its sent box only (box=sent).",
        )
    column = (
        Referral.sender_organization_id if box == "sent" else Referral.recipient_organization_id
    )
    query = _lines_statement().where(column == actor.organization_id)
    if sender_reference is not None:
        query = query.where(Referral.sender_reference == sender_reference)
    if box != "sent":
        # What never reached the recipient is not in its lists, nor in their counts.
        query = query.where(_REACHED_RECIPIENT)
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
    if updated_since is not None:
        query = query.where(Referral.updated_at >= updated_since)
    if order == "updated_at":
        query = query.order_by(None).order_by(Referral.updated_at, Referral.id)
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
    transition = _plan(action, side, referral)
    if transition.by_approver:
        # Approving shares and declining hides: approve_override / decline_override do that.
        raise Problem(
            409, INVALID_TRANSITION, f"'{action}' is an override's approval, not a status change."
        )
    _refuse_start_without_agreement(referral, action)
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
    _flush_change()
    audit.record(
        actor,
        f"referral.{action}",
        "referral",
        referral.id,
        {"number": referral.number, "from": before, "to": transition.target, "outcome": outcome},
        subject_organization_id=(
            referral.sender_organization_id
            if side == RECIPIENT
            # An override declined before it was sent stays the sender's alone.
            else referral.recipient_organization_id
            if reached_recipient(referral)
            else None
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
    told = [referral.sender_organization_id]
    if reached_recipient(referral):
        told.append(referral.recipient_organization_id)
    emit(
        actor,
        event_type,
        subject_type="referral",
        subject_id=referral.id,
        organizations=told,
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


def _check_session_time(referral: Referral, starts_at: dt.datetime) -> None:
    """A session of a referral cannot start before the referral was sent (nor at a time
    that has no instant in UTC, years 1 to 9999: a legal offset on the first or last day)."""
    try:
        starts_at.astimezone(dt.UTC)
    except OverflowError:
        message = "Not a time the hub can keep: give a date between the years 1 and 9999."
        raise _field_error("starts_at", message) from None
    if starts_at < referral.created_at:
        message = "A session cannot start before the referral was sent."
        raise Problem(
            422,
            "validation-error",
            message,
            errors={"starts_at": [message]},
            sent_at=referral.created_at.isoformat(),
        )


def schedule_appointment(actor: Actor, referral_id: str, data: dict[str, Any]) -> Appointment:
    """The recipient schedules a session of an accepted or running referral."""
    _require_staff(actor)
    referral = get_referral_for(actor, referral_id, lock=True)
    side = side_of(actor, referral)
    if side != RECIPIENT:
        raise Problem(409, INVALID_TRANSITION, "Only the recipient schedules appointments.")
    if not appointment_schedulable(side, referral.status):
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"A referral that is '{referral.status}' takes no appointments.",
        )
    _check_session_time(referral, data["starts_at"])
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
    if "starts_at" in data:
        _check_session_time(referral, data["starts_at"])
    starts_at = data.get("starts_at", appointment.starts_at)
    if data.get("status") in ("attended", "no_show") and starts_at > utcnow():
        raise Problem(
            409,
            INVALID_TRANSITION,
            "The session has not started yet: attendance is recorded once it has.",
            starts_at=starts_at.isoformat(),
        )
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


# --- cancellations the hub makes: consent withdrawn, agreement ended; and overdue ---------


def _cancel_referrals(actor: Actor, where: Any, statuses: frozenset[str], reason: str) -> None:
    """Cancel the referrals matching `where` in one of `statuses`, for `reason`.

    The hub's own cancellations (not the sender's `cancel` action), each as the party or the
    system whose act caused it: the timeline, the audit log, `referral.cancelled` to both
    organisations, and an e-mail to the recipient with the number and the reason only.
    """
    referrals = db.session.scalars(
        select(Referral)
        .where(where, Referral.status.in_(statuses))
        .order_by(Referral.created_at, Referral.id)
        .with_for_update(of=Referral)
    ).all()
    now = utcnow()
    for referral in referrals:
        before = referral.status
        referral.status = "cancelled"
        referral.status_reason = reason
        referral.updated_at = now
        _timeline(actor, referral, "cancel", before, "cancelled", reason)
        # An override still waiting for its supervisor never reached the recipient: only the
        # sender hears of its end.
        reached = reached_recipient(referral)
        audit.record(
            actor,
            "referral.cancel",
            "referral",
            referral.id,
            {"number": referral.number, "from": before, "reason": reason},
            subject_organization_id=(
                referral.sender_organization_id
                if actor.organization_id == referral.recipient_organization_id or not reached
                else referral.recipient_organization_id
            ),
        )
        told = [referral.sender_organization_id]
        if reached:
            told.append(referral.recipient_organization_id)
        emit(
            actor,
            "referral.cancelled",
            subject_type="referral",
            subject_id=referral.id,
            organizations=told,
            data=_event_data(referral, previous_status=before, reason=reason),
        )
        if reached:
            notify_referral_cancelled(
                referral.number, referral.recipient_organization_id, reason, _link(referral)
            )


def cancel_referrals_on_withdrawn_consent(consent: Consent, *, actor: Actor) -> None:
    """Open referrals resting on a withdrawn consent are cancelled at once; recipients are told.

    Receives `clients.signals.consent_withdrawn`.
    """
    _cancel_referrals(actor, Referral.consent_id == consent.id, OPEN_STATUSES, "consent_withdrawn")
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


#: Endings the calendar brings (not a party's act): a referral that another agreement in
#: force still covers, typically the renewal, carries on.
_CALENDAR_ENDINGS = ("agreement.expired", "agreement.superseded")


def _still_covered(referral: Referral, at: dt.datetime | None = None) -> bool:
    """True when an agreement in force covers the referral (recipient providing its service)."""
    return bool(
        active_agreements_covering(
            referral.sender_organization_id,
            referral.recipient_organization_id,
            referral.service_code,
            at,
        )
    )


def cancel_referrals_under_ended_agreement(
    agreement: Agreement, *, actor: Actor, how: str, at: dt.datetime | None = None
) -> None:
    """Agreements that end stop what has not started: referrals under it that are not yet
    accepted are cancelled (`agreement_ended`); accepted ones run to their close.

    Receives `agreements.signals.agreement_ended`. Suspension and termination are a party's
    decision and cancel them all; at expiry or supersession, those another agreement in force
    still covers (a renewal) carry on.
    """
    where = Referral.agreement_id == agreement.id
    if how in _CALENDAR_ENDINGS:
        ended = [
            referral.id
            for referral in db.session.scalars(
                select(Referral).where(where, Referral.status.in_(NOT_STARTED_STATUSES))
            )
            if not _still_covered(referral, at)
        ]
        where = Referral.id.in_(ended)
    _cancel_referrals(actor, where, NOT_STARTED_STATUSES, "agreement_ended")


def _refuse_start_without_agreement(referral: Referral, action: str) -> None:
    """Past its agreement's end (the sweep has not written it yet) a referral is not accepted."""
    if (
        action == "accept"
        and referral.status in NOT_STARTED_STATUSES
        and not covers_at(referral.agreement)
        and not _still_covered(referral)
    ):
        raise Problem(
            409,
            AGREEMENT_ENDED,
            "The agreement this referral was sent under is no longer in force; "
            "the referral is being cancelled.",
            status_now=referral.status,
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
