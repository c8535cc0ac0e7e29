"""What the referral lists (sent, received, waiting for approval) share: counts and filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request
from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from referral_hub.extensions import db
from referral_hub.referrals.lifecycle import STATUSES


def count_of(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def list_filters() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The filters of a referral list (sent or received) from the query string: status,
    lateness, number, partner, service and the days it was made; and their errors: a value
    that is not understood is refused and not applied."""
    text = {
        name: (request.args.get(name) or "").strip()[:100]
        for name in ("status", "number", "partner", "service", "created_from", "created_until")
    }
    values: dict[str, Any] = {**text, "overdue": request.args.get("overdue") in ("1", "on")}
    errors: dict[str, list[str]] = {}
    if values["status"] and values["status"] not in STATUSES:
        errors["status"] = [_("Pilih status dari daftar.")]
        values["status"] = ""
    for name in ("created_from", "created_until"):
        if values[name]:
            try:
                dt.date.fromisoformat(values[name])
            except ValueError:
                errors[name] = [_("Tulis tanggal seperti 2026-12-31.")]
                values[name] = ""
    return values, errors


def query_filters(values: dict[str, Any]) -> dict[str, Any]:
    """The arguments of referrals_query for the filters read by list_filters."""
    return {
        "status": values["status"] or None,
        "overdue": True if values["overdue"] else None,
        "number": values["number"] or None,
        "partner": values["partner"] or None,
        "service": values["service"] or None,
        "created_from": _day(values["created_from"]),
        "created_until": _day(values["created_until"]),
    }


def _day(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


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
