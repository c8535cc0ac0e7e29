"""Pengguna, Klien OAuth and Log audit: the same rules as the API, in the browser."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from referral_hub.oauth.models import OAuthClient
from tests.conftest import TEST_PASSWORD, _csrf_from


def _signed_in(app, hub, org: str, role: str, email: str | None = None):
    user = hub.user(org, role, email)
    browser = app.test_client()
    assert hub.login(browser, user["email"]).status_code == 302
    return browser, user


def _post(browser, form_path: str, action: str, data: dict, **kwargs):
    token = _csrf_from(browser.get(form_path).get_data(as_text=True))
    return browser.post(action, data={**data, "csrf_token": token}, **kwargs)


def _audit_actions(app, object_id: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_id == object_id)
                .order_by(AuditEntry.seq)
            )
        )


# --- Pengguna --------------------------------------------------------------------------


def test_admin_sees_only_own_organisation_users(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    hub.user("uptd-ppa-ppu", "caseworker", "mine@ppu.example")
    hub.user("uptd-ppa-balikpapan", "caseworker", "theirs@bpp.example")
    html = browser.get("/users").get_data(as_text=True)
    assert "mine@ppu.example" in html
    assert "theirs@bpp.example" not in html


def test_admin_creates_a_user_in_own_organisation(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    response = _post(
        browser,
        "/users/new",
        "/users/new",
        {"name": "Sri", "email": "Sri@PPU.example", "role": "supervisor", "password": "x" * 12},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Akun sri@ppu.example dibuat." in html
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "sri@ppu.example"))
        assert user.organization.code == "uptd-ppa-ppu"
        assert user.role == "supervisor"
        user_id = user.id
    assert _audit_actions(app, user_id) == ["user.created"]
    # The new account signs in with the password it was given.
    other = app.test_client()
    assert hub.login(other, "sri@ppu.example", "x" * 12).status_code == 302


def test_user_form_shows_operation_errors_beside_fields_in_indonesian(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    hub.user("uptd-ppa-ppu", "caseworker", "taken@ppu.example")
    response = _post(
        browser,
        "/users/new",
        "/users/new",
        {"name": "A", "email": "not-an-email", "role": "caseworker", "password": "short"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="f-email-error"' in html
    assert "Alamat e-mail tidak sah." in html
    assert "Minimal 10 karakter." in html
    assert re.search(
        r'id="f-password"[^>]*aria-describedby="f-password-hint f-password-error"', html
    )
    assert 'aria-invalid="true"' in html
    assert 'value="not-an-email"' in html  # what was typed is kept
    assert "short" not in html  # passwords are never echoed
    response = _post(
        browser,
        "/users/new",
        "/users/new",
        {"name": "B", "email": "taken@ppu.example", "role": "caseworker", "password": "y" * 12},
    )
    assert "Sudah ada pengguna dengan e-mail ini." in response.get_data(as_text=True)


def test_admin_deactivates_and_reactivates_a_user(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    colleague_browser, colleague = _signed_in(app, hub, "uptd-ppa-ppu", "caseworker")
    response = _post(browser, "/users", f"/users/{colleague['id']}/deactivate", {})
    assert response.status_code == 302
    # The colleague's open session stops at once, and signing in is refused.
    assert colleague_browser.get("/").status_code == 302
    assert hub.login(app.test_client(), colleague["email"]).status_code == 401
    html = browser.get("/users").get_data(as_text=True)
    assert "dinonaktifkan" in html
    assert "Nonaktif" in html
    _post(browser, "/users", f"/users/{colleague['id']}/reactivate", {})
    assert hub.login(app.test_client(), colleague["email"]).status_code == 302
    assert _audit_actions(app, colleague["id"])[-3:] == [
        "user.deactivated",
        "user.reactivated",
        "signin.succeeded",
    ]


def test_nobody_deactivates_themselves(app, hub):
    browser, me = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    html = browser.get("/users").get_data(as_text=True)
    assert f"/users/{me['id']}/deactivate" not in html  # no button offered
    response = _post(browser, "/users", f"/users/{me['id']}/deactivate", {}, follow_redirects=True)
    assert "Anda tidak dapat menonaktifkan akun Anda sendiri." in response.get_data(as_text=True)
    assert browser.get("/").status_code == 200


def test_admin_cannot_touch_another_organisations_user(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    other = hub.user("uptd-ppa-balikpapan", "caseworker")
    response = _post(browser, "/users", f"/users/{other['id']}/deactivate", {})
    assert response.status_code == 404
    assert hub.login(app.test_client(), other["email"]).status_code == 302


def test_admin_lifts_the_holds_on_a_users_sign_ins(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    held = hub.user("uptd-ppa-ppu", "caseworker")
    for _ in range(5):
        hub.login(app.test_client(), held["email"], "wrong password!")
    # Held from this source (the person at her desk, after five typos): the right password
    # waits, and the administrator sees it and can lift it.
    assert hub.login(app.test_client(), held["email"]).status_code == 429
    assert "Masuk ditahan sampai" in browser.get("/users").get_data(as_text=True)
    _post(browser, "/users", f"/users/{held['id']}/unlock", {})
    assert "Masuk ditahan sampai" not in browser.get("/users").get_data(as_text=True)
    assert hub.login(app.test_client(), held["email"]).status_code == 302
    with app.app_context():
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.unlocked")
        ).all()
        assert entry.detail["released_counts"] == 1


def test_user_operations_refuse_non_admins():
    """The rule lives in the operation, so the API and CLI get it too."""
    import pytest

    from referral_hub.accounts.operations import require_org_admin
    from referral_hub.actors import Actor
    from referral_hub.problems import Problem

    caseworker = Actor(organization_id="o1", user_id="u1", role="caseworker")
    admin_elsewhere = Actor(organization_id="o2", user_id="u2", role="org_admin")
    client = Actor(organization_id="o1", client_id="c", kind="client", role="org_admin")
    for actor in (caseworker, admin_elsewhere, client):
        with pytest.raises(Problem) as refused:
            require_org_admin(actor, "o1")
        assert refused.value.status == 403
    require_org_admin(Actor(organization_id="o1", user_id="u3", role="org_admin"), "o1")
    require_org_admin(Actor.system(), "o1")


# --- Klien OAuth -----------------------------------------------------------------------


def test_admin_registers_a_client_and_sees_the_secret_once(app, hub, client):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    response = _post(
        browser,
        "/oauth-clients/new",
        "/oauth-clients/new",
        {
            "name": "SIM Polres",
            "scope": ["referrals:read", "events:read"],
            "grant_types": ["client_credentials"],
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 201
    client_id = re.search(r'id="client-id">([^<]+)<', html).group(1)
    secret = re.search(r'id="client-secret">([^<]+)<', html).group(1)
    assert "hanya ditampilkan sekali" in html
    # The secret works at the token endpoint ...
    token = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert token.status_code == 200
    assert set(token.get_json()["scope"].split()) == {"referrals:read", "events:read"}
    # ... and is never shown again.
    listing = browser.get("/oauth-clients").get_data(as_text=True)
    assert client_id in listing
    assert secret not in listing
    assert _audit_actions(app, client_id) == ["oauth.client_created"]


def test_client_form_refusals_are_beside_the_fields(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    response = _post(
        browser,
        "/oauth-clients/new",
        "/oauth-clients/new",
        {
            "name": "App",
            "grant_types": ["authorization_code"],
            "redirect_uris": "http://app.example/cb",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Pilih minimal satu cakupan akses." in html
    assert "harus memakai https" in html
    assert 'id="f-scope-error"' in html
    assert 'id="f-redirect_uris-error"' in html
    with app.app_context():
        assert db.session.scalar(select(OAuthClient).where(OAuthClient.name == "App")) is None


CONFIRMED = {"confirmed": "1"}


@pytest.mark.parametrize(
    ("action", "asked"),
    [
        ("disable", "Nonaktifkan test client of uptd-ppa-ppu?"),
        ("rotate-secret", "Ganti rahasia test client of uptd-ppa-ppu?"),
    ],
)
def test_a_client_is_disabled_or_given_a_new_secret_only_once_confirmed(
    app, hub, client, action, asked
):
    # One tap on a phone must not cut a partner's system off: the first post only asks.
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    creds = hub.oauth_client("uptd-ppa-ppu", "referrals:read")
    response = _post(browser, "/oauth-clients", f"/oauth-clients/{creds['client_id']}/{action}", {})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert asked in html
    assert 'name="confirmed" value="1"' in html
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert token.status_code == 200
    assert _audit_actions(app, creds["client_id"]) == ["oauth.client_created"]


def test_disabling_a_client_stops_its_secret(app, hub, client):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    creds = hub.oauth_client("uptd-ppa-ppu", "referrals:read")
    response = _post(
        browser, "/oauth-clients", f"/oauth-clients/{creds['client_id']}/disable", CONFIRMED
    )
    assert response.status_code == 302
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert token.status_code == 401
    assert _audit_actions(app, creds["client_id"]) == [
        "oauth.client_created",
        "oauth.client_changed",
        "oauth.client_auth_failed",  # the old secret, tried after
    ]
    with app.app_context():
        changed = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "oauth.client_changed")
        ).one()
        assert changed.detail["change"] == "disabled"
    assert "Dinonaktifkan" in browser.get("/oauth-clients").get_data(as_text=True)


def test_a_new_secret_replaces_the_old_one_and_ends_its_tokens(app, hub, client):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    auth = (creds["client_id"], creds["client_secret"])
    issued = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
    old_token = issued.get_json()["access_token"]
    response = _post(
        browser, "/oauth-clients", f"/oauth-clients/{creds['client_id']}/rotate-secret", CONFIRMED
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    secret = re.search(r'id="client-secret">([^<]+)<', html).group(1)
    assert secret != creds["client_secret"]
    assert "hanya ditampilkan sekali" in html
    # The old secret and what it obtained stop at once; the new secret works.
    old = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
    assert old.status_code == 401
    api = client.get("/api/v1/services", headers={"Authorization": f"Bearer {old_token}"})
    assert api.status_code == 401
    new = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], secret),
    )
    assert new.status_code == 200
    assert secret not in browser.get("/oauth-clients").get_data(as_text=True)
    with app.app_context():
        changed = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "oauth.client_changed")
        ).one()
        assert changed.object_id == creds["client_id"]
        assert changed.detail["change"] == "secret_rotated"
        assert changed.detail["revoked_tokens"] == 1
        assert secret not in json.dumps(changed.detail)


def test_a_public_client_has_no_secret_to_rotate(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    creds = hub.oauth_client(
        "uptd-ppa-ppu",
        "directory:read",
        grants=["authorization_code"],
        redirect_uris=["http://127.0.0.1:9/cb"],
        public=True,
    )
    listing = browser.get("/oauth-clients").get_data(as_text=True)
    assert f"/oauth-clients/{creds['client_id']}/rotate-secret" not in listing
    response = _post(
        browser,
        "/oauth-clients",
        f"/oauth-clients/{creds['client_id']}/rotate-secret",
        {},
        follow_redirects=True,
    )
    assert "tidak memakai rahasia" in response.get_data(as_text=True)
    assert _audit_actions(app, creds["client_id"]) == ["oauth.client_created"]


def test_another_organisations_client_secret_cannot_be_rotated(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    theirs = hub.oauth_client("uptd-ppa-balikpapan", "referrals:read")
    path = f"/oauth-clients/{theirs['client_id']}/rotate-secret"
    assert _post(browser, "/oauth-clients", path, {}).status_code == 404
    assert _audit_actions(app, theirs["client_id"]) == ["oauth.client_created"]


def test_admin_cannot_see_or_disable_another_organisations_client(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    theirs = hub.oauth_client("uptd-ppa-balikpapan", "referrals:read")
    assert theirs["client_id"] not in browser.get("/oauth-clients").get_data(as_text=True)
    response = _post(browser, "/oauth-clients", f"/oauth-clients/{theirs['client_id']}/disable", {})
    assert response.status_code == 404
    with app.app_context():
        client = db.session.scalar(
            select(OAuthClient).where(OAuthClient.client_id == theirs["client_id"])
        )
        assert client.disabled_at is None


# --- Log audit -------------------------------------------------------------------------


def test_auditor_reads_own_organisation_entries_with_filters(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "auditor")
    hub.user("uptd-ppa-balikpapan", "caseworker", "bpp@bpp.example")
    hub.login(app.test_client(), "nobody@ppu.example", "whatever-password")
    html = browser.get("/audit").get_data(as_text=True)
    assert '<td data-label="Tindakan">Berhasil masuk</td>' in html
    assert "bpp@bpp.example" not in html  # another organisation's entry
    filtered = browser.get("/audit?action=signin.succeeded").get_data(as_text=True)
    assert '<td data-label="Tindakan">Pengguna dibuat</td>' not in filtered
    assert '<td data-label="Tindakan">Berhasil masuk</td>' in filtered
    future = browser.get("/audit?since=2999-01-01").get_data(as_text=True)
    assert "Tidak ada entri yang cocok." in future
    # The first day of year 1 in WITA began in year 0 in UTC: everything is after it.
    first_day = browser.get("/audit?since=0001-01-01")
    assert first_day.status_code == 200
    assert '<td data-label="Tindakan">Berhasil masuk</td>' in first_day.get_data(as_text=True)
    bad = browser.get("/audit?since=yesterday")
    assert bad.status_code == 422
    assert "Tanggal tidak sah" in bad.get_data(as_text=True)


def test_the_audit_log_names_the_security_events_in_both_languages(app, hub):
    from referral_hub.actors import Actor
    from referral_hub.audit import operations as audit

    names = {
        "oauth.client_auth_failed": ("Autentikasi klien OAuth gagal", "OAuth client failed"),
        "oauth.code_replayed": ("Kode otorisasi dipakai ulang", "Authorization code replayed"),
        "oauth.refresh_reused": ("Refresh token dipakai ulang", "Refresh token reused"),
        "oauth.token_revoked": ("Token dicabut", "Token revoked"),
        "oauth.grant_approved": ("Akses aplikasi disetujui", "App access approved"),
        "oauth.grant_denied": ("Akses aplikasi ditolak", "App access denied"),
        "oauth.client_created": ("Klien OAuth didaftarkan", "OAuth client registered"),
        "oauth.client_changed": ("Klien OAuth diubah", "OAuth client changed"),
        "oauth.token_issued": ("Token diterbitkan untuk pengguna", "Token issued for a user"),
        "signin.failed": ("Gagal masuk", "Sign-in failed"),
        "signin.throttled": ("Percobaan masuk ditahan", "Sign-in attempts held"),
    }
    browser, _ = _signed_in(app, hub, "dp3a-kaltim", "auditor")
    with app.app_context():
        for action in names:
            audit.record(Actor.system("tests"), action, "oauth_client", "hub_x")
        db.session.commit()
    html = browser.get("/audit?object_type=oauth_client").get_data(as_text=True)
    for action, (indonesian, _english) in names.items():
        assert indonesian in html, action
        assert f'<td data-label="Tindakan">{action}</td>' not in html  # words, not codes
    token = _csrf_from(browser.get("/").get_data(as_text=True))
    browser.post("/language", data={"locale": "en", "next": "/audit", "csrf_token": token})
    html = browser.get("/audit?object_type=oauth_client").get_data(as_text=True)
    for action, (_indonesian, english) in names.items():
        assert english in html, action


def test_hub_operator_auditor_sees_every_organisation(app, hub):
    browser, _ = _signed_in(app, hub, "dp3a-kaltim", "auditor")
    hub.user("uptd-ppa-balikpapan", "caseworker", "bpp@bpp.example")
    html = browser.get("/audit?object_type=user").get_data(as_text=True)
    assert "bpp@bpp.example" in html


def test_audit_log_is_paginated(app, hub):
    from referral_hub.actors import Actor
    from referral_hub.audit import operations as audit

    with app.app_context():
        for n in range(55):
            audit.record(Actor.system("tests"), "test.event", "thing", f"t{n}")
        db.session.commit()
    operator, _ = _signed_in(app, hub, "dp3a-kaltim", "auditor")
    first = operator.get("/audit?object_type=thing").get_data(as_text=True)
    assert 'rel="next"' in first
    assert "Halaman 1 dari 2" in first
    assert "t54" in first  # newest first
    second = operator.get("/audit?object_type=thing&page=2").get_data(as_text=True)
    assert 'rel="prev"' in second
    assert 'rel="next"' not in second
    assert "t0<" in second


def test_chain_verification_shows_the_result(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "auditor")
    html = browser.get("/audit/verify").get_data(as_text=True)
    assert "Rantai utuh." in html
    assert 'id="verification"' in html


def test_chain_verification_reports_an_altered_entry(app, hub):
    from tests.functional.test_audit_chain import _tampering

    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "auditor")
    with _tampering(app) as conn:
        conn.execute(
            AuditEntry.__table__.update().where(AuditEntry.seq == 1).values(action="tampered")
        )
    html = browser.get("/audit/verify").get_data(as_text=True)
    assert "Rantai rusak." in html


def test_caseworker_cannot_read_the_audit_log(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "caseworker")
    assert browser.get("/audit").status_code == 403
    assert browser.get("/audit/verify").status_code == 403


def test_password_is_not_in_the_login_page_after_a_refusal(app, hub, client):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    response = hub.login(client, user["email"], "secret-typo-123")
    assert "secret-typo-123" not in response.get_data(as_text=True)
    assert TEST_PASSWORD not in response.get_data(as_text=True)


def test_audit_since_starts_the_day_at_midnight_wita(app):
    import datetime as dt

    from referral_hub.audit.views import _filters

    with app.test_request_context("/audit?since=2026-01-01"):
        _values, errors, since = _filters()
    assert not errors
    assert since.utcoffset() == dt.timedelta(hours=8)
    assert since.astimezone(dt.UTC) == dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC)
