"""Concurrency on PostgreSQL: of two accepts exactly one wins; numbers never repeat."""

from __future__ import annotations

import threading

import pytest

from tests.referrals_support import BALIKPAPAN, Scenario


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
