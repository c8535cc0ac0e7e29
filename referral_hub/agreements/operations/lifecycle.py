"""Drafting, signing, suspending, resuming, terminating and renewing an agreement.

One table (`TRANSITIONS`) says, for every action on an agreement, from which effective
statuses it may be taken and what it leads to; `plan_transition` refuses the rest, and
`allowed_actions` tells the portal's pages and the API which actions an actor has now, so
the buttons shown and the operations cannot disagree.

Renewal: `renew` makes a new draft (version + 1, `supersedes` = the old id) with the same
parties and content, the next number and a term as long as the old one (terms.py). When that
renewal comes into force, the old agreement ends with the status `superseded` (also if it
had meanwhile expired), so the registry shows which agreement replaced it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from referral_hub.actors import Actor
from referral_hub.agreements.models import (
    Agreement,
    AgreementSignature,
)
from referral_hub.agreements.operations.access import (
    get_agreement,
    may_change,
    require_change,
    require_writer,
)
from referral_hub.agreements.operations.content import (
    apply_content,
    canonical_content,
    check_if_match,
    check_number_free,
    content_as_input,
    content_sha256,
    deciding,
    flush_or_duplicate,
    lineage_ids,
    parties_key,
    proposed_number,
    resolve_content,
)
from referral_hub.agreements.operations.record import audit_change, emit, touch
from referral_hub.agreements.operations.status import (
    effective_status,
    has_taken_over,
    local_date,
    start_of_day,
)
from referral_hub.agreements.operations.terms import renewal_term
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.problems import INVALID_TRANSITION, Problem, register_problem

AGREEMENT_LOCKED = register_problem(
    "agreement-locked", "The agreement has been signed; its content can no longer change"
)
ALREADY_SIGNED = register_problem("already-signed", "Your organisation has already signed")

CONTENT_CHANGED = register_problem(
    "content-changed", "The agreement's content is not the content you reviewed"
)
ALREADY_RENEWED = register_problem("already-renewed", "The agreement already has a renewal")
SIGNATURE_DISPUTED = register_problem(
    "signature-disputed", "A party disputes the paper signature recorded for it"
)

CLOCK = Actor.system("agreements:clock")


@dataclass(frozen=True)
class Transition:
    """One action: from which effective statuses, to which status (None: it stays), and the
    word a refusal uses ("An agreement that is 'expired' cannot be signed")."""

    action: str
    sources: frozenset[str]
    target: str | None
    done: str
    needs_reason: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        # Content changes only in a draft nobody has signed yet.
        Transition("edit", frozenset({"draft"}), None, "changed"),
        # The last signature makes it `signed`, or `active` once its start date has come.
        Transition("sign", frozenset({"draft"}), "signed", "signed"),
        Transition("suspend", frozenset({"active"}), "suspended", "suspended"),
        Transition("resume", frozenset({"suspended"}), "active", "resumed"),
        # A draft is withdrawn the same way.
        Transition(
            "terminate",
            frozenset({"draft", "signed", "active", "suspended"}),
            "terminated",
            "terminated",
            needs_reason=True,
        ),
        # A new draft that supersedes this one once in force; this one keeps its status.
        Transition("renew", frozenset({"active", "suspended", "expired"}), None, "renewed"),
    )
}


def _refusal(actor: Actor, agreement: Agreement, action: str, status: str) -> Problem | None:
    """Why the table (or the action's own condition) refuses `action` now, if it does."""
    transition = TRANSITIONS[action]
    if action == "edit":
        if status not in transition.sources or agreement.signatures:
            return Problem(
                409,
                AGREEMENT_LOCKED,
                "The agreement has been signed, so its content can no longer change. "
                "Terminate it or renew it instead.",
                status_now=status,
            )
        return None
    if status not in transition.sources:
        return refuse_transition(agreement, transition.done, status)
    if action == "sign" and any(
        s.organization_id == actor.organization_id for s in agreement.signatures
    ):
        return Problem(409, ALREADY_SIGNED, "Your organisation has already signed this agreement.")
    if action == "resume" and agreement.disputed_signatures:
        # signatures.py: settled by the party confirming it, or the agreement is terminated.
        return Problem(
            409,
            SIGNATURE_DISPUTED,
            "A party disputes the paper signature recorded for it; the agreement stays "
            "suspended until that party confirms it.",
        )
    if action == "renew":
        pending = [r.id for r in agreement.renewals if r.status != "terminated"]
        if pending:
            return Problem(
                409,
                ALREADY_RENEWED,
                "This agreement already has a renewal; change or terminate that draft instead.",
                renewal=pending[0],
            )
    return None


def plan_transition(actor: Actor, agreement: Agreement, action: str, status: str) -> Transition:
    """The transition for `action` from `status`, or the Problem (409) that refuses it."""
    refusal = _refusal(actor, agreement, action, status)
    if refusal is not None:
        raise refusal
    return TRANSITIONS[action]


def allowed_actions(actor: Actor, agreement: Agreement, at: dt.datetime | None = None) -> list[str]:
    """The actions of TRANSITIONS the actor may take on the agreement now (may_change and
    the table), in the table's order: what the portal offers and the API's hint."""
    if not may_change(actor, agreement):
        return []
    status = effective_status(agreement, at)
    return [a for a in TRANSITIONS if _refusal(actor, agreement, a, status) is None]


def for_change(
    actor: Actor, agreement_id: str, if_match: str | None, *, if_match_required: bool = False
) -> tuple[Agreement, dt.datetime]:
    """Lock the agreement for a change by a party; bring its stored status up to date."""
    agreement = get_agreement(actor, agreement_id, lock=True)
    require_change(actor, agreement)
    check_if_match(agreement, if_match, required=if_match_required)
    now = utcnow()
    materialise(agreement, now)
    return agreement, now


def refuse_transition(agreement: Agreement, action: str, status: str) -> Problem:
    """409 invalid-transition, `reason` agreement-status: `action` (signed, terminated, ...)
    is not taken from `status_now`."""
    return Problem(
        409,
        INVALID_TRANSITION,
        f"An agreement that is '{status}' cannot be {action}.",
        reason="agreement-status",
        status_now=status,
        action=action,
    )


def create_agreement(actor: Actor, data: dict[str, Any]) -> Agreement:
    """Draft a new agreement; the caller's organisation must be a party."""
    require_writer(actor)
    return new_agreement(actor, data, supersedes=None)


def new_agreement(actor: Actor, data: dict[str, Any], supersedes: Agreement | None) -> Agreement:
    content = resolve_content(actor, data)
    key = parties_key(content.parties)
    check_number_free(content.number, key, own_line=lineage_ids(supersedes), exclude_id=None)
    now = utcnow()
    agreement = Agreement(
        status="draft",
        version=(supersedes.version + 1) if supersedes is not None else 1,
        supersedes_id=supersedes.id if supersedes is not None else None,
        revision=1,
        created_by_organization_id=actor.organization_id,
        created_by_user_id=actor.user_id,
        created_by_client_id=actor.client_id,
        created_at=now,
        updated_at=now,
    )
    apply_content(agreement, content)
    db.session.add(agreement)
    flush_or_duplicate(content.number)
    audit_change(
        actor,
        "agreement.created",
        agreement,
        {
            "kind": agreement.kind,
            "version": agreement.version,
            "supersedes": agreement.supersedes_id,
            "content_sha256": content_sha256(agreement),
            **deciding(content),
        },
    )
    return agreement


def update_agreement(
    actor: Actor, agreement_id: str, changes: dict[str, Any], *, if_match: str | None
) -> Agreement:
    """Change a draft nobody has signed yet; If-Match is required."""
    agreement, now = for_change(actor, agreement_id, if_match, if_match_required=True)
    plan_transition(actor, agreement, "edit", effective_status(agreement, now))
    before = canonical_content(agreement)
    merged = {**content_as_input(agreement), **changes}
    content = resolve_content(actor, merged)
    check_number_free(
        content.number,
        parties_key(content.parties),
        own_line=lineage_ids(agreement.supersedes) | {agreement.id},
        exclude_id=agreement.id,
    )
    apply_content(agreement, content)
    after = canonical_content(agreement)
    changed = sorted(k for k in after if after[k] != before[k])
    if not changed:
        return agreement
    touch(agreement, now)
    flush_or_duplicate(content.number)
    audit_change(
        actor,
        "agreement.updated",
        agreement,
        {"changed": changed, "content_sha256": content_sha256(agreement), **deciding(content)},
    )
    return agreement


def sign_agreement(
    actor: Actor,
    agreement_id: str,
    *,
    content_sha256_seen: str | None = None,
    if_match: str | None = None,
) -> Agreement:
    """The actor's organisation signs; the last signature makes it active (or signed)."""
    agreement, now = for_change(actor, agreement_id, if_match)
    if actor.organization_id not in agreement.party_ids:
        raise Problem(
            409, INVALID_TRANSITION, "Only a party's organisation signs.", reason="party-only"
        )
    status = effective_status(agreement, now)
    plan_transition(actor, agreement, "sign", status)
    if local_date(now) > agreement.expires_on:
        raise Problem(
            409,
            INVALID_TRANSITION,
            "The agreement's end date has passed; change its dates before signing.",
            reason="end-date-passed",
            status_now=status,
        )
    digest = content_sha256(agreement)
    if content_sha256_seen is not None and content_sha256_seen != digest:
        raise Problem(
            409,
            CONTENT_CHANGED,
            "The agreement's content changed since you reviewed it; read it again.",
            content_sha256=digest,
        )
    signature = AgreementSignature(
        organization_id=actor.organization_id,
        actor_kind=actor.kind,
        user_id=actor.user_id,
        client_id=actor.client_id,
        actor_label=actor.label,
        signed_at=now,
        content_sha256=digest,
    )
    agreement.signatures.append(signature)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Problem(
            409, ALREADY_SIGNED, "Your organisation has already signed this agreement."
        ) from None
    touch(agreement, now)
    all_signed = set(agreement.party_ids) <= agreement.signed_party_ids
    if all_signed:
        agreement.fully_signed_at = now
        agreement.status = "signed"
    audit_change(
        actor,
        "agreement.signed",
        agreement,
        {"content_sha256": digest, "all_signed": all_signed, "status": agreement.status},
    )
    emit("agreement.signed", agreement, actor)
    if all_signed and local_date(now) >= agreement.effective_from:
        activate(agreement, actor, now, now)
    return agreement


def activate(
    agreement: Agreement, actor: Actor, now: dt.datetime, in_force_since: dt.datetime
) -> None:
    """Bring a fully signed agreement into force, and end the one it renews."""
    agreement.status = "active"
    agreement.activated_at = agreement.activated_at or min(in_force_since, now)
    touch(agreement, now)
    audit_change(
        actor, "agreement.activated", agreement, {"in_force_since": agreement.activated_at}
    )
    emit("agreement.activated", agreement, actor)
    previous = agreement.supersedes
    if previous is None or previous.status in ("terminated", "superseded"):
        return
    db.session.execute(select(Agreement.id).where(Agreement.id == previous.id).with_for_update())
    db.session.refresh(previous)
    if previous.status not in ("terminated", "superseded"):
        end_superseded(previous, agreement, actor, now)


def end_superseded(
    agreement: Agreement, renewal: Agreement, actor: Actor, now: dt.datetime
) -> None:
    agreement.status = "superseded"
    agreement.ended_at = agreement.ended_at or min(renewal.activated_at or now, now)
    touch(agreement, now)
    audit_change(actor, "agreement.superseded", agreement, {"by": renewal.id})
    emit("agreement.superseded", agreement, actor)


def materialise(agreement: Agreement, now: dt.datetime, actor: Actor = CLOCK) -> str | None:
    """Write the effective status where the calendar moved it on; return the new status."""
    status = effective_status(agreement, now)
    stored = agreement.status
    if status == stored:
        return None
    if stored == "signed" and status in ("active", "expired", "superseded"):
        # It came into force at its start date even if nobody looked then.
        since = max(agreement.fully_signed_at or now, start_of_day(agreement.effective_from))
        activate(agreement, actor, now, since)
    if status == "expired":
        agreement.status = "expired"
        agreement.ended_at = agreement.ended_at or start_of_day(
            agreement.expires_on + dt.timedelta(days=1)
        )
        touch(agreement, now)
        audit_change(actor, "agreement.expired", agreement, {"expired_on": agreement.expires_on})
        emit("agreement.expired", agreement, actor)
    elif status == "superseded":
        renewal = next(r for r in agreement.renewals if has_taken_over(r, local_date(now)))
        end_superseded(agreement, renewal, actor, now)
    elif status == "signed":
        # Only if the clock went backwards: not yet in force after all.
        agreement.status = "signed"
        touch(agreement, now)
    return status


def suspend_agreement(
    actor: Actor, agreement_id: str, *, reason: str | None = None, if_match: str | None = None
) -> Agreement:
    """Pause an active agreement: it covers no new referral until resumed."""
    return _change_status(actor, agreement_id, "suspend", "agreement.suspended", reason, if_match)


def resume_agreement(
    actor: Actor, agreement_id: str, *, reason: str | None = None, if_match: str | None = None
) -> Agreement:
    """End a suspension; the agreement covers referrals again while in its dates."""
    return _change_status(actor, agreement_id, "resume", "agreement.resumed", reason, if_match)


def terminate_agreement(
    actor: Actor, agreement_id: str, *, reason: str, if_match: str | None = None
) -> Agreement:
    """End the agreement for good (a draft is withdrawn the same way); a reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise Problem(
            422, "validation-error", "Give a reason.", errors={"reason": ["Give a reason."]}
        )
    return _change_status(
        actor, agreement_id, "terminate", "agreement.terminated", reason, if_match
    )


def _change_status(
    actor: Actor,
    agreement_id: str,
    action: str,
    event: str,
    reason: str | None,
    if_match: str | None,
) -> Agreement:
    """Take `action` by the table, record it as `event` with the reason, and announce it.

    Terminating ends the agreement: its reason is the termination's, kept apart from a
    suspension's, and the audit entry says which status it ended from.
    """
    agreement, now = for_change(actor, agreement_id, if_match)
    status = effective_status(agreement, now)
    agreement.status = plan_transition(actor, agreement, action, status).target
    detail: dict[str, Any] = {"reason": reason}
    if action == "terminate":
        agreement.termination_reason = reason
        agreement.ended_at = now
        detail["was"] = status
    else:
        agreement.status_reason = reason
    touch(agreement, now)
    audit_change(actor, event, agreement, detail)
    emit(event, agreement, actor)
    return agreement


def renew_agreement(
    actor: Actor,
    agreement_id: str,
    changes: dict[str, Any] | None = None,
    *,
    if_match: str | None = None,
) -> Agreement:
    """A new draft that supersedes this agreement once it is signed and in force.

    It copies the content; by default it runs as long as the old one (the same number of
    months when its term is in months) from the day after the old one ends (or from today,
    if that has passed), under the next number (terms.py).
    """
    old, now = for_change(actor, agreement_id, if_match)
    plan_transition(actor, old, "renew", effective_status(old, now))
    changes = dict(changes or {})
    start = changes.get("effective_from") or max(
        old.expires_on + dt.timedelta(days=1), local_date(now)
    )
    start, end = renewal_term(old.effective_from, old.expires_on, start)
    data = {
        **content_as_input(old),
        "number": proposed_number(old, start),
        "effective_from": start,
        "expires_on": end,
        **changes,
    }
    renewal = new_agreement(actor, data, supersedes=old)
    touch(old, now)
    audit_change(
        actor, "agreement.renewed", old, {"renewal": renewal.id, "version": renewal.version}
    )
    return renewal
