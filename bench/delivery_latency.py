"""End-to-end webhook latency: from an event's commit to a partner's server receiving it.

Emits events at a steady rate (default 50/s for 20 s) through `emit()`, each in its own
transaction, while rq workers (`flask --app wsgi hub worker`, default 2) on real PostgreSQL
and Redis dispatch and deliver them to a receiver on loopback. Prints p50/p95/p99/max of
(received - commit started) and a final JSON line.

    eval "$(bash scripts/services.sh start)"
    .venv/bin/python bench/delivery_latency.py [--rate 50] [--seconds 20] [--workers 2]

The database is `referral_hub_bench_delivery` on the server of HUB_TEST_POSTGRES_URL
(created and migrated if missing, emptied of events at start); Redis database 2 of
HUB_TEST_REDIS_URL is flushed. Override with --database-url / --redis-url. It waits for
any other benchmark of bench/ (the lock of bench/run.sh): figures taken side by side with
another load mean nothing.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
#: Shared with bench/run.sh: one benchmark at a time on this machine.
LOCK_PATH = "/tmp/referral_hub_bench.lock"


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")


class Receiver:
    """Records when each event (by its referral id) first arrives."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.requests = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                label = json.loads(body)["data"]["referral_id"]
                with lock:
                    receiver.requests += 1
                    receiver.first_seen.setdefault(label, at)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50, help="events per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()

    pg = args.database_url or os.environ.get("HUB_TEST_POSTGRES_URL")
    redis_base = args.redis_url or os.environ.get("HUB_TEST_REDIS_URL")
    if not pg or not redis_base:
        print('needs PostgreSQL and Redis: eval "$(bash scripts/services.sh start)" first')
        return 2
    database_url = pg if args.database_url else _with_path(pg, "/referral_hub_bench_delivery")
    redis_url = redis_base if args.redis_url else _with_path(redis_base, "/2")
    lock = open(LOCK_PATH, "w")  # noqa: SIM115  (held until the process ends)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another benchmark holds {LOCK_PATH}; waiting for it")
        fcntl.flock(lock, fcntl.LOCK_EX)
    _ensure_database(database_url)

    from redis import Redis
    from sqlalchemy import text

    Redis.from_url(redis_url).flushdb()
    instance = tempfile.mkdtemp(prefix="hub-bench-")
    key = base64.b64encode(os.urandom(32)).decode()
    settings = {
        "HUB_ENV": "development",
        "HUB_DATABASE_URL": database_url,
        "HUB_REDIS_URL": redis_url,
        "HUB_DATA_KEYS": f"bench1:{key}",
        "HUB_SECRET_KEY": "bench-" + "x" * 40,
        "HUB_WEBHOOK_ALLOW_LOOPBACK": "1",
        "HUB_BASE_URL": "http://127.0.0.1:5000",
    }

    from flask_migrate import upgrade

    from referral_hub import create_app
    from referral_hub.actors import Actor
    from referral_hub.delivery.operations import create_webhook
    from referral_hub.delivery.outbox import emit
    from referral_hub.directory.operations import get_organization, load_partners
    from referral_hub.extensions import db

    app = create_app({**settings, "INSTANCE_PATH": instance})
    receiver = Receiver()
    with app.app_context():
        upgrade(directory=str(REPO / "migrations"), revision="heads")
        load_partners(Actor.system("bench"), app.config["HUB_PARTNERS_FILE"])
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE events, webhooks RESTART IDENTITY CASCADE"))
        ppu = get_organization("uptd-ppa-ppu").id
        bpp = get_organization("uptd-ppa-balikpapan").id
        create_webhook(
            Actor(organization_id=bpp, kind="client", client_id="bench"),
            url=receiver.url,
            events=["referral.requested"],
        )
        db.session.commit()

    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(settings, HUB_INSTANCE_PATH=instance)
    flask = str(Path(sys.executable).with_name("flask"))
    logs = [open(Path(instance) / f"worker-{n}.log", "wb") for n in range(args.workers)]  # noqa: SIM115
    procs = [
        subprocess.Popen(
            [flask, "--app", "wsgi", "hub", "worker"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        from rq import Worker

        connection = Redis.from_url(redis_url)
        deadline = time.monotonic() + 60
        while len(Worker.all(connection=connection)) < args.workers:
            if time.monotonic() > deadline:
                print("workers did not start; see", instance)
                return 1
            time.sleep(0.2)

        total = int(args.rate * args.seconds)
        committed: dict[str, float] = {}
        actor = Actor(organization_id=ppu, kind="client", client_id="bench")
        interval = 1 / args.rate
        start = time.monotonic()
        with app.app_context():
            for n in range(total):
                target = start + n * interval
                pause = target - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                label = f"bench-{n:06d}"
                emit(
                    actor,
                    "referral.requested",
                    subject_type="referral",
                    subject_id=label,
                    organizations=[ppu, bpp],
                    data={"referral_id": label, "number": f"RUJ-B-{n:06d}"},
                )
                committed[label] = time.time()
                db.session.commit()
        emitting = time.monotonic() - start
        deadline = time.monotonic() + 60
        while len(receiver.first_seen) < total and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()

    latencies = [
        (receiver.first_seen[label] - at) * 1000
        for label, at in committed.items()
        if label in receiver.first_seen
    ]
    lost = total - len(latencies)
    result = {
        "benchmark": "delivery_latency",
        "database": "postgresql",
        "rate_per_s": args.rate,
        "achieved_rate_per_s": round(total / emitting, 1),
        "seconds": args.seconds,
        "workers": args.workers,
        "events": total,
        "received": len(latencies),
        "lost": lost,
        "requests": receiver.requests,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 95), 1) if latencies else None,
        "p99_ms": round(_percentile(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
    }
    print(f"events: {total} at {result['achieved_rate_per_s']}/s with {args.workers} workers")
    print(f"received: {len(latencies)} (lost {lost}), requests: {receiver.requests}")
    print(
        f"commit -> receiver latency: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
        f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms"
    )
    print(json.dumps(result))
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
