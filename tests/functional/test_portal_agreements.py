"""Perjanjian and Cakupan in the portal: the registry, drafting with ETags, signing,
documents, the lifecycle, the CSV export and the coverage matrix, for the roles that may."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import Agreement
from referral_hub.audit.models import AuditEntry
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.agreements_support import BALIKPAPAN, BONTANG, OPERATOR, PPU, actor, build, today
from tests.conftest import _csrf_from

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _browser(app, hub, org: str, role: str = "org_admin"):
    user = hub.user(org, role)
    browser = app.test_client()
    assert hub.login(browser, user["email"]).status_code == 302
    return browser


def _page(browser, path: str, status: int = 200) -> str:
    response = browser.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def _post(browser, path: str, data: dict, token_from: str, **kwargs):
    token = _csrf_from(browser.get(token_from).get_data(as_text=True))
    return browser.post(path, data={**data, "csrf_token": token}, **kwargs)


def _build(app, status: str = "active", **overrides) -> str:
    with app.app_context():
        agreement_id = build(status, **overrides)
        db.session.remove()
        return agreement_id


def _stored(app, agreement_id: str) -> dict:
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        out = {
            "status": ops.effective_status(agreement),
            "title": agreement.title,
            "signed": {s.organization.code for s in agreement.signatures},
            "documents": [d.filename for d in agreement.documents],
            "etag": ops.etag_of(agreement),
        }
        db.session.remove()
        return out


def _org_id(app, code: str) -> str:
    with app.app_context():
        return find_organization(code).id


def _draft_form(app, **changes) -> dict:
    start = today()
    form = {
        "kind": "pks",
        "number": "PKS/PORTAL/001",
        "title": "Konseling psikologis untuk klien PPU",
        "purpose": "Psikolog klinis Balikpapan memberikan konseling bagi klien UPTD PPA PPU.",
        "parties": [_org_id(app, PPU), _org_id(app, BALIKPAPAN)],
        "service_rows": "2",
        "service-0": "psychological_counseling",
        "provider-0": _org_id(app, BALIKPAPAN),
        "service-1": "",
        "provider-1": "",
        "data_categories": ["identity", "case_summary"],
        "effective_from": start.isoformat(),
        "expires_on": (start + dt.timedelta(days=365)).isoformat(),
        "response_hours": "72",
        "sig_name_rows": "1",
        "sig_name-0": "",
        "sig_title-0": "Kepala UPTD PPA PPU",
        "sig_org-0": _org_id(app, PPU),
        "notes": "",
    }
    form.update(changes)
    return form


# --- who may open the pages ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/agreements/new", "/webhooks"])
def test_a_caseworker_cannot_reach_the_administration_pages(app, hub, path):
    browser = _browser(app, hub, PPU, "caseworker")
    _page(browser, path, 403)


def test_a_caseworker_reads_the_agreements_as_the_api_allows_and_changes_none(app, hub):
    # agreements:read is every role's (referral_hub/permissions.py): a caseworker sends
    # referrals along these agreements, and an app acting for her may read them too.
    agreement_id = _build(app, "draft")
    caseworker = _browser(app, hub, PPU, "caseworker")
    assert "TEST/PKS/001" in _page(caseworker, "/agreements")
    _page(caseworker, "/coverage")
    _page(caseworker, "/agreements/export.csv")
    assert "Tandatangani" not in _page(caseworker, f"/agreements/{agreement_id}")
    signed = _post(caseworker, f"/agreements/{agreement_id}/sign", {}, "/agreements")
    assert signed.status_code == 403
    assert _stored(app, agreement_id)["status"] == "draft"


def test_a_supervisor_follows_and_signs_agreements_as_the_api_allows(app, hub):
    agreement_id = _build(app, "draft")
    supervisor = _browser(app, hub, PPU, "supervisor")
    assert "TEST/PKS/001" in _page(supervisor, "/agreements")
    assert "Tandatangani" in _page(supervisor, f"/agreements/{agreement_id}")
    _page(supervisor, "/coverage")


def test_another_organisations_agreement_is_404(app, hub):
    agreement_id = _build(app)
    bontang = _browser(app, hub, BONTANG)
    _page(bontang, f"/agreements/{agreement_id}", 404)
    assert "TEST/PKS/001" not in _page(bontang, "/agreements")
    response = _post(
        bontang, f"/agreements/{agreement_id}/terminate", {"terminate_reason": "x"}, "/agreements"
    )
    assert response.status_code == 404
    assert _stored(app, agreement_id)["status"] == "active"


def test_the_hub_operators_auditor_sees_every_agreement_but_changes_none(app, hub):
    agreement_id = _build(app, "draft")
    auditor = _browser(app, hub, OPERATOR, "auditor")
    assert "TEST/PKS/001" in _page(auditor, "/agreements")
    html = _page(auditor, f"/agreements/{agreement_id}")
    assert "Tandatangani" not in html
    assert "Susun perjanjian baru" not in html
    response = _post(auditor, f"/agreements/{agreement_id}/sign", {}, f"/agreements/{agreement_id}")
    assert response.status_code == 403
    assert _stored(app, agreement_id)["signed"] == set()


# --- the registry ------------------------------------------------------------------------------


def test_filters_and_the_expiring_soon_view(app, hub):
    soon = _build(app, "active", number="SOON/1", expires_on=today() + dt.timedelta(days=10))
    later = _build(app, "draft", number="LATER/1")
    browser = _browser(app, hub, PPU)
    everything = _page(browser, "/agreements")
    assert "SOON/1" in everything
    assert "LATER/1" in everything
    expiring = _page(browser, "/agreements?expiring_within_days=30")
    assert "SOON/1" in expiring
    assert "LATER/1" not in expiring
    assert "berakhir dalam 10 hari" in expiring
    assert "LATER/1" in _page(browser, "/agreements?status=draft")
    assert "SOON/1" not in _page(browser, "/agreements?status=draft")
    assert "SOON/1" in _page(browser, "/agreements?service=psychological_counseling&region=64")
    html = _page(browser, "/agreements?party=no-such-org", 422)
    assert 'id="f-party-error"' in html
    assert "tidak dikenal" in html
    html = _page(browser, "/agreements?region=Kaltim", 422)
    assert 'id="f-region-error"' in html
    assert soon
    assert later


def test_the_csv_export_keeps_the_filters_and_is_audited(app, hub):
    _build(app, "active", number="CSV/1")
    _build(app, "draft", number="CSV/2")
    browser = _browser(app, hub, PPU)
    html = _page(browser, "/agreements?status=draft")
    link = re.search(r'href="(/agreements/export\.csv[^"]*)"', html).group(1)
    assert "status=draft" in link
    response = browser.get(link.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert "CSV/2" in text
    assert "CSV/1" not in text
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "agreement.registry_exported")
        ).one()
        assert entry.detail["rows"] == 1
        db.session.remove()


# --- drafting ---------------------------------------------------------------------------------


def test_draft_an_agreement_with_service_rows(app, hub):
    browser = _browser(app, hub, PPU)
    form = _page(browser, "/agreements/new")
    assert 'name="service-0"' in form
    assert 'name="provider-0"' in form
    response = _post(browser, "/agreements/new", _draft_form(app), "/agreements/new")
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    with app.app_context():
        agreement = db.session.scalars(select(Agreement)).one()
        assert agreement.status == "draft"
        assert [(s.service_code, s.provider.code) for s in agreement.services] == [
            ("psychological_counseling", BALIKPAPAN)
        ]
        assert agreement.data_categories == ["demographics", "identity", "case_summary"]
        assert agreement.signatories[0]["title"] == "Kepala UPTD PPA PPU"
        db.session.remove()


def test_add_a_service_row_without_losing_what_was_typed(app, hub):
    browser = _browser(app, hub, PPU)
    data = _draft_form(app, add_services="1")
    response = _post(browser, "/agreements/new", data, "/agreements/new")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="service-3"' in html  # two sent, one spare, one added
    assert 'value="PKS/PORTAL/001"' in html


def test_a_provider_outside_the_parties_is_shown_beside_its_row(app, hub):
    browser = _browser(app, hub, PPU)
    data = _draft_form(app, **{"provider-0": _org_id(app, BONTANG)})
    response = _post(browser, "/agreements/new", data, "/agreements/new")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'id="f-provider-0-error">(.*?)</p>', html, re.S)
    assert error
    assert "bukan pihak" in error.group(1)
    assert 'value="PKS/PORTAL/001"' in html  # nothing lost


def test_missing_fields_are_shown_beside_them(app, hub):
    browser = _browser(app, hub, PPU)
    data = _draft_form(app, title="", response_hours="9999", **{"service-0": ""})
    response = _post(browser, "/agreements/new", data, "/agreements/new")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("title", "response_hours", "service-0"):
        assert f'id="f-{field}-error"' in html, field


def test_a_draft_changed_by_someone_else_is_not_overwritten_silently(app, hub):
    agreement_id = _build(app, "draft")
    browser = _browser(app, hub, PPU)
    page = _page(browser, f"/agreements/{agreement_id}/edit")
    etag = re.search(r'name="etag" value="([^"]+)"', page).group(1)
    token = _csrf_from(page)
    with app.app_context():  # a colleague at Balikpapan changes the title meanwhile
        ops.update_agreement(
            actor(BALIKPAPAN),
            agreement_id,
            {"title": "Judul dari Balikpapan"},
            if_match=f'"{etag}"',
        )
        db.session.commit()
    data = {**_draft_form(app, title="Judul dari PPU", number="TEST/PKS/001"), "etag": etag}
    response = browser.post(f"/agreements/{agreement_id}/edit", data={**data, "csrf_token": token})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "diubah oleh orang lain" in html
    assert "Judul dari Balikpapan" in html  # what is stored now
    assert 'value="Judul dari PPU"' in html  # what the user typed, kept
    assert _stored(app, agreement_id)["title"] == "Judul dari Balikpapan"
    fresh = re.search(r'name="etag" value="([^"]+)"', html).group(1)
    response = browser.post(
        f"/agreements/{agreement_id}/edit",
        data={**data, "etag": fresh, "csrf_token": _csrf_from(html)},
    )
    assert response.status_code == 302
    assert _stored(app, agreement_id)["title"] == "Judul dari PPU"


# --- signing, documents and the lifecycle --------------------------------------------------------


def test_sign_and_the_second_party_brings_it_into_force(app, hub):
    agreement_id = _build(app, "draft")
    browser = _browser(app, hub, PPU)
    detail = f"/agreements/{agreement_id}"
    html = _page(browser, detail)
    assert "Tandatangani" in html
    response = _post(browser, f"{detail}/sign", {"content_sha256": _content_hash(html)}, detail)
    assert response.status_code == 302
    html = _page(browser, detail)
    assert "Tandatangani" not in html
    assert "Ubah draf" not in html
    assert _stored(app, agreement_id)["signed"] == {PPU}
    with app.app_context():
        ops.sign_agreement(actor(BALIKPAPAN), agreement_id)
        db.session.commit()
    html = _page(browser, detail)
    assert 'badge-active">Berlaku' in html
    assert html.count('class="hash-value"') >= 3  # current content and both signatures


def _content_hash(html: str) -> str:
    return re.search(r'name="content_sha256" value="([0-9a-f]{64})"', html).group(1)


def test_signing_content_that_changed_since_it_was_read_is_refused(app, hub):
    agreement_id = _build(app, "draft")
    browser = _browser(app, hub, PPU)
    detail = f"/agreements/{agreement_id}"
    seen = _content_hash(_page(browser, detail))
    with app.app_context():
        current = ops.etag_of(db.session.get(Agreement, agreement_id))
        ops.update_agreement(
            actor(BALIKPAPAN), agreement_id, {"response_hours": 24}, if_match=current
        )
        db.session.commit()
    response = _post(browser, f"{detail}/sign", {"content_sha256": seen}, detail)
    assert response.status_code == 409
    assert "Isi perjanjian berubah" in response.get_data(as_text=True)
    assert _stored(app, agreement_id)["signed"] == set()


def test_upload_a_pdf_and_download_it(app, hub):
    agreement_id = _build(app, "active")
    browser = _browser(app, hub, PPU)
    detail = f"/agreements/{agreement_id}"
    response = _post(
        browser,
        f"{detail}/documents",
        {"file": (io.BytesIO(PDF), "PKS ditandatangani.pdf")},
        detail,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    html = _page(browser, detail)
    link = re.search(r'href="(/agreements/[^"]+/documents/[^"]+)"', html).group(1)
    download = browser.get(link)
    assert download.status_code == 200
    assert download.get_data() == PDF
    assert download.mimetype == "application/pdf"


def test_a_file_that_is_not_a_pdf_is_refused_beside_the_field(app, hub):
    agreement_id = _build(app, "active")
    browser = _browser(app, hub, PPU)
    detail = f"/agreements/{agreement_id}"
    response = _post(
        browser,
        f"{detail}/documents",
        {"file": (io.BytesIO(b"MZ not a pdf"), "scan.pdf")},
        detail,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f-file-error"' in html
    assert "Bukan PDF" in html
    assert _stored(app, agreement_id)["documents"] == []


def test_terminate_needs_a_reason(app, hub):
    agreement_id = _build(app, "active")
    browser = _browser(app, hub, PPU)
    detail = f"/agreements/{agreement_id}"
    response = _post(browser, f"{detail}/terminate", {"terminate_reason": " "}, detail)
    assert response.status_code == 422
    assert 'id="f-terminate_reason-error"' in response.get_data(as_text=True)
    assert _stored(app, agreement_id)["status"] == "active"
    response = _post(
        browser, f"{detail}/terminate", {"terminate_reason": "Diganti kerja sama baru"}, detail
    )
    assert response.status_code == 302
    assert _stored(app, agreement_id)["status"] == "terminated"
    assert "Diganti kerja sama baru" in _page(browser, detail)


def test_suspend_resume_and_renew(app, hub):
    agreement_id = _build(app, "active")
    browser = _browser(app, hub, PPU)
    detail = f"/agreements/{agreement_id}"
    assert (
        _post(browser, f"{detail}/suspend", {"suspend_reason": "evaluasi"}, detail).status_code
        == 302
    )
    assert _stored(app, agreement_id)["status"] == "suspended"
    assert _post(browser, f"{detail}/resume", {}, detail).status_code == 302
    assert _stored(app, agreement_id)["status"] == "active"
    response = _post(browser, f"{detail}/renew", {}, detail)
    assert response.status_code == 302
    renewal = response.headers["Location"].rsplit("/", 1)[1]
    assert renewal != agreement_id
    assert _stored(app, renewal)["status"] == "draft"
    assert "Diperpanjang oleh" in _page(browser, detail)


def test_a_lifecycle_action_on_a_stale_page_says_someone_else_changed_it(app, hub):
    agreement_id = _build(app, "active")
    browser = _browser(app, hub, PPU)
    detail = f"/agreements/{agreement_id}"
    html = _page(browser, detail)
    etag = re.search(r'name="etag" value="([^"]+)"', html).group(1)
    with app.app_context():
        ops.suspend_agreement(actor(BALIKPAPAN), agreement_id, reason="audit")
        db.session.commit()
    response = browser.post(
        f"{detail}/suspend", data={"etag": etag, "csrf_token": _csrf_from(html)}
    )
    assert response.status_code == 409
    assert "diubah oleh orang lain" in response.get_data(as_text=True)


def test_a_form_without_the_csrf_token_changes_nothing(app, hub):
    agreement_id = _build(app, "active")
    browser = _browser(app, hub, PPU)
    _page(browser, "/agreements")
    response = browser.post(f"/agreements/{agreement_id}/terminate", data={"terminate_reason": "x"})
    assert response.status_code == 400
    assert _stored(app, agreement_id)["status"] == "active"


# --- coverage ------------------------------------------------------------------------------


def test_the_coverage_matrix_shows_the_gap_and_then_the_cover(app, hub):
    browser = _browser(app, hub, PPU)
    html = _page(browser, "/coverage")
    row = re.search(r"<tr>\s*<th scope=\"row\">Konseling psikologis</th>(.*?)</tr>", html, re.S)
    assert row
    assert "cell-gap" in row.group(1)
    assert "celah cakupan" in html
    _build(app, "active")
    html = _page(browser, "/coverage")
    row = re.search(r"<tr>\s*<th scope=\"row\">Konseling psikologis</th>(.*?)</tr>", html, re.S)
    assert "cell-covered" in row.group(1)
    assert "UPTD PPA Kota Balikpapan" in row.group(1)


def test_the_hub_operator_sees_a_regions_units(app, hub):
    _build(app, "active")
    browser = _browser(app, hub, OPERATOR, "auditor")
    html = _page(browser, "/coverage?region=64&type=uptd_ppa")
    for name in ("Penajam Paser Utara", "Balikpapan", "Bontang"):
        assert name in html
    _page(browser, "/coverage?region=Kaltim", 422)


def test_regions_are_picked_by_name_and_shown_with_their_names(app, hub):
    agreement_id = _build(app, "active")
    operator = _browser(app, hub, OPERATOR, "auditor")
    # No region asked: the operator's own (its province), shown by name in the picker.
    html = _page(operator, "/coverage")
    assert 'value="Kalimantan Timur (64)"' in html
    assert "UPTD PPA Kota Balikpapan" in html
    html = _page(operator, "/coverage?region=Kota+Balikpapan&type=uptd_ppa")
    assert "UPTD PPA Kota Balikpapan" in html
    assert "Penajam Paser Utara" not in html.split("<table", 1)[-1]

    admin = _browser(app, hub, PPU)
    assert "TEST/PKS/001" in _page(admin, "/agreements?region=Penajam+Paser+Utara")
    assert "TEST/PKS/001" not in _page(admin, "/agreements?region=Kota+Yogyakarta")
    detail = _page(admin, f"/agreements/{agreement_id}")
    assert "Kabupaten Penajam Paser Utara (64.09)" in detail
    assert "Kota Balikpapan (64.71)" in detail
    csv_text = _page(admin, "/agreements/export.csv")
    header, row = csv_text.lstrip("\ufeff").splitlines()[:2]
    assert "Wilayah para pihak" in header.split(",")
    assert "UPTD PPA Kabupaten Penajam Paser Utara: Kabupaten Penajam Paser Utara (64.09)" in row
