"""The developer guide at /docs: both languages, every page, and every example in it run
against a live hub set up as `make run` sets it up (partners, demo data, clients made by
`flask hub create-client`); every problem type the hub can answer with has its page."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess

import httpx
import pytest
from authlib.oauth2.base import OAuth2Error

from referral_hub.contracts import openapi_document
from referral_hub.demo import load_demo
from referral_hub.extensions import db
from referral_hub.oauth.errors import OAUTH_ERRORS, oauth_problem_slug
from referral_hub.portal.guide import PAGES
from referral_hub.problems import PROBLEM_TITLES, registered_problem_titles

EXAMPLE = re.compile(
    r'<pre data-example="(?P<kind>[a-z]+)"(?: data-name="(?P<name>[a-z_]+)")?><code>'
    r"(?P<code>.*?)</code></pre>",
    re.S,
)


def examples_of(text: str) -> list[tuple[str, str, str]]:
    return [(m["kind"], m["name"] or "", html.unescape(m["code"])) for m in EXAMPLE.finditer(text)]


def guide(client, language: str) -> dict[str, str]:
    pages = {"index": client.get(f"/docs?lang={language}")}
    pages.update({p: client.get(f"/docs/{p}?lang={language}") for p in PAGES})
    assert {p: r.status_code for p, r in pages.items()} == dict.fromkeys(pages, 200)
    return {p: r.get_data(as_text=True) for p, r in pages.items()}


def test_every_page_is_in_both_languages_with_the_same_examples(client):
    indonesian, english = guide(client, "id"), guide(client, "en")
    assert 'lang="id"' in indonesian["webhooks"]
    assert "Verify <strong>before</strong>" in english["webhooks"]
    assert "Verifikasi <strong>sebelum</strong>" in indonesian["webhooks"]
    for page in indonesian:
        assert examples_of(indonesian[page]) == examples_of(english[page]), page
    named = [name for page in indonesian.values() for _, name, _ in examples_of(page) if name]
    assert {"token", "send", "answer", "feed", "webhook", "rotation", "retry", "errors"} <= set(
        named
    )
    assert client.get("/docs/no-such-page").status_code == 404


def test_the_openapi_points_to_the_guide(app):
    document = openapi_document(app)
    assert document["externalDocs"]["url"].endswith("/docs")
    assert "/docs" in document["info"]["description"]


def _create_client(app, org: str) -> dict[str, str]:
    """As the quick start says: `flask hub create-client` (its command, its output)."""
    text = next(
        code
        for kind, _, code in examples_of(guide(app.test_client(), "en")["quick-start"])
        if kind == "cli"
    )
    line = next(part for part in text.split("flask --app wsgi ")[1:] if f"--org {org}" in part)
    scope = re.search(r'--scope "([^"]+)"', line)[1]
    done = app.test_cli_runner().invoke(
        args=["hub", "create-client", "--org", org, "--name", "guide", "--scope", scope]
    )
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


@pytest.mark.slow
def test_every_example_runs_against_a_live_hub(app, live_server, monkeypatch):
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()
    ppu, bpp = _create_client(app, "uptd-ppa-ppu"), _create_client(app, "uptd-ppa-balikpapan")
    environment = {
        "HUB": live_server,
        "PPU_CLIENT_ID": ppu["client_id"],
        "PPU_CLIENT_SECRET": ppu["client_secret"],
        "BPP_CLIENT_ID": bpp["client_id"],
        "BPP_CLIENT_SECRET": bpp["client_secret"],
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    pages = {
        page: httpx.get(f"{live_server}/docs/{page}?lang=en", timeout=10).text for page in PAGES
    }
    namespace: dict = {"__name__": "guide"}
    ran = []
    for page, text in pages.items():
        for kind, name, code in examples_of(text):
            if kind == "python":
                exec(compile(code, f"<guide {page}: {name}>", "exec"), namespace)  # noqa: S102
            elif kind == "shell":
                if shutil.which("curl") is None:
                    continue
                done = subprocess.run(
                    ["bash", "-e", "-o", "pipefail", "-c", code],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    env={**os.environ, **environment},
                    check=False,
                )
                assert done.returncode == 0, (name, done.stdout, done.stderr)
                assert '"items"' in done.stdout
            ran.append((kind, name))
    # The loop really closed: the webhook receiver verified signed deliveries, the retry was
    # a replay, and the feed holds the referral's events.
    assert [e["type"] for e in namespace["received"]] == ["webhook.ping"] * 3
    assert namespace["again"].json()["id"] == namespace["referral"]["id"]
    assert namespace["accepted"].json()["status"] == "accepted"
    assert namespace["problem"]["type"].endswith("/problems/invalid-transition")
    assert ("python", "token") in ran
    assert ("python", "rotation") in ran


def _server_side_oauth_errors() -> set[str]:
    """Every error code Authlib's server side can raise; the resource server's own three are
    other problem types (invalid-token, insufficient-scope, unauthorized: oauth/server.py),
    and the `...Exception` classes are its client side's."""

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    mapped = {"invalid_token", "insufficient_scope", "missing_authorization"}
    return {
        cls.error
        for cls in subclasses(OAuth2Error)
        if cls.error and not cls.__name__.endswith("Exception") and cls.error not in mapped
    }


def test_every_problem_type_the_hub_can_answer_with_has_its_page(client):
    assert _server_side_oauth_errors() <= set(OAUTH_ERRORS)
    slugs = {*PROBLEM_TITLES, *registered_problem_titles()}
    slugs |= {oauth_problem_slug(code) for code in OAUTH_ERRORS}
    missing = [slug for slug in sorted(slugs) if client.get(f"/problems/{slug}").status_code != 200]
    assert not missing
    listed = client.get("/problems").get_data(as_text=True)
    assert all(f"/problems/{slug}" in listed for slug in slugs)
    page = client.get("/problems/oauth-invalid-grant?lang=en").get_data(as_text=True)
    assert "RFC 6749" in page
    assert client.get("/problems/no-such-problem").status_code == 404


def test_a_real_oauth_error_names_a_documented_type(client):
    answer = client.post(
        "/oauth/token", data={"grant_type": "password", "username": "x", "password": "y"}
    )
    body = answer.get_json()
    assert answer.status_code in (400, 401)
    slug = body["type"].rsplit("/problems/", 1)[1]
    assert slug.startswith("oauth-")
    assert client.get(f"/problems/{slug}").status_code == 200
