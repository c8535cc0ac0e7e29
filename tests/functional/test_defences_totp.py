"""The second factor: org_admin and auditor give a TOTP code after the password."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.accounts.operations import MAX_FAILED_LOGINS
from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from tests.conftest import TEST_PASSWORD, _csrf_from, totp_code


def _password(client, email: str):
    token = _csrf_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"email": email, "password": TEST_PASSWORD, "csrf_token": token}
    )


def _code(client, code: str, path: str = "/login/code"):
    token = _csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"code": code, "csrf_token": token})


def _actions(app, user_id: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_id == user_id)
                .order_by(AuditEntry.seq)
            )
        )


def _row(app, user_id: str) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge_all()
        return user


def _assert_not_signed_in(client) -> None:
    home = client.get("/")
    assert home.status_code == 302
    assert home.headers["Location"].startswith("http://localhost/login")
    authorize = client.get("/oauth/authorize?response_type=code&client_id=x")
    assert authorize.status_code in (302, 400)
    if authorize.status_code == 302:
        assert "/login" in authorize.headers["Location"]


@pytest.mark.parametrize("role", ["org_admin", "auditor"])
def test_first_sign_in_enrols_with_a_confirmed_code_and_stores_the_secret_encrypted(
    app, client, hub, role
):
    org = "dp3a-kaltim" if role == "auditor" else "uptd-ppa-ppu"
    user = hub.user(org, role, enrolled=False)
    response = _password(client, user["email"])
    assert response.headers["Location"].startswith("http://localhost/login/enrol")
    _assert_not_signed_in(client)

    page = client.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([^<]+)<', page).group(1).replace(" ", "")
    uri = re.search(r'id="totp-uri" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri
    assert client.get("/login/enrol").get_data(as_text=True).count(secret[:4]) >= 1

    wrong = _code(client, pyotp.TOTP(secret).at(time.time() - 600), "/login/enrol")
    assert wrong.status_code == 422
    _assert_not_signed_in(client)

    done = _code(client, pyotp.TOTP(secret).now(), "/login/enrol")
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert client.get("/").status_code == 200  # signed in now

    row = _row(app, user["id"])
    assert row.totp_enrolled_at is not None
    # A confirmed enrolment is a right second factor: the password's count starts afresh.
    assert row.failed_logins == 0
    assert secret not in (row.totp_secret_enc or "")  # encrypted at rest
    with app.app_context():
        assert db.session.get(User, user["id"]).totp_secret == secret
    assert all(code not in str(row.totp_recovery_hashes) for code in codes)
    actions = _actions(app, user["id"])
    assert "totp.enrolment_failed" in actions
    assert "totp.enrolled" in actions


def test_the_candidate_secret_is_sealed_in_the_session_cookie(app, client, hub):
    # The session cookie is signed, not encrypted: anyone who reads it (a proxy log, a
    # shared machine) would read a secret in it, and keep the second factor for good.
    user = hub.user("uptd-ppa-ppu", "org_admin", enrolled=False)
    _password(client, user["email"])
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([^<]+)<', page).group(1).replace(" ", "")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    contents = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert "totp_candidate" in contents
    assert secret not in repr(contents)
    # The same secret is shown again from the sealed copy, and enrolment completes with it.
    again = client.get("/login/enrol").get_data(as_text=True)
    assert secret[:4] + " " in again or secret[:4] in again
    assert _code(client, pyotp.TOTP(secret).now(), "/login/enrol").status_code == 200
    with app.app_context():
        assert db.session.get(User, user["id"]).totp_secret == secret


def test_a_caseworker_signs_in_with_the_password_alone(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    assert _password(client, user["email"]).headers["Location"] == "http://localhost/"


def test_the_code_step_signs_in_and_refuses_a_wrong_or_reused_code(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    response = _password(client, user["email"])
    assert response.headers["Location"].startswith("http://localhost/login/code")
    _assert_not_signed_in(client)

    wrong = _code(client, "12345")
    assert wrong.status_code == 401
    assert "Kode salah" in wrong.get_data(as_text=True)
    _assert_not_signed_in(client)

    code = totp_code()
    ok = _code(client, code)
    assert ok.status_code == 302
    assert ok.headers["Location"] == "http://localhost/"
    assert client.get("/").status_code == 200

    # The same code, seen over a shoulder, does not open a second session.
    other = app.test_client()
    _password(other, user["email"])
    reused = _code(other, code)
    assert reused.status_code == 401
    assert "sudah dipakai" in reused.get_data(as_text=True)
    _assert_not_signed_in(other)
    actions = _actions(app, user["id"])
    assert actions.count("signin.second_factor_failed") == 2
    assert "signin.second_factor_succeeded" in actions


def test_one_step_of_clock_drift_is_allowed_two_are_not(client, hub):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    _password(client, user["email"])
    assert _code(client, totp_code(offset_steps=-2)).status_code == 401
    assert _code(client, totp_code(offset_steps=2)).status_code == 401
    assert _code(client, totp_code(offset_steps=1)).status_code == 302


def test_a_recovery_code_works_once(app, hub):
    user = hub.user("uptd-ppa-ppu", "auditor", enrolled=False)
    client = app.test_client()
    _password(client, user["email"])
    client.get("/login/enrol")
    secret = (
        re.search(r'id="totp-secret">([^<]+)<', client.get("/login/enrol").get_data(as_text=True))
        .group(1)
        .replace(" ", "")
    )
    done = _code(client, pyotp.TOTP(secret).now(), "/login/enrol")
    recovery = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))[0]

    first = app.test_client()
    _password(first, user["email"])
    assert _code(first, recovery.upper()).status_code == 302
    second = app.test_client()
    _password(second, user["email"])
    assert _code(second, recovery).status_code == 401
    assert len(_row(app, user["id"]).totp_recovery_hashes) == 9


def test_wrong_codes_lock_the_account_like_wrong_passwords(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    _password(client, user["email"])
    statuses = [_code(client, "000001").status_code for _ in range(MAX_FAILED_LOGINS)]
    assert statuses[-1] == 429
    assert _row(app, user["id"]).locked_until is not None
    # Locked: even the right code is refused now.
    assert _code(client, totp_code()).status_code == 429
    _assert_not_signed_in(client)


def test_the_password_step_runs_out(app, client, hub, monkeypatch):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    _password(client, user["email"])
    later = time.time() + 6 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get("/login/code")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("http://localhost/login")
