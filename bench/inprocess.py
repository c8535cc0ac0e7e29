"""In-process cost of the hub's hot requests: SQL statements and CPU per request.

Runs the real app (production config, PostgreSQL) in this process through the Flask test
client, so that statement counts and CPU are the app's alone (no gunicorn, no network):

    .venv/bin/python bench/inprocess.py --database postgresql+psycopg://... [--profile create]

Prepares the working set with bench/setup_hub.py on a fresh database it creates and drops.
Prints one line per request kind: statements, CPU median (ms), wall median (ms).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True, help="PostgreSQL URL of the cluster")
    parser.add_argument("--redis", required=True, help="Redis URL (a database to flush)")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--statements", action="store_true", help="print one request's SQL")
    parser.add_argument("--cprofile", default=None, help="cProfile: regex of functions shown")
    parser.add_argument("--profile", choices=["create", "floor", "inbox", "coverage"], default=None)
    args = parser.parse_args()

    base = make_url(args.database)
    name = "referral_hub_inprocess"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = base.set(database=name).render_as_string(hide_password=False)
    os.environ.update(
        HUB_ENV="production",
        HUB_DATABASE_URL=url,
        HUB_BASE_URL="https://hub.bench.invalid",
        HUB_SECRET_KEY=secrets.token_urlsafe(48),
        HUB_DATA_KEYS="k1:" + base64.b64encode(os.urandom(32)).decode(),
        HUB_AUDIT_SIGNING_KEYS="a1:" + base64.b64encode(os.urandom(32)).decode(),
        HUB_RATE_LIMITS_LISTS="1000000/minute",
        HUB_INSTANCE_PATH="/tmp/referral_hub_inprocess",
        HUB_REDIS_URL=args.redis,
    )
    import setup_hub
    from flask_migrate import upgrade

    from referral_hub import create_app
    from referral_hub.actors import Actor
    from referral_hub.directory.operations import load_partners
    from referral_hub.extensions import db

    app = create_app()
    import floor_app

    floor_app.csrf.exempt(floor_app.floor)
    app.register_blueprint(floor_app.floor)
    with app.app_context():
        upgrade()
        with db.engine.begin() as connection:
            floor_app.Base.metadata.create_all(connection)
        load_partners(Actor.system("bench:inprocess"), app.config["HUB_PARTNERS_FILE"])
        db.session.commit()
        state = setup_hub.prepare()
        db.session.remove()
        counter = {"n": 0, "log": None}

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(_conn, _cursor, statement, *_a, **_k):
            counter["n"] += 1
            if counter["log"] is not None:
                counter["log"].append(" ".join(statement.split())[:160])

    client = app.test_client()

    def token(code: str) -> str:
        creds = state["oauth"][code]
        r = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
            headers={"X-Forwarded-Proto": "https"},
        )
        return r.get_json()["access_token"]

    sender = {"Authorization": f"Bearer {token('uptd-ppa-ppu')}", "X-Forwarded-Proto": "https"}
    recipient = {
        "Authorization": f"Bearer {token('uptd-ppa-balikpapan')}",
        "X-Forwarded-Proto": "https",
    }
    body = {
        "client": state["client_id"],
        "to": "uptd-ppa-balikpapan",
        "service": "psychological_counseling",
        "consent": state["consent_id"],
        "data_categories": ["identity", "case_summary"],
        "reason": "Klien membutuhkan asesmen dan konseling psikolog klinis.",
        "urgency": "routine",
        "case_data": {
            "case_summary": {
                "violence_types": ["psychological", "physical"],
                "incident_place_type": "household",
            }
        },
    }
    kinds = {
        "create": lambda: client.post("/api/v1/referrals", json=body, headers=sender),
        "floor": lambda: client.post("/api/v1/bench/floor", json=body, headers=sender),
        "inbox": lambda: client.get("/api/v1/referrals?box=received", headers=recipient),
        "coverage": lambda: client.get(
            "/api/v1/coverage?service=psychological_counseling", headers=sender
        ),
    }
    expected = {"create": 201, "floor": 201, "inbox": 200, "coverage": 200}
    results = {}
    for kind, call in kinds.items():
        for _ in range(5):
            r = call()
            assert r.status_code == expected[kind], r.get_data(as_text=True)
        if args.statements:
            counter["log"] = []
            call()
            print(f"--- {kind}: {len(counter['log'])} statements")
            print("\n".join(counter["log"]))
            counter["log"] = None
        cpu, wall, stmts = [], [], []
        for _ in range(args.n):
            counter["n"] = 0
            c0, w0 = time.process_time(), time.perf_counter()
            r = call()
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
            stmts.append(counter["n"])
            assert r.status_code == expected[kind], r.get_data(as_text=True)
        results[kind] = {
            "statements": statistics.median(stmts),
            "cpu_ms": round(statistics.median(cpu), 2),
            "wall_ms": round(statistics.median(wall), 2),
        }
        print(kind, json.dumps(results[kind]), flush=True)
    if args.profile and args.cprofile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.n):
            kinds[args.profile]()
        profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(args.cprofile)
    elif args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.n):
            kinds[args.profile]()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    print(json.dumps(results))
    with admin.connect() as conn:
        db_engine_dispose = app.extensions["sqlalchemy"]
        with app.app_context():
            db_engine_dispose.engine.dispose()
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


if __name__ == "__main__":
    main()
