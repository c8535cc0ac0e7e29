"""Faults on the production stack: gunicorn, PostgreSQL, Redis and rq workers, all real, on
loopback. PostgreSQL restarted under load; two app processes and two workers on one database;
Redis flushed under pending deliveries.

The tests run on a PostgreSQL cluster and a redis-server of their own (started here on free
ports and thrown away afterwards), so restarting or flushing them disturbs nobody else.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis
from sqlalchemy import select, text

from referral_hub import create_app
from referral_hub.actors import Actor
from referral_hub.audit.models import AuditEntry
from referral_hub.audit.operations import verify_chain
from referral_hub.delivery.models import Event
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral, ReferralEvent
from tests.conftest import DIRECTORY_TABLES, Hub
from tests.delivery_support import (
    REPO,
    Receiver,
    RedisServer,
    WorkerProcess,
    free_port,
    wait_for,
    worker_env,
)
from tests.referrals_support import ALL_REFERRAL_SCOPES, BALIKPAPAN, PPU, Scenario

#: Commits for real: gunicorn, workers and databases in other processes.
pytestmark = pytest.mark.commits

#: Short clocks: the outbox sweep and the retry sweep every second, retries soon.
FAST = {
    "HUB_SCHEDULE_INTERVALS": "outbox-sweep=1,webhook-retries=1",
    "HUB_OUTBOX_SWEEP_AFTER": "1",
    "HUB_WEBHOOK_RETRY_SCHEDULE": "0.5",
    "HUB_WEBHOOK_TIMEOUT": "2,2",
    "HUB_WEBHOOK_LEASE_MARGIN": "1",
}
NUMBER = re.compile(r"^RJ-PPU-(\d{4})-(\d{6})$")


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres, redis_url) -> None:
    if not is_postgres:
        pytest.skip("the production stack runs on PostgreSQL; SQLite has no server to restart")


# --- a PostgreSQL cluster and a redis-server of this module's own --------------------------


def _pg_bindir() -> Path:
    wanted = os.environ.get("HUB_TEST_PG_BINDIR")
    if wanted:
        return Path(wanted)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        pytest.skip("PostgreSQL server binaries are not installed")
    return Path(found[-1]).parent


class Cluster:
    """A throwaway PostgreSQL cluster on a free loopback port (run as `postgres` under root)."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        # Not under pytest's 0700 temp folders: the postgres user must reach the data dir.
        self.root = Path(tempfile.mkdtemp(prefix="hub-pgfault-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.run = self.root / "run"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/hub"

    def _pg(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self.as_pg, *args], check=True, capture_output=True, timeout=timeout, cwd="/"
        )

    def start(self) -> None:
        self.run.mkdir()
        if self.as_pg:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.run, "postgres")
        self._pg(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.run}'\nmax_connections = 150\n"
                "fsync = off\nfull_page_writes = off\nlogging_collector = off\n"
            )
        self.pg_ctl("start")
        self._pg(
            str(self.bindir / "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", "-d", "postgres", "-c", "CREATE DATABASE hub",
        )  # fmt: skip

    def pg_ctl(self, command: str, *args: str) -> None:
        """Run pg_ctl; the server's output goes to the log, never to our captured pipes."""
        self._pg(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-w", "-t", "30", command, *args,
        )  # fmt: skip

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stack_config(app_config, cluster, tmp_path_factory) -> dict[str, Any]:
    """The settings of every process of the stack: the private cluster, the test's keys."""
    return {
        **app_config,
        "HUB_DATABASE_URL": cluster.url,
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("stack-instance")),
    }


@pytest.fixture(scope="module")
def stack_app(stack_config) -> Iterator[Any]:
    """An app on the private cluster, migrated and with partners.yaml, for setup and checks."""
    from flask_migrate import upgrade

    from referral_hub.directory.operations import load_partners

    app = create_app(stack_config)
    with app.app_context():
        upgrade(directory=str(REPO / "migrations"), revision="heads")
        load_partners(Actor.system("tests"), app.config["HUB_PARTNERS_FILE"])
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def fresh(stack_app, redis_server) -> Any:
    """Every table but the directory emptied, and Redis too: each test starts clean."""
    with stack_app.app_context():
        db.session.remove()
        db.engine.dispose()  # connections of an earlier test may predate a restart
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in DIRECTORY_TABLES]
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    Redis.from_url(redis_server.url).flushall()
    return stack_app


# --- processes ----------------------------------------------------------------------------


class Gunicorn:
    """`gunicorn wsgi:app` with two sync workers on a free loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "--workers", "2",
                "--bind", f"127.0.0.1:{self.port}",
                "--timeout", "30",
                "--graceful-timeout", "2",
                # One import in the master, forked: create_app opens no connection, and the
                # workers are up in a fraction of the time on a busy machine.
                "--preload",
                "--no-control-socket",
                "wsgi:app",
            ],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        def answers() -> bool:
            assert self.process.poll() is None, self.log_text()
            try:
                return requests.get(self.url + "/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answers, timeout=30, interval=0.1, explain=self.log_text)

    def stop(self) -> None:
        """Kill the master and its workers (its own process group): nothing to save here."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def stack(stack_config, redis_server, tmp_path) -> Iterator[Any]:
    """Start gunicorn instances and workers on the private cluster; all stopped at the end."""
    started: list[Any] = []

    class Stack:
        env = worker_env(stack_config, redis_server.url, **FAST)

        def gunicorn(self) -> Gunicorn:
            started.append(Gunicorn(self.env, tmp_path / f"gunicorn-{len(started)}.log"))
            return started[-1]

        def worker(self) -> WorkerProcess:
            log = tmp_path / f"worker-{len(started)}.log"
            started.append(WorkerProcess(self.env, log).start())
            return started[-1]

        def logs(self) -> str:
            return "\n".join(p.log_text()[-1500:] for p in started)

    try:
        yield Stack()
    finally:
        for process in reversed(started):
            with contextlib.suppress(Exception):
                if isinstance(process, WorkerProcess):
                    process.kill_hard()  # its state is in SQL; a warm shutdown costs seconds
                else:
                    process.stop()


# --- the parties --------------------------------------------------------------------------


class Parties:
    """The referral scenario on the private cluster; tokens fetched from a served /oauth/token."""

    def __init__(self, app, base_url: str, explain: Callable[[], str]) -> None:
        self.explain = explain
        hub = Hub(app, app.test_client())
        self.scenario = Scenario(app, hub.client, hub)
        self.hub = hub
        self.base_url = base_url

    def headers(self, org: str) -> dict[str, str]:
        creds = self.hub.oauth_client(org, ALL_REFERRAL_SCOPES)
        response = requests.post(
            self.base_url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
            timeout=10,
        )
        assert response.status_code == 200, response.text + self.explain()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def subscribe(self, url: str) -> None:
        response = requests.post(
            self.base_url + "/api/v1/webhooks",
            json={"url": url, "events": ["referral.requested"]},
            headers=self.headers(BALIKPAPAN),
            timeout=10,
        )
        assert response.status_code == 201, response.text + self.explain()


class Load:
    """Client threads POSTing referrals in a loop, each outcome recorded with its times."""

    def __init__(self, parties: Parties, urls: list[str], headers: dict[str, str]) -> None:
        self.body = parties.scenario.body()
        self.urls = urls
        self.headers = headers
        self.outcomes: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def _run(self, url: str, limit: int | None) -> None:
        session = requests.Session()
        sent = 0
        while not self.stop.is_set() and (limit is None or sent < limit):
            sent += 1
            started = time.monotonic()
            outcome: dict[str, Any] = {"started": started}
            try:
                response = session.post(
                    url + "/api/v1/referrals", json=self.body, headers=self.headers, timeout=15
                )
                outcome["status"] = response.status_code
                if response.status_code == 201:
                    outcome["referral"] = response.json()
                else:
                    outcome["text"] = response.text[:300]
                    outcome["content_type"] = response.headers.get("Content-Type")
                    outcome["retry_after"] = response.headers.get("Retry-After")
            except requests.RequestException as error:
                outcome["status"] = None
                outcome["text"] = repr(error)[:300]
                time.sleep(0.05)
            outcome["ended"] = time.monotonic()
            with self._lock:
                self.outcomes.append(outcome)

    def run(self, per_url: int, limit: int | None = None) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._run, args=(url, limit), daemon=True)
            for url in self.urls
            for _ in range(per_url)
        ]
        for thread in threads:
            thread.start()
        return threads

    def created(self) -> list[dict[str, Any]]:
        return [o["referral"] for o in self.outcomes if o["status"] == 201]


def _stored(app) -> dict[str, Any]:
    """What the database holds about referrals: rows, timelines, audit entries, events."""
    with app.app_context():
        db.session.remove()
        referrals = {r.id: r.number for r in db.session.scalars(select(Referral))}
        requested = set(
            db.session.scalars(
                select(ReferralEvent.referral_id).where(ReferralEvent.action == "requested")
            )
        )
        audited = list(
            db.session.scalars(
                select(AuditEntry.object_id).where(AuditEntry.action == "referral.sent")
            )
        )
        events = list(
            db.session.scalars(select(Event.subject_id).where(Event.type == "referral.requested"))
        )
        seqs = list(db.session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
        chain = verify_chain()
        db.session.remove()
    return {
        "referrals": referrals,
        "requested": requested,
        "audited": audited,
        "events": events,
        "seqs": seqs,
        "chain_ok": chain.ok,
    }


def _undispatched(app) -> list[str]:
    with app.app_context():
        db.session.remove()
        found = list(db.session.scalars(select(Event.id).where(Event.dispatched_at.is_(None))))
        db.session.remove()
        return found


def _assert_whole(stored: dict[str, Any], created: list[dict[str, Any]]) -> None:
    """Every 201 is a complete referral; nothing is half-written; numbers are unique."""
    referrals = stored["referrals"]
    for referral in created:
        assert referrals.get(referral["id"]) == referral["number"], referral
    assert set(referrals) == stored["requested"], "a referral without its 'requested' timeline"
    assert sorted(stored["audited"]) == sorted(referrals), "audit entries != referrals"
    assert sorted(stored["events"]) == sorted(referrals), "outbox events != referrals"
    assert len(set(referrals.values())) == len(referrals), "a referral number twice"
    assert stored["chain_ok"]
    assert stored["seqs"] == list(range(stored["seqs"][0], stored["seqs"][0] + len(stored["seqs"])))


# --- the scenarios ------------------------------------------------------------------------


def test_postgres_restart_under_load(fresh, stack, cluster):
    web = stack.gunicorn()
    stack.worker()
    web.wait_ready()
    parties = Parties(fresh, web.url, stack.logs)
    load = Load(parties, [web.url], parties.headers(PPU))

    threads = load.run(per_url=4)
    wait_for(lambda: len(load.created()) >= 8, timeout=20, explain=stack.logs)
    restart_began = time.monotonic()
    cluster.pg_ctl("restart", "-m", "fast")
    restarted = time.monotonic()
    wait_for(
        lambda: sum(1 for o in load.outcomes if o["started"] > restarted + 0.5) >= 8,
        timeout=20,
        explain=stack.logs,
    )
    load.stop.set()
    for thread in threads:
        thread.join(20)

    failed = [o for o in load.outcomes if o["status"] != 201]
    # The app recovers: everything sent once the server is back succeeds.
    after = [o for o in load.outcomes if o["started"] > restarted + 0.5]
    assert after
    assert all(o["status"] == 201 for o in after), (
        [o.get("text") for o in after if o["status"] != 201],
        stack.logs(),
    )
    # What failed, failed during the restart, and said so: 503 with Retry-After (come back),
    # never a 500 nor a claim that nothing was changed (a lost COMMIT may have gone through).
    for outcome in failed:
        assert restart_began - 1 < outcome["started"] < restarted + 0.5, outcome
        if outcome["status"] is not None:  # else the connection itself was refused
            # The servers' logs say where an answer other than 503 came from.
            assert outcome["status"] == 503, (outcome, stack.logs())
            assert outcome["content_type"] == "application/problem+json", outcome
            assert outcome["retry_after"] == "5", outcome
            assert "may or may not have been made" in outcome["text"], outcome

    stored = _stored(fresh)
    _assert_whole(stored, load.created())
    verify = subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "hub", "audit-verify"],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["ok"] is True
    # The worker lived through the restart too: every event of the outbox is dispatched.
    wait_for(lambda: not _undispatched(fresh), timeout=20, explain=stack.logs)
    print(
        f"\nrestart took {restarted - restart_began:.2f}s; {len(load.created())} created, "
        f"{len(failed)} failed: {sorted({str(o['status']) for o in failed})}"
    )


def test_two_app_processes_and_two_workers_share_one_database(fresh, stack):
    webs = [stack.gunicorn(), stack.gunicorn()]
    stack.worker()
    stack.worker()
    for web in webs:
        web.wait_ready()
    parties = Parties(fresh, webs[0].url, stack.logs)
    with Receiver() as receiver:
        parties.subscribe(receiver.url)
        load = Load(parties, [w.url for w in webs], parties.headers(PPU))
        for thread in load.run(per_url=2, limit=6):
            thread.join(60)

        assert [o["status"] for o in load.outcomes] == [201] * 24, load.outcomes
        stored = _stored(fresh)
        _assert_whole(stored, load.created())
        # One series per sender and year: 1..n, whichever process gave the number.
        serials = defaultdict(list)
        for number in stored["referrals"].values():
            year, serial = NUMBER.match(number).groups()
            serials[year].append(int(serial))
        for year, found in serials.items():
            assert sorted(found) == list(range(1, len(found) + 1)), (year, sorted(found))

        numbers = set(stored["referrals"].values())
        wait_for(
            lambda: numbers <= {b["data"]["number"] for b in receiver.bodies()},
            timeout=30,
            explain=stack.logs,
        )


def test_redis_flushed_outbox_sweeper_restores_delivery(fresh, stack, redis_server):
    failing = threading.Event()
    failing.set()
    accepted: set[str] = set()

    def respond(number: int, body: bytes, headers: dict[str, str]) -> int:
        if failing.is_set():
            return 500
        accepted.add(json.loads(body)["data"]["number"])
        return 204

    web = stack.gunicorn()
    worker = stack.worker()
    web.wait_ready()
    parties = Parties(fresh, web.url, stack.logs)
    with Receiver(respond) as receiver:
        parties.subscribe(receiver.url)
        load = Load(parties, [web.url], parties.headers(PPU))
        for thread in load.run(per_url=2, limit=3):
            thread.join(30)
        # Deliveries pending: their first attempts refused, retries due in Redis and SQL.
        wait_for(lambda: len(receiver.requests) >= 3, timeout=20, explain=stack.logs)
        # Events committed while no worker runs: their dispatch jobs wait in Redis.
        worker.kill_hard()
        for thread in load.run(per_url=2, limit=2):
            thread.join(30)
        assert [o["status"] for o in load.outcomes] == [201] * 10, load.outcomes
        numbers = {r["number"] for r in load.created()}

        # Redis loses everything: queued and scheduled jobs, the schedule's election keys.
        Redis.from_url(redis_server.url).flushall()
        failing.clear()
        flushed = time.monotonic()
        stack.worker()
        wait_for(lambda: numbers <= accepted, timeout=30, explain=stack.logs)
        print(f"\nall delivered {time.monotonic() - flushed:.2f}s after FLUSHALL")
        # At least once, and under one webhook-id per event however often it was sent.
        ids = defaultdict(set)
        for request, body in zip(receiver.requests, receiver.bodies(), strict=True):
            ids[body["data"]["number"]].add(request["headers"]["webhook-id"])
        assert set(ids) == numbers
        assert all(len(v) == 1 for v in ids.values()), ids
