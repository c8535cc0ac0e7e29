"""A child is registered with a parent or guardian: the rule of the operation, so the
portal's form and the API refuse the same thing in the same way."""

from __future__ import annotations

from sqlalchemy import select

from referral_hub.clients.models import Client
from referral_hub.extensions import db
from tests.clients_support import PPU, RW, adult_body, child_body, create_client, years_ago
from tests.conftest import _csrf_from


def _count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Client)).all())


def test_the_api_refuses_a_child_without_a_guardian(app, client, hub):
    headers = hub.headers(PPU, RW)
    before = _count(app)
    body = child_body()
    del body["guardian"]
    response = client.post("/api/v1/clients", json=body, headers=headers)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/validation-error")
    assert problem["errors"] == {"guardian": ["Required for a client under 18."]}
    # Seventeen and 364 days is still a child; eighteen today is not.
    almost = child_body(birth_date=years_ago(18, days=-1).isoformat())
    del almost["guardian"]
    assert client.post("/api/v1/clients", json=almost, headers=headers).status_code == 422
    assert _count(app) == before
    create_client(client, headers, adult_body(birth_date=years_ago(18).isoformat()))
    create_client(client, headers, child_body())


def test_the_portal_refuses_a_child_without_a_guardian_beside_the_guardian(app, hub):
    user = hub.user(PPU, "caseworker")
    browser = app.test_client()
    hub.login(browser, user["email"])
    page = browser.get("/clients/new").get_data(as_text=True)
    assert "(wajib untuk anak)" in page
    before = _count(app)
    form = {
        "csrf_token": _csrf_from(page),
        "full_name": "Anak Tanpa Wali",
        "birth_date": years_ago(9).isoformat(),
        "sex": "female",
        "domicile_region": "64.09",
    }
    response = browser.post("/clients/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="f-guardian-error"' in html
    assert "catat nama orang tua atau wali" in html
    assert 'href="#f-guardian"' in html  # the error summary leads to it
    assert 'value="Anak Tanpa Wali"' in html  # nothing typed is lost
    assert _count(app) == before
    form.update(guardian_name="Ibu Contoh", guardian_relationship="ibu kandung")
    assert browser.post("/clients/new", data=form).status_code == 302
