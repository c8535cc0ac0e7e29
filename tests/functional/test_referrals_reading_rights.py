"""No personal data without the right to read it, and every read is a disclosure.

A referral's answer holds the client's personal data only for a caller that may read it: the
sender needs the right to read clients (`clients:read`), the recipient the right to read
referrals (`referrals:read`); anyone else gets the client's code and demographics. Whatever
personal data an answer does hold is logged as a read, exactly those categories.
"""

from __future__ import annotations

from referral_hub.categories import PERSONAL_CATEGORIES
from tests.clients_support import CANARY
from tests.referrals_support import BALIKPAPAN, CASE_CANARY, PPU, Scenario

ALL_CANARIES = {*CANARY.values(), *CASE_CANARY.values()}


def _reads(client, s, *, by: str | None = None) -> list[dict]:
    """The client's read disclosures, oldest first (listed with the owner's full token)."""
    items = client.get(f"/api/v1/clients/{s.client['id']}/disclosures", headers=s.ppu).get_json()[
        "items"
    ]
    reads = [d for d in reversed(items) if d["kind"] == "read"]
    return [d for d in reads if by is None or d["organization"]["code"] == by]


def _returned(view: dict) -> list[str]:
    """The personal-data categories a referral's answer holds, in the domain's order."""
    return [c for c in PERSONAL_CATEGORIES if view["client"].get(c)]


def test_a_send_answers_a_write_only_token_without_personal_data(app, client, hub):
    s = Scenario(app, client, hub)
    writer = hub.headers(PPU, "referrals:write")
    response = client.post("/api/v1/referrals", json=s.body(), headers=writer)
    assert response.status_code == 201, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    for canary in ALL_CANARIES:
        assert canary not in text, canary
    body = response.get_json()
    assert set(body["client"]) == {"code", "demographics"}
    assert body["client"]["code"] == s.client["code"]
    assert body["number"]
    assert body["status"] == "requested"
    # Nothing personal was answered, so nothing was read; the share to the recipient stays.
    assert _reads(client, s) == []
    shares = [
        d
        for d in client.get(
            f"/api/v1/clients/{s.client['id']}/disclosures", headers=s.ppu
        ).get_json()["items"]
        if d["kind"] == "share"
    ]
    assert [d["organization"]["code"] for d in shares] == [BALIKPAPAN]


def test_a_send_answers_a_reader_in_full_and_logs_exactly_that(app, client, hub):
    s = Scenario(app, client, hub)
    sender = hub.headers(PPU, "referrals:write clients:read")
    response = client.post("/api/v1/referrals", json=s.body(), headers=sender)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["client"]["identity"]["full_name"] == CANARY["full_name"]
    assert body["client"]["identity"]["nik"] == CANARY["nik"]
    assert body["client"]["contact"]["phone"] == CANARY["phone"]
    assert body["client"]["guardian"]["name"] == CANARY["guardian_name"]
    (read,) = _reads(client, s)
    assert read["organization"]["code"] == PPU
    assert read["basis"] == "owner"
    assert read["categories"] == _returned(body)
    assert read["categories"] == ["identity", "contact", "guardian", "case_summary"]
    assert read["context"] == f"referral:{body['number']} read"


def test_the_senders_read_logs_only_the_categories_it_shows(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send(data_categories=["identity"], case_data=None)
    detail = client.get(f"/api/v1/referrals/{referral['id']}", headers=s.ppu).get_json()
    last = _reads(client, s, by=PPU)[-1]
    # No case data travels with this referral: case_summary, health ... are not shown.
    assert last["categories"] == _returned(detail) == ["identity", "contact", "guardian"]


def test_the_sender_without_the_right_to_read_clients_gets_demographics(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send()
    before = len(_reads(client, s))
    for scopes in ("referrals:read", "referrals:read referrals:write"):
        headers = hub.headers(PPU, scopes)
        detail = client.get(f"/api/v1/referrals/{referral['id']}", headers=headers)
        assert detail.status_code == 200, detail.get_data(as_text=True)
        assert set(detail.get_json()["client"]) == {"code", "demographics"}
        for canary in ALL_CANARIES:
            assert canary not in detail.get_data(as_text=True), (scopes, canary)
        cancelled = client.post(
            f"/api/v1/referrals/{s.send()['id']}/cancel",
            json={"reason": "moved away"},
            headers=headers,
        )
        if "referrals:write" in scopes:
            assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
            assert set(cancelled.get_json()["client"]) == {"code", "demographics"}
    assert len(_reads(client, s)) == before + 2  # the two s.send() answers, nothing else


def test_the_recipient_without_the_right_to_read_referrals_gets_demographics(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send()
    responder = hub.headers(BALIKPAPAN, "referrals:respond")
    accepted = client.post(f"/api/v1/referrals/{referral['id']}/accept", json={}, headers=responder)
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    assert set(accepted.get_json()["client"]) == {"code", "demographics"}
    for canary in ALL_CANARIES:
        assert canary not in accepted.get_data(as_text=True), canary
    assert _reads(client, s, by=BALIKPAPAN) == []
    # With the right to read, the same recipient sees what was shared, and the read is logged.
    reader = hub.headers(BALIKPAPAN, "referrals:read")
    detail = client.get(f"/api/v1/referrals/{referral['id']}", headers=reader).get_json()
    assert detail["client"]["identity"]["full_name"] == CANARY["full_name"]
    (read,) = _reads(client, s, by=BALIKPAPAN)
    assert read["categories"] == _returned(detail) == ["identity", "case_summary"]
    assert read["basis"] == f"consent:{s.consent['id']}"


def test_a_consent_answers_a_write_only_token_without_the_givers_name(app, client, hub):
    s = Scenario(app, client, hub)
    writer = hub.headers(PPU, "clients:write")
    withdrawn = client.post(
        f"/api/v1/consents/{s.consent['id']}/withdraw",
        json={"reason": "the mother withdrew"},
        headers=writer,
    )
    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)
    assert withdrawn.get_json()["giver_name"] is None
    assert withdrawn.get_json()["status"] == "withdrawn"
    assert not [d for d in _reads(client, s) if "consent:" in d["context"]]
    # The owner's reader still sees it, and that read is logged.
    got = client.get(f"/api/v1/consents/{s.consent['id']}", headers=s.ppu).get_json()
    assert got["giver_name"] == "Ibu Kandung Klien"
    assert [d["categories"] for d in _reads(client, s) if "consent:" in d["context"]] == [
        ["guardian"]
    ]
