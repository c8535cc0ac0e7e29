"""Paper signatures in the portal: PPU's admin records Polres's paper signature with the scan,
the registry shows how each party signed, and Polres's admin confirms or disputes it."""

from __future__ import annotations

import io

from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import Agreement
from referral_hub.extensions import db
from tests.agreements_support import OPERATOR, PPU, actor, content, today
from tests.functional.test_portal_agreements import PDF, _browser, _page, _post
from tests.orgs import POLRES


def _polres_draft(app, *, ppu_signs: bool = True) -> str:
    with app.app_context():
        agreement = ops.create_agreement(
            actor(PPU),
            content(
                number="PKS/003/2026",
                parties=[PPU, POLRES],
                services=[{"service": "law_enforcement", "provider": POLRES}],
                signatories=[],
            ),
        )
        if ppu_signs:
            ops.sign_agreement(actor(PPU), agreement.id)
        db.session.commit()
        agreement_id = agreement.id
        db.session.remove()
    return agreement_id


def _record(browser, agreement_id, *, party=POLRES, file=None, signed_on=None):
    detail = f"/agreements/{agreement_id}"
    data = {
        "party": party,
        "signed_on": signed_on or today().isoformat(),
        "signatory_name": "",
        "signatory_title": "Kapolres Penajam Paser Utara",
    }
    if file is not False:
        data["file"] = file or (io.BytesIO(PDF), "pks-polres.pdf")
    return _post(
        browser,
        f"{detail}/signatures",
        data,
        detail,
        content_type="multipart/form-data",
    )


def _status(app, agreement_id):
    with app.app_context():
        status = ops.effective_status(db.session.get(Agreement, agreement_id))
        db.session.remove()
        return status


def test_ppu_admin_records_polres_paper_signature_and_the_agreement_is_active(app, hub):
    agreement_id = _polres_draft(app)
    browser = _browser(app, hub, PPU)
    html = _page(browser, f"/agreements/{agreement_id}")
    assert "Catat tanda tangan di atas kertas" in html
    response = _record(browser, agreement_id)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _status(app, agreement_id) == "active"
    html = _page(browser, f"/agreements/{agreement_id}")
    assert "ditandatangani di hub" in html
    assert "di atas kertas (dicatat oleh UPTD PPA" in html
    assert "Pindaian bertanda tangan" in html
    assert "Catat tanda tangan di atas kertas" not in html


def test_the_form_refuses_a_non_pdf_and_a_missing_scan_beside_the_field(app, hub):
    agreement_id = _polres_draft(app)
    browser = _browser(app, hub, PPU)
    not_pdf = _record(browser, agreement_id, file=(io.BytesIO(b"GIF89a"), "scan.pdf"))
    assert not_pdf.status_code == 422
    assert "bukan PDF" in not_pdf.get_data(as_text=True)
    missing = _record(browser, agreement_id, file=False)
    assert missing.status_code == 422
    assert "Pilih berkas PDF" in missing.get_data(as_text=True)
    assert _status(app, agreement_id) == "draft"


def test_own_organisation_on_paper_is_refused_in_the_page(app, hub):
    agreement_id = _polres_draft(app, ppu_signs=False)
    browser = _browser(app, hub, PPU)
    response = _record(browser, agreement_id, party=PPU)
    assert response.status_code == 422
    assert _status(app, agreement_id) == "draft"


def test_a_supervisor_does_not_record_paper_signatures(app, hub):
    agreement_id = _polres_draft(app)
    browser = _browser(app, hub, PPU, role="supervisor")
    assert "Catat tanda tangan di atas kertas" not in _page(browser, f"/agreements/{agreement_id}")
    assert _record(browser, agreement_id).status_code == 403


def test_the_hub_operator_admin_records_one(app, hub):
    agreement_id = _polres_draft(app)
    browser = _browser(app, hub, OPERATOR)
    response = _record(browser, agreement_id)
    assert response.status_code == 302
    assert _status(app, agreement_id) == "active"


def test_polres_admin_sees_confirm_and_dispute_and_a_dispute_suspends(app, hub):
    agreement_id = _polres_draft(app)
    ppu = _browser(app, hub, PPU)
    assert _record(ppu, agreement_id).status_code == 302
    polres = _browser(app, hub, POLRES)
    detail = f"/agreements/{agreement_id}"
    html = _page(polres, detail)
    assert "Konfirmasi tanda tangan" in html
    assert "Sanggah tanda tangan" in html
    empty = _post(polres, f"{detail}/signatures/{POLRES}/dispute", {"dispute_reason": ""}, detail)
    assert empty.status_code == 422
    disputed = _post(
        polres,
        f"{detail}/signatures/{POLRES}/dispute",
        {"dispute_reason": "Naskah ini belum pernah ditandatangani Kapolres"},
        detail,
    )
    assert disputed.status_code == 302
    assert _status(app, agreement_id) == "suspended"
    html = _page(polres, detail)
    assert "Disanggah: Naskah ini belum pernah ditandatangani Kapolres" in html
    # PPU's admin cannot answer for Polres.
    refused = _post(ppu, f"{detail}/signatures/{POLRES}/confirm", {}, detail)
    assert refused.status_code == 403
    confirmed = _post(polres, f"{detail}/signatures/{POLRES}/confirm", {}, detail)
    assert confirmed.status_code == 302
    assert "Dikonfirmasi pihak itu" in _page(polres, detail)


def test_the_pages_speak_english_too(app, hub):
    agreement_id = _polres_draft(app)
    browser = _browser(app, hub, PPU)
    assert _record(browser, agreement_id).status_code == 302
    detail = f"/agreements/{agreement_id}"
    assert _post(browser, "/language", {"locale": "en", "next": detail}, detail).status_code == 302
    html = _page(browser, detail)
    assert "on paper (recorded by" in html
    assert "signed on the hub" in html
