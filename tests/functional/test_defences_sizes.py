"""Oversized requests get a 413 in the shape of their path, never a 500."""

from __future__ import annotations

from tests.conftest import problem


def test_a_huge_sign_in_form_gets_a_413_page(client):
    response = client.post(
        "/login",
        data={"email": "a@b.example", "password": "x" * 2_000_000},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "Traceback" not in response.get_data(as_text=True)


def test_an_upload_over_the_request_limit_gets_a_413_page(app, client, hub):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    hub.login(client, user["email"])
    # A raw multipart body: the length alone must stop it, before any part is read.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="document"; filename="big.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
        + b"0" * app.config["MAX_CONTENT_LENGTH"]
        + b"\r\n--b--\r\n"
    )
    response = client.post(
        "/agreements/some-agreement/documents",
        data=body,
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_huge_token_request_gets_a_413_problem(client):
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "x" * 2_000_000},
    )
    assert response.status_code == 413
    assert problem(response)["type"].endswith("/problems/payload-too-large")


def test_a_json_body_over_its_limit_gets_a_413_problem(app, client, hub):
    headers = hub.headers("uptd-ppa-ppu", "referrals:write")
    body = b'{"note": "' + b"x" * app.config["HUB_JSON_BODY_LIMIT"] + b'"}'
    response = client.post(
        "/api/v1/referrals",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert problem(response)["type"].endswith("/problems/payload-too-large")
