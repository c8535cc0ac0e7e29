"""The delivery settings, as the delivery code uses them.

They are declared, with their defaults and checks, in the one settings table
(`referral_hub.config.SETTINGS`) and checked there when the app starts; here they are read
from an app's config with the same parsers, so that a test may change one on its app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from referral_hub.config import setting


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


def parse_settings(config: Mapping[str, Any]) -> DeliverySettings:
    """Read the delivery settings from a Flask config; raise ConfigError when one is unusable."""
    connect, read = setting(config, "HUB_WEBHOOK_TIMEOUT")
    return DeliverySettings(
        embedded_worker=setting(config, "HUB_EMBEDDED_WORKER"),
        connect_timeout=connect,
        read_timeout=read,
        retry_schedule=setting(config, "HUB_WEBHOOK_RETRY_SCHEDULE"),
        retry_window=setting(config, "HUB_WEBHOOK_RETRY_WINDOW"),
        lease_margin=setting(config, "HUB_WEBHOOK_LEASE_MARGIN"),
        webhooks_per_organization=setting(config, "HUB_WEBHOOKS_PER_ORGANIZATION"),
        outbox_sweep_after=setting(config, "HUB_OUTBOX_SWEEP_AFTER"),
        schedule_intervals=setting(config, "HUB_SCHEDULE_INTERVALS") or {},
        mail_from=setting(config, "HUB_MAIL_FROM"),
        allow_loopback=setting(config, "HUB_WEBHOOK_ALLOW_LOOPBACK"),
    )


def settings() -> DeliverySettings:
    """The current app's delivery settings (parsed from its config, which tests may change)."""
    return parse_settings(current_app.config)
