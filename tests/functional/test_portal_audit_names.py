"""The audit page names every action and object type for its reader, code beside it.

An administrator or the province's auditor reads "Rujukan dikirim" or "Data klien dibagikan",
not only `referral.sent` or `client.share`: every action the code records, and every object
type, has a name in the portal's languages (referral_hub/portal/code_names.py). The codes
stay on the page for the filter.
"""

from __future__ import annotations

import re
from pathlib import Path

from referral_hub.portal.code_names import LABELS
from referral_hub.referrals.lifecycle import TRANSITIONS
from tests.portal_sender_support import PPU, post, referral_form, signed_in
from tests.portal_sender_support import build_world as _build_world

PACKAGE = Path(__file__).resolve().parents[2] / "referral_hub"
#: audit.record(actor, "action", "object_type", ...), and the agreements' own _audit.
RECORDED = re.compile(
    r'\b(?:audit\.record|record|_audit)\(\s*[\w.()"]+,\s*(f?)"([^"]+)"(?:,\s*"([a-z_]+)")?', re.S
)


def _recorded() -> tuple[set[str], set[str]]:
    actions: set[str] = set()
    objects: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for is_f, action, object_type in RECORDED.findall(path.read_text()):
            if object_type:
                objects.add(object_type)
            if not is_f:
                actions.add(action)
            elif action == "referral.{action}":
                actions |= {f"referral.{a}" for a, t in TRANSITIONS.items() if not t.by_approver}
            elif action == "client.{kind}":
                actions |= {f"client.{kind}" for kind in LABELS["disclosure"]}
            else:
                raise AssertionError(f"an f-string action this test cannot expand: {action}")
    return actions, objects


def test_every_recorded_action_and_object_type_has_a_name():
    actions, objects = _recorded()
    assert {"referral.sent", "client.share", "consent.recorded", "user.unlocked"} <= actions
    assert {"referral", "client", "agreement"} <= objects
    assert sorted(actions - set(LABELS["audit_action"])) == []
    assert sorted(objects - set(LABELS["audit_object"])) == []


def test_the_audit_page_shows_the_names(app, hub):
    world = _build_world(app)
    caseworker = signed_in(app, hub, PPU)
    assert post(caseworker, "/referrals/new", referral_form(world)).status_code == 302
    admin = signed_in(app, hub, PPU, "org_admin")
    html = admin.get("/audit").get_data(as_text=True)
    assert "Rujukan dibuat" in html
    assert "referral.sent" not in html.split("<table", 1)[1]  # words, not codes
    assert "Data klien dibagikan" in html
    assert '<option value="referral">Rujukan</option>' in html
