"""Every action the code records, and every detail it records, has words in the audit log.

The actions and detail keys are read from the source itself (every `audit.record(...)` and
the agreements' `audit_change(...)`), so a new entry without words fails here, not in front
of an auditor.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

from referral_hub.audit.models import AuditEntry
from referral_hub.audit.wording import FIELDS, FLAGS, SILENT, Names, describe_entry
from referral_hub.portal.code_names import LABELS
from referral_hub.referrals.lifecycle import TRANSITIONS

PACKAGE = Path(__file__).resolve().parents[2] / "referral_hub"
#: Variables that hold an action, with the actions they take (read from their callers).
NAMED = {
    "event": {"agreement.suspended", "agreement.resumed", "agreement.terminated"},
    "action": set(),  # audit_change's own parameter, passed through
}


def _is_audit_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr == "record" and getattr(func.value, "id", "") == "audit"
    return isinstance(func, ast.Name) and func.id == "audit_change"


def _recorded() -> tuple[set[str], set[str]]:
    actions: set[str] = set()
    keys: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _is_audit_call(node)) or len(node.args) < 2:
                continue
            action = node.args[1]
            if isinstance(action, ast.Constant):
                actions.add(action.value)
            elif isinstance(action, ast.JoinedStr):
                text = ast.unparse(action)
                if "referral.{action}" in text:
                    actions |= {
                        f"referral.{a}" for a, t in TRANSITIONS.items() if not t.by_approver
                    }
                elif "client.{kind}" in text:
                    actions |= {f"client.{kind}" for kind in LABELS["disclosure"]}
                else:
                    raise AssertionError(f"an action this test cannot expand: {text}")
            elif isinstance(action, ast.IfExp):  # "a" if ... else "b"
                actions |= {action.body.value, action.orelse.value}
            elif isinstance(action, ast.Name) and action.id in NAMED:
                actions |= NAMED[action.id]
            else:
                raise AssertionError(f"{path}: an action this test cannot read")
            for arg in node.args[2:]:
                if isinstance(arg, ast.Dict):
                    keys |= {k.value for k in arg.keys if isinstance(k, ast.Constant)}
    return actions, keys


def test_every_recorded_action_has_a_name():
    actions, _keys = _recorded()
    assert {"agreement.signed", "agreement.paper_signature_disputed", "referral.sent"} <= actions
    assert sorted(actions - set(LABELS["audit_action"])) == []


def test_every_recorded_detail_is_said_in_words_or_left_out_on_purpose():
    _actions, keys = _recorded()
    assert {"data_categories", "recipients", "reason", "number"} <= keys
    assert sorted(keys - set(FIELDS) - set(FLAGS) - SILENT) == []


def _entry(action: str, object_type: str, object_id: str | None, detail: dict) -> AuditEntry:
    return AuditEntry(
        seq=1,
        at=dt.datetime(2026, 12, 3, 4, 58, tzinfo=dt.UTC),
        actor_kind="user",
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )


def test_an_entry_reads_as_words_with_its_numbers(app):
    referral_id, client_id = "a" * 32, "b" * 32
    names = Names(
        referrals={referral_id: "RJ-2026-000123"},
        clients={client_id: "KS-2026-0007"},
        organizations={"uptd-ppa-balikpapan": "UPTD PPA Kota Balikpapan"},
    )
    entry = _entry(
        "referral.sent",
        "referral",
        referral_id,
        {
            "number": "RJ-2026-000123",
            "recipient": "uptd-ppa-balikpapan",
            "client": client_id,
            "data_categories": ["identity", "contact"],
            "legal_basis": "consent",
            "respond_by": "2026-12-03T04:58:00+00:00",
        },
    )
    with app.test_request_context():
        words = describe_entry(entry, names)
    assert words["action"] == "Rujukan dibuat"
    assert words["object"] == "Rujukan RJ-2026-000123"
    assert "Penerima: UPTD PPA Kota Balikpapan." in words["details"]
    assert "Klien: KS-2026-0007." in words["details"]
    assert "Kategori data: Identitas, Kontak." in words["details"]
    assert "Dasar pemrosesan: Persetujuan klien." in words["details"]
    assert "Batas jawaban: 3 Des 2026, 12.58 WITA." in words["details"]
    assert referral_id not in str(words)
    assert client_id not in str(words)


def test_an_id_that_names_nothing_known_is_shortened(app):
    entry = _entry("case.plan_item_referred", "case", "c" * 32, {"referral": "d" * 32})
    with app.test_request_context():
        words = describe_entry(entry, Names())
    assert "c" * 32 not in str(words)
    assert "d" * 32 not in str(words)
    assert words["details"] == "Rujukan: dddddddd…."
