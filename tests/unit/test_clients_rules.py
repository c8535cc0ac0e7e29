"""Derived ages, the minimisation function and the consent coverage check, one rule at a time."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from referral_hub.actors import Actor
from referral_hub.clients import operations as ops
from referral_hub.clients.models import Client, Consent, age_band, age_on, local_today
from referral_hub.clients.names import compare_names
from referral_hub.db import utcnow
from referral_hub.directory.operations import find_organization
from referral_hub.problems import Problem
from tests.clients_support import BALIKPAPAN, BONTANG, CANARY, PPU, years_ago


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "0-5"),
        (5, "0-5"),
        (6, "6-12"),
        (12, "6-12"),
        (13, "13-17"),
        (17, "13-17"),
        (18, "18-24"),
        (24, "18-24"),
        (25, "25-44"),
        (44, "25-44"),
        (45, "45-59"),
        (59, "45-59"),
        (60, "60+"),
        (104, "60+"),
    ],
)
def test_simfoni_age_bands(age, band):
    assert age_band(age) == band


def test_a_child_until_the_eighteenth_birthday():
    born = dt.date(2008, 6, 15)
    assert age_on(born, dt.date(2026, 6, 14)) == 17
    assert age_on(born, dt.date(2026, 6, 15)) == 18


def test_born_on_29_february_turns_older_on_1_march():
    born = dt.date(2008, 2, 29)
    assert age_on(born, dt.date(2026, 2, 28)) == 17
    assert age_on(born, dt.date(2026, 3, 1)) == 18


def test_local_today_is_wita():
    # 16:30 UTC is already the next day in WITA (UTC+8).
    assert local_today(dt.datetime(2026, 1, 1, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 1, 2)


@pytest.mark.parametrize(
    ("giver", "guardian", "resemblance"),
    [
        ("Budi Santoso", "Budi Santoso", "same"),
        ("  budi   SANTOSO ", "Budi Santoso", "same"),
        ("Budi", "Budi Santoso", "close"),
        ("Santoso, Budi", "Budi Santoso", "same"),
        ("Siti Aminah", "Budi Santoso", None),
        ("Budi Hartono", "Budi Santoso", None),
        ("", "Budi Santoso", None),
    ],
)
def test_giver_names_that_may_be_the_guardian(giver, guardian, resemblance):
    # The whole rule is in test_consent_giver_names; these are the cases this module had.
    assert compare_names(giver, guardian) == resemblance


# --- client_view: code and demographics always, and exactly the allowed categories ----------


def _canary_client(org_id: str, *, perpetrator_guardian: bool = False) -> Client:
    client = Client(
        organization_id=org_id,
        code="KL-PPU-2026-000001",
        sex="male",
        disability=["sensory"],
        domicile_region="64.09",
    )
    client.full_name = CANARY["full_name"]
    client.nik = CANARY["nik"]
    client.birth_date = years_ago(9)
    client.phone = CANARY["phone"]
    client.address = CANARY["address"]
    client.guardian = {
        "name": CANARY["guardian_name"],
        "relationship": "ibu kandung",
        "phone": CANARY["guardian_phone"],
        "is_alleged_perpetrator": perpetrator_guardian,
    }
    return client


CATEGORY_CANARIES = {
    "identity": [CANARY["full_name"], CANARY["nik"], years_ago(9).isoformat()],
    "contact": [CANARY["phone"], CANARY["address"]],
    "guardian": [CANARY["guardian_name"], CANARY["guardian_phone"]],
}
SUBSETS = [
    set(combo)
    for size in range(4)
    for combo in itertools.combinations(("identity", "contact", "guardian"), size)
]


@pytest.mark.parametrize("allowed", SUBSETS, ids=lambda s: "+".join(sorted(s)) or "none")
def test_client_view_holds_only_the_allowed_categories(app_ctx, allowed):
    client = _canary_client(find_organization(PPU).id)
    view = ops.client_view(client, {"demographics", *allowed, "case_summary"})
    assert set(view) == {"code", "demographics", *allowed}
    assert view["demographics"] == {
        "age_band": "6-12",
        "sex": "male",
        "disability": ["sensory"],
        "domicile_region": "64.09",
    }
    text = json.dumps(view)
    for category, canaries in CATEGORY_CANARIES.items():
        for canary in canaries:
            assert (canary in text) is (category in allowed), (category, canary)
    assert "is_alleged_perpetrator" not in text


def test_client_view_gives_exact_fields(app_ctx):
    view = ops.client_view(
        _canary_client(find_organization(PPU).id), {"identity", "contact", "guardian"}
    )
    assert view["identity"] == {
        "full_name": CANARY["full_name"],
        "nik": CANARY["nik"],
        "birth_date": years_ago(9).isoformat(),
    }
    assert view["contact"] == {"phone": CANARY["phone"], "address": CANARY["address"]}
    assert view["guardian"] == {
        "name": CANARY["guardian_name"],
        "relationship": "ibu kandung",
        "phone": CANARY["guardian_phone"],
    }


def test_a_guardian_who_is_the_alleged_perpetrator_is_never_handed_out(app_ctx):
    client = _canary_client(find_organization(PPU).id, perpetrator_guardian=True)
    view = ops.client_view(client, {"guardian"})
    assert view["guardian"] is None
    assert CANARY["guardian_name"] not in json.dumps(view)


def test_client_view_refuses_unknown_categories(app_ctx):
    with pytest.raises(ValueError, match="unknown data categories"):
        ops.client_view(_canary_client(find_organization(PPU).id), {"identiy"})


# --- consent_problems: the slug for every way a consent can fail to cover a referral --------


def _consent(**changes) -> Consent:
    consent = Consent(
        client_id="c1",
        organization_id=find_organization(PPU).id,
        given_by="client",
        giver_is_alleged_perpetrator=False,
        client_was_child=False,
        services=["psychological_counseling"],
        data_categories=["demographics", "identity"],
        method="written",
        evidence_sha256="0" * 64,
        valid_until=local_today() + dt.timedelta(days=30),
    )
    consent.recipients = [find_organization(BALIKPAPAN)]
    for key, value in changes.items():
        setattr(consent, key, value)
    return consent


CASES = [
    ("covered", {}, {}, []),
    ("demographics always", {}, {"categories": ["demographics"]}, []),
    (
        "withdrawn",
        {"withdrawn_at": utcnow() - dt.timedelta(minutes=1)},
        {},
        ["consent-withdrawn"],
    ),
    (
        "expired yesterday",
        {"valid_until": local_today() - dt.timedelta(days=1)},
        {},
        ["consent-expired"],
    ),
    ("last day still holds", {"valid_until": local_today()}, {}, []),
    ("other recipient", {}, {"recipient": BONTANG}, ["consent-not-covering"]),
    ("other service", {}, {"service_code": "legal_aid"}, ["consent-not-covering"]),
    (
        "category outside",
        {},
        {"categories": ["identity", "contact"]},
        ["data-category-not-allowed"],
    ),
    (
        "everything wrong",
        {"withdrawn_at": utcnow() - dt.timedelta(minutes=1)},
        {"recipient": BONTANG, "categories": ["health"]},
        ["consent-withdrawn", "consent-not-covering", "data-category-not-allowed"],
    ),
]


@pytest.mark.parametrize(("name", "consent_changes", "request_changes", "slugs"), CASES)
def test_consent_problems(app_ctx, name, consent_changes, request_changes, slugs):
    consent = _consent(**consent_changes)
    problems = ops.consent_problems(
        consent,
        recipient_org_id=find_organization(request_changes.get("recipient", BALIKPAPAN)).id,
        service_code=request_changes.get("service_code", "psychological_counseling"),
        categories=request_changes.get("categories", ["demographics", "identity"]),
    )
    assert [p.slug for p in problems] == slugs
    if slugs:
        with pytest.raises(Problem) as raised:
            ops.require_consent_covers(
                consent,
                recipient_org_id=find_organization(request_changes.get("recipient", BALIKPAPAN)).id,
                service_code=request_changes.get("service_code", "psychological_counseling"),
                categories=request_changes.get("categories", ["demographics", "identity"]),
            )
        assert raised.value.slug == slugs[0]


def test_not_covering_names_the_fields(app_ctx):
    (problem,) = ops.consent_problems(
        _consent(),
        recipient_org_id=find_organization(BONTANG).id,
        service_code="legal_aid",
        categories=[],
    )
    assert set(problem.errors) == {"to", "service"}


def test_a_consent_checked_at_a_moment_before_its_withdrawal_held(app_ctx):
    withdrawn = utcnow()
    consent = _consent(withdrawn_at=withdrawn)
    assert consent.status(withdrawn - dt.timedelta(seconds=1)) == "active"
    assert consent.status(withdrawn) == "withdrawn"


def test_auditors_do_not_register_clients(app_ctx):
    org = find_organization(PPU)
    auditor = Actor(
        organization_id=org.id, user_id="u1", role="auditor", organization_type="uptd_ppa"
    )
    with pytest.raises(Problem) as raised:
        ops.register_client(
            auditor,
            full_name="x",
            birth_date=years_ago(30),
            sex="female",
            domicile_region="64.09",
        )
    assert raised.value.status == 403
