"""A unit's own intake clock over HTTP and in the portal: read by the unit's staff, set by
its supervisor within the bounds, applying to clocks started after the change."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from referral_hub.intake.models import Intake
from tests.conftest import _csrf_from, problem
from tests.intake_support import PATBM, PPU, SCOPES, intake_body

CLOCK = "/api/v1/intakes/clock"


def _hours(view: dict) -> dict:
    return {level: view[level] for level in ("high", "medium", "low")}


def test_the_unit_reads_the_defaults_then_its_own_hours(client, hub):
    ppu = hub.headers(PPU, SCOPES)
    got = client.get(CLOCK, headers=ppu)
    assert got.status_code == 200, got.get_data(as_text=True)
    body = got.get_json()
    assert _hours(body) == {"high": 1, "medium": 6, "low": 72}
    assert body["defaults"] == {"high": 1, "medium": 6, "low": 72}
    assert body["own"] is False
    assert got.headers["ETag"]
    put = client.put(
        CLOCK,
        json={"high": 2, "medium": 8, "low": 48},
        headers={**ppu, "If-Match": got.headers["ETag"]},
    )
    assert put.status_code == 200, put.get_data(as_text=True)
    assert _hours(put.get_json()) == {"high": 2, "medium": 8, "low": 48}
    assert put.get_json()["own"] is True
    assert put.headers["ETag"] != got.headers["ETag"]
    again = client.get(CLOCK, headers=ppu).get_json()
    assert _hours(again) == {"high": 2, "medium": 8, "low": 48}
    assert again["defaults"] == {"high": 1, "medium": 6, "low": 72}


def test_a_stale_if_match_is_refused(client, hub):
    ppu = hub.headers(PPU, SCOPES)
    etag = client.get(CLOCK, headers=ppu).headers["ETag"]
    client.put(CLOCK, json={"high": 2, "medium": 6, "low": 72}, headers=ppu)
    stale = client.put(
        CLOCK, json={"high": 3, "medium": 6, "low": 72}, headers={**ppu, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert problem(stale)["type"].endswith("precondition-failed")
    assert _hours(client.get(CLOCK, headers=ppu).get_json())["high"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"high": 0, "medium": 6, "low": 72}, "high"),
        ({"high": 1, "medium": 6, "low": 721}, "low"),
        ({"high": 1.5, "medium": 6, "low": 72}, "high"),
        ({"high": "2", "medium": 6, "low": 72}, "high"),
        ({"high": True, "medium": 6, "low": 72}, "high"),
        ({"high": 25, "medium": 48, "low": 72}, "high"),
        ({"high": 8, "medium": 6, "low": 72}, "medium"),
        ({"high": 1, "medium": 80, "low": 72}, "low"),
        ({"high": 1, "medium": 6}, "low"),
    ],
)
def test_hours_out_of_bounds_are_refused_on_the_field(client, hub, body, field):
    ppu = hub.headers(PPU, SCOPES)
    refused = client.put(CLOCK, json=body, headers=ppu)
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert field in problem(refused)["errors"], problem(refused)
    assert _hours(client.get(CLOCK, headers=ppu).get_json()) == {"high": 1, "medium": 6, "low": 72}


def test_only_a_uptd_has_a_clock_and_only_a_supervisor_sets_it(app, client, hub):
    patbm = hub.headers(PATBM, SCOPES)
    assert client.get(CLOCK, headers=patbm).status_code == 403
    assert (
        client.put(CLOCK, json={"high": 1, "medium": 6, "low": 72}, headers=patbm).status_code
        == 403
    )
    # A token acting for a caseworker: the caseworker reads, never sets.
    caseworker = hub.user(PPU, "caseworker")
    hub.login(client, caseworker["email"])
    assert client.get("/intakes/clock").status_code == 200
    page = client.get("/intakes/clock").get_data(as_text=True)
    assert 'name="high"' not in page
    refused = client.post(
        "/intakes/clock",
        data={"csrf_token": _csrf_from(page), "high": "2", "medium": "6", "low": "72"},
    )
    assert refused.status_code == 403


def test_new_hours_apply_to_clocks_started_after_the_change(app, client, hub):
    ppu = hub.headers(PPU, SCOPES)
    own = {**intake_body(), "to": PPU, "channel": "walk_in"}
    before = client.post("/api/v1/intakes", json=own, headers=ppu).get_json()
    waiting = client.post("/api/v1/intakes", json=own, headers=ppu).get_json()
    put = client.put(CLOCK, json={"high": 1, "medium": 12, "low": 96}, headers=ppu)
    assert put.status_code == 200, put.get_data(as_text=True)
    after = client.post("/api/v1/intakes", json=own, headers=ppu).get_json()
    with app.app_context():
        old = db.session.get(Intake, before["id"])
        new = db.session.get(Intake, after["id"])
        # The running clock keeps its time; a new intake runs on the new hours.
        assert old.respond_by - old.arrived_at == dt.timedelta(hours=6)
        assert new.respond_by - new.arrived_at == dt.timedelta(hours=12)
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "intake.clock_set")
        ).one()
        assert entry.detail == {"high": 1, "medium": 12, "low": 96}
    # Triage starts the clock again: on the hours of the day it is done.
    triaged = client.post(
        f"/api/v1/intakes/{waiting['id']}/triage", json={"risk_level": "low"}, headers=ppu
    ).get_json()
    delta = dt.datetime.fromisoformat(triaged["respond_by"]) - dt.datetime.fromisoformat(
        triaged["received_at"]
    )
    assert delta == dt.timedelta(hours=96)


def test_the_supervisor_sets_the_hours_on_the_page(app, client, hub):
    supervisor = hub.user(PPU, "supervisor")
    hub.login(client, supervisor["email"])
    page = client.get("/intakes/clock")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "1 jam" in html
    assert "6 jam" in html
    assert "72 jam" in html
    assert "setelah" in html  # says the new hours apply from now on
    token = _csrf_from(html)
    wrong = client.post(
        "/intakes/clock", data={"csrf_token": token, "high": "9", "medium": "7", "low": "abc"}
    )
    assert wrong.status_code == 422
    kept = wrong.get_data(as_text=True)
    assert 'value="9"' in kept
    assert 'value="7"' in kept
    assert 'value="abc"' in kept
    assert 'role="alert"' in kept
    # Each field says what is wrong, in Indonesian, beside it.
    assert "Isi jumlah jam dengan angka bulat" in kept
    upside_down = client.post(
        "/intakes/clock", data={"csrf_token": token, "high": "8", "medium": "6", "low": "72"}
    )
    assert upside_down.status_code == 422
    said = upside_down.get_data(as_text=True)
    assert "Risiko sedang tidak boleh diberi waktu lebih singkat" in said
    assert 'value="8"' in said
    done = client.post(
        "/intakes/clock", data={"csrf_token": token, "high": "2", "medium": "8", "low": "48"}
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'value="2"' in shown
    assert 'value="8"' in shown
    assert 'value="48"' in shown
    ppu = hub.headers(PPU, SCOPES)
    assert _hours(client.get(CLOCK, headers=ppu).get_json()) == {"high": 2, "medium": 8, "low": 48}


@pytest.mark.commits
def test_two_changes_at_once_take_turns_and_the_stale_one_is_refused(app, is_postgres):
    """Both read the same ETag; the second waits for the first, then finds it stale."""
    if not is_postgres:
        pytest.skip("concurrent writers are PostgreSQL's; SQLite serialises")
    import threading

    from referral_hub.actors import Actor
    from referral_hub.directory.operations import find_organization
    from referral_hub.intake.operations import clock_etag, set_response_hours, unit_clock
    from referral_hub.problems import Problem

    with app.app_context():
        actor = Actor.for_organization(find_organization(PPU), "test")
        etag = clock_etag(unit_clock(actor))
        db.session.remove()
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def change(high: int) -> None:
        with app.app_context():
            actor = Actor.for_organization(find_organization(PPU), "test")
            barrier.wait()
            try:
                set_response_hours(actor, {"high": high}, if_match=f'"{etag}"')
                db.session.commit()
                outcomes.append(high)
            except Problem as problem:
                db.session.rollback()
                outcomes.append(problem.status)
            db.session.remove()

    threads = [threading.Thread(target=change, args=(h,)) for h in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2
    assert 412 in outcomes
    won = next(o for o in outcomes if o != 412)
    with app.app_context():
        actor = Actor.for_organization(find_organization(PPU), "test")
        assert unit_clock(actor)["high"] == won
