"""What the referral lists (sent, received, waiting for approval) share: counts and filters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from referral_hub.extensions import db
from referral_hub.portal.filters import day, read_filters
from referral_hub.referrals.lifecycle import STATUSES


def count_of(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def list_filters() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The filters of a referral list (sent or received) from the query string: status,
    lateness, number, partner, service and the days it was made; and their errors: a value
    that is not understood is refused and not applied."""
    return read_filters(
        text=("number", "partner", "service"),
        choices={"status": STATUSES},
        dates=("created_from", "created_until"),
        flags=("overdue",),
    )


def query_filters(values: dict[str, Any]) -> dict[str, Any]:
    """The arguments of referrals_query for the filters read by list_filters."""
    return {
        "status": values["status"] or None,
        "overdue": True if values["overdue"] else None,
        "number": values["number"] or None,
        "partner": values["partner"] or None,
        "service": values["service"] or None,
        "created_from": day(values["created_from"]),
        "created_until": day(values["created_until"]),
    }


def partner_options(actor_organization_id: str, box: str) -> list[tuple[str, str]]:
    """The organisations on the other side of the unit's sent (or received) referrals."""
    from referral_hub.directory.models import Organization
    from referral_hub.referrals.models import Referral

    mine, other = (
        (Referral.sender_organization_id, Referral.recipient_organization_id)
        if box == "sent"
        else (Referral.recipient_organization_id, Referral.sender_organization_id)
    )
    rows = db.session.execute(
        select(Organization.id, Organization.name)
        .where(Organization.id.in_(select(other).where(mine == actor_organization_id)))
        .order_by(Organization.name)
    )
    return [(row.id, row.name) for row in rows]


def service_options() -> list[tuple[str, str]]:
    """Every service of the directory, in its order, named in the reader's language."""
    from referral_hub.directory.models import Service
    from referral_hub.portal.code_names import service_name

    services = db.session.scalars(select(Service).order_by(Service.position, Service.code))
    return [(s.code, service_name(s)) for s in services]
