"""The agreements API over HTTP: drafting, bad input, ETags, signing, visibility, registry."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.agreements_support import (
    BALIKPAPAN,
    BONTANG,
    OPERATOR,
    PPU,
    Tokens,
    as_json,
    content,
)
from tests.conftest import problem

URL = "/api/v1/agreements"


@pytest.fixture
def tokens(hub) -> Tokens:
    return Tokens(hub)


def _create(client, tokens, org=PPU, **overrides):
    response = client.post(URL, json=as_json(content(**overrides)), headers=tokens(org))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response


def _sign(client, tokens, agreement_id, org):
    return client.post(f"{URL}/{agreement_id}/sign", headers=tokens(org))


def _nothing_stored(client, tokens):
    listed = client.get(URL, headers=tokens(OPERATOR, "agreements:read")).get_json()
    assert listed["total"] == 0
    audit = client.get(
        "/api/v1/audit?object_type=agreement", headers=tokens(OPERATOR, "audit:read")
    ).get_json()
    assert audit["total"] == 0


def test_draft_is_created_with_etag_location_and_implied_demographics(client, tokens):
    response = _create(client, tokens)
    body = response.get_json()
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["supersedes"] is None
    assert [p["code"] for p in body["parties"]] == [PPU, BALIKPAPAN]
    assert body["services"] == [
        {
            "service": "psychological_counseling",
            "provider": {
                "id": body["parties"][1]["id"],
                "code": BALIKPAPAN,
                "name": body["parties"][1]["name"],
                "type": "uptd_ppa",
            },
        }
    ]
    assert body["data_categories"] == ["demographics", "case_summary", "health"]
    assert {p["code"] for p in body["awaiting_signature_from"]} == {PPU, BALIKPAPAN}
    assert body["signatories"][0]["organization"]["code"] == PPU
    assert len(body["content_sha256"]) == 64
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Location"].endswith(f"{URL}/{body['id']}")
    fetched = client.get(f"{URL}/{body['id']}", headers=tokens(BALIKPAPAN))
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == response.headers["ETag"]
    unchanged = client.get(
        f"{URL}/{body['id']}",
        headers={**tokens(BALIKPAPAN), "If-None-Match": response.headers["ETag"]},
    )
    assert unchanged.status_code == 304
    assert unchanged.get_data() == b""


def _shift(days: int) -> dt.date:
    return dt.date.today() + dt.timedelta(days=days)


BAD_INPUT = {
    "expires_on before effective_from": (
        {"effective_from": _shift(10), "expires_on": _shift(5)},
        422,
        "expires_on",
    ),
    "expires_on equal to effective_from": (
        {"effective_from": _shift(10), "expires_on": _shift(10)},
        422,
        "expires_on",
    ),
    "unknown service": (
        {"services": [{"service": "astrology", "provider": BALIKPAPAN}]},
        422,
        "services",
    ),
    "unknown data category": ({"data_categories": ["health", "horoscope"]}, 422, "data_categories"),
    "provider not a party": (
        {"services": [{"service": "law_enforcement", "provider": "polres-ppu"}]},
        422,
        "services",
    ),
    "provider does not offer the service": (
        {"services": [{"service": "psychological_counseling", "provider": PPU}]},
        422,
        "services",
    ),
    "party list without the caller": ({"parties": [BALIKPAPAN, BONTANG]}, 422, "parties"),
    "unknown party": ({"parties": [PPU, "uptd-ppa-atlantis"]}, 422, "parties"),
    "one party only": ({"parties": [PPU]}, 422, "parties"),
    "the same party twice": ({"parties": [PPU, PPU]}, 422, "parties"),
    "the hub operator as a party": ({"parties": [PPU, BALIKPAPAN, OPERATOR]}, 422, "parties"),
    "signatory of no party": (
        {"signatories": [{"title": "Kapolres", "organization": "polres-ppu"}]},
        422,
        "signatories",
    ),
    "response hours zero": ({"response_hours": 0}, 422, "response_hours"),
    "response hours absurd": ({"response_hours": 100_000}, 422, "response_hours"),
    "unknown kind": ({"kind": "handshake"}, 422, "kind"),
    "term of a century": ({"expires_on": _shift(36500)}, 422, "expires_on"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_with_field_errors_and_nothing_stored(client, tokens, case):
    overrides, status, field = BAD_INPUT[case]
    response = client.post(URL, json=as_json(content(**overrides)), headers=tokens(PPU))
    assert response.status_code == status
    body = problem(response)
    assert field in body["errors"], body
    _nothing_stored(client, tokens)


def test_unknown_and_missing_fields_are_422(client, tokens):
    body = as_json(content())
    response = client.post(URL, json={**body, "approved": True}, headers=tokens(PPU))
    assert response.status_code == 422
    assert "approved" in problem(response)["errors"]
    del body["parties"]
    response = client.post(URL, json=body, headers=tokens(PPU))
    assert "parties" in problem(response)["errors"]
    _nothing_stored(client, tokens)


def test_wrong_content_type_and_malformed_json(client, tokens):
    response = client.post(
        URL,
        data="kind=mou",
        content_type="application/x-www-form-urlencoded",
        headers=tokens(PPU),
    )
    assert response.status_code == 415
    problem(response)
    response = client.post(
        URL, data='{"kind": "mou",', content_type="application/json", headers=tokens(PPU)
    )
    assert response.status_code == 400
    assert problem(response)["type"].endswith("/malformed-json")
    _nothing_stored(client, tokens)


def test_huge_page_numbers_and_unknown_filters_are_422(client, tokens):
    for query in ("page=99999999", "page_size=1000", "colour=red", "status=pending"):
        response = client.get(f"{URL}?{query}", headers=tokens(PPU))
        assert response.status_code == 422, query
        problem(response)
    response = client.get(f"{URL}/x/history?page=99999999", headers=tokens(PPU))
    assert response.status_code == 422


def test_writing_needs_the_write_scope(client, tokens):
    response = client.post(URL, json=as_json(content()), headers=tokens(PPU, "agreements:read"))
    assert response.status_code == 403
    assert problem(response)["type"].endswith("/insufficient-scope")


def test_duplicate_number_among_the_same_parties(client, tokens):
    _create(client, tokens, number="440/12/PKS-DP3A")
    for number in ("440/12/PKS-DP3A", " 440/12/pks-dp3a "):
        response = client.post(
            URL, json=as_json(content(number=number)), headers=tokens(BALIKPAPAN)
        )
        assert response.status_code == 409
        body = problem(response)
        assert body["type"].endswith("/duplicate-agreement-number")
        assert "number" in body["errors"]
    # The same number between other parties is another agreement.
    _create(
        client,
        tokens,
        number="440/12/PKS-DP3A",
        parties=[PPU, "polres-ppu"],
        services=[{"service": "law_enforcement", "provider": "polres-ppu"}],
        signatories=[],
    )
    listed = client.get(URL, headers=tokens(PPU)).get_json()
    assert listed["total"] == 2


def test_a_withdrawn_draft_frees_its_number(client, tokens):
    first = _create(client, tokens, number="PKS/7").get_json()
    response = client.post(
        f"{URL}/{first['id']}/terminate", json={"reason": "wrong annex"}, headers=tokens(PPU)
    )
    assert response.get_json()["status"] == "terminated"
    _create(client, tokens, number="PKS/7")


def test_patch_needs_if_match_and_refuses_stale_etags(client, tokens):
    created = _create(client, tokens)
    agreement_id, etag = created.get_json()["id"], created.headers["ETag"]
    url = f"{URL}/{agreement_id}"
    response = client.patch(url, json={"response_hours": 48}, headers=tokens(PPU))
    assert response.status_code == 428
    problem(response)
    response = client.patch(
        url, json={"response_hours": 48}, headers={**tokens(PPU), "If-Match": '"stale"'}
    )
    assert response.status_code == 412
    problem(response)
    response = client.patch(
        url,
        json={"response_hours": 48, "notes": "Konseling di Balikpapan atau kunjungan"},
        headers={**tokens(BALIKPAPAN), "If-Match": etag},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["response_hours"] == 48
    assert response.headers["ETag"] != etag
    # The old ETag no longer matches: the change cannot be overwritten blindly.
    response = client.patch(
        url, json={"response_hours": 24}, headers={**tokens(PPU), "If-Match": etag}
    )
    assert response.status_code == 412
    response = client.patch(
        url, json={"expires_on": "2000-01-01"}, headers={**tokens(PPU), "If-Match": "*"}
    )
    assert response.status_code == 422
    assert "expires_on" in problem(response)["errors"]
    response = client.patch(
        url, json={"parties": [BALIKPAPAN, BONTANG]}, headers={**tokens(PPU), "If-Match": "*"}
    )
    assert response.status_code == 422
    assert client.get(url, headers=tokens(PPU)).get_json()["response_hours"] == 48


def test_no_edit_after_a_signature_and_no_second_signature(client, tokens):
    created = _create(client, tokens).get_json()
    url = f"{URL}/{created['id']}"
    signed = _sign(client, tokens, created["id"], PPU)
    assert signed.status_code == 200
    body = signed.get_json()
    assert body["status"] == "draft"
    assert [s["organization"]["code"] for s in body["signatures"]] == [PPU]
    assert body["signatures"][0]["content_sha256"] == body["content_sha256"]
    assert [p["code"] for p in body["awaiting_signature_from"]] == [BALIKPAPAN]

    response = client.patch(
        url,
        json={"title": "Judul lain"},
        headers={**tokens(BALIKPAPAN), "If-Match": signed.headers["ETag"]},
    )
    assert response.status_code == 409
    assert problem(response)["type"].endswith("/agreement-locked")

    response = _sign(client, tokens, created["id"], PPU)
    assert response.status_code == 409
    assert problem(response)["type"].endswith("/already-signed")

    response = _sign(client, tokens, created["id"], BONTANG)
    assert response.status_code == 404
    problem(response)

    response = client.post(f"{url}/sign", headers={**tokens(BALIKPAPAN), "If-Match": '"old"'})
    assert response.status_code == 412
    response = client.post(f"{url}/sign", headers={**tokens(BALIKPAPAN), "If-Match": "*"})
    assert response.get_json()["status"] == "active"
    assert client.get(url, headers=tokens(PPU)).get_json()["title"] == created["title"]


def test_visibility_for_party_outsider_and_auditor(client, tokens):
    created = _create(client, tokens).get_json()
    url = f"{URL}/{created['id']}"
    for org in (PPU, BALIKPAPAN, OPERATOR):
        assert client.get(url, headers=tokens(org)).status_code == 200, org
        assert client.get(f"{url}/history", headers=tokens(org)).status_code == 200, org
        assert client.get(URL, headers=tokens(org)).get_json()["total"] == 1, org

    # Another UPTD cannot see the agreement at all, on any route.
    for method, path, body in (
        ("get", url, None),
        ("get", f"{url}/history", None),
        ("patch", url, {"title": "x"}),
        ("post", f"{url}/sign", None),
        ("post", f"{url}/suspend", {}),
        ("post", f"{url}/resume", {}),
        ("post", f"{url}/terminate", {"reason": "x"}),
        ("post", f"{url}/renew", {}),
        ("get", f"{url}/documents/whatever", None),
    ):
        headers = {**tokens(BONTANG), "If-Match": "*"}
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 404, (method, path)
        assert created["number"] not in response.get_data(as_text=True)
    assert client.get(URL, headers=tokens(BONTANG)).get_json()["total"] == 0
    csv_text = client.get(f"{URL}/export.csv", headers=tokens(BONTANG)).get_data(as_text=True)
    assert created["id"] not in csv_text

    # The hub operator audits: it reads everything but signs and changes nothing.
    for method, path, body in (
        ("patch", url, {"title": "x"}),
        ("post", f"{url}/sign", None),
        ("post", f"{url}/terminate", {"reason": "x"}),
    ):
        headers = {**tokens(OPERATOR), "If-Match": "*"}
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 403, (method, path)
        assert problem(response)["type"].endswith("/agreement-read-only")
    response = client.post(URL, json=as_json(content()), headers=tokens(OPERATOR))
    assert response.status_code == 403


def test_history_lists_every_change_oldest_first(client, tokens):
    created = _create(client, tokens).get_json()
    _sign(client, tokens, created["id"], PPU)
    _sign(client, tokens, created["id"], BALIKPAPAN)
    client.post(
        f"{URL}/{created['id']}/suspend", json={"reason": "audit"}, headers=tokens(BALIKPAPAN)
    )
    for org in (PPU, BALIKPAPAN):
        history = client.get(f"{URL}/{created['id']}/history", headers=tokens(org)).get_json()
        assert [e["action"] for e in history["items"]] == [
            "agreement.created",
            "agreement.signed",
            "agreement.signed",
            "agreement.activated",
            "agreement.suspended",
        ]
        assert history["items"][-1]["detail"]["reason"] == "audit"
    page = client.get(f"{URL}/{created['id']}/history?page=2&page_size=2", headers=tokens(PPU))
    body = page.get_json()
    assert [e["action"] for e in body["items"]] == ["agreement.signed", "agreement.activated"]
    assert body["total"] == 5
    assert 'rel="next"' in page.headers["Link"]
    assert 'rel="prev"' in page.headers["Link"]


def test_registry_filters(client, tokens):
    counseling = _create(client, tokens).get_json()
    police = _create(
        client,
        tokens,
        number="PKS/POLRES/1",
        parties=[PPU, "polres-ppu"],
        services=[{"service": "law_enforcement", "provider": "polres-ppu"}],
        signatories=[],
        expires_on=_shift(20),
    ).get_json()
    for org in (PPU, BALIKPAPAN):
        _sign(client, tokens, counseling["id"], org)
    for org in (PPU, "polres-ppu"):
        _sign(client, tokens, police["id"], org)
    kukar = _create(
        client,
        tokens,
        org="uptd-ppa-kukar",
        number="KONTRAK/1",
        parties=["uptd-ppa-kukar", "dp3a-kukar"],
        services=[{"service": "legal_aid", "provider": "uptd-ppa-kukar"}],
        signatories=[],
    ).get_json()

    def ids(query, org=OPERATOR):
        response = client.get(f"{URL}?{query}", headers=tokens(org, "agreements:read"))
        assert response.status_code == 200, response.get_data(as_text=True)
        return {a["id"] for a in response.get_json()["items"]}

    assert ids("") == {counseling["id"], police["id"], kukar["id"]}
    assert ids("status=active") == {counseling["id"], police["id"]}
    assert ids("status=draft") == {kukar["id"]}
    assert ids(f"party={BALIKPAPAN}") == {counseling["id"]}
    assert ids(f"party={police['parties'][1]['id']}") == {police["id"]}
    assert ids("service=law_enforcement") == {police["id"]}
    assert ids("provider=uptd-ppa-kukar") == {kukar["id"]}
    assert ids("service=psychological_counseling&provider=polres-ppu") == set()
    assert ids("region=64.02") == {kukar["id"]}
    assert ids("region=64.71") == {counseling["id"]}
    assert ids("region=64") == {counseling["id"], police["id"], kukar["id"]}
    assert ids("expiring_within_days=30") == {police["id"]}
    assert ids("status=active", org=BALIKPAPAN) == {counseling["id"]}
    response = client.get(f"{URL}?party=nobody", headers=tokens(PPU))
    assert response.status_code == 422
    assert "party" in problem(response)["errors"]


def test_csv_export_filters_and_defuses_formulas(client, tokens):
    formula = '=HYPERLINK("http://evil.example","klik")'
    created = _create(client, tokens, title=formula).get_json()
    _create(
        client,
        tokens,
        number="PKS/POLRES/1",
        parties=[PPU, "polres-ppu"],
        services=[{"service": "law_enforcement", "provider": "polres-ppu"}],
        signatories=[],
    )
    response = client.get(f"{URL}/export.csv?party={BALIKPAPAN}", headers=tokens(PPU))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    # Indonesian headers and names, not codes (the id and number stay for reference).
    assert [r["ID"] for r in rows] == [created["id"]]
    assert rows[0]["Judul"] == "'" + formula
    assert (
        rows[0]["Para pihak"] == "UPTD PPA Kabupaten Penajam Paser Utara; UPTD PPA Kota Balikpapan"
    )
    assert rows[0]["Status"] == "Draf"
    audit = client.get(
        "/api/v1/audit?action=agreement.registry_exported", headers=tokens(PPU, "audit:read")
    ).get_json()
    assert audit["items"][0]["detail"] == {
        "filters": {"party": BALIKPAPAN},
        "rows": 1,
        "format": "csv",
    }


def test_renew_over_http(client, tokens):
    created = _create(client, tokens).get_json()
    for org in (PPU, BALIKPAPAN):
        _sign(client, tokens, created["id"], org)
    response = client.post(f"{URL}/{created['id']}/renew", json={}, headers=tokens(BALIKPAPAN))
    assert response.status_code == 201, response.get_data(as_text=True)
    renewal = response.get_json()
    assert renewal["status"] == "draft"
    assert renewal["supersedes"] == created["id"]
    assert renewal["version"] == 2
    assert renewal["number"] == "TEST/PKS/002"  # the next number, not the same one again
    assert (
        renewal["effective_from"]
        == (dt.date.fromisoformat(created["expires_on"]) + dt.timedelta(days=1)).isoformat()
    )
    old = client.get(f"{URL}/{created['id']}", headers=tokens(PPU)).get_json()
    assert old["renewed_by"] == renewal["id"]
    assert old["status"] == "active"
    again = client.post(f"{URL}/{created['id']}/renew", json={}, headers=tokens(PPU))
    assert again.status_code == 409
    assert problem(again)["type"].endswith("/already-renewed")


def test_a_draft_can_change_its_parties_and_services(client, tokens):
    created = _create(client, tokens)
    url = f"{URL}/{created.get_json()['id']}"
    response = client.patch(
        url,
        json={
            "parties": ["uptd-ppa-kukar", PPU],
            "services": [
                {"service": "psychological_counseling", "provider": "uptd-ppa-kukar"},
                {"service": "legal_aid", "provider": "uptd-ppa-kukar"},
            ],
            "signatories": [{"title": "Kepala UPTD PPA Kukar", "organization": "uptd-ppa-kukar"}],
        },
        headers={**tokens(PPU), "If-Match": created.headers["ETag"]},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert [p["code"] for p in body["parties"]] == ["uptd-ppa-kukar", PPU]
    assert [(s["service"], s["provider"]["code"]) for s in body["services"]] == [
        ("psychological_counseling", "uptd-ppa-kukar"),
        ("legal_aid", "uptd-ppa-kukar"),
    ]
    # Balikpapan is no longer a party: the draft is gone from its view.
    assert client.get(url, headers=tokens(BALIKPAPAN)).status_code == 404
    history = client.get(f"{url}/history", headers=tokens(PPU)).get_json()["items"]
    assert history[-1]["action"] == "agreement.updated"
    assert set(history[-1]["detail"]["changed"]) == {"parties", "services", "signatories"}


def test_the_export_is_an_action_not_an_agreement_id(client, tokens):
    # OPTIONS names only what the export answers, and a PATCH of it is a 405, not a search
    # for an agreement whose id is "export.csv".
    allowed = client.options(f"{URL}/export.csv").headers["Allow"]
    assert set(allowed.replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    refused = client.patch(f"{URL}/export.csv", json={}, headers=tokens(PPU))
    assert refused.status_code == 405
    assert refused.headers["Content-Type"].startswith("application/problem+json")
