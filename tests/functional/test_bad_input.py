"""Bad input on every endpoint: always a precise 4xx, never a 500, never a stack trace.

The API endpoints are taken from the app's URL map and their query parameters from the
OpenAPI description, so endpoints added later are covered without editing this file.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from referral_hub.oauth.scopes import SCOPES
from tests.conftest import problem

ALL_SCOPES = " ".join(SCOPES)
BODY_METHODS = ("POST", "PUT", "PATCH")
NUL = "\x00"


def _sound(response) -> None:
    """A client error at worst: no 500, no trace, no SQL in the body."""
    text = response.get_data(as_text=True)
    assert response.status_code < 500, (response.status_code, text[:500])
    for leak in ("Traceback", 'File "', "sqlalchemy", "psycopg", "sqlite3"):
        assert leak not in text, (leak, text[:500])


def _api_rules(app) -> list[Any]:
    return sorted(
        (r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")),
        key=lambda r: r.rule,
    )


def _sample_path(rule) -> str:
    """The rule's path with every variable filled in (an organisation code fits most)."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "uptd-ppa-ppu", rule.rule)


def _spec_path(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)


def _query_params(spec, rule, method="get") -> set[str]:
    operation = spec["paths"].get(_spec_path(rule), {}).get(method, {})
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}


@pytest.fixture
def token_headers(hub) -> dict[str, str]:
    """A token of the hub operator with every scope: bad input, not access, is tested."""
    return hub.headers("dp3a-kaltim", ALL_SCOPES)


@pytest.fixture(scope="module")
def spec(app) -> dict[str, Any]:
    return app.test_client().get("/openapi.json").get_json()


def test_the_map_has_api_endpoints(app, spec):
    # Guards the loops below against silently covering nothing.
    rules = _api_rules(app)
    assert len(rules) >= 5
    assert any(_query_params(spec, r) for r in rules)


# --- tokens come first -----------------------------------------------------------------


def _operations(app, spec) -> list[tuple[str, str, list[str], bool]]:
    """(method, sample path, documented scopes, takes multipart) of every API operation."""
    from referral_hub.security import MULTIPART_ENDPOINTS

    found = []
    for rule in _api_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = spec["paths"][_spec_path(rule)][method.lower()]
            scopes = [s for need in operation.get("security", []) for s in need.get("oauth2", [])]
            found.append((method, _sample_path(rule), scopes, rule.endpoint in MULTIPART_ENDPOINTS))
    return found


def test_every_api_operation_documents_one_known_scope(app, spec):
    for method, path, scopes, _ in _operations(app, spec):
        assert len(scopes) == 1, (method, path, scopes)
        assert scopes[0] in SCOPES, (method, path, scopes)


def test_without_a_token_everything_is_401_whatever_else_is_wrong(app, client, spec):
    # Not a 422 listing the fields to an anonymous caller: the token is checked first.
    for method, path, _, multipart in _operations(app, spec):
        body = {} if method == "GET" or multipart else {"json": {"bogus": NUL}}
        response = client.open(path + "?page=0&bogus=1", method=method, **body)
        _sound(response)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
        problem(response)


def test_the_documented_scope_is_the_scope_enforced(app, client, spec, hub):
    without: dict[str, dict[str, str]] = {}
    for method, path, (scope,), _ in _operations(app, spec):
        if scope not in without:
            others = " ".join(s for s in SCOPES if s != scope)
            without[scope] = hub.headers("uptd-ppa-ppu", others)
        response = client.open(path + "?bogus=1", method=method, headers=without[scope])
        _sound(response)
        assert response.status_code == 403, (method, path, scope, response.status_code)
        assert problem(response)["type"].endswith("/insufficient-scope")


# --- query strings ---------------------------------------------------------------------


def test_unknown_query_parameter_is_422(app, client, spec, token_headers):
    failures = []
    for rule in _api_rules(app):
        if "GET" not in rule.methods or not _query_params(spec, rule):
            continue
        response = client.get(_sample_path(rule) + "?bogus_field=1", headers=token_headers)
        _sound(response)
        if response.status_code != 422:
            failures.append((rule.rule, response.status_code))
            continue
        assert "bogus_field" in problem(response)["errors"], rule.rule
    assert failures == []


BAD_PAGES = [
    ("page", "0"),
    ("page", "-1"),
    ("page", "10001"),
    ("page", "99999999999999999999999999"),
    ("page", "1e3"),
    ("page", "abc"),
    ("page", ""),
    ("page_size", "0"),
    ("page_size", "101"),
    ("page_size", "-5"),
    ("page_size", "1000000"),
]


@pytest.mark.parametrize(("name", "value"), BAD_PAGES)
def test_bad_page_numbers_are_422(app, client, spec, token_headers, name, value):
    paged = [r for r in _api_rules(app) if {"page", "page_size"} <= _query_params(spec, r)]
    assert paged
    for rule in paged:
        response = client.get(f"{_sample_path(rule)}?{name}={value}", headers=token_headers)
        _sound(response)
        assert response.status_code == 422, (rule.rule, response.status_code)
        assert name in problem(response)["errors"], rule.rule


def test_last_allowed_page_is_empty_not_an_error(app, client, spec, token_headers):
    checked = 0
    for rule in _api_rules(app):
        if not rule.arguments and {"page", "page_size"} <= _query_params(spec, rule):
            response = client.get(
                _sample_path(rule) + "?page=10000&page_size=100", headers=token_headers
            )
            if response.status_code == 403:  # a list the hub operator may not read
                continue
            assert response.status_code == 200, rule.rule
            assert response.get_json()["items"] == []
            checked += 1
    assert checked >= 2


def test_next_page_links_keep_odd_filter_values_intact(app, client, token_headers):
    from referral_hub.actors import Actor
    from referral_hub.audit import operations as audit
    from referral_hub.extensions import db

    odd = "x & y+z#1 é"
    with app.app_context():
        for _ in range(3):
            audit.record(Actor.system("tests"), "test.odd", "thing", odd)
        db.session.commit()
    response = client.get(
        "/api/v1/audit?" + urlencode({"object_id": odd, "page_size": 1}), headers=token_headers
    )
    body = response.get_json()
    assert body["total"] == 3
    link = body["next"]
    assert parse_qs(urlsplit(link).query) == {
        "object_id": [odd],
        "page_size": ["1"],
        "page": ["2"],
    }
    assert f"<{link}>" in response.headers["Link"]
    second = client.get(link, headers=token_headers).get_json()
    assert (second["page"], second["total"]) == (2, 3)
    assert second["items"][0]["seq"] != body["items"][0]["seq"]


@pytest.mark.parametrize(
    "query",
    [
        "type=spaceship",
        "region=64.x",
        "region=" + "6" * 200,
        "q=" + "x" * 101,
        "service=" + "s" * 65,
        "q=%ff%fe",
    ],
)
def test_bad_directory_filters(client, token_headers, query):
    response = client.get("/api/v1/organizations?" + query, headers=token_headers)
    _sound(response)
    assert response.status_code in (200, 422), response.status_code
    if response.status_code == 422:
        problem(response)


def test_nul_characters_in_any_query_parameter_are_422(app, client, spec, token_headers):
    # PostgreSQL cannot store or compare a NUL: refused as input, not failed as a query.
    for rule in _api_rules(app):
        for name in _query_params(spec, rule) - {"page", "page_size"}:
            response = client.get(f"{_sample_path(rule)}?{name}=a%00b", headers=token_headers)
            _sound(response)
            assert response.status_code == 422, (rule.rule, name)
            assert name in problem(response)["errors"]


@pytest.mark.parametrize(
    "query",
    [
        "since=yesterday",
        "since=2026-01-01T00:00:00",  # no offset: ambiguous, refused
        "object_type=" + "o" * 33,
    ],
)
def test_bad_audit_filters(client, token_headers, query):
    response = client.get("/api/v1/audit?" + query, headers=token_headers)
    _sound(response)
    assert response.status_code in (200, 422), response.status_code
    if query.startswith("since"):
        assert response.status_code == 422
        assert "since" in problem(response)["errors"]


# --- paths and methods -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing-here",
        "/api/v2/organizations",
        "/api/v1/organizations/does-not-exist",
        "/api/v1/organizations/" + "x" * 3000,
        "/api/v1/organizations/%00",
        "/api/v1/organizations/..%2F..%2Fetc%2Fpasswd",
        "/oauth/nothing",
        "/.well-known/nothing",
    ],
)
def test_404_is_problem_json(client, token_headers, path):
    response = client.get(path, headers=token_headers)
    _sound(response)
    assert response.status_code == 404
    assert problem(response)["type"].endswith("/not-found")


def test_404_of_a_portal_page_is_a_page(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    _sound(response)


def test_405_everywhere_is_problem_json_with_allow(app, client, token_headers):
    adapter = app.url_map.bind("localhost")
    paths = {
        _sample_path(rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/", "/oauth/", "/.well-known/", "/healthz"))
    }
    checked = 0
    for path in sorted(paths):
        allowed = set(adapter.allowed_methods(path))  # over every rule of the path
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method in allowed:
                continue
            response = client.open(path, method=method, headers=token_headers)
            _sound(response)
            assert response.status_code == 405, (method, path, response.status_code)
            assert problem(response)["type"].endswith("/method-not-allowed")
            announced = {m.strip() for m in response.headers["Allow"].split(",")}
            assert announced == allowed, (path, announced, allowed)
            checked += 1
    assert checked > 10


def test_options_answers_allow_without_a_token(app, client):
    adapter = app.url_map.bind("localhost")
    for rule in _api_rules(app):
        path = _sample_path(rule)
        response = client.options(path)
        assert response.status_code == 200, (path, response.status_code)
        announced = {m.strip() for m in response.headers["Allow"].split(",")}
        assert announced == set(adapter.allowed_methods(path)), path


def test_a_body_sent_to_a_get_only_api_path_is_405_not_415(client, token_headers):
    response = client.post(
        "/api/v1/services", data="<xml/>", content_type="application/xml", headers=token_headers
    )
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    problem(response)


def test_a_body_sent_to_an_unknown_api_path_is_404(client, token_headers):
    response = client.post(
        "/api/v1/nothing", data="x" * 10, content_type="text/plain", headers=token_headers
    )
    assert response.status_code == 404
    problem(response)


# --- bodies on the API -----------------------------------------------------------------


def _body_endpoints(app, *, multipart: bool = False) -> list[tuple[str, str]]:
    """(method, sample path) of the API endpoints that take a JSON body (or multipart)."""
    from referral_hub.security import MULTIPART_ENDPOINTS

    return [
        (method, _sample_path(rule))
        for rule in _api_rules(app)
        for method in BODY_METHODS
        if method in rule.methods and (rule.endpoint in MULTIPART_ENDPOINTS) == multipart
    ]


def test_api_bodies_must_be_json(app, client, token_headers):
    endpoints = _body_endpoints(app)
    if not endpoints:
        pytest.skip("no API endpoint takes a body yet")
    for method, path in endpoints:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "text/xml"):
            response = client.open(
                path,
                method=method,
                data="a=1",
                content_type=content_type,
                headers=token_headers,
            )
            _sound(response)
            assert response.status_code == 415, (method, path, content_type)
            problem(response)


@pytest.mark.parametrize(
    ("body", "statuses"),
    [
        ('{"a": ', (400,)),  # malformed
        ("{'single': 'quotes'}", (400,)),
        ("\xff\xfe", (400,)),  # not UTF-8
        ("[1, 2, 3]", (400, 422)),  # not an object
        ('"just a string"', (400, 422)),
        ("null", (400, 422)),
        ('{"a": NaN}', (400, 422)),
        ("{" * 5000 + "}" * 5000, (400, 422)),  # deep nesting
    ],
    ids=["truncated", "quotes", "not-utf8", "array", "string", "null", "nan", "nested"],
)
def test_malformed_api_bodies(app, client, token_headers, body, statuses):
    endpoints = _body_endpoints(app)
    if not endpoints:
        pytest.skip("no API endpoint takes a body yet")
    for method, path in endpoints:
        response = client.open(
            path,
            method=method,
            data=body.encode("latin-1"),
            content_type="application/json",
            headers={**token_headers, "If-Match": '"x"'},
        )
        _sound(response)
        assert response.status_code in (*statuses, 404, 409, 412, 428), (method, path)
        problem(response)


def test_nul_characters_in_api_bodies_are_422(app, client, token_headers):
    endpoints = _body_endpoints(app)
    if not endpoints:
        pytest.skip("no API endpoint takes a body yet")
    for method, path in endpoints:
        response = client.open(
            path,
            method=method,
            json={"notes": "a\u0000b", "items": [{"name": "x\u0000"}]},
            headers=token_headers,
        )
        _sound(response)
        assert response.status_code == 422, (method, path)
        assert {"notes", "items[0].name"} <= set(problem(response)["errors"])


# A lone surrogate ("\ud800" as a JSON escape) is not a character: no database can store it
# (PostgreSQL refuses it, SQLite's driver cannot encode it, a JSON column would keep the
# escape), so it is refused at the edge as the input error it is.
SURROGATE_BODY = '{"notes": "a\\ud800b", "items": [{"name": "\\udfff"}], "k\\udbff": 1}'
DEEP_BODIES = {
    "arrays-100000": "[" * 100_000 + "]" * 100_000,
    "objects-50000": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "arrays-100": "[" * 100 + "]" * 100,  # parses, but deeper than any body the hub reads
}


def test_lone_surrogates_in_api_bodies_are_422(app, client, token_headers):
    for method, path in _body_endpoints(app):
        response = client.open(
            path,
            method=method,
            data=SURROGATE_BODY,
            content_type="application/json",
            headers=token_headers,
        )
        _sound(response)
        assert response.status_code == 422, (method, path, response.status_code)
        body = problem(response)
        assert {"notes", "items[0].name", "k"} <= set(body["errors"]), (method, path, body)
        assert "surrogate" in body["errors"]["notes"][0]


@pytest.mark.parametrize("name", sorted(DEEP_BODIES))
def test_deeply_nested_api_bodies_are_400(app, client, token_headers, name):
    for method, path in _body_endpoints(app):
        response = client.open(
            path,
            method=method,
            data=DEEP_BODIES[name],
            content_type="application/json",
            headers={**token_headers, "If-Match": '"x"'},
        )
        _sound(response)
        assert response.status_code == 400, (method, path, response.status_code)
        assert "nested" in problem(response)["detail"], (method, path)


def _surrogates_stored() -> list[tuple[str, str]]:
    """(table, column) of every stored text holding a surrogate, raw or as a JSON escape."""
    from sqlalchemy import JSON, String, Text, select

    from referral_hub.extensions import db

    escaped = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        for row in db.session.execute(select(*columns)) if columns else ():
            for column, value in zip(columns, row, strict=True):
                text = value if isinstance(value, str) else json.dumps(value)
                if re.search("[\ud800-\udfff]", text) or escaped.search(text):
                    found.append((table.name, column.name))
    return found


def _with_surrogate(body: dict[str, Any], field: str) -> str:
    """The body as JSON text with a lone surrogate escaped inside `field`'s text."""
    return json.dumps({**body, field: "\udead"}).replace("\\udead", "Sari \\ud800 Contoh")


def test_lone_surrogates_never_reach_the_database(app, client, hub):
    from referral_hub.extensions import db
    from tests.agreements_support import as_json, content
    from tests.clients_support import canary_body, parent_consent_body
    from tests.referrals_support import Scenario

    s = Scenario(app, client, hub)
    referral = s.send()
    agreement = as_json(content(number="TEST/PKS/SURROGATE"))
    cases = [
        (
            "POST",
            "/api/v1/clients",
            {k: v for k, v in canary_body().items() if k != "nik"},
            "full_name",
        ),
        ("POST", "/api/v1/clients/search", {}, "code"),
        (
            "POST",
            f"/api/v1/clients/{s.client['id']}/consents",
            parent_consent_body(),
            "giver_name",
        ),
        ("POST", f"/api/v1/consents/{s.consent['id']}/withdraw", {}, "reason"),
        ("POST", "/api/v1/agreements", agreement, "title"),
        ("POST", "/api/v1/agreements", agreement, "notes"),
        ("POST", f"/api/v1/agreements/{s.agreement_id}/terminate", {}, "reason"),
        ("POST", "/api/v1/referrals", s.body(), "reason"),
        ("POST", "/api/v1/referrals", s.body(), "sender_reference"),
        ("POST", f"/api/v1/referrals/{referral['id']}/cancel", {}, "reason"),
        ("POST", "/api/v1/webhooks", {"events": ["referral.requested"]}, "url"),
    ]
    headers = hub.headers("uptd-ppa-ppu", ALL_SCOPES)
    for method, path, body, field in cases:
        response = client.open(
            path,
            method=method,
            data=_with_surrogate(body, field),
            content_type="application/json",
            headers=headers,
        )
        _sound(response)
        assert response.status_code == 422, (path, field, response.status_code)
        assert field in problem(response)["errors"], (path, field)
    with app.app_context():
        assert _surrogates_stored() == []
        db.session.remove()


def test_undecodable_query_values_are_422(app, client, spec, token_headers):
    # werkzeug keeps bytes that are not UTF-8 as "%ED%A0%80" text: the filter would look
    # for something nobody typed. Refused like a NUL, naming the parameter.
    for rule in _api_rules(app):
        for name in _query_params(spec, rule) - {"page", "page_size"}:
            response = client.get(f"{_sample_path(rule)}?{name}=a%ED%A0%80b", headers=token_headers)
            _sound(response)
            assert response.status_code == 422, (rule.rule, name, response.status_code)
            assert name in problem(response)["errors"], (rule.rule, name)


def test_a_portal_form_with_an_encoded_surrogate_is_refused_with_a_message(app, hub):
    from sqlalchemy import select

    from referral_hub.clients.models import Client
    from referral_hub.extensions import db
    from tests.portal_sender_support import signed_in, token

    browser = signed_in(app, hub, "uptd-ppa-ppu")
    form = {
        "full_name": "SURROGATE",
        "birth_date": "2015-01-02",
        "sex": "female",
        "domicile_region": "64.09",
        "csrf_token": token(browser),
    }
    raw = urlencode(form).replace("SURROGATE", "Sari%ED%A0%80Contoh")
    response = browser.post(
        "/clients/new",
        data=raw,
        content_type="application/x-www-form-urlencoded",
        headers={"Accept": "text/html"},
    )
    _sound(response)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "UTF-8" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Client)).all() == []
        db.session.remove()


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("If-Match", '"\xed\xa0\x80"'),
        ("Authorization", "Bearer \xed\xa0\x80"),
        ("Content-Type", "application/json; charset=\xed\xa0\x80"),
        ("Accept-Language", "\xed\xa0\x80"),
    ],
)
def test_odd_bytes_in_parsed_headers_are_a_client_error(app, client, hub, header, value):
    from tests.agreements_support import build

    with app.app_context():
        agreement_id = build("draft")
    headers = {**hub.headers("uptd-ppa-ppu", ALL_SCOPES), header: value}
    response = client.patch(
        f"/api/v1/agreements/{agreement_id}",
        data='{"title": "x"}',
        headers=headers,
        content_type=headers.pop("Content-Type", "application/json"),
    )
    _sound(response)
    assert 400 <= response.status_code < 500, response.status_code
    problem(response)


def test_uploads_must_be_multipart(app, client, token_headers):
    endpoints = _body_endpoints(app, multipart=True)
    if not endpoints:
        pytest.skip("no upload endpoint yet")
    for method, path in endpoints:
        response = client.open(
            path, method=method, json={"file": "x"}, headers={**token_headers, "If-Match": "*"}
        )
        _sound(response)
        assert response.status_code == 415, (method, path)
        problem(response)


def test_oversized_api_bodies_are_413(app, client, token_headers):
    endpoints = _body_endpoints(app)
    if not endpoints:
        pytest.skip("no API endpoint takes a body yet")
    limit = app.config["HUB_JSON_BODY_LIMIT"]
    big = json.dumps({"notes": "x" * limit})
    for method, path in endpoints:
        response = client.open(
            path, method=method, data=big, content_type="application/json", headers=token_headers
        )
        _sound(response)
        assert response.status_code == 413, (method, path, response.status_code)
        assert problem(response)["type"].endswith("/payload-too-large")


def test_a_streamed_body_without_length_is_cut_at_the_limit(app, live_server, hub):
    # A body sent chunked announces no Content-Length: the limit must hold while reading.
    import requests

    endpoints = _body_endpoints(app)
    if not endpoints:
        pytest.skip("no API endpoint takes a body yet")
    method, path = endpoints[0]
    limit = app.config["HUB_JSON_BODY_LIMIT"]

    def chunks():
        yield b'{"notes": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = requests.request(
        method,
        live_server + path,
        data=chunks(),
        headers={**hub.headers("uptd-ppa-ppu", ALL_SCOPES), "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413, (method, path, response.status_code)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    # A small streamed body is read whole: a validation answer, not a size or JSON one.
    small = requests.request(
        method,
        live_server + path,
        data=iter([b'{"bogus"', b": 1}"]),
        headers={**hub.headers("uptd-ppa-ppu", ALL_SCOPES), "Content-Type": "application/json"},
        timeout=60,
    )
    assert small.status_code == 422, small.text[:300]
    assert "bogus" in small.json()["errors"]


def test_errors_carry_the_security_headers(client, token_headers):
    for response in (
        client.get("/api/v1/services", headers=token_headers),
        client.get("/api/v1/nothing", headers=token_headers),
        client.get("/api/v1/services"),
        client.post("/oauth/token"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# --- authorization headers -------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b c",
        "Bearer " + "t" * 10000,
        "Bearer tok" + NUL + "en",
        "Basic " + base64.b64encode(b"user:pass").decode(),
        "Bearer\ttoken",
        "bearer lowercase-unknown",
        "Token abc",
        "Bearer é-not-ascii",
    ],
)
def test_bad_authorization_headers_are_401(client, value):
    response = client.get("/api/v1/services", headers={"Authorization": value})
    _sound(response)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    problem(response)


# --- the OAuth endpoints ---------------------------------------------------------------


def _oauth_error(response) -> dict:
    """An RFC 6749 5.2 error: application/json with `error`, and the problem members too."""
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["status"] == response.status_code
    assert body["type"].endswith("/problems/oauth-" + body["error"].replace("_", "-"))
    return body


def test_token_endpoint_refuses_json_and_empty_bodies(client, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    auth = (creds["client_id"], creds["client_secret"])
    for kwargs in (
        {"json": {"grant_type": "client_credentials"}},
        {"data": ""},
        {"data": "grant_type=client_credentials", "content_type": "text/plain"},
        {"data": {"grant_type": "bogus"}},
        {"data": {"grant_type": ["client_credentials", "client_credentials"]}},
    ):
        response = client.post("/oauth/token", auth=auth, **kwargs)
        _sound(response)
        assert response.status_code == 400, (kwargs, response.status_code)
        body = _oauth_error(response)
        expected = (
            "unsupported_grant_type"
            if kwargs.get("data") == {"grant_type": "bogus"}
            else ("invalid_request")
        )
        assert body["error"] == expected, (kwargs, body)


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic",
        "Basic not-base64!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic " + base64.b64encode(b"a" * 5000 + b":" + b"b" * 5000).decode(),
        "Basic " + base64.b64encode(b"hub_x\x00:secret").decode(),
        "Bearer something",
    ],
)
def test_token_endpoint_bad_client_authentication_is_401(client, authorization):
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": authorization},
    )
    _sound(response)
    assert response.status_code in (400, 401), response.status_code
    assert _oauth_error(response)["error"] in ("invalid_client", "invalid_request")


@pytest.mark.parametrize(
    "form",
    [
        {"client_id": "x" * 5000, "client_secret": "y"},
        {"client_id": "hub_" + NUL, "client_secret": "y"},
        {"client_id": "", "client_secret": ""},
    ],
)
def test_token_endpoint_bad_client_post_credentials(client, form):
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", **form})
    _sound(response)
    assert response.status_code in (400, 401)
    assert _oauth_error(response)["error"] in ("invalid_client", "invalid_request")


def test_token_endpoint_huge_form_is_refused(client):
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "x" * (2 * 1024 * 1024)},
    )
    _sound(response)
    assert response.status_code in (400, 401, 413)
    problem(response)


@pytest.mark.parametrize("endpoint", ["/oauth/revoke", "/oauth/introspect"])
@pytest.mark.parametrize(
    "form",
    [
        {},
        {"token": "x", "token_type_hint": "bogus"},
        {"token": "tok" + NUL},
        {"token": "t" * 20000},
    ],
    ids=["no-token", "bad-hint", "nul", "huge"],
)
def test_revoke_and_introspect_bad_input(client, hub, endpoint, form):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    response = client.post(endpoint, data=form, auth=(creds["client_id"], creds["client_secret"]))
    _sound(response)
    if not form:
        assert response.status_code == 400
        assert _oauth_error(response)["error"] == "invalid_request"
    elif form.get("token_type_hint") == "bogus":
        # RFC 7662 2.1 / RFC 7009 2.1: a hint the server does not know is ignored.
        assert response.status_code == 200
    elif NUL in form["token"]:
        assert response.status_code == 400
        assert _oauth_error(response)["error"] == "invalid_request"
    else:
        assert response.status_code == 200
        if endpoint == "/oauth/introspect":
            assert response.get_json() == {"active": False}


def test_authorize_with_bad_parameters_is_a_400_page(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    hub.login(client, user["email"])
    for query in (
        "",
        "response_type=code",
        "response_type=code&client_id=hub_unknown",
        "response_type=token&client_id=hub_unknown",
        "response_type=code&client_id=" + NUL,
        "response_type=code&client_id=" + "c" * 5000,
    ):
        response = client.get("/oauth/authorize?" + query)
        _sound(response)
        assert response.status_code == 400, (query, response.status_code)
        assert 'name="decision"' not in response.get_data(as_text=True)


# --- the portal's sign-in form ---------------------------------------------------------


def test_login_without_csrf_token_is_400(client):
    response = client.post("/login", data={"email": "a@b.example", "password": "x"})
    _sound(response)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "email",
    ["", "x" * 5000 + "@example.org", "nul" + NUL + "@example.org", "no-at-sign", "é@ü.example"],
)
def test_login_with_odd_emails_is_a_plain_refusal(client, hub, email):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": email, "password": "whatever", "csrf_token": token}
    )
    _sound(response)
    assert response.status_code in (400, 401, 422)


def test_login_with_a_nul_character_is_refused_as_input(client):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login",
        data={"email": "a" + NUL + "@b.example", "password": "x", "csrf_token": token},
        headers={"Accept": "text/html"},
    )
    _sound(response)
    assert response.status_code == 422
    assert response.mimetype == "text/html"


def test_login_posted_as_json_is_refused(client):
    response = client.post("/login", json={"email": "a@b.example", "password": "x"})
    _sound(response)
    assert response.status_code == 400


# --- the open endpoints ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/healthz", "/openapi.json", "/.well-known/oauth-authorization-server"]
)
def test_open_endpoints_ignore_junk_query_and_refuse_bodies(client, path):
    response = client.get(path + "?x=%ff&page=-1&" + "y=" * 200)
    _sound(response)
    assert response.status_code == 200
    posted = client.post(path, data="x" * 100, content_type="text/plain")
    assert posted.status_code == 405
    problem(posted)


def test_without_a_token_the_body_type_is_not_even_considered(client):
    # 401 first: a caller without a token learns only that it needs one.
    response = client.post("/api/v1/referrals", data="x", content_type="text/plain")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
