"""Queue names and the schedule: every periodic job of the hub, declared here and only here.

Under rq, `flask hub worker` runs a ticker that enqueues each periodic job once per
interval across all workers (a Redis key per interval slot elects the one that does);
in the embedded mode the in-process runner calls the same functions on the same intervals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: rq queues, most urgent first: every worker serves them all and takes a job from a queue
#: only when those before it are empty. Webhook work (`high`: the outbox's dispatch;
#: `webhooks`: drains and retries) therefore never waits behind e-mail (`mail`), and the
#: mail job itself steps aside between batches when webhook work waits (tasks.py).
#: `default` gets no new jobs: it is served for those an older release queued there.
HIGH, WEBHOOKS, DEFAULT, MAIL, LOW = "high", "webhooks", "default", "mail", "low"
QUEUES = (HIGH, WEBHOOKS, DEFAULT, MAIL, LOW)

#: Functions `fn(now)` that find referrals past `respond_by`, emit `referral.overdue` and
#: call `notify_referral_overdue`; the referrals package appends its sweeper here.
OVERDUE_SWEEPERS: list[Callable[[dt.datetime], Any]] = []


@dataclass(frozen=True)
class Periodic:
    """A job run every `every` seconds on `queue`; `task` is the dotted path of the function."""

    name: str
    task: str
    every: float
    queue: str = LOW

    def interval(self, overrides: dict[str, float] | None = None) -> float:
        """The interval in seconds, after any HUB_SCHEDULE_INTERVALS override."""
        return (overrides or {}).get(self.name, self.every)


PERIODIC: tuple[Periodic, ...] = (
    # Events and notifications whose after-commit enqueue was lost (Redis down, crash).
    Periodic("outbox-sweep", "referral_hub.delivery.tasks.sweep_outbox", 60, HIGH),
    # Webhook deliveries due for a retry, or whose worker died during an attempt.
    Periodic("webhook-retries", "referral_hub.delivery.tasks.retry_due_deliveries", 10, WEBHOOKS),
    # agreement.expiring (30 and 7 days ahead) and agreement.expired.
    Periodic("agreement-expiry", "referral_hub.delivery.tasks.sweep_agreement_expiry", 3600),
    # referral.overdue and the e-mail to the sender's supervisors.
    Periodic("overdue-referrals", "referral_hub.delivery.tasks.sweep_overdue_referrals", 300),
    # OAuth authorization codes a day past their use or expiry.
    Periodic("oauth-code-purge", "referral_hub.delivery.tasks.purge_authorization_codes", 3600),
    # Idempotency keys (and the responses kept under them) past their 24 hours.
    Periodic("idempotency-key-purge", "referral_hub.delivery.tasks.purge_idempotency_keys", 3600),
    # Counters of failed sign-ins and client authentications an hour quiet.
    Periodic("attempt-counter-purge", "referral_hub.delivery.tasks.purge_attempt_counters", 3600),
    # A signed checkpoint of the audit chain, when it grew (audit/checkpoints.py).
    Periodic("audit-checkpoint", "referral_hub.delivery.tasks.sign_audit_checkpoint", 300),
)

#: rq job options per task: timeouts in seconds, results kept briefly (the state is in SQL).
JOB_OPTIONS: dict[str, dict[str, Any]] = {
    "referral_hub.delivery.tasks.dispatch_events": {"queue": HIGH, "job_timeout": 120},
    "referral_hub.delivery.tasks.drain_webhook": {"queue": WEBHOOKS, "job_timeout": 180},
    "referral_hub.delivery.tasks.send_notifications": {"queue": MAIL, "job_timeout": 180},
    "referral_hub.delivery.tasks.send_notification": {"queue": MAIL, "job_timeout": 180},
    "referral_hub.delivery.tasks.sweep_outbox": {"queue": HIGH, "job_timeout": 300},
    "referral_hub.delivery.tasks.retry_due_deliveries": {"queue": WEBHOOKS, "job_timeout": 300},
    "referral_hub.delivery.tasks.sweep_agreement_expiry": {"queue": LOW, "job_timeout": 900},
    "referral_hub.delivery.tasks.sweep_overdue_referrals": {"queue": LOW, "job_timeout": 900},
    "referral_hub.delivery.tasks.purge_authorization_codes": {"queue": LOW, "job_timeout": 300},
    "referral_hub.delivery.tasks.purge_idempotency_keys": {"queue": LOW, "job_timeout": 300},
    "referral_hub.delivery.tasks.purge_attempt_counters": {"queue": LOW, "job_timeout": 300},
    "referral_hub.delivery.tasks.sign_audit_checkpoint": {"queue": LOW, "job_timeout": 600},
}
RESULT_TTL = 60
FAILURE_TTL = 7 * 24 * 3600
