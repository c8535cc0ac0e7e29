"""Sending a referral: through every gate, on consent or as an override.

On consent the referral goes at once. Without consent it rests on a legal basis: sent at
once only by a supervisor of the unit acting personally, otherwise kept as a draft that
waits for one (approval.py). A referral that goes reaches its recipient by `share`: the
share logged as a disclosure, `referral.requested` to both sides, an e-mail to the
recipient's staff.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.categories import ALWAYS_SHARED, PERSONAL_CATEGORIES
from referral_hub.clients import operations as clients
from referral_hub.clients.models import Consent, local_today
from referral_hub.db import utcnow
from referral_hub.delivery.notifications import notify_approval_pending, notify_referral_received
from referral_hub.delivery.outbox import emit
from referral_hub.directory.operations import require_organization
from referral_hub.extensions import db
from referral_hub.problems import Problem
from referral_hub.referrals.lifecycle import DRAFT
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.access import (
    APPROVAL_APPROVED,
    APPROVAL_PENDING,
    acting_supervisor,
    field_error,
    require_staff,
)
from referral_hub.referrals.operations.gates import (
    agreement_gates,
    require_shareable,
    respond_by_for,
)
from referral_hub.referrals.operations.record import (
    add_to_timeline,
    approval_link,
    basis_of,
    event_data,
    portal_link,
)

NUMBER_PREFIX = "RJ"


def _check_named_approver(actor: Actor, approved_by: str | None) -> None:
    """`approved_by` may name the caller only: an override is approved by a supervisor
    acting personally, never by being named (a machine client names no one)."""
    if not approved_by:
        return
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    named = approved_by.strip()
    if user is not None and (named == user.id or named.lower() == user.email):
        return
    raise field_error(
        "approved_by",
        "approved_by may only name the caller: an override is approved by the "
        "supervisor personally, not named. Leave it out; the referral waits for approval.",
    )


def send_referral(actor: Actor, data: dict[str, Any], at: dt.datetime | None = None) -> Referral:
    """Send a client to a partner: only along an agreement in force that covers the service with
    the recipient as provider, only with consent covering recipient, service and categories (or
    a supervisor-approved legal basis), sharing only what agreement and consent both allow."""
    require_staff(actor)
    now = at or utcnow()
    sender = require_organization(actor.organization_id or "", "to")
    if sender.type != "uptd_ppa":
        raise Problem(
            403, clients.NOT_A_UPTD, "Only UPTD PPA units send referrals.", reason="sends-referrals"
        )
    client = clients.find_client_of(actor, data["client"])
    if client is None:
        raise field_error("client", f"No client '{data['client']}' of your organisation.")
    clients.require_not_erased(client)
    recipient = require_organization(data["to"], "to")
    if recipient.id == sender.id:
        raise field_error("to", "A unit does not refer to itself.")
    categories = list(dict.fromkeys([ALWAYS_SHARED, *data.get("data_categories", [])]))
    agreement = agreement_gates(
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
    require_shareable(client, agreement, consent, categories)
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

    add_to_timeline(
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
        share(actor, referral, "sent")
    return referral


def share(actor: Actor, referral: Referral, how: str) -> None:
    """The referral reaches its recipient: the share is logged, both sides get
    referral.requested, the recipient's staff an e-mail."""
    shared = [c for c in referral.data_categories if c in PERSONAL_CATEGORIES]
    if shared:
        clients.record_disclosure(
            actor,
            referral.client,
            shared,
            basis=basis_of(referral),
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
        data=event_data(referral),
    )
    notify_referral_received(
        referral.number,
        referral.recipient_organization_id,
        portal_link(referral),
        respond_by=referral.respond_by,
        urgency=referral.urgency,
    )
