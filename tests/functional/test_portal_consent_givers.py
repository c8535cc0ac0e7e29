"""The consent form: a child's refusal with its reason, a giver resembling the alleged perpetrator.

The portal calls the same operation as the API (test_clients_consent_givers); these tests
check what a caseworker and a supervisor see: the fields, the refusals beside them with
nothing typed lost, and a refused consent that the referral wizard does not offer.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.clients.models import Consent, local_today
from referral_hub.clients.operations import record_consent, register_client
from referral_hub.extensions import db
from tests.clients_support import years_ago
from tests.portal_sender_support import (
    BALIKPAPAN,
    PPU,
    SERVICE,
    build_world,
    field_error,
    post,
    referral_form,
    signed_in,
)

REASON = "Anak takut ayahnya tahu ia bercerita kepada konselor."


@pytest.fixture
def world(app):
    return build_world(app)


def _child(app, *, age: int, guardian: dict | None = None) -> str:
    with app.app_context():
        client = register_client(
            Actor.system("tests"),
            organization=PPU,
            full_name="Anak Portal",
            birth_date=years_ago(age),
            sex="female",
            domicile_region="64.09",
            guardian=guardian
            or {"name": "Ibu Portal", "relationship": "ibu kandung", "phone": "0812111222"},
        )
        db.session.commit()
        return client.id


def _flagged_child(app) -> str:
    return _child(
        app,
        age=10,
        guardian={
            "name": "Budi Santoso",
            "relationship": "ayah kandung",
            "phone": "0812000111",
            "is_alleged_perpetrator": True,
        },
    )


def _form(world, **changes):
    form = {
        "given_by": "parent",
        "giver_name": "Siti Aminah",
        "giver_relationship": "ibu kandung",
        "child_assent": "yes",
        "recipients": [world.balikpapan_id],
        "services": [SERVICE],
        "data_categories": ["identity", "case_summary"],
        "method": "written",
        "evidence_file": (io.BytesIO(b"%PDF-1.4 signed consent form"), "formulir.pdf"),
        "valid_until": (local_today() + dt.timedelta(days=90)).isoformat(),
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def _consents(app, client_id: str) -> list[Consent]:
    with app.app_context():
        rows = list(db.session.scalars(select(Consent).where(Consent.client_id == client_id)))
        db.session.expunge_all()
        return rows


def test_the_childs_refusal_needs_its_reason_and_is_shown_with_it(app, hub, world):
    client_id = _child(app, age=13)
    browser = signed_in(app, hub, PPU)
    path = f"/clients/{client_id}/consents/new"
    page = browser.get(path).get_data(as_text=True)
    assert 'name="child_assent_refusal_reason"' in page
    assert "Alasan anak tidak setuju" in page

    missing = post(browser, path, _form(world, child_assent="no"))
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422
    assert field_error(html, "child_assent_refusal_reason") == "Wajib diisi bila anak tidak setuju."
    assert 'value="Siti Aminah"' in html  # nothing typed is lost
    assert re.search(r'value="no"\s+checked', html)
    assert _consents(app, client_id) == []

    done = post(browser, path, _form(world, child_assent="no", child_assent_refusal_reason=REASON))
    assert done.status_code == 302, done.get_data(as_text=True)[:3000]
    [consent] = _consents(app, client_id)
    assert consent.child_assent is False
    view = browser.get(f"/clients/{client_id}").get_data(as_text=True)
    assert REASON in view
    assert "persetujuan ini tidak dapat dipakai untuk berbagi data" in view


def test_a_younger_childs_refusal_is_shown_without_the_block(app, hub, world):
    client_id = _child(app, age=8)
    browser = signed_in(app, hub, PPU)
    done = post(
        browser,
        f"/clients/{client_id}/consents/new",
        _form(world, child_assent="no", child_assent_refusal_reason=REASON),
    )
    assert done.status_code == 302
    view = browser.get(f"/clients/{client_id}").get_data(as_text=True)
    assert REASON in view
    assert "persetujuan ini tidak dapat dipakai untuk berbagi data" not in view


def test_the_refusal_reads_in_english_too(app, hub, world):
    client_id = _child(app, age=13)
    browser = signed_in(app, hub, PPU)
    path = f"/clients/{client_id}/consents/new"
    assert post(browser, "/language", {"locale": "en", "next": path}).status_code == 302
    page = browser.get(path).get_data(as_text=True)
    assert "Why the child did not agree" in page
    refused = post(browser, path, _form(world, child_assent="no"))
    assert field_error(refused.get_data(as_text=True), "child_assent_refusal_reason") == (
        "Required when the child did not agree."
    )


def test_a_close_spelling_is_refused_for_a_caseworker_and_cleared_by_a_supervisor(app, hub, world):
    client_id = _flagged_child(app)
    path = f"/clients/{client_id}/consents/new"
    form = _form(world, giver_name="Bapak Budi", giver_relationship="paman")

    caseworker = signed_in(app, hub, PPU)
    page = caseworker.get(path).get_data(as_text=True)
    assert 'name="giver_cleared_by_supervisor"' not in page  # a caseworker cannot clear
    refused = post(caseworker, path, form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "supervisor" in field_error(html, "giver_name")
    assert "mencatat sendiri persetujuan ini" in html  # the reason, above the form
    assert 'value="Bapak Budi"' in html
    assert _consents(app, client_id) == []

    supervisor = signed_in(app, hub, PPU, "supervisor")
    assert 'name="giver_cleared_by_supervisor"' in supervisor.get(path).get_data(as_text=True)
    assert post(supervisor, path, form).status_code == 422  # not without saying so
    cleared = post(supervisor, path, {**form, "giver_cleared_by_supervisor": "1"})
    assert cleared.status_code == 302, cleared.get_data(as_text=True)[:3000]
    [consent] = _consents(app, client_id)
    assert consent.giver_cleared_by_user_id == supervisor.user["id"]
    view = supervisor.get(f"/clients/{client_id}").get_data(as_text=True)
    assert "diperiksa supervisor" in view


def test_the_same_name_is_refused_even_for_a_supervisor(app, hub, world):
    client_id = _flagged_child(app)
    supervisor = signed_in(app, hub, PPU, "supervisor")
    form = _form(
        world,
        giver_name="Bapak Bud\u0456 Santoso",
        giver_relationship="paman",
        giver_cleared_by_supervisor="1",
    )
    refused = post(supervisor, f"/clients/{client_id}/consents/new", form)
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), "giver_name")
    assert _consents(app, client_id) == []


def test_the_wizard_does_not_offer_a_consent_the_child_refused_from_12(app, hub, world):
    client_id = _child(app, age=13)
    with app.app_context():
        from referral_hub.clients.operations import get_client_of

        actor = Actor.system("tests")
        consent = record_consent(
            actor,
            get_client_of(actor, client_id),
            given_by="parent",
            giver_name="Ibu Portal",
            giver_relationship="ibu kandung",
            child_assent=False,
            child_assent_refusal_reason=REASON,
            recipients=[BALIKPAPAN],
            services=[SERVICE],
            data_categories=["identity", "case_summary"],
            method="written",
            evidence_sha256="e" * 64,
            valid_until=local_today() + dt.timedelta(days=90),
        )
        db.session.commit()
        consent_id = consent.id
    browser = signed_in(app, hub, PPU)
    form = referral_form(world, client=client_id, consent=consent_id, step="partner", go="basis")
    html = post(browser, "/referrals/new", form).get_data(as_text=True)
    choice = re.search(rf'<input type="radio"[^>]*value="{consent_id}"[^>]*>', html)
    assert choice, html[:3000]
    assert "disabled" in choice.group(0)
    assert "Anak tidak menyetujui persetujuan ini" in html
    sent = post(
        browser, "/referrals/new", referral_form(world, client=client_id, consent=consent_id)
    )
    assert sent.status_code == 422
    assert field_error(sent.get_data(as_text=True), "consent")
