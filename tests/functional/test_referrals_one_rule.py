"""One referral, two ways in: the API and the portal's wizard accept or refuse it alike.

What a referral may share is one rule (`referrals.operations.shareable_categories`): the
agreement, the consent, and the client's own record (a category the record lacks, a guardian
flagged as the alleged perpetrator). `send_referral` refuses by it and the wizard offers by
it, so the same referral sent through both meets the same answer.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from referral_hub.actors import Actor
from referral_hub.clients.models import local_today
from referral_hub.clients.operations import record_consent, register_client
from referral_hub.extensions import db
from referral_hub.referrals import operations as ops
from referral_hub.referrals.models import Referral
from tests.clients_support import CANARY, canary_body
from tests.portal_sender_support import (
    AGREEMENT_CATEGORIES,
    BALIKPAPAN,
    PPU,
    SERVICE,
    build_world,
    field_error,
    post,
    referral_form,
    signed_in,
)
from tests.referrals_support import user_headers


def _client_with_consent(app, **changes) -> tuple[str, str]:
    """A PPU child (the canary body without NIK, changed by `changes`; None drops a field)
    whose mother consents to every category the agreement allows."""
    with app.app_context():
        actor = Actor.system("tests")
        body = {**canary_body(), "nik": None, **changes}
        body = {k: v for k, v in body.items() if v is not None}
        body["birth_date"] = dt.date.fromisoformat(body["birth_date"])
        client = register_client(actor, organization=PPU, **body)
        consent = record_consent(
            actor,
            client,
            given_by="parent",
            giver_name=CANARY["giver_name"],
            giver_relationship="ibu kandung",
            child_assent=True,
            recipients=[BALIKPAPAN],
            services=[SERVICE],
            data_categories=list(AGREEMENT_CATEGORIES),
            method="written",
            evidence_sha256="a" * 64,
            valid_until=local_today() + dt.timedelta(days=365),
        )
        ids = client.id, consent.id
        db.session.commit()
        db.session.remove()
        return ids


def _count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Referral))
        db.session.remove()
        return count


#: Clients by what their record holds.
RECORDS = {
    "full": {},
    "no_contact": {"phone": None, "address": None},
    "guardian_is_perpetrator": {
        "guardian": {
            "name": CANARY["guardian_name"],
            "relationship": "ayah kandung",
            "phone": CANARY["guardian_phone"],
            "is_alleged_perpetrator": True,
        }
    },
}


@pytest.mark.parametrize(
    ("record", "categories", "refused"),
    [
        ("full", ["identity", "contact", "guardian", "case_summary"], None),
        ("no_contact", ["identity", "contact", "case_summary"], "contact"),
        ("guardian_is_perpetrator", ["identity", "guardian", "case_summary"], "guardian"),
    ],
)
def test_the_api_and_the_wizard_answer_the_same_referral_alike(
    app, client, hub, record, categories, refused
):
    world = build_world(app, consent_categories=AGREEMENT_CATEGORIES)
    client_id, consent_id = _client_with_consent(app, **RECORDS[record])
    browser = signed_in(app, hub, PPU)
    headers = user_headers(app, hub, PPU, browser.user["id"])
    form = referral_form(world, client=client_id, consent=consent_id, data_categories=categories)
    body = {
        "client": client_id,
        "consent": consent_id,
        "to": BALIKPAPAN,
        "service": SERVICE,
        "urgency": "routine",
        "reason": form["reason"],
        "data_categories": categories,
        "case_data": {
            "case_summary": {
                "violence_types": form["cs_violence_types"],
                "incident_place_type": form["cs_incident_place_type"],
                "chronology": form["cs_chronology"],
            }
        },
    }

    api = client.post("/api/v1/referrals", json=body, headers=headers)
    portal = post(browser, "/referrals/new", form)
    html = portal.get_data(as_text=True)

    if refused is None:
        assert api.status_code == 201, api.get_data(as_text=True)
        assert portal.status_code == 302, html[:2000]
        assert _count(app) == 2
        with app.app_context():
            stored = [r.data_categories for r in db.session.scalars(select(Referral))]
            db.session.remove()
        assert stored[0] == stored[1] == ["demographics", *categories]
        return
    problem = api.get_json()
    assert api.status_code == 422, problem
    assert problem["type"].endswith(f"/problems/{ops.DATA_CATEGORY_NOT_ALLOWED}")
    assert list(problem["errors"]) == ["data_categories"]
    assert any(refused in text for text in problem["errors"]["data_categories"])
    assert portal.status_code == 422, html[:2000]
    assert 'name="step" value="categories"' in html
    assert field_error(html, "data_categories")
    assert _count(app) == 0


def test_the_wizard_names_why_the_record_cannot_share_a_category(app, hub):
    world = build_world(app, consent_categories=AGREEMENT_CATEGORIES)
    client_id, consent_id = _client_with_consent(app, **RECORDS["guardian_is_perpetrator"])
    browser = signed_in(app, hub, PPU)
    form = referral_form(
        world,
        client=client_id,
        consent=consent_id,
        step="basis",
        go="categories",
        data_categories=None,
    )
    html = post(browser, "/referrals/new", form).get_data(as_text=True)
    refused = html.split("Tidak dapat dibagikan", 1)[1]
    assert "Orang tua / wali</strong>: Wali tercatat sebagai terduga pelaku" in refused
