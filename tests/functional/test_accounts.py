"""Staff accounts: argon2id passwords, sign-in, lockout under attack, sign-out, safe redirects."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from urllib.parse import urlsplit

import pytest
import requests
import time_machine
from sqlalchemy import func, select

from referral_hub.accounts.models import User
from referral_hub.accounts.operations import MAX_FAILED_LOGINS
from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from tests.conftest import TEST_PASSWORD

WRONG = "not the password at all"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1)


def _post_login(client, email, password, **extra):
    token = _csrf(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def _error_text(response) -> str:
    match = re.search(r'id="login-error"[^>]*>(.*?)</', response.get_data(as_text=True), re.S)
    assert match, response.get_data(as_text=True)[:500]
    return match.group(1).strip()


def _entries(app, action: str, object_id: str | None = None) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        if object_id is not None:
            query = query.where(AuditEntry.object_id == object_id)
        entries = db.session.scalars(query).all()
        db.session.expunge_all()
        return entries


def _user_row(app, user_id: str) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge_all()
        return user


# --- flask hub create-user -------------------------------------------------------------


def _create_user(app, *args: str, password: str | None = TEST_PASSWORD, **kwargs):
    env = {"HUB_PASSWORD": password} if password is not None else {"HUB_PASSWORD": ""}
    return app.test_cli_runner().invoke(args=["hub", "create-user", *args], env=env, **kwargs)


def test_create_user_stores_an_argon2id_hash(app):
    result = _create_user(
        app, "--org", "uptd-ppa-ppu", "--email", "Sari@Test.Example", "--role", "caseworker"
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["email"] == "sari@test.example"
    assert created["role"] == "caseworker"
    with app.app_context():
        user = db.session.get(User, created["id"])
        assert user.password_hash.startswith("$argon2id$")
        assert TEST_PASSWORD not in user.password_hash
        assert user.organization.code == "uptd-ppa-ppu"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_id == user.id))
        assert entry.action == "user.created"
        assert TEST_PASSWORD not in json.dumps(entry.detail)


def test_create_user_prompts_for_the_password_without_hub_password(app):
    result = _create_user(
        app,
        "--org",
        "polres-ppu",
        "--email",
        "prompted@test.example",
        "--role",
        "supervisor",
        password=None,
        input=f"{TEST_PASSWORD}\n{TEST_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert TEST_PASSWORD not in result.stdout


def test_duplicate_email_is_refused_whatever_its_case(app):
    args = ["--org", "uptd-ppa-ppu", "--role", "caseworker"]
    assert _create_user(app, *args, "--email", "dupe@test.example").exit_code == 0
    again = _create_user(app, *args, "--email", "  DUPE@test.example ")
    assert again.exit_code != 0
    assert "email" in again.output
    assert "exists" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("args", "password", "field"),
    [
        (["--email", "weak@test.example", "--role", "caseworker"], "short", "password"),
        (["--email", "not-an-email", "--role", "caseworker"], TEST_PASSWORD, "email"),
    ],
    ids=["weak", "bad-email"],
)
def test_create_user_refusals_name_the_field(app, args, password, field):
    result = app.test_cli_runner().invoke(
        args=["hub", "create-user", "--org", "uptd-ppa-ppu", *args],
        env={"HUB_PASSWORD": password},
    )
    assert result.exit_code != 0
    assert field in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_create_user_refuses_unknown_organisation_and_role(app):
    unknown_org = _create_user(
        app, "--org", "nowhere", "--email", "a@test.example", "--role", "caseworker"
    )
    assert unknown_org.exit_code != 0
    assert "nowhere" in unknown_org.output
    bad_role = _create_user(
        app, "--org", "uptd-ppa-ppu", "--email", "b@test.example", "--role", "superuser"
    )
    assert bad_role.exit_code != 0
    assert "role" in bad_role.output


# --- signing in and out ----------------------------------------------------------------


def test_sign_in_then_out(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    response = _post_login(client, user["email"].upper(), TEST_PASSWORD)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    assert client.get("/").status_code == 200
    assert _entries(app, "signin.succeeded", user["id"])

    token = _csrf(client.get("/").get_data(as_text=True))
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert urlsplit(out.headers["Location"]).path == "/login"
    home = client.get("/")
    assert home.status_code == 302
    assert urlsplit(home.headers["Location"]).path == "/login"
    assert _entries(app, "signout", user["id"])


def test_signing_out_ends_the_session_also_for_a_copy_of_its_cookie(app, client, hub):
    # Sessions live in the signed cookie; without a server-side mark, a copy taken before
    # the sign-out (a shared office computer, a synced browser profile) stayed valid.
    user = hub.user("uptd-ppa-ppu", "caseworker")
    _post_login(client, user["email"], TEST_PASSWORD)
    name = app.config["SESSION_COOKIE_NAME"]
    copied = client.get_cookie(name).value
    other = app.test_client()
    other.set_cookie(name, copied)
    assert other.get("/").status_code == 200  # the copy works while the session lives
    token = _csrf(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    after = other.get("/")
    assert after.status_code == 302
    assert urlsplit(after.headers["Location"]).path == "/login"
    # Signing in again starts a session that works.
    _post_login(client, user["email"], TEST_PASSWORD)
    assert client.get("/").status_code == 200


def test_logout_needs_the_form_token(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    _post_login(client, user["email"], TEST_PASSWORD)
    # A cross-site form cannot sign a caseworker out (or in) behind her back.
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_session_cookie_is_http_only_and_same_site(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    response = _post_login(client, user["email"], TEST_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    wrong = _post_login(client, user["email"], WRONG)
    unknown = _post_login(client, "nobody@test.example", WRONG)
    assert wrong.status_code == unknown.status_code == 401
    assert _error_text(wrong) == _error_text(unknown)
    assert len(_entries(app, "signin.failed")) == 2


def test_a_deactivated_user_gets_the_same_answer(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    with app.app_context():
        db.session.get(User, user["id"]).active = False
        db.session.commit()
    refused = _post_login(client, user["email"], TEST_PASSWORD)
    unknown = _post_login(client, "nobody@test.example", TEST_PASSWORD)
    assert refused.status_code == 401
    assert _error_text(refused) == _error_text(unknown)


# --- lockout ---------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_and_each_is_audited(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    statuses = [
        _post_login(client, user["email"], WRONG).status_code for _ in range(MAX_FAILED_LOGINS)
    ]
    assert statuses == [401] * (MAX_FAILED_LOGINS - 1) + [429]

    right = _post_login(client, user["email"], TEST_PASSWORD)
    assert right.status_code == 429
    assert client.get("/").status_code == 302  # not signed in

    failures = _entries(app, "signin.failed", user["id"])
    assert [e.detail["failed_logins"] for e in failures] == list(range(1, MAX_FAILED_LOGINS + 1))
    assert "locked_until" in failures[-1].detail
    assert all("locked_until" not in e.detail for e in failures[:-1])
    assert _entries(app, "signin.refused_locked", user["id"])
    assert not _entries(app, "signin.succeeded", user["id"])


def test_the_lock_ends_and_a_fresh_count_starts(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    for _ in range(MAX_FAILED_LOGINS):
        _post_login(client, user["email"], WRONG)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)
    with time_machine.travel(later, tick=True):
        # One typo after the lock ran out is one failure, not another lock.
        assert _post_login(client, user["email"], WRONG).status_code == 401
        assert _post_login(client, user["email"], TEST_PASSWORD).status_code == 302
    row = _user_row(app, user["id"])
    assert row.failed_logins == 0
    assert row.locked_until is None


def test_a_success_resets_the_count(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    for _ in range(MAX_FAILED_LOGINS - 1):
        _post_login(client, user["email"], WRONG)
    assert _post_login(client, user["email"], TEST_PASSWORD).status_code == 302
    assert _user_row(app, user["id"]).failed_logins == 0


def test_parallel_guesses_cannot_outrun_the_lockout(app, live_server, hub):
    # An attacker firing guesses in parallel gets no more than the allowed number
    # checked: each attempt is counted atomically before its password is checked.
    user = hub.user("uptd-ppa-ppu", "caseworker")
    attempts = 16
    start = threading.Barrier(attempts)
    statuses: list[int] = []

    def guess() -> None:
        browser = requests.Session()
        token = _csrf(browser.get(live_server + "/login", timeout=30).text)
        start.wait(timeout=30)
        response = browser.post(
            live_server + "/login",
            data={"email": user["email"], "password": WRONG, "csrf_token": token},
            allow_redirects=False,
            timeout=60,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == attempts
    assert set(statuses) <= {401, 429}
    checked = _entries(app, "signin.failed", user["id"])
    assert len(checked) <= MAX_FAILED_LOGINS
    row = _user_row(app, user["id"])
    assert row.locked_until is not None
    # Still locked for the right password too.
    browser = requests.Session()
    token = _csrf(browser.get(live_server + "/login", timeout=10).text)
    right = browser.post(
        live_server + "/login",
        data={"email": user["email"], "password": TEST_PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert right.status_code == 429


# --- redirects after sign-in -----------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "/\\evil.example/steal",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "http:evil.example",
        "evil.example",
        "https:/evil.example",
    ],
)
def test_next_cannot_leave_the_site(client, hub, target):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    response = _post_login(client, user["email"], TEST_PASSWORD, next=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/"), location
    assert not parts.path.startswith("//"), location
    assert "evil" not in location


def test_next_within_the_site_is_followed(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    target = "/oauth/authorize?response_type=code&client_id=x"
    response = _post_login(client, user["email"], TEST_PASSWORD, next=target)
    assert response.headers["Location"].endswith(target)


def test_next_is_also_checked_when_already_signed_in(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    _post_login(client, user["email"], TEST_PASSWORD)
    response = client.get("/login?next=//evil.example")
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
