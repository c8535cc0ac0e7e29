"""What a FHIR client may read and change: the features' own operations, translated.

A referral's resources are reached by `get_referral_for` (404 to anyone but its parties, and
to the recipient of an override never sent); the Patient is built from `referral_view`, the
function the API and the portal read a referral with, so it holds exactly the categories
`visible_categories` gives this reader, and what it holds is logged as the API logs it. A
Task's status is changed by `act_on_referral`, the operation behind the API's actions: every
rule (side, status, reason, outcome, agreement in force, concurrency) holds as it does there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from referral_hub.actors import Actor
from referral_hub.clients import operations as clients
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.interchange.fhir import resources
from referral_hub.interchange.fhir.mapping import STATUS_TABLE, actions_reaching
from referral_hub.problems import INVALID_TRANSITION, Problem
from referral_hub.referrals import operations as referrals
from referral_hub.referrals.lifecycle import RECIPIENT, SENDER, TRANSITIONS
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.access import REACHED_RECIPIENT, field_error
from referral_hub.referrals.operations.record import basis_of

#: The scope that takes an action, by the side that takes it (as the API's action routes).
ACTION_SCOPES = {RECIPIENT: "referrals:respond", SENDER: "referrals:write"}


def _insufficient(scope: str) -> Problem:
    return Problem(
        403,
        "insufficient-scope",
        f"This change needs the scope '{scope}'.",
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        error="insufficient_scope",
    )


def read_task(actor: Actor, referral_id: str) -> dict[str, Any]:
    return resources.task(referrals.get_referral_for(actor, referral_id))


def read_service_request(actor: Actor, referral_id: str) -> dict[str, Any]:
    referral = referrals.get_referral_for(actor, referral_id)
    shared = referrals.visible_categories(referral, RECIPIENT)
    return resources.service_request(referral, contact_shared="contact" in shared)


def read_patient(actor: Actor, referral_id: str) -> dict[str, Any]:
    """The client as this referral lets the actor see them; what it holds is logged as read."""
    referral = referrals.get_referral_for(actor, referral_id)
    view = referrals.referral_view(actor, referral, record=False)
    client_part = {
        key: value
        for key, value in view["client"].items()
        if key in ("code", "demographics", *resources.PATIENT_CATEGORIES)
    }
    shown = referrals.personal_categories_in(client_part)
    if shown:
        side = referrals.side_of(actor, referral)
        clients.record_disclosure(
            actor,
            referral.client,
            shown,
            basis=basis_of(referral) if side == RECIPIENT else "owner",
            context=f"referral:{referral.number} read as FHIR Patient",
            kind="read",
        )
    return resources.patient(referral, client_part)


def read_consent(actor: Actor, referral_id: str) -> dict[str, Any]:
    referral = referrals.get_referral_for(actor, referral_id)
    if referral.consent is None:
        raise Problem(
            404,
            "not-found",
            f"Referral '{referral_id}' rests on a legal basis ({referral.legal_basis}), "
            "not on a consent.",
        )
    return resources.consent(referral, referral.consent)


def read_organization(id_or_code: str) -> dict[str, Any]:
    org = find_organization(id_or_code)
    if org is None:
        raise Problem(404, "not-found", f"No organisation '{id_or_code}'.")
    return resources.organization(org)


# --- the Task search ------------------------------------------------------------------------

#: _lastUpdated's comparators (FHIR search prefixes) the search takes.
COMPARATORS = {
    "gt": lambda c, v: c > v,
    "ge": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "le": lambda c, v: c <= v,
}


@dataclass(frozen=True)
class TaskSearch:
    """A parsed Task search: who owns or asked, changed when, in which status."""

    owner: str | None = None
    requester: str | None = None
    last_updated: tuple[tuple[str, dt.datetime], ...] = ()
    status: str | None = None


def task_search_statement(actor: Actor, search: TaskSearch) -> Select:
    """The referrals the actor's organisation sent, or received once sent, filtered; oldest
    change first (a poller keeps the last `meta.lastUpdated` it saw)."""
    mine = or_(
        Referral.sender_organization_id == actor.organization_id,
        and_(Referral.recipient_organization_id == actor.organization_id, REACHED_RECIPIENT),
    )
    query = select(Referral).where(mine)
    if search.owner is not None:
        query = query.where(Referral.recipient_organization_id == _org_id(search.owner))
    if search.requester is not None:
        query = query.where(Referral.sender_organization_id == _org_id(search.requester))
    for prefix, value in search.last_updated:
        query = query.where(COMPARATORS[prefix](Referral.updated_at, value))
    if search.status is not None:
        statuses = [hub for hub, fhir in STATUS_TABLE.items() if fhir.task == search.status]
        query = query.where(Referral.status.in_(statuses))
    return query.order_by(Referral.updated_at, Referral.id)


def _org_id(reference: str) -> str | None:
    """An organisation named by id or code (`Organization/` already removed); unknown: None,
    which matches nothing."""
    org = find_organization(reference)
    return org.id if org is not None else None


def search_tasks(
    actor: Actor, search: TaskSearch, page: int, count: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the Tasks found, and how many there are in all."""
    if actor.organization_id is None:
        return [], 0
    query = task_search_statement(actor, search)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(count).offset((page - 1) * count)).unique().all()
    return [resources.task(row) for row in rows], total or 0


# --- changing a Task ------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskChange:
    """What a PATCH or PUT asks: the new status, its reason, the outcome (businessStatus),
    and the status the client believes the Task has (a JSON Patch `test`)."""

    status: str | None = None
    reason: str | None = None
    outcome: str | None = None
    expected_status: str | None = None


def change_task(actor: Actor, referral_id: str, change: TaskChange) -> dict[str, Any]:
    """Carry out a Task status change as the lifecycle action that reaches it.

    The action is the one of `lifecycle.TRANSITIONS` leading to the status from where the
    referral is, for the actor's side (in-progress: start from accepted, resume from on
    hold); when none fits, the first one leading there is tried anyway, so the refusal is
    the very one the API's action gives (`invalid-transition`, 409). A status no action
    leads to (requested, received, ready, draft) is an invalid transition too. The same
    status again changes nothing (a PUT of the Task as read).
    """
    if not (actor.has_scope("referrals:respond") or actor.has_scope("referrals:write")):
        raise _insufficient("referrals:respond")
    referral = referrals.get_referral_for(actor, referral_id)
    current = STATUS_TABLE[referral.status].task
    if change.expected_status is not None and change.expected_status != current:
        raise Problem(
            412,
            "precondition-failed",
            f"The Task is '{current}', not '{change.expected_status}'.",
            status_now=referral.status,
        )
    if change.status is None or change.status == current:
        _refuse_changes_beside_status(referral, change)
        return resources.task(referral)
    actions = actions_reaching(change.status)
    if not actions:
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"No action sets a referral's Task to '{change.status}'.",
            status_now=referral.status,
        )
    side = referrals.side_of(actor, referral)
    action = next(
        (
            a
            for a in actions
            if TRANSITIONS[a].side == side and referral.status in TRANSITIONS[a].sources
        ),
        actions[0],
    )
    scope = ACTION_SCOPES[TRANSITIONS[action].side]
    if not actor.has_scope(scope):
        raise _insufficient(scope)
    changed = referrals.act_on_referral(
        actor, referral_id, action, reason=change.reason, outcome=change.outcome
    )
    return resources.task(changed)


def _refuse_changes_beside_status(referral: Referral, change: TaskChange) -> None:
    """A reason or an outcome changes only with the status it explains."""
    if change.reason is not None and change.reason != (referral.status_reason or ""):
        raise field_error("statusReason", "statusReason changes only with the status.")
    if change.outcome is not None and change.outcome != referral.outcome:
        raise field_error(
            "businessStatus", "businessStatus (the outcome) is set only when completing."
        )
