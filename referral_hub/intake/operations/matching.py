"""Who the intake's victim may already be: the owning unit's clients by the same rule as a
direct registration (`clients.operations.possible_matches`), before it accepts.

Nothing is merged: the unit chooses to link one of them or to register someone new when it
accepts (`answers.accept_intake`). An intake gives an age, not a birth date, and a name as
the reporter wrote it, so matches rest on a close name with a fitting age and region.
"""

from __future__ import annotations

from referral_hub.actors import Actor
from referral_hub.clients import operations as clients
from referral_hub.intake.operations.access import get_owned_intake


def intake_matches(actor: Actor, intake_id: str, nik: str | None = None) -> list[clients.Match]:
    """The owning unit's clients who may be the intake's victim, each with why (ids and
    reason codes); the reporter's side and other units get 404. `nik`: the victim's NIK when
    the unit learnt it (the intake does not carry one), found through the blind index."""
    intake = get_owned_intake(actor, intake_id)
    victim = dict(intake.victim or {})
    return clients.possible_matches(
        actor,
        nik=nik or None,
        full_name=victim.get("name"),
        age_years=victim.get("age_years"),
        region_code=intake.victim_region_code,
    )


def show_intake_matches(
    actor: Actor, intake_id: str, context: str, nik: str | None = None
) -> list[clients.Match]:
    """The matches of `intake_matches` for a page that shows their names: each client shown
    is a read of their identity and demographics, logged (`record_name_reads`), as a direct
    registration's check logs it. The API's answer holds ids and reasons only, no read."""
    matches = intake_matches(actor, intake_id, nik)
    clients.record_name_reads(actor, [m.client for m in matches], context)
    return matches
