"""An administrator resets the second factor of someone who lost the phone and the codes.

The person then enrols afresh at the next sign-in: the old authenticator's codes and the
old recovery codes stop working. An org_admin resets the accounts of their own
organisation (not their own), the hub operator's org_admin anyone's; each reset is audited.
"""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.accounts.operations import reset_second_factor
from referral_hub.actors import Actor
from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from referral_hub.problems import Problem
from tests.conftest import TEST_PASSWORD, _csrf_from
from tests.referrals_support import BALIKPAPAN, OPERATOR, PPU


def _password(client, email: str):
    token = _csrf_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"email": email, "password": TEST_PASSWORD, "csrf_token": token}
    )


def _code(client, code: str, path: str = "/login/code", token_from: str | None = None):
    token = _csrf_from(client.get(token_from or path).get_data(as_text=True))
    return client.post(path, data={"code": code, "csrf_token": token})


def _enrol(app, email: str):
    """Sign in through the real enrolment; the secret, the recovery codes and the browser."""
    client = app.test_client()
    assert _password(client, email).headers["Location"].startswith("http://localhost/login/enrol")
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([^<]+)<', page).group(1).replace(" ", "")
    done = _code(client, pyotp.TOTP(secret).now(), "/login/enrol")
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10
    assert client.get("/").status_code == 200
    return secret, codes, client


def _admin(app, hub, org: str):
    user = hub.user(org, "org_admin")
    browser = app.test_client()
    assert hub.login(browser, user["email"]).status_code == 302
    return browser, user


def _reset(browser, user_id: str, *, confirmed: bool = True, **kwargs):
    token = _csrf_from(browser.get("/users").get_data(as_text=True))
    data = {"csrf_token": token} | ({"confirmed": "1"} if confirmed else {})
    return browser.post(f"/users/{user_id}/reset-second-factor", data=data, **kwargs)


def _state(app, user_id: str) -> tuple:
    with app.app_context():
        user = db.session.get(User, user_id)
        return (
            user.totp_secret_enc,
            user.totp_enrolled_at,
            user.totp_last_step,
            user.totp_recovery_hashes,
        )


def _resets(app, user_id: str) -> list[AuditEntry]:
    with app.app_context():
        entries = list(
            db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_id == user_id, AuditEntry.action == "totp.reset")
                .order_by(AuditEntry.seq)
            )
        )
        db.session.expunge_all()
        return entries


def test_after_a_reset_the_user_enrols_afresh_and_the_old_codes_stop_working(app, hub):
    admin_browser, admin = _admin(app, hub, PPU)
    colleague = hub.user(PPU, "auditor", enrolled=False)
    old_secret, old_codes, old_browser = _enrol(app, colleague["email"])

    users_page = admin_browser.get("/users").get_data(as_text=True)
    assert f"/users/{colleague['id']}/reset-second-factor" in users_page
    assert f"/users/{admin['id']}/reset-second-factor" not in users_page  # not for oneself
    # The button asks first; nothing changes until it is confirmed.
    asking = _reset(admin_browser, colleague["id"], confirmed=False)
    assert asking.status_code == 200
    assert "Atur ulang faktor kedua" in asking.get_data(as_text=True)
    assert colleague["email"] in asking.get_data(as_text=True)
    assert _state(app, colleague["id"])[1] is not None

    done = _reset(admin_browser, colleague["id"], follow_redirects=True)
    assert f"Faktor kedua {colleague['email']} diatur ulang" in done.get_data(as_text=True)
    assert _state(app, colleague["id"]) == (None, None, None, None)
    [entry] = _resets(app, colleague["id"])
    assert entry.actor_user_id == admin["id"]
    # A session left open on the lost phone ends with the reset.
    assert old_browser.get("/").status_code == 302
    assert entry.organization_id == _state_org(app, colleague["id"])

    # Neither the old authenticator nor an old recovery code gets past the password now.
    client = app.test_client()
    assert (
        _password(client, colleague["email"])
        .headers["Location"]
        .startswith("http://localhost/login/enrol")
    )
    for code in (pyotp.TOTP(old_secret).now(), old_codes[0]):
        refused = _code(client, code, token_from="/login/enrol")
        assert refused.status_code == 302
        assert refused.headers["Location"].startswith("http://localhost/login/enrol")
        assert client.get("/").status_code == 302  # not signed in
    # Enrolment offers a new secret; the old one's code does not confirm it.
    page = client.get("/login/enrol").get_data(as_text=True)
    new_secret = re.search(r'id="totp-secret">([^<]+)<', page).group(1).replace(" ", "")
    assert new_secret != old_secret
    assert _code(client, pyotp.TOTP(old_secret).now(), "/login/enrol").status_code == 422
    enrolled = _code(client, pyotp.TOTP(new_secret).now(), "/login/enrol")
    assert enrolled.status_code == 200
    new_codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", enrolled.get_data(as_text=True))
    assert not set(new_codes) & set(old_codes)
    assert client.get("/").status_code == 200

    # After the new enrolment the old codes are still refused at the code step.
    for code in (pyotp.TOTP(old_secret).now(), old_codes[1]):
        _forget_failed_sign_ins(app, colleague["id"])  # each wrong code counts towards a lock
        other = app.test_client()
        assert (
            _password(other, colleague["email"])
            .headers["Location"]
            .startswith("http://localhost/login/code")
        )
        assert _code(other, code).status_code == 401
    recovering = app.test_client()
    _password(recovering, colleague["email"])
    assert _code(recovering, new_codes[0]).status_code == 302


def _forget_failed_sign_ins(app, user_id: str) -> None:
    with app.app_context():
        db.session.get(User, user_id).failed_logins = 0
        db.session.commit()


def _state_org(app, user_id: str) -> str:
    with app.app_context():
        return db.session.get(User, user_id).organization_id


def test_an_admin_of_another_unit_gets_not_found_and_nothing_changes(app, hub):
    browser, _ = _admin(app, hub, BALIKPAPAN)
    victim = hub.user(PPU, "org_admin")
    before = _state(app, victim["id"])
    assert _reset(browser, victim["id"], confirmed=False).status_code == 404
    assert _reset(browser, victim["id"]).status_code == 404
    assert _state(app, victim["id"]) == before
    assert before[1] is not None
    assert _resets(app, victim["id"]) == []


def test_the_hub_operators_admin_resets_anyones_second_factor(app, hub):
    browser, operator = _admin(app, hub, OPERATOR)
    someone = hub.user(PPU, "org_admin")
    assert _reset(browser, someone["id"]).status_code == 302
    assert _state(app, someone["id"]) == (None, None, None, None)
    [entry] = _resets(app, someone["id"])
    assert entry.actor_user_id == operator["id"]
    assert entry.subject_organization_id == _state_org(app, someone["id"])


def test_a_caseworker_is_refused(app, hub):
    caseworker = hub.user(PPU, "caseworker")
    browser = app.test_client()
    assert hub.login(browser, caseworker["email"]).status_code == 302
    admin = hub.user(PPU, "org_admin")
    before = _state(app, admin["id"])
    token = _csrf_from(browser.get("/").get_data(as_text=True))
    response = browser.post(
        f"/users/{admin['id']}/reset-second-factor",
        data={"csrf_token": token, "confirmed": "1"},
    )
    assert response.status_code == 403
    assert _state(app, admin["id"]) == before
    # The rule lives in the operation, so the API and the command line get it too.
    with app.app_context():
        actor = Actor.for_user(db.session.get(User, caseworker["id"]))
        with pytest.raises(Problem) as refused:
            reset_second_factor(actor, admin["id"])
        assert refused.value.status == 403
        db.session.rollback()
    assert _state(app, admin["id"]) == before
    assert _resets(app, admin["id"]) == []


@pytest.mark.parametrize("org", [PPU, OPERATOR])
def test_nobody_resets_their_own_second_factor(app, hub, org):
    browser, me = _admin(app, hub, org)
    before = _state(app, me["id"])
    response = _reset(browser, me["id"], follow_redirects=True)
    assert "Anda tidak dapat mengatur ulang faktor kedua Anda sendiri." in response.get_data(
        as_text=True
    )
    assert _state(app, me["id"]) == before
    assert _resets(app, me["id"]) == []
    with app.app_context():
        actor = Actor.for_user(db.session.get(User, me["id"]))
        with pytest.raises(Problem) as refused:
            reset_second_factor(actor, me["id"])
        assert refused.value.status == 409
        db.session.rollback()
