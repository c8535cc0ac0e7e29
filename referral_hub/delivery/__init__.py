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
    """Check the delivery settings (ConfigError stops the start) and arm the embedded runner."""
    from referral_hub.config import ConfigError
    from referral_hub.delivery.mail import parse_smtp_url
    from referral_hub.delivery.schedule import check_intervals
    from referral_hub.delivery.settings import parse_settings

    check_intervals(parse_settings(app.config).schedule_intervals)
    if app.config.get("HUB_SMTP_URL"):
        try:
            parse_smtp_url(app.config["HUB_SMTP_URL"])
        except ValueError as error:
            raise ConfigError(str(error)) from None
    elif app.config.get("HUB_ENV") == "production":
        log.warning("HUB_SMTP_URL is not set: notifications are written under instance/mail/")
    app.extensions.setdefault("hub_delivery", {})
    app.before_request(_start_embedded_runner_once)


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
