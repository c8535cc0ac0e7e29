"""The agreement lifecycle as a table: (status, action, caller) -> resulting status or refusal.

DOMAIN.md: draft -> each party signs -> active (or signed until its start date) ->
expired on its end date; suspended <-> active; terminated; a renewal supersedes.
A refusal changes nothing: same stored status, same revision, no audit entry.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.signals import agreement_changed
from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from referral_hub.problems import Problem
from tests.agreements_support import BALIKPAPAN, BONTANG, OPERATOR, PPU, actor, build, stored

ACTIONS = ("sign", "patch", "suspend", "resume", "terminate", "renew")

#: For a party (PPU, with Balikpapan the other party): what each action leads to.
#: A string is the effective status of the agreement the action returns (renew returns
#: the new draft); a number is the HTTP status of the refusal.
PARTY_TABLE = {
    "draft": {
        "sign": "draft",  # one of two signatures: still a draft
        "patch": "draft",
        "suspend": 409,
        "resume": 409,
        "terminate": "terminated",  # a draft is withdrawn this way
        "renew": 409,
    },
    "signed": {
        "sign": 409,
        "patch": 409,
        "suspend": 409,
        "resume": 409,
        "terminate": "terminated",
        "renew": 409,
    },
    "active": {
        "sign": 409,
        "patch": 409,
        "suspend": "suspended",
        "resume": 409,
        "terminate": "terminated",
        "renew": "draft",
    },
    "suspended": {
        "sign": 409,
        "patch": 409,
        "suspend": 409,
        "resume": "active",
        "terminate": "terminated",
        "renew": "draft",
    },
    "terminated": dict.fromkeys(ACTIONS, 409),
    "expired": {
        "sign": 409,
        "patch": 409,
        "suspend": 409,
        "resume": 409,
        "terminate": 409,
        "renew": "draft",
    },
    "superseded": dict.fromkeys(ACTIONS, 409),
}

ROWS = [
    (status, action, "party", expected)
    for status, actions in PARTY_TABLE.items()
    for action, expected in actions.items()
]
# An organisation that is not a party cannot even see the agreement; the hub operator
# sees it but only reads and audits.
ROWS += [(s, a, "outsider", 404) for s in ("draft", "active") for a in ACTIONS]
ROWS += [(s, a, "auditor", 403) for s in ("draft", "active") for a in ACTIONS]
# A person must be an administrator or supervisor of the party to change agreements.
ROWS += [("active", a, "caseworker", 403) for a in ("suspend", "terminate", "renew")]
ROWS += [("draft", a, "supervisor", r) for a, r in (("sign", "draft"), ("patch", "draft"))]

CALLERS = {
    "party": lambda: actor(PPU),
    "outsider": lambda: actor(BONTANG),
    "auditor": lambda: actor(OPERATOR, role="auditor", user_id="auditor-user"),
    "caseworker": lambda: actor(PPU, role="caseworker", user_id="caseworker-user"),
    "supervisor": lambda: actor(PPU, role="supervisor", user_id="supervisor-user"),
}


def _run(action: str, who, agreement_id: str) -> Agreement:
    if action == "sign":
        return ops.sign_agreement(who, agreement_id)
    if action == "patch":
        etag = ops.etag_of(stored(agreement_id))
        return ops.update_agreement(
            who, agreement_id, {"title": "Judul baru"}, if_match=f'"{etag}"'
        )
    if action == "suspend":
        return ops.suspend_agreement(who, agreement_id, reason="under review")
    if action == "resume":
        return ops.resume_agreement(who, agreement_id)
    if action == "terminate":
        return ops.terminate_agreement(who, agreement_id, reason="no longer needed")
    if action == "renew":
        return ops.renew_agreement(who, agreement_id)
    raise AssertionError(action)


def _audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.mark.parametrize(("status", "action", "caller", "expected"), ROWS)
def test_lifecycle_table(app_ctx, status, action, caller, expected):
    agreement_id = build(status)
    before = stored(agreement_id)
    assert ops.effective_status(before) == status
    before_revision, before_stored, audits = before.revision, before.status, _audit_count()

    if isinstance(expected, int):
        with pytest.raises(Problem) as refused:
            _run(action, CALLERS[caller](), agreement_id)
        assert refused.value.status == expected
        db.session.rollback()
        after = stored(agreement_id)
        assert (after.status, after.revision) == (before_stored, before_revision)
        assert _audit_count() == audits
        assert db.session.scalar(select(func.count()).select_from(Agreement)) == (
            2 if status == "superseded" else 1
        )
        return

    result = _run(action, CALLERS[caller](), agreement_id)
    db.session.commit()
    assert ops.effective_status(result) == expected
    assert _audit_count() > audits
    if action == "renew":
        assert result.supersedes_id == agreement_id
        assert result.version == before.version + 1
        # The old agreement carries on until the renewal is signed and in force.
        assert ops.effective_status(stored(agreement_id)) == status


def test_signing_records_who_when_and_what(app_ctx):
    agreement_id = build("draft")
    digest = ops.content_sha256(stored(agreement_id))
    ops.sign_agreement(actor(PPU), agreement_id)
    db.session.commit()
    agreement = stored(agreement_id)
    assert ops.effective_status(agreement) == "draft"
    (signature,) = agreement.signatures
    assert signature.organization.code == PPU
    assert signature.actor_kind == "client"
    assert signature.client_id == f"test-client-{PPU}"
    assert signature.content_sha256 == digest
    assert signature.signed_at is not None

    ops.sign_agreement(actor(BALIKPAPAN), agreement_id)
    db.session.commit()
    agreement = stored(agreement_id)
    assert ops.effective_status(agreement) == "active"
    assert agreement.activated_at is not None
    assert {s.content_sha256 for s in agreement.signatures} == {digest}


def test_signing_refuses_content_other_than_what_was_reviewed(app_ctx):
    agreement_id = build("draft")
    with pytest.raises(Problem) as refused:
        ops.sign_agreement(actor(PPU), agreement_id, content_sha256_seen="0" * 64)
    assert (refused.value.status, refused.value.slug) == (409, "content-changed")


def test_all_signatures_before_the_start_date_make_it_signed_not_active(app_ctx):
    agreement_id = build("signed")
    agreement = stored(agreement_id)
    assert agreement.status == "signed"
    assert agreement.activated_at is None
    assert not ops.covers_at(agreement)


def test_terminate_needs_a_reason(app_ctx):
    agreement_id = build("active")
    with pytest.raises(Problem) as refused:
        ops.terminate_agreement(actor(PPU), agreement_id, reason="   ")
    assert refused.value.status == 422
    assert "reason" in refused.value.errors


def test_events_reach_the_listeners_once_each(app_ctx):
    seen: list[tuple[str, str]] = []
    listener = lambda agreement, actor, how: seen.append((how, actor.organization_id))  # noqa: E731
    with agreement_changed.connected_to(listener):
        agreement_id = build("draft")
        ops.sign_agreement(actor(PPU), agreement_id)
        ops.sign_agreement(actor(BALIKPAPAN), agreement_id)
        ops.terminate_agreement(actor(PPU), agreement_id, reason="replaced by a new PKS")
        db.session.commit()
    assert [event for event, _ in seen] == [
        "agreement.signed",
        "agreement.signed",
        "agreement.activated",
        "agreement.terminated",
    ]
