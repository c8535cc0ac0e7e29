"""Liveness with dependencies: the database, and Redis when configured."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from referral_hub.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 {"status": "ok"} when the database (and Redis, if configured) answers; else 503."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any failure means unhealthy; the detail goes to the log only
        current_app.logger.exception("health check: database")
        checks["database"] = "unavailable"
    redis_url = current_app.config.get("HUB_REDIS_URL")
    if redis_url:
        try:
            from redis import Redis

            Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception:
            current_app.logger.exception("health check: redis")
            checks["redis"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    if not healthy:
        response.mimetype = "application/problem+json"
        response.set_data(
            jsonify(
                {
                    # RFC 9457: `status` is the HTTP status code here, not the word.
                    "type": f"{current_app.config['HUB_BASE_URL']}/problems/service-unavailable",
                    "title": "Service unavailable",
                    "status": 503,
                    "detail": "A dependency of the hub does not answer; see 'checks'.",
                    "checks": checks,
                }
            ).get_data()
        )
    response.headers["Cache-Control"] = "no-store"
    return response
