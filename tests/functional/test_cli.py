"""`flask hub create-client`: the JSON API.md shows, a working secret, and only digests stored."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select, text

from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db

REDIRECT_URI = "http://127.0.0.1:9/cb"


def _create_client(app, *args: str):
    return app.test_cli_runner().invoke(args=["hub", "create-client", *args])


def _all_rows_as_text(app, tables: tuple[str, ...]) -> str:
    """Every value of every row of these tables, as one string to search in."""
    with app.app_context(), db.engine.connect() as connection:
        parts = []
        for table in tables:
            for row in connection.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                parts.extend(str(value) for value in row)
        return "\n".join(parts)


OAUTH_TABLES = ("oauth_clients", "oauth_tokens", "oauth_authorization_codes")
BASE = ("--org", "uptd-ppa-ppu", "--name", "x", "--scope", "directory:read")


def test_create_client_prints_exactly_the_json_of_api_md(app, client):
    result = _create_client(
        app, "--org", "uptd-ppa-ppu", "--name", "SIMFONI bridge", "--scope", "directory:read"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1  # one line, nothing else on stdout
    printed = json.loads(result.stdout)
    assert set(printed) == {"client_id", "client_secret"}
    assert printed["client_id"].startswith("hub_")
    assert len(printed["client_secret"]) >= 32

    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(printed["client_id"], printed["client_secret"]),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    token = response.get_json()
    assert token["scope"] == "directory:read"
    listing = client.get(
        "/api/v1/services", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert listing.status_code == 200
    with app.app_context():
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "oauth.client_created")
        ).all()
        assert entry.object_id == printed["client_id"]
        assert entry.actor_label == "cli:create-client"
        assert entry.detail["scope"] == "directory:read"
        assert printed["client_secret"] not in json.dumps(entry.detail)


def test_each_client_gets_its_own_id_and_secret(app):
    args = ["--org", "polres-ppu", "--name", "Polres", "--scope", "directory:read"]
    first = json.loads(_create_client(app, *args).stdout)
    second = json.loads(_create_client(app, *args).stdout)
    assert first["client_id"] != second["client_id"]
    assert first["client_secret"] != second["client_secret"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--org", "nowhere", "--name", "x", "--scope", "directory:read"], "nowhere"),
        (["--org", "uptd-ppa-ppu", "--name", "x", "--scope", "root:all"], "root:all"),
        (["--org", "uptd-ppa-ppu", "--name", "x", "--scope", " "], "scope"),
        (
            [*BASE, "--grant", "authorization_code"],
            "redirect",
        ),
        (
            [*BASE, "--grant", "authorization_code", "--redirect-uri", "http://evil.example/cb"],
            "https",
        ),
    ],
    ids=["unknown-org", "unknown-scope", "no-scope", "code-without-redirect", "http-redirect"],
)
def test_create_client_refusals_name_the_problem(app, args, fragment):
    result = _create_client(app, *args)
    assert result.exit_code != 0
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert "client_secret" not in result.stdout
    assert _all_rows_as_text(app, ("oauth_clients",)) == ""


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_secrets_codes_and_tokens_are_stored_only_as_digests(app, client, hub):
    created = json.loads(
        _create_client(
            app,
            "--org",
            "uptd-ppa-ppu",
            "--name",
            "Case app",
            "--scope",
            "directory:read",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            REDIRECT_URI,
        ).stdout
    )
    secret = created["client_secret"]
    user = hub.user("uptd-ppa-ppu", "caseworker")
    hub.login(client, user["email"])

    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    url = "/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": created["client_id"],
            "redirect_uri": REDIRECT_URI,
            "scope": "directory:read",
            "state": "s",
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        }
    )
    page = client.get(url).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    consent = client.post(url, data={"decision": "allow", "csrf_token": csrf})
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    stored = _all_rows_as_text(app, OAUTH_TABLES)
    assert code not in stored
    assert _sha256(code) in stored

    token = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(created["client_id"], secret),
    ).get_json()
    access, refresh = token["access_token"], token["refresh_token"]
    rotated = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=(created["client_id"], secret),
    ).get_json()

    stored = _all_rows_as_text(app, OAUTH_TABLES)
    everything = stored + _all_rows_as_text(app, ("audit_entries",))
    for clear in (secret, code, access, refresh, rotated["access_token"], rotated["refresh_token"]):
        assert clear not in everything
    for clear in (secret, access, refresh, rotated["access_token"], rotated["refresh_token"]):
        assert _sha256(clear) in stored
