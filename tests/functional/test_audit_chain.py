"""The audit chain: written with its change, unbroken under concurrency, tamper-evident."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
from pathlib import Path

import pytest
import sqlalchemy.exc
import yaml
from sqlalchemy import event, func, select, text

from referral_hub.accounts.operations import create_user
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.audit.models import GENESIS_HASH, AuditEntry
from referral_hub.audit.operations import verify_chain
from referral_hub.extensions import db
from tests.conftest import TEST_PASSWORD, problem

SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _empty_log(app):
    """Start each test on an empty log (the session's partners load leaves an entry)."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE audit_entries"))  # the trigger refuses DELETE
        else:
            conn.execute(text("DELETE FROM audit_entries"))


def _append(app, count: int, action: str = "test.appended") -> None:
    with app.app_context():
        for i in range(count):
            audit.record(SYSTEM, action, "thing", str(i), {"i": i})
            db.session.commit()


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


@contextlib.contextmanager
def _tampering(app):
    """A raw connection on which the append-only trigger (PostgreSQL) is off, then on again."""
    with app.app_context(), db.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.execute(
                text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
            )
        yield conn
        if postgres:
            conn.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"))


def _verify(app, splits: int = 6):
    """verify_chain's verdict, the same whether the chain is walked whole or cut in ranges.

    On PostgreSQL the ranges are walked by forked processes, elsewhere one after another;
    with a handful of entries and up to `splits` ranges, a range starts at every entry.
    """
    with app.app_context():
        whole = verify_chain(processes=1)
        for processes in range(2, splits + 1):
            assert verify_chain(processes=processes) == whole, processes
        # The session is still usable: a bad entry does not abort its transaction.
        assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar() >= 0
        db.session.rollback()
    return whole


def _row(app, seq: int) -> dict:
    with app.app_context():
        return dict(
            db.session.execute(select(AuditEntry.__table__).where(AuditEntry.seq == seq))
            .mappings()
            .one()
        )


# --- written in the same transaction as the change -------------------------------------


def test_entry_is_written_with_the_change(app):
    with app.app_context():
        user = create_user(
            SYSTEM,
            organization="uptd-ppa-ppu",
            email="new.worker@test.example",
            role="caseworker",
            password=TEST_PASSWORD,
        )
        # Queued, not yet written: the entry and the change commit together.
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        db.session.commit()
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_id == user.id))
        assert entry.action == "user.created"
        assert entry.seq == 1
        assert entry.prev_hash == GENESIS_HASH
        assert entry.detail["email"] == "new.worker@test.example"


def test_rolled_back_transaction_leaves_no_entry(app):
    with app.app_context():
        create_user(
            SYSTEM,
            organization="uptd-ppa-ppu",
            email="gone@test.example",
            role="caseworker",
            password=TEST_PASSWORD,
        )
        db.session.rollback()
        # The next transaction of the same session commits only its own entry.
        audit.record(SYSTEM, "test.after_rollback", "thing", "1")
        db.session.commit()
    assert _actions(app) == ["test.after_rollback"]


def test_closed_session_does_not_carry_entries_into_the_next_transaction(app):
    with app.app_context():
        audit.record(SYSTEM, "test.abandoned", "thing", "1")
        db.session.close()  # e.g. a request that ended without committing
        audit.record(SYSTEM, "test.committed", "thing", "2")
        db.session.commit()
    assert _actions(app) == ["test.committed"]


def test_rolled_back_savepoint_drops_only_its_own_entries(app):
    with app.app_context():
        audit.record(SYSTEM, "test.outer", "thing", "1")
        with contextlib.suppress(RuntimeError), db.session.begin_nested():
            audit.record(SYSTEM, "test.inner_rolled_back", "thing", "2")
            raise RuntimeError("the inner step failed")
        with db.session.begin_nested():
            audit.record(SYSTEM, "test.inner_kept", "thing", "3")
        db.session.commit()
    assert _actions(app) == ["test.outer", "test.inner_kept"]


def test_failed_commit_writes_no_entry(app):
    with app.app_context():
        create_user(
            SYSTEM,
            organization="uptd-ppa-ppu",
            email="first@test.example",
            role="caseworker",
            password=TEST_PASSWORD,
        )
        db.session.commit()
        second = create_user(
            SYSTEM,
            organization="uptd-ppa-ppu",
            email="second@test.example",
            role="caseworker",
            password=TEST_PASSWORD,
        )
        second.email = "first@test.example"  # a unique violation, met only at commit
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1
        assert verify_chain().ok


@pytest.mark.commits  # writers in other threads
@pytest.mark.parametrize("autoflush", [True, False])
def test_chain_lock_covers_only_the_chain(app, autoflush):
    # The transaction's own rows are written before the chain lock is taken: the lock,
    # held until the commit, covers reading the head and inserting the entries. Also when
    # the session does not autoflush before the lock's statement.
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    with app.app_context():
        user = create_user(
            SYSTEM,
            organization="uptd-ppa-ppu",
            email="locked.out@test.example",
            role="caseworker",
            password=TEST_PASSWORD,
        )
        user.email = "still.pending@test.example"  # a change left for the commit to flush
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            with contextlib.nullcontext() if autoflush else db.session.no_autoflush:
                db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
    lock = next(
        i
        for i, statement in enumerate(statements)
        if "pg_advisory_xact_lock" in statement or "SET seq = seq" in statement
    )
    assert any(s.startswith("UPDATE users") for s in statements[:lock]), statements
    after = statements[lock + 1 :]
    assert after, statements
    assert all("audit_entries" in s for s in after), after


# --- concurrency -----------------------------------------------------------------------


@pytest.mark.commits  # writers in other threads
def test_concurrent_writers_leave_one_unbroken_chain(app, is_postgres):
    # PostgreSQL: an advisory lock serialises appends. SQLite: its single writer lock,
    # taken before the head is read. Fewer threads on SQLite keep the test quick.
    threads, commits = (8, 25) if is_postgres else (4, 10)
    _append(app, 3, "test.before")
    errors: list[str] = []
    start = threading.Barrier(threads)

    def writer(n: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(commits):
                with app.app_context():
                    audit.record(SYSTEM, "test.concurrent", "thing", f"{n}-{i}", {"n": n})
                    db.session.commit()
        except Exception as error:  # collected and asserted below
            errors.append(repr(error)[:300])

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    expected = 3 + threads * commits
    with app.app_context():
        seqs = list(db.session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
        assert seqs == list(range(1, expected + 1))
        result = verify_chain()
    assert result.ok, result
    assert result.entries == expected


# --- tampering -------------------------------------------------------------------------


def test_an_untouched_chain_verifies_however_it_is_cut(app):
    _append(app, 7)
    result = _verify(app)
    assert result.ok
    assert result.entries == 7
    assert result.head == _row(app, 7)["hash"]


def test_editing_an_entry_fails_verification_at_that_entry(app):
    _append(app, 6)
    with _tampering(app) as conn:
        conn.execute(text("UPDATE audit_entries SET detail = :d WHERE seq = 4"), {"d": '{"i": 99}'})
    result = _verify(app)
    assert not result.ok
    assert result.first_bad_seq == 4
    assert "4" in result.reason
    assert result.entries == 3
    assert result.head == _row(app, 3)["hash"]


def test_editing_a_plain_column_fails_verification_at_that_entry(app):
    _append(app, 5)
    with _tampering(app) as conn:
        conn.execute(text("UPDATE audit_entries SET actor_label = 'someone else' WHERE seq = 2"))
    assert _verify(app).first_bad_seq == 2


@pytest.mark.parametrize("seq", [1, 3, 6])
def test_editing_the_time_fails_verification_at_that_entry(app, seq):
    _append(app, 6)
    later = _row(app, seq)["at"] + dt.timedelta(microseconds=1)
    with _tampering(app) as conn:
        conn.execute(
            text("UPDATE audit_entries SET at = :at WHERE seq = :seq"), {"at": later, "seq": seq}
        )
    result = _verify(app)
    assert (result.ok, result.first_bad_seq, result.reason) == (
        False,
        seq,
        f"entry {seq} was altered",
    )


def test_rehashing_an_edited_entry_is_caught_at_the_next(app):
    from referral_hub.audit.chain import entry_hash
    from referral_hub.audit.operations import hashed_fields

    _append(app, 5)
    with app.app_context():
        entry = db.session.get(AuditEntry, 3)
        entry_fields = hashed_fields(entry)
        prev = entry.prev_hash
        db.session.remove()
    entry_fields["detail"] = {"i": 42}
    forged = entry_hash(prev, entry_fields)
    with _tampering(app) as conn:
        conn.execute(
            text("UPDATE audit_entries SET detail = :d, hash = :h WHERE seq = 3"),
            {"d": json.dumps({"i": 42}), "h": forged},
        )
    result = _verify(app)
    # Entry 3 is self-consistent now, but entry 4 no longer follows it.
    assert not result.ok
    assert result.first_bad_seq == 4
    assert result.reason == "entry 4 does not follow entry 3"


def test_breaking_a_link_fails_verification_at_that_entry(app):
    _append(app, 6)
    with _tampering(app) as conn:
        conn.execute(text("UPDATE audit_entries SET prev_hash = :h WHERE seq = 5"), {"h": "f" * 64})
    result = _verify(app)
    assert (result.first_bad_seq, result.reason) == (5, "entry 5 does not follow entry 4")
    assert result.entries == 4


@pytest.mark.parametrize("seq", [1, 2, 5, 6])
def test_deleting_an_entry_fails_verification_at_the_missing_seq(app, seq):
    _append(app, 6)
    with _tampering(app) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = :seq"), {"seq": seq})
    result = _verify(app)
    if seq == 6:
        # The newest entry gone leaves a shorter chain; its head no longer matches the one
        # recorded elsewhere (the API's and the command's output name it).
        assert (result.ok, result.entries, result.head) == (True, 5, _row(app, 5)["hash"])
        return
    assert not result.ok
    assert result.first_bad_seq == seq
    assert "missing" in result.reason
    assert result.entries == seq - 1


def test_deleting_a_run_of_entries_fails_verification_at_the_first(app):
    _append(app, 9)
    with _tampering(app) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq BETWEEN 3 AND 7"))
    result = _verify(app, splits=9)
    assert (result.first_bad_seq, result.reason, result.entries) == (3, "entry 3 is missing", 2)


def test_reordering_entries_fails_verification_at_the_first_moved(app):
    _append(app, 6)
    with _tampering(app) as conn:
        # Entries 3 and 4 swap places (their contents and hashes), seq left in order.
        conn.execute(text("UPDATE audit_entries SET seq = -3 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_entries SET seq = 3 WHERE seq = 4"))
        conn.execute(text("UPDATE audit_entries SET seq = 4 WHERE seq = -3"))
    result = _verify(app)
    assert (result.first_bad_seq, result.reason) == (3, "entry 3 does not follow entry 2")


def test_inserting_an_entry_in_the_middle_is_caught(app):
    from referral_hub.audit.chain import entry_hash
    from referral_hub.audit.operations import hashed_fields

    _append(app, 5)
    second = _row(app, 2)
    forged_row = {**_row(app, 3), "action": "test.forged"}
    forged = entry_hash(second["hash"], hashed_fields(forged_row))
    with _tampering(app) as conn:
        # Entries 3.. move up one; a well-formed entry takes seq 3 after entry 2, and the old
        # entry 3 is relinked to it (prev_hash is unique: it cannot follow entry 2 too).
        for seq in (5, 4, 3):
            conn.execute(text("UPDATE audit_entries SET seq = seq + 1 WHERE seq = :s"), {"s": seq})
        conn.execute(text("UPDATE audit_entries SET prev_hash = :h WHERE seq = 4"), {"h": forged})
        conn.execute(
            AuditEntry.__table__.insert(),
            [{**forged_row, "prev_hash": second["hash"], "hash": forged}],
        )
    result = _verify(app)
    # The forged entry checks out; the one it displaced no longer hashes to its hash.
    assert (result.first_bad_seq, result.reason, result.entries) == (4, "entry 4 was altered", 3)


def test_inserting_an_entry_before_the_first_is_caught(app):
    _append(app, 3)
    row = {**_row(app, 1), "seq": 0, "prev_hash": "e" * 64, "hash": "d" * 64}
    with _tampering(app) as conn:
        conn.execute(AuditEntry.__table__.insert(), [row])
    result = _verify(app)
    assert (result.first_bad_seq, result.reason, result.entries) == (1, "entry 1 is missing", 0)


def test_details_of_every_json_shape_verify(app):
    details = [
        {"name": "Dinas P3A Kalimantan Timur — Ibu Siti 👩‍👧", "中文": "العربية"},
        {"z": 1, "a": {"y": [1, 2.5, -0.0, 1e16, 1.5e-7, None, True, False]}, "É": "é"},
        {"big": 2**70, "neg": -(2**63), "ctl": '\x00\x1f\x7f\n\t"\\', "sep": "\u2028"},
        {"nested": [[[]], {}, {"": ""}], "empty": ""},
        {},
    ]
    with app.app_context():
        for i, detail in enumerate(details):
            audit.record(SYSTEM, "test.shapes", "thing", str(i), detail)
            actor = Actor(
                kind="user",
                user_id="u1",
                organization_id="o1",
                label='Siti — « » "quoted"',
                role="caseworker",
            )
            audit.record(actor, "test.shapes", "thing", None, detail)
            db.session.commit()
    result = _verify(app, splits=4)
    assert result.ok, result
    assert result.entries == 2 * len(details)


@pytest.mark.parametrize("failure", ["error", "death"])
def test_a_range_whose_process_failed_is_walked_by_the_parent(app, is_postgres, failure, caplog):
    if not is_postgres:
        pytest.skip("ranges are walked by other processes on PostgreSQL only")

    def failing_child(_engine, _low, _high, _batch, send):
        if failure == "death":
            os._exit(3)
        send.send("OperationalError('connection refused')")
        send.close()

    _append(app, 6)
    with _tampering(app) as conn:
        conn.execute(text("UPDATE audit_entries SET action = 'x' WHERE seq = 5"))
    with app.app_context(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit, "_walk_in_child", failing_child)
        result = verify_chain(processes=3)
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 5, 4)
    assert "walking its range here" in caplog.text


def test_a_web_request_never_forks_the_walk(app, monkeypatch):
    # Even a single-threaded web worker: gunicorn could kill it on its timeout and leave
    # the children running with their database connections.
    monkeypatch.setattr(audit.threading, "active_count", lambda: 1)
    with app.test_request_context("/api/v1/audit/verify"):
        assert audit._processes_for(10**9) == 1


def test_append_only_trigger_refuses_update_and_delete(app, is_postgres):
    if not is_postgres:
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    _append(app, 2)
    with app.app_context():
        for statement in (
            "UPDATE audit_entries SET detail = '{}' WHERE seq = 1",
            "DELETE FROM audit_entries WHERE seq = 2",
        ):
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert verify_chain().ok


# --- the command and the API -----------------------------------------------------------


def test_cli_audit_verify(app):
    _append(app, 4)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hub", "audit-verify"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["ok"] is True

    with _tampering(app) as conn:
        conn.execute(text("UPDATE audit_entries SET action = 'x' WHERE seq = 2"))
    result = runner.invoke(args=["hub", "audit-verify"])
    assert result.exit_code != 0
    assert "entry 2" in result.output


def test_cli_audit_verify_on_an_empty_log(app):
    result = app.test_cli_runner().invoke(args=["hub", "audit-verify"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["entries"] == 0


def test_api_verify_shape(client, hub, app):
    _append(app, 3)
    headers = hub.headers("uptd-ppa-ppu", "audit:read")
    body = client.get("/api/v1/audit/verify", headers=headers).get_json()
    assert set(body) == {"ok", "entries", "head", "checkpoints", "records"}
    assert body["ok"] is True
    with app.app_context():
        head = db.session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
        assert body["entries"] == head.seq
        assert body["head"] == head.hash

    with _tampering(app) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 2"))
    broken = client.get("/api/v1/audit/verify", headers=headers).get_json()
    assert broken["ok"] is False
    assert broken["first_bad_seq"] == 2


def test_api_needs_audit_scope(client, hub):
    response = client.get("/api/v1/audit", headers=hub.headers("uptd-ppa-ppu", "directory:read"))
    assert response.status_code == 403
    assert problem(response)["type"].endswith("/insufficient-scope")


def test_api_shows_an_organisation_only_its_own_entries(client, hub):
    ppu = hub.org("uptd-ppa-ppu")
    polres = hub.org("polres-ppu")
    hub.user("uptd-ppa-ppu", "caseworker")
    hub.user("polres-ppu", "caseworker")
    ppu_headers = hub.headers("uptd-ppa-ppu", "audit:read")

    items = client.get("/api/v1/audit?page_size=100", headers=ppu_headers).get_json()["items"]
    assert items, "the organisation's own entries are listed"
    assert all(ppu["id"] in (e["organization_id"], e["subject_organization_id"]) for e in items)
    assert polres["id"] not in {e["subject_organization_id"] for e in items}
    assert {"user.created", "oauth.client_created"} <= {e["action"] for e in items}
    # Newest first.
    assert [e["seq"] for e in items] == sorted((e["seq"] for e in items), reverse=True)

    operator = hub.headers("dp3a-kaltim", "audit:read")
    everything = client.get("/api/v1/audit?page_size=100", headers=operator).get_json()
    subjects = {e["subject_organization_id"] for e in everything["items"]}
    assert {ppu["id"], polres["id"]} <= subjects
    assert everything["total"] > len(items)


def test_api_filters_by_object(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    headers = hub.headers("uptd-ppa-ppu", "audit:read")
    body = client.get(
        f"/api/v1/audit?object_type=user&object_id={user['id']}", headers=headers
    ).get_json()
    assert [e["action"] for e in body["items"]] == ["user.created"]


# --- what the foundation audits --------------------------------------------------------


def test_creating_clients_and_users_is_audited(app, hub):
    creds = hub.oauth_client("uptd-ppa-ppu", "directory:read")
    user = hub.user("uptd-ppa-ppu", "supervisor")
    with app.app_context():
        entries = {(e.action, e.object_id): e for e in db.session.scalars(select(AuditEntry))}
        client_entry = entries[("oauth.client_created", creds["client_id"])]
        assert client_entry.detail["organization"] == "uptd-ppa-ppu"
        assert creds["client_secret"] not in json.dumps(client_entry.detail)
        user_entry = entries[("user.created", user["id"])]
        assert user_entry.detail["role"] == "supervisor"
        assert TEST_PASSWORD not in json.dumps(user_entry.detail)
        assert verify_chain().ok


def test_loading_partners_is_audited(app, tmp_path, restore_directory):
    data = yaml.safe_load(Path(app.config["HUB_PARTNERS_FILE"]).read_text(encoding="utf-8"))
    data["organizations"].append(
        {
            "code": "rs-test-audit",
            "name": "Rumah Sakit Uji",
            "type": "health",
            "region_code": "64.09",
            "services": ["health_care"],
        }
    )
    path = tmp_path / "partners.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["hub", "load-partners", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "partners.loaded"))
        assert entry is not None
        assert entry.actor_kind == "system"
        assert "+rs-test-audit" in entry.detail["organizations"]


def test_api_since_beyond_the_years_utc_can_write_is_an_answer_not_a_500(client, hub):
    # Legal RFC 3339 with an offset, but before year 1 or after 9999 once in UTC: everything
    # is after the first, nothing after the second.
    hub.user("uptd-ppa-ppu", "caseworker")
    headers = hub.headers("uptd-ppa-ppu", "audit:read")
    everything = client.get("/api/v1/audit", headers=headers).get_json()["total"]
    assert everything > 0
    early = client.get("/api/v1/audit?since=0001-01-01T00:00:00%2B23:59", headers=headers)
    assert early.status_code == 200, early.get_data(as_text=True)
    assert early.get_json()["total"] == everything
    late = client.get("/api/v1/audit?since=9999-12-31T23:59:59-23:59", headers=headers)
    assert late.status_code == 200, late.get_data(as_text=True)
    assert late.get_json()["total"] == 0
