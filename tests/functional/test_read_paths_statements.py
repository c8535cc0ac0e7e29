"""The hot read paths' SQL statements, counted: an eager load added to a model shows here.

The inbox and coverage are the requests partners poll; each statement costs every poll.
The counts are pinned exactly (a fall is welcome, but update the number), and they must not
grow with the number of lines answered.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from referral_hub.extensions import db
from tests.agreements_support import build
from tests.referrals_support import BALIKPAPAN, PPU, Scenario

#: Token check, count of the box, the page (with sender, recipient and client joined).
INBOX_STATEMENTS = 3
#: Token check, the organisation asked about, the covering agreements (the service is
#: looked up only when nothing covers it: a covered service exists).
COVERAGE_STATEMENTS = 3
#: Token check, count, the page (parents joined), the services of the page's organisations,
#: and which of them are on the hub (one union of users and clients).
DIRECTORY_STATEMENTS = 5


@contextlib.contextmanager
def counted(app) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs."""
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _get(app, client, url: str, headers: dict[str, str]) -> tuple[dict, list[str]]:
    with counted(app) as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(), statements


@pytest.fixture
def scenario(app, client, hub) -> Scenario:
    return Scenario(app, client, hub)


@pytest.mark.commits  # counts statements: savepoints would add theirs
def test_inbox_is_three_statements_whatever_its_length(app, client, scenario):
    scenario.send()
    url = "/api/v1/referrals?box=received"
    client.get(url, headers=scenario.balikpapan)  # warm: first use of the token and pool
    body, one = _get(app, client, url, scenario.balikpapan)
    assert body["total"] == 1
    assert len(one) == INBOX_STATEMENTS, "\n".join(one)

    scenario.send()
    scenario.send()
    body, three = _get(app, client, url, scenario.balikpapan)
    assert body["total"] == 3
    assert {line["sender"]["code"] for line in body["items"]} == {PPU}
    assert {line["recipient"]["code"] for line in body["items"]} == {BALIKPAPAN}
    assert len(three) == INBOX_STATEMENTS, "\n".join(three)


@pytest.mark.commits  # counts statements: savepoints would add theirs
def test_coverage_is_three_statements_whatever_the_agreements(app, client, scenario):
    url = "/api/v1/coverage?service=psychological_counseling"
    client.get(url, headers=scenario.ppu)
    body, one = _get(app, client, url, scenario.ppu)
    assert [item["organization"]["code"] for item in body["items"]] == [BALIKPAPAN]
    assert len(one) == COVERAGE_STATEMENTS, "\n".join(one)

    with app.app_context():
        for number in ("TEST/PKS/002", "TEST/PKS/003"):
            build("active", number=number)
        db.session.remove()
    body, three = _get(app, client, url, scenario.ppu)
    assert len(body["items"]) == 3
    assert all(item["response_hours"] == 72 for item in body["items"])
    assert len(three) == COVERAGE_STATEMENTS, "\n".join(three)


def test_coverage_of_an_unknown_service_is_still_a_422(client, scenario):
    response = client.get("/api/v1/coverage?service=no_such_service", headers=scenario.ppu)
    assert response.status_code == 422
    assert "service" in response.get_json()["errors"]
    uncovered = client.get("/api/v1/coverage?service=legal_aid", headers=scenario.ppu)
    assert uncovered.status_code == 200
    assert uncovered.get_json()["items"] == []


@pytest.mark.commits  # counts statements: savepoints would add theirs
def test_directory_list_loads_the_services_of_a_page_at_once(app, client, hub):
    headers = hub.headers(PPU, "directory:read")
    client.get("/api/v1/organizations?page_size=2", headers=headers)
    small, few = _get(app, client, "/api/v1/organizations?page_size=2", headers)
    large, many = _get(app, client, "/api/v1/organizations?page_size=40", headers)
    assert len(small["items"]) == 2
    assert len(large["items"]) > 10
    assert any(org["services"] for org in large["items"])
    assert len(few) == DIRECTORY_STATEMENTS, "\n".join(few)
    assert len(many) == DIRECTORY_STATEMENTS, "\n".join(many)


@pytest.mark.commits  # counts statements: savepoints would add theirs
def test_a_send_reads_its_agreement_and_consent_once_under_their_lock(app, client, scenario):
    # The lock that keeps an ending agreement or a withdrawal from missing the new referral is
    # taken by the query that finds them (FOR SHARE on PostgreSQL), not by a second look-up.
    client.get("/api/v1/services", headers=scenario.ppu)  # warm: the token and the pool
    with counted(app) as statements:
        response = client.post("/api/v1/referrals", json=scenario.body(), headers=scenario.ppu)
    assert response.status_code == 201, response.get_data(as_text=True)
    agreement_reads = [s for s in statements if s.lstrip().startswith("SELECT agreements.id,")]
    consent_reads = [s for s in statements if s.lstrip().startswith("SELECT consents.id,")]
    assert len(agreement_reads) == 1, "\n".join(agreement_reads)
    assert len(consent_reads) == 1, "\n".join(consent_reads)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert "FOR SHARE" in agreement_reads[0]
        assert "FOR SHARE" in consent_reads[0]
