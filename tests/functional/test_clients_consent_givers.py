"""The alleged perpetrator cannot consent under another spelling, and a child's refusal counts.

Issue 11: "Bapak Budi", "Budí Santoso", a Cyrillic "i" (U+0456), fullwidth letters, a
zero-width space and "Budi Santosa" all passed for a flagged guardian "Budi Santoso". Names
are compared after normalisation (DOMAIN.md); a close spelling, or the flagged guardian's own
relationship to the child, needs a supervisor's clearance. A child's refusal of assent is
recorded with a reason and, from age 12 at the time of sending, blocks sharing on that
consent.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.audit.models import AuditEntry
from referral_hub.clients import operations as ops
from referral_hub.clients.models import Consent, local_today
from referral_hub.db import utcnow
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.problems import Problem
from tests.clients_support import (
    BALIKPAPAN,
    PPU,
    RW,
    child_body,
    create_client,
    create_consent,
    parent_consent_body,
    years_ago,
)
from tests.conftest import problem
from tests.referrals_support import Scenario, user_headers

PERPETRATOR_FATHER = {
    "name": "Budi Santoso",
    "relationship": "ayah kandung",
    "phone": "0812000111",
    "is_alleged_perpetrator": True,
}
REFUSAL = "Anak takut ayahnya tahu ia bercerita kepada konselor."


def _flagged_child(client, headers) -> dict:
    return create_client(client, headers, child_body(guardian=PERPETRATOR_FATHER))


def _post_consent(client, headers, client_id, **changes):
    return client.post(
        f"/api/v1/clients/{client_id}/consents",
        json=parent_consent_body(**changes),
        headers=headers,
    )


def _consents_of(app, client_id: str) -> list[Consent]:
    with app.app_context():
        rows = list(db.session.scalars(select(Consent).where(Consent.client_id == client_id)))
        db.session.expunge_all()
        return rows


# --- the flagged guardian under other spellings ---------------------------------------------

#: The same name once normalised: never allowed, whoever clears it.
SAME_NAME = [
    "Bapak Budi Santoso",
    "Budí Santoso",
    "Bud\u0456 Santoso",  # Cyrillic small i (U+0456)
    "\uff22\uff55\uff44\uff49 \uff33\uff41\uff4e\uff54\uff4f\uff53\uff4f",  # fullwidth
    "Budi\u200bSantoso",  # zero-width space
    "Budi Santo\u200bso",
    "Santoso, Budi",
    "\u0299\u1d1c\u1d05\u026a \ua731\u1d00\u0274\u1d1b\u1d0f\ua731\u1d0f",  # small capitals
]
#: A close spelling: a supervisor must clear it.
CLOSE_NAME = ["Bapak Budi", "Budi Santosa", "Budi", "B. Santoso"]


@pytest.mark.parametrize("giver", SAME_NAME)
def test_the_flagged_guardian_under_another_spelling_is_refused(app, client, hub, giver):
    headers = hub.headers(PPU, RW)
    child = _flagged_child(client, headers)
    response = _post_consent(
        client, headers, child["id"], giver_name=giver, giver_relationship="ibu kandung"
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    details = problem(response)
    assert details["type"].endswith("/problems/consent-giver-not-allowed"), details
    assert "giver_name" in details["errors"]
    assert _consents_of(app, child["id"]) == []


@pytest.mark.parametrize("giver", CLOSE_NAME)
def test_a_close_spelling_needs_a_supervisors_clearance(app, client, hub, giver):
    headers = hub.headers(PPU, RW)
    child = _flagged_child(client, headers)
    response = _post_consent(
        client, headers, child["id"], giver_name=giver, giver_relationship="ibu kandung"
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    details = problem(response)
    assert details["type"].endswith("/problems/consent-giver-needs-clearance"), details
    assert "giver_name" in details["errors"]
    assert "supervisor" in details["detail"]
    assert _consents_of(app, child["id"]) == []


@pytest.mark.parametrize(
    "relationship",
    [
        "Bapak",
        "ayah\u200bkandung",  # an invisible space between the words
        "Ba\u200bpak",  # ... or inside one
    ],
)
def test_the_flagged_guardians_relationship_needs_a_supervisors_clearance(
    app, client, hub, relationship
):
    headers = hub.headers(PPU, RW)
    child = _flagged_child(client, headers)
    # Another name, but "the father" again: the flagged guardian is the child's father.
    response = _post_consent(
        client, headers, child["id"], giver_name="Joko Susilo", giver_relationship=relationship
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    details = problem(response)
    assert details["type"].endswith("/problems/consent-giver-needs-clearance"), details
    assert "giver_relationship" in details["errors"]
    assert _consents_of(app, child["id"]) == []


@pytest.mark.parametrize(
    ("giver", "relationship"),
    [
        ("Siti Aminah", "ibu kandung"),
        ("Budiman Sutrisno", "paman"),
        ("Ibu Sri Rahayu", "nenek"),
        ("Agus Santika", "ayah tiri"),  # a stepfather is another man than the father
    ],
)
def test_another_person_consents_without_clearance(client, hub, giver, relationship):
    headers = hub.headers(PPU, RW)
    child = _flagged_child(client, headers)
    response = _post_consent(
        client, headers, child["id"], giver_name=giver, giver_relationship=relationship
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["giver_cleared_by"] is None


def test_a_token_without_a_supervisor_cannot_clear(app, client, hub):
    headers = hub.headers(PPU, RW)
    child = _flagged_child(client, headers)
    response = _post_consent(
        client,
        headers,
        child["id"],
        giver_name="Budi Santosa",
        giver_relationship="ibu kandung",
        giver_cleared_by_supervisor=True,
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    details = problem(response)
    assert details["type"].endswith("/problems/consent-giver-needs-clearance"), details
    assert "giver_cleared_by_supervisor" in details["errors"]
    assert _consents_of(app, child["id"]) == []


def _user_actor(app, user: dict, role: str) -> Actor:
    org = find_organization(PPU)
    return Actor(
        org.id,
        user_id=user["id"],
        role=role,
        kind="user",
        label=user["email"],
        organization_type=org.type,
    )


def _record(actor: Actor, client_id: str, **changes) -> Consent:
    client = ops.get_client_of(actor, client_id)
    body = parent_consent_body(**changes)
    body["valid_until"] = dt.date.fromisoformat(body["valid_until"])
    return ops.record_consent(actor, client, **body)


def test_a_supervisor_clears_a_close_spelling_personally(app, client, hub):
    child = _flagged_child(client, hub.headers(PPU, RW))
    supervisor = hub.user(PPU, "supervisor", "sup.clear@test.example")
    caseworker = hub.user(PPU, "caseworker", "cw.clear@test.example")
    with app.app_context():
        as_caseworker = _user_actor(app, caseworker, "caseworker")
        with pytest.raises(Problem) as refused:
            _record(
                as_caseworker,
                child["id"],
                giver_name="Budi Santosa",
                giver_relationship="ibu kandung",
                giver_cleared_by_supervisor=True,
            )
        assert refused.value.slug == "consent-giver-needs-clearance"
        db.session.rollback()

        as_supervisor = _user_actor(app, supervisor, "supervisor")
        consent = _record(
            as_supervisor,
            child["id"],
            giver_name="Budi Santosa",
            giver_relationship="ibu kandung",
            giver_cleared_by_supervisor=True,
        )
        db.session.commit()
        assert consent.giver_cleared_by_user_id == supervisor["id"]
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.giver_cleared")
        ).all()
        assert entry.object_id == consent.id
        assert entry.detail == {"client": child["id"], "resembles": "name"}
        assert "Santosa" not in str(entry.detail)  # no name in the audit log


def test_a_supervisor_cannot_clear_the_same_name(app, client, hub):
    child = _flagged_child(client, hub.headers(PPU, RW))
    supervisor = hub.user(PPU, "supervisor", "sup.same@test.example")
    with app.app_context():
        with pytest.raises(Problem) as refused:
            _record(
                _user_actor(app, supervisor, "supervisor"),
                child["id"],
                giver_name="Bapak Bud\u0456 Santoso",
                giver_relationship="paman",
                giver_cleared_by_supervisor=True,
            )
        assert refused.value.slug == "consent-giver-not-allowed"


def test_a_deactivated_supervisor_cannot_clear(app, client, hub):
    from referral_hub.accounts.models import User

    child = _flagged_child(client, hub.headers(PPU, RW))
    supervisor = hub.user(PPU, "supervisor", "sup.gone@test.example")
    with app.app_context():
        db.session.get(User, supervisor["id"]).active = False
        db.session.commit()
        with pytest.raises(Problem) as refused:
            _record(
                _user_actor(app, supervisor, "supervisor"),
                child["id"],
                giver_name="Joko Susilo",
                giver_relationship="ayah",
                giver_cleared_by_supervisor=True,
            )
        assert refused.value.slug == "consent-giver-needs-clearance"


# --- a child's refusal of assent ------------------------------------------------------------


def test_a_childs_refusal_is_recorded_with_its_reason(app, client, hub):
    headers = hub.headers(PPU, RW)
    child = create_client(client, headers, child_body())
    missing = _post_consent(client, headers, child["id"], child_assent=False)
    assert missing.status_code == 422
    assert "child_assent_refusal_reason" in problem(missing)["errors"]
    assented = _post_consent(
        client, headers, child["id"], child_assent=True, child_assent_refusal_reason=REFUSAL
    )
    assert assented.status_code == 422
    assert "child_assent_refusal_reason" in problem(assented)["errors"]

    body = create_consent(
        client,
        headers,
        child["id"],
        parent_consent_body(child_assent=False, child_assent_refusal_reason=REFUSAL),
    )
    assert body["child_assent"] is False
    assert body["child_assent_refusal_reason"] == REFUSAL
    read = client.get(f"/api/v1/consents/{body['id']}", headers=headers).get_json()
    assert read["child_assent_refusal_reason"] == REFUSAL
    [stored] = _consents_of(app, child["id"])
    assert stored.child_assent_refusal_reason_enc is not None
    assert "takut" not in stored.child_assent_refusal_reason_enc  # encrypted at rest
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.recorded")
        ).all()
        assert entries
        assert all("takut" not in str(e.detail) for e in entries)


@pytest.fixture
def s(app, client, hub):
    return Scenario(app, client, hub)


def _child_who_refused(s, age_years: int, days: int = 0) -> tuple[str, str]:
    """A child of that age whose mother consented to the scenario's referral, the child not."""
    child = create_client(
        s.http, s.ppu, child_body(birth_date=years_ago(age_years, days).isoformat())
    )
    consent = create_consent(
        s.http,
        s.ppu,
        child["id"],
        parent_consent_body(
            child_assent=False,
            child_assent_refusal_reason=REFUSAL,
            recipients=[BALIKPAPAN],
            data_categories=["identity", "case_summary"],
        ),
    )
    return child["id"], consent["id"]


def test_a_refusal_from_age_12_blocks_sharing_on_that_consent(s):
    client_id, consent_id = _child_who_refused(s, 13)
    response = s.http.post(
        "/api/v1/referrals", json=s.body(client=client_id, consent=consent_id), headers=s.ppu
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    details = problem(response)
    assert details["type"].endswith("/problems/child-assent-refused"), details
    assert "consent" in details["errors"]
    assert "legal basis" in details["detail"]


def test_a_refusal_at_exactly_12_blocks(s):
    client_id, consent_id = _child_who_refused(s, 12)
    response = s.http.post(
        "/api/v1/referrals", json=s.body(client=client_id, consent=consent_id), headers=s.ppu
    )
    assert problem(response)["type"].endswith("/problems/child-assent-refused")


def test_a_younger_childs_refusal_is_recorded_but_does_not_block(s):
    client_id, consent_id = _child_who_refused(s, 8)
    referral = s.send(client=client_id, consent=consent_id)
    assert referral["legal_basis"] == "consent"


def test_a_legal_basis_remains_for_the_child_who_refused(app, s, hub):
    client_id, _ = _child_who_refused(s, 13)
    supervisor = hub.user(PPU, "supervisor", "sup.override@test.example")
    response = s.http.post(
        "/api/v1/referrals",
        json=s.body(
            client=client_id,
            consent=None,
            legal_basis="vital_interest",
            justification="The child is in immediate danger at home; police informed.",
        ),
        headers=user_headers(app, hub, PPU, supervisor["id"]),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    referral = response.get_json()
    assert referral["override"]["legal_basis"] == "vital_interest"
    assert referral["status"] == "requested"  # the supervisor's own override is sent at once


def test_the_age_that_counts_is_the_age_when_sending(app, s):
    # Eleven when the consent was recorded, twelve tomorrow.
    client_id, consent_id = _child_who_refused(s, 12, days=-1)
    with app.app_context():
        consent = db.session.get(Consent, consent_id)
        kwargs = {
            "recipient_org_id": find_organization(BALIKPAPAN).id,
            "service_code": "psychological_counseling",
            "categories": ["identity"],
        }
        assert ops.consent_problems(consent, **kwargs, at=utcnow()) == []
        tomorrow = utcnow() + dt.timedelta(days=1)
        assert local_today(tomorrow) == local_today() + dt.timedelta(days=1)
        [refused] = ops.consent_problems(consent, **kwargs, at=tomorrow)
        assert refused.slug == "child-assent-refused"
        assert client_id == consent.client_id
