"""The scheduled sweep: each follow-up that fell due announced once, as `case.follow_up_due`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.cases.models import CaseNote
from referral_hub.cases.operations.queries import waiting_follow_ups
from referral_hub.clients.models import local_today
from referral_hub.db import utcnow
from referral_hub.delivery.outbox import emit
from referral_hub.extensions import db


def sweep_due_follow_ups(now: dt.datetime | None = None) -> list[str]:
    """Announce, once, each follow-up that fell due: `case.follow_up_due` to the case's unit,
    with ids, numbers and dates only. The ids of the notes announced."""
    now = now or utcnow()
    actor = Actor.system("scheduler:follow-ups")
    due = db.session.execute(
        waiting_follow_ups(local_today(now))
        .where(CaseNote.follow_up_notified_at.is_(None))
        .limit(500)
        .with_for_update(of=CaseNote, skip_locked=True)
    ).all()
    announced = []
    for note, case in due:
        claimed = db.session.execute(
            update(CaseNote)
            .where(CaseNote.id == note.id, CaseNote.follow_up_notified_at.is_(None))
            .values(follow_up_notified_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        data = {
            "case_id": case.id,
            "number": case.number,
            "note_id": note.id,
            "follow_up_on": note.follow_up_on.isoformat(),
            "caseworker": case.caseworker_id,
            "links": {"self": f"/api/v1/cases/{case.id}", "portal": f"/cases/{case.id}"},
        }
        audit.record(
            actor,
            "case.follow_up_due",
            "case",
            case.id,
            {"number": case.number, "note": note.id, "follow_up_on": data["follow_up_on"]},
            subject_organization_id=case.organization_id,
        )
        emit(
            actor,
            "case.follow_up_due",
            subject_type="case",
            subject_id=case.id,
            organizations=[case.organization_id],
            data=data,
        )
        announced.append(note.id)
    return announced
