"""The schedule: every periodic job of the hub, declared here and only here.

Each entry names the job function itself (imported from its feature's `tasks.py`) with its
queue and timeout; the dotted path rq stores is computed from the function, never written.
Under rq, `flask hub worker` runs a ticker that enqueues each periodic job once per
interval across all workers (a Redis key per interval slot elects the one that does);
in the embedded mode the in-process runner calls the same functions on the same intervals.

Only the runners (worker.py, embedded.py) and the start-up check read this module; no job
and no feature imports it, so the features' imports of delivery stay one-way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from referral_hub.accounts.tasks import purge_attempt_counters
from referral_hub.agreements.tasks import sweep_agreement_expiry
from referral_hub.audit.tasks import sign_audit_checkpoint
from referral_hub.cases.tasks import announce_due_follow_ups
from referral_hub.config import ConfigError
from referral_hub.delivery.queues import HIGH, LOW, WEBHOOKS, task_path
from referral_hub.delivery.tasks import (
    destroy_rotated_secrets,
    retry_due_deliveries,
    sweep_outbox,
)
from referral_hub.idempotency.tasks import purge_idempotency_keys
from referral_hub.oauth.tasks import purge_authorization_codes
from referral_hub.referrals.tasks import sweep_overdue_referrals


@dataclass(frozen=True)
class Periodic:
    """`fn()` run every `every` seconds as an rq job on `queue`, stopped after `timeout` s."""

    name: str
    fn: Callable[[], Any]
    every: float
    queue: str = LOW
    timeout: int = 300

    @property
    def task(self) -> str:
        """The job's dotted path, as rq stores it."""
        return task_path(self.fn)

    def interval(self, overrides: Mapping[str, float] | None = None) -> float:
        """The interval in seconds, after any HUB_SCHEDULE_INTERVALS override."""
        return (overrides or {}).get(self.name, self.every)


PERIODIC: tuple[Periodic, ...] = (
    # Events and notifications whose after-commit enqueue was lost (Redis down, crash).
    Periodic("outbox-sweep", sweep_outbox, 60, HIGH, timeout=300),
    # Webhook deliveries due for a retry, or whose worker died during an attempt.
    Periodic("webhook-retries", retry_due_deliveries, 10, WEBHOOKS, timeout=300),
    # agreement.expiring (30 and 7 days ahead) and agreement.expired.
    Periodic("agreement-expiry", sweep_agreement_expiry, 3600, LOW, timeout=900),
    # referral.overdue and the e-mail to the sender's supervisors.
    Periodic("overdue-referrals", sweep_overdue_referrals, 300, LOW, timeout=900),
    # case.follow_up_due, once per note whose follow-up day has come.
    Periodic("case-follow-ups", announce_due_follow_ups, 900, LOW, timeout=600),
    # OAuth authorization codes a day past their use or expiry.
    Periodic("oauth-code-purge", purge_authorization_codes, 3600, LOW, timeout=300),
    # Idempotency keys (and the responses kept under them) past their 24 hours.
    Periodic("idempotency-key-purge", purge_idempotency_keys, 3600, LOW, timeout=300),
    # Counters of failed sign-ins and client authentications an hour quiet.
    Periodic("attempt-counter-purge", purge_attempt_counters, 3600, LOW, timeout=300),
    # Webhook secrets a rotation replaced, once their 24-hour overlap is over.
    Periodic("webhook-secret-expiry", destroy_rotated_secrets, 600, LOW, timeout=300),
    # A signed checkpoint of the audit chain, when it grew (audit/checkpoints.py).
    Periodic("audit-checkpoint", sign_audit_checkpoint, 300, LOW, timeout=600),
)


def check_intervals(overrides: Mapping[str, float]) -> None:
    """HUB_SCHEDULE_INTERVALS may only name jobs of the schedule (checked at start)."""
    known = {p.name for p in PERIODIC}
    for name in overrides:
        if name not in known:
            raise ConfigError(
                f"HUB_SCHEDULE_INTERVALS: unknown job '{name}' (known: {', '.join(sorted(known))})"
            )
