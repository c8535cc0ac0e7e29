"""The audit verified as a whole: the chain, the checkpoints it must reach, the rows it decided.

`operations` writes and walks the chain; `checkpoints` and `decisions` verify against it. This
module asks all three and imports them; none of them imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from referral_hub.actors import Actor
from referral_hub.audit.checkpoints import CheckpointReport, verify_checkpoints
from referral_hub.audit.decisions import DecisionsReport, verify_decisions
from referral_hub.audit.operations import Verification, verify_chain
from referral_hub.extensions import db


@dataclass
class AuditVerification:
    """The chain, the checkpoints it must reach, and the rows it decided, verified together."""

    chain: Verification
    checkpoints: CheckpointReport
    records: DecisionsReport

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.checkpoints.ok and self.records.ok

    def as_dict(self, actor: Actor | None = None) -> dict[str, Any]:
        """The verdict; the rows named are those `actor` may know of (all without one)."""
        return {
            **self.chain.as_dict(),
            "ok": self.ok,
            "checkpoints": self.checkpoints.as_dict(),
            "records": self.records.as_dict(actor),
        }

    def problems(self) -> list[str]:
        """Every failure, one line each, naming the entry, checkpoint or row."""
        lines = []
        if not self.chain.ok:
            lines.append(
                f"audit chain broken at entry {self.chain.first_bad_seq}: {self.chain.reason}"
            )
        lines.extend(f"{f['checkpoint']}: {f['reason']}" for f in self.checkpoints.failures)
        lines.extend(self.records.lines())
        return lines


def verify_audit(
    *, kept: Sequence[tuple[str, dict[str, Any]]] = (), session: Session | None = None
) -> AuditVerification:
    """Verify the chain, that it reaches every signed checkpoint (stored, and `kept` copies
    given as (source, checkpoint)), and that the rows deciding what is shared match it."""
    session = session or db.session()
    return AuditVerification(
        verify_chain(session),
        verify_checkpoints(session, kept),
        verify_decisions(session),
    )
