"""A client's data rights, as far as cases hold the client's data (receivers of
clients.signals): erasure waits while a case of the client is open (`open_cases_of_client`),
and the export lists the client's cases with their plan and notes (`cases_for_export`).

The cases' texts (summary, closing summary, plan item notes, notes) are under the client's own
key (cases/models.py), so the erasure itself needs nothing from here: once the key is gone they
read as the erased marker, while numbers, statuses and codes stay.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from referral_hub.actors import Actor
from referral_hub.cases.models import Case, CaseNote
from referral_hub.cases.operations import plan_item_status
from referral_hub.clients.models import Client
from referral_hub.extensions import db


def open_cases_of_client(client: Client, *, actor: Actor) -> list[dict[str, Any]]:
    """Receives `erasure_requested`: the client's open cases refuse the erasure."""
    count = db.session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.client_id == client.id, Case.status == "open")
    )
    return [{"reason": "open-cases", "count": count}] if count else []


def _iso(day: Any) -> str | None:
    return day.isoformat() if day is not None else None


def cases_for_export(client: Client, *, actor: Actor) -> dict[str, Any]:
    """Receives `export_requested`: the client's cases, their plan and notes, as the owning
    unit holds them (only the owning unit exports, and only it holds cases of its clients)."""
    cases = db.session.scalars(
        select(Case).where(Case.client_id == client.id).order_by(Case.opened_at)
    ).all()
    exported = []
    for case in cases:
        notes = db.session.scalars(
            select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.created_at)
        ).all()
        exported.append(
            {
                "number": case.number,
                "status": case.status,
                "risk_level": case.risk_level,
                "violence_types": list(case.violence_types or []),
                "incident_occurred_on": _iso(case.incident_occurred_on),
                "incident_place_type": case.incident_place_type,
                "incident_region_code": case.incident_region_code,
                "perpetrator_relationship": case.perpetrator_relationship,
                "summary": case.summary,
                "close_reason": case.close_reason,
                "close_summary": case.close_summary,
                "opened_at": case.opened_at,
                "closed_at": case.closed_at,
                "plan": [
                    {
                        "service": item.service_code,
                        "provider": {"code": item.provider.code, "name": item.provider.name},
                        "due_on": _iso(item.due_on),
                        "status": plan_item_status(item),
                        "note": item.note,
                        "referral": item.referral.number if item.referral else None,
                        "created_at": item.created_at,
                    }
                    for item in case.plan_items
                ],
                "notes": [
                    {
                        "at": note.created_at,
                        "text": note.text,
                        "follow_up_on": _iso(note.follow_up_on),
                        "follow_up_done_at": note.follow_up_done_at,
                    }
                    for note in notes
                ],
            }
        )
    return {"cases": exported}
