"""Paper signatures: a party that signed on paper, recorded by someone else, answered by it.

Many partners (police, courts, village offices) sign the agreement on paper and are not on
the hub, or not yet. An administrator of *another* party, or of the hub operator, records
that the party signed, with the uploaded signed scan (a PDF kept like any agreement
document, with its SHA-256) and the date on the paper. A party on the hub signs on the hub:
recording one's own organisation's signature on paper is refused.

A paper signature counts like a signature on the hub: the last one brings the agreement
into force. The party, once on the hub, answers it: it confirms it, or disputes it with a
reason. A disputed signature no longer counts; an agreement in force is suspended (through
the lifecycle table's `suspend`), one signed but not yet in force goes back to draft, and
the other parties' administrators are told by e-mail. It cannot be resumed while the dispute
stands (lifecycle); the party settles it by confirming, or the parties terminate.

Every step is audited for every party; the recording is also the `agreement.signed` event.
"""

from __future__ import annotations

import datetime as dt
from typing import BinaryIO

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement, AgreementSignature
from referral_hub.agreements.operations.access import get_agreement, may_change
from referral_hub.agreements.operations.content import content_sha256
from referral_hub.agreements.operations.documents import keep_document
from referral_hub.agreements.operations.lifecycle import (
    TRANSITIONS,
    activate,
    materialise,
    plan_transition,
    refuse_transition,
)
from referral_hub.agreements.operations.paper_access import (
    may_record_paper,
)
from referral_hub.agreements.operations.record import audit_change, emit, touch
from referral_hub.agreements.operations.status import effective_status, local_date
from referral_hub.db import utcnow
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

NOT_ALLOWED = register_problem(
    "paper-signature-not-allowed",
    "Only an administrator of another party or of the hub operator records a paper signature",
)
OWN_SIGNATURE = register_problem(
    "own-signature-on-paper", "Your own organisation signs on the hub, not on paper"
)
NOT_A_PARTY = register_problem("not-a-party", "The organisation is not a party to the agreement")
PARTY_SIGNED = register_problem(
    "party-already-signed", "The organisation has already signed the agreement"
)
NOT_YOURS = register_problem(
    "not-your-signature", "Only the organisation that signed answers its paper signature"
)
ANSWERED = register_problem(
    "signature-already-answered", "The paper signature has already been answered"
)

#: Statuses in which a party may still dispute its paper signature.
DISPUTABLE = frozenset({"draft", "signed", "active", "suspended"})


def answerable_signature(actor: Actor, agreement: Agreement) -> AgreementSignature | None:
    """The actor's organisation's paper signature it may still confirm or dispute."""
    if not may_change(actor, agreement) or actor.is_system:
        return None
    return next(
        (
            s
            for s in agreement.signatures
            if s.organization_id == actor.organization_id
            and s.method == "paper"
            and s.confirmation in ("pending", "disputed")
        ),
        None,
    )


def _party(agreement: Agreement, party: str) -> str:
    org = find_organization(party)
    if org is None or org.id not in agreement.party_ids:
        raise Problem(
            422,
            NOT_A_PARTY,
            f"'{party}' is not a party to this agreement.",
            errors={"organization": ["Not a party to this agreement."]},
            organization=party,
        )
    return org.id


def _count(actor: Actor, agreement: Agreement, now: dt.datetime) -> bool:
    """After a signature started to count: the agreement is signed (and in force from its
    start date) once every party's counts. Returns whether all have signed."""
    all_signed = set(agreement.party_ids) <= agreement.signed_party_ids
    if all_signed and agreement.status == "draft":
        agreement.fully_signed_at = now
        agreement.status = "signed"
    return all_signed


def record_paper_signature(
    actor: Actor,
    agreement_id: str,
    *,
    party: str,
    signed_on: dt.date,
    document: str | None = None,
    filename: str | None = None,
    stream: BinaryIO | None = None,
    signatory_name: str | None = None,
    signatory_title: str | None = None,
) -> Agreement:
    """Record that `party` signed on paper, with the scan: a document of the agreement
    (`document`, its id) or the PDF uploaded now (`stream`)."""
    agreement = get_agreement(actor, agreement_id, lock=True)
    in_it = actor.is_system or actor.is_hub_operator or actor.organization_id in agreement.party_ids
    if not (may_record_paper(actor) and in_it):
        raise Problem(
            403,
            NOT_ALLOWED,
            "Only an administrator of another party, or of the hub operator, records that a "
            "party signed on paper.",
        )
    party_id = _party(agreement, party)
    if party_id == actor.organization_id:
        raise Problem(
            422,
            OWN_SIGNATURE,
            "Your organisation is on the hub: sign the agreement on the hub instead.",
            errors={"organization": ["Your own organisation signs on the hub."]},
        )
    now = utcnow()
    materialise(agreement, now)
    status = effective_status(agreement, now)
    if status not in TRANSITIONS["sign"].sources:
        raise refuse_transition(agreement, "signed", status)
    if local_date(now) > agreement.expires_on:
        raise refuse_transition(agreement, "signed", "expired")
    if any(s.organization_id == party_id for s in agreement.signatures):
        raise Problem(
            409,
            PARTY_SIGNED,
            "This organisation has already signed the agreement.",
            organization=party,
        )
    if signed_on > local_date(now):
        raise Problem(
            422,
            "validation-error",
            "The date of signing cannot be in the future.",
            errors={"signed_on": ["Cannot be in the future."]},
        )
    if stream is not None:
        scan = keep_document(actor, agreement, filename=filename, stream=stream)
    else:
        scan = next((d for d in agreement.documents if d.id == document), None)
        if scan is None:
            raise Problem(
                422,
                "validation-error",
                "Give the signed scan: the id of a PDF uploaded to this agreement.",
                errors={"document": ["Not a document of this agreement."]},
            )
    digest = content_sha256(agreement)
    signature = AgreementSignature(
        organization_id=party_id,
        actor_kind=actor.kind,
        user_id=actor.user_id,
        client_id=actor.client_id,
        actor_label=actor.label,
        signed_at=now,
        content_sha256=digest,
        method="paper",
        recorded_by_organization_id=actor.organization_id,
        document_id=scan.id,
        signed_on=signed_on,
        signatory_name=(signatory_name or "").strip() or None,
        signatory_title=(signatory_title or "").strip() or None,
        confirmation="pending",
    )
    agreement.signatures.append(signature)
    db.session.flush()
    touch(agreement, now)
    all_signed = _count(actor, agreement, now)
    audit_change(
        actor,
        "agreement.paper_signature_recorded",
        agreement,
        {
            "organization": party_id,
            "signed_on": signed_on,
            "document": scan.id,
            "sha256": scan.sha256,
            "content_sha256": digest,
            "all_signed": all_signed,
            "status": agreement.status,
        },
    )
    emit("agreement.signed", agreement, actor)
    if all_signed and local_date(now) >= agreement.effective_from:
        activate(agreement, actor, now, now)
    return agreement


def _own_paper_signature(actor: Actor, agreement: Agreement, party: str) -> AgreementSignature:
    party_id = _party(agreement, party)
    if not may_change(actor, agreement) or party_id != actor.organization_id:
        raise Problem(
            403,
            NOT_YOURS,
            "Only an administrator or a supervisor of the organisation that signed answers "
            "its paper signature.",
        )
    signature = next(
        (s for s in agreement.signatures if s.organization_id == party_id and s.method == "paper"),
        None,
    )
    if signature is None:
        raise Problem(
            404,
            "not-found",
            "No paper signature of this organisation.",
            reason="no-paper-signature",
        )
    return signature


def _answered(signature: AgreementSignature, actor: Actor, now: dt.datetime, state: str) -> None:
    signature.confirmation = state
    signature.answered_at = now
    signature.answered_by_user_id = actor.user_id
    signature.answered_by_client_id = actor.client_id
    signature.answered_by_label = actor.label


def confirm_paper_signature(actor: Actor, agreement_id: str, *, party: str) -> Agreement:
    """The party confirms its paper signature (also to settle its own dispute)."""
    agreement = get_agreement(actor, agreement_id, lock=True)
    signature = _own_paper_signature(actor, agreement, party)
    if signature.confirmation == "confirmed":
        raise Problem(409, ANSWERED, "This paper signature has already been confirmed.")
    was = signature.confirmation
    now = utcnow()
    materialise(agreement, now)
    _answered(signature, actor, now, "confirmed")
    signature.dispute_reason = None
    touch(agreement, now)
    all_signed = _count(actor, agreement, now)
    audit_change(
        actor,
        "agreement.paper_signature_confirmed",
        agreement,
        {"organization": signature.organization_id, "was": was, "status": agreement.status},
    )
    settled = was == "disputed" and all_signed and agreement.status == "signed"
    if settled and local_date(now) >= agreement.effective_from:
        activate(agreement, actor, now, now)
    return agreement


def dispute_paper_signature(
    actor: Actor, agreement_id: str, *, party: str, reason: str
) -> Agreement:
    """The party says it did not sign this: the signature stops counting, the agreement is
    suspended (or back to draft if not yet in force), and the other parties are told."""
    reason = (reason or "").strip()
    if not reason:
        raise Problem(
            422, "validation-error", "Give a reason.", errors={"reason": ["Give a reason."]}
        )
    agreement = get_agreement(actor, agreement_id, lock=True)
    signature = _own_paper_signature(actor, agreement, party)
    if signature.confirmation != "pending":
        raise Problem(
            409,
            ANSWERED,
            f"This paper signature has already been {signature.confirmation}.",
            confirmation=signature.confirmation,
        )
    now = utcnow()
    materialise(agreement, now)
    status = effective_status(agreement, now)
    if status not in DISPUTABLE:
        raise refuse_transition(agreement, "disputed", status)
    _answered(signature, actor, now, "disputed")
    signature.dispute_reason = reason
    touch(agreement, now)
    audit_change(
        actor,
        "agreement.paper_signature_disputed",
        agreement,
        {"organization": signature.organization_id, "reason": reason, "was": status},
    )
    if status == "active":
        transition = plan_transition(actor, agreement, "suspend", status)
        agreement.status = transition.target
        agreement.status_reason = reason
        audit_change(actor, "agreement.suspended", agreement, {"reason": reason})
        emit("agreement.suspended", agreement, actor)
    elif status == "signed":
        # Not in force yet: no longer signed by every party.
        agreement.status = "draft"
        agreement.fully_signed_at = None
    _notify_dispute(agreement, signature)
    return agreement


def _notify_dispute(agreement: Agreement, signature: AgreementSignature) -> None:
    from flask import url_for

    from referral_hub.delivery.notifications import notify_signature_disputed

    told = [pid for pid in agreement.party_ids if pid != signature.organization_id]
    recorder = signature.recorded_by_organization_id
    if recorder and recorder != signature.organization_id and recorder not in told:
        told.append(recorder)
    link = url_for("agreements_portal.detail", agreement_id=agreement.id)
    for org_id in told:
        notify_signature_disputed(agreement.number, org_id, link)
