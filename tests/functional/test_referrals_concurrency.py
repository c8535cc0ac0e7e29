"""Concurrency on PostgreSQL: of two accepts exactly one wins; numbers never repeat."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.referrals_support import BALIKPAPAN, Scenario

#: Commits for real: concurrent writers on connections of their own.
pytestmark = pytest.mark.commits


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row locks and concurrent writers are PostgreSQL's; SQLite serialises")


def _at_once(app, count, call):
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def work(index: int) -> None:
        with app.test_client() as http:
            barrier.wait()
            results[index] = call(http, index)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_accepts_at_once_one_wins(app, client, hub, postgres_only):
    s = Scenario(app, client, hub)
    for _ in range(5):
        referral = s.send()
        url = f"/api/v1/referrals/{referral['id']}/accept"
        codes = _at_once(
            app, 2, lambda http, i, url=url: http.post(url, json={}, headers=s.balikpapan)
        )
        assert sorted(r.status_code for r in codes) == [200, 409], [r.json for r in codes]
        timeline = client.get(f"/api/v1/referrals/{referral['id']}/events", headers=s.ppu)
        assert [e["action"] for e in timeline.get_json()].count("accept") == 1


def test_accept_and_cancel_at_once_leave_one_story(app, client, hub, postgres_only):
    s = Scenario(app, client, hub)
    referral = s.send()
    base = f"/api/v1/referrals/{referral['id']}"

    def act(http, index):
        if index == 0:
            return http.post(f"{base}/accept", json={}, headers=s.balikpapan)
        return http.post(f"{base}/cancel", json={"reason": "moved"}, headers=s.ppu)

    results = _at_once(app, 2, act)
    codes = sorted(r.status_code for r in results)
    final = client.get(base, headers=s.ppu).get_json()["status"]
    # Either order is legal (cancel is allowed after accept), but nothing is lost or doubled.
    assert codes in ([200, 200], [200, 409])
    assert final in ("accepted", "cancelled")
    actions = [e["action"] for e in client.get(f"{base}/events", headers=s.ppu).get_json()]
    assert actions.count("accept") <= 1
    assert actions.count("cancel") <= 1


def test_referrals_numbered_at_once_are_distinct_and_consecutive(app, client, hub, postgres_only):
    s = Scenario(app, client, hub)
    count = 8
    results = _at_once(
        app, count, lambda http, i: http.post("/api/v1/referrals", json=s.body(), headers=s.ppu)
    )
    assert all(r.status_code == 201 for r in results), [r.json for r in results]
    numbers = sorted(int(r.get_json()["number"].rsplit("-", 1)[1]) for r in results)
    assert numbers == list(range(numbers[0], numbers[0] + count))
    assert all(r.get_json()["recipient"]["code"] == BALIKPAPAN for r in results)


def test_a_number_is_taken_without_waiting_for_another_open_send(app, client, hub, postgres_only):
    """Sending holds no lock on its unit's number series until its commit: a second send of
    the same unit finishes while the first is still open (numbers are taken like a sequence's;
    a send that fails afterwards leaves a gap)."""
    s = Scenario(app, client, hub)
    s.send()  # the year's series exists
    holder: list[threading.Thread] = []
    reached, release = threading.Event(), threading.Event()

    def hold_before_commit(session):
        if holder and threading.current_thread() is holder[0]:
            reached.set()
            release.wait(30)

    # First among the before_commit hooks: the first send waits before the audit chain's lock.
    event.listen(Session, "before_commit", hold_before_commit, insert=True)
    results: dict[str, object] = {}
    try:

        def send(name: str) -> None:
            with app.test_client() as http:
                results[name] = http.post("/api/v1/referrals", json=s.body(), headers=s.ppu)

        holder.append(threading.Thread(target=send, args=("first",)))
        holder[0].start()
        assert reached.wait(30), "the first send never reached its commit"
        second = threading.Thread(target=send, args=("second",))
        second.start()
        second.join(15)
        finished_while_first_open = not second.is_alive()
        release.set()
        holder[0].join(30)
        second.join(30)
    finally:
        release.set()
        event.remove(Session, "before_commit", hold_before_commit)
    assert finished_while_first_open, "the second send waited for the first one's commit"
    first, other = results["first"], results["second"]
    assert (first.status_code, other.status_code) == (201, 201), (first.json, other.json)
    assert first.get_json()["number"] != other.get_json()["number"]
