"""Delivery: the outbox, the events feed, signed webhooks, e-mail notifications, background
jobs and their schedule.

Referral and agreement code calls `outbox.emit(...)` and the `notifications.notify_*`
functions inside its transaction; everything else happens after the commit, in jobs.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app

log = logging.getLogger(__name__)
_start_lock = threading.Lock()


def init_app(app: Flask) -> None:
    """Arm the embedded runner (its settings were checked with all the others at start)."""
    app.extensions.setdefault("hub_delivery", {})
    app.before_request(_start_embedded_runner_once)


def check_start(app: Flask) -> None:
    """What the settings table cannot check alone: the schedule's job names; a warning when
    production has no SMTP server. ConfigError stops the start."""
    from referral_hub.delivery.schedule import check_intervals

    check_intervals(app.config.get("HUB_SCHEDULE_INTERVALS") or {})
    if not app.config.get("HUB_SMTP_URL") and app.config.get("HUB_ENV") == "production":
        log.warning("HUB_SMTP_URL is not set: notifications are written under instance/mail/")


def _start_embedded_runner_once() -> None:
    """In the embedded mode, the serving process starts its job threads with its first request."""
    app = current_app._get_current_object()
    state = app.extensions["hub_delivery"]
    if state.get("armed"):
        return
    with _start_lock:
        if state.get("armed"):
            return
        state["armed"] = True
        from referral_hub.delivery.settings import parse_settings

        if not app.config.get("HUB_REDIS_URL") and parse_settings(app.config).embedded_worker:
            from referral_hub.delivery.embedded import start_embedded_runner

            start_embedded_runner(app)
