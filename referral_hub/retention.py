"""How long a unit keeps its clients' records, and which records are past it (UU PDP Pasal 16:
personal data is kept no longer than needed). docs/data-retention.md explains the rule.

A record is due when the client has no open work and the client's last work (registration,
the last change of a referral, the closing of a case) is older than the unit's period: its
own `Organization.client_retention_years`, else HUB_CLIENT_RETENTION_YEARS. The hub never
erases by itself: a supervisor or administrator erases with reason `retention_period_ended`.

Here, above clients, referrals and cases, because it reads all three.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.cases.models import Case
from referral_hub.clients.models import Client
from referral_hub.clients.operations.rights import open_work_of
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral


def retention_years(organization: Organization) -> int:
    """The unit's period in years: its own, else the hub's default."""
    own = organization.client_retention_years
    return own if own is not None else int(current_app.config["HUB_CLIENT_RETENTION_YEARS"])


def set_retention_years(actor: Actor, organization: Organization, years: int | None) -> None:
    """Give the unit its own period (None: back to the hub's default); audited."""
    if years is not None and not 1 <= years <= 100:
        raise ValueError("a retention period is 1 to 100 years")
    before = organization.client_retention_years
    organization.client_retention_years = years
    audit.record(
        actor,
        "organization.retention_changed",
        "organization",
        organization.id,
        {"code": organization.code, "before": before, "after": years},
        subject_organization_id=organization.id,
    )


def _cutoff(years: int, now: dt.datetime) -> dt.datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def last_work_at(client: Client) -> dt.datetime:
    """When the client's last work happened: registration, a referral's last change, a
    case's closing or last change."""
    referral = db.session.scalar(
        select(func.max(Referral.updated_at)).where(Referral.client_id == client.id)
    )
    case = db.session.scalar(
        select(func.max(func.coalesce(Case.closed_at, Case.updated_at))).where(
            Case.client_id == client.id
        )
    )
    moments = [m for m in (client.created_at, referral, case) if m is not None]
    return max(m if m.tzinfo else m.replace(tzinfo=dt.UTC) for m in moments)


def retention_due(
    organization: Organization | None = None, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The records past their unit's period, as numbers only: `{"unit", "client", "last_work"}`
    (the unit's code, the client's code, the date of the last work)."""
    now = now or utcnow()
    units = (
        [organization]
        if organization is not None
        else db.session.scalars(
            select(Organization).where(Organization.id.in_(select(Client.organization_id)))
        ).all()
    )
    system = Actor.system("retention")
    due = []
    for unit in units:
        cutoff = _cutoff(retention_years(unit), now)
        clients = db.session.scalars(
            select(Client)
            .where(Client.organization_id == unit.id, Client.erased_at.is_(None))
            .order_by(Client.code)
        ).all()
        for client in clients:
            last = last_work_at(client)
            if last < cutoff and not open_work_of(client, system):
                due.append({"unit": unit.code, "client": client.code, "last_work": last.date()})
    return due
