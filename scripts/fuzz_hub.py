"""Schemathesis against a freshly started hub, stateless and stateful, as several organisations.

    .venv/bin/python scripts/fuzz_hub.py [--max-examples 20] [--seed 7] [--keep]

Starts a hub of its own exactly as scripts/leak_hunt.py does (SQLite in a temporary folder,
demo data, jobs in-process), gives a sending UPTD, a receiving UPTD, the police and the hub
operator a client-credentials token with every scope, and runs `schemathesis run` with each:
the examples, coverage, fuzzing and stateful phases (links are inferred from the schema and
the `Location` headers), every check. Then it reads the hub's own log: any response with a
5xx status or any traceback is a failure, whatever schemathesis concluded. Schemathesis'
findings (a domain refusal the schema cannot express, for instance) are printed for reading;
the exit status is 1 only for a server error.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from leak_hunt import BALIKPAPAN, OPERATOR, POLRES, PPU, Hunt, free_port

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the hub's folder afterwards")
    args = parser.parse_args()
    hunt = Hunt(free_port(), keep=args.keep)
    hunt.start()
    summaries = []
    try:
        for org in (PPU, BALIKPAPAN, POLRES, OPERATOR):
            token = hunt.token(org)["Authorization"]
            done = subprocess.run(
                [
                    SCHEMATHESIS,
                    "run",
                    f"{hunt.base}/openapi.json",
                    "--header",
                    f"Authorization: {token}",
                    "--phases",
                    "examples,coverage,fuzzing,stateful",
                    "--checks",
                    "all",
                    "--max-examples",
                    str(args.max_examples),
                    "--seed",
                    str(args.seed),
                    "--continue-on-failure",
                    "--no-color",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            (hunt.folder / f"schemathesis-{org}.txt").write_text(done.stdout + done.stderr)
            tail = [line for line in done.stdout.splitlines() if line.strip()][-12:]
            summaries.append((org, done.returncode, tail))
    finally:
        log = (hunt.folder / "hub.log").read_text("utf-8", "replace")
        hunt.stop()
    statuses = re.findall(r'" (\d{3}) ', log)
    server_errors = [s for s in statuses if s.startswith("5")]
    tracebacks = log.count("Traceback (most recent call last)")
    for block in log.split("Traceback (most recent call last)")[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        error = next((line for line in lines if not line.startswith((" ", "^", "~"))), "?")
        print("traceback:", error[:300])
    for org, code, tail in summaries:
        print(f"== {org}: schemathesis exit {code}")
        print("\n".join(tail))
    print(
        f"hub answered {len(statuses)} requests: {len(server_errors)} with 5xx, "
        f"{tracebacks} tracebacks"
    )
    return 1 if server_errors or tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
