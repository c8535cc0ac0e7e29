"""A case's versions: its ETag, the If-Match a change is made against, a concurrent change.

Every change of a case bumps its version; a change made against an older one is refused
(412), and two made at once leave one winner and a 409 for the other.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.orm.exc import StaleDataError
from werkzeug.http import parse_etags

from referral_hub.cases.models import Case
from referral_hub.extensions import db
from referral_hub.problems import Problem


def etag_of(case: Case) -> str:
    """The case's entity tag (unquoted): changes with every change of the case."""
    return hashlib.sha256(f"{case.id}:{case.version}".encode()).hexdigest()[:32]


def check_if_match(case: Case, if_match: str | None, *, required: bool) -> None:
    """412 when `if_match` names another version; 428 when required and missing."""
    if not if_match:
        if required:
            raise Problem(
                428, "precondition-required", "Send If-Match with the case's ETag (GET it first)."
            )
        return
    if not parse_etags(if_match).contains(etag_of(case)):
        raise Problem(
            412,
            "precondition-failed",
            "The case changed since you read it; GET it again and retry.",
            headers={"ETag": f'"{etag_of(case)}"'},
        )


def flush_case(case: Case) -> None:
    """Write the change now, so a concurrent change of the same version fails here (409)."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Problem(409, "conflict", f"Case {case.number} changed meanwhile; retry.") from None
