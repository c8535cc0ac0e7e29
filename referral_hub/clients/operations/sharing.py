"""What a consent allows a referral: in force, the child's assent, recipient, service, data.

`consent_problems` lists every reason a consent does not allow sending some categories to
a recipient for a service; `require_consent_covers` raises the first. A child's refusal of
assent blocks sharing from ASSENT_AGE on (`assent_blocks_sharing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from referral_hub.categories import ALWAYS_SHARED
from referral_hub.clients.models import ASSENT_AGE, Consent, local_today
from referral_hub.problems import Problem, register_problem

CONSENT_WITHDRAWN = register_problem("consent-withdrawn", "The consent was withdrawn")
CONSENT_EXPIRED = register_problem("consent-expired", "The consent has expired")
CHILD_ASSENT_REFUSED = register_problem(
    "child-assent-refused", "The child refused assent to sharing on this consent"
)
CONSENT_NOT_COVERING = register_problem(
    "consent-not-covering", "The consent does not cover this recipient or service"
)
DATA_CATEGORY_NOT_ALLOWED = register_problem(
    "data-category-not-allowed", "A requested data category is not allowed"
)


def assent_blocks_sharing(consent: Consent, at: dt.datetime | None = None) -> bool:
    """Whether the child's refusal of assent stops sharing on `consent` at `at` (default now).

    The refusal is always recorded; it blocks from the child's ASSENT_AGE birthday on, by
    the age at the time of use, not when the consent was given (DOMAIN.md).
    """
    if consent.child_assent is not False:
        return False
    return consent.client.age(local_today(at)) >= ASSENT_AGE


def consent_problems(
    consent: Consent,
    *,
    recipient_org_id: str,
    service_code: str,
    categories: Iterable[str],
    at: dt.datetime | None = None,
) -> list[Problem]:
    """Why `consent` does not allow sending `categories` to a recipient for a service ([]: it does).

    In order: consent-withdrawn, consent-expired, child-assent-refused (the child refused
    and is ASSENT_AGE or older at `at`; errors on `consent`), consent-not-covering (recipient
    or service outside; errors on `to` / `service`), data-category-not-allowed (errors on
    `data_categories`). "demographics" is always allowed.
    """
    problems: list[Problem] = []
    status = consent.status(at)
    if status == "withdrawn":
        problems.append(Problem(422, CONSENT_WITHDRAWN, "The client's consent was withdrawn."))
    elif status == "expired":
        problems.append(
            Problem(
                422,
                CONSENT_EXPIRED,
                f"The client's consent held until {consent.valid_until.isoformat()}.",
                valid_until=consent.valid_until.isoformat(),
            )
        )
    if assent_blocks_sharing(consent, at):
        problems.append(
            Problem(
                422,
                CHILD_ASSENT_REFUSED,
                f"The child refused assent to this consent, and from age {ASSENT_AGE} a "
                "child's refusal blocks sharing on consent; a supervisor may still send on a "
                "legal basis.",
                errors={"consent": ["The child refused assent."]},
            )
        )
    outside: dict[str, list[str]] = {}
    if recipient_org_id not in consent.recipient_ids:
        outside["to"] = ["The consent does not name this recipient."]
    if service_code not in consent.services:
        outside["service"] = ["The consent does not cover this service."]
    if outside:
        problems.append(
            Problem(
                422,
                CONSENT_NOT_COVERING,
                "The consent does not cover this recipient or service.",
                errors=outside,
            )
        )
    extra = [c for c in dict.fromkeys(categories) if not consent_allows(consent, c)]
    if extra:
        problems.append(
            Problem(
                422,
                DATA_CATEGORY_NOT_ALLOWED,
                "The consent does not allow: " + ", ".join(extra) + ".",
                errors={"data_categories": [f"'{c}' is outside the consent." for c in extra]},
                categories=list(extra),
            )
        )
    return problems


def consent_allows(consent: Consent, category: str) -> bool:
    """Whether the consent allows sharing `category` (demographics always)."""
    return category == ALWAYS_SHARED or category in consent.data_categories


def require_consent_covers(
    consent: Consent,
    *,
    recipient_org_id: str,
    service_code: str,
    categories: Iterable[str],
    at: dt.datetime | None = None,
) -> None:
    """Raise the first of `consent_problems`, if any."""
    problems = consent_problems(
        consent,
        recipient_org_id=recipient_org_id,
        service_code=service_code,
        categories=categories,
        at=at,
    )
    if problems:
        raise problems[0]
