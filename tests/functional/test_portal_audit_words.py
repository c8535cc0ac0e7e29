"""The audit log an Indonesian auditor reads: words, numbers and sentences, no machine codes.

No action code (`agreement.signed`), no 32-character hex id of an object that has a number,
no `categories: [...]`; filters by a client code, a referral or agreement number and a
person's e-mail or name, turned into ids on the server. An agreement's history says its
entries with the same words.
"""

from __future__ import annotations

import html as htmllib
import re

from sqlalchemy import select

from referral_hub.agreements.models import Agreement
from referral_hub.extensions import db
from referral_hub.portal.code_names import LABELS
from referral_hub.referrals.models import Referral
from tests.portal_sender_support import PPU, build_world, post, referral_form, signed_in

HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")


def _table_text(page: str) -> str:
    table = page.split("<table", 1)[1].split("</table>", 1)[0]
    text = htmllib.unescape(re.sub(r"<[^>]+>", "", "<table" + table))
    return re.sub(r"\s+", " ", text)


def _world_with_a_referral(app, hub):
    world = build_world(app)
    caseworker = signed_in(app, hub, PPU)
    assert post(caseworker, "/referrals/new", referral_form(world)).status_code == 302
    with app.app_context():
        number = db.session.scalar(select(Referral.number))
        agreement = db.session.get(Agreement, world.agreement_id).number
    return world, caseworker, number, agreement


def test_the_log_names_objects_by_their_numbers_and_says_details_in_sentences(app, hub):
    world, _caseworker, number, agreement = _world_with_a_referral(app, hub)
    admin = signed_in(app, hub, PPU, "org_admin")
    page = admin.get("/audit").get_data(as_text=True)
    text = _table_text(page)
    assert f"Rujukan {number}" in text
    assert f"Klien {world.client_code}" in text
    assert f"Perjanjian: {agreement}." in text
    assert "Kategori data: Identitas, Ringkasan kasus." in text
    assert HEX_ID.search(text) is None, HEX_ID.search(text)
    assert [code for code in LABELS["audit_action"] if code in text] == []
    assert "categories:" not in text
    assert "['" not in text


def test_the_filters_take_words_and_find_the_entries_about_them(app, hub):
    world, caseworker, number, agreement = _world_with_a_referral(app, hub)
    admin = signed_in(app, hub, PPU, "org_admin")

    by_referral = _table_text(admin.get(f"/audit?referral={number.lower()}").get_data(as_text=True))
    assert f"Rujukan {number}" in by_referral
    assert "Klien " + world.client_code not in by_referral.replace(
        f"Klien: {world.client_code}", ""
    )

    by_client = _table_text(admin.get(f"/audit?client={world.client_code}").get_data(as_text=True))
    assert f"Klien {world.client_code}" in by_client  # the client's own entries
    assert f"Rujukan {number}" in by_client  # and those of her referrals

    email = caseworker.user["email"]
    by_person = _table_text(admin.get(f"/audit?person={email}").get_data(as_text=True))
    assert "Rujukan dibuat" in by_person
    assert "Berhasil masuk" in by_person

    unknown = admin.get("/audit?referral=RJ-0000-999999&client=KS-NONE").get_data(as_text=True)
    assert "Tidak ada entri yang cocok." in unknown
    short = admin.get("/audit?person=ab").get_data(as_text=True)
    assert "Tidak ada entri yang cocok." in short

    by_agreement = admin.get(f"/audit?agreement={agreement}").get_data(as_text=True)
    assert "Tidak ada entri yang cocok." not in by_agreement


def test_the_agreement_history_says_its_entries_in_words(app, hub):
    world = build_world(app)
    admin = signed_in(app, hub, PPU, "org_admin")
    page = admin.get(f"/agreements/{world.agreement_id}").get_data(as_text=True)
    history = page.split('id="history-heading"', 1)[1]
    assert "Perjanjian disusun" in history
    assert "Perjanjian ditandatangani" in history
    assert "agreement.created" not in history
    assert "agreement.signed" not in history
