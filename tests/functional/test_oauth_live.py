"""The OAuth 2.0 server over real HTTP, driven by an independent client (oauthlib).

Each test talks to the `live_server` on loopback with requests-oauthlib and plain
requests, as a partner system or a third-party app would.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
import time_machine
from oauthlib.oauth2 import (
    BackendApplicationClient,
    InvalidClientError,
    InvalidGrantError,
    InvalidScopeError,
    WebApplicationClient,
)
from requests_oauthlib import OAuth2Session
from sqlalchemy import select, update

from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from referral_hub.oauth.models import OAuthClient, OAuthToken, secret_digest
from tests.conftest import TEST_PASSWORD

REDIRECT_URI = "http://127.0.0.1:9/cb"  # nothing listens there: the redirect is only read


@pytest.fixture(autouse=True)
def _plain_http_on_loopback(monkeypatch):
    # oauthlib refuses http:// unless told that this is a test on loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _problem(response: requests.Response) -> dict:
    assert response.headers["Content-Type"].startswith("application/problem+json"), (
        response.headers["Content-Type"],
        response.text[:300],
    )
    body = response.json()
    assert body["status"] == response.status_code
    return body


def _client_credentials(live_server, creds, scope=None) -> dict:
    """Fetch a token with the client credentials grant, as a partner system would."""
    session = OAuth2Session(client=BackendApplicationClient(client_id=creds["client_id"]))
    return session.fetch_token(
        live_server + "/oauth/token",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        scope=scope,
    )


def _get(live_server, path, access_token) -> requests.Response:
    return requests.get(
        live_server + path, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )


def _introspect(live_server, creds, token, hint=None) -> dict:
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    response = requests.post(
        live_server + "/oauth/introspect",
        data=data,
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _token_row(app, access_token: str):
    with app.app_context():
        return db.session.scalar(
            select(OAuthToken).where(OAuthToken.access_token_hash == secret_digest(access_token))
        )


def _audit(app, action: str) -> list[AuditEntry]:
    """The audit entries of one action, oldest first."""
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        ).all()
        db.session.expunge_all()
        return entries


def _audited_text(app) -> str:
    """Every audit entry's content, to look for what must never be written there."""
    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.action, AuditEntry.object_id, AuditEntry.detail)
        ).all()
        return json.dumps([list(row) for row in rows])


# --- metadata and client credentials ---------------------------------------------------


def test_metadata_rfc8414(live_server):
    response = requests.get(live_server + "/.well-known/oauth-authorization-server", timeout=10)
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == live_server
    assert meta["token_endpoint"] == live_server + "/oauth/token"
    assert meta["authorization_endpoint"] == live_server + "/oauth/authorize"
    assert meta["revocation_endpoint"] == live_server + "/oauth/revoke"
    assert meta["introspection_endpoint"] == live_server + "/oauth/introspect"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {
        "client_credentials",
        "authorization_code",
        "refresh_token",
    }
    assert meta["response_types_supported"] == ["code"]
    assert "password" not in meta["grant_types_supported"]
    assert "directory:read" in meta["scopes_supported"]


def test_client_credentials_gets_registered_scopes_and_reads_directory(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read audit:read")
    token = _client_credentials(live_server, creds)
    assert token["token_type"].lower() == "bearer"
    assert 0 < token["expires_in"] <= 3600
    assert set(token["scope"]) == {"directory:read", "audit:read"}
    assert "refresh_token" not in token  # a partner system simply asks again

    body = _get(live_server, "/api/v1/organizations/polres-ppu", token["access_token"]).json()
    assert body["type"] == "police"
    listing = _get(
        live_server,
        "/api/v1/organizations?service=psychological_counseling",
        token["access_token"],
    ).json()
    assert "uptd-ppa-balikpapan" in {o["code"] for o in listing["items"]}
    # A partner system's token acts for no person: its issue is not audited one by one.
    assert _audit(hub.app, "oauth.token_issued") == []


def test_client_credentials_with_client_secret_post(live_server, hub):
    # API.md: client auth is client_secret_basic or client_secret_post.
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    session = OAuth2Session(client=BackendApplicationClient(client_id=creds["client_id"]))
    token = session.fetch_token(
        live_server + "/oauth/token",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        include_client_id=True,  # the secret in the body, no Authorization header
    )
    assert _get(live_server, "/api/v1/services", token["access_token"]).status_code == 200
    wrong = requests.post(
        live_server + "/oauth/token",
        data={**creds, "grant_type": "client_credentials", "client_secret": "wrong"},
        timeout=10,
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


def test_requested_subset_of_scopes_is_granted_as_asked(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read audit:read")
    token = _client_credentials(live_server, creds, scope=["directory:read"])
    assert token["scope"] == ["directory:read"]
    denied = _get(live_server, "/api/v1/audit", token["access_token"])
    assert denied.status_code == 403


def test_wrong_secret_is_invalid_client(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    with pytest.raises(InvalidClientError):
        _client_credentials(live_server, {**creds, "client_secret": "wrong-" + "x" * 40})
    response = requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], "wrong"),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # RFC 6749 5.2: application/json (the body also carries the problem members).
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["type"].endswith("/problems/oauth-invalid-client")
    assert response.headers["Cache-Control"] == "no-store"


def test_failed_client_authentication_is_audited_at_each_endpoint(live_server, hub, app):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    wrong = "wrong-secret-" + secrets.token_urlsafe(8)
    for path, data in (
        ("/oauth/token", {"grant_type": "client_credentials"}),
        ("/oauth/revoke", {"token": "anything"}),
        ("/oauth/introspect", {"token": "anything"}),
    ):
        response = requests.post(
            live_server + path, data=data, auth=(creds["client_id"], wrong), timeout=10
        )
        assert response.status_code == 401, path
    entries = _audit(app, "oauth.client_auth_failed")
    assert [e.detail["endpoint"] for e in entries] == ["token", "revoke", "introspect"]
    for entry in entries:
        assert entry.object_type == "oauth_client"
        assert entry.object_id == creds["client_id"]
        assert entry.detail["address"] == "127.0.0.1"
        # The client's organisation reads what was tried against its client.
        assert entry.subject_organization_id == hub.org("uptd-ppa-ppu")["id"]
    assert wrong not in _audited_text(app)


def test_an_unknown_client_id_is_audited_as_presented_and_cut_short(live_server, app):
    presented = "hub_" + "x" * 500
    response = requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(presented, "whatever"),
        timeout=10,
    )
    assert response.status_code == 401
    (entry,) = _audit(app, "oauth.client_auth_failed")
    assert presented.startswith(entry.object_id)
    assert len(entry.object_id) <= 64
    assert entry.subject_organization_id is None
    assert "whatever" not in _audited_text(app)


def test_hammering_client_authentication_does_not_grow_the_log_unboundedly(app, client, hub):
    # An attacker guessing secrets gets one entry per client id, endpoint and source address
    # a minute (the next one says how many it stands for), and a source address at most
    # CLIENT_AUTH_ENTRIES_PER_SOURCE entries a minute, whatever ids it tries.
    from referral_hub.oauth.operations import CLIENT_AUTH_ENTRIES_PER_SOURCE

    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    attacker = {"REMOTE_ADDR": "203.0.113.9"}
    start = dt.datetime.now(dt.UTC)

    def guess(client_id: str, environ=attacker):
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, "guess-" + secrets.token_hex(4)),
            environ_base=environ,
        )
        assert response.status_code == 401

    with time_machine.travel(start, tick=True):
        for _ in range(25):
            guess(creds["client_id"])
        guess(creds["client_id"], {"REMOTE_ADDR": "198.51.100.3"})  # another source
    entries = _audit(app, "oauth.client_auth_failed")
    assert [e.detail["address"] for e in entries] == ["203.0.113.9", "198.51.100.3"]
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=True):
        guess(creds["client_id"])
    latest = _audit(app, "oauth.client_auth_failed")[-1]
    assert latest.detail["address"] == "203.0.113.9"
    assert latest.detail["unrecorded_before"] == 24
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=True):
        for n in range(CLIENT_AUTH_ENTRIES_PER_SOURCE + 20):
            guess(f"hub_guess{n}", {"REMOTE_ADDR": "203.0.113.10"})
    spray = [
        e for e in _audit(app, "oauth.client_auth_failed") if e.detail["address"] == "203.0.113.10"
    ]
    assert len(spray) == CLIENT_AUTH_ENTRIES_PER_SOURCE


def test_unknown_client_is_invalid_client(live_server):
    response = requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("hub_nobody", "whatever"),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unknown_scope_is_invalid_scope(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    with pytest.raises(InvalidScopeError):
        _client_credentials(live_server, creds, scope=["directory:read", "everything:write"])


def test_known_scope_not_registered_is_refused_not_dropped(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    response = requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "directory:read audit:read"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == "invalid_scope"
    assert "audit:read" in body["error_description"]


def test_grant_type_not_registered_is_unauthorized_client(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    response = requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_password_grant_is_not_supported(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    user = hub.user("uptd-ppa-ppu", "caseworker")
    response = requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "password", "username": user["email"], "password": TEST_PASSWORD},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


# --- bad, expired, revoked tokens ------------------------------------------------------


def test_garbage_token_is_401_invalid_token(live_server):
    response = _get(live_server, "/api/v1/services", "not-a-token")
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    _problem(response)


def test_expired_token_is_401_invalid_token(live_server, hub, app):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    access = _client_credentials(live_server, creds)["access_token"]
    assert _get(live_server, "/api/v1/services", access).status_code == 200
    with app.app_context():
        db.session.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == secret_digest(access))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        db.session.commit()
    response = _get(live_server, "/api/v1/services", access)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.lower().startswith("bearer")
    assert 'error="invalid_token"' in challenge
    assert _problem(response)["type"].endswith("/invalid-token")
    assert _introspect(live_server, creds, access) == {"active": False}


def test_revoked_token_stops_working(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    access = _client_credentials(live_server, creds)["access_token"]
    assert _get(live_server, "/api/v1/services", access).status_code == 200
    response = requests.post(
        live_server + "/oauth/revoke",
        data={"token": access, "token_type_hint": "access_token"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 200
    denied = _get(live_server, "/api/v1/services", access)
    assert denied.status_code == 401
    assert "invalid_token" in denied.headers["WWW-Authenticate"]
    assert _introspect(live_server, creds, access) == {"active": False}
    (revoked,) = _audit(hub.app, "oauth.token_revoked")
    assert revoked.actor_client_id == creds["client_id"]
    assert revoked.object_id == creds["client_id"]
    assert revoked.detail["token_type"] == "access_token"
    assert access not in _audited_text(hub.app)


def test_revoking_an_unknown_token_answers_200(live_server, hub):
    # RFC 7009 2.2: an invalid token is not an error; nothing is revealed.
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    response = requests.post(
        live_server + "/oauth/revoke",
        data={"token": "never-issued"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 200
    assert _audit(hub.app, "oauth.token_revoked") == []  # nothing was revoked


def test_another_client_cannot_revoke_my_token(live_server, hub):
    mine = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    other = hub.oauth_client("polres-ppu", "directory:read")
    access = _client_credentials(live_server, mine)["access_token"]
    response = requests.post(
        live_server + "/oauth/revoke",
        data={"token": access},
        auth=(other["client_id"], other["client_secret"]),
        timeout=10,
    )
    # RFC 7009 2.2: answered as for an unknown token (200), and nothing is revoked.
    assert response.status_code == 200
    assert _get(live_server, "/api/v1/services", access).status_code == 200
    assert _audit(hub.app, "oauth.token_revoked") == []


def test_token_without_the_route_scope_is_403_insufficient_scope(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "audit:read")
    access = _client_credentials(live_server, creds)["access_token"]
    response = _get(live_server, "/api/v1/organizations", access)
    assert response.status_code == 403
    body = _problem(response)
    assert body["type"].endswith("/insufficient-scope")
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_disabled_client_tokens_stop_working(live_server, hub, app):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    access = _client_credentials(live_server, creds)["access_token"]
    with app.app_context():
        db.session.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == creds["client_id"])
            .values(disabled_at=dt.datetime.now(dt.UTC))
        )
        db.session.commit()
    assert _get(live_server, "/api/v1/services", access).status_code == 401
    with pytest.raises(InvalidClientError):
        _client_credentials(live_server, creds)


# --- introspection ---------------------------------------------------------------------


def test_introspection_of_an_active_token(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read audit:read")
    token = _client_credentials(live_server, creds)
    info = _introspect(live_server, creds, token["access_token"])
    assert info["active"] is True
    assert set(info["scope"].split()) == {"directory:read", "audit:read"}
    assert info["client_id"] == creds["client_id"]
    assert info["organization"] == "uptd-ppa-ppu"
    now = dt.datetime.now(dt.UTC).timestamp()
    assert now < info["exp"] <= now + 3600 + 5
    assert "username" not in info  # no user behind a client credentials token


def test_introspection_by_a_resource_server_of_the_same_organisation(live_server, hub):
    issuer = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    resource_server = hub.oauth_client("uptd-ppa-ppu", "audit:read")
    access = _client_credentials(live_server, issuer)["access_token"]
    info = _introspect(live_server, resource_server, access)
    assert info["active"] is True
    assert info["client_id"] == issuer["client_id"]


def test_introspection_by_another_organisation_says_inactive(live_server, hub):
    mine = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    other = hub.oauth_client("polres-ppu", "directory:read")
    access = _client_credentials(live_server, mine)["access_token"]
    assert _introspect(live_server, other, access) == {"active": False}


def test_introspection_needs_client_authentication(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    access = _client_credentials(live_server, creds)["access_token"]
    response = requests.post(live_server + "/oauth/introspect", data={"token": access}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "organization" not in response.text
    (entry,) = _audit(hub.app, "oauth.client_auth_failed")
    assert entry.detail["endpoint"] == "introspect"
    assert entry.object_id is None  # no client id was presented


# --- authorization code with PKCE ------------------------------------------------------


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _pkce() -> tuple[str, str]:
    helper = WebApplicationClient("unused")
    verifier = helper.create_code_verifier(64)
    return verifier, helper.create_code_challenge(verifier, "S256")


def _browser_signed_in(live_server, email: str) -> requests.Session:
    """A browser session signed in through the real /login form."""
    browser = requests.Session()
    page = browser.get(live_server + "/login", timeout=10)
    response = browser.post(
        live_server + "/login",
        data={"email": email, "password": TEST_PASSWORD, "csrf_token": _csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return browser


def _authorize_url(live_server, client_id, challenge, *, state, scope, method="S256") -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": state,
    }
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None:
        params["code_challenge_method"] = method
    return live_server + "/oauth/authorize?" + urlencode(params)


def _consent(browser, url, decision="allow") -> requests.Response:
    """Show the consent page, answer it, and return the (unfollowed) redirect."""
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert "csrf_token" in page.text
    return browser.post(
        url,
        data={"decision": decision, "csrf_token": _csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )


def _redirect_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text[:500]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def code_app(hub):
    """A confidential third-party app of UPTD PPA PPU using the code grant (and the app)."""
    creds = hub.oauth_client(
        "uptd-ppa-ppu",
        "directory:read referrals:read",
        grants=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
    )
    return {**creds, "app": hub.app}


@pytest.fixture
def caseworker(hub):
    return hub.user("uptd-ppa-ppu", "caseworker")


def _get_code(live_server, creds, email, challenge, scope="directory:read") -> str:
    browser = _browser_signed_in(live_server, email)
    state = secrets.token_urlsafe(16)
    url = _authorize_url(live_server, creds["client_id"], challenge, state=state, scope=scope)
    params = _redirect_params(_consent(browser, url))
    assert params["state"] == state
    assert "code" in params, params
    return params["code"]


def _exchange(live_server, creds, code, verifier) -> dict:
    session = OAuth2Session(creds["client_id"], redirect_uri=REDIRECT_URI)
    return session.fetch_token(
        live_server + "/oauth/token",
        code=code,
        client_secret=creds["client_secret"],
        code_verifier=verifier,
    )


def _refresh(live_server, creds, refresh_token) -> requests.Response:
    return requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )


def test_code_flow_signs_in_then_consents_then_acts_for_the_user(live_server, code_app, caseworker):
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(16)
    url = _authorize_url(
        live_server, code_app["client_id"], challenge, state=state, scope="directory:read"
    )
    browser = requests.Session()
    # Not signed in: the authorize endpoint sends the person to the sign-in page first.
    first = browser.get(url, allow_redirects=False, timeout=10)
    assert first.status_code == 302
    assert urlsplit(first.headers["Location"]).path == "/login"
    login_page = browser.get(urljoin(live_server, first.headers["Location"]), timeout=10)
    signed_in = browser.post(
        live_server + "/login",
        data={
            "email": caseworker["email"],
            "password": TEST_PASSWORD,
            "csrf_token": _csrf(login_page.text),
            "next": parse_qs(urlsplit(first.headers["Location"]).query)["next"][0],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302
    back = signed_in.headers["Location"]
    assert urlsplit(back).path == "/oauth/authorize"
    params = _redirect_params(_consent(browser, urljoin(live_server, back)))
    assert params["state"] == state

    token = _exchange(live_server, code_app, params["code"], verifier)
    assert token["scope"] == ["directory:read"]
    assert 0 < token["expires_in"] <= 3600
    assert token.get("refresh_token")
    info = _introspect(live_server, code_app, token["access_token"])
    assert info["active"] is True
    assert info["username"] == caseworker["email"]
    assert info["organization"] == "uptd-ppa-ppu"
    assert _get(live_server, "/api/v1/services", token["access_token"]).status_code == 200

    app = code_app["app"]
    (approved,) = _audit(app, "oauth.grant_approved")
    assert approved.actor_user_id == caseworker["id"]
    assert approved.object_id == code_app["client_id"]
    assert approved.detail["scope"] == "directory:read"
    (issued,) = _audit(app, "oauth.token_issued")
    assert issued.object_id == code_app["client_id"]
    assert issued.actor_client_id == code_app["client_id"]
    assert issued.detail["user_id"] == caseworker["id"]
    assert issued.detail["grant_type"] == "authorization_code"
    assert issued.detail["scope"] == "directory:read"
    text = _audited_text(app)
    assert token["access_token"] not in text
    assert token["refresh_token"] not in text
    assert params["code"] not in text


def test_consent_refused_redirects_access_denied(live_server, code_app, caseworker):
    _verifier, challenge = _pkce()
    browser = _browser_signed_in(live_server, caseworker["email"])
    url = _authorize_url(
        live_server, code_app["client_id"], challenge, state="s1", scope="directory:read"
    )
    params = _redirect_params(_consent(browser, url, decision="deny"))
    assert params["error"] == "access_denied"
    assert params["state"] == "s1"
    assert "code" not in params
    (denied,) = _audit(code_app["app"], "oauth.grant_denied")
    assert denied.actor_user_id == caseworker["id"]
    assert denied.object_id == code_app["client_id"]
    assert _audit(code_app["app"], "oauth.grant_approved") == []


def test_wrong_verifier_is_invalid_grant(live_server, code_app, caseworker):
    _verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    other_verifier, _ = _pkce()
    with pytest.raises(InvalidGrantError):
        _exchange(live_server, code_app, code, other_verifier)


def test_missing_verifier_is_refused(live_server, code_app, caseworker):
    _verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    response = requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(code_app["client_id"], code_app["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")


def test_code_used_twice_is_invalid_grant(live_server, code_app, caseworker):
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    _exchange(live_server, code_app, code, verifier)
    with pytest.raises(InvalidGrantError):
        _exchange(live_server, code_app, code, verifier)


def test_a_reused_code_revokes_the_tokens_it_issued(live_server, code_app, caseworker):
    # RFC 6749 4.1.2: a code presented twice means someone else holds it; the first
    # exchange's tokens, access and refresh, are revoked too.
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    first = _exchange(live_server, code_app, code, verifier)
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    assert requests.get(live_server + "/api/v1/services", headers=headers, timeout=10).ok
    with pytest.raises(InvalidGrantError):
        _exchange(live_server, code_app, code, verifier)
    after = requests.get(live_server + "/api/v1/services", headers=headers, timeout=10)
    assert after.status_code == 401
    refreshed = requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(code_app["client_id"], code_app["client_secret"]),
        timeout=10,
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    (replayed,) = _audit(code_app["app"], "oauth.code_replayed")
    assert replayed.actor_client_id == code_app["client_id"]
    assert replayed.object_id == code_app["client_id"]
    assert replayed.detail["user_id"] == caseworker["id"]
    assert replayed.detail["revoked_tokens"] == 1
    assert code not in _audited_text(code_app["app"])


def test_code_of_another_client_is_invalid_grant(live_server, code_app, caseworker, hub):
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    thief = hub.oauth_client(
        "uptd-ppa-ppu",
        "directory:read",
        grants=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
    )
    with pytest.raises(InvalidGrantError):
        _exchange(live_server, thief, code, verifier)


@pytest.mark.parametrize(
    ("challenge", "method"),
    [
        (None, None),  # no PKCE at all
        (None, "S256"),
        ("x" * 43, None),  # a challenge without its method
        ("x" * 43, "plain"),  # plain is not allowed
    ],
    ids=["no-pkce", "no-challenge", "no-method", "plain"],
)
def test_authorize_refuses_without_s256_pkce(live_server, code_app, caseworker, challenge, method):
    browser = _browser_signed_in(live_server, caseworker["email"])
    url = _authorize_url(
        live_server,
        code_app["client_id"],
        challenge,
        state="s",
        scope="directory:read",
        method=method,
    )
    response = browser.get(url, allow_redirects=False, timeout=10)
    # Refused: either an error page or an error redirect, never the consent page.
    if response.status_code in (302, 303):
        params = _redirect_params(response)
        assert params["error"] == "invalid_request"
        assert "code" not in params
    else:
        assert response.status_code == 400
        assert 'name="decision"' not in response.text


def test_authorize_refuses_an_unregistered_redirect_uri(live_server, code_app, caseworker):
    _verifier, challenge = _pkce()
    browser = _browser_signed_in(live_server, caseworker["email"])
    url = _authorize_url(
        live_server, code_app["client_id"], challenge, state="s", scope="directory:read"
    ).replace("127.0.0.1%3A9", "127.0.0.1%3A8")
    response = browser.get(url, allow_redirects=False, timeout=10)
    # Never redirect to an unregistered address.
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_authorize_refuses_a_scope_the_client_lacks(live_server, code_app, caseworker):
    _verifier, challenge = _pkce()
    browser = _browser_signed_in(live_server, caseworker["email"])
    url = _authorize_url(
        live_server, code_app["client_id"], challenge, state="s", scope="audit:read"
    )
    response = browser.get(url, allow_redirects=False, timeout=10)
    if response.status_code in (302, 303):
        assert _redirect_params(response)["error"] == "invalid_scope"
    else:
        assert response.status_code == 400
        assert 'name="decision"' not in response.text


def test_user_of_another_organisation_is_refused(live_server, code_app, hub):
    outsider = hub.user("polres-ppu", "caseworker")
    _verifier, challenge = _pkce()
    browser = _browser_signed_in(live_server, outsider["email"])
    url = _authorize_url(
        live_server, code_app["client_id"], challenge, state="s2", scope="directory:read"
    )
    response = browser.get(url, allow_redirects=False, timeout=10)
    if response.status_code in (302, 303):
        params = _redirect_params(response)
        assert params["error"] == "access_denied"
        assert "code" not in params
    else:
        assert response.status_code in (400, 403)
        assert 'name="decision"' not in response.text
    # Posting a consent anyway gets no code either.
    page = browser.get(live_server + "/login", timeout=10)
    forced = browser.post(
        url,
        data={"decision": "allow", "csrf_token": _csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert "code=" not in forced.headers.get("Location", "")
    denied = _audit(hub.app, "oauth.grant_denied")
    assert denied
    assert {e.detail["reason"] for e in denied} == {"another_organisation"}
    assert {e.actor_user_id for e in denied} == {outsider["id"]}
    assert _audit(hub.app, "oauth.grant_approved") == []


# --- refresh token rotation ------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_is_refused(live_server, code_app, caseworker):
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    first = _exchange(live_server, code_app, code, verifier)

    session = OAuth2Session(code_app["client_id"], token=first)
    second = session.refresh_token(
        live_server + "/oauth/token",
        auth=requests.auth.HTTPBasicAuth(code_app["client_id"], code_app["client_secret"]),
    )
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == ["directory:read"]
    assert _get(live_server, "/api/v1/services", second["access_token"]).status_code == 200
    # The rotated access token is retired with its refresh token.
    assert _get(live_server, "/api/v1/services", first["access_token"]).status_code == 401
    info = _introspect(live_server, code_app, second["access_token"])
    assert info["username"] == caseworker["email"]


def test_reuse_of_a_rotated_refresh_token_revokes_the_family(live_server, code_app, caseworker):
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    first = _exchange(live_server, code_app, code, verifier)
    second = _refresh(live_server, code_app, first["refresh_token"]).json()
    third = _refresh(live_server, code_app, second["refresh_token"]).json()
    assert _get(live_server, "/api/v1/services", third["access_token"]).status_code == 200

    # Someone replays the first refresh token: refused, and the whole family ends.
    replay = _refresh(live_server, code_app, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert _get(live_server, "/api/v1/services", third["access_token"]).status_code == 401
    assert _refresh(live_server, code_app, third["refresh_token"]).json()["error"] == (
        "invalid_grant"
    )
    assert _introspect(live_server, code_app, third["access_token"]) == {"active": False}
    app = code_app["app"]
    issued = _audit(app, "oauth.token_issued")
    assert [e.detail["grant_type"] for e in issued] == [
        "authorization_code",
        "refresh_token",
        "refresh_token",
    ]
    # The replay, and the revoked third refresh token presented after it: both reuses.
    reused = _audit(app, "oauth.refresh_reused")
    assert len(reused) == 2
    assert reused[0].actor_client_id == code_app["client_id"]
    assert reused[0].detail["user_id"] == caseworker["id"]
    assert reused[0].detail["revoked_tokens"] == 1  # the third pair, the only one still live
    text = _audited_text(app)
    for pair in (first, second, third):
        assert pair["refresh_token"] not in text
        assert pair["access_token"] not in text


def test_refresh_cannot_widen_the_scope(live_server, code_app, caseworker):
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    first = _exchange(live_server, code_app, code, verifier)
    response = requests.post(
        live_server + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "scope": "directory:read referrals:read",
        },
        auth=(code_app["client_id"], code_app["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_revoking_the_refresh_token_ends_the_grant(live_server, code_app, caseworker):
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    first = _exchange(live_server, code_app, code, verifier)
    response = requests.post(
        live_server + "/oauth/revoke",
        data={"token": first["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(code_app["client_id"], code_app["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 200
    (revoked,) = _audit(code_app["app"], "oauth.token_revoked")
    assert revoked.detail["token_type"] == "refresh_token"
    assert revoked.detail["user_id"] == caseworker["id"]
    assert _refresh(live_server, code_app, first["refresh_token"]).json()["error"] == (
        "invalid_grant"
    )
    assert _get(live_server, "/api/v1/services", first["access_token"]).status_code == 401


def test_deactivated_user_tokens_stop_working(live_server, code_app, caseworker, app):
    from referral_hub.accounts.models import User

    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    token = _exchange(live_server, code_app, code, verifier)
    with app.app_context():
        db.session.execute(update(User).where(User.id == caseworker["id"]).values(active=False))
        db.session.commit()
    assert _get(live_server, "/api/v1/services", token["access_token"]).status_code == 401
    assert _refresh(live_server, code_app, token["refresh_token"]).status_code == 400


def test_racing_refreshes_of_one_token_leave_no_second_branch(live_server, code_app, caseworker):
    # A client and a thief (or a retry storm) refreshing the same token at once: at most
    # one new grant may survive, never two live branches of the family.
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    first = _exchange(live_server, code_app, code, verifier)
    racers = 4
    start = threading.Barrier(racers)
    responses: list[requests.Response] = []

    def race() -> None:
        start.wait(timeout=30)
        responses.append(_refresh(live_server, code_app, first["refresh_token"]))

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(responses) == racers
    assert all(r.status_code in (200, 400) for r in responses)
    issued = [r.json() for r in responses if r.status_code == 200]
    live = [
        t
        for t in issued
        if _get(live_server, "/api/v1/services", t["access_token"]).status_code == 200
    ]
    assert len(live) <= 1


def test_introspecting_a_refresh_token_describes_the_refresh_token(
    live_server, code_app, caseworker, app
):
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    first = _exchange(live_server, code_app, code, verifier)
    info = _introspect(live_server, code_app, first["refresh_token"], hint="refresh_token")
    assert info["active"] is True
    assert info["token_type"] == "refresh_token"
    assert info["exp"] > dt.datetime.now(dt.UTC).timestamp() + 24 * 3600  # not the hour
    assert info["username"] == caseworker["email"]
    # Without a hint the refresh token is still found and described as one.
    assert _introspect(live_server, code_app, first["refresh_token"])["exp"] == info["exp"]

    # The access token running out does not end the refresh token ...
    with app.app_context():
        db.session.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == secret_digest(first["access_token"]))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        db.session.commit()
    assert _introspect(live_server, code_app, first["access_token"]) == {"active": False}
    assert _introspect(live_server, code_app, first["refresh_token"])["active"] is True
    # ... rotating it does.
    assert _refresh(live_server, code_app, first["refresh_token"]).status_code == 200
    assert _introspect(live_server, code_app, first["refresh_token"]) == {"active": False}


def test_consent_cannot_be_posted_without_its_form_token(live_server, code_app, caseworker):
    # Another site cannot make a signed-in caseworker approve an app behind her back.
    _verifier, challenge = _pkce()
    browser = _browser_signed_in(live_server, caseworker["email"])
    url = _authorize_url(
        live_server, code_app["client_id"], challenge, state="s", scope="directory:read"
    )
    forged = browser.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=10)
    assert forged.status_code == 400
    assert "code=" not in forged.headers.get("Location", "")


def test_public_client_uses_pkce_without_a_secret(live_server, hub, caseworker):
    app_creds = hub.oauth_client(
        "uptd-ppa-ppu",
        "directory:read",
        grants=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        public=True,
    )
    assert app_creds["client_secret"] is None
    verifier, challenge = _pkce()
    code = _get_code(live_server, app_creds, caseworker["email"], challenge)
    session = OAuth2Session(app_creds["client_id"], redirect_uri=REDIRECT_URI)
    token = session.fetch_token(
        live_server + "/oauth/token", code=code, code_verifier=verifier, include_client_id=True
    )
    assert _get(live_server, "/api/v1/services", token["access_token"]).status_code == 200
    # Without a secret it cannot use the endpoints meant for confidential clients.
    response = requests.post(
        live_server + "/oauth/introspect",
        data={"token": token["access_token"], "client_id": app_creds["client_id"]},
        timeout=10,
    )
    assert response.status_code == 401
    # Nor the client credentials grant.
    response = requests.post(
        live_server + "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": app_creds["client_id"]},
        timeout=10,
    )
    assert response.status_code in (400, 401)


def test_an_authorization_code_older_than_five_minutes_is_invalid_grant(
    live_server, code_app, caseworker
):
    verifier, challenge = _pkce()
    code = _get_code(live_server, code_app, caseworker["email"], challenge)
    with (
        time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)),
        pytest.raises(InvalidGrantError),
    ):
        _exchange(live_server, code_app, code, verifier)


def test_access_tokens_expire_by_the_clock(live_server, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    token = _client_credentials(live_server, creds)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=token["expires_in"] + 1)
    with time_machine.travel(later):
        response = _get(live_server, "/api/v1/services", token["access_token"])
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_refreshing_with_a_narrower_scope_does_not_narrow_the_grant(
    live_server, code_app, caseworker
):
    # RFC 6749 6: the new access token has the scope asked for; the refresh token keeps
    # the grant as the person gave it, so a later refresh may ask for all of it again.
    verifier, challenge = _pkce()
    code = _get_code(
        live_server, code_app, caseworker["email"], challenge, scope="directory:read referrals:read"
    )
    first = _exchange(live_server, code_app, code, verifier)
    assert sorted(first["scope"]) == ["directory:read", "referrals:read"]
    narrow = requests.post(
        live_server + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "scope": "directory:read",
        },
        auth=(code_app["client_id"], code_app["client_secret"]),
        timeout=10,
    ).json()
    assert narrow["scope"] == "directory:read"
    assert _get(live_server, "/api/v1/services", narrow["access_token"]).status_code == 200
    assert _get(live_server, "/api/v1/referrals", narrow["access_token"]).status_code == 403
    assert _introspect(live_server, code_app, narrow["access_token"])["scope"] == "directory:read"
    # The refresh token still carries the whole grant: introspection says so, and a refresh
    # without a scope gets all of it back.
    refresh_info = _introspect(live_server, code_app, narrow["refresh_token"], "refresh_token")
    assert sorted(refresh_info["scope"].split()) == ["directory:read", "referrals:read"]
    again = _refresh(live_server, code_app, narrow["refresh_token"]).json()
    assert sorted(again["scope"].split()) == ["directory:read", "referrals:read"]
    assert _get(live_server, "/api/v1/referrals", again["access_token"]).status_code == 200
    # Never wider than the grant.
    wider = requests.post(
        live_server + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": again["refresh_token"],
            "scope": "directory:read referrals:read audit:read",
        },
        auth=(code_app["client_id"], code_app["client_secret"]),
        timeout=10,
    )
    assert wider.json()["error"] == "invalid_scope"


def test_a_public_client_revokes_its_own_tokens_by_its_id(live_server, hub, caseworker):
    public = hub.oauth_client(
        "uptd-ppa-ppu",
        "directory:read",
        grants=["authorization_code"],
        redirect_uris=[REDIRECT_URI],
        public=True,
    )
    verifier, challenge = _pkce()
    code = _get_code(live_server, public, caseworker["email"], challenge)
    token = OAuth2Session(public["client_id"], redirect_uri=REDIRECT_URI).fetch_token(
        live_server + "/oauth/token", code=code, code_verifier=verifier, include_client_id=True
    )
    # Another client's token: answered as for an unknown one, nothing revoked.
    other = _client_credentials(live_server, hub.oauth_client("uptd-ppa-ppu", "directory:read"))
    response = requests.post(
        live_server + "/oauth/revoke",
        data={"token": other["access_token"], "client_id": public["client_id"]},
        timeout=10,
    )
    assert response.status_code == 200
    assert _get(live_server, "/api/v1/services", other["access_token"]).status_code == 200
    # Its own refresh token: revoked, and the grant ends (RFC 7009 2.1).
    response = requests.post(
        live_server + "/oauth/revoke",
        data={
            "token": token["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": public["client_id"],
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert _get(live_server, "/api/v1/services", token["access_token"]).status_code == 401
    refreshed = requests.post(
        live_server + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": public["client_id"],
        },
        timeout=10,
    )
    assert refreshed.json()["error"] == "invalid_grant"
    (revoked,) = _audit(hub.app, "oauth.token_revoked")
    assert revoked.actor_client_id == public["client_id"]
