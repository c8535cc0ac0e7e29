"""Rate limits: token issue, sign-in and the expensive lists answer 429 with Retry-After."""

from __future__ import annotations

import re
import secrets

import pytest
import redis

from referral_hub import create_app
from referral_hub.config import ConfigError
from referral_hub.extensions import db
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def limited(app, monkeypatch):
    """Limits on for one test, with the counts of earlier tests forgotten."""
    monkeypatch.setitem(app.config, "HUB_RATE_LIMITS_ENABLED", True)
    limiter = next(iter(app.extensions["limiter"]))
    limiter.reset()
    yield app
    limiter.reset()


def _csrf(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_limits_are_off_under_test_unless_a_test_turns_them_on(app):
    assert app.config["HUB_RATE_LIMITS_ENABLED"] is False


def test_token_requests_per_client_get_a_429_problem_with_retry_after(
    limited, client, hub, monkeypatch
):
    monkeypatch.setitem(limited.config, "HUB_RATE_LIMITS_TOKEN", "2/minute")
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    auth = (creds["client_id"], creds["client_secret"])
    for _ in range(2):
        ok = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
        assert ok.status_code == 200
    refused = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert body["status"] == 429
    assert body["type"].endswith("/problems/too-many-requests")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # Another client from the same address is counted apart.
    other = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    fresh = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(other["client_id"], other["client_secret"]),
    )
    assert fresh.status_code == 200


def test_token_requests_per_address(limited, client, monkeypatch):
    monkeypatch.setitem(limited.config, "HUB_RATE_LIMITS_TOKEN_IP", "3/minute")
    statuses = [
        client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(f"unknown-{n}", "wrong"),
        ).status_code
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_sign_in_per_email_shows_a_message_in_the_page(limited, client, hub, monkeypatch):
    monkeypatch.setitem(limited.config, "HUB_RATE_LIMITS_LOGIN", "2/minute")
    user = hub.user("uptd-ppa-ppu", "caseworker")
    token = _csrf(client)
    form = {"email": user["email"], "password": "wrong", "csrf_token": token}
    assert [client.post("/login", data=form).status_code for _ in range(2)] == [401, 401]
    refused = client.post("/login", data={**form, "password": TEST_PASSWORD})
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    assert "Retry-After" in refused.headers
    assert "Terlalu banyak percobaan masuk" in refused.get_data(as_text=True)
    # Another person signing in from the same address is not held up.
    other = hub.user("uptd-ppa-ppu", "supervisor")
    signed_in = client.post(
        "/login", data={"email": other["email"], "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 302


def test_the_per_email_limit_counts_each_source_apart(limited, client, hub, monkeypatch):
    # Counted per e-mail alone, the limit let anyone keep the owner out by hammering her
    # address: the owner elsewhere is not held up by someone else's requests.
    monkeypatch.setitem(limited.config, "HUB_RATE_LIMITS_LOGIN", "2/minute")
    user = hub.user("uptd-ppa-ppu", "caseworker")
    token = _csrf(client)
    form = {"email": user["email"], "password": "wrong", "csrf_token": token}
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    statuses = [client.post("/login", data=form, environ_base=attacker).status_code for _ in "123"]
    assert statuses == [401, 401, 429]
    owner = limited.test_client()
    owned = {**form, "password": TEST_PASSWORD, "csrf_token": _csrf(owner)}
    signed_in = owner.post("/login", data=owned, environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert signed_in.status_code == 302


def test_sign_in_per_address(limited, client, monkeypatch):
    monkeypatch.setitem(limited.config, "HUB_RATE_LIMITS_LOGIN_IP", "2/minute")
    token = _csrf(client)
    statuses = [
        client.post(
            "/login", data={"email": f"n{n}@x.example", "password": "x", "csrf_token": token}
        ).status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]
    assert client.get("/login").status_code == 200  # reading the form is not limited


def test_lists_are_limited_per_organisation(limited, client, hub, monkeypatch):
    monkeypatch.setitem(limited.config, "HUB_RATE_LIMITS_LISTS", "2/minute")
    headers = hub.headers("uptd-ppa-ppu", "audit:read")
    other = hub.headers("uptd-ppa-ppu", "audit:read")
    assert client.get("/api/v1/audit", headers=headers).status_code == 200
    assert client.get("/api/v1/audit", headers=headers).status_code == 200
    # Each list is counted apart: the chain check is still open.
    assert client.get("/api/v1/audit/verify", headers=headers).status_code == 200
    # A second token of the same organisation shares the organisation's count.
    refused = client.get("/api/v1/audit", headers=other)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert "Retry-After" in refused.headers
    # Another organisation is not held up by the first.
    outsider = hub.headers("uptd-ppa-balikpapan", "audit:read")
    assert client.get("/api/v1/audit", headers=outsider).status_code == 200


def test_a_mistyped_limit_stops_the_start(app_config):
    with pytest.raises(ConfigError, match="HUB_RATE_LIMITS_LOGIN"):
        create_app({**app_config, "HUB_RATE_LIMITS_LOGIN": "ten a minute"})


def test_counts_are_kept_in_redis_when_the_hub_has_one(app_config, redis_url):
    prefix = "hub-rl-test-" + secrets.token_hex(4)
    app = create_app(
        {
            **app_config,
            "HUB_REDIS_URL": redis_url,
            "HUB_RATE_LIMITS_ENABLED": "1",
            "HUB_RATE_LIMITS_TOKEN": "2/minute",
            "RATELIMIT_KEY_PREFIX": prefix,
        }
    )
    store = redis.Redis.from_url(redis_url)
    second = None
    try:
        client = app.test_client()
        statuses = [
            client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=("redis-counted-client", "wrong"),
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 429]
        keys = [key.decode() for key in store.scan_iter(f"*{prefix}*")]
        assert any("redis-counted-client" in key for key in keys), keys
        # A second process (a second app on the same Redis) sees the same count.
        second = create_app(
            {
                **app_config,
                "HUB_REDIS_URL": redis_url,
                "HUB_RATE_LIMITS_ENABLED": "1",
                "HUB_RATE_LIMITS_TOKEN": "2/minute",
                "RATELIMIT_KEY_PREFIX": prefix,
            }
        )
        again = second.test_client().post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("redis-counted-client", "wrong"),
        )
        assert again.status_code == 429
    finally:
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)
        store.close()
        for each in (app, second):
            if each is not None:
                with each.app_context():
                    db.session.remove()
                    db.engine.dispose()
