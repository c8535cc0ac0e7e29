"""Who may give consent for a client (UU PDP Pasal 25, 26), and the supervisor's clearance.

A child's consent comes from a parent or guardian, an adult's from the client (or a
guardian, for an adult with a recorded disability); an alleged perpetrator never gives it.
A giver who resembles the guardian flagged as the alleged perpetrator (names.py) needs an
active supervisor of the unit, recording the consent personally, to clear them.
"""

from __future__ import annotations

from typing import Any

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.clients import names
from referral_hub.clients.models import CHILD_AGE, Client
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

CONSENT_GIVER_NOT_ALLOWED = register_problem(
    "consent-giver-not-allowed", "This person cannot give consent for the client"
)
CONSENT_GIVER_NEEDS_CLEARANCE = register_problem(
    "consent-giver-needs-clearance",
    "The consent giver resembles the alleged perpetrator: a supervisor must clear them",
)


def _refuse_giver(detail: str, field: str, reason: str, **fields: Any) -> Problem:
    """`reason`: alleged-perpetrator, child-client (with `age`), adult-client or
    flagged-guardian; the portal says the refusal from it."""
    return Problem(
        422, CONSENT_GIVER_NOT_ALLOWED, detail, errors={field: [detail]}, reason=reason, **fields
    )


def check_giver(
    client: Client,
    is_child: bool,
    given_by: str,
    giver_name: str | None,
    giver_relationship: str | None,
    giver_is_alleged_perpetrator: bool,
) -> str | None:
    """Refuse a giver who may not consent; say what a supervisor must clear ("name",
    "relationship") when the giver resembles the guardian flagged as the alleged perpetrator.
    """
    if giver_is_alleged_perpetrator:
        raise _refuse_giver(
            "An alleged perpetrator can never give consent for the victim.",
            "giver_is_alleged_perpetrator",
            "alleged-perpetrator",
        )
    if is_child and given_by == "client":
        raise _refuse_giver(
            f"The client is under {CHILD_AGE}: consent comes from a parent or guardian "
            "(UU PDP Pasal 25); record the child's assent in child_assent.",
            "given_by",
            "child-client",
            age=CHILD_AGE,
        )
    if not is_child and given_by != "client" and not client.disability:
        raise _refuse_giver(
            "An adult client gives consent themself; a guardian may consent only for an adult "
            "with a recorded disability (UU PDP Pasal 26).",
            "given_by",
            "adult-client",
        )
    guardian = client.guardian
    if given_by == "client" or not giver_name or not guardian:
        return None
    if not guardian.get("is_alleged_perpetrator"):
        return None
    resemblance = names.compare_names(giver_name, guardian.get("name") or "")
    if resemblance == "same":
        raise _refuse_giver(
            "The giver matches the client's guardian, who is recorded as the alleged "
            "perpetrator; consent must come from another parent or guardian.",
            "giver_name",
            "flagged-guardian",
        )
    if resemblance == "close":
        return "name"
    if giver_relationship and names.same_relationship(
        giver_relationship, guardian.get("relationship") or ""
    ):
        return "relationship"
    return None


#: What resembles the flagged guardian -> (the field it is on, the refusal's detail, the field's
#: message).
_CLEARANCE_TEXTS = {
    "name": (
        "giver_name",
        "The giver's name is close to that of the client's guardian, who is recorded as the "
        "alleged perpetrator: a supervisor of the unit must make sure they are not the same "
        "person and record this consent personally (giver_cleared_by_supervisor).",
        "Close to the name of the guardian recorded as the alleged perpetrator; "
        "a supervisor must clear it.",
    ),
    "relationship": (
        "giver_relationship",
        "The giver has the same relationship to the client as the guardian recorded as the "
        "alleged perpetrator: a supervisor of the unit must make sure they are not the same "
        "person and record this consent personally (giver_cleared_by_supervisor).",
        "The relationship of the guardian recorded as the alleged perpetrator; "
        "a supervisor must clear it.",
    ),
}


def needs_clearance(resembles: str) -> Problem:
    field, detail, message = _CLEARANCE_TEXTS[resembles]
    return Problem(
        422, CONSENT_GIVER_NEEDS_CLEARANCE, detail, errors={field: [message]}, reason=resembles
    )


def clearing_supervisor(actor: Actor, client: Client) -> str:
    """The id of the supervisor who clears a giver: the actor, an active supervisor of the
    client's unit acting as themselves (portal, or a token issued to them); else 422."""
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    if (
        user is None
        or not user.active
        or user.role != "supervisor"
        or user.organization_id != client.organization_id
    ):
        raise Problem(
            422,
            CONSENT_GIVER_NEEDS_CLEARANCE,
            "A consent giver is cleared by an active supervisor of the client's unit "
            "personally, who records the consent.",
            errors={
                "giver_cleared_by_supervisor": [
                    "Only a supervisor of the unit, recording the consent themself, clears it."
                ]
            },
            reason="supervisor-only",
        )
    return user.id
