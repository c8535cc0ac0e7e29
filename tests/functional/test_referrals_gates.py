"""Every gate of sending, reached by a request that differs from an accepted one in one field."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.conftest import problem
from tests.referrals_support import BALIKPAPAN, BONTANG, KUKAR, Scenario


@pytest.fixture
def s(app, client, hub):
    return Scenario(app, client, hub)


def _refused(s, body, slug, field=None):
    response = s.http.post("/api/v1/referrals", json=body, headers=s.ppu)
    assert response.status_code == 422, response.get_data(as_text=True)
    details = problem(response)
    assert details["type"].endswith(f"/problems/{slug}"), details
    if field:
        assert field in details.get("errors", {}), details
    return details


def test_the_accepted_request(s):
    referral = s.send()
    assert referral["status"] == "requested"
    assert referral["number"].startswith("RJ-PPU-")
    assert referral["agreement"]["id"] == s.agreement_id
    assert referral["legal_basis"] == "consent"
    assert referral["data_categories"] == ["demographics", "identity", "case_summary"]


def test_no_agreement_with_that_recipient(s):
    _refused(s, s.body(to=BONTANG), "no-active-agreement", "to")


def test_no_agreement_covers_that_service(s):
    _refused(s, s.body(service="legal_aid"), "no-active-agreement")


def test_an_unknown_service_is_named_as_such(s):
    details = _refused(s, s.body(service="astrology"), "validation-error", "service")
    assert "Unknown service 'astrology'" in details["errors"]["service"][0]


def test_recipient_must_be_the_provider(s, app):
    # The agreement makes Balikpapan the provider; PPU cannot send Balikpapan's service to itself
    # nor pretend a party is the provider of a service it does not provide.
    _refused(s, s.body(service="mediation"), "no-active-agreement")


def test_category_outside_the_agreement(s):
    _refused(
        s,
        s.body(data_categories=["identity", "case_summary", "perpetrator"]),
        "data-category-not-allowed",
    )


def test_category_outside_the_consent(s):
    # The agreement allows contact; the consent does not.
    _refused(
        s,
        s.body(data_categories=["identity", "case_summary", "contact"]),
        "data-category-not-allowed",
    )


def test_recipient_outside_the_consent(s, app, client, hub):
    from tests.clients_support import create_consent

    other = create_consent(
        client,
        s.ppu,
        s.client["id"],
        {
            "given_by": "parent",
            "giver_name": "Ibu Kandung Klien",
            "giver_relationship": "ibu kandung",
            "child_assent": True,
            "recipients": [KUKAR],
            "services": ["psychological_counseling"],
            "data_categories": ["identity", "case_summary"],
            "method": "written",
            "evidence_sha256": "b" * 64,
            "valid_until": (dt.date.today() + dt.timedelta(days=365)).isoformat(),
        },
    )
    _refused(s, s.body(consent=other["id"]), "consent-not-covering", "to")


def test_withdrawn_consent(s):
    response = s.http.post(
        f"/api/v1/consents/{s.consent['id']}/withdraw",
        json={"reason": "the mother changed her mind"},
        headers=s.ppu,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    _refused(s, s.body(), "consent-withdrawn")


def test_expired_consent(s, client):
    from tests.clients_support import create_consent

    tomorrow = dt.date.today() + dt.timedelta(days=1)
    short = create_consent(
        client,
        s.ppu,
        s.client["id"],
        {
            "given_by": "parent",
            "giver_name": "Ibu Kandung Klien",
            "giver_relationship": "ibu kandung",
            "child_assent": True,
            "recipients": [BALIKPAPAN],
            "services": ["psychological_counseling"],
            "data_categories": ["identity", "case_summary"],
            "method": "written",
            "evidence_sha256": "c" * 64,
            "valid_until": tomorrow.isoformat(),
        },
    )
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)):
        s.ppu = s.hub.headers("uptd-ppa-ppu", "referrals:write clients:read")  # tokens age too
        _refused(s, s.body(consent=short["id"]), "consent-expired")


def test_an_override_is_approved_by_a_supervisor_not_named(s, hub):
    # A machine client naming the unit's supervisor does not make the supervisor approve
    # anything (see test_referrals_approval): it is refused, and without the name the
    # referral waits for the supervisor as a draft.
    hub.user("uptd-ppa-ppu", "supervisor", "supervisor.ppu@test.example")
    hub.user("uptd-ppa-ppu", "caseworker", "caseworker.ppu@test.example")
    override = {
        "consent": None,
        "legal_basis": "legal_obligation",
        "justification": "UU TPKS Pasal 41: sexual violence must be reported within 3x24 hours.",
        "data_categories": ["identity"],
        "case_data": {},
        "to": BALIKPAPAN,
    }
    for named in ("supervisor.ppu@test.example", "caseworker.ppu@test.example"):
        _refused(s, s.body(**override, approved_by=named), "validation-error", "approved_by")
    waiting = s.send(**override)
    assert waiting["status"] == "draft"
    assert waiting["override"]["legal_basis"] == "legal_obligation"
    assert waiting["override"]["approved_by"] is None


def test_override_from_a_user_is_sent_by_the_supervisor_personally(app, s, hub):
    from referral_hub.actors import Actor
    from referral_hub.directory.operations import find_organization
    from referral_hub.problems import Problem
    from referral_hub.referrals.operations import send_referral

    supervisor = hub.user("uptd-ppa-ppu", "supervisor", "sup2.ppu@test.example")
    caseworker = hub.user("uptd-ppa-ppu", "caseworker", "cw2.ppu@test.example")
    body = s.body(
        consent=None,
        legal_basis="vital_interest",
        justification="The child is in immediate danger at home tonight; police informed.",
        approved_by=supervisor["email"],
        data_categories=["identity"],
        case_data={},
    )
    with app.app_context():
        org = find_organization("uptd-ppa-ppu")
        as_caseworker = Actor(
            org.id, user_id=caseworker["id"], role="caseworker", organization_type="uptd_ppa"
        )
        with pytest.raises(Problem) as refused:
            send_referral(as_caseworker, body)
        assert refused.value.slug == "validation-error"
        assert "approved_by" in refused.value.errors
        unnamed = {k: v for k, v in body.items() if k != "approved_by"}
        assert send_referral(as_caseworker, unnamed).status == "draft"
        as_supervisor = Actor(
            org.id, user_id=supervisor["id"], role="supervisor", organization_type="uptd_ppa"
        )
        sent = send_referral(as_supervisor, body)
        assert (sent.legal_basis, sent.status) == ("vital_interest", "requested")
        assert sent.override_approved_by_id == supervisor["id"]


def test_consent_and_override_together_are_refused(s):
    response = s.http.post(
        "/api/v1/referrals",
        json=s.body(legal_basis="legal_obligation"),
        headers=s.ppu,
    )
    assert response.status_code == 422
    assert "legal_basis" in problem(response)["errors"]


def test_case_data_must_be_declared(s):
    response = s.http.post(
        "/api/v1/referrals", json=s.body(data_categories=["identity"]), headers=s.ppu
    )
    assert response.status_code == 422
    assert "case_data" in problem(response)["errors"]


def test_another_units_client(s, client, hub):
    from tests.clients_support import adult_body, create_client

    bontang_rw = hub.headers(BONTANG, "clients:write clients:read")
    theirs = create_client(client, bontang_rw, adult_body())
    details = problem(
        s.http.post("/api/v1/referrals", json=s.body(client=theirs["id"]), headers=s.ppu)
    )
    assert "client" in details["errors"]


@pytest.mark.parametrize(("urgency", "hours"), [("routine", 72), ("urgent", 24), ("emergency", 2)])
def test_respond_by_follows_the_agreement_and_urgency(s, urgency, hours):
    referral = s.send(urgency=urgency)
    sent = dt.datetime.fromisoformat(referral["created_at"])
    due = dt.datetime.fromisoformat(referral["respond_by"])
    assert due - sent == dt.timedelta(hours=hours)


def test_numbers_count_up(s):
    first, second = s.send(), s.send()
    assert int(second["number"].rsplit("-", 1)[1]) == int(first["number"].rsplit("-", 1)[1]) + 1


def test_a_terminated_agreement_stops_new_referrals(app, s):
    from referral_hub.agreements import operations as agreements
    from tests.agreements_support import actor

    with app.app_context():
        agreements.terminate_agreement(actor("uptd-ppa-ppu"), s.agreement_id, reason="ended")
        from referral_hub.extensions import db

        db.session.commit()
    _refused(s, s.body(), "no-active-agreement")
