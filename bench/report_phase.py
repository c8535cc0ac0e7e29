"""The report phase alone, in this process: a year's province-wide referral report and a
unit's, at growing numbers of referrals stored, against the bare baseline's CPU per request.

    .venv/bin/python bench/report_phase.py --database postgresql+psycopg://hub@127.0.0.1:54329/x \
        --redis redis://127.0.0.1:63799/15 --sizes 100000,1000000

Creates a fresh database (dropped at the end unless --keep), migrates it, loads the
partners file, tops the directory up to 2,000 organisations (bench/seed.py's registry) and
the referrals up to each size (seed_network_referrals: every UPTD PPA sends, over three
years, with the answers in the timelines), then asks, through the Flask test client:

- `report_province`: GET /api/v1/reports/referrals?period=<last whole year>&group_by=recipient
  as the hub operator (every unit, small counts hidden);
- `report_unit`: the same report as the busiest UPTD PPA's own token (its referrals sent);
- `baseline`: bench/baseline_app.py's POST /records (Flask, SQLAlchemy, one INSERT) on the
  same cluster, the bare request every figure is divided by.

CPU per request counts this process and the PostgreSQL backends serving it (/proc), as
`make bench` counts the servers' and their backends'. Prints one JSON line per size and a
last line with everything; `--refresh` says whether the report's summary is refreshed first
(reports/tasks.py) and how long that took.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from bench import seed  # noqa: E402

RECORD = {"service": "psychological_counseling", "reason": "bench"}


def backend_cpu(dsn: str, database: str) -> float:
    """CPU seconds used so far by the backends connected to `database` (not this probe's)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        pids = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )
        ]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measure(
    call, n: int, dsn: str, database: str, expected: int, warm: int = 3
) -> dict[str, float]:
    for _ in range(warm):
        response = call()
        assert response.status_code == expected, response.get_data(as_text=True)[:300]
    walls = []
    cpu0, pg0 = time.process_time(), backend_cpu(dsn, database)
    for _ in range(n):
        started = time.perf_counter()
        response = call()
        walls.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expected
    cpu = (time.process_time() - cpu0) + (backend_cpu(dsn, database) - pg0)
    walls.sort()
    return {
        "p50_ms": round(statistics.median(walls), 1),
        "p95_ms": round(walls[max(0, round(0.95 * n) - 1)], 1),
        "cpu_ms": round(1000 * cpu / n, 2),
    }


def months_only(request, dims, months):
    """referral_reports._summarised as it was before the years' rows (commit 6affc32): a
    year's report sums the months' rows. Swapped in to measure before and after in one run."""
    from sqlalchemy import func, select

    from referral_hub.reports import referral_reports as rr
    from referral_hub.reports.models import ReferralMonth
    from referral_hub.reports.referral_facts import SUMS

    first, last = months
    where = [ReferralMonth.month >= first, ReferralMonth.month <= last]
    column = rr._scope_column(request, ReferralMonth)
    if column is not None:
        where.append(column == request.scope.organization_id)
    sums = [func.sum(getattr(ReferralMonth, name)).label(name) for name in SUMS]
    statement = select(*sums).select_from(ReferralMonth).where(*where)
    return [row for row in rr._grouped(statement, rr._columns(ReferralMonth), dims) if row["count"]]


def measure_cases(args, app, client, bearer, baseline, operator_creds, ring) -> dict:
    """Seed `args.cases` cases, then a unit's case report (the busiest unit's own cases, a
    year) and the province's, by violence type and by age band, against the bare baseline."""
    from referral_hub.actors import Actor
    from referral_hub.extensions import db
    from referral_hub.oauth.operations import create_client

    name, dsn = args.db_name, args.dsn
    with psycopg.connect(dsn) as conn:
        started = time.monotonic()
        added = seed.seed_cases(conn, ring, count=args.cases)
        seeded = time.monotonic() - started
        seed.analyze(conn, ("cases", "clients"))
        year = dt.date.today().year - 1
        in_year = conn.execute(
            "SELECT count(*) FROM cases c JOIN organizations o ON o.id = c.organization_id "
            "WHERE o.code = %s AND c.opened_at >= %s AND c.opened_at < %s",
            (added["busiest"], dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)),
        ).fetchone()[0]
    with app.app_context():
        unit, secret = create_client(
            Actor.system("bench:reports"),
            organization=added["busiest"],
            name="bench case reports",
            scope="reports:read",
        )
        db.session.commit()
        creds = (unit.client_id, secret)
        db.session.remove()
    own, province = bearer(creds), bearer(operator_creds)
    line: dict[str, object] = {
        "cases": added["cases"],
        "clients": added["clients"],
        "seed_seconds": round(seeded, 1),
        "unit_cases_in_year": in_year,
    }
    # Before: read from the cases themselves (no facts built yet), a few requests.
    path = f"/api/v1/reports/cases?period={year}&group_by=violence_type"
    line["report_cases_live"] = measure(
        lambda: client.get(path, headers=own), args.live_n, dsn, name, 200, warm=1
    )
    line["report_cases_province_live"] = measure(
        lambda: client.get(path, headers=province), 1, dsn, name, 200, warm=0
    )
    with app.app_context():
        from referral_hub.reports.case_summary import refresh_case_summary
        from referral_hub.reports.models import CaseFact

        started = time.monotonic()
        refresh_case_summary(full=True)  # rows loaded by COPY
        db.session.commit()
        line["facts_full_refresh_s"] = round(time.monotonic() - started, 2)
        line["facts_rows"] = db.session.query(CaseFact).count()
        db.session.remove()
    for dim in ("violence_type", "age_band"):
        path = f"/api/v1/reports/cases?period={year}&group_by={dim}"
        line[f"report_cases_{dim}"] = measure(
            lambda h=own, p=path: client.get(p, headers=h), args.n, dsn, name, 200
        )
        line[f"report_cases_province_{dim}"] = measure(
            lambda h=province, p=path: client.get(p, headers=h), args.n, dsn, name, 200
        )
    line["baseline"] = measure(
        lambda: baseline.post("/records", json=RECORD), args.n, dsn, name, 201
    )
    bare = line["baseline"]["cpu_ms"]
    for key, value in line.items():
        if key.startswith("report_"):
            value["cpu_ratio"] = round(value["cpu_ms"] / bare, 1)
    return line


def measure_months_only(call, n: int, dsn: str, database: str) -> dict[str, float]:
    """The province report as it was read before the years' rows: from the months'."""
    from referral_hub.reports import referral_reports

    years = referral_reports._summarised
    referral_reports._summarised = months_only
    try:
        return measure(call, n, dsn, database, 200)
    finally:
        referral_reports._summarised = years


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL of the cluster")
    parser.add_argument("--redis", required=True)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--organizations", type=int, default=2000)
    parser.add_argument("--agreements", type=int, default=2000)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--live-n", type=int, default=5)
    parser.add_argument("--cases", type=int, default=0, help="cases to seed after the sizes")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    base = make_url(args.database)
    # The database named in the URL (one per person on a shared cluster), else this one.
    name = base.database if base.database not in (None, "postgres") else "referral_hub_report_bench"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = base.set(database=name).render_as_string(hide_password=False)
    dsn = base.set(database=name, drivername="postgresql").render_as_string(hide_password=False)
    args.db_name, args.dsn = name, dsn
    keys = "k1:" + base64.b64encode(os.urandom(32)).decode()
    os.environ.update(
        HUB_ENV="production",
        HUB_DATABASE_URL=url,
        HUB_BASE_URL="https://hub.bench.invalid",
        HUB_SECRET_KEY=secrets.token_urlsafe(48),
        HUB_DATA_KEYS=keys,
        HUB_AUDIT_SIGNING_KEYS="a1:" + base64.b64encode(os.urandom(32)).decode(),
        HUB_RATE_LIMITS_LISTS="1000000/minute",
        HUB_INSTANCE_PATH="/tmp/referral_hub_report_bench",
        HUB_REDIS_URL=args.redis,
        BENCH_BASELINE_DATABASE_URL=url,
    )
    import setup_hub
    from flask_migrate import upgrade

    from referral_hub import create_app
    from referral_hub.actors import Actor
    from referral_hub.config import parse_key_ring
    from referral_hub.directory.operations import load_partners
    from referral_hub.extensions import db
    from referral_hub.oauth.operations import create_client
    from referral_hub.reports.models import ReferralMonth, ReferralYear
    from referral_hub.reports.summary import refresh_referral_summary

    app = create_app()
    with app.app_context():
        upgrade()
        load_partners(Actor.system("bench:reports"), app.config["HUB_PARTNERS_FILE"])
        db.session.commit()
        state = setup_hub.prepare()
        operator, secret = create_client(
            Actor.system("bench:reports"),
            organization="dp3a-kaltim",
            name="bench reports",
            scope="reports:read",
        )
        db.session.commit()
        operator_creds = (operator.client_id, secret)
        db.session.remove()
    import baseline_app

    baseline = baseline_app.create_baseline_app().test_client()
    client = app.test_client()
    proxy = {"X-Forwarded-Proto": "https"}

    def bearer(creds) -> dict[str, str]:
        response = client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=creds, headers=proxy
        )
        return {"Authorization": f"Bearer {response.get_json()['access_token']}", **proxy}

    year = dt.date.today().year - 1
    province_path = f"/api/v1/reports/referrals?period={year}&group_by=recipient"
    # Read from the referrals themselves: the summary holds no status. (A period that cuts a
    # month did this before; the province's reports now take whole months only.)
    live_path = f"/api/v1/reports/referrals?period={year}&group_by=status"
    results: dict[str, object] = {"year": year}
    ring = parse_key_ring(keys)
    started_all = time.monotonic()
    for size in [int(s) for s in args.sizes.split(",") if s]:
        with psycopg.connect(dsn) as conn:
            seed.seed_registry(
                conn,
                organizations=args.organizations,
                agreements=args.agreements,
                focus=state["sender"],
                focus_agreements=10,
                focus_service=state["service"],
            )
            have = seed.count_referrals(conn)
            started = time.monotonic()
            added = seed.seed_network_referrals(
                conn, ring, count=size - have, agreement_id=state["agreement_id"], seed=size
            )
            seeded = time.monotonic() - started
            seed.analyze(conn, ("referrals", "referral_events", "clients", "organizations"))
            busiest = conn.execute(
                "SELECT o.code FROM referrals r JOIN organizations o "
                "ON o.id = r.sender_organization_id GROUP BY o.code ORDER BY count(*) DESC LIMIT 1"
            ).fetchone()[0]
            stored = seed.count_referrals(conn)
        with app.app_context():
            unit, unit_secret = create_client(
                Actor.system("bench:reports"),
                organization=busiest,
                name=f"bench reports {size}",
                scope="reports:read",
            )
            db.session.commit()
            unit_creds = (unit.client_id, unit_secret)
            db.session.remove()
        province = bearer(operator_creds)
        own = bearer(unit_creds)
        with app.app_context():
            started = time.monotonic()
            months = refresh_referral_summary(full=True)  # rows loaded by COPY
            db.session.commit()
            full_refresh = time.monotonic() - started
            # A refresh as the job runs it every ten minutes: the months changed since.
            with psycopg.connect(dsn) as conn:
                conn.execute(
                    "UPDATE referrals SET updated_at = now() WHERE id IN "
                    "(SELECT id FROM referrals ORDER BY created_at DESC LIMIT 50)"
                )
                conn.commit()
            started = time.monotonic()
            changed = refresh_referral_summary()
            db.session.commit()
            incremental = time.monotonic() - started
            summary_rows = db.session.query(ReferralMonth).count()
            year_rows = (
                db.session.query(ReferralYear).filter(ReferralYear.year == str(year)).count()
            )
            month_rows = (
                db.session.query(ReferralMonth)
                .filter(ReferralMonth.month.between(f"{year}-01", f"{year}-12"))
                .count()
            )
            db.session.remove()
        line = {
            "stored": stored,
            "seeded": added,
            "seed_seconds": round(seeded, 1),
            "summary": {
                "months": months,
                "rows": summary_rows,
                "year_rows_months": month_rows,
                "year_rows_years": year_rows,
                "full_refresh_s": round(full_refresh, 2),
                "incremental_refresh_s": round(incremental, 2),
                "incremental_months": changed,
            },
            "report_province": measure(
                lambda h=province: client.get(province_path, headers=h), args.n, dsn, name, 200
            ),
            # The same year read from the referrals themselves (grouped by status).
            "report_province_live": measure(
                lambda h=province: client.get(live_path, headers=h), args.live_n, dsn, name, 200
            ),
            "report_unit": measure(
                lambda h=own: client.get(province_path, headers=h), args.n, dsn, name, 200
            ),
            "report_province_months": measure_months_only(
                lambda h=province: client.get(province_path, headers=h), args.n, dsn, name
            ),
            "baseline": measure(
                lambda: baseline.post("/records", json=RECORD), args.n, dsn, name, 201
            ),
        }
        bare = line["baseline"]["cpu_ms"]
        for key in (
            "report_province",
            "report_province_live",
            "report_unit",
            "report_province_months",
        ):
            line[key]["cpu_ratio"] = round(line[key]["cpu_ms"] / bare, 1)
        print(json.dumps({"size": size, **line}), flush=True)
        results[str(size)] = line
    if args.cases:
        results["cases"] = measure_cases(args, app, client, bearer, baseline, operator_creds, ring)
        print(json.dumps({"cases": results["cases"]}), flush=True)
    results["seconds"] = round(time.monotonic() - started_all)
    print(json.dumps(results))
    if not args.keep:
        with app.app_context():
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


if __name__ == "__main__":
    main()
