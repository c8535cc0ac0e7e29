"""The unit's inbox by urgency, the reporter's sent box, the overdue sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, case, false, func, select, update

from referral_hub.actors import Actor
from referral_hub.clock import start_of_day
from referral_hub.db import utcnow
from referral_hub.delivery.notifications import notify_intake_overdue
from referral_hub.extensions import db
from referral_hub.intake.models import (
    CHANNELS,
    OPEN_STATUSES,
    RISK_LEVELS,
    STATUSES,
    Intake,
)
from referral_hub.intake.operations.access import field_error, require_right
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


def intakes_query(
    actor: Actor,
    *,
    box: str = "received",
    status: str | None = None,
    number: str | None = None,
    channel: str | None = None,
    risk: str | None = None,
    reporter: str | None = None,
    received_from: dt.date | None = None,
    received_until: dt.date | None = None,
    external_reference: str | None = None,
) -> Select:
    """`received`: the unit's intakes by urgency and due time; `sent`: those the actor's
    organisation reported, newest first. Whatever the filters, only these.

    `number` finds intakes whose number holds the text (any case); `risk` the level triaged
    (as its clock runs on: untriaged, immediate danger is high, anything else medium);
    `reporter` the reporting organisation, by id; `received_from`, `received_until` days of
    the hub's calendar, both included; `external_reference` the sender's own reference, in
    its sent box only (an app learning whether its report was made). The victim's name is
    not a filter: intakes keep it only as ciphertext, with no index (docs/search.md).
    """
    require_right(actor, "intakes:read")
    if external_reference is not None and box != "sent":
        raise field_error(
            "external_reference",
            "A reporter's own reference finds intakes in its sent box only (box=sent).",
        )
    if box == "sent":
        query = select(Intake).where(Intake.reporting_organization_id == actor.organization_id)
        order: tuple[Any, ...] = (Intake.received_at.desc(), Intake.id)
    else:
        query = select(Intake).where(Intake.organization_id == actor.organization_id)
        order = urgency_order()
    if external_reference is not None:
        query = query.where(Intake.external_reference == external_reference)
    if status:
        query = query.where(Intake.status == status)
    if number:
        query = query.where(func.upper(Intake.number).contains(number.strip().upper()))
    if channel:
        query = query.where(Intake.channel == channel)
    if risk:
        # The risk its clock runs on (clock.effective_risk): untriaged, immediate danger is
        # high and anything else medium.
        untriaged = Intake.risk_level.is_(None) & (Intake.immediate_danger.is_(risk == "high"))
        query = query.where((Intake.risk_level == risk) | (untriaged if risk != "low" else false()))
    if reporter:
        query = query.where(Intake.reporting_organization_id == reporter)
    if received_from is not None:
        query = query.where(Intake.received_at >= start_of_day(received_from))
    if received_until is not None:
        query = query.where(
            Intake.received_at < start_of_day(received_until + dt.timedelta(days=1))
        )
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


# --- the list's filters (the portal reads them with portal.filters.read_filters) -----------

#: The intake list's filters: free text, closed lists, days (YYYY-MM-DD).
FILTERS: dict[str, Any] = {
    "text": ("number", "reporter"),
    "choices": {"status": STATUSES, "channel": CHANNELS, "risk": RISK_LEVELS},
    "dates": ("received_from", "received_until"),
}


def filter_arguments(values: dict[str, Any]) -> dict[str, Any]:
    """The arguments of intakes_query for filters read (and checked) by read_filters."""

    def day(text: str) -> dt.date | None:
        return dt.date.fromisoformat(text) if text else None

    return {
        "status": values["status"] or None,
        "number": values["number"] or None,
        "channel": values["channel"] or None,
        "risk": values["risk"] or None,
        "reporter": values["reporter"] or None,
        "received_from": day(values["received_from"]),
        "received_until": day(values["received_until"]),
    }


def reporter_options(actor: Actor) -> list[tuple[str, str]]:
    """The organisations that reported the unit's intakes, by name (its own among them)."""
    from referral_hub.directory.models import Organization

    rows = db.session.execute(
        select(Organization.id, Organization.name)
        .where(
            Organization.id.in_(
                select(Intake.reporting_organization_id).where(
                    Intake.organization_id == actor.organization_id
                )
            )
        )
        .order_by(Organization.name)
    )
    return [(row.id, row.name) for row in rows]
