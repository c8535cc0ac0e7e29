"""The audit page's verification says what failed in words: objects by their numbers, fields
by their names, the chain's break as a sentence; never a hex id (issue 17, item 3)."""

from __future__ import annotations

import re

from sqlalchemy import select, text, update

from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.functional import test_audit_chain, test_audit_checkpoints
from tests.portal_sender_support import PPU, signed_in
from tests.referrals_support import Scenario

HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")


# The log emptied before each test (an autouse fixture) and tampered with as the chain's own
# tests do.
_empty_log = test_audit_checkpoints._empty_log
_tampering = test_audit_chain._tampering


def _failures(html: str) -> str:
    start = html.index('id="verification"')
    return html[start : html.index("</div>", start)]


def test_a_changed_referral_and_consent_are_named_by_their_numbers(app, client, hub):
    scenario = Scenario(app, client, hub)
    referral = scenario.send()
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(Referral.__table__)
            .where(Referral.id == referral["id"])
            .values(data_categories=["demographics", "identity", "case_summary", "health"])
        )
        number = conn.scalar(select(Referral.number).where(Referral.id == referral["id"]))
    auditor = signed_in(app, hub, PPU, "auditor")
    html = auditor.get("/audit/verify").get_data(as_text=True)
    said = _failures(html)
    assert "Rantai rusak" in said
    assert f"Rujukan {number}" in said
    assert "Kategori data" in said
    assert "data_categories" not in said
    assert referral["id"] not in html
    assert not HEX_ID.search(said), said


def test_a_broken_chain_is_said_in_words(app, client, hub):
    scenario = Scenario(app, client, hub)
    scenario.send()
    with _tampering(app) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 2"))
    auditor = signed_in(app, hub, PPU, "auditor")
    said = _failures(auditor.get("/audit/verify").get_data(as_text=True))
    assert "Entri nomor 2 hilang dari rantai." in said
    assert "is missing" not in said
    assert not HEX_ID.search(said), said


def test_the_failures_read_in_english_too(app, client, hub):
    scenario = Scenario(app, client, hub)
    referral = scenario.send()
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(Referral.__table__)
            .where(Referral.id == referral["id"])
            .values(data_categories=["demographics", "identity", "case_summary", "health"])
        )
    auditor = signed_in(app, hub, PPU, "auditor")
    with auditor.session_transaction() as session:
        session["locale"] = "en"
    html = auditor.get("/audit/verify").get_data(as_text=True)
    said = _failures(html)
    assert "Referral RJ-" in said, said
    assert "Data categories" in said
    assert not HEX_ID.search(said), said
