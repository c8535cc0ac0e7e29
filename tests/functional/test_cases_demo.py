"""The demo cases issue 14 asks for: a PPU child's path through police, a forensic exam and
Balikpapan's psychologist with a follow-up due; a Kukar adult's ending in economic
empowerment. Made through the operations, loaded once, shown to the PPU caseworker."""

from __future__ import annotations

from sqlalchemy import func, select

from referral_hub.cases import operations as ops
from referral_hub.cases.models import Case, CaseNote
from referral_hub.clients.models import local_today
from referral_hub.demo import DEMO_PASSWORD, load_demo
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db


def _case_of(unit: str) -> Case:
    org = find_organization(unit)
    return db.session.scalars(select(Case).where(Case.organization_id == org.id)).one()


def _plan(case: Case) -> dict[tuple[str, str], str]:
    return {(i.service_code, i.provider.code): ops.plan_item_status(i) for i in case.plan_items}


def test_the_demo_cases_load_once(app_ctx):
    first = load_demo()
    db.session.commit()
    assert len(first["cases_created"]) == 2
    assert sorted(first["case_partners_added"]) == ["diskop-kukar", "rsud-ppu"]
    assert len(first["case_agreements_created"]) == 2
    again = load_demo()
    db.session.commit()
    assert again["cases_created"] == again["case_partners_added"] == []
    assert again["case_agreements_created"] == []
    assert db.session.scalar(select(func.count()).select_from(Case)) == 2


def test_the_ppu_child_goes_to_police_hospital_and_balikpapan_with_a_follow_up_due(app_ctx):
    load_demo()
    db.session.commit()
    case = _case_of("uptd-ppa-ppu")
    assert case.client.is_child()
    assert case.status == "open"
    assert case.caseworker.email == "caseworker@ppu.demo"
    assert case.supervisor.email == "supervisor@ppu.demo"
    assert _plan(case) == {
        ("accompaniment", "uptd-ppa-ppu"): "in_progress",
        ("law_enforcement", "polres-ppu"): "in_progress",
        ("forensic_exam", "rsud-ppu"): "done",
        ("psychological_counseling", "uptd-ppa-balikpapan"): "in_progress",
    }
    referrals = {i.provider.code: i.referral for i in case.plan_items if i.referral}
    assert referrals["polres-ppu"].status == "accepted"
    assert referrals["uptd-ppa-balikpapan"].appointments
    assert all(r.case_id == case.id for r in referrals.values())
    due = db.session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)).one()
    assert due.follow_up_on == local_today()
    assert due.follow_up_done_at is None


def test_the_kukar_adult_case_is_closed_with_goals_met_every_item_done(app_ctx):
    load_demo()
    db.session.commit()
    case = _case_of("uptd-ppa-kukar")
    assert not case.client.is_child()
    assert (case.status, case.close_reason) == ("closed", "goals_met")
    assert _plan(case) == {
        ("accompaniment", "uptd-ppa-kukar"): "done",
        ("economic_empowerment", "diskop-kukar"): "done",
    }


def test_the_ppu_caseworker_finds_the_case_and_its_follow_up_in_the_portal(app, hub):
    with app.app_context():
        load_demo()
        db.session.commit()
        number = _case_of("uptd-ppa-ppu").number
        case_id = _case_of("uptd-ppa-ppu").id
        kukar = _case_of("uptd-ppa-kukar").number
        db.session.remove()
    browser = app.test_client()
    hub.login(browser, "caseworker@ppu.demo", DEMO_PASSWORD)
    home = browser.get("/").get_data(as_text=True)
    assert number in home  # the follow-up due today
    listing = browser.get("/cases").get_data(as_text=True)
    assert number in listing
    assert kukar not in listing
    page = browser.get(f"/cases/{case_id}").get_data(as_text=True)
    for text in ("Kepolisian Resor Penajam Paser Utara", "RSUD Penajam Paser Utara", "Balikpapan"):
        assert text in page
