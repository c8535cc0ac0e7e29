"""The foundation answers: health, OpenAPI, metadata, directory with a token."""

from tests.conftest import problem


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_openapi_is_3_1_with_oauth_security(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert "oauth2" in spec["components"]["securitySchemes"]
    assert "/api/v1/organizations" in spec["paths"]


def test_directory_needs_a_token(client):
    response = client.get("/api/v1/organizations")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    problem(response)


def test_directory_lists_balikpapan_psychologist(client, hub):
    headers = hub.headers("uptd-ppa-ppu", "directory:read")
    body = client.get(
        "/api/v1/organizations?service=psychological_counseling", headers=headers
    ).get_json()
    codes = {o["code"] for o in body["items"]}
    assert "uptd-ppa-balikpapan" in codes
    assert "uptd-ppa-ppu" not in codes
    polres = client.get("/api/v1/organizations/polres-ppu", headers=headers).get_json()
    assert polres["type"] == "police"
