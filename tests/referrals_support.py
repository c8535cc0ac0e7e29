"""A scenario for referral tests: PPU refers a child to Balikpapan's clinical psychologist.

Everything is built through the API with OAuth tokens, except the agreement, which is built
by the registry's operations (its own tests cover its API).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referral_hub.extensions import db
from tests.agreements_support import build
from tests.clients_support import CANARY, canary_body, create_client, create_consent
from tests.orgs import BALIKPAPAN, BONTANG, KUKAR, OPERATOR, PPU  # noqa: F401  (re-exported)

ALL_REFERRAL_SCOPES = (
    "referrals:read referrals:write referrals:respond clients:read clients:write "
    "agreements:read events:read audit:read directory:read webhooks:write"
)

#: Case data canaries: travel on the referral itself.
CASE_CANARY = {"chronology": "CANARY-CHRONOLOGY-7731", "health": "CANARY-HEALTH-7731"}
#: Categories the agreement allows; the consent allows identity and case_summary only.
AGREEMENT_CATEGORIES = ["identity", "contact", "guardian", "case_summary", "health"]
CONSENT_CATEGORIES = ["identity", "case_summary"]


class Scenario:
    """Tokens of the four kinds of party, an active agreement, a child client and a consent."""

    def __init__(self, app, client, hub) -> None:
        self.http = client
        self.hub = hub
        self.ppu = hub.headers(PPU, ALL_REFERRAL_SCOPES)
        self.balikpapan = hub.headers(BALIKPAPAN, ALL_REFERRAL_SCOPES)
        self.bontang = hub.headers(BONTANG, ALL_REFERRAL_SCOPES)
        self.operator = hub.headers(OPERATOR, ALL_REFERRAL_SCOPES)
        with app.app_context():
            self.agreement_id = build("active", data_categories=AGREEMENT_CATEGORIES)
            db.session.remove()
        body = canary_body()
        self.client = create_client(client, self.ppu, body)
        self.consent = create_consent(
            client,
            self.ppu,
            self.client["id"],
            {
                "given_by": "parent",
                "giver_name": "Ibu Kandung Klien",
                "giver_relationship": "ibu kandung",
                "child_assent": True,
                "recipients": [BALIKPAPAN],
                "services": ["psychological_counseling"],
                "data_categories": CONSENT_CATEGORIES,
                "method": "written",
                "evidence_sha256": "a" * 64,
                "valid_until": (dt.date.today() + dt.timedelta(days=365)).isoformat(),
            },
        )

    def body(self, **changes: Any) -> dict[str, Any]:
        """A referral body that every gate accepts; change one field to meet one gate."""
        body = {
            "client": self.client["id"],
            "consent": self.consent["id"],
            "to": BALIKPAPAN,
            "service": "psychological_counseling",
            "urgency": "routine",
            "reason": CANARY["reason"],
            "data_categories": ["identity", "case_summary"],
            "case_data": {
                "case_summary": {
                    "violence_types": ["psychological", "physical"],
                    "incident_place_type": "household",
                    "chronology": CASE_CANARY["chronology"],
                }
            },
            "sender_reference": "PPU-INTERNAL-42",
        }
        body.update(changes)
        return {k: v for k, v in body.items() if v is not None}

    def send(self, **changes: Any) -> dict[str, Any]:
        response = self.http.post("/api/v1/referrals", json=self.body(**changes), headers=self.ppu)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    def act(self, referral_id: str, action: str, headers, **body: Any):
        return self.http.post(
            f"/api/v1/referrals/{referral_id}/{action}", json=body, headers=headers
        )

    def in_status(self, status: str) -> dict[str, Any]:
        """A fresh referral brought to `status` by the parties' own actions (a draft: an
        override sent by the unit's machine client, waiting for a supervisor)."""
        if status == "draft":
            return self.send(**{**override_body(self), "consent": None})
        referral = self.send()
        steps = {
            "requested": [],
            "accepted": [("accept", "recipient", {})],
            "rejected": [("reject", "recipient", {"reason": "no capacity this month"})],
            "cancelled": [("cancel", "sender", {"reason": "client moved away"})],
            "in-progress": [("accept", "recipient", {}), ("start", "recipient", {})],
            "on-hold": [("accept", "recipient", {}), ("hold", "recipient", {"reason": "ill"})],
            "completed": [
                ("accept", "recipient", {}),
                ("complete", "recipient", {"outcome": "service_delivered"}),
            ],
            "failed": [("accept", "recipient", {}), ("fail", "recipient", {"reason": "gone"})],
            "entered-in-error": [("enter-in-error", "sender", {"reason": "wrong client"})],
        }[status]
        for action, side, body in steps:
            headers = self.balikpapan if side == "recipient" else self.ppu
            response = self.act(referral["id"], action, headers, **body)
            assert response.status_code == 200, response.get_data(as_text=True)
        referral["status"] = status
        return referral


def user_headers(app, hub, org: str, user_id: str, scope: str = ALL_REFERRAL_SCOPES):
    """Bearer headers of a token issued to a user (as the code grant issues it).

    The code flow itself is tested in test_oauth_live; here only the token's row matters: the
    same row the grant writes, bound to the user.
    """
    import datetime as dt_
    import secrets

    from referral_hub.db import utcnow
    from referral_hub.directory.operations import find_organization
    from referral_hub.oauth.models import OAuthToken, secret_digest

    creds = hub.oauth_client(org, scope)
    access = secrets.token_urlsafe(32)
    with app.app_context():
        now = utcnow()
        db.session.add(
            OAuthToken(
                access_token_hash=secret_digest(access),
                client_id=creds["client_id"],
                organization_id=find_organization(org).id,
                user_id=user_id,
                scope=scope,
                issued_at=now,
                expires_at=now + dt_.timedelta(days=1),
            )
        )
        db.session.commit()
        db.session.remove()
    return {"Authorization": f"Bearer {access}"}


#: A justification long enough for the schema; it is the sender's own, never the recipient's.
JUSTIFICATION = "UU TPKS Pasal 41: sexual violence must be reported within 3x24 hours."


def override_body(s: Scenario, **changes: Any) -> dict[str, Any]:
    """The scenario's referral on a legal basis instead of the consent."""
    return s.body(
        consent=None,
        legal_basis="legal_obligation",
        justification=JUSTIFICATION,
        **changes,
    )
