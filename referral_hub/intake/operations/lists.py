"""The unit's inbox by urgency, the reporter's sent box, the overdue sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, case, select, update

from referral_hub.actors import Actor
from referral_hub.db import utcnow
from referral_hub.delivery.notifications import notify_intake_overdue
from referral_hub.extensions import db
from referral_hub.intake.models import (
    OPEN_STATUSES,
    Intake,
)
from referral_hub.intake.operations.access import require_right
from referral_hub.intake.operations.clock import effective_risk
from referral_hub.intake.operations.record import (
    add_step,
    audit_intake,
    emit_intake_event,
    links_of,
)

# --- lists ----------------------------------------------------------------------------------


def urgency_order() -> Any:
    """Open intakes first, the most urgent risk first, then the earliest due."""
    risk = case(
        (Intake.risk_level == "high", 0),
        (Intake.risk_level == "medium", 1),
        (Intake.risk_level == "low", 2),
        (Intake.immediate_danger.is_(True), 0),
        else_=1,
    )
    still_open = case((Intake.status.in_(OPEN_STATUSES), 0), else_=1)
    return (still_open, risk, Intake.respond_by, Intake.id)


def intakes_query(actor: Actor, *, box: str = "received", status: str | None = None) -> Select:
    """`received`: the unit's intakes by urgency and due time; `sent`: those the actor's
    organisation reported, newest first."""
    require_right(actor, "intakes:read")
    if box == "sent":
        query = select(Intake).where(Intake.reporting_organization_id == actor.organization_id)
        order: tuple[Any, ...] = (Intake.received_at.desc(), Intake.id)
    else:
        query = select(Intake).where(Intake.organization_id == actor.organization_id)
        order = urgency_order()
    if status:
        query = query.where(Intake.status == status)
    return query.order_by(*order)


def overdue_intakes(actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """The unit's intakes past their time (supervisors' home page): numbers and times only."""
    now = utcnow()
    query = (
        select(Intake)
        .where(
            Intake.organization_id == actor.organization_id,
            Intake.status.in_(OPEN_STATUSES),
            Intake.respond_by < now,
        )
        .order_by(*urgency_order()[1:])
        .limit(limit)
    )
    return [
        {
            "id": intake.id,
            "number": intake.number,
            "risk_level": effective_risk(intake),
            "respond_by": intake.respond_by,
        }
        for intake in db.session.scalars(query)
    ]


def sweep_overdue_intakes(now: dt.datetime | None = None) -> list[str]:
    """Announce, once per clock, each open intake past its time: `intake.overdue` to its
    unit and an e-mail to the unit's supervisors (number and link). The numbers announced."""
    now = now or utcnow()
    actor = Actor.system("scheduler:overdue-intakes")
    due = db.session.scalars(
        select(Intake)
        .where(
            Intake.status.in_(OPEN_STATUSES),
            Intake.respond_by < now,
            Intake.overdue_notified_at.is_(None),
        )
        .limit(500)
        .with_for_update(of=Intake, skip_locked=True)
    ).all()
    announced = []
    for intake in due:
        claimed = db.session.execute(
            update(Intake)
            .where(Intake.id == intake.id, Intake.overdue_notified_at.is_(None))
            .values(overdue_notified_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        add_step(actor, intake, "overdue", now, organization_id=intake.organization_id)
        audit_intake(actor, "intake.overdue", intake, respond_by=intake.respond_by)
        emit_intake_event(actor, "intake.overdue", intake, [intake.organization_id])
        notify_intake_overdue(
            intake.number, intake.organization_id, links_of(intake)["portal"], intake.respond_by
        )
        announced.append(intake.number)
    return announced
