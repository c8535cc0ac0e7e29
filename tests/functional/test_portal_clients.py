"""Klien: register, find by NIK, read (logged), consent capture, withdrawal, disclosures."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
from sqlalchemy import select

from referral_hub.clients.models import Client, Consent, Disclosure, local_today
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.clients_support import CANARY, years_ago
from tests.portal_sender_support import (
    BALIKPAPAN,
    BONTANG,
    POLRES,
    PPU,
    build_world,
    field_error,
    post,
    referral_form,
    signed_in,
)


def _consents(app, client_id: str) -> list[Consent]:
    with app.app_context():
        rows = list(db.session.scalars(select(Consent).where(Consent.client_id == client_id)))
        db.session.expunge_all()
        return rows


def _client_form(**changes):
    form = {
        "full_name": "Sari Contoh",
        "nik": "6409 0112 3456 7890",
        "birth_date": years_ago(11).isoformat(),
        "sex": "female",
        "domicile_region": "64.09",
        "phone": "0812-1111-2222",
        "guardian_name": "Budi Contoh",
        "guardian_relationship": "ayah kandung",
        "guardian_is_alleged_perpetrator": "1",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def _consent_form(world, **changes):
    form = {
        "given_by": "parent",
        "giver_name": "Ibu Lain",
        "giver_relationship": "ibu kandung",
        "child_assent": "yes",
        "recipients": [world.balikpapan_id],
        "services": ["psychological_counseling"],
        "data_categories": ["identity", "case_summary"],
        "method": "written",
        "valid_until": (local_today() + dt.timedelta(days=90)).isoformat(),
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def _scan(content: bytes = b"%PDF-1.4 signed consent form"):
    """An upload of the signed consent form, as the form's file field takes it."""
    return (io.BytesIO(content), "formulir.pdf")


@pytest.fixture
def world(app):
    return build_world(app)


# --- who may open the pages -----------------------------------------------------------------


@pytest.mark.parametrize(("org", "role"), [(POLRES, "caseworker"), (PPU, "org_admin")])
def test_client_pages_are_closed_to_partners_and_admins(app, hub, world, org, role):
    browser = signed_in(app, hub, org, role)
    for path in ("/clients", "/clients/new", f"/clients/{world.client_id}"):
        assert browser.get(path).status_code == 403, path


def test_another_units_caseworker_gets_404_everywhere(app, hub, world):
    browser = signed_in(app, hub, BONTANG)
    base = f"/clients/{world.client_id}"
    for path in (
        base,
        f"{base}/consents/new",
        f"{base}/disclosures",
        f"{base}/consents/{world.consent_id}/withdraw",
    ):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert CANARY["full_name"] not in response.get_data(as_text=True)
    withdraw = post(browser, f"{base}/consents/{world.consent_id}/withdraw", {"reason": "x"})
    assert withdraw.status_code == 404
    assert _consents(app, world.client_id)[0].withdrawn_at is None


# --- list, search, read ----------------------------------------------------------------------


def test_list_shows_codes_only(app, hub, world):
    browser = signed_in(app, hub, PPU)
    html = browser.get("/clients").get_data(as_text=True)
    assert world.client_code in html
    for value in CANARY.values():
        assert value not in html
    with app.app_context():
        assert db.session.scalars(select(Disclosure)).all() == []


def test_search_by_nik_goes_to_the_client_without_the_nik_in_any_url(app, hub, world):
    browser = signed_in(app, hub, PPU)
    response = post(browser, "/clients/search", {"nik": CANARY["nik"]})
    assert response.status_code == 302
    assert response.headers["Location"] == f"http://localhost/clients/{world.client_id}"
    missing = post(browser, "/clients/search", {"nik": "6409999999999999"})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 200
    assert "Tidak ada klien unit Anda" in html
    assert "6409999999999999" not in html
    bad = post(browser, "/clients/search", {"nik": "123"})
    assert bad.status_code == 422
    assert field_error(bad.get_data(as_text=True), "nik")
    # Another unit's NIK search finds nothing.
    other = signed_in(app, hub, BONTANG)
    assert post(other, "/clients/search", {"nik": CANARY["nik"]}).status_code == 200


def test_search_by_code(app, hub, world):
    browser = signed_in(app, hub, PPU)
    response = post(browser, "/clients/search", {"code": world.client_code.lower()})
    assert response.headers["Location"] == f"http://localhost/clients/{world.client_id}"


def test_reading_a_client_shows_everything_and_is_logged(app, hub, world):
    browser = signed_in(app, hub, PPU)
    html = browser.get(f"/clients/{world.client_id}").get_data(as_text=True)
    for key in ("full_name", "nik", "phone", "address", "guardian_name", "giver_name"):
        assert CANARY[key] in html, key
    assert "Berlaku" in html  # the consent's status
    with app.app_context():
        reads = db.session.scalars(select(Disclosure).order_by(Disclosure.at)).all()
        kinds = {(r.kind, r.basis, tuple(r.categories)) for r in reads}
    assert ("read", "owner", ("demographics", "identity", "contact", "guardian")) in kinds
    assert ("read", "owner", ("guardian",)) in kinds  # the consent giver's name
    disclosures = browser.get(f"/clients/{world.client_id}/disclosures").get_data(as_text=True)
    assert "Unit pemilik data" in disclosures
    assert browser.user["email"] in disclosures
    assert CANARY["full_name"] not in disclosures


# --- registration ----------------------------------------------------------------------------


def test_register_a_child_with_a_guardian_flagged_as_alleged_perpetrator(app, hub):
    browser = signed_in(app, hub, PPU)
    response = post(browser, "/clients/new", _client_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        client = db.session.scalars(select(Client)).one()
        assert response.headers["Location"] == f"http://localhost/clients/{client.id}"
        assert client.nik == "6409011234567890"
        assert client.guardian["is_alleged_perpetrator"] is True
        assert client.is_child()
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Terduga pelaku." in page


def test_registration_errors_are_shown_beside_the_fields_and_nothing_is_lost(app, hub):
    browser = signed_in(app, hub, PPU)
    form = _client_form(nik="12345", domicile_region="Atlantis", full_name="")
    response = post(browser, "/clients/new", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "nik") == "NIK terdiri dari 16 angka."
    assert field_error(html, "full_name") == "Wajib diisi."
    assert "Atlantis" in field_error(html, "domicile_region")
    assert 'value="Atlantis"' in html
    assert 'value="0812-1111-2222"' in html
    with app.app_context():
        assert db.session.scalars(select(Client)).all() == []


def test_the_domicile_is_picked_by_name_and_stored_as_its_code(app, hub):
    browser = signed_in(app, hub, PPU)
    page = browser.get("/clients/new").get_data(as_text=True)
    # The picker: a labelled input tied to a list of named regions, no script needed.
    assert 'list="f-domicile_region-regions"' in page
    assert '<option value="Penajam (64.09.01)">' in page
    assert 'value="Kabupaten Penajam Paser Utara (64.09)"' in page  # the unit's own region

    ambiguous = post(browser, "/clients/new", _client_form(domicile_region="Probolinggo"))
    assert ambiguous.status_code == 422
    error = field_error(ambiguous.get_data(as_text=True), "domicile_region")
    assert "Kabupaten Probolinggo (35.13)" in error
    assert "Kota Probolinggo (35.74)" in error

    response = post(browser, "/clients/new", _client_form(domicile_region="kota balikpapan"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.scalars(select(Client)).one().domicile_region == "64.71"
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kota Balikpapan (64.71)" in page


def test_a_nik_registered_twice_points_to_the_existing_client(app, hub, world):
    browser = signed_in(app, hub, PPU)
    response = post(browser, "/clients/new", _client_form(nik=CANARY["nik"]))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "nik")
    assert f'href="/clients/{world.client_id}"' in html


# --- consent ---------------------------------------------------------------------------------


def test_consent_with_an_uploaded_scan_stores_only_its_hash(app, hub, world):
    browser = signed_in(app, hub, PPU)
    scan = b"%PDF-1.4 signed consent form of the mother"
    form = _consent_form(world, evidence_file=(io.BytesIO(scan), "formulir-ibu.pdf"))
    response = post(
        browser,
        f"/clients/{world.client_id}/consents/new",
        form,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    newest = max(_consents(app, world.client_id), key=lambda c: c.created_at)
    assert newest.evidence_sha256 == hashlib.sha256(scan).hexdigest()
    assert newest.child_assent is True
    assert newest.given_by == "parent"


@pytest.mark.parametrize(
    ("scan", "name"),
    [
        (b"\xff\xd8\xff\xe0 photo of the signed form", "foto.jpg"),
        (b"\x89PNG\r\n\x1a\n scan of the signed form", "pindaian.png"),
    ],
)
def test_consent_evidence_may_be_a_photo_or_a_scan(app, hub, world, scan, name):
    browser = signed_in(app, hub, PPU)
    path = f"/clients/{world.client_id}/consents/new"
    form = _consent_form(world, evidence_file=(io.BytesIO(scan), name))
    assert post(browser, path, form).status_code == 302
    newest = max(_consents(app, world.client_id), key=lambda c: c.created_at)
    assert newest.evidence_sha256 == hashlib.sha256(scan).hexdigest()


def test_consent_evidence_is_the_uploaded_form_and_nothing_typed(app, hub, world):
    browser = signed_in(app, hub, PPU)
    path = f"/clients/{world.client_id}/consents/new"
    page = browser.get(path).get_data(as_text=True)
    assert 'name="evidence_sha256"' not in page
    for word in ("SHA-256", "heksadesimal", "hash"):
        assert word not in page
    # A digest typed into the request is not evidence: the hub makes it from the file.
    typed = _consent_form(world, evidence_sha256="b" * 64)
    response = post(browser, path, typed)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "evidence_file")
    # Something that is no scan (a word document, a text) is refused beside the upload.
    other = _consent_form(world, evidence_file=(io.BytesIO(b"PK\x03\x04 docx"), "form.docx"))
    response = post(browser, path, other)
    assert response.status_code == 422
    assert "PDF, JPG atau PNG" in field_error(response.get_data(as_text=True), "evidence_file")
    assert len(_consents(app, world.client_id)) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"given_by": "client"}, "given_by"),  # a child cannot consent alone
        ({"giver_is_alleged_perpetrator": "1"}, "giver_is_alleged_perpetrator"),
        ({"child_assent": None}, "child_assent"),
        ({"giver_name": None}, "giver_name"),
    ],
)
def test_consent_rules_are_refused_beside_their_field(app, hub, world, changes, field):
    browser = signed_in(app, hub, PPU)
    form = _consent_form(world, evidence_file=_scan(), **changes)
    response = post(browser, f"/clients/{world.client_id}/consents/new", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, field), html[:3000]
    assert len(_consents(app, world.client_id)) == 1


def test_consent_from_the_guardian_recorded_as_perpetrator_is_refused(app, hub):
    browser = signed_in(app, hub, PPU)
    registered = post(browser, "/clients/new", _client_form())
    client_id = registered.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        from referral_hub.directory.operations import find_organization

        balikpapan = find_organization(BALIKPAPAN).id
    form = {
        "given_by": "parent",
        "giver_name": "Budi Contoh",
        "giver_relationship": "ayah kandung",
        "child_assent": "yes",
        "recipients": [balikpapan],
        "services": ["psychological_counseling"],
        "data_categories": ["identity"],
        "method": "written",
        "evidence_file": _scan(),
        "valid_until": (local_today() + dt.timedelta(days=30)).isoformat(),
    }
    page = browser.get(f"/clients/{client_id}/consents/new").get_data(as_text=True)
    assert "Wali yang tercatat adalah terduga pelaku." in page
    assert 'value="client"' not in page  # a child: the client cannot consent alone
    response = post(browser, f"/clients/{client_id}/consents/new", form)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "giver_name")


def test_withdrawal_needs_a_reason_then_a_confirmation_and_cancels_open_referrals(app, hub, world):
    browser = signed_in(app, hub, PPU)
    sent = post(browser, "/referrals/new", referral_form(world))
    assert sent.status_code == 302
    path = f"/clients/{world.client_id}/consents/{world.consent_id}/withdraw"
    page = browser.get(path).get_data(as_text=True)
    assert "RJ-PPU-" in page  # the open referral that will be cancelled is named
    empty = post(browser, path, {"reason": ""})
    assert empty.status_code == 422
    assert field_error(empty.get_data(as_text=True), "reason") == "Wajib diisi."
    asked = post(browser, path, {"reason": "klien menarik persetujuan"})
    assert asked.status_code == 200
    assert 'name="confirmed" value="1"' in asked.get_data(as_text=True)
    assert _consents(app, world.client_id)[0].withdrawn_at is None
    done = post(browser, path, {"reason": "klien menarik persetujuan", "confirmed": "1"})
    assert done.status_code == 302
    assert _consents(app, world.client_id)[0].withdrawn_at is not None
    with app.app_context():
        referral = db.session.scalars(select(Referral)).one()
        assert (referral.status, referral.status_reason) == ("cancelled", "consent_withdrawn")
    view = browser.get(f"/clients/{world.client_id}").get_data(as_text=True)
    assert "Dicabut" in view
    assert re.search(r"klien menarik persetujuan", view)


@pytest.mark.parametrize("typed", ["a" * 500, "Siti Aminah " * 45])
def test_a_too_long_name_search_says_it_is_too_long(app, hub, world, typed):
    browser = signed_in(app, hub, PPU)
    response = post(browser, "/clients/search", {"name": typed})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert field_error(html, "name")
    assert "terlalu panjang" in html
    assert "Ketik minimal 3 huruf" not in html
