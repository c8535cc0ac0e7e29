"""The outbox: events live and die with the transaction of their change, and carry no
personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from referral_hub.actors import Actor
from referral_hub.db import utcnow
from referral_hub.delivery import tasks
from referral_hub.delivery.models import Event, EventAudience
from referral_hub.delivery.outbox import PersonalDataInEvent, check_event_data, emit
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db

SYSTEM = Actor.system("tests")


@pytest.fixture
def orgs(app_ctx):
    return {code: find_organization(code).id for code in ("uptd-ppa-ppu", "uptd-ppa-balikpapan")}


def _emit(orgs, **data):
    return emit(
        SYSTEM,
        "referral.requested",
        subject_type="referral",
        subject_id="r1",
        organizations=[orgs["uptd-ppa-ppu"], orgs["uptd-ppa-balikpapan"]],
        data={"referral_id": "r1", "number": "RUJ-2026-0001", **data},
    )


def test_an_event_exists_only_if_its_transaction_commits(orgs):
    _emit(orgs)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0

    item = _emit(orgs)
    assert item.seq is None  # positions are given at commit
    db.session.commit()
    stored = db.session.get(Event, item.id)
    assert stored.seq == 1
    assert stored.recorded_at is not None
    assert sorted(stored.organization_ids) == sorted(orgs.values())
    seqs = db.session.scalars(select(EventAudience.event_seq)).all()
    assert seqs == [1, 1]


def test_an_event_of_a_rolled_back_savepoint_is_not_published(orgs):
    kept = _emit(orgs)
    with db.session.begin_nested() as savepoint:
        _emit(orgs)
        savepoint.rollback()
    db.session.commit()
    assert db.session.scalars(select(Event.id)).all() == [kept.id]


def test_positions_grow_in_commit_order(orgs):
    first = _emit(orgs)
    db.session.commit()
    second = _emit(orgs)
    third = _emit(orgs)
    db.session.commit()
    assert (first.seq, second.seq, third.seq) == (1, 2, 3)


def test_unknown_event_types_and_empty_audiences_are_refused(orgs):
    with pytest.raises(ValueError, match="unknown event type"):
        emit(
            SYSTEM,
            "referral.deleted",
            subject_type="referral",
            subject_id="r",
            organizations=[orgs["uptd-ppa-ppu"]],
            data={},
        )
    with pytest.raises(ValueError, match="at least one organisation"):
        emit(
            SYSTEM,
            "referral.requested",
            subject_type="referral",
            subject_id="r",
            organizations=[],
            data={},
        )


@pytest.mark.parametrize(
    "data",
    [
        {"name": "Siti"},
        {"full_name": "Siti Aminah"},
        {"nik": "x"},
        {"client": {"birth_date": "2010-01-01"}},
        {"guardian": {"relationship": "ibu"}},
        {"giver_name": "Budi"},
        {"client_phone": "x"},
        {"email": "x"},
        {"reason": "Klien menolak karena suaminya"},
        {"summary": "Korban dipukul"},
        {"note": 12},
        {"ref": "6409012345678901"},
        {"ref": "6409 0123 4567 8901"},
        {"ref": 6409012345678901},
        {"contact_ref": "siti@example.org"},
        {"ref": "0812-3456-7890"},
        {"ref": "+6281234567890"},
        {"items": [{"note": "Ibu korban datang"}]},
        {"text": "x" * 301},
        {"a": {"b": {"c": {"d": {"e": 1}}}}},
    ],
)
def test_personal_data_is_refused(data):
    with pytest.raises(PersonalDataInEvent):
        check_event_data(data)


def test_ids_numbers_statuses_and_links_pass():
    data = {
        "referral_id": "5f2b0c0e9a9d4a7c8f1e2d3c4b5a6978",
        "number": "RUJ/2026/000123",
        "status": "requested",
        "service": "psychological_counseling",
        "urgency": "urgent",
        "respond_by": dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC),
        "count": 3,
        "links": {"portal": "https://hub.example.id/portal/referrals/5f2b"},
        "reason": "consent_withdrawn",
        "outcome": "service_delivered",
    }
    clean = check_event_data(data)
    assert clean["respond_by"] == "2026-12-01T08:00:00Z"
    assert clean["links"]["portal"].endswith("/5f2b")


def test_a_lost_hand_off_is_swept(orgs, app):
    """No runner and no Redis took the dispatch: the sweeper finds the event once it is old."""
    item = _emit(orgs)
    db.session.commit()
    assert db.session.get(Event, item.id).dispatched_at is None
    app.config["HUB_OUTBOX_SWEEP_AFTER"] = "0"
    try:
        found = tasks.sweep_outbox()
    finally:
        del app.config["HUB_OUTBOX_SWEEP_AFTER"]
    assert found["events"] == 1
    # Dispatching it (what the enqueued job does) marks it, so it is not swept twice.
    tasks.dispatch_events()
    assert db.session.get(Event, item.id).dispatched_at <= utcnow()
    app.config["HUB_OUTBOX_SWEEP_AFTER"] = "0"
    try:
        assert tasks.sweep_outbox()["events"] == 0
    finally:
        del app.config["HUB_OUTBOX_SWEEP_AFTER"]
