"""The fine print of OAuth 2.0 and of HTTP that partner libraries rely on.

Token-endpoint errors are RFC 6749 5.2 JSON, revocation answers alike for a token the caller
may not revoke and one that does not exist (RFC 7009), introspection ignores a hint it does
not know (RFC 7662), and the API's challenges, headers and pages say nothing misleading.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from tests.conftest import problem
from tests.orgs import BALIKPAPAN as BPP
from tests.orgs import POLRES, PPU


def _token(client, creds, **extra):
    return client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **extra},
        auth=(creds["client_id"], creds["client_secret"]),
    )


def _revoked(app) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "oauth.token_revoked")
        ).all()
        db.session.expunge_all()
        return rows


# --- the token endpoint's errors (RFC 6749 5.2) -------------------------------------------


def test_token_errors_are_application_json(client, hub):
    creds = hub.oauth_client(PPU, "directory:read")
    response = _token(client, creds, scope="no-such-scope")
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == "invalid_scope"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_missing_grant_type_is_invalid_request(client, hub):
    creds = hub.oauth_client(PPU, "directory:read")
    response = client.post(
        "/oauth/token",
        data={"scope": "directory:read"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "invalid_request"


def test_a_json_body_is_invalid_request(client, hub):
    creds = hub.oauth_client(PPU, "directory:read")
    response = client.post(
        "/oauth/token",
        data=json.dumps({"grant_type": "client_credentials"}),
        content_type="application/json",
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "invalid_request"


def test_a_failed_client_authentication_is_json_with_a_basic_challenge(client, hub):
    creds = hub.oauth_client(PPU, "directory:read")
    response = _token(client, {**creds, "client_secret": "wrong"})
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


# --- revocation (RFC 7009) and introspection (RFC 7662) -----------------------------------


def test_revoking_another_clients_token_answers_as_for_an_unknown_token(app, client, hub):
    mine = hub.oauth_client(PPU, "directory:read")
    other = hub.oauth_client(POLRES, "directory:read")
    access = _token(client, mine).get_json()["access_token"]
    theirs = client.post(
        "/oauth/revoke", data={"token": access}, auth=(other["client_id"], other["client_secret"])
    )
    unknown = client.post(
        "/oauth/revoke",
        data={"token": "never-issued"},
        auth=(other["client_id"], other["client_secret"]),
    )
    assert theirs.status_code == unknown.status_code == 200
    assert theirs.get_data() == unknown.get_data()
    # Nothing was revoked: the token still works.
    assert (
        client.get("/api/v1/services", headers={"Authorization": f"Bearer {access}"}).status_code
        == 200
    )
    assert _revoked(app) == []


@pytest.mark.parametrize("endpoint", ["/oauth/revoke", "/oauth/introspect"])
def test_an_unknown_token_type_hint_is_ignored(client, hub, endpoint):
    creds = hub.oauth_client(PPU, "directory:read")
    access = _token(client, creds).get_json()["access_token"]
    response = client.post(
        endpoint,
        data={"token": access, "token_type_hint": "id_token"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    works = client.get("/api/v1/services", headers={"Authorization": f"Bearer {access}"})
    if endpoint == "/oauth/introspect":
        assert response.get_json()["active"] is True
        assert works.status_code == 200
    else:
        assert works.status_code == 401  # revoked, the hint notwithstanding


# --- the API's challenges and headers -----------------------------------------------------


def test_basic_credentials_on_the_api_get_a_plain_bearer_challenge(client, hub):
    creds = hub.oauth_client(PPU, "directory:read")
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    response = client.get("/api/v1/services", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="referral_hub"'
    assert problem(response)["type"].endswith("/unauthorized")


@pytest.fixture
def limited(app, monkeypatch):
    """Rate limits on for one test, with the counts of earlier tests forgotten."""
    monkeypatch.setitem(app.config, "HUB_RATE_LIMITS_ENABLED", True)
    limiter = next(iter(app.extensions["limiter"]))
    limiter.reset()
    yield app
    limiter.reset()


def test_a_successful_answer_has_no_retry_after(limited, client, hub, monkeypatch):
    # Retry-After tells a client to wait; on a 200 it only confuses retrying libraries.
    monkeypatch.setitem(limited.config, "HUB_RATE_LIMITS_LISTS", "5/minute")
    creds = hub.oauth_client(PPU, "audit:read")
    token = _token(client, creds)
    assert token.status_code == 200
    assert "Retry-After" not in token.headers
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    for _ in range(5):
        listed = client.get("/api/v1/audit", headers=headers)
        assert listed.status_code == 200
        assert "Retry-After" not in listed.headers
        assert "X-RateLimit-Limit" in listed.headers
    refused = client.get("/api/v1/audit", headers=headers)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


# --- the events cursor ----------------------------------------------------------------------


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor", ["not-a-cursor", _cursor("e1:-5"), _cursor("e1:999999"), _cursor("e1:0")]
)
def test_a_forged_events_cursor_is_400(client, hub, cursor):
    response = client.get(f"/api/v1/events?after={cursor}", headers=hub.headers(BPP, "events:read"))
    assert response.status_code == 400
    body = problem(response)
    assert body["type"].endswith("/invalid-cursor")


def test_a_cursor_of_another_organisations_feed_is_400(client, hub):
    theirs = client.get("/api/v1/events", headers=hub.headers(PPU, "events:read")).get_json()
    response = client.get(
        f"/api/v1/events?after={theirs['next_cursor']}", headers=hub.headers(BPP, "events:read")
    )
    assert response.status_code == 400


# --- pages and locations ----------------------------------------------------------------------


def _links(response) -> dict[str, str]:
    links = {}
    for part in filter(None, (response.headers.get("Link") or "").split(",")):
        url, rel = part.split(";", 1)
        links[rel.strip().removeprefix('rel="').removesuffix('"')] = url.strip()[1:-1]
    return links


def test_a_page_beyond_the_last_has_no_prev_to_nowhere(client, hub):
    headers = hub.headers(BPP, "webhooks:write")
    for n in range(3):
        assert (
            client.post(
                "/api/v1/webhooks",
                json={"url": f"https://8.8.8.{n + 1}/hooks", "events": []},
                headers=headers,
            ).status_code
            == 201
        )
    beyond = client.get("/api/v1/webhooks?page=9&page_size=2", headers=headers)
    assert beyond.status_code == 200
    assert beyond.get_json()["items"] == []
    prev = _links(beyond).get("prev")
    assert prev is not None
    assert parse_qs(urlsplit(prev).query)["page"] == ["2"]  # the last page, not page 8
    assert client.get(prev, headers=headers).get_json()["items"]
    # With nothing at all there is no page to go back to.
    empty = client.get("/api/v1/webhooks?page=3", headers=hub.headers(POLRES, "webhooks:write"))
    assert "prev" not in _links(empty)


def test_every_201_location_is_absolute(app, client, hub):
    from tests.referrals_support import Scenario

    s = Scenario(app, client, hub)
    clients = client.post("/api/v1/clients", json=_adult(), headers=s.ppu)
    referral = client.post("/api/v1/referrals", json=s.body(), headers=s.ppu)
    for response in (clients, referral):
        assert response.status_code == 201, response.get_data(as_text=True)
        location = response.headers["Location"]
        assert location.startswith("http://") or location.startswith("https://"), location
        assert client.get(location, headers=s.ppu).status_code == 200


def _adult():
    from tests.clients_support import adult_body

    return adult_body()


def test_the_referral_list_for_syncing_has_a_stable_order(app, client, hub):
    from sqlalchemy import update

    from referral_hub.referrals.models import Referral
    from tests.referrals_support import Scenario

    s = Scenario(app, client, hub)
    ids = [s.send(sender_reference=f"SYNC-{n}")["id"] for n in range(3)]
    # Two changed in the same instant (a clock's resolution): the id breaks the tie.
    with app.app_context():
        same = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.UTC)
        db.session.execute(update(Referral).where(Referral.id.in_(ids)).values(updated_at=same))
        db.session.execute(
            update(Referral)
            .where(Referral.id == ids[0])
            .values(updated_at=same + dt.timedelta(hours=1))
        )
        db.session.commit()
    url = "/api/v1/referrals?box=received&sort=updated_at&page_size=1"
    seen, page = [], client.get(url, headers=s.balikpapan)
    while True:
        assert page.status_code == 200, page.get_data(as_text=True)
        seen += [r["id"] for r in page.get_json()["items"]]
        following = page.get_json()["next"]
        if not following:
            break
        page = client.get(following, headers=s.balikpapan)
    assert seen == [*sorted(ids[1:]), ids[0]]
    since = (same + dt.timedelta(minutes=30)).isoformat()
    changed = client.get(
        f"/api/v1/referrals?box=received&sort=updated_at&updated_since={since.replace('+', '%2B')}",
        headers=s.balikpapan,
    ).get_json()
    assert [r["id"] for r in changed["items"]] == [ids[0]]
