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


def intake_matches(actor: Actor, intake_id: str) -> list[clients.Match]:
    """The owning unit's clients who may be the intake's victim, each with why (ids and
    reason codes); the reporter's side and other units get 404."""
    intake = get_owned_intake(actor, intake_id)
    victim = dict(intake.victim or {})
    return clients.possible_matches(
        actor,
        full_name=victim.get("name"),
        age_years=victim.get("age_years"),
        region_code=intake.victim_region_code,
    )
