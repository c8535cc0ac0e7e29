"""Every route of the URL map x every method x every kind of caller -> the declared outcome.

The expectations live in tests/authorization_expectations.py, one entry per endpoint. A
route missing from the table fails (a new route needs a decision), and so does an entry
whose route is gone. The calls are real: a seeded agreement, client, consent, referrals,
appointment, webhook and delivery, and their ids in the paths; API callers carry bearer
tokens, portal callers are signed in through /login and send a valid CSRF token.

One test walks the whole table and reports every mismatch at once; objects a caller is
expected to change (a referral it accepts, a webhook it deletes) are made fresh for it.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from referral_hub.extensions import db
from referral_hub.oauth.scopes import SCOPES
from tests.agreements_support import build
from tests.authorization_expectations import (
    EXPECTATIONS,
    PORTAL_KINDS,
    ROLES,
    Api,
    Codes,
    Open,
    Page,
)
from tests.conftest import _csrf_from
from tests.orgs import POLRES
from tests.referrals_support import (
    AGREEMENT_CATEGORIES,
    BALIKPAPAN,
    BONTANG,
    OPERATOR,
    PPU,
    Scenario,
)

ORGS = {"ppu": PPU, "bpp": BALIKPAPAN, "polres": POLRES, "op": OPERATOR, "bontang": BONTANG}
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
_numbers = itertools.count(1)
INTAKE_BODY = {
    "to": PPU,
    "channel": "walk_in",
    "reporter": {"is_victim": True},
    "victim": {"name": "Matrix", "sex": "female", "region_code": "64.09"},
}


def _is_api(rule) -> bool:
    return rule.rule.startswith(("/api/", "/hsds/"))


class Seed:
    """The objects behind the path parameters, and factories for fresh ones."""

    def __init__(self, app, http, hub) -> None:
        self.app, self.http, self.hub = app, http, hub
        # The webhook first, so the scenario's referral events have deliveries.
        ppu_hooks = hub.headers(PPU, "webhooks:write")
        self.ppu_hooks = ppu_hooks
        self.webhook_id = self.webhook()
        self.s = Scenario(app, http, hub)
        with app.app_context():
            self.draft_id = build(
                "draft", number=self._number(), data_categories=AGREEMENT_CATEGORIES
            )
            db.session.remove()
        self.s.ppu_agreements = hub.headers(PPU, "agreements:read")
        upload = http.post(
            f"/api/v1/agreements/{self.s.agreement_id}/documents",
            data={"file": (io.BytesIO(PDF), "pks.pdf", "application/pdf")},
            headers=hub.headers(PPU, "agreements:write"),
        )
        assert upload.status_code == 201, upload.get_data(as_text=True)
        self.document_id = upload.get_json()["id"]
        self.requested = self.s.send()
        self.accepted = self.s.in_status("accepted")
        self.appointment_id = self.appointment(self.accepted["id"])
        with app.app_context():
            from referral_hub.delivery import dispatch
            from referral_hub.delivery.models import WebhookDelivery

            dispatch.dispatch_pending()
            self.delivery_id = db.session.scalar(select(WebhookDelivery.id)) or "none"
            db.session.commit()
            db.session.remove()
        self.target_user = hub.user(PPU, "caseworker", email="target@test.example")["id"]
        self.ppu_cases = hub.headers(PPU, "cases:read cases:write clients:read referrals:write")
        self.case_id = self.case()
        self.item_id = self.plan_item(self.case_id)
        self.note_id = self.note(self.case_id)
        self.ppu_intakes = hub.headers(PPU, "intakes:read intakes:write")
        self.intake_id = self.intake()
        self.oauth_client_id = hub.oauth_client(PPU, "directory:read")["client_id"]
        self.invitation_id = self.invitation()

    def invitation(self) -> str:
        """An open invitation into PPU, sent by PPU's side (the system here)."""
        from referral_hub.accounts.invitations import create_invitation
        from referral_hub.actors import Actor

        with self.app.app_context():
            made, _token = create_invitation(
                Actor.system("matrix"),
                PPU,
                email=f"inv{next(_numbers)}@ppu.example",
                role="caseworker",
            )
            db.session.commit()
            invitation_id = made.id
            db.session.remove()
        return invitation_id

    @staticmethod
    def _number() -> str:
        # Digits inside a word: a renewal proposes "MATRIX/N7/2", never another seed's number.
        return f"MATRIX/N{next(_numbers)}"

    def webhook(self) -> str:
        made = self.http.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=self.ppu_hooks
        )
        assert made.status_code == 201, made.get_data(as_text=True)
        return made.get_json()["id"]

    def appointment(self, referral_id: str) -> str:
        made = self.http.post(
            f"/api/v1/referrals/{referral_id}/appointments",
            json={"starts_at": "2030-01-02T09:00:00+08:00", "mode": "in_person"},
            headers=self.s.balikpapan,
        )
        assert made.status_code == 201, made.get_data(as_text=True)
        return made.get_json()["id"]

    def agreement(self, status: str) -> str:
        with self.app.app_context():
            agreement_id = build(
                status, number=self._number(), data_categories=AGREEMENT_CATEGORIES
            )
            db.session.remove()
        return agreement_id

    def etag(self, agreement_id: str) -> str:
        got = self.http.get(f"/api/v1/agreements/{agreement_id}", headers=self.s.ppu_agreements)
        assert got.status_code == 200, got.get_data(as_text=True)
        return got.headers["ETag"]

    def put_target(self, referral_id: str) -> str:
        """The Task a PUT names: its body must carry the id of its path."""
        self.put_id = referral_id
        return referral_id

    def referral(self, status: str) -> str:
        return self.s.in_status(status)["id"]

    def case(self, status: str = "open") -> str:
        made = self.http.post(
            "/api/v1/cases",
            json={"client": self.s.client["id"], "risk_level": "medium"},
            headers=self.ppu_cases,
        )
        assert made.status_code == 201, made.get_data(as_text=True)
        case_id = made.get_json()["id"]
        if status == "closed":
            closed = self.http.post(
                f"/api/v1/cases/{case_id}/close", json={"reason": "other"}, headers=self.ppu_cases
            )
            assert closed.status_code == 200, closed.get_data(as_text=True)
        return case_id

    def plan_item(self, case_id: str) -> str:
        made = self.http.post(
            f"/api/v1/cases/{case_id}/plan-items",
            json={"service": "psychological_counseling", "provider": BALIKPAPAN, "note": "x"},
            headers=self.ppu_cases,
        )
        assert made.status_code == 201, made.get_data(as_text=True)
        return made.get_json()["id"]

    def note(self, case_id: str) -> str:
        made = self.http.post(
            f"/api/v1/cases/{case_id}/notes",
            json={"text": "matrix", "follow_up_on": "2030-01-01"},
            headers=self.ppu_cases,
        )
        assert made.status_code == 201, made.get_data(as_text=True)
        return made.get_json()["id"]

    def intake(self) -> str:
        """A walk-in PPU recorded itself (no agreement needed)."""
        made = self.http.post("/api/v1/intakes", json=INTAKE_BODY, headers=self.ppu_intakes)
        assert made.status_code == 201, made.get_data(as_text=True)
        return made.get_json()["id"]

    def case_etag(self, case_id: str) -> str:
        got = self.http.get(f"/api/v1/cases/{case_id}", headers=self.ppu_cases)
        assert got.status_code == 200, got.get_data(as_text=True)
        return got.headers["ETag"]

    def client_etag(self, client_id: str) -> str:
        got = self.http.get(f"/api/v1/clients/{client_id}", headers=self.ppu_cases)
        assert got.status_code == 200, got.get_data(as_text=True)
        return got.headers["ETag"]

    def consent(self) -> str:
        made = self.http.post(
            f"/api/v1/clients/{self.s.client['id']}/consents",
            json=_consent_body(self.s.consent),
            headers=self.s.ppu,
        )
        assert made.status_code == 201, made.get_data(as_text=True)
        return made.get_json()["id"]

    def shared(self) -> dict[str, str]:
        """Path parameters for every caller that is not expected to change anything."""
        return {
            "agreement_id": self.s.agreement_id,
            "document_id": self.document_id,
            "client_id": self.s.client["id"],
            "consent_id": self.s.consent["id"],
            "referral_id": self.requested["id"],
            "appointment_id": self.appointment_id,
            "webhook_id": self.webhook_id,
            "delivery_id": self.delivery_id,
            "id_or_code": PPU,
            "user_id": self.target_user,
            "invitation_id": self.invitation_id,
            "token": "not-a-token-the-hub-issued-xxxxxxxxxxxxxxxxxx",
            "slug": "insufficient-scope",
            "page": "webhooks",
            "case_id": self.case_id,
            "item_id": self.item_id,
            "note_id": self.note_id,
            "intake_id": self.intake_id,
            "filename": "hub.css",
        }


CONSENT_FIELDS = (
    "given_by",
    "giver_name",
    "giver_relationship",
    "child_assent",
    "method",
    "evidence_sha256",
    "valid_until",
)


def _consent_body(consent: dict[str, Any]) -> dict[str, Any]:
    """Another consent like the scenario's, for the identity category only."""
    return {k: consent[k] for k in CONSENT_FIELDS if k in consent} | {
        "recipients": [BALIKPAPAN],
        "services": ["psychological_counseling"],
        "data_categories": ["identity"],
    }


# endpoint -> path parameters that differ from Seed.shared for every caller
OVERRIDES: dict[str, Callable[[Seed], dict[str, str]]] = {
    "agreements_portal.export": lambda s: {"fmt": "csv"},
    "reports.get_report": lambda s: {"report": "referrals"},
    "reports_portal.show": lambda s: {"report": "referrals"},
    "reports_portal.export": lambda s: {"report": "referrals", "fmt": "xlsx"},
    "agreements.update_agreement": lambda s: {"agreement_id": s.draft_id},
    "agreements_portal.edit": lambda s: {"agreement_id": s.draft_id},
    "agreements_portal.act": lambda s: {"agreement_id": s.draft_id, "action": "sign"},
    "agreements.confirm_paper_signature": lambda s: {"organization": BALIKPAPAN},
    "agreements.dispute_paper_signature": lambda s: {"organization": BALIKPAPAN},
    "agreements_portal.answer": lambda s: {"party": BALIKPAPAN, "answer": "confirm"},
    "referrals.patch_appointment": lambda s: {"referral_id": s.accepted["id"]},
    "referrals.create_appointment": lambda s: {"referral_id": s.accepted["id"]},
    "referrals_portal.received_schedule": lambda s: {"referral_id": s.accepted["id"]},
    "referrals_portal.received_appointment": lambda s: {"referral_id": s.accepted["id"]},
    "referrals_portal.on_behalf_session_update": lambda s: {"referral_id": s.accepted["id"]},
    "referrals_portal.received_act": lambda s: {"action": "accept"},
    "fhir.update_task": lambda s: {"referral_id": s.put_target(s.requested["id"])},
    # An override waiting for its supervisor: hidden from the recipient as from outsiders.
    "referrals.approve_referral": lambda s: {"referral_id": s.referral("draft")},
    "referrals.decline_referral_approval": lambda s: {"referral_id": s.referral("draft")},
    "referrals_portal.approval": lambda s: {"referral_id": s.referral("draft")},
    "referrals_portal.approve": lambda s: {"referral_id": s.referral("draft")},
    "referrals_portal.decline": lambda s: {"referral_id": s.referral("draft")},
    "portal.oauth_client_disable": lambda s: {"client_id": s.oauth_client_id},
    "portal.oauth_client_rotate_secret": lambda s: {"client_id": s.oauth_client_id},
    "intake_portal.act": lambda s: {"action": "triage"},
    "static": lambda s: {"filename": _static_file(s.app)},
    "hsds.hsds_get_organization": lambda s: {"id": _hsds_id(s, "organization")},
    "hsds.hsds_get_service": lambda s: {"id": _hsds_id(s, "service", "case_management")},
}

# endpoint -> fresh path parameters for a caller expected to change the object
FRESH: dict[str, Callable[[Seed], dict[str, str]]] = {
    "agreements.sign_agreement": lambda s: {"agreement_id": s.agreement("draft")},
    "agreements.suspend_agreement": lambda s: {"agreement_id": s.agreement("active")},
    "agreements.resume_agreement": lambda s: {"agreement_id": s.agreement("suspended")},
    "agreements.terminate_agreement": lambda s: {"agreement_id": s.agreement("active")},
    "agreements.renew_agreement": lambda s: {"agreement_id": s.agreement("active")},
    "agreements_portal.act": lambda s: {"agreement_id": s.agreement("draft"), "action": "sign"},
    "clients.withdraw_consent": lambda s: {"consent_id": s.consent()},
    "clients_portal.consent_withdraw": lambda s: {"consent_id": s.consent()},
    "referrals.accept_referral": lambda s: {"referral_id": s.referral("requested")},
    "referrals.reject_referral": lambda s: {"referral_id": s.referral("requested")},
    "referrals.cancel_referral": lambda s: {"referral_id": s.referral("requested")},
    "referrals.enter_in_error_referral": lambda s: {"referral_id": s.referral("requested")},
    "referrals.start_referral": lambda s: {"referral_id": s.referral("accepted")},
    "referrals.hold_referral": lambda s: {"referral_id": s.referral("accepted")},
    "referrals.complete_referral": lambda s: {"referral_id": s.referral("accepted")},
    "referrals.fail_referral": lambda s: {"referral_id": s.referral("accepted")},
    "referrals.resume_referral": lambda s: {"referral_id": s.referral("on-hold")},
    "fhir.patch_task": lambda s: {"referral_id": s.referral("requested")},
    "fhir.update_task": lambda s: {"referral_id": s.put_target(s.referral("requested"))},
    "referrals_portal.cancel": lambda s: {"referral_id": s.referral("requested")},
    "referrals_portal.enter_in_error": lambda s: {"referral_id": s.referral("requested")},
    "referrals_portal.received_act": lambda s: {
        "referral_id": s.referral("requested"),
        "action": "accept",
    },
    "delivery.delete_one_webhook": lambda s: {"webhook_id": s.webhook()},
    "directory.revoke_one_invitation": lambda s: {"invitation_id": s.invitation()},
    "portal.organization_invitation_revoke": lambda s: {"invitation_id": s.invitation()},
    "cases.close_case": lambda s: {"case_id": s.case()},
    "cases.reopen_case": lambda s: {"case_id": s.case("closed")},
    "cases.refer_plan_item": lambda s: {"item_id": s.plan_item(s.case_id)},
    "cases.complete_follow_up": lambda s: {"note_id": s.note(s.case_id)},
    **{
        f"intakes.{name}": lambda s: {"intake_id": s.intake()}
        for name in ("forward_intake", "accept_intake", "decline_intake")
    },
    "delivery_portal.webhook_delete": lambda s: {"webhook_id": s.webhook()},
    "portal.user_deactivate": lambda s: {"user_id": s.hub_user()},
    "portal.oauth_client_rotate_secret": lambda s: {
        "client_id": s.hub.oauth_client(PPU, "directory:read")["client_id"]
    },
}

REASON = {"reason": "client moved to another district"}
# endpoint -> JSON body (API) or form fields (portal) that pass validation
BODIES: dict[str, Callable[[Seed], Any]] = {
    "agreements.create_agreement": lambda s: _agreement_body(s),
    "agreements.update_agreement": lambda s: {"notes": "reviewed by the legal unit"},
    "agreements.upload_document": lambda s: {
        "file": (io.BytesIO(PDF), "annex.pdf", "application/pdf")
    },
    "agreements.suspend_agreement": lambda s: REASON,
    "agreements.record_paper_signature": lambda s: {
        "organization": BALIKPAPAN,
        "signed_on": "2026-01-05",
        "document": s.document_id,
    },
    "agreements.dispute_paper_signature": lambda s: REASON,
    "agreements.terminate_agreement": lambda s: REASON,
    "agreements.renew_agreement": lambda s: {"expires_on": "2035-01-01"},
    "clients.create_client": lambda s: {
        "full_name": "Klien Matriks",
        "birth_date": "1990-01-01",
        "sex": "female",
        "domicile_region": "64.09",
    },
    "clients.search_clients": lambda s: {"code": "X-1"},
    "cases.search_cases": lambda s: {"client_name": "Siti"},
    "clients.client_matches": lambda s: {"full_name": "Siti Contoh", "age_years": 30},
    "directory.create_one_organization": lambda s: {
        "code": f"matrix-partner-{next(_numbers)}",
        "name": "Mitra Matriks",
        "type": "legal_aid",
    },
    "directory.update_one_organization": lambda s: {"name": "UPTD PPA Penajam Paser Utara"},
    "directory.invite": lambda s: {
        "email": f"invitee{next(_numbers)}@ppu.example",
        "role": "caseworker",
    },
    "clients.create_consent": lambda s: _consent_body(s.s.consent),
    "clients.withdraw_consent": lambda s: REASON,
    "clients.erase_client": lambda s: {"reason": "data_subject_request"},
    "clients.rectify_client": lambda s: {"phone": "0812-0000-1111"},
    "portal.user_reset_second_factor": lambda s: {"confirmed": "1"},
    "portal.oauth_client_disable": lambda s: {"confirmed": "1"},
    "portal.oauth_client_rotate_secret": lambda s: {"confirmed": "1"},
    "referrals.send_one_referral": lambda s: s.s.body(),
    "referrals.reject_referral": lambda s: REASON,
    "referrals.cancel_referral": lambda s: REASON,
    "referrals.enter_in_error_referral": lambda s: REASON,
    "referrals.decline_referral_approval": lambda s: REASON,
    "referrals.hold_referral": lambda s: REASON,
    "referrals.fail_referral": lambda s: REASON,
    "referrals.complete_referral": lambda s: {"outcome": "service_delivered"},
    "referrals.create_appointment": lambda s: {
        "starts_at": "2030-01-03T09:00:00+08:00",
        "mode": "phone",
    },
    "referrals.patch_appointment": lambda s: {"note": "moved to the afternoon"},
    "fhir.patch_task": lambda s: [{"op": "replace", "path": "/status", "value": "accepted"}],
    "fhir.update_task": lambda s: {
        "resourceType": "Task",
        "id": s.put_id,
        "status": "accepted",
        "intent": "order",
    },
    "delivery.create_one_webhook": lambda s: {"url": "http://127.0.0.1:9/other"},
    "cases.create_case": lambda s: {"client": s.s.client["id"], "risk_level": "low"},
    "cases.update_case": lambda s: {"risk_level": "high"},
    "cases.close_case": lambda s: {"reason": "other"},
    "cases.create_plan_item": lambda s: {"service": "outreach"},
    "cases.update_plan_item": lambda s: {"note": "matrix"},
    "cases.refer_plan_item": lambda s: {
        "consent": s.s.consent["id"],
        "data_categories": ["identity"],
    },
    "cases.create_note": lambda s: {"text": "matrix"},
    "intakes.create_intake": lambda s: INTAKE_BODY,
    "intakes.triage_intake": lambda s: {"risk_level": "high"},
    "intakes.forward_intake": lambda s: {"to": BALIKPAPAN},
    "intakes.accept_intake": lambda s: {
        "register": {
            "birth_date": "2014-01-01",
            "guardian": {"name": "Ibu Uji", "relationship": "ibu kandung", "phone": "081234567890"},
        }
    },
    "intakes.decline_intake": lambda s: REASON,
    "intakes.set_intake_clock": lambda s: {"high": 1, "medium": 6, "low": 72},
    "intake_portal.clock": lambda s: {"high": "1", "medium": "6", "low": "72"},
    "referrals_portal.cancel": lambda s: REASON,
    "referrals_portal.enter_in_error": lambda s: REASON,
    "referrals_portal.decline": lambda s: {"decline_reason": REASON["reason"]},
}


# endpoint -> request headers a valid call needs (an If-Match for optimistic locking)
HEADERS: dict[str, Callable[[Seed, dict[str, str]], dict[str, str]]] = {
    "agreements.update_agreement": lambda s, p: {"If-Match": s.etag(p["agreement_id"])},
    "cases.update_case": lambda s, p: {"If-Match": s.case_etag(p["case_id"])},
    "clients.rectify_client": lambda s, p: {"If-Match": s.client_etag(p["client_id"])},
    "fhir.patch_task": lambda s, p: {"Content-Type": "application/json-patch+json"},
}


def _agreement_body(seed: Seed) -> dict[str, Any]:
    from tests.agreements_support import content

    with seed.app.app_context():
        body = content(number=Seed._number())
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in body.items()}


def _static_file(app) -> str:
    from pathlib import Path

    folder = Path(app.static_folder)
    return next(p for p in sorted(folder.rglob("*")) if p.is_file()).relative_to(folder).as_posix()


def _hsds_id(seed: Seed, kind: str, *more: str) -> str:
    from referral_hub.interchange.hsds import hsds_id

    return hsds_id(kind, seed.hub.org(PPU)["id"], *more)


def _hub_user(self: Seed) -> str:
    return self.hub.user(PPU, "caseworker", email=f"fresh{next(_numbers)}@test.example")["id"]


Seed.hub_user = _hub_user  # type: ignore[attr-defined]


# --- callers ------------------------------------------------------------------------------


class Caller:
    """One kind of caller: a label, an HTTP client, headers, and a CSRF token for forms."""

    def __init__(self, label: str, http, headers=None, csrf: str | None = None, **kind) -> None:
        self.label, self.http, self.headers, self.csrf = label, http, headers or {}, csrf
        self.org: str | None = kind.get("org")
        self.role: str | None = kind.get("role")
        self.scopes: frozenset[str] | None = kind.get("scopes")


def _browser(app, hub, email: str | None = None):
    """A browser, signed in through the real form when given an email, and its CSRF token."""
    browser = app.test_client()
    if not email:
        return browser, _csrf_from(browser.get("/login").get_data(as_text=True))
    signed = hub.login(browser, email)
    assert signed.status_code == 302, (email, signed.get_data(as_text=True)[:500])
    home = browser.get("/")
    assert home.status_code == 200, (email, home.status_code, home.headers.get("Location"))
    return browser, _csrf_from(home.get_data(as_text=True))


def _api_callers(app, hub, session) -> dict[str, list[Caller]]:
    """Per required scope: no token, a session, PPU's token with that scope alone and with
    every scope but it (so no other scope may stand in for it), and each organisation's
    token with every scope."""
    every = sorted(SCOPES)
    common = [Caller("anonymous", app.test_client())]
    for kind, org in ORGS.items():
        headers = hub.headers(org, " ".join(every))
        common.append(Caller(f"{kind} token [all]", app.test_client(), headers, org=kind))
    common.append(Caller("ppu caseworker session", session[0], csrf=session[1]))
    by_scope = {}
    for scope in every:
        others = [s for s in every if s != scope]
        only = Caller(
            f"ppu token [{scope}]",
            app.test_client(),
            hub.headers(PPU, scope),
            org="ppu",
            scopes=frozenset({scope}),
        )
        but = Caller(
            f"ppu token [all but {scope}]",
            app.test_client(),
            hub.headers(PPU, " ".join(others)),
            org="ppu",
            scopes=frozenset(others),
        )
        by_scope[scope] = [*common[:1], only, but, *common[1:]]
    return by_scope


def _portal_callers(app, hub, seed: Seed) -> list[Caller]:
    anon, token = _browser(app, hub)
    callers = [Caller("anonymous", anon, csrf=token)]
    bearer, token = _browser(app, hub)
    callers.append(Caller("bearer token, no session", bearer, seed.s.ppu, csrf=token))
    for kind in PORTAL_KINDS:
        for role in ROLES:
            user = hub.user(ORGS[kind], role)
            browser, token = _browser(app, hub, user["email"])
            callers.append(Caller(f"{kind} {role}", browser, csrf=token, org=kind, role=role))
    return callers


# --- the matrix --------------------------------------------------------------------------


def _expected(entry: object, caller: Caller, rule) -> tuple[Codes, str]:
    if isinstance(entry, Open):
        signed = caller.role is not None
        if signed and entry.signed_in is not None:
            return entry.signed_in, entry.why
        return entry.outcome, entry.why
    if isinstance(entry, Api):
        if caller.org is None:
            return frozenset({401}), "no bearer token"
        if caller.scopes is not None and entry.scope not in caller.scopes:
            return frozenset({403}), f"needs {entry.scope}"
        return entry.outcomes[caller.org], entry.why
    assert isinstance(entry, Page)
    if caller.role is None:
        return frozenset({302}), "sign in first"
    return entry.expected(caller.org, caller.role), entry.why


def _check_shape(response, entry: object, caller: Caller, expected: Codes) -> str | None:
    """The form of a refusal: WWW-Authenticate, insufficient_scope, redirect to /login."""
    status = response.status_code
    challenge = response.headers.get("WWW-Authenticate", "")
    if isinstance(entry, Api) and status == 401:
        if not challenge.lower().startswith("bearer"):
            return "401 without a Bearer WWW-Authenticate challenge"
        if caller.org is None and "error=" in challenge:
            return f"401 without credentials names an error (RFC 6750 3.1): {challenge}"
    wrong_scope = caller.scopes is not None and entry.scope not in caller.scopes
    if isinstance(entry, Api) and status == 403 and wrong_scope:
        text = response.get_data(as_text=True)
        if "insufficient" not in text and "insufficient_scope" not in response.headers.get(
            "WWW-Authenticate", ""
        ):
            return "403 without insufficient_scope"
    location = response.headers.get("Location", "")
    if isinstance(entry, Page) and caller.role is None and "/login" not in location:
        return f"redirect to {response.headers.get('Location')}, not /login"
    return None


def _call(
    caller: Caller, method: str, path: str, body: dict[str, Any] | None, api: bool, extra=None
):
    if api:
        kwargs: dict[str, Any] = {"headers": {**caller.headers, **(extra or {})}}
        if body is not None and "file" in body:
            kwargs["data"] = body
        elif method in {"POST", "PATCH", "PUT"}:
            kwargs["json"] = body or {}
        return caller.http.open(path, method=method, **kwargs)
    data = dict(body or {})
    if method in {"POST", "PATCH", "PUT", "DELETE"} and caller.csrf:
        data["csrf_token"] = caller.csrf
    return caller.http.open(path, method=method, data=data or None, headers=caller.headers)


def _rules(app) -> list:
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))
    # Sign-in and sign-out last: they change the session every portal caller relies on.
    return sorted(rules, key=lambda r: r.endpoint.startswith("accounts."))


def test_every_route_has_a_declared_expectation_and_every_entry_a_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - set(EXPECTATIONS))
    stale = sorted(set(EXPECTATIONS) - endpoints)
    assert not missing, f"routes without an authorisation decision: {missing}"
    assert not stale, f"expectations for routes that no longer exist: {stale}"
    for rule in app.url_map.iter_rules():
        if _is_api(rule):
            # Nothing under /api/ is open: no token is 401, whatever the route.
            assert isinstance(EXPECTATIONS[rule.endpoint], Api), rule.endpoint
    for endpoint, entry in EXPECTATIONS.items():
        if isinstance(entry, dict):
            methods = {
                m
                for rule in app.url_map.iter_rules(endpoint)
                for m in rule.methods - IGNORED_METHODS
            }
            assert set(entry) == methods, (endpoint, set(entry), methods)


def test_every_route_answers_every_caller_as_declared(app, client, hub):
    seed = Seed(app, client, hub)
    portal = _portal_callers(app, hub, seed)
    session = next((c.http, c.csrf) for c in portal if c.label == "ppu caseworker")
    api_callers = _api_callers(app, hub, session)
    shared = seed.shared()
    mismatches: list[str] = []
    calls = 0
    for rule in _rules(app):
        entry_or_methods = EXPECTATIONS.get(rule.endpoint)
        if entry_or_methods is None:
            mismatches.append(f"{rule.endpoint}: no expectation")
            continue
        is_api = _is_api(rule) or isinstance(entry_or_methods, Api)
        for method in sorted(rule.methods - IGNORED_METHODS):
            entry = (
                entry_or_methods[method] if isinstance(entry_or_methods, dict) else entry_or_methods
            )
            callers = api_callers[entry.scope] if isinstance(entry, Api) else portal
            for caller in callers:
                expected, why = _expected(entry, caller, rule)
                params = dict(shared)
                if rule.endpoint in OVERRIDES:
                    params.update(OVERRIDES[rule.endpoint](seed))
                if rule.endpoint in FRESH and any(200 <= c < 400 for c in expected):
                    params.update(FRESH[rule.endpoint](seed))
                path = rule.build(
                    {k: v for k, v in params.items() if k in rule.arguments}, append_unknown=False
                )[1]
                body = BODIES[rule.endpoint](seed) if rule.endpoint in BODIES else None
                extra = HEADERS[rule.endpoint](seed, params) if rule.endpoint in HEADERS else None
                response = _call(caller, method, path, body, is_api, extra)
                response.close()
                calls += 1
                status = response.status_code
                where = f"{method} {rule.rule} ({rule.endpoint}) as {caller.label}"
                if status not in expected:
                    text = response.get_data(as_text=True)
                    detail = re.sub(r"\s+", " ", text)[:160]
                    mismatches.append(
                        f"{where}: got {status}, expected {sorted(expected)} ({why}) :: {detail}"
                    )
                    continue
                shape = _check_shape(response, entry, caller, expected)
                if shape:
                    mismatches.append(f"{where}: {shape}")
    print(f"authorisation matrix: {calls} calls")
    assert not mismatches, f"{len(mismatches)} of {calls} calls differ:\n" + "\n".join(mismatches)
