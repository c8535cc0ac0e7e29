"""The gates a referral passes: an agreement in force, and what may be shared.

`agreement_gates` finds the agreement a referral travels on (in force, covering the service
with the recipient as provider, allowing every category); `shareable_categories` is the
one rule of what a referral may share (agreement, consent, the client's record), by which
sending refuses and the portal's wizard offers. `respond_by_for` is the answer's deadline.
"""

from __future__ import annotations

import datetime as dt

from referral_hub.agreements.models import Agreement
from referral_hub.agreements.operations import active_agreements_covering
from referral_hub.categories import SHAREABLE_CATEGORIES
from referral_hub.clients import operations as clients
from referral_hub.clients.models import Client, Consent
from referral_hub.directory.models import Service
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.access import field_error

NO_ACTIVE_AGREEMENT = register_problem(
    "no-active-agreement", "No active agreement covers this service with this recipient"
)
DATA_CATEGORY_NOT_ALLOWED = clients.DATA_CATEGORY_NOT_ALLOWED
#: Urgent referrals are answered within a day at most, emergencies within two hours.
URGENCY_CAP_HOURS = {"routine": None, "urgent": 24, "emergency": 2}
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


def respond_by_for(created_at: dt.datetime, response_hours: int, urgency: str) -> dt.datetime:
    """The agreement's response time, shortened for urgent and emergency referrals."""
    hours = response_hours
    cap = URGENCY_CAP_HOURS[urgency]
    if cap is not None:
        hours = min(hours, cap)
    return created_at + dt.timedelta(hours=hours)


def agreement_gates(
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
            raise field_error("service", f"Unknown service '{service}'.")
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


def still_covered(referral: Referral, at: dt.datetime | None = None) -> bool:
    """True when an agreement in force covers the referral (recipient providing its service)."""
    return bool(
        active_agreements_covering(
            referral.sender_organization_id,
            referral.recipient_organization_id,
            referral.service_code,
            at,
        )
    )


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


def require_shareable(
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
