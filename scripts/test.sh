#!/usr/bin/env bash
# Runs the test suite twice: on SQLite, then on a real PostgreSQL; both with a real Redis.
#
#   scripts/test.sh [pytest args...]
#
# Installs the system packages the tests need when they are missing (redis-server,
# chromium for the browser tests, PostgreSQL), starts throwaway servers with
# scripts/services.sh and stops them at the end. Both runs always happen; the script
# fails if either fails (pytest's exit 5, "no tests collected", is a failure too).
# The last line is the sum of both runs: "N passed, M failed, K skipped", counted
# from test-artifacts/junit-*.xml (errors count as failed; a run that failed without
# any failing test, e.g. a crash or no tests collected, counts as one failed).
#
# Settings (environment):
#   HUB_TEST_KEEP_SERVICES=1  leave PostgreSQL and Redis running afterwards
#   HUB_TEST_PYTHON           interpreter with pytest (default: <repo>/.venv/bin/python)
#   plus those of scripts/services.sh (ports, SERVICES_DIR)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_DIR"

PY="${HUB_TEST_PYTHON:-$REPO_DIR/.venv/bin/python}"
ARTIFACTS="$REPO_DIR/test-artifacts"
SERVICES=(bash "$SCRIPT_DIR/services.sh")

log() { printf 'test.sh: %s\n' "$*" >&2; }

if [[ ! -x "$PY" ]]; then
    log "error: $PY not found; run 'make venv' first (or use 'make test')"
    exit 1
fi

# ---------------------------------------------------------------- system packages

pg_server_present() {
    local initdb
    for initdb in /usr/lib/postgresql/*/bin/initdb; do
        [[ -x "$initdb" ]] && return 0
    done
    return 1
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
need_pg=0
pg_server_present || need_pg=1

if ((${#missing[@]} > 0 || need_pg)); then
    if [[ "$(id -u)" -ne 0 ]]; then
        log "error: missing system packages (${missing[*]} postgresql?) and not root to install them"
        exit 1
    fi
    log "apt-get update"
    apt-get update -qq >&2
    # Tell scripts/services.sh not to run it again.
    export HUB_APT_UPDATED=1
    if ((need_pg)); then
        if apt-cache show postgresql-15 >/dev/null 2>&1; then
            missing+=(postgresql-15)
        else
            missing+=(postgresql)
        fi
    fi
    log "apt-get install -y ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" </dev/null >&2
fi

# ---------------------------------------------------------------- services

services_started=0
stop_services() {
    if ((services_started)) && [[ -z "${HUB_TEST_KEEP_SERVICES:-}" ]]; then
        services_started=0
        "${SERVICES[@]}" stop || log "warning: could not stop the services"
    fi
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

services_started=1
# Assigned first, not eval'ed directly: `eval "$(failing)"` would succeed.
services_env="$("${SERVICES[@]}" start)"
eval "$services_env"
export HUB_TEST_POSTGRES_URL HUB_TEST_REDIS_URL

# ---------------------------------------------------------------- the two runs

mkdir -p "$ARTIFACTS"
JUNIT_SQLITE="$ARTIFACTS/junit-sqlite.xml"
JUNIT_POSTGRES="$ARTIFACTS/junit-postgres.xml"
rm -f "$JUNIT_SQLITE" "$JUNIT_POSTGRES"

explain_rc() { # $1 = database label, $2 = pytest exit code
    case "$2" in
        0) ;;
        5) log "$1: pytest collected no tests (exit 5): counted as a failure" ;;
        *) log "$1: pytest exited with $2" ;;
    esac
}

echo "== tests on SQLite =="
set +e
env -u HUB_TEST_DATABASE_URL "$PY" -m pytest --junitxml="$JUNIT_SQLITE" "$@"
rc_sqlite=$?
set -e
explain_rc SQLite "$rc_sqlite"

echo "== tests on PostgreSQL =="
set +e
HUB_TEST_DATABASE_URL="$HUB_TEST_POSTGRES_URL" "$PY" -m pytest --junitxml="$JUNIT_POSTGRES" "$@"
rc_postgres=$?
set -e
explain_rc PostgreSQL "$rc_postgres"

# Stop the servers now, so that the summary below stays the last line printed.
stop_services

summary="$(
    "$PY" - "$JUNIT_SQLITE:$rc_sqlite" "$JUNIT_POSTGRES:$rc_postgres" <<'PYEOF'
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
for arg in sys.argv[1:]:
    path, _, rc = arg.rpartition(":")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        root = None
    if root is not None:
        suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
        for suite in suites:
            for key in counts:
                counts[key] += int(suite.get(key, 0) or 0)
    run_failed = counts["failures"] + counts["errors"]
    if int(rc) != 0 and run_failed == 0:
        run_failed = 1  # crashed, interrupted or collected nothing
    passed += counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    failed += run_failed
    skipped += counts["skipped"]
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PYEOF
)"

status=0
if ((rc_sqlite != 0 || rc_postgres != 0)); then
    log "FAILED (SQLite run: exit $rc_sqlite, PostgreSQL run: exit $rc_postgres)"
    status=1
fi
echo "$summary"
exit "$status"
