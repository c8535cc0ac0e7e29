"""The audit readers' start page: the chain's status and the recent sensitive actions.

The status is `checkpoints.newest_checkpoint_status`: the newest signed checkpoint checked
cheaply (its signature, the chain's entry at its position), never the full verification on
every view. The actions are audit entries the reader may read (`search_entries`), in words
(`wording.describe_entries`): objects by their numbers, never ids.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.audit.checkpoints import newest_checkpoint_status
from referral_hub.audit.models import AuditEntry
from referral_hub.audit.wording import describe_entries
from referral_hub.extensions import db

#: Actions an auditor looks at first: a supervisor's decision on an override, erasures,
#: exports of personal data or figures, key rotations. A referral sent on a legal basis
#: other than consent (an override) is selected by its recorded basis (`OVERRIDE_SENT`).
SENSITIVE_ACTIONS = (
    "referral.override_approved",
    "referral.override_declined",
    "client.erased",
    "client.exported",
    "agreement.registry_exported",
    "report.exported",
    "data_keys.rotated",
)
#: A referral sent (or put to a supervisor) without the client's consent.
OVERRIDE_SENT = and_(
    AuditEntry.action == "referral.sent",
    AuditEntry.detail["legal_basis"].as_string() != "consent",
)
#: The audit log's word filters by the kind of object an entry is about (audit/lookup.py).
FILTER_OF_OBJECT = {"referral": "referral", "client": "client", "agreement": "agreement"}
HOME_LINES = 8


def sensitive_query(actor: Actor):
    """The sensitive entries the actor may read, newest first."""
    return audit.search_entries(actor).where(
        or_(AuditEntry.action.in_(SENSITIVE_ACTIONS), OVERRIDE_SENT)
    )


def audit_home(actor: Actor) -> dict[str, Any]:
    """The start page's panel: the chain's status and the newest sensitive actions, each
    with the log's filters that find it (by action, and by its object's number)."""
    entries = list(db.session.scalars(sensitive_query(actor).limit(HOME_LINES)))
    lines = []
    for entry, words in zip(entries, describe_entries(entries), strict=True):
        by_object = FILTER_OF_OBJECT.get(entry.object_type)
        lines.append(
            {
                **words,
                "at": entry.at,
                "code": entry.action,
                # An override's basis (vital interest, a legal obligation), as its code.
                "legal_basis": (
                    entry.detail.get("legal_basis") if entry.action == "referral.sent" else None
                ),
                "object_filter": (
                    {by_object: words["object_name"]}
                    if by_object and words["object_is_number"]
                    else {}
                ),
            }
        )
    return {"chain": newest_checkpoint_status(), "lines": lines}
