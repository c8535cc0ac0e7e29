"""One rule, one place: the portal and the API accept, refuse and offer the same things.

Each test does the same thing through both ways in: the draft form loads through the API's
`AgreementIn`, the export is one function, and the actions a page offers are the
transitions table's (`allowed_actions`), which the operations enforce.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import Agreement
from referral_hub.extensions import db
from tests.agreements_support import (
    BALIKPAPAN,
    BONTANG,
    PPU,
    Tokens,
    actor,
    as_json,
    build,
    content,
)
from tests.conftest import _csrf_from

URL = "/api/v1/agreements"


@pytest.fixture
def tokens(hub) -> Tokens:
    return Tokens(hub)


def _browser(app, hub, org: str = PPU, role: str = "org_admin"):
    user = hub.user(org, role)
    browser = app.test_client()
    assert hub.login(browser, user["email"]).status_code == 302
    return browser


def _as_form(data: dict[str, Any]) -> dict[str, Any]:
    """The draft form a person would fill in for the API body `data`."""
    form: dict[str, Any] = {
        name: "" if data.get(name) is None else str(data[name])
        for name in (
            "kind",
            "number",
            "title",
            "purpose",
            "effective_from",
            "expires_on",
            "response_hours",
            "notes",
        )
    }
    form["parties"] = list(data["parties"])
    form["data_categories"] = list(data["data_categories"])
    form["service_rows"] = str(len(data["services"]))
    for index, item in enumerate(data["services"]):
        form[f"service-{index}"] = item["service"]
        form[f"provider-{index}"] = item["provider"]
    form["sig_name_rows"] = str(len(data["signatories"]))
    for index, item in enumerate(data["signatories"]):
        form[f"sig_name-{index}"] = item["name"] or ""
        form[f"sig_title-{index}"] = item["title"]
        form[f"sig_org-{index}"] = item["organization"]
    return form


def _through_portal(browser, data: dict[str, Any]):
    token = _csrf_from(browser.get("/agreements/new").get_data(as_text=True))
    return browser.post("/agreements/new", data={**_as_form(data), "csrf_token": token})


def _stored_count(app) -> int:
    with app.app_context():
        count = len(db.session.scalars(select(Agreement.id)).all())
        db.session.remove()
        return count


BAD = {
    # The portal used to drop a category it did not know and save the rest.
    "an unknown data category": (
        {"data_categories": ["case_summary", "horoscope"]},
        "data_categories",
    ),
    # The API used to take a blank title as an empty one.
    "a blank title": ({"title": "   "}, "title"),
    "a blank number": ({"number": " \t "}, "number"),
    "a provider that is not a party": (
        {"services": [{"service": "psychological_counseling", "provider": BONTANG}]},
        "provider-0",
    ),
    "no response time": ({"response_hours": 0}, "response_hours"),
    "an end before the start": (
        {"expires_on": dt.date.today() - dt.timedelta(days=30)},
        "expires_on",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_same_bad_agreement_is_refused_alike_through_the_api_and_the_portal(
    app, client, hub, tokens, case
):
    changes, field = BAD[case]
    data = content(**changes)
    api = client.post(URL, json=as_json(data), headers=tokens(PPU))
    assert api.status_code == 422, api.get_data(as_text=True)
    portal = _through_portal(_browser(app, hub), data)
    assert portal.status_code == 422, case
    assert f'id="f-{field}-error"' in portal.get_data(as_text=True), case
    assert _stored_count(app) == 0


def test_the_same_good_agreement_is_accepted_alike_and_stored_the_same(app, client, hub, tokens):
    api = client.post(URL, json=as_json(content(number="SAME/API")), headers=tokens(PPU))
    assert api.status_code == 201, api.get_data(as_text=True)
    portal = _through_portal(_browser(app, hub), content(number="SAME/PORTAL"))
    assert portal.status_code == 302, portal.get_data(as_text=True)[-2000:]
    with app.app_context():
        stored = {a.number: ops.canonical_content(a) for a in db.session.scalars(select(Agreement))}
        db.session.remove()
    through_api, through_portal = stored.pop("SAME/API"), stored.pop("SAME/PORTAL")
    through_api.pop("number"), through_portal.pop("number")
    assert through_api == through_portal


@pytest.mark.parametrize("query", ["party=no-such-organisation", "status=bogus", "region=6"])
def test_an_export_with_a_filter_that_cannot_apply_is_refused_alike(
    app, client, hub, tokens, query
):
    with app.app_context():
        build("active")
        db.session.remove()
    api = client.get(f"{URL}/export.csv?{query}", headers=tokens(PPU))
    assert api.status_code == 422
    portal = _browser(app, hub).get(f"/agreements/export.csv?{query}")
    assert portal.status_code == 422
    assert portal.mimetype != "text/csv"


def test_the_export_is_the_same_file_through_both(app, client, hub, tokens):
    with app.app_context():
        build("active")
        build("draft", number="TEST/PKS/002")
        db.session.remove()
    api = client.get(f"{URL}/export.csv?status=active", headers=tokens(PPU))
    portal = _browser(app, hub).get("/agreements/export.csv?status=active")
    assert api.status_code == portal.status_code == 200
    assert api.get_data() == portal.get_data()


#: What the transitions table lets a party's administrator do in each status.
EXPECTED = {
    "draft": ["edit", "sign", "terminate"],
    "signed": ["terminate"],
    "active": ["suspend", "terminate", "renew"],
    "suspended": ["resume", "terminate", "renew"],
    "expired": ["renew"],
    "terminated": [],
}
#: The portal's mark of each action's form on the agreement's page.
MARKS = {
    "edit": "/edit",
    "sign": "/sign",
    "suspend": "/suspend",
    "resume": "/resume",
    "terminate": "/terminate",
    "renew": "/renew",
}


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_the_page_offers_what_the_table_allows_and_the_api_refuses_the_rest(
    app, client, hub, tokens, status
):
    with app.app_context():
        agreement_id = build(status)
        agreement = db.session.get(Agreement, agreement_id)
        allowed = ops.allowed_actions(actor(PPU, role="org_admin", user_id="an-admin"), agreement)
        assert (
            ops.allowed_actions(actor(PPU, role="caseworker", user_id="a-caseworker"), agreement)
            == []
        )
        etag = ops.etag_of(agreement)
        db.session.remove()
    assert allowed == EXPECTED[status]
    html = _browser(app, hub).get(f"/agreements/{agreement_id}").get_data(as_text=True)
    for action, mark in MARKS.items():
        assert (f"/agreements/{agreement_id}{mark}" in html) == (action in allowed), action
    for action in set(MARKS) - set(allowed) - {"edit"}:
        body = {"reason": "checking the table"} if action == "terminate" else None
        refused = client.post(f"{URL}/{agreement_id}/{action}", json=body, headers=tokens(PPU))
        assert refused.status_code == 409, (action, refused.get_data(as_text=True))
    if "edit" not in allowed:
        refused = client.patch(
            f"{URL}/{agreement_id}",
            json={"notes": "x"},
            headers={**tokens(PPU), "If-Match": f'"{etag}"'},
        )
        assert refused.status_code == 409


def test_the_hub_operator_and_a_caseworker_are_offered_nothing(app, hub):
    with app.app_context():
        agreement_id = build("active")
        db.session.remove()
    for org, role in ((PPU, "caseworker"), ("dp3a-kaltim", "org_admin")):
        html = (
            _browser(app, hub, org, role).get(f"/agreements/{agreement_id}").get_data(as_text=True)
        )
        assert 'id="actions-heading"' not in html, (org, role)
        assert 'enctype="multipart/form-data"' not in html, (org, role)  # no upload form


def test_the_registry_menu_and_pages_ask_one_rule(app, hub):
    from referral_hub.agreements.blueprint import RegistryAccess

    with app.app_context():
        view = app.view_functions["agreements_portal.index"]
        assert isinstance(view.portal_access, RegistryAccess)
    html = _browser(app, hub, BALIKPAPAN, "caseworker").get("/").get_data(as_text=True)
    assert 'href="/agreements"' in html
    assert 'href="/coverage"' in html
