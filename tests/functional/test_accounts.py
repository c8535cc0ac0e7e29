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
from referral_hub.accounts.throttle import (
    ADDRESS_ALLOWANCE,
    QUIET_RESET,
    SOURCE_ALLOWANCE,
    sign_in_held_until,
)
from referral_hub.attempts import AttemptCounter, purge_attempt_counters
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


# --- failed sign-ins: holds per address and source, never a lock for everyone -----------
#
# Failures are counted per (e-mail address, source address) and per source address. Past an
# allowance the pair (or the source) is held for a while, longer each time; nobody else is.
# A known and an unknown e-mail address get the same answers, in the same sequence, with the
# same argon2 work: nothing tells whether an account exists.

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


def _from(client, source: str, email: str, password: str):
    """A sign-in through the form, as if sent from the address `source`."""
    environ = {"REMOTE_ADDR": source}
    page = client.get("/login", environ_base=environ)
    token = _csrf(page.get_data(as_text=True))
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def _answer(response) -> tuple[int, str]:
    if response.status_code == 302:
        return 302, ""
    return response.status_code, _error_text(response)


@pytest.fixture
def argon2_checks(monkeypatch) -> list[int]:
    """How many argon2 verifications ran: one list item per call."""
    from argon2 import PasswordHasher

    calls: list[int] = []
    real = PasswordHasher.verify

    def counted(self, hash, password):
        calls.append(1)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return calls


def test_a_known_and_an_unknown_address_get_the_same_answers_and_work(
    app, client, hub, argon2_checks
):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    attempts = ADDRESS_ALLOWANCE + 3
    moment = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)

    def run(email: str, source: str) -> tuple[list[tuple[int, str]], list[int]]:
        answers, work = [], []
        for _ in range(attempts):
            before = len(argon2_checks)
            answers.append(_answer(_from(client, source, email, WRONG)))
            work.append(len(argon2_checks) - before)
        return answers, work

    # The clock stands still, so both runs see the same times in their messages.
    with time_machine.travel(moment, tick=False):
        known = run(user["email"], "192.0.2.1")
        unknown = run("nobody.here@test.example", "192.0.2.2")
    assert known == unknown
    answers, work = known
    # Each attempt within the allowance is checked with argon2 (also for the unknown
    # address), and refused with the one message for a wrong e-mail or password...
    assert work[: ADDRESS_ALLOWANCE - 1] == [1] * (ADDRESS_ALLOWANCE - 1)
    assert set(answers[: ADDRESS_ALLOWANCE - 1]) == {(401, "E-mail atau kata sandi salah.")}
    # ...then the pair is held: no password is checked, whoever's address it is.
    assert answers[ADDRESS_ALLOWANCE - 1][0] == 429
    assert work[ADDRESS_ALLOWANCE:] == [0] * (attempts - ADDRESS_ALLOWANCE)
    assert {status for status, _ in answers[ADDRESS_ALLOWANCE:]} == {429}
    assert "Akun" not in answers[-1][1]  # no account is said to exist, or to be locked


def test_an_attackers_failures_do_not_lock_the_owner_out(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    statuses = [_from(client, ATTACKER, user["email"], WRONG).status_code for _ in range(12)]
    assert statuses[-1] == 429
    # The attacker's source is held, even for the right password...
    assert _from(client, ATTACKER, user["email"], TEST_PASSWORD).status_code == 429
    # ...while the owner, elsewhere, signs in at once.
    owner = app.test_client()
    assert _from(owner, OWNER, user["email"], TEST_PASSWORD).status_code == 302
    assert owner.get("/", environ_base={"REMOTE_ADDR": OWNER}).status_code == 200
    row = _user_row(app, user["id"])
    assert row.locked_until is None  # the account itself was never locked


def test_holds_grow_longer_and_a_success_starts_afresh(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    start = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(ADDRESS_ALLOWANCE):
            _from(client, ATTACKER, user["email"], WRONG)
        first = _hold(app, user["email"], ATTACKER)
        assert first is not None
        assert first > start
        assert _from(client, ATTACKER, user["email"], TEST_PASSWORD).status_code == 429
    with time_machine.travel(first + dt.timedelta(seconds=1), tick=False):
        # Once the hold runs out one more guess is checked; wrong, it earns a longer hold.
        assert _from(client, ATTACKER, user["email"], WRONG).status_code == 429
        second = _hold(app, user["email"], ATTACKER)
        assert second - (first + dt.timedelta(seconds=1)) > first - start
    with time_machine.travel(second + dt.timedelta(seconds=1), tick=False):
        assert _from(client, ATTACKER, user["email"], TEST_PASSWORD).status_code == 302
        # A success clears the count of that address from that source.
        assert _from(app.test_client(), ATTACKER, user["email"], WRONG).status_code == 401


def test_a_source_trying_many_addresses_is_held_but_not_other_sources(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    for n in range(SOURCE_ALLOWANCE):
        response = _from(client, ATTACKER, f"guess{n}@test.example", WRONG)
        assert response.status_code in (401, 429)
    assert response.status_code == 429
    # Held for every address now, known or not...
    assert _from(client, ATTACKER, user["email"], TEST_PASSWORD).status_code == 429
    assert _from(client, ATTACKER, "guess0@test.example", WRONG).status_code == 429
    # ...but not from anywhere else.
    assert _from(app.test_client(), OWNER, user["email"], TEST_PASSWORD).status_code == 302


def test_the_counts_live_in_the_database_where_every_process_sees_them(app, app_config, hub):
    # A second app (another gunicorn worker, another machine) sees the hold at once.
    from referral_hub import create_app

    user = hub.user("uptd-ppa-ppu", "caseworker")
    for _ in range(ADDRESS_ALLOWANCE):
        _from(app.test_client(), ATTACKER, user["email"], WRONG)
    other = create_app(app_config)
    try:
        held = _from(other.test_client(), ATTACKER, user["email"], TEST_PASSWORD)
        assert held.status_code == 429
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_failures_and_holds_are_audited_once_each_without_the_password(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    for _ in range(ADDRESS_ALLOWANCE + 10):
        _from(client, ATTACKER, user["email"], WRONG)
    failures = _entries(app, "signin.failed", user["id"])
    assert [e.detail["attempt"] for e in failures] == list(range(1, ADDRESS_ALLOWANCE + 1))
    assert all(e.detail["address"] == ATTACKER for e in failures)
    assert "held_until" in failures[-1].detail
    assert all("held_until" not in e.detail for e in failures[:-1])
    # Ten refusals during the one hold: one entry, not ten (an attacker cannot grow the log).
    (held,) = _entries(app, "signin.throttled", user["id"])
    assert held.detail["address"] == ATTACKER
    _from(client, OWNER, "nobody.here@test.example", WRONG)
    (unknown,) = [e for e in _entries(app, "signin.failed") if e.object_id is None]
    assert unknown.detail["email"] == "nobody.here@test.example"
    with app.app_context():
        text = json.dumps([e.detail for e in db.session.scalars(select(AuditEntry))])
    assert WRONG not in text


def test_parallel_guesses_cannot_outrun_the_hold(app, live_server, hub):
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
    assert len(checked) <= ADDRESS_ALLOWANCE
    assert _hold(app, user["email"], "127.0.0.1") is not None
    # Still held for the right password too, from that source.
    browser = requests.Session()
    token = _csrf(browser.get(live_server + "/login", timeout=10).text)
    right = browser.post(
        live_server + "/login",
        data={"email": user["email"], "password": TEST_PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert right.status_code == 429


def test_counts_are_forgotten_after_a_quiet_hour_and_purged(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    for _ in range(ADDRESS_ALLOWANCE - 1):
        _from(client, ATTACKER, user["email"], WRONG)
    later = dt.datetime.now(dt.UTC) + QUIET_RESET + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=True):
        # Not the last try before a hold: the count started again.
        for _ in range(ADDRESS_ALLOWANCE - 1):
            assert _from(client, ATTACKER, user["email"], WRONG).status_code == 401
    purge_at = later + QUIET_RESET + dt.timedelta(minutes=1)
    with time_machine.travel(purge_at, tick=True), app.app_context():
        assert purge_attempt_counters() == 2  # the pair's row and the source's
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AttemptCounter)) == 0


def test_the_purge_runs_on_the_schedule(app, client, hub):
    from referral_hub.accounts import tasks
    from referral_hub.delivery.schedule import PERIODIC

    periodic = {p.name: p for p in PERIODIC}["attempt-counter-purge"]
    assert periodic.fn is tasks.purge_attempt_counters
    assert periodic.task == "referral_hub.accounts.tasks.purge_attempt_counters"
    _from(client, ATTACKER, "nobody.here@test.example", WRONG)
    later = dt.datetime.now(dt.UTC) + QUIET_RESET * 2
    with time_machine.travel(later, tick=True), app.app_context():
        assert tasks.purge_attempt_counters() == 2
        assert db.session.scalar(select(func.count()).select_from(AttemptCounter)) == 0


def _hold(app, email: str, source: str) -> dt.datetime | None:
    """Until when the pair (email, source) is held, if it is."""
    with app.app_context():
        return sign_in_held_until(email, source)


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
