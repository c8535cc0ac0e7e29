"""A referral sent while its agreement is suspended or its consent withdrawn (PostgreSQL).

The gates read the agreement and the consent early; the referral commits later (after its
number, its writes and the audit chain's lock). A suspension, a termination or a withdrawal
that commits in between cancels what is open under it, but cannot see a referral not yet
committed: without a lock the referral then stays `requested` and shared under an agreement
no longer in force, or on a withdrawn consent. Either the send lands first and is cancelled
by the ending, or the ending lands first and the send is refused: never a referral left open.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.referrals_support import PPU, Scenario, override_body, user_headers

#: Commits for real: concurrent writers on connections of their own.
pytestmark = pytest.mark.commits

WRITE = "agreements:read agreements:write"


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row locks and concurrent writers are PostgreSQL's; SQLite serialises")


def _open_under_ending(app, send, end) -> tuple[object, object, list[tuple[str, str | None]]]:
    """Run `send` held just before its commit while `end` runs in another thread (given
    three seconds to finish), then let the send commit; return both responses and the
    status and reason of every referral the send created."""
    holder: list[threading.Thread] = []
    reached, release = threading.Event(), threading.Event()

    def hold_before_commit(session):
        if holder and threading.current_thread() is holder[0]:
            reached.set()
            release.wait(30)

    event.listen(Session, "before_commit", hold_before_commit, insert=True)
    results: dict[str, object] = {}
    try:

        def run(name, call):
            with app.test_client() as http:
                results[name] = call(http)

        holder.append(threading.Thread(target=run, args=("send", send)))
        holder[0].start()
        assert reached.wait(30), "the send never reached its commit"
        ending = threading.Thread(target=run, args=("end", end))
        ending.start()
        ending.join(3)
        release.set()
        holder[0].join(30)
        ending.join(30)
    finally:
        release.set()
        event.remove(Session, "before_commit", hold_before_commit)
    sent, ended = results["send"], results["end"]
    stored = []
    if sent.status_code in (200, 201):
        with app.app_context():
            referral = db.session.get(Referral, sent.get_json()["id"])
            stored.append((referral.status, referral.status_reason))
            db.session.remove()
    return sent, ended, stored


@pytest.mark.parametrize("ending", ["suspend", "terminate"])
def test_a_send_racing_the_agreements_end_is_never_left_open(
    app, client, hub, postgres_only, ending
):
    s = Scenario(app, client, hub)
    agreement = f"/api/v1/agreements/{s.agreement_id}"
    sent, ended, stored = _open_under_ending(
        app,
        lambda http: http.post("/api/v1/referrals", json=s.body(), headers=s.ppu),
        lambda http: http.post(
            f"{agreement}/{ending}", json={"reason": "review"}, headers=hub.headers(PPU, WRITE)
        ),
    )
    assert ended.status_code == 200, ended.get_data(as_text=True)
    if sent.status_code == 201:
        assert stored == [("cancelled", "agreement_ended")]
    else:
        assert sent.status_code == 422, sent.get_data(as_text=True)


def test_a_send_racing_the_consents_withdrawal_is_never_left_open(app, client, hub, postgres_only):
    s = Scenario(app, client, hub)
    sent, ended, stored = _open_under_ending(
        app,
        lambda http: http.post("/api/v1/referrals", json=s.body(), headers=s.ppu),
        lambda http: http.post(
            f"/api/v1/consents/{s.consent['id']}/withdraw",
            json={"reason": "the parent changed their mind"},
            headers=s.ppu,
        ),
    )
    assert ended.status_code == 200, ended.get_data(as_text=True)
    if sent.status_code == 201:
        assert stored == [("cancelled", "consent_withdrawn")]
    else:
        assert sent.status_code == 422, sent.get_data(as_text=True)


def test_an_approval_racing_the_agreements_suspension_is_never_left_open(
    app, client, hub, postgres_only
):
    s = Scenario(app, client, hub)
    draft = client.post("/api/v1/referrals", json=override_body(s), headers=s.ppu)
    assert draft.status_code == 201, draft.get_data(as_text=True)
    user = hub.user(PPU, "supervisor", "supervisor.ppu@test.example")
    supervisor = user_headers(app, hub, PPU, user["id"])
    agreement = f"/api/v1/agreements/{s.agreement_id}"
    sent, ended, stored = _open_under_ending(
        app,
        lambda http: http.post(
            f"/api/v1/referrals/{draft.get_json()['id']}/approve", json={}, headers=supervisor
        ),
        lambda http: http.post(
            f"{agreement}/suspend", json={"reason": "review"}, headers=hub.headers(PPU, WRITE)
        ),
    )
    assert ended.status_code == 200, ended.get_data(as_text=True)
    if sent.status_code == 200:
        assert stored == [("cancelled", "agreement_ended")]
    else:
        assert sent.status_code == 422, sent.get_data(as_text=True)
