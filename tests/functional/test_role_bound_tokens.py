"""A token acting for a user can do no more than that user can in the portal.

The expectations are written out here, role by role, independently of the code's table
(referral_hub/permissions.py): an administrator runs the organisation's presence on the hub
but never reads or moves a client's data; a caseworker keeps clients and referrals but does
not manage webhooks or read the audit trail; an auditor reads and never writes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.extensions import db
from referral_hub.oauth.models import OAuthToken, secret_digest
from referral_hub.oauth.scopes import SCOPES
from tests.conftest import _csrf_from
from tests.referrals_support import PPU

REDIRECT_URI = "http://127.0.0.1:9/cb"
ALL_SCOPES = " ".join(SCOPES)
_READS = {"directory:read", "agreements:read", "events:read"}
_CASEWORK = _READS | {
    "clients:read",
    "clients:write",
    "referrals:read",
    "referrals:write",
    "referrals:respond",
    "cases:read",
    "cases:write",
    "intakes:read",
    "intakes:write",
}
#: What a person of each role may do, and so what an app acting for them may do.
EXPECTED = {
    "caseworker": _CASEWORK,
    "supervisor": _CASEWORK | {"agreements:write", "reports:read", "clients:erase"},
    "org_admin": _READS
    | {
        "agreements:write",
        "webhooks:write",
        "audit:read",
        "directory:write",
        "reports:read",
        "clients:erase",
    },
    "auditor": _READS | {"audit:read", "reports:read"},
}
#: One call per scope, as a PPU user, and what it answers when the scope is allowed.
PROBES = {
    "directory:read": ("GET", "/api/v1/services", None, 200),
    "directory:write": ("POST", "/api/v1/organizations", {}, 422),
    "agreements:read": ("GET", "/api/v1/agreements", None, 200),
    "agreements:write": ("POST", "/api/v1/agreements", {}, 422),
    "clients:read": ("GET", "/api/v1/clients", None, 200),
    "clients:write": ("POST", "/api/v1/clients", {}, 422),
    "clients:erase": (
        "POST",
        "/api/v1/clients/no-such-client/erase",
        {"reason": "duplicate_record"},
        404,
    ),
    "referrals:read": ("GET", "/api/v1/referrals?box=sent", None, 200),
    "referrals:write": ("POST", "/api/v1/referrals", {}, 422),
    "referrals:respond": ("POST", "/api/v1/referrals/no-such-referral/accept", {}, 404),
    "events:read": ("GET", "/api/v1/events", None, 200),
    "webhooks:write": ("GET", "/api/v1/webhooks", None, 200),
    "audit:read": ("GET", "/api/v1/audit", None, 200),
    "cases:read": ("GET", "/api/v1/cases", None, 200),
    "cases:write": ("POST", "/api/v1/cases", {}, 422),
    "reports:read": ("GET", "/api/v1/reports/referrals", None, 200),
    "intakes:read": ("GET", "/api/v1/intakes", None, 200),
    "intakes:write": ("POST", "/api/v1/intakes", {}, 422),
}
#: The portal's pages for the same permissions (GET), as a PPU user.
PAGES = {
    "/clients": "clients:read",
    "/clients/new": "clients:write",
    "/referrals/sent": "referrals:read",
    "/referrals/new": "referrals:write",
    "/referrals/received": "referrals:respond",
    "/agreements": "agreements:read",
    "/coverage": "agreements:read",
    "/agreements/new": "agreements:write",
    "/webhooks": "webhooks:write",
    "/audit": "audit:read",
    "/cases": "cases:read",
    "/cases/new": "cases:write",
    "/reports/referrals": "reports:read",
    "/intakes": "intakes:read",
    "/intakes/new": "intakes:write",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_emails = itertools.count(1)


def _email(role: str) -> str:
    return f"{role}.{next(_emails)}@roles.test.example"


def _org_id(app, code: str) -> str:
    from referral_hub.directory.operations import find_organization

    with app.app_context():
        return find_organization(code).id


def user_token(app, hub, role: str, scope: str, org: str = PPU) -> tuple[dict, dict]:
    """A live access token of an app acting for a new user of `role`, carrying `scope`.

    Stored as the server stores tokens, whatever way it was issued: so the check at each
    request is tested on its own, also for tokens issued before a user's role changed.
    """
    user = hub.user(org, role, email=_email(role))
    creds = hub.oauth_client(
        org, ALL_SCOPES, grants=["authorization_code"], redirect_uris=[REDIRECT_URI]
    )
    secret = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        db.session.add(
            OAuthToken(
                access_token_hash=secret_digest(secret),
                client_id=creds["client_id"],
                organization_id=_org_id(app, org),
                user_id=user["id"],
                scope=scope,
                issued_at=now,
                expires_at=now + dt.timedelta(hours=1),
            )
        )
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}, user


def _call(client, method: str, path: str, body, headers):
    if method == "GET":
        return client.get(path, headers=headers)
    return client.open(path, method=method, json=body, headers=headers)


def _insufficient_scope(response) -> bool:
    return response.status_code == 403 and "insufficient_scope" in response.get_data(as_text=True)


# --- roles x scopes -----------------------------------------------------------------------


def test_every_scope_has_a_decision_for_every_role():
    # A new scope needs a line here (and in the role table) before anyone can use it.
    assert set(PROBES) == set(SCOPES)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_a_token_acting_for_a_user_is_bounded_by_the_users_role(app, client, hub, role):
    wrong = []
    for scope, (method, path, body, allowed) in PROBES.items():
        headers, _ = user_token(app, hub, role, scope)
        response = _call(client, method, path, body, headers)
        text = response.get_data(as_text=True)
        if scope in EXPECTED[role]:
            if response.status_code != allowed:
                wrong.append(f"{scope}: {response.status_code}, expected {allowed}: {text[:200]}")
        elif not _insufficient_scope(response):
            wrong.append(f"{scope}: {response.status_code}, expected 403: {text[:200]}")
        elif role not in text or scope not in text:
            wrong.append(f"{scope}: the refusal does not name the role and scope: {text[:300]}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_every_api_route_refuses_a_users_app_what_the_role_lacks(app, client, hub, role):
    """With every scope granted, each route whose scope the role lacks is refused (403)."""
    headers, _ = user_token(app, hub, role, ALL_SCOPES)
    wrong = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        scope = getattr(app.view_functions[rule.endpoint], "_required_scope", None)
        path = rule.build(dict.fromkeys(rule.arguments, "x"), append_unknown=False)[1]
        for method in sorted(rule.methods & (WRITE_METHODS | {"GET"})):
            response = _call(client, method, path, {}, headers)
            refused = _insufficient_scope(response)
            if refused != (scope not in EXPECTED[role]):
                wrong.append(f"{method} {rule.rule} ({scope}): {response.status_code}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_an_auditors_app_writes_nothing_whatever_its_scopes(app, client, hub):
    headers, _ = user_token(app, hub, "auditor", ALL_SCOPES)
    writes = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.build(dict.fromkeys(rule.arguments, "x"), append_unknown=False)[1]
        for method in sorted(rule.methods & WRITE_METHODS):
            writes += 1
            response = _call(client, method, path, {}, headers)
            assert response.status_code == 403, (method, rule.rule, response.status_code)
    assert writes > 20


def test_an_admins_app_neither_sends_referrals_nor_reads_clients(app, client, hub):
    from tests.referrals_support import Scenario

    s = Scenario(app, client, hub)
    headers, _ = user_token(app, hub, "org_admin", "referrals:write clients:read")
    sent = client.post("/api/v1/referrals", json=s.body(), headers=headers)
    assert _insufficient_scope(sent), sent.get_data(as_text=True)
    read = client.get(f"/api/v1/clients/{s.client['id']}", headers=headers)
    assert _insufficient_scope(read), read.get_data(as_text=True)
    assert "CANARY" not in read.get_data(as_text=True)


def test_a_caseworkers_app_reads_clients_but_manages_no_webhooks(app, client, hub):
    from tests.clients_support import CANARY
    from tests.referrals_support import Scenario

    s = Scenario(app, client, hub)
    headers, user = user_token(app, hub, "caseworker", "clients:read webhooks:write")
    read = client.get(f"/api/v1/clients/{s.client['id']}", headers=headers)
    assert read.status_code == 200, read.get_data(as_text=True)
    assert read.get_json()["full_name"] == CANARY["full_name"]
    hook = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=headers)
    assert _insufficient_scope(hook), hook.get_data(as_text=True)
    assert "caseworker" in hook.get_json()["detail"]
    # The read is a disclosure, by the app, on behalf of the caseworker.
    disclosures = client.get(
        f"/api/v1/clients/{s.client['id']}/disclosures", headers=s.ppu
    ).get_json()["items"]
    assert [d["actor"]["user_id"] for d in disclosures if d["kind"] == "read"] == [user["id"]]


def test_a_partner_systems_token_is_bounded_by_its_scopes_alone(app, client, hub):
    # Client credentials: no person, so the scopes decide (the organisation's admin chose them).
    headers = hub.headers(PPU, "webhooks:write clients:read")
    assert client.get("/api/v1/webhooks", headers=headers).status_code == 200
    assert client.get("/api/v1/clients", headers=headers).status_code == 200


def test_introspection_reports_what_the_token_may_do_for_its_user(app, client, hub):
    headers, _ = user_token(app, hub, "org_admin", "webhooks:write clients:read")
    creds = hub.oauth_client(PPU, "directory:read")
    info = client.post(
        "/oauth/introspect",
        data={"token": headers["Authorization"].removeprefix("Bearer ")},
        auth=(creds["client_id"], creds["client_secret"]),
    ).get_json()
    assert info["active"] is True
    assert info["scope"] == "webhooks:write"


# --- the portal says the same -------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_the_portal_opens_a_page_exactly_when_the_role_may(app, client, hub, role):
    user = hub.user(PPU, role, email=_email(role))
    browser = app.test_client()
    assert hub.login(browser, user["email"]).status_code == 302
    wrong = []
    for path, permission in PAGES.items():
        status = browser.get(path).status_code
        expected = 200 if permission in EXPECTED[role] else 403
        if status != expected:
            wrong.append(f"{path} ({permission}): {status}, expected {expected}")
        method, api_path, body, allowed = PROBES[permission]
        headers, _ = user_token(app, hub, role, permission)
        api_status = _call(client, method, api_path, body, headers).status_code
        if (status == 200) != (api_status == allowed):
            wrong.append(f"{path}: portal {status} but API {api_status} for {permission}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


# --- the consent screen grants no more than the role -----------------------------------------


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _authorize(app, hub, user: dict, creds: dict, scope: str):
    """Sign the user in, open the consent screen for `scope`, and allow it."""
    browser = app.test_client()
    assert hub.login(browser, user["email"]).status_code == 302
    verifier, challenge = _pkce()
    url = "/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": creds["client_id"],
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page = browser.get(url)
    return browser, url, page, verifier


def _allow(browser, url: str, page) -> dict[str, str]:
    answer = browser.post(
        url, data={"decision": "allow", "csrf_token": _csrf_from(page.get_data(as_text=True))}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def _exchange(client, creds: dict, code: str, verifier: str):
    return client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(creds["client_id"], creds["client_secret"]),
    )


def _code_app(hub, org: str = PPU) -> dict:
    return hub.oauth_client(
        org, ALL_SCOPES, grants=["authorization_code"], redirect_uris=[REDIRECT_URI]
    )


def test_consent_grants_only_the_scopes_the_users_role_carries(app, client, hub):
    admin = hub.user(PPU, "org_admin", email=_email("org_admin"))
    creds = _code_app(hub)
    browser, url, page, verifier = _authorize(
        app, hub, admin, creds, "webhooks:write referrals:write clients:read"
    )
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    html = page.get_data(as_text=True)
    granted, _, refused = html.partition('class="scopes-refused"')
    assert "webhooks:write" in granted
    assert "referrals:write" not in granted
    assert "clients:read" not in granted
    assert "referrals:write" in refused
    assert "clients:read" in refused
    params = _allow(browser, url, page)
    token = _exchange(client, creds, params["code"], verifier)
    assert token.status_code == 200, token.get_data(as_text=True)
    # RFC 6749 3.3: the issued scope differs from the request, and the response says so.
    assert token.get_json()["scope"] == "webhooks:write"
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    assert client.get("/api/v1/webhooks", headers=headers).status_code == 200
    assert _insufficient_scope(client.get("/api/v1/clients", headers=headers))


def test_consent_to_nothing_the_role_carries_is_refused(app, client, hub):
    auditor = hub.user(PPU, "auditor", email=_email("auditor"))
    creds = _code_app(hub)
    browser, url, page, _ = _authorize(app, hub, auditor, creds, "clients:read referrals:write")
    assert page.status_code == 302, page.get_data(as_text=True)[:300]
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.headers["Location"]).query).items()}
    assert params["error"] == "invalid_scope"
    assert "code" not in params
    # Posting an approval anyway issues no code either.
    forced = browser.post(
        url, data={"decision": "allow", "csrf_token": _csrf_from(browser.get("/").text)}
    )
    assert "code=" not in forced.headers.get("Location", "")


# --- deactivation ends a user's tokens for good -------------------------------------------------


def test_deactivation_revokes_the_users_tokens_for_good(app, client, hub):
    from referral_hub.accounts.operations import deactivate_user, reactivate_user

    caseworker = hub.user(PPU, "caseworker", email=_email("caseworker"))
    creds = _code_app(hub)
    browser, url, page, verifier = _authorize(app, hub, caseworker, creds, "directory:read")
    token = _exchange(client, creds, _allow(browser, url, page)["code"], verifier).get_json()
    # A code handed out but not yet exchanged when the account is deactivated.
    browser2, url2, page2, verifier2 = _authorize(app, hub, caseworker, creds, "directory:read")
    pending_code = _allow(browser2, url2, page2)["code"]
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/api/v1/services", headers=headers).status_code == 200

    with app.app_context():
        deactivate_user(Actor.system("tests"), caseworker["id"])
        db.session.commit()
        reactivate_user(Actor.system("tests"), caseworker["id"])
        db.session.commit()

    assert client.get("/api/v1/services", headers=headers).status_code == 401
    refreshed = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"
    assert _exchange(client, creds, pending_code, verifier2).status_code == 400
    # The portal session from before the deactivation is over too.
    home = browser.get("/")
    assert home.status_code == 302
    assert "/login" in home.headers["Location"]
    with app.app_context():
        rows = db.session.scalars(
            select(OAuthToken).where(OAuthToken.user_id == caseworker["id"])
        ).all()
        assert rows
        assert all(r.revoked_at is not None for r in rows)
        assert all(r.refresh_revoked_at is not None for r in rows if r.refresh_token_hash)
    # Signing in again and consenting again gives a new token that works.
    browser3, url3, page3, verifier3 = _authorize(app, hub, caseworker, creds, "directory:read")
    fresh = _exchange(client, creds, _allow(browser3, url3, page3)["code"], verifier3).get_json()
    again = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert client.get("/api/v1/services", headers=again).status_code == 200


def test_deactivating_one_user_leaves_the_others_tokens(app, client, hub):
    from referral_hub.accounts.operations import deactivate_user

    leaving, _ = user_token(app, hub, "caseworker", "directory:read")
    staying, _ = user_token(app, hub, "caseworker", "directory:read")
    partner = hub.headers(PPU, "directory:read")
    with app.app_context():
        leaver = db.session.scalar(
            select(OAuthToken.user_id).where(
                OAuthToken.access_token_hash
                == secret_digest(re.sub("^Bearer ", "", leaving["Authorization"]))
            )
        )
        deactivate_user(Actor.system("tests"), leaver)
        db.session.commit()
    assert client.get("/api/v1/services", headers=leaving).status_code == 401
    assert client.get("/api/v1/services", headers=staying).status_code == 200
    assert client.get("/api/v1/services", headers=partner).status_code == 200
