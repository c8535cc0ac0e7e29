"""Notes on a case, each with the day to follow up on if any, and the follow-up marked done."""

from __future__ import annotations

import datetime as dt

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.cases.models import CaseNote
from referral_hub.cases.operations.access import get_case_for
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.problems import Problem


def add_note(actor: Actor, case_id: str, text: str, follow_up_on: dt.date | None) -> CaseNote:
    """A note on the case, with the day to follow up on if any."""
    case = get_case_for(actor, case_id, "cases:write")
    author = db.session.get(User, actor.user_id) if actor.user_id else None
    note = CaseNote(
        case_id=case.id,
        follow_up_on=follow_up_on,
        created_at=utcnow(),
        created_by_user_id=actor.user_id,
        created_by_client_id=actor.client_id,
        author=author,
    )
    note.text = text
    db.session.add(note)
    audit.record(
        actor,
        "case.note_added",
        "case",
        case.id,
        {
            "number": case.number,
            "note": note.id,
            "follow_up_on": follow_up_on.isoformat() if follow_up_on else None,
        },
        subject_organization_id=case.organization_id,
    )
    return note


def complete_follow_up(actor: Actor, case_id: str, note_id: str) -> CaseNote:
    """Mark a note's follow-up done: it stops showing as due."""
    case = get_case_for(actor, case_id, "cases:write")
    note = db.session.get(CaseNote, note_id) if isinstance(note_id, str) else None
    if note is None or note.case_id != case.id:
        raise Problem(404, "not-found", f"No note '{note_id}' in case {case.number}.")
    if note.follow_up_on is None or note.follow_up_done_at is not None:
        raise Problem(409, "conflict", "The note has no follow-up waiting.")
    note.follow_up_done_at = utcnow()
    audit.record(
        actor,
        "case.follow_up_done",
        "case",
        case.id,
        {"number": case.number, "note": note.id},
        subject_organization_id=case.organization_id,
    )
    return note
