"""Signed checkpoints of the audit chain, and the rows that decide what is shared.

An attacker with the database to themselves (the append-only triggers switched off, as a
superuser can) cuts the newest entries, or rewrites one and recomputes every later hash:
the chain alone still verifies, a signed checkpoint (stored, or kept by a partner) does not.
Nor does a referral, consent or agreement whose deciding fields no longer match the chain.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import threading

import pytest
import sqlalchemy.exc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, insert, select, text, update

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.audit.chain import entry_hash
from referral_hub.audit.checkpoints import digest
from referral_hub.audit.models import AuditCheckpoint, AuditEntry
from referral_hub.audit.operations import hashed_fields, verify_chain
from referral_hub.delivery.models import Event, EventAudience
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from tests.referrals_support import ALL_REFERRAL_SCOPES, Scenario

SYSTEM = Actor.system("tests")
PREFIX = "referral_hub-audit-checkpoint:v1"


@pytest.fixture(autouse=True)
def _empty_log(app):
    """Start each test on an empty log (the session's partners load leaves an entry)."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE audit_entries, audit_checkpoints"))
        else:
            conn.execute(text("DELETE FROM audit_entries"))
            conn.execute(text("DELETE FROM audit_checkpoints"))


@contextlib.contextmanager
def _superuser(app):
    """A raw connection with the append-only triggers off (PostgreSQL), as an attacker's."""
    triggers = (
        ("audit_entries", "audit_entries_append_only"),
        ("audit_checkpoints", "audit_checkpoints_append_only"),
    )
    with app.app_context(), db.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            for table, trigger in triggers:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        yield conn
        if postgres:
            for table, trigger in triggers:
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))


def _append(app, count: int) -> None:
    with app.app_context():
        for i in range(count):
            audit.record(SYSTEM, "test.appended", "thing", str(i), {"i": i})
            db.session.commit()


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["hub", *args])


def _checkpoint(app) -> dict:
    result = _cli(app, "audit-checkpoint")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _verify(app, *args: str):
    result = _cli(app, "audit-verify", *args)
    report = json.loads(result.stdout.splitlines()[0])
    return result, report


def _rewrite(app, seq: int, detail: dict) -> None:
    """Change entry `seq`'s detail and recompute its hash and every later one, links included."""
    with app.app_context():
        rows = [
            hashed_fields(entry) | {"prev_hash": entry.prev_hash}
            for entry in db.session.scalars(
                select(AuditEntry).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)
            )
        ]
        db.session.remove()
    prev = rows[0]["prev_hash"]
    with _superuser(app) as conn:
        for row in rows:
            fields = {k: v for k, v in row.items() if k != "prev_hash"}
            if row["seq"] == seq:
                fields["detail"] = detail
            digest = entry_hash(prev, fields)
            conn.execute(
                update(AuditEntry.__table__)
                .where(AuditEntry.seq == row["seq"])
                .values(detail=fields["detail"], prev_hash=prev, hash=digest)
            )
            prev = digest


def _message(checkpoint: dict) -> bytes:
    """The signed text, built here from the documentation, not from the hub's code."""
    return (
        f"{PREFIX}\n{checkpoint['entries']}\n{checkpoint['head']}\n{checkpoint['at']}\n"
        f"{checkpoint['previous'] or ''}"
    ).encode()


def _entry_hash(app, seq: int) -> str:
    with app.app_context():
        return db.session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))


# --- signing and publishing ------------------------------------------------------------


def test_a_checkpoint_signs_the_head_and_any_ed25519_library_verifies_it(app, client, hub):
    _append(app, 5)
    checkpoint = _checkpoint(app)
    assert set(checkpoint) == {"entries", "head", "at", "key_id", "signature", "previous"}
    with app.app_context():
        entries = db.session.scalar(select(func.max(AuditEntry.seq)))
    assert checkpoint["entries"] == entries
    assert checkpoint["head"] == _entry_hash(app, entries)
    assert checkpoint["previous"] is None
    assert checkpoint["at"].endswith("Z")

    headers = hub.headers("polres-ppu", "audit:read")
    keys = client.get("/api/v1/audit/keys", headers=headers).get_json()
    key = next(k for k in keys if k["key_id"] == checkpoint["key_id"])
    assert key["algorithm"] == "Ed25519"
    assert key["current"] is True
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    public.verify(base64.b64decode(checkpoint["signature"]), _message(checkpoint))

    served = client.get("/api/v1/audit/checkpoints", headers=headers).get_json()
    assert served == [checkpoint]
    body = client.get("/api/v1/audit/verify", headers=headers).get_json()
    assert body["ok"] is True
    assert body["checkpoints"]["ok"] is True
    assert body["checkpoints"]["last"] == checkpoint
    assert body["records"]["ok"] is True


def test_each_checkpoint_names_the_one_before_it(app):
    _append(app, 2)
    first = _checkpoint(app)
    _append(app, 2)
    second = _checkpoint(app)
    assert second["entries"] == first["entries"] + 2
    # The digest of the first, as documented: SHA-256 of its signed text, key id, signature.
    named = _message(first) + f"\n{first['key_id']}\n{first['signature']}".encode()
    assert second["previous"] == hashlib.sha256(named).hexdigest()
    assert second["at"] >= first["at"]
    result, report = _verify(app)
    assert result.exit_code == 0, result.output
    assert report["checkpoints"]["checked"] == 2


def test_the_checkpoint_event_reaches_every_organisations_feed(app, client, hub):
    _append(app, 3)
    checkpoint = _checkpoint(app)
    with app.app_context():
        organisations = db.session.scalar(select(func.count()).select_from(Organization))
        event = db.session.scalar(select(Event).where(Event.type == "audit.checkpoint"))
        audience = db.session.scalar(
            select(func.count())
            .select_from(EventAudience)
            .where(EventAudience.event_id == event.id)
        )
        db.session.remove()
    assert audience == organisations
    for code in ("uptd-ppa-ppu", "polres-ppu", "dp3a-kaltim", "uptd-ppa-bontang"):
        feed = client.get("/api/v1/events", headers=hub.headers(code, "events:read")).get_json()
        items = [i for i in feed["items"] if i["type"] == "audit.checkpoint"]
        assert len(items) == 1, code
        data = items[0]["data"]
        assert {k: data[k] for k in checkpoint} == checkpoint
        assert data["links"]["self"].endswith("/api/v1/audit/checkpoints")


def test_the_periodic_job_signs_only_when_the_head_moved(app):
    from referral_hub.audit import tasks

    _append(app, 2)
    with app.app_context():
        assert tasks.sign_audit_checkpoint() == 2
        assert tasks.sign_audit_checkpoint() is None  # nothing new to sign
    _append(app, 1)
    with app.app_context():
        assert tasks.sign_audit_checkpoint() == 3
        counted = db.session.scalar(select(func.count()).select_from(AuditCheckpoint))
    assert counted == 2


@pytest.mark.commits  # writers in other threads
def test_jobs_signing_at_once_sign_the_head_once(app, is_postgres):
    from referral_hub.audit import tasks

    _append(app, 3)
    threads = 6 if is_postgres else 3
    start = threading.Barrier(threads)
    signed, errors = [], []

    def job() -> None:
        try:
            start.wait(timeout=30)
            with app.app_context():
                signed.append(tasks.sign_audit_checkpoint())
                db.session.remove()
        except Exception as error:  # collected and asserted below
            errors.append(repr(error))

    workers = [threading.Thread(target=job) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert sorted(signed, key=str) == [3] + [None] * (threads - 1)
    result, _report = _verify(app)
    assert result.exit_code == 0, result.output


def test_an_empty_chain_has_nothing_to_sign(app):
    result = _cli(app, "audit-checkpoint")
    assert result.exit_code != 0
    assert "empty" in result.output


# --- cutting and rewriting -------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 3])
def test_deleting_the_last_entries_fails_naming_the_checkpoint(app, cut):
    _append(app, 6)
    checkpoint = _checkpoint(app)
    with _superuser(app) as conn:
        conn.execute(
            text("DELETE FROM audit_entries WHERE seq > :keep"),
            {"keep": checkpoint["entries"] - cut},
        )
    with app.app_context():
        assert verify_chain().ok  # the chain alone cannot tell
    result, report = _verify(app)
    assert result.exit_code != 0
    assert report["ok"] is False
    assert report["checkpoints"]["ok"] is False
    failure = report["checkpoints"]["failures"][0]
    assert failure["entries"] == checkpoint["entries"]
    assert f"checkpoint #1 ({checkpoint['entries']} entries" in result.output
    assert "no longer reaches entry" in result.output


def test_rewriting_an_entry_and_every_later_hash_fails(app):
    _append(app, 6)
    checkpoint = _checkpoint(app)
    _rewrite(app, 3, {"i": 42, "rewritten": True})
    with app.app_context():
        assert verify_chain().ok  # a consistent chain, only not the one that was signed
    result, report = _verify(app)
    assert result.exit_code != 0
    assert report["checkpoints"]["failures"][0]["entries"] == checkpoint["entries"]
    assert "differs from the signed head" in result.output


def test_the_hub_refuses_to_sign_a_chain_that_does_not_extend_its_last_checkpoint(app):
    _append(app, 4)
    _checkpoint(app)
    _rewrite(app, 2, {"i": 7})
    _append(app, 1)
    result = _cli(app, "audit-checkpoint")
    assert result.exit_code != 0
    assert "does not extend" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 1
        from referral_hub.audit import tasks

        assert tasks.sign_audit_checkpoint() is None  # the job logs it and signs nothing
        assert db.session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 1


# --- a checkpoint a partner kept -------------------------------------------------------


def _keep(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return str(path)


def test_a_kept_checkpoint_finds_a_cut_hidden_by_deleting_the_stored_ones(
    app, client, hub, tmp_path
):
    _append(app, 5)
    _checkpoint(app)
    feed = client.get("/api/v1/events", headers=hub.headers("polres-ppu", "events:read"))
    item = next(i for i in feed.get_json()["items"] if i["type"] == "audit.checkpoint")
    as_event_data = _keep(tmp_path, "event-data.json", item["data"])
    as_webhook = _keep(
        tmp_path, "webhook.json", {"type": item["type"], "timestamp": "x", "data": item["data"]}
    )
    served = client.get(
        "/api/v1/audit/checkpoints", headers=hub.headers("polres-ppu", "audit:read")
    ).get_json()
    as_served = _keep(tmp_path, "served.json", served[0])

    # Before any harm, every form of the kept checkpoint verifies.
    for path in (as_event_data, as_webhook, as_served):
        result, report = _verify(app, "--checkpoint", path)
        assert result.exit_code == 0, result.output
        assert report["checkpoints"]["checked"] == 2

    with _superuser(app) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq > 3"))
        conn.execute(text("DELETE FROM audit_checkpoints"))
    result, _report = _verify(app)
    assert result.exit_code == 0, "without a kept copy the cut is invisible"
    for path in (as_event_data, as_webhook, as_served):
        result, report = _verify(app, "--checkpoint", path)
        assert result.exit_code != 0
        assert report["checkpoints"]["failures"][0]["source"] == path
        assert "no longer reaches entry 5" in result.output


def test_a_kept_checkpoint_missing_from_the_store_fails_even_when_the_chain_matches(app, tmp_path):
    _append(app, 3)
    path = _keep(tmp_path, "kept.json", _checkpoint(app))
    with _superuser(app) as conn:
        conn.execute(text("DELETE FROM audit_checkpoints"))
    result, _report = _verify(app, "--checkpoint", path)
    assert result.exit_code != 0
    assert "not among the hub's checkpoints" in result.output


def test_a_forged_signature_fails(app, tmp_path):
    _append(app, 4)
    checkpoint = _checkpoint(app)
    forger = Ed25519PrivateKey.generate()
    other = {**checkpoint, "entries": 3, "head": _entry_hash(app, 3)}
    other["signature"] = base64.b64encode(forger.sign(_message(other))).decode()
    result, _report = _verify(app, "--checkpoint", _keep(tmp_path, "forged.json", other))
    assert result.exit_code != 0
    assert "signature does not verify" in result.output

    unknown = {**checkpoint, "key_id": "nokey"}
    result, _report = _verify(app, "--checkpoint", _keep(tmp_path, "unknown.json", unknown))
    assert result.exit_code != 0
    assert "unknown key 'nokey'" in result.output


def test_a_kept_file_that_is_no_checkpoint_is_refused(app, tmp_path):
    _append(app, 1)
    path = _keep(tmp_path, "junk.json", {"entries": "many"})
    result = _cli(app, "audit-verify", "--checkpoint", path)
    assert result.exit_code != 0
    assert "junk.json" in result.output
    assert "not a checkpoint" in result.output


def test_a_kept_file_nested_too_deep_is_refused_as_no_checkpoint(app, tmp_path):
    _append(app, 1)
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = _cli(app, "audit-verify", "--checkpoint", str(path))
    assert result.exit_code == 2, result.output
    assert "deep.json" in result.output
    assert "not a checkpoint" in result.output


# --- the stored checkpoints themselves -------------------------------------------------


def test_a_forged_stored_checkpoint_fails(app):
    _append(app, 4)
    checkpoint = _checkpoint(app)
    forger = Ed25519PrivateKey.generate()
    with app.app_context():
        previous = digest(db.session.get(AuditCheckpoint, 1))
        db.session.remove()
    forged = {
        "id": 2,
        "entries": 4,
        "head": checkpoint["head"],
        "at": checkpoint["at"],
        "key_id": checkpoint["key_id"],
        "previous": previous,
    }
    forged["signature"] = base64.b64encode(forger.sign(_message(forged))).decode()
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            insert(AuditCheckpoint.__table__),
            [{**forged, "at": dt.datetime.fromisoformat(forged["at"].replace("Z", "+00:00"))}],
        )
    result, _report = _verify(app)
    assert result.exit_code != 0
    assert "checkpoint #2" in result.output
    assert "signature does not verify" in result.output


def test_an_altered_stored_checkpoint_breaks_the_link_to_the_next(app):
    _append(app, 3)
    _checkpoint(app)
    _append(app, 2)
    _checkpoint(app)
    _rewrite(app, 2, {"i": 9})
    with _superuser(app) as conn:
        # The attacker makes the first checkpoint match the rewritten chain...
        conn.execute(
            update(AuditCheckpoint.__table__)
            .where(AuditCheckpoint.id == 1)
            .values(head=select(AuditEntry.hash).where(AuditEntry.seq == 3).scalar_subquery())
        )
    result, _report = _verify(app)
    assert result.exit_code != 0
    # ... but its signature no longer holds, and the second one still signs the old head.
    assert "checkpoint #2" in result.output
    assert "does not follow checkpoint #1" in result.output


def test_checkpoints_are_append_only(app, is_postgres):
    if not is_postgres:
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    _append(app, 2)
    _checkpoint(app)
    with app.app_context():
        for statement in (
            "UPDATE audit_checkpoints SET entries = 1",
            "DELETE FROM audit_checkpoints",
        ):
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()


def test_checkpoint_routes_need_audit_read(client, hub):
    wrong = hub.headers("uptd-ppa-ppu", "events:read")
    for path in ("/api/v1/audit/checkpoints", "/api/v1/audit/keys"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=wrong).status_code == 403
    keys = client.get("/api/v1/audit/keys", headers=hub.headers("uptd-ppa-ppu", "audit:read"))
    assert [set(k) for k in keys.get_json()] == [{"key_id", "algorithm", "public_key", "current"}]


# --- the rows that decide what is shared -----------------------------------------------


@pytest.fixture
def story(app, client, hub):
    """A referral sent under an agreement and a consent, all through the operations."""
    scenario = Scenario(app, client, hub)
    referral = scenario.send()
    return scenario, referral


def test_normal_operation_verifies(app, story):
    scenario, referral = story
    scenario.act(referral["id"], "accept", scenario.balikpapan)
    result, report = _verify(app)
    assert result.exit_code == 0, result.output
    assert report["records"]["checked"] >= 3
    assert report["records"]["failures"] == []


def test_widening_a_referrals_categories_in_the_database_fails(app, story):
    from referral_hub.referrals.models import Referral

    _scenario, referral = story
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(Referral.__table__)
            .where(Referral.id == referral["id"])
            .values(data_categories=["demographics", "identity", "case_summary", "health"])
        )
    result, report = _verify(app)
    assert result.exit_code != 0
    assert report["records"]["failures"] == [
        {
            "object_type": "referral",
            "object_id": referral["id"],
            "fields": ["data_categories"],
            "reason": "changed",
        }
    ]
    assert f"referral {referral['id']}" in result.output


def test_sending_a_referral_to_another_recipient_in_the_database_fails(app, story):
    from referral_hub.referrals.models import Referral

    _scenario, referral = story
    with app.app_context(), db.engine.begin() as conn:
        bontang = conn.scalar(
            select(Organization.id).where(Organization.code == "uptd-ppa-bontang")
        )
        conn.execute(
            update(Referral.__table__)
            .where(Referral.id == referral["id"])
            .values(recipient_organization_id=bontang)
        )
    _result, report = _verify(app)
    assert report["records"]["failures"][0]["fields"] == ["recipient"]


def test_widening_a_consents_categories_or_recipients_in_the_database_fails(app, story):
    from referral_hub.clients.models import Consent, ConsentRecipient

    scenario, _referral = story
    consent_id = scenario.consent["id"]
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(Consent.__table__)
            .where(Consent.id == consent_id)
            .values(data_categories=["demographics", "identity", "case_summary", "health"])
        )
        polres = conn.scalar(select(Organization.id).where(Organization.code == "polres-ppu"))
        conn.execute(
            insert(ConsentRecipient.__table__),
            [{"consent_id": consent_id, "organization_id": polres}],
        )
    result, report = _verify(app)
    assert result.exit_code != 0
    assert report["records"]["failures"] == [
        {
            "object_type": "consent",
            "object_id": consent_id,
            "fields": ["data_categories", "recipients"],
            "reason": "changed",
        }
    ]


def test_undoing_a_consents_withdrawal_in_the_database_fails(app, client, story):
    from referral_hub.clients.models import Consent

    scenario, _referral = story
    consent_id = scenario.consent["id"]
    response = client.post(
        f"/api/v1/consents/{consent_id}/withdraw", json={"reason": "ditarik"}, headers=scenario.ppu
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    result, _report = _verify(app)
    assert result.exit_code == 0, result.output
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(Consent.__table__).where(Consent.id == consent_id).values(withdrawn_at=None)
        )
    _result, report = _verify(app)
    assert report["records"]["failures"] == [
        {
            "object_type": "consent",
            "object_id": consent_id,
            "fields": ["withdrawn"],
            "reason": "changed",
        }
    ]


def test_widening_an_agreements_services_in_the_database_fails(app, story):
    from referral_hub.agreements.models import AgreementService

    scenario, _referral = story
    with app.app_context(), db.engine.begin() as conn:
        balikpapan = conn.scalar(
            select(Organization.id).where(Organization.code == "uptd-ppa-balikpapan")
        )
        conn.execute(
            insert(AgreementService.__table__),
            [
                {
                    "agreement_id": scenario.agreement_id,
                    "service_code": "legal_aid",
                    "provider_id": balikpapan,
                    "position": 5,
                }
            ],
        )
    result, report = _verify(app)
    assert result.exit_code != 0
    failure = report["records"]["failures"][0]
    assert failure["object_type"] == "agreement"
    assert failure["object_id"] == scenario.agreement_id
    assert "services" in failure["fields"]
    assert f"agreement {scenario.agreement_id}" in result.output


def test_a_referral_row_the_chain_never_recorded_fails(app, story):
    from referral_hub.referrals.models import Referral

    _scenario, referral = story
    with app.app_context(), db.engine.begin() as conn:
        row = dict(
            conn.execute(select(Referral.__table__).where(Referral.id == referral["id"]))
            .mappings()
            .one()
        )
        conn.execute(
            insert(Referral.__table__),
            [{**row, "id": "f" * 32, "number": row["number"] + "X"}],
        )
    _result, report = _verify(app)
    assert report["records"]["failures"] == [
        {"object_type": "referral", "object_id": "f" * 32, "fields": [], "reason": "unrecorded"}
    ]


def test_an_agreement_recorded_before_its_fields_were_does_not_false_alarm(app, story):
    """A chain written before agreement entries named parties, services and categories.

    Such an entry holds only the content's hash: the row is checked against it, so a row as
    it was verifies and a widened one does not.
    """
    from referral_hub.agreements.models import Agreement

    scenario, _referral = story
    with app.app_context():
        created = db.session.scalar(
            select(AuditEntry).where(
                AuditEntry.object_id == scenario.agreement_id,
                AuditEntry.action == "agreement.created",
            )
        )
        legacy = {
            k: v
            for k, v in created.detail.items()
            if k not in ("parties", "services", "data_categories")
        }
        seq = created.seq
        db.session.remove()
    assert legacy != created.detail
    _rewrite(app, seq, legacy)
    result, report = _verify(app)
    assert result.exit_code == 0, result.output
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(Agreement.__table__)
            .where(Agreement.id == scenario.agreement_id)
            .values(
                data_categories=[
                    "identity",
                    "contact",
                    "guardian",
                    "case_summary",
                    "health",
                    "location",
                ]
            )
        )
    _result, report = _verify(app)
    assert report["records"]["failures"] == [
        {
            "object_type": "agreement",
            "object_id": scenario.agreement_id,
            "fields": ["content_sha256"],
            "reason": "changed",
        }
    ]


def test_the_api_names_only_objects_the_caller_may_see(app, client, hub, story):
    from referral_hub.referrals.models import Referral

    _scenario, referral = story
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(Referral.__table__)
            .where(Referral.id == referral["id"])
            .values(data_categories=["demographics", "identity", "case_summary", "health"])
        )
    outsider = client.get(
        "/api/v1/audit/verify", headers=hub.headers("uptd-ppa-bontang", "audit:read")
    ).get_json()
    assert outsider["ok"] is False
    assert outsider["records"]["failed"] == 1
    assert outsider["records"]["failures"] == []
    for code in ("uptd-ppa-balikpapan", "dp3a-kaltim"):
        party = client.get(
            "/api/v1/audit/verify", headers=hub.headers(code, ALL_REFERRAL_SCOPES)
        ).get_json()
        assert [f["object_id"] for f in party["records"]["failures"]] == [referral["id"]]


# --- the portal ------------------------------------------------------------------------


def test_the_audit_page_shows_the_last_checkpoint_and_the_verdict(app, hub):
    from tests.functional.test_portal_admin import _signed_in

    browser, _user = _signed_in(app, hub, "uptd-ppa-ppu", "auditor")
    _append(app, 3)
    checkpoint = _checkpoint(app)
    html = browser.get("/audit").get_data(as_text=True)
    assert "Titik periksa terakhir" in html
    assert checkpoint["head"] in html
    html = browser.get("/audit/verify").get_data(as_text=True)
    assert "Rantai utuh." in html
    assert "cocok dengan rantai" in html

    with _superuser(app) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq > 2"))
    html = browser.get("/audit/verify").get_data(as_text=True)
    assert "Rantai rusak." in html
    assert "Titik periksa no. 1" in html  # the broken checkpoint, named in words
