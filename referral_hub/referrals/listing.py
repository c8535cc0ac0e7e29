"""What the referral lists (sent, received, waiting for approval) share: counts and filters."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from referral_hub.extensions import db
from referral_hub.referrals.lifecycle import STATUSES


def count_of(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def list_filters() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The status and lateness filters of a referral list (sent or received) from the query
    string, and their errors: an unknown status is refused and not applied."""
    values = {
        "status": (request.args.get("status") or "").strip(),
        "overdue": request.args.get("overdue") in ("1", "on"),
    }
    errors: dict[str, list[str]] = {}
    if values["status"] and values["status"] not in STATUSES:
        errors["status"] = [_("Pilih status dari daftar.")]
        values["status"] = ""
    return values, errors
