"""The rules of intakes: who may report to which unit, the clock, forwarding, the answer.

Who sees an intake:
- the unit that owns it (the UPTD PPA it was sent or forwarded to) sees everything;
- the organisation that reported it, and a unit that forwarded it on, see its number, channel,
  status and dates only: never the risk level, notes, decline reason, client or case;
- everyone else gets 404, as for an intake that does not exist.

The gate is the referrals': an organisation reports to a UPTD PPA only under an agreement in
force in which that unit provides `complaint_intake` to it (`no-active-agreement`). A unit
recording its own walk-ins, calls and outreach needs none. A forward goes along an agreement
in force between the two units in which the receiving unit provides `complaint_intake` or
`case_management`: the one handing over the victim's matter to the unit of the victim's
domicile is the unit's intake or case work, and either service written into a PKS between two
units covers it.

The clock: an intake is answered (accepted, declined or forwarded) by `respond_by`, counted
from its arrival at the unit that owns it: the unit's hours for its risk level (defaults 1 h,
6 h, 72 h). Before triage its risk is `high` if the reporter said there is immediate danger,
else `medium`. An intake past its time is announced once per clock (`intake.overdue` and an
e-mail to the unit's supervisors with the number and a link only). A unit's supervisor sets
its own hours (`set_response_hours`: whole hours, high within a day, a higher risk never
given longer than a lower); they apply to clocks started after the change (a new intake, a
triage, a forward), never to one already running.
"""

from __future__ import annotations

from referral_hub.intake.operations.access import (
    FORWARD_SERVICES,
    INTAKE_SERVICE,
    NUMBER_PREFIX,
    get_intake_for,
    side_of,
)
from referral_hub.intake.operations.answers import (
    accept_intake,
    decline_intake,
    forward_intake,
    forward_targets,
    triage_intake,
)
from referral_hub.intake.operations.clock import (
    clock_etag,
    effective_risk,
    hours_errors,
    is_overdue,
    may_set_clock,
    response_hours,
    set_response_hours,
    unit_clock,
)
from referral_hub.intake.operations.lists import (
    intakes_query,
    overdue_intakes,
    sweep_overdue_intakes,
    urgency_order,
)
from referral_hub.intake.operations.matching import intake_matches, show_intake_matches
from referral_hub.intake.operations.reading import (
    history,
    intake_entries_for_case,
    intake_view,
)
from referral_hub.intake.operations.receiving import (
    find_by_form_token,
    receive_intake,
)

__all__ = [
    "FORWARD_SERVICES",
    "INTAKE_SERVICE",
    "NUMBER_PREFIX",
    "accept_intake",
    "clock_etag",
    "decline_intake",
    "effective_risk",
    "find_by_form_token",
    "forward_intake",
    "forward_targets",
    "get_intake_for",
    "history",
    "hours_errors",
    "intake_entries_for_case",
    "intake_matches",
    "intake_view",
    "intakes_query",
    "is_overdue",
    "may_set_clock",
    "overdue_intakes",
    "receive_intake",
    "response_hours",
    "set_response_hours",
    "show_intake_matches",
    "side_of",
    "sweep_overdue_intakes",
    "triage_intake",
    "unit_clock",
    "urgency_order",
]
