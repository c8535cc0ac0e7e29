"""A scenario for the UPTD caseworkers' pages: PPU, a child client with canaries, a consent.

Built with the operations (the API's own tests cover the API): an agreement in force between
PPU and Balikpapan for psychological counselling that allows identity, contact, guardian,
case_summary and health; the child's mother consents to identity and case_summary only. Every
personal field holds a canary, so a page that shows more than it may is caught by a search.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

from referral_hub.actors import Actor
from referral_hub.clients.models import local_today
from referral_hub.clients.operations import record_consent, register_client
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.agreements_support import build
from tests.clients_support import CANARY, canary_body
from tests.conftest import _csrf_from
from tests.orgs import BALIKPAPAN, BONTANG, POLRES, PPU  # noqa: F401  (re-exported)

SERVICE = "psychological_counseling"
AGREEMENT_CATEGORIES = ["identity", "contact", "guardian", "case_summary", "health"]
CONSENT_CATEGORIES = ["identity", "case_summary"]
CHRONOLOGY = "CANARY-CHRONOLOGY-5512"
HEALTH = "CANARY-HEALTH-5512"
JUSTIFICATION = "CANARY-JUSTIFICATION-5512: laporan wajib ke polisi dalam 3x24 jam."
SENDER_REFERENCE = "CANARY-INTERNAL-5512"


@dataclass
class World:
    agreement_id: str
    client_id: str
    client_code: str
    consent_id: str
    balikpapan_id: str


def build_world(
    app,
    *,
    agreement_categories: list[str] | None = None,
    consent_categories: list[str] | None = None,
) -> World:
    """The agreement, the canary child and her mother's consent, committed."""
    with app.app_context():
        agreement_id = build(
            "active", data_categories=list(agreement_categories or AGREEMENT_CATEGORIES)
        )
        actor = Actor.system("tests")
        body = canary_body()
        body["birth_date"] = dt.date.fromisoformat(body["birth_date"])
        client = register_client(actor, organization=PPU, **body)
        consent = record_consent(
            actor,
            client,
            given_by="parent",
            giver_name=CANARY["giver_name"],
            giver_relationship="ibu kandung",
            child_assent=True,
            recipients=[BALIKPAPAN],
            services=[SERVICE],
            data_categories=list(consent_categories or CONSENT_CATEGORIES),
            method="written",
            evidence_sha256="a" * 64,
            valid_until=local_today() + dt.timedelta(days=365),
        )
        world = World(
            agreement_id,
            client.id,
            client.code,
            consent.id,
            find_organization(BALIKPAPAN).id,
        )
        db.session.commit()
        db.session.remove()
        return world


def signed_in(app, hub, org: str, role: str = "caseworker", email: str | None = None):
    """A fresh test client signed in as a new user of `org` with `role`."""
    user = hub.user(org, role, email)
    browser = app.test_client()
    response = hub.login(browser, user["email"])
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    browser.user = user
    return browser


def token(browser, path: str = "/") -> str:
    return _csrf_from(browser.get(path).get_data(as_text=True))


def post(browser, path: str, data: dict[str, Any], **kwargs):
    """A form POST with the CSRF token of the user's session (taken from the start page).

    An upload, `(BytesIO, name)`, is sent as a fresh copy: a form may be posted again."""
    fresh = {
        name: (io.BytesIO(value[0].getvalue()), value[1])
        if isinstance(value, tuple) and isinstance(value[0], io.BytesIO)
        else value
        for name, value in data.items()
    }
    return browser.post(path, data={**fresh, "csrf_token": token(browser)}, **kwargs)


def referral_form(world: World, **changes: Any) -> dict[str, Any]:
    """Every wizard field for a referral that every gate accepts; change one to meet a gate."""
    form: dict[str, Any] = {
        "step": "review",
        "go": "send",
        "client": world.client_id,
        "service": SERVICE,
        "to": world.balikpapan_id,
        "basis": "consent",
        "consent": world.consent_id,
        "data_categories": ["identity", "case_summary"],
        "urgency": "routine",
        "reason": CANARY["reason"],
        "sender_reference": SENDER_REFERENCE,
        "cs_violence_types": ["psychological", "physical"],
        "cs_incident_place_type": "household",
        "cs_chronology": CHRONOLOGY,
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def field_error(html: str, field: str) -> str | None:
    """The error text shown beside a form field (id f-<field>-error), if any."""
    match = re.search(rf'id="f-{re.escape(field)}-error">(.*?)</p>', html, re.S)
    if not match:
        return None
    text = re.sub(r'<span class="visually-hidden">.*?</span>', "", match.group(1))
    return re.sub(r"<[^>]+>", "", text).strip()
