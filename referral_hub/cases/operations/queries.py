"""The lists: the unit's cases, a case's notes, and for the home pages the follow-ups due
(a caseworker's) and overdue (the unit's), and the plan items past their due date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, Text, cast, func, select

from referral_hub.actors import Actor
from referral_hub.cases.models import Case, CaseNote, PlanItem
from referral_hub.cases.operations.access import field_error, get_case_for, require_right
from referral_hub.cases.operations.reading import item_pending_clause
from referral_hub.clients import operations as clients
from referral_hub.clients.models import Client, local_today
from referral_hub.clock import start_of_day
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral


def cases_query(
    actor: Actor,
    *,
    status: str | None = None,
    caseworker: str | None = None,
    client: str | None = None,
    number: str | None = None,
    client_name: str | None = None,
    violence_type: str | None = None,
    opened_from: dt.date | None = None,
    opened_until: dt.date | None = None,
) -> Select:
    """The unit's cases, newest first; by status, caseworker (a user id, or "me"), client.

    `number` finds cases whose number holds the text (any case: "000042", "ks-ppu-2026");
    `client_name` the cases of the unit's clients whose name has a word beginning with each
    word of it (3 letters or more; the clients' keyed name index, never a decryption: see
    docs/search.md); `violence_type` a SIMFONI code among the case's; `opened_from` and
    `opened_until` days of the hub's calendar, both included. Only the unit's own cases,
    whatever the filters.
    """
    require_right(actor, "cases:read")
    org = clients.require_uptd(actor, "keeps-cases")
    query = select(Case).where(Case.organization_id == org.id)
    if status:
        query = query.where(Case.status == status)
    if caseworker:
        query = query.where(
            Case.caseworker_id == (actor.user_id if caseworker == "me" else caseworker)
        )
    if client:
        query = query.where(Case.client_id == client)
    if number:
        query = query.where(func.upper(Case.number).contains(number.strip().upper()))
    if client_name is not None:
        named = clients.name_search_clause(org.id, client_name)
        if named is None:
            raise field_error("client_name", "Type 3 letters or more of a word of the name.")
        query = query.where(
            Case.client_id.in_(select(Client.id).where(Client.organization_id == org.id, named))
        )
    if violence_type:
        # A JSON list of codes from a closed vocabulary: the quoted code is one element.
        query = query.where(cast(Case.violence_types, Text).contains(f'"{violence_type}"'))
    if opened_from is not None:
        query = query.where(Case.opened_at >= start_of_day(opened_from))
    if opened_until is not None:
        query = query.where(Case.opened_at < start_of_day(opened_until + dt.timedelta(days=1)))
    return query.order_by(Case.opened_at.desc(), Case.id.desc())


def notes_query(actor: Actor, case_id: str) -> Select:
    case = get_case_for(actor, case_id)
    return (
        select(CaseNote)
        .where(CaseNote.case_id == case.id)
        .order_by(CaseNote.created_at.desc(), CaseNote.id.desc())
    )


def waiting_follow_ups(day: dt.date) -> Select:
    """Open cases' follow-ups due on or before `day` and not done, with their cases."""
    return (
        select(CaseNote, Case)
        .join(Case, Case.id == CaseNote.case_id)
        .where(
            Case.status == "open",
            CaseNote.follow_up_on.is_not(None),
            CaseNote.follow_up_on <= day,
            CaseNote.follow_up_done_at.is_(None),
        )
        .order_by(CaseNote.follow_up_on, CaseNote.created_at)
    )


def follow_ups_due(actor: Actor, *, unit: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """Follow-ups due today or overdue: the actor's own cases', or (`unit`, for supervisors)
    the unit's overdue ones. Numbers and dates only: the home page shows no note's text."""
    today = local_today()
    query = waiting_follow_ups(today).where(Case.organization_id == actor.organization_id)
    if unit:
        query = query.where(CaseNote.follow_up_on < today)
    else:
        query = query.where(Case.caseworker_id == actor.user_id)
    return [
        {
            "case_id": case.id,
            "number": case.number,
            "note_id": note.id,
            "follow_up_on": note.follow_up_on,
            "overdue": note.follow_up_on < today,
        }
        for note, case in db.session.execute(query.limit(limit))
    ]


def overdue_plan_items(actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """The unit's plan items past their due date and not done (supervisors' home page)."""
    today = local_today()
    query = (
        select(PlanItem, Case)
        .join(Case, Case.id == PlanItem.case_id)
        .outerjoin(Referral, Referral.id == PlanItem.referral_id)
        .where(
            Case.organization_id == actor.organization_id,
            Case.status == "open",
            PlanItem.due_on < today,
            item_pending_clause(),
        )
        .order_by(PlanItem.due_on)
        .limit(limit)
    )
    return [
        {
            "case_id": case.id,
            "number": case.number,
            "item_id": item.id,
            "service": item.service_code,
            "provider": item.provider.name,
            "due_on": item.due_on,
        }
        for item, case in db.session.execute(query)
    ]
