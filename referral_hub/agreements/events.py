"""Agreement events for partner systems: the bridge from the registry to the delivery outbox.

The registry sends `signals.agreement_changed` inside the transaction of each change;
`publish`, its receiver (connected by `referral_hub.receivers`), turns those of API.md's
event types (agreement.signed, .activated, .expiring, .expired) into outbox events
addressed to every party, so they reach the events feed and webhooks exactly when the
change commits. Types the outbox does not know are left out (it refuses them), so adding
one there is enough to publish it. Events carry ids, the agreement number, statuses and
dates: never titles, notes or signatories' names.
"""

from __future__ import annotations

from typing import Any

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement


def event_data(event_type: str, agreement: Agreement, actor: Actor) -> dict[str, Any]:
    """What a partner needs to act on the event; the detail is one GET away."""
    from referral_hub.agreements.operations.status import effective_status

    codes = {p.organization_id: p.organization.code for p in agreement.parties}
    data: dict[str, Any] = {
        "id": agreement.id,
        "number": agreement.number,
        "kind": agreement.kind,
        "version": agreement.version,
        "status": effective_status(agreement),
        "effective_from": agreement.effective_from,
        "expires_on": agreement.expires_on,
        "supersedes": agreement.supersedes_id,
        "parties": list(codes.values()),
    }
    if event_type == "agreement.signed":
        # The signature just added: on the hub by the actor's organisation, or recorded on
        # paper (by another party or the hub operator) for the party that signed.
        latest = agreement.signatures[-1] if agreement.signatures else None
        data["signed_by"] = codes.get(latest.organization_id if latest else actor.organization_id)
        data["signature_method"] = latest.method if latest else "hub"
        data["awaiting_signature_from"] = [
            code for org_id, code in codes.items() if org_id not in agreement.signed_party_ids
        ]
    if event_type == "agreement.expiring":
        data["window_days"] = agreement.expiry_notice_days
    return data


def publish(agreement: Agreement, *, actor: Actor, how: str) -> None:
    """Add the event to the outbox in the current transaction (if the outbox knows its type).

    Receives `agreement_changed`.
    """
    from referral_hub.delivery import outbox

    event_type = how
    if event_type not in outbox.EVENT_TYPES:
        return
    data = event_data(event_type, agreement, actor)
    try:
        outbox.check_event_data(data)
    except outbox.PersonalDataInEvent:
        # An agreement number that happens to look like a phone number or NIK: leave it out
        # rather than refuse the signature; the id still leads to the agreement.
        data.pop("number")
    outbox.emit(
        actor,
        event_type,
        subject_type="agreement",
        subject_id=agreement.id,
        organizations=list(agreement.party_ids),
        data=data,
    )
