"""The delivery settings, read from HUB_* configuration and checked when the app starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from referral_hub.config import ConfigError

#: Retry caps in seconds after the 1st, 2nd, ... failed attempt; the last one repeats.
DEFAULT_RETRY_SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 36000)

#: Every setting this package reads, with its meaning (for the README and `flask hub config`).
SETTINGS = {
    "HUB_EMBEDDED_WORKER": "1: without HUB_REDIS_URL, jobs run in threads of the web process "
    "(default 1, but 0 under HUB_ENV=test)",
    "HUB_WEBHOOK_TIMEOUT": "connect,read timeouts of a webhook delivery in seconds (5,10)",
    "HUB_WEBHOOK_RETRY_SCHEDULE": "retry caps in seconds, full jitter below each "
    "(5,30,120,600,1800,3600,7200,14400,28800,36000; the last repeats)",
    "HUB_WEBHOOK_RETRY_WINDOW": "seconds a delivery is retried before it is dead (86400)",
    "HUB_WEBHOOK_LEASE_MARGIN": "seconds beyond the timeouts before an unfinished attempt "
    "(its worker died) is taken over (30)",
    "HUB_WEBHOOKS_PER_ORGANIZATION": "subscriptions an organisation may hold (20)",
    "HUB_OUTBOX_SWEEP_AFTER": "seconds after commit an undispatched event is re-enqueued (30)",
    "HUB_SCHEDULE_INTERVALS": "override periodic job intervals, e.g. 'outbox-sweep=5'",
    "HUB_MAIL_FROM": "sender address of notifications (default noreply@<host of HUB_BASE_URL>)",
}


@dataclass(frozen=True)
class DeliverySettings:
    """Parsed delivery settings."""

    embedded_worker: bool
    connect_timeout: float
    read_timeout: float
    retry_schedule: tuple[float, ...]
    retry_window: float
    lease_margin: float
    webhooks_per_organization: int
    outbox_sweep_after: float
    schedule_intervals: dict[str, float]
    mail_from: str
    allow_loopback: bool

    @property
    def lease_seconds(self) -> float:
        """How long an attempt may take before another worker may assume it died."""
        return self.connect_timeout + self.read_timeout + self.lease_margin


def _floats(name: str, value: Any, count: int | None = None) -> tuple[float, ...]:
    if isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [p for p in str(value).replace(" ", "").split(",") if p]
    try:
        numbers = tuple(float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"{name}: expected comma-separated seconds, got '{value}'") from None
    if not numbers or any(n < 0 for n in numbers):
        raise ConfigError(f"{name}: expected non-negative seconds, got '{value}'")
    if count is not None and len(numbers) != count:
        raise ConfigError(f"{name}: expected {count} numbers, got '{value}'")
    return numbers


def _number(name: str, value: Any, minimum: float = 0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a number, got '{value}'") from None
    if number < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}")
    return number


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _intervals(value: Any) -> dict[str, float]:
    """Seconds per job name; the names are checked against the schedule at start
    (`schedule.check_intervals`, from `delivery.init_app`)."""
    out: dict[str, float] = {}
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        items = [part.partition("=")[::2] for part in str(value or "").split(",") if part.strip()]
    for name, seconds in items:
        name = str(name).strip()
        out[name] = _number(f"HUB_SCHEDULE_INTERVALS[{name}]", seconds, minimum=0.1)
    return out


def parse_settings(config: Mapping[str, Any]) -> DeliverySettings:
    """Read the delivery settings from a Flask config; raise ConfigError when one is unusable."""
    connect, read = _floats(
        "HUB_WEBHOOK_TIMEOUT", config.get("HUB_WEBHOOK_TIMEOUT", "5,10"), count=2
    )
    if connect <= 0 or read <= 0:
        raise ConfigError("HUB_WEBHOOK_TIMEOUT: both timeouts must be positive")
    default_embedded = "0" if config.get("HUB_ENV") == "test" else "1"
    host = urlsplit(str(config.get("HUB_BASE_URL") or "")).hostname or "localhost"
    if host.replace(".", "").isdigit() or ":" in host:
        host = "localhost"  # an address is no mail domain
    return DeliverySettings(
        embedded_worker=_truthy(config.get("HUB_EMBEDDED_WORKER", default_embedded)),
        connect_timeout=connect,
        read_timeout=read,
        retry_schedule=_floats(
            "HUB_WEBHOOK_RETRY_SCHEDULE",
            config.get("HUB_WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE),
        ),
        retry_window=_number(
            "HUB_WEBHOOK_RETRY_WINDOW", config.get("HUB_WEBHOOK_RETRY_WINDOW", 86400)
        ),
        lease_margin=_number(
            "HUB_WEBHOOK_LEASE_MARGIN", config.get("HUB_WEBHOOK_LEASE_MARGIN", 30)
        ),
        webhooks_per_organization=int(
            _number(
                "HUB_WEBHOOKS_PER_ORGANIZATION",
                config.get("HUB_WEBHOOKS_PER_ORGANIZATION", 20),
                minimum=1,
            )
        ),
        outbox_sweep_after=_number(
            "HUB_OUTBOX_SWEEP_AFTER", config.get("HUB_OUTBOX_SWEEP_AFTER", 30)
        ),
        schedule_intervals=_intervals(config.get("HUB_SCHEDULE_INTERVALS")),
        mail_from=str(config.get("HUB_MAIL_FROM") or f"noreply@{host}"),
        allow_loopback=_truthy(config.get("HUB_WEBHOOK_ALLOW_LOOPBACK", False)),
    )


def settings() -> DeliverySettings:
    """The current app's delivery settings (parsed from its config, which tests may change)."""
    return parse_settings(current_app.config)
