"""/healthz: 200 when the database (and Redis, when configured) answers, else a 503 problem."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from flask import Flask

from referral_hub import create_app
from referral_hub.extensions import db


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


@contextlib.contextmanager
def _another_app(app_config, **settings) -> Iterator[Flask]:
    """A second app on other settings; its connections are closed afterwards."""
    app = create_app({**app_config, **settings, "HUB_EMBEDDED_WORKER": "0"})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def test_healthy_with_redis(app_config, redis_url):
    with _another_app(app_config, HUB_REDIS_URL=redis_url) as app:
        body = app.test_client().get("/healthz").get_json()
    assert body["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.parametrize(
    ("setting", "value", "check"),
    [
        ("HUB_DATABASE_URL", "postgresql://hub@127.0.0.1:1/hub", "database"),
        ("HUB_REDIS_URL", "redis://127.0.0.1:1/0", "redis"),
    ],
    ids=["database-down", "redis-down"],
)
def test_a_dependency_down_is_a_503_problem_without_details(app_config, setting, value, check):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    with _another_app(app_config, **{setting: value}) as app:
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 503
    assert body["checks"][check] == "unavailable"
    text = response.get_data(as_text=True)
    for leak in ("port 1", ":1/", "refused", "Traceback"):
        assert leak not in text, leak
