"""`GET /api/v1/referrals?sender_reference=`: a sender finds its referral by its own reference
(after a timeout, to learn whether the referral was made). A recipient never learns it."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from referral_hub.extensions import db
from tests.conftest import problem
from tests.referrals_support import Scenario

URL = "/api/v1/referrals"


@pytest.fixture
def s(app, client, hub) -> Scenario:
    return Scenario(app, client, hub)


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(item["id"] for item in response.get_json()["items"])


def test_the_sender_finds_its_referrals_by_its_own_reference(client, s):
    first = s.send(sender_reference="PPU/2026/0042")
    second = s.send(sender_reference="PPU/2026/0042")
    other = s.send(sender_reference="PPU/2026/0043")
    s.send(sender_reference=None)

    found = client.get(URL, query_string={"sender_reference": "PPU/2026/0042"}, headers=s.ppu)
    assert _ids(found) == sorted([first["id"], second["id"]])
    assert found.get_json()["total"] == 2
    found = client.get(
        URL, query_string={"box": "sent", "sender_reference": "PPU/2026/0043"}, headers=s.ppu
    )
    assert _ids(found) == [other["id"]]
    # Exact match: neither a prefix nor another case finds it.
    for near in ("PPU/2026/004", "ppu/2026/0042", "PPU/2026/0042 "):
        response = client.get(URL, query_string={"sender_reference": near}, headers=s.ppu)
        assert _ids(response) == [], near
    # The filter combines with the others.
    response = client.get(
        URL,
        query_string={"sender_reference": "PPU/2026/0042", "status": "accepted"},
        headers=s.ppu,
    )
    assert _ids(response) == []


def test_another_sender_does_not_find_them(client, s):
    s.send(sender_reference="PPU/2026/0042")
    response = client.get(
        URL, query_string={"sender_reference": "PPU/2026/0042"}, headers=s.operator
    )
    assert _ids(response) == []


def test_the_recipients_box_does_not_take_the_senders_reference(client, s):
    s.send(sender_reference="PPU/2026/0042")
    for reference in ("PPU/2026/0042", "unknown"):
        response = client.get(
            URL,
            query_string={"box": "received", "sender_reference": reference},
            headers=s.balikpapan,
        )
        assert response.status_code == 422, response.get_data(as_text=True)
        body = problem(response)
        assert "sender_reference" in body["errors"]
        # The same answer whether or not such a referral exists: nothing to probe.
        assert "PPU" not in response.get_data(as_text=True).replace(reference, "")
    # Its own inbox still lists the referral, without the sender's reference.
    inbox = client.get(URL, query_string={"box": "received"}, headers=s.balikpapan)
    assert len(_ids(inbox)) == 1
    assert "PPU/2026/0042" not in inbox.get_data(as_text=True)


@pytest.mark.parametrize("reference", ["", "x" * 101])
def test_a_reference_outside_the_stored_length_is_refused(client, s, reference):
    response = client.get(URL, query_string={"sender_reference": reference}, headers=s.ppu)
    assert response.status_code == 422
    assert "sender_reference" in problem(response)["errors"]


def test_the_lookup_is_an_index_range_scan(app):
    with app.app_context(), db.engine.connect() as connection:
        indexes = inspect(connection).get_indexes("referrals")
    assert ["sender_organization_id", "sender_reference"] in [i["column_names"] for i in indexes]
