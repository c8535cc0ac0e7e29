"""Drive the running hub and the bare baseline, seed data between phases, collect the figures.

Started by bench/run.sh once the hub (gunicorn), its rq workers and the baseline app are up;
run.sh prints the table and the JSON line this writes. Progress goes to stderr.

Phases, in this order (each says why it sits where it does):

1. webhook delivery latency at 50 referrals/s, on a quiet system with empty queues;
2. referral creation throughput against the baseline, interleaved rounds (wrk, 32
   connections), so that both see the same background load;
3. the recipient's inbox list with 10,000 then 100,000 referrals stored (bulk-seeded);
4. coverage with 2,000 organisations and 10,000 agreements (bulk-seeded);
5. reports: a year's province-wide referral report (the hub operator) and a unit's, with
   100,000 then 1,000,000 referrals stored between the 2,000 organisations (bulk-seeded,
   the monthly summary refreshed as its job would), and the case report once cases exist;
6. audit chain verification over 200,000+ entries (bulk-seeded), in this process.

Every CPU figure is also given as a ratio to the bare baseline's CPU per request measured in
the same run (`*_cpu_ratio`), and the targets are judged by those ratios: the machine's
speed moves between runs (the same code measured 2.2x slower on another day), a ratio does
not move with it. Referral creation is judged against the stack floor's throughput.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import requests

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench import seed  # noqa: E402
from referral_hub.config import parse_key_ring  # noqa: E402

#: Issue 16: figures judged as ratios to the bare baseline measured in the same run
#: (creation: to the stack floor's throughput); a year's province report also in ms.
TARGETS = {
    "referral_create_vs_floor": (">=", 0.25),
    "inbox_cpu_ratio_100k": ("<=", 5.0),
    "coverage_cpu_ratio": ("<=", 4.0),
    "webhook_p95_ms": ("<=", 1000.0),
    "audit_verify_entries_per_bare_request": (">=", 500.0),
    "report_province_cpu_ratio_1m": ("<=", 100.0),
    "report_province_p95_ms_1m": ("<=", 300.0),
    "report_cases_p95_ms": ("<=", 300.0),
}
#: CPU figures divided by the baseline's CPU per request: result key -> ratio key.
CPU_RATIOS = {
    "referral_create_cpu_ms": "referral_create_cpu_ratio_to_bare",
    "floor_cpu_ms": "floor_cpu_ratio",
    "inbox_cpu_ms_10k": "inbox_cpu_ratio_10k",
    "inbox_cpu_ms_100k": "inbox_cpu_ratio_100k",
    "coverage_cpu_ms": "coverage_cpu_ratio",
    "report_province_cpu_ms_100k": "report_province_cpu_ratio_100k",
    "report_province_cpu_ms_1m": "report_province_cpu_ratio_1m",
    "report_unit_cpu_ms_100k": "report_unit_cpu_ratio_100k",
    "report_unit_cpu_ms_1m": "report_unit_cpu_ratio_1m",
    "report_cases_cpu_ms": "report_cases_cpu_ratio",
}
#: The report phase's sizes: referrals spread over the network (the inbox phase's, all
#: between two organisations, come on top and are not counted).
REPORT_SIZES = (("100k", 100_000), ("1m", 1_000_000))
PROXY = {"X-Forwarded-Proto": "https"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces: the fields start after its closing parenthesis.
    return raw[raw.rindex(")") + 2 :].split()


def tree_cpu_seconds(root: int) -> float:
    """CPU time of a process and its descendants, including children that already exited
    (rq forks a work horse per job; its time reaches the worker when it is reaped)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        fields = _stat(pid)
        if fields:
            # utime, stime, cutime, cstime are fields 14-17 of stat(5).
            total += sum(int(x) for x in fields[11:15])
        todo.extend(children.get(pid, []))
    return total / TICKS


def pids_cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of single processes, e.g. PostgreSQL backends."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.state = json.loads(Path(args.state).read_text())
        self.hub = args.hub.rstrip("/")
        self.baseline = args.baseline.rstrip("/")
        self.floor = args.floor.rstrip("/") if args.floor else None
        self.out = Path(args.out_dir)
        self.db_url = os.environ["HUB_DATABASE_URL"].replace(
            "postgresql+psycopg://", "postgresql://"
        )
        self.ring = parse_key_ring(os.environ["HUB_DATA_KEYS"])
        self.results: dict[str, Any] = {}
        self.notes: list[str] = []
        self.receiver: subprocess.Popen | None = None
        self.arrivals = self.out / "webhook-arrivals.txt"
        self.tokens: dict[str, str] = {}
        self.pids: dict[str, list[int]] = {}
        for item in filter(None, args.pids.split(",")):
            name, _, pid = item.partition("=")
            self.pids.setdefault(name, []).append(int(pid))

    # --- plumbing ------------------------------------------------------------------------

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.db_url)

    def token(self, org_code: str) -> str:
        if org_code not in self.tokens:
            creds = self.state["oauth"][org_code]
            response = requests.post(
                self.hub + "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(creds["client_id"], creds["client_secret"]),
                headers=PROXY,
                timeout=30,
            )
            response.raise_for_status()
            self.tokens[org_code] = response.json()["access_token"]
        return self.tokens[org_code]

    def api(self, method: str, path: str, org_code: str, **kwargs: Any) -> requests.Response:
        headers = {**PROXY, "Authorization": "Bearer " + self.token(org_code)}
        return requests.request(method, self.hub + path, headers=headers, timeout=30, **kwargs)

    def referral_body(self) -> dict[str, Any]:
        """A referral as a caseworker sends it: consent-based, with a case summary."""
        return {
            "client": self.state["client_id"],
            "consent": self.state["consent_id"],
            "to": self.state["recipient"]["code"],
            "service": self.state["service"],
            "urgency": "routine",
            "reason": "Klien membutuhkan asesmen dan konseling psikolog klinis setelah "
            "kekerasan dalam rumah tangga; mohon jadwal sesi pertama minggu ini.",
            "data_categories": ["identity", "case_summary"],
            "case_data": {
                "case_summary": {
                    "violence_types": ["psychological", "physical"],
                    "incident_place_type": "household",
                }
            },
        }

    def backend_pids(self, names: tuple[str, ...]) -> list[int]:
        """The PostgreSQL backends of the named programs (run.sh sets each one's
        application_name to bench-<name>)."""
        with self.connect() as conn:
            return [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = ANY(%s)",
                    ([f"bench-{name}" for name in names],),
                )
            ]

    def cpu_snapshot(self, *names: str) -> dict[str, float]:
        """CPU seconds used so far by the named process trees and by their database backends."""
        snapshot = {
            name: sum(tree_cpu_seconds(pid) for pid in self.pids.get(name, [])) for name in names
        }
        backends = self.backend_pids(names)
        snapshot["postgres"] = pids_cpu_seconds(backends)
        snapshot["_backends"] = backends
        return snapshot

    def cpu_used(self, before: dict[str, Any]) -> dict[str, float]:
        """CPU seconds since `before`, over the same processes and the backends alive then."""
        names = [k for k in before if not k.startswith("_") and k != "postgres"]
        used = {
            name: sum(tree_cpu_seconds(pid) for pid in self.pids.get(name, [])) - before[name]
            for name in names
        }
        # Backends are pooled and long-lived; one that closed meanwhile is not counted.
        used["postgres"] = pids_cpu_seconds(before["_backends"]) - before["postgres"]
        return used

    def wrk(
        self,
        url: str,
        script: str,
        *,
        seconds: float,
        connections: int,
        threads: int,
        env: dict[str, str],
        label: str,
    ) -> dict[str, Any]:
        """Run wrk once; return its JSON report plus the CPU seconds wrk itself used."""
        command = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds:g}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(BENCH_DIR / script),
            url,
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            command,
            env={**os.environ, "BENCH_LUA_DIR": str(BENCH_DIR), **env},
            capture_output=True,
            text=True,
            check=False,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with (self.out / "wrk.log").open("a") as fh:
            fh.write(f"### {label}: {' '.join(command)}\n{done.stdout}{done.stderr}\n")
        line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({label}): {done.stderr.strip() or done.stdout}")
        report = json.loads(line.removeprefix("WRK_JSON "))
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        report["wrk_cpu_share"] = round(cpu / report["seconds"], 3)
        return report

    def wait_until(self, check, timeout: float, what: str) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.5)
        log(f"gave up waiting for {what} after {timeout:.0f}s")
        return False

    def delivery_backlog(self) -> int:
        """Webhook deliveries not yet made, events not yet dispatched, e-mails not yet sent."""
        with self.connect() as conn:
            pending = conn.execute(
                "SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'retrying')"
            ).fetchone()[0]
            undispatched = conn.execute(
                "SELECT count(*) FROM events WHERE dispatched_at IS NULL"
            ).fetchone()[0]
            unsent = conn.execute(
                "SELECT count(*) FROM notifications WHERE status IN ('pending', 'retrying')"
            ).fetchone()[0]
        return pending + undispatched + unsent

    # --- webhook receiver --------------------------------------------------------------------

    def start_receiver(self) -> str:
        port = self.args.receiver_port
        self.arrivals.write_text("")
        self.receiver = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "receiver.py"), str(port), str(self.arrivals)],
            stdout=subprocess.DEVNULL,
            stderr=(self.out / "receiver.log").open("w"),
        )
        url = f"http://127.0.0.1:{port}/hooks/referrals"

        def ready() -> bool:
            try:
                return requests.get(url, timeout=1).status_code == 200
            except requests.RequestException:
                return False

        if not self.wait_until(ready, 15, "the webhook receiver"):
            raise RuntimeError("the webhook receiver did not start")
        return url

    def stop_receiver(self) -> None:
        if self.receiver is not None and self.receiver.poll() is None:
            self.receiver.terminate()
            self.receiver.wait(10)

    def subscribe(self, url: str) -> None:
        """The recipient subscribes to new referrals, as a partner system would."""
        response = self.api(
            "POST",
            "/api/v1/webhooks",
            self.state["recipient"]["code"],
            json={"url": url, "events": ["referral.requested"]},
        )
        if response.status_code != 201:
            raise RuntimeError(
                f"webhook subscription refused: {response.status_code} {response.text}"
            )

    def read_arrivals(self) -> dict[str, float]:
        arrivals: dict[str, float] = {}
        for line in self.arrivals.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[2] == "referral.requested":
                arrivals.setdefault(parts[3], float(parts[0]))
        return arrivals

    # --- profiles (--profile) ---------------------------------------------------------------

    def profile(self, label: str, seconds: float, load) -> None:
        """Sample the hub's gunicorn workers with py-spy while `load()` runs; write the raw
        stacks and a summary of the hub's own functions (share of samples holding the GIL,
        i.e. of the CPU time spent in Python) to OUT/profile-<label>.*."""
        raw = self.out / f"profile-{label}.raw"
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--pid",
                str(self.pids["hub"][0]),
                "--subprocesses",
                "--gil",
                "--rate",
                "200",
                "--duration",
                f"{seconds:g}",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.out / f"profile-{label}.log").open("w"),
        )
        time.sleep(1)  # py-spy attaches
        load()
        spy.wait(seconds + 60)
        if raw.exists():
            summary = summarise_profile(raw)
            (self.out / f"profile-{label}.txt").write_text(summary)
            log(f"profile {label}: {self.out / f'profile-{label}.txt'}")

    # --- phase 1: webhook latency ------------------------------------------------------------

    def webhook_latency(self) -> None:
        """Commit-to-receiver latency at each rate of --webhook-rates, the target's (50/s)
        last; at the others the figures are suffixed (webhook_p95_ms_at_10)."""
        rates = [float(r) for r in self.args.webhook_rates.split(",") if r.strip()]
        target = self.args.webhook_rate
        for rate in sorted(rates, key=lambda r: (r == target, r)):
            if self.delivery_backlog():
                self.drain()
            suffix = "" if rate == target else f"_at_{rate:g}"
            self.webhook_latency_at(rate, suffix)

    def webhook_latency_at(self, rate: float, suffix: str) -> None:
        seconds = self.args.webhook_seconds
        total = int(rate * seconds)
        log(f"webhooks: {total} referrals at {rate}/s through POST /api/v1/referrals")
        sender = self.state["sender"]["code"]
        headers = {
            **PROXY,
            "Authorization": "Bearer " + self.token(sender),
            "Content-Type": "application/json",
        }
        body = json.dumps(self.referral_body())
        local = threading.local()
        sent: list[tuple[float, float, int, str | None]] = []
        lock = threading.Lock()

        def post(due: float) -> None:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
            started = time.time()
            try:
                response = session.post(
                    self.hub + "/api/v1/referrals", data=body, headers=headers, timeout=30
                )
                status = response.status_code
                rid = response.json().get("id") if status == 201 else None
            except requests.RequestException:
                status, rid = 0, None
            with lock:
                sent.append((started, time.time(), status, rid))

        start = time.monotonic() + 0.5
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            for future in [pool.submit(post, start + i / rate) for i in range(total)]:
                future.result()
        send_window = max(s[1] for s in sent) - min(s[0] for s in sent)
        ids = {s[3] for s in sent if s[3]}
        failed = total - len(ids)
        self.wait_until(lambda: ids <= set(self.read_arrivals()), 60, "every webhook to arrive")
        arrivals = self.read_arrivals()
        with self.connect() as conn:
            committed = dict(
                conn.execute(
                    "SELECT subject_id, extract(epoch FROM recorded_at)::float8 FROM events "
                    "WHERE type = 'referral.requested' AND subject_id = ANY(%s)",
                    (list(ids),),
                ).fetchall()
            )
        latencies = [
            (arrivals[rid] - committed[rid]) * 1000
            for rid in ids
            if rid in arrivals and rid in committed
        ]
        post_ms = [(s[1] - s[0]) * 1000 for s in sent if s[2] == 201]
        if not latencies:
            raise RuntimeError("no webhook arrived")
        figures = {
            "webhook_p50_ms": round(percentile(latencies, 50), 1),
            "webhook_p95_ms": round(percentile(latencies, 95), 1),
            "webhook_p99_ms": round(percentile(latencies, 99), 1),
            "webhook_max_ms": round(max(latencies), 1),
            "webhook_sent": total,
            # Below the rate asked for when the hub cannot accept referrals that fast.
            "webhook_send_rate": round(total / send_window, 1),
            "webhook_post_failed": failed,
            "webhook_delivered": len(latencies),
            "webhook_post_p95_ms": round(percentile(post_ms, 95), 1) if post_ms else None,
        }
        self.results.update({key + suffix: value for key, value in figures.items()})
        log(
            f"webhooks at {rate:g}/s: {len(latencies)}/{total} delivered, sent at "
            f"{figures['webhook_send_rate']}/s, commit->receiver p50 "
            f"{figures['webhook_p50_ms']} ms p95 {figures['webhook_p95_ms']} ms"
        )

    # --- phase 2: creation throughput vs baseline ---------------------------------------------

    def creation_throughput(self) -> None:
        args = self.args
        body = json.dumps(self.referral_body())
        token = self.token(self.state["sender"]["code"])
        targets = {
            "baseline": (self.baseline, {"BENCH_PATH": "/records"}),
            "hub": (self.hub, {"BENCH_PATH": "/api/v1/referrals"}),
        }
        if self.floor:
            # The hub's stack with only the token check, the body schema and one INSERT
            # (bench/floor_app.py): how much of the gap is the stack, how much the domain.
            targets["floor"] = (self.floor, {"BENCH_PATH": "/api/v1/bench/floor"})
        common = {"BENCH_BODY": body, "BENCH_TOKEN": token}
        for name, (url, env) in targets.items():
            log(f"create: warming up {name} ({args.warmup}s)")
            self.wrk(
                url,
                "post_referral.lua",
                seconds=args.warmup,
                connections=args.connections,
                threads=args.threads,
                env={**common, **env},
                label=f"{name} warm-up",
            )
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        with self.connect() as conn:
            rows_before = seed.count_referrals(conn)
        # CPU per request: the app's processes (the hub's with its rq workers, which do the
        # delivery work each referral causes) and the database backends, over each round.
        # Throughput on a shared 2-core machine moves with everything else running on it;
        # CPU seconds per request much less so.
        trees = {"baseline": ("baseline",), "hub": ("hub", "worker"), "floor": ("floor",)}
        for index in range(args.rounds):
            for name, (url, env) in targets.items():
                cpu_before = self.cpu_snapshot(*trees[name])
                report = self.wrk(
                    url,
                    "post_referral.lua",
                    seconds=args.duration,
                    connections=args.connections,
                    threads=args.threads,
                    env={**common, **env},
                    label=f"{name} round {index + 1}",
                )
                if name == "hub":
                    # The workers deliver what the round created (webhooks, e-mail) after it
                    # ends. That work is part of each referral's cost, and left running it
                    # would take the cores from the next app's round: wait for it, and
                    # count its CPU here.
                    drained = time.monotonic()
                    self.drain()
                    report["drain_seconds"] = round(time.monotonic() - drained, 1)
                used = self.cpu_used(cpu_before)
                report["cpu_ms_per_request"] = round(
                    1000 * sum(used.values()) / max(1, report["requests"]), 2
                )
                report["cpu_ms_per_request_by"] = {
                    k: round(1000 * v / max(1, report["requests"]), 2) for k, v in used.items()
                }
                report["loadavg"] = loadavg()
                rounds[name].append(report)
                log(
                    f"create: {name} round {index + 1}: {report['rps']:.1f} req/s, p50 "
                    f"{report['p50_ms']:.1f} ms, p99 {report['p99_ms']:.1f} ms, non-2xx "
                    f"{report['non_2xx']}, socket errors {report['socket_errors']}, CPU "
                    f"{report['cpu_ms_per_request']:.1f} ms/request "
                    f"{report['cpu_ms_per_request_by']}"
                    + (
                        f", deliveries drained in {report['drain_seconds']}s"
                        if "drain_seconds" in report
                        else ""
                    )
                )
        if args.profile:
            self.profile(
                "create",
                args.duration,
                lambda: self.wrk(
                    self.hub,
                    "post_referral.lua",
                    seconds=args.duration,
                    connections=args.connections,
                    threads=args.threads,
                    env={**common, **targets["hub"][1]},
                    label="hub under py-spy",
                ),
            )
        with self.connect() as conn:
            created = seed.count_referrals(conn) - rows_before
        hub_requests = sum(r["requests"] for r in rounds["hub"])

        def median(name: str, key: str) -> float:
            return round(statistics.median(r[key] for r in rounds[name]), 2)

        hub_rps, base_rps = median("hub", "rps"), median("baseline", "rps")
        hub_cpu = median("hub", "cpu_ms_per_request")
        base_cpu = median("baseline", "cpu_ms_per_request")
        self.results.update(
            {
                "referral_create_ratio": round(hub_rps / base_rps, 4),
                "referral_create_cpu_ratio": round(base_cpu / hub_cpu, 4) if hub_cpu else None,
                "referral_create_cpu_ms": hub_cpu,
                "baseline_cpu_ms": base_cpu,
                "referral_create_cpu_ms_by": rounds["hub"][len(rounds["hub"]) // 2][
                    "cpu_ms_per_request_by"
                ],
                "referral_create_rps": hub_rps,
                "baseline_rps": base_rps,
                "referral_create_p50_ms": median("hub", "p50_ms"),
                "referral_create_p95_ms": median("hub", "p95_ms"),
                "referral_create_p99_ms": median("hub", "p99_ms"),
                "baseline_p50_ms": median("baseline", "p50_ms"),
                "baseline_p95_ms": median("baseline", "p95_ms"),
                "baseline_p99_ms": median("baseline", "p99_ms"),
                "referral_create_rounds_rps": [r["rps"] for r in rounds["hub"]],
                "baseline_rounds_rps": [r["rps"] for r in rounds["baseline"]],
                "referral_create_errors": sum(
                    r["non_2xx"] + r["socket_errors"] for r in rounds["hub"]
                ),
                "baseline_errors": sum(
                    r["non_2xx"] + r["socket_errors"] for r in rounds["baseline"]
                ),
                "referral_create_rows_vs_requests": [created, hub_requests],
                "wrk_cpu_share": max(r["wrk_cpu_share"] for rs in rounds.values() for r in rs),
            }
        )
        if self.floor:
            floor_rps = median("floor", "rps")
            self.results.update(
                {
                    "floor_ratio": round(floor_rps / base_rps, 4),
                    "floor_rps": floor_rps,
                    "floor_cpu_ms": median("floor", "cpu_ms_per_request"),
                    "floor_p50_ms": median("floor", "p50_ms"),
                    "floor_p95_ms": median("floor", "p95_ms"),
                    "floor_rounds_rps": [r["rps"] for r in rounds["floor"]],
                    "floor_errors": sum(r["non_2xx"] + r["socket_errors"] for r in rounds["floor"]),
                    "referral_create_vs_floor": round(hub_rps / floor_rps, 4),
                }
            )

    # --- phase 3: inbox ------------------------------------------------------------------------

    def latency_probe(self, path: str, org_code: str, label: str) -> dict[str, Any]:
        """One client asking again and again (wrk -c 1): the latency a person sees."""
        response = self.api("GET", path, org_code)
        if response.status_code != 200:
            raise RuntimeError(f"{label}: GET {path} answered {response.status_code}")
        env = {"BENCH_PATH": path, "BENCH_TOKEN": self.token(org_code)}
        self.wrk(
            self.hub,
            "get_json.lua",
            seconds=2,
            connections=1,
            threads=1,
            env=env,
            label=f"{label} warm-up",
        )
        cpu_before = self.cpu_snapshot("hub")
        report = self.wrk(
            self.hub,
            "get_json.lua",
            seconds=self.args.probe_seconds,
            connections=1,
            threads=1,
            env=env,
            label=label,
        )
        used = self.cpu_used(cpu_before)
        report["cpu_ms_per_request"] = round(
            1000 * sum(used.values()) / max(1, report["requests"]), 2
        )
        if report["non_2xx"] or report["socket_errors"]:
            raise RuntimeError(f"{label}: {report['non_2xx']} non-2xx answers")
        report["first_response"] = response.json()
        if self.args.profile:
            self.profile(
                label.replace(" ", "-"),
                self.args.probe_seconds,
                lambda: self.wrk(
                    self.hub,
                    "get_json.lua",
                    seconds=self.args.probe_seconds,
                    connections=1,
                    threads=1,
                    env=env,
                    label=f"{label} under py-spy",
                ),
            )
        return report

    def drain(self) -> None:
        """Let the workers finish the deliveries earlier phases queued (they compete for CPU)."""
        backlog = self.delivery_backlog()
        if backlog:
            log(f"waiting for {backlog} queued deliveries, events and e-mails to drain")
            if not self.wait_until(
                lambda: self.delivery_backlog() == 0,
                self.args.drain_timeout,
                "the delivery backlog",
            ):
                self.notes.append(
                    f"a delivery backlog of {self.delivery_backlog()} was still draining "
                    "during the later phases"
                )

    def inbox_count(self, conn: psycopg.Connection) -> int:
        return conn.execute(
            "SELECT count(*) FROM referrals WHERE recipient_organization_id = %s",
            (self.state["recipient"]["id"],),
        ).fetchone()[0]

    def settle_visibility(self, conn: psycopg.Connection, table: str) -> float:
        """VACUUM again until nine tenths of the table's pages are all-visible, as autovacuum
        would by and by (seconds after a bulk load the first VACUUM often marks none).
        Returns the share reached: below it, counting a box cannot use an index-only scan."""

        def share() -> float:
            return conn.execute(
                "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class "
                "WHERE relname = %s",
                (table,),
            ).fetchone()[0]

        deadline = time.monotonic() + 20
        while share() < 0.9 and time.monotonic() < deadline:
            time.sleep(1)
            seed.analyze(conn, (table,))
        return share()

    def inbox(self) -> None:
        """The measured recipient receives a fixed share of all referrals stored (10%: the
        province's busiest provider of counselling); the rest go to the other partners."""
        recipient = self.state["recipient"]["code"]
        path = "/api/v1/referrals?box=received"
        share = self.args.inbox_share
        for label, target in (("10k", 10_000), ("100k", 100_000)):
            with self.connect() as conn:
                have = seed.count_referrals(conn)
                others = [
                    {"id": row[0], "code": row[1]}
                    for row in conn.execute(
                        "SELECT id, code FROM organizations WHERE type <> 'hub_operator' "
                        "AND id NOT IN (%s, %s) ORDER BY code",
                        (self.state["sender"]["id"], self.state["recipient"]["id"]),
                    )
                ]
                started = time.monotonic()
                added = seed.seed_referrals(
                    conn,
                    self.ring,
                    sender=self.state["sender"],
                    recipient=self.state["recipient"],
                    others=others,
                    to_recipient=max(0, round(target * share) - self.inbox_count(conn)),
                    agreement_id=self.state["agreement_id"],
                    service=self.state["service"],
                    count=target - have,
                    seed=target,
                )
                holders = seed.analyze(
                    conn, ("referrals", "clients", "consents", "consent_recipients")
                )
                visible = self.settle_visibility(conn, "referrals")
                stored = seed.count_referrals(conn)
                inbox = self.inbox_count(conn)
            self.results[f"inbox_all_visible_{label}"] = round(visible, 3)
            if holders:
                log(f"inbox: sessions holding snapshots during VACUUM: {holders}")
                self.notes.append(
                    f"inbox {label}: VACUUM ran while other sessions held snapshots, "
                    f"{visible:.0%} of the referrals' pages all-visible: {holders[:3]}"
                )
            log(
                f"inbox: seeded {added['referrals']} referrals and {added['clients']} clients in "
                f"{time.monotonic() - started:.1f}s; {stored} stored, {inbox} in the inbox"
            )
            report = self.latency_probe(path, recipient, f"inbox {label}")
            self.results[f"inbox_p50_ms_{label}"] = report["p50_ms"]
            self.results[f"inbox_p95_ms_{label}"] = report["p95_ms"]
            self.results[f"inbox_p99_ms_{label}"] = report["p99_ms"]
            self.results[f"inbox_cpu_ms_{label}"] = report["cpu_ms_per_request"]
            self.results[f"inbox_referrals_stored_{label}"] = stored
            self.results[f"inbox_size_{label}"] = inbox
            log(
                f"inbox {label}: p50 {report['p50_ms']} ms p95 {report['p95_ms']} ms, CPU "
                f"{report['cpu_ms_per_request']} ms/request"
            )

    # --- phase 4: coverage ---------------------------------------------------------------------

    def coverage(self) -> None:
        args = self.args
        with self.connect() as conn:
            started = time.monotonic()
            added = seed.seed_registry(
                conn,
                organizations=args.organizations,
                agreements=args.agreements,
                focus=self.state["sender"],
                focus_agreements=args.focus_agreements,
                focus_service=self.state["service"],
            )
            seed.analyze(
                conn,
                (
                    "organizations",
                    "organization_services",
                    "agreements",
                    "agreement_parties",
                    "agreement_services",
                    "agreement_signatures",
                ),
            )
            orgs = conn.execute("SELECT count(*) FROM organizations").fetchone()[0]
            agreements = conn.execute("SELECT count(*) FROM agreements").fetchone()[0]
            party_to = conn.execute(
                "SELECT count(*) FROM agreement_parties WHERE organization_id = %s",
                (self.state["sender"]["id"],),
            ).fetchone()[0]
        log(
            f"coverage: seeded {added['organizations']} organisations and {added['agreements']} "
            f"agreements in {time.monotonic() - started:.1f}s ({orgs} and {agreements} stored; "
            f"{self.state['sender']['code']} is party to {party_to})"
        )
        path = f"/api/v1/coverage?service={self.state['service']}"
        report = self.latency_probe(path, self.state["sender"]["code"], "coverage")
        self.results.update(
            {
                "coverage_p50_ms": report["p50_ms"],
                "coverage_p95_ms": report["p95_ms"],
                "coverage_p99_ms": report["p99_ms"],
                "coverage_cpu_ms": report["cpu_ms_per_request"],
                "coverage_items": len(report["first_response"].get("items", [])),
                "coverage_organizations": orgs,
                "coverage_agreements": agreements,
                "coverage_caller_party_to": party_to,
            }
        )
        log(
            f"coverage: p50 {report['p50_ms']} ms p95 {report['p95_ms']} ms, CPU "
            f"{report['cpu_ms_per_request']} ms/request"
        )

    # --- phase 5: reports ----------------------------------------------------------------------

    def reports(self) -> None:
        """A year's province-wide referral report as the hub operator, and the same report as
        the busiest UPTD PPA (its own referrals), with 100,000 then 1,000,000 referrals
        spread over the network (on top of the inbox phase's); the summary is refreshed after
        each seeding as its job would."""
        from referral_hub import create_app
        from referral_hub.extensions import db
        from referral_hub.reports.summary import refresh_referral_summary

        app = create_app()
        year = dt.date.today().year - 1
        path = f"/api/v1/reports/referrals?period={year}&group_by=recipient"
        sizes = [(label, n) for label, n in REPORT_SIZES if n <= self.args.report_max]
        spread = 0  # the network's referrals seeded so far (the inbox's are not spread)
        for label, target in sizes:
            with self.connect() as conn:
                started = time.monotonic()
                added = seed.seed_network_referrals(
                    conn,
                    self.ring,
                    count=target - spread,
                    agreement_id=self.state["agreement_id"],
                    seed=target,
                )
                spread += added["referrals"]
                seed.analyze(conn, ("referrals", "referral_events", "clients"))
                stored = seed.count_referrals(conn)
            seeded = time.monotonic() - started
            with app.app_context():
                started = time.monotonic()
                months = refresh_referral_summary(full=True)  # rows loaded by COPY
                db.session.commit()
                refreshed = time.monotonic() - started
                db.session.remove()
            log(
                f"reports: seeded {added['referrals']} referrals in {seeded:.1f}s ({stored} "
                f"stored); summary refreshed ({months} months) in {refreshed:.1f}s"
            )
            province = self.latency_probe(path, "dp3a-kaltim", f"report province {label}")
            unit = self.latency_probe(path, self.state["sender"]["code"], f"report unit {label}")
            for who, report in (("province", province), ("unit", unit)):
                self.results[f"report_{who}_p50_ms_{label}"] = report["p50_ms"]
                self.results[f"report_{who}_p95_ms_{label}"] = report["p95_ms"]
                self.results[f"report_{who}_cpu_ms_{label}"] = report["cpu_ms_per_request"]
            self.results[f"report_referrals_stored_{label}"] = stored
            self.results[f"report_summary_refresh_s_{label}"] = round(refreshed, 2)
            self.results[f"report_province_rows_{label}"] = len(province["first_response"]["rows"])
            log(
                f"report province {label}: p50 {province['p50_ms']} ms p95 "
                f"{province['p95_ms']} ms, CPU {province['cpu_ms_per_request']} ms/request"
            )
        self.case_report()

    def case_report(self) -> None:
        """A unit's case report over a year (by violence type: SIMFONI's first table), with
        `--cases` cases stored between the UPTD PPA, the measured unit the busiest; the
        case facts refreshed after the seeding as their job would (reports/case_summary.py)."""
        from referral_hub import create_app
        from referral_hub.extensions import db
        from referral_hub.reports.case_summary import refresh_case_summary

        if not self.args.cases:
            return
        unit = self.state["sender"]
        with self.connect() as conn:
            started = time.monotonic()
            added = seed.seed_cases(conn, self.ring, count=self.args.cases, focus=unit["id"])
            seed.analyze(conn, ("cases", "clients"))
            seeded = time.monotonic() - started
            year = dt.date.today().year - 1
            in_year = conn.execute(
                "SELECT count(*) FROM cases WHERE organization_id = %s "
                "AND opened_at >= %s AND opened_at < %s",
                (unit["id"], dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)),
            ).fetchone()[0]
        app = create_app()
        with app.app_context():
            started = time.monotonic()
            refresh_case_summary(full=True)  # rows loaded by COPY
            db.session.commit()
            refreshed = time.monotonic() - started
            db.session.remove()
        log(
            f"reports: seeded {added['cases']} cases in {seeded:.1f}s ({in_year} of the "
            f"unit's in {year}); case facts refreshed in {refreshed:.1f}s"
        )
        path = f"/api/v1/reports/cases?period={year}&group_by=violence_type"
        report = self.latency_probe(path, unit["code"], "report cases")
        self.results.update(
            {
                "report_cases_p50_ms": report["p50_ms"],
                "report_cases_p95_ms": report["p95_ms"],
                "report_cases_cpu_ms": report["cpu_ms_per_request"],
                "report_cases_stored": added["cases"],
                "report_cases_unit_in_year": in_year,
                "report_cases_facts_refresh_s": round(refreshed, 2),
            }
        )
        log(
            f"report cases: p50 {report['p50_ms']} ms p95 {report['p95_ms']} ms, CPU "
            f"{report['cpu_ms_per_request']} ms/request"
        )

    # --- phase 6: audit chain ------------------------------------------------------------------

    def audit_chain(self) -> None:
        from referral_hub import create_app
        from referral_hub.audit.operations import verify_chain
        from referral_hub.extensions import db

        app = create_app()
        with self.connect() as conn:
            # The rows seeded by COPY get the entries their operations would have written,
            # so that the deciding rows measured below are held to a chain, as in use.
            started = time.monotonic()
            with app.app_context():
                recorded = seed.seed_recording_entries(conn, unrecorded_rows(db.session))
                db.session.rollback()
            log(f"audit: recorded {recorded} seeded rows in {time.monotonic() - started:.1f}s")
            orgs = [r[0] for r in conn.execute("SELECT id FROM organizations LIMIT 200")]
            started = time.monotonic()
            seed.seed_audit_chain(conn, entries=self.args.audit_entries, organizations=orgs)
            seed.analyze(conn, ("audit_entries",))
        log(
            f"audit: appended {self.args.audit_entries} entries "
            f"in {time.monotonic() - started:.1f}s"
        )
        runs: list[tuple[float, int, float]] = []
        with app.app_context():
            # Up to --verify-runs walks, fewer when one walk already takes long.
            while len(runs) < self.args.verify_runs and sum(r[2] for r in runs) < 30:
                started = time.perf_counter()
                result = verify_chain()
                elapsed = time.perf_counter() - started
                db.session.rollback()
                if not result.ok:
                    raise RuntimeError(f"audit chain broken: {result.as_dict()}")
                runs.append((result.entries / elapsed, result.entries, elapsed))
                log(f"audit: verified {result.entries} entries in {elapsed:.2f}s")
            rows = self.audit_decisions(db)
        rate, entries, elapsed = sorted(runs)[len(runs) // 2]
        self.results.update(
            {
                "audit_verify_entries_per_s": round(rate),
                "audit_entries": entries,
                "audit_verify_seconds": round(elapsed, 3),
                **rows,
            }
        )

    def audit_decisions(self, db) -> dict[str, Any]:
        """The pass over the referrals, consents and agreements that `audit-verify` adds."""
        from referral_hub.audit.decisions import verify_decisions

        runs: list[tuple[float, int, float]] = []
        while len(runs) < self.args.verify_runs and sum(r[2] for r in runs) < 30:
            report = verify_decisions()
            db.session.rollback()
            if not report.ok:
                raise RuntimeError(f"deciding rows do not match: {report.lines()[:5]}")
            runs.append((report.checked / report.seconds, report.checked, report.seconds))
            log(f"audit: checked {report.checked} deciding rows in {report.seconds:.2f}s")
        rate, rows, elapsed = sorted(runs)[len(runs) // 2]
        return {
            "audit_decisions_rows_per_s": round(rate),
            "audit_decisions_rows": rows,
            "audit_decisions_seconds": round(elapsed, 3),
        }

    # --- all -------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = dt.datetime.now(dt.UTC)
        load_start = loadavg()
        only = {p for p in self.args.only.split(",") if p}
        phases = (
            ("webhooks", self.webhook_latency),
            ("create", self.creation_throughput),
            ("drain", self.drain),
            ("inbox", self.inbox),
            ("coverage", self.coverage),
            ("reports", self.reports),
            ("audit", self.audit_chain),
        )
        try:
            if not only or only & {"webhooks", "create"}:
                # Subscribed from the start: every referral created is delivered, as in a
                # hub whose partners listen, so the workers' share of the CPU is counted.
                self.subscribe(self.start_receiver())
            for name, phase in phases:
                if not only or name in only:
                    phase()
        finally:
            self.stop_receiver()
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        self.ratios()
        met = {}
        for key, (op, target) in TARGETS.items():
            value = self.results.get(key)
            if value is not None:
                met[key] = value >= target if op == ">=" else value <= target
        self.results.update(
            {
                "targets_met": met,
                "gunicorn": self.args.gunicorn,
                "wrk": f"-t {self.args.threads} -c {self.args.connections} "
                f"-d {self.args.duration:g}s x {self.args.rounds} rounds",
                "machine": {
                    "cores": os.cpu_count(),
                    "memory_gb": round(memory_gb, 1),
                    "loadavg_start": load_start,
                    "loadavg_end": loadavg(),
                    "python": platform.python_version(),
                },
                "notes": self.notes,
                "date": started.isoformat(timespec="seconds"),
                "seconds": round((dt.datetime.now(dt.UTC) - started).total_seconds()),
            }
        )
        return self.results

    def ratios(self) -> None:
        """Each CPU figure over the bare baseline's CPU per request of this run."""
        bare = self.results.get("baseline_cpu_ms")
        if not bare:
            return
        for key, ratio in CPU_RATIOS.items():
            if self.results.get(key) is not None:
                self.results[ratio] = round(self.results[key] / bare, 2)
        rate = self.results.get("audit_verify_entries_per_s")
        if rate is not None:
            # Entries verified in the CPU time one bare request costs.
            self.results["audit_verify_entries_per_bare_request"] = round(rate * bare / 1000)


def unrecorded_rows(session) -> Any:
    """(type, id, deciding values, organisations) of each row no entry of the chain records."""
    from sqlalchemy import select

    from referral_hub.audit.decisions import RECORDING, deciding_rows, organization_codes
    from referral_hub.audit.models import AuditEntry

    codes = organization_codes(session)
    for object_type, (actions, _fields) in RECORDING.items():
        recorded = set(
            session.scalars(
                select(AuditEntry.object_id).where(
                    AuditEntry.object_type == object_type, AuditEntry.action.in_(actions)
                )
            )
        )
        for object_id, values, organizations in deciding_rows(session, object_type, codes):
            if object_id not in recorded:
                yield object_type, object_id, values, organizations


def summarise_profile(path: Path, top: int = 40) -> str:
    """Inclusive share of samples per function (py-spy raw format), the hub's first."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [f.rsplit(":", 1)[0] + ")" if f.endswith(")") else f for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + samples
        own[frames[-1]] = own.get(frames[-1], 0) + samples
    if not total:
        return "no samples\n"
    lines = [f"{total} samples (GIL held); inclusive share, functions of referral_hub:"]
    hub = sorted(((n, f) for f, n in inclusive.items() if "referral_hub/" in f), reverse=True)[:top]
    lines += [f"{100 * n / total:6.1f}%  {f}" for n, f in hub]
    lines.append("self time, any module:")
    lines += [
        f"{100 * n / total:6.1f}%  {f}"
        for n, f in sorted(((n, f) for f, n in own.items()), reverse=True)[:25]
    ]
    return "\n".join(lines) + "\n"


def table(results: dict[str, Any]) -> str:
    """The figures people read, with the targets of the issue."""
    met = results.get("targets_met", {})

    def value(*keys: str, spec: str = ".1f") -> str:
        parts = [results.get(k) for k in keys]
        return " / ".join("-" if v is None else format(v, spec) for v in parts)

    rows = [
        (
            "referral creation / stack floor, throughput",
            value("referral_create_vs_floor", spec=".3f"),
            ">= 0.25",
            "referral_create_vs_floor",
        ),
        (
            "referral creation / baseline, throughput",
            value("referral_create_ratio", spec=".3f"),
            "",
            None,
        ),
        ("referral creation, req/s", value("referral_create_rps"), "", None),
        ("baseline (1 INSERT), req/s", value("baseline_rps"), "", None),
        (
            "hub stack floor (token, schema, 1 INSERT) / baseline",
            value("floor_ratio", spec=".3f"),
            "",
            None,
        ),
        ("  floor req/s, CPU ms/request", value("floor_rps", "floor_cpu_ms"), "", None),
        (
            "CPU ms/request: creation / baseline",
            value("referral_create_cpu_ms", "baseline_cpu_ms"),
            "",
            None,
        ),
        (
            "baseline / creation, CPU per request",
            value("referral_create_cpu_ratio", spec=".3f"),
            "",
            None,
        ),
        (
            "creation p50 / p95 / p99, ms",
            value("referral_create_p50_ms", "referral_create_p95_ms", "referral_create_p99_ms"),
            "",
            None,
        ),
        (
            "baseline p50 / p95 / p99, ms",
            value("baseline_p50_ms", "baseline_p95_ms", "baseline_p99_ms"),
            "",
            None,
        ),
        (
            "inbox p50 / p95, 10k stored, ms",
            value("inbox_p50_ms_10k", "inbox_p95_ms_10k"),
            "flat",
            None,
        ),
        (
            "inbox p50 / p95, 100k stored, ms",
            value("inbox_p50_ms_100k", "inbox_p95_ms_100k"),
            "",
            None,
        ),
        (
            "  inbox CPU / bare baseline CPU, 100k",
            value("inbox_cpu_ratio_100k"),
            "<= 5x",
            "inbox_cpu_ratio_100k",
        ),
        (
            "coverage p50 / p95, ms",
            value("coverage_p50_ms", "coverage_p95_ms"),
            "",
            None,
        ),
        (
            "  coverage CPU / bare baseline CPU",
            value("coverage_cpu_ratio"),
            "<= 4x",
            "coverage_cpu_ratio",
        ),
        (
            "year's province report p50 / p95, 100k stored, ms",
            value("report_province_p50_ms_100k", "report_province_p95_ms_100k"),
            "flat",
            None,
        ),
        (
            "year's province report p50 / p95, 1M stored, ms",
            value("report_province_p50_ms_1m", "report_province_p95_ms_1m"),
            "p95 <= 300",
            "report_province_p95_ms_1m",
        ),
        (
            "  province report CPU / bare baseline CPU, 100k / 1M",
            value("report_province_cpu_ratio_100k", "report_province_cpu_ratio_1m"),
            "<= 100x",
            "report_province_cpu_ratio_1m",
        ),
        (
            "  a unit's report p95, 100k / 1M, ms",
            value("report_unit_p95_ms_100k", "report_unit_p95_ms_1m"),
            "",
            None,
        ),
        (
            "a unit's year case report p50 / p95, ms",
            value("report_cases_p50_ms", "report_cases_p95_ms"),
            "p95 <= 300",
            "report_cases_p95_ms",
        ),
        (
            "  case report CPU / bare baseline CPU",
            value("report_cases_cpu_ratio"),
            "",
            None,
        ),
        (
            "webhook commit->receiver p50 / p95 at 10/s, ms",
            value("webhook_p50_ms_at_10", "webhook_p95_ms_at_10"),
            "",
            None,
        ),
        (
            "webhook commit->receiver p50 / p95 at 50/s, ms",
            value("webhook_p50_ms", "webhook_p95_ms"),
            "p95 <= 1000",
            "webhook_p95_ms",
        ),
        (
            "  referrals/s the hub accepted (asked 50)",
            value("webhook_send_rate"),
            "",
            None,
        ),
        (
            "audit verification, entries/s",
            value("audit_verify_entries_per_s", spec=",.0f"),
            "",
            None,
        ),
        (
            "  entries verified per bare request's CPU",
            value("audit_verify_entries_per_bare_request", spec=",.0f"),
            ">= 500",
            "audit_verify_entries_per_bare_request",
        ),
        (
            "  deciding rows held to the chain, rows/s",
            value("audit_decisions_rows_per_s", spec=",.0f"),
            "",
            None,
        ),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'figure':<{width}}  {'value':>26}  target"]
    for name, shown, target, key in rows:
        mark = ""
        if key in met:
            mark = "  (met)" if met[key] else "  (MISSED)"
        lines.append(f"{name:<{width}}  {shown:>26}  {target}{mark}")
    machine = results["machine"]
    lines.append(
        f"machine: {machine['cores']} cores, {machine['memory_gb']} GiB; load average "
        f"{machine['loadavg_start']} at start, {machine['loadavg_end']} at end; "
        f"gunicorn {results['gunicorn']}; wrk {results['wrk']}"
    )
    for note in results.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True)
    parser.add_argument("--hub", required=True)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--floor", default=None, help="bench/floor_app.py's URL, if running")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--gunicorn", required=True, help="the settings both servers run with")
    parser.add_argument("--receiver-port", type=int, required=True)
    parser.add_argument(
        "--pids", default="", help="name=pid,... of the servers: hub, baseline, worker"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=12)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--webhook-rate", type=float, default=50, help="the target's rate")
    parser.add_argument(
        "--webhook-rates", default="10,50", help="rates measured (referrals/s), comma-separated"
    )
    parser.add_argument("--webhook-seconds", type=float, default=10)
    parser.add_argument("--probe-seconds", type=float, default=10)
    parser.add_argument("--inbox-share", type=float, default=0.1)
    parser.add_argument("--drain-timeout", type=float, default=90)
    parser.add_argument("--organizations", type=int, default=2000)
    parser.add_argument("--agreements", type=int, default=10_000)
    parser.add_argument("--focus-agreements", type=int, default=100)
    parser.add_argument("--audit-entries", type=int, default=200_000)
    parser.add_argument(
        "--report-max", type=int, default=1_000_000, help="largest report phase size"
    )
    parser.add_argument("--verify-runs", type=int, default=3)
    parser.add_argument("--cases", type=int, default=200_000, help="for the case report")
    parser.add_argument("--only", default="", help="comma-separated phases, for development")
    parser.add_argument(
        "--profile", action="store_true", help="also sample the hub with py-spy (extra passes)"
    )
    args = parser.parse_args()
    results = Bench(args).run()
    (Path(args.out_dir) / "results.json").write_text(json.dumps(results, indent=2))
    (Path(args.out_dir) / "table.txt").write_text(table(results) + "\n")


if __name__ == "__main__":
    main()
