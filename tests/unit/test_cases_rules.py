"""The rules of cases, one at a time: opening, who may be named, the plan's statuses, what a
referral made from the plan carries, follow-ups."""

from __future__ import annotations

import datetime as dt

import pytest

from referral_hub.actors import Actor
from referral_hub.cases import operations as ops
from referral_hub.cases.models import Case, PlanItem
from referral_hub.clients import operations as clients
from referral_hub.clients.models import local_today
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.problems import Problem
from referral_hub.referrals.models import Referral
from tests.clients_support import BONTANG, PPU, years_ago


def _actor(code: str, *scopes: str, user_id: str | None = None, role: str | None = None) -> Actor:
    org = find_organization(code)
    return Actor(
        organization_id=org.id,
        organization_type=org.type,
        kind="client",
        client_id="tests",
        user_id=user_id,
        role=role,
        scopes=frozenset(scopes or ("cases:read", "cases:write")),
    )


def _client(code: str = PPU):
    return clients.register_client(
        Actor.system("tests"),
        organization=code,
        full_name="Klien Uji",
        birth_date=years_ago(30),
        sex="female",
        domicile_region="64.09",
    )


@pytest.fixture
def case(app_ctx):
    client = _client()
    return ops.open_case(
        _actor(PPU),
        {
            "client": client.id,
            "risk_level": "high",
            "violence_types": ["sexual"],
            "incident": {"place_type": "school"},
            "perpetrator_relationship": "teacher",
            "summary": "Ringkasan rahasia",
        },
    )


def test_numbers_run_per_unit_and_year(app_ctx, case):
    year = local_today().year
    assert case.number.startswith(f"KS-PPU-{year}-")
    other = ops.open_case(_actor(PPU), {"client": case.client_id, "risk_level": "low"})
    assert int(other.number[-6:]) == int(case.number[-6:]) + 1
    elsewhere = ops.open_case(_actor(BONTANG), {"client": _client(BONTANG).id, "risk_level": "low"})
    assert elsewhere.number.startswith(f"KS-BONTANG-{year}-")


def test_only_the_owning_unit_finds_a_case(app_ctx, case):
    assert ops.get_case_for(_actor(PPU), case.id) is case
    with pytest.raises(Problem) as refused:
        ops.get_case_for(_actor(BONTANG), case.id)
    assert refused.value.status == 404
    with pytest.raises(Problem) as refused:
        ops.get_case_for(_actor(PPU, "cases:read"), case.id, "cases:write")
    assert refused.value.status == 403


def test_a_partner_opens_no_case(app_ctx, case):
    with pytest.raises(Problem) as refused:
        ops.open_case(_actor("polres-ppu"), {"client": case.client_id, "risk_level": "low"})
    assert refused.value.slug == clients.NOT_A_UPTD


def test_the_etag_changes_with_the_case_and_a_stale_one_is_412(app_ctx, case):
    db.session.flush()
    before = ops.etag_of(case)
    ops.update_case(_actor(PPU), case.id, {"risk_level": "low"}, if_match=f'"{before}"')
    assert ops.etag_of(case) != before
    with pytest.raises(Problem) as stale:
        ops.update_case(_actor(PPU), case.id, {"risk_level": "high"}, if_match=f'"{before}"')
    assert stale.value.status == 412
    with pytest.raises(Problem) as missing:
        ops.update_case(_actor(PPU), case.id, {"risk_level": "high"}, if_match=None)
    assert missing.value.status == 428


@pytest.mark.parametrize(
    ("referral_status", "item_status"),
    [
        ("draft", "in_progress"),
        ("requested", "in_progress"),
        ("accepted", "in_progress"),
        ("in-progress", "in_progress"),
        ("on-hold", "in_progress"),
        ("completed", "done"),
        ("rejected", "cancelled"),
        ("cancelled", "cancelled"),
        ("failed", "cancelled"),
        ("entered-in-error", "cancelled"),
    ],
)
def test_a_referred_item_takes_its_referrals_status(referral_status, item_status):
    item = PlanItem(status="planned")
    assert ops.plan_item_status(item) == "planned"
    item.referral = Referral(status=referral_status)
    assert ops.plan_item_status(item) == item_status


def test_the_referral_carries_the_cases_data_by_category(app_ctx, case):
    data = ops.referral_case_data(case)
    assert data == {
        "case_summary": {
            "violence_types": ["sexual"],
            "incident_place_type": "school",
            "chronology": "Ringkasan rahasia",
        },
        "perpetrator": {"relationship": "teacher"},
    }
    bare = Case(violence_types=[], summary=None)
    assert ops.referral_case_data(bare) == {}


def test_the_units_own_items_are_its_six_services(app_ctx, case):
    item = ops.add_plan_item(_actor(PPU), case.id, {"service": "temporary_shelter"})
    assert item.provider_organization_id == case.organization_id
    with pytest.raises(Problem) as refused:
        ops.add_plan_item(_actor(PPU), case.id, {"service": "health_care"})
    assert refused.value.status == 422
    with pytest.raises(Problem) as referred_own:
        ops.refer_plan_item(_actor(PPU), case.id, item.id, {"consent": "x"})
    assert referred_own.value.status == 422


def test_follow_ups_are_the_caseworkers_and_late_ones_the_units(app_ctx, case):
    yesterday = local_today() - dt.timedelta(days=1)
    ops.add_note(_actor(PPU), case.id, "hubungi", yesterday)
    db.session.flush()
    unit = ops.follow_ups_due(_actor(PPU, role="supervisor"), unit=True)
    assert [f["number"] for f in unit] == [case.number]
    assert unit[0]["overdue"] is True
    # Nobody is the caseworker of this case: no one's own list holds it.
    assert ops.follow_ups_due(_actor(PPU, user_id="nobody")) == []
    announced = ops.sweep_due_follow_ups()
    assert len(announced) == 1
    assert ops.sweep_due_follow_ups() == []


def test_key_rotation_walks_the_cases_texts(app_ctx, case):
    from referral_hub.cases.models import CaseNote
    from referral_hub.clients.crypto import ENCRYPTED_MODELS

    assert {Case, PlanItem, CaseNote} <= set(ENCRYPTED_MODELS)
    result = clients.rotate_keys_batch(Actor.system("tests"), batch_size=1000)
    assert result["rows"] == 0  # everything is already under the current key
    assert case.summary == "Ringkasan rahasia"
