#!/usr/bin/env bash
# `make bench`: the production stack on loopback under real load, and the figures of issue 7.
#
# Sets up, on 127.0.0.1 only: a fresh PostgreSQL database `referral_hub_bench` on the cluster
# of scripts/services.sh (created here, dropped at the end), a Redis database of that Redis,
# the hub under gunicorn with the production settings (see HUB_ENV below) and two
# `flask hub worker` rq workers, the bare baseline app (bench/baseline_app.py) under the same
# gunicorn settings, and a webhook receiver; then bench/measure.py seeds data and drives the
# load (wrk, bench/*.lua).
# Progress goes to stderr; stdout gets the table and, as its LAST LINE, one JSON object.
#
# Settings (environment):
#   BENCH_GUNICORN   gunicorn worker settings for both apps (default "-w 2 -k gthread --threads 4":
#                    of those tried on 2 cores, the one where the hub created the most referrals)
#   BENCH_OUT        directory for logs and results (default: a new /tmp/referral_hub_bench.*)
#   BENCH_REDIS_DB   Redis database number for the hub's queues (default 13; flushed at the end)
#   BENCH_ARGS       extra arguments for bench/measure.py (e.g. "--duration 20 --rounds 2")
#   BENCH_KEEP=1     keep the database at the end, to look into it (the next run drops it)
#   BENCH_PROFILE=1  also sample the hub with py-spy in extra passes (installs the [bench]
#                    extra); summaries land in $BENCH_OUT/profile-*.txt
#   plus those of scripts/services.sh (ports, SERVICES_DIR)
#
# The shared PostgreSQL and Redis servers are started if needed and never stopped here: other
# work (test runs) may be using them.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
cd "$REPO_DIR"

PY="$REPO_DIR/.venv/bin/python"
BIN="$REPO_DIR/.venv/bin"
DB_NAME=referral_hub_bench
GUNICORN_SETTINGS="${BENCH_GUNICORN:--w 2 -k gthread --threads 4}"
REDIS_DB="${BENCH_REDIS_DB:-13}"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

[[ -x "$PY" ]] || die "$PY not found: run 'make bench' (it creates .venv first)"
[[ -x "$BIN/gunicorn" ]] || die "gunicorn is missing from .venv: pip install -e '.[prod]'"
PROFILE_ARGS=()
if [[ -n "${BENCH_PROFILE:-}" ]]; then
    if [[ ! -x "$BIN/py-spy" ]]; then
        log "installing the profilers (the [bench] extra)"
        "$BIN/pip" install -q -e "$REPO_DIR[bench]" >&2
    fi
    PROFILE_ARGS=(--profile)
fi

# One benchmark at a time on this machine: the database name is fixed.
exec 9>/tmp/referral_hub_bench.lock
flock -n 9 || die "another 'make bench' is running (lock /tmp/referral_hub_bench.lock)"

# ---------------------------------------------------------------- wrk

if ! command -v wrk >/dev/null 2>&1; then
    [[ "$(id -u)" -eq 0 ]] || die "wrk is missing and only root can apt-get install it"
    log "installing wrk (Debian package)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk </dev/null >&2; then
        apt-get update -qq >&2
        export HUB_APT_UPDATED=1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk </dev/null >&2
    fi
fi

# ---------------------------------------------------------------- services and database

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Servers this run starts are stopped at its end; servers already running (a test run, a
# developer's session) are used and left alone.
services_status="$(bash "$REPO_DIR/scripts/services.sh" status 2>&1 || true)"
STARTED_SERVICES=0
if ! grep -q "PostgreSQL: running" <<<"$services_status" ||
    ! grep -q "Redis: running" <<<"$services_status"; then
    STARTED_SERVICES=1
fi
if ! services_env="$(bash "$REPO_DIR/scripts/services.sh" start)"; then
    # Typically another checkout's servers hold the default ports: run ours beside them.
    log "starting this checkout's PostgreSQL and Redis on free ports instead"
    HUB_TEST_PG_PORT="$(free_port)"
    HUB_TEST_REDIS_PORT="$(free_port)"
    export HUB_TEST_PG_PORT HUB_TEST_REDIS_PORT
    STARTED_SERVICES=1
    services_env="$(bash "$REPO_DIR/scripts/services.sh" start)" ||
        die "scripts/services.sh could not start PostgreSQL and Redis"
fi
eval "$services_env"
[[ -n "${HUB_TEST_POSTGRES_URL:-}" && -n "${HUB_TEST_REDIS_URL:-}" ]] ||
    die "scripts/services.sh printed no URLs"

OUT="${BENCH_OUT:-$(mktemp -d /tmp/referral_hub_bench.XXXXXX)}"
mkdir -p "$OUT/instance"
log "logs and results in $OUT"

# URLs of the benchmark database (and of the cluster's maintenance database) and Redis db.
read -r ADMIN_URL BENCH_DB_URL REDIS_URL < <(
    "$PY" - "$HUB_TEST_POSTGRES_URL" "$HUB_TEST_REDIS_URL" "$DB_NAME" "$REDIS_DB" <<'PYEOF'
import sys
from sqlalchemy.engine import make_url

pg, redis, name, number = sys.argv[1:]
base = make_url(pg)
admin = base.set(drivername="postgresql", database="postgres")
bench = base.set(database=name)
print(
    admin.render_as_string(hide_password=False),
    bench.render_as_string(hide_password=False),
    redis.rsplit("/", 1)[0] + "/" + number,
)
PYEOF
)

admin_sql() { # runs statements on the maintenance database, autocommit
    "$PY" - "$ADMIN_URL" "$@" <<'PYEOF'
import sys
import psycopg

with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    for statement in sys.argv[2:]:
        conn.execute(statement)
PYEOF
}

PIDS=()
cleaned=0
cleanup() {
    ((cleaned)) && return 0
    cleaned=1
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # rq finishes the job in hand, gunicorn its requests; then they go.
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [[ -n "${BENCH_KEEP:-}" ]]; then
        log "stopped the hub, its workers and the baseline; kept $DB_NAME ($BENCH_DB_URL)"
    else
        admin_sql "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" ||
            log "warning: could not drop database $DB_NAME"
        log "stopped the hub, its workers and the baseline; dropped $DB_NAME"
    fi
    "$PY" -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()" "$REDIS_URL" ||
        log "warning: could not empty $REDIS_URL"
    if ((STARTED_SERVICES)); then
        bash "$REPO_DIR/scripts/services.sh" stop || log "warning: could not stop the services"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

admin_sql "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" "CREATE DATABASE $DB_NAME"
"$PY" -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()" "$REDIS_URL"

# ---------------------------------------------------------------- the hub's environment

# Development mode with every production setting given: the bench's webhook receiver
# listens on loopback, which HUB_WEBHOOK_ALLOW_LOOPBACK allows and production refuses.
# Nothing else on the measured paths differs (full argon2, rate limits, Redis, rq).
export HUB_ENV=development
export HUB_DATABASE_URL="$BENCH_DB_URL"
export HUB_REDIS_URL="$REDIS_URL"
export HUB_BASE_URL=https://hub.bench.invalid
export HUB_INSTANCE_PATH="$OUT/instance"
export HUB_WEBHOOK_ALLOW_LOOPBACK=1
# The limiter runs on every request as in production, but the probes ask for the same list
# thousands of times a minute: its limit for lists is raised, not switched off.
export HUB_RATE_LIMITS_LISTS="1000000/minute"
HUB_SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')"
HUB_DATA_KEYS="bench1:$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
# An Ed25519 private key is any 32 random bytes, as a data key is.
HUB_AUDIT_SIGNING_KEYS="bench1:$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
export HUB_SECRET_KEY HUB_DATA_KEYS HUB_AUDIT_SIGNING_KEYS
export FLASK_APP=wsgi

log "migrating $DB_NAME and loading partners.yaml"
"$BIN/flask" --app wsgi db upgrade heads >"$OUT/migrate.log" 2>&1 ||
    { cat "$OUT/migrate.log" >&2; die "flask db upgrade failed"; }
"$BIN/flask" --app wsgi hub load-partners >>"$OUT/migrate.log" 2>&1 ||
    { cat "$OUT/migrate.log" >&2; die "flask hub load-partners failed"; }
"$PY" "$BENCH_DIR/setup_hub.py" >"$OUT/state.json" 2>>"$OUT/migrate.log" ||
    { cat "$OUT/migrate.log" >&2; die "bench/setup_hub.py failed"; }

# ---------------------------------------------------------------- servers

HUB_PORT="$(free_port)"
BASELINE_PORT="$(free_port)"
FLOOR_PORT="$(free_port)"
RECEIVER_PORT="$(free_port)"
read -r -a GUNICORN_ARGS <<<"$GUNICORN_SETTINGS"

log "starting the hub: gunicorn wsgi:app $GUNICORN_SETTINGS on 127.0.0.1:$HUB_PORT"
# Each program names its database sessions, so that their backends' CPU is told apart.
HUB_DATABASE_URL="$BENCH_DB_URL?application_name=bench-hub" \
    "$BIN/gunicorn" wsgi:app -b "127.0.0.1:$HUB_PORT" "${GUNICORN_ARGS[@]}" --no-control-socket \
    >"$OUT/hub.log" 2>&1 &
PIDS+=($!)
SERVER_PIDS="hub=$!"
log "starting the baseline: gunicorn baseline_app:app $GUNICORN_SETTINGS on 127.0.0.1:$BASELINE_PORT"
BENCH_BASELINE_DATABASE_URL="$BENCH_DB_URL?application_name=bench-baseline" \
    "$BIN/gunicorn" --chdir "$BENCH_DIR" baseline_app:app \
    -b "127.0.0.1:$BASELINE_PORT" "${GUNICORN_ARGS[@]}" --no-control-socket \
    >"$OUT/baseline.log" 2>&1 &
PIDS+=($!)
SERVER_PIDS+=",baseline=$!"
log "starting the hub's stack floor: gunicorn floor_app $GUNICORN_SETTINGS on 127.0.0.1:$FLOOR_PORT"
HUB_DATABASE_URL="$BENCH_DB_URL?application_name=bench-floor" \
    "$BIN/gunicorn" --chdir "$BENCH_DIR" 'floor_app:create_floor_app()' \
    -b "127.0.0.1:$FLOOR_PORT" "${GUNICORN_ARGS[@]}" --no-control-socket \
    >"$OUT/floor.log" 2>&1 &
PIDS+=($!)
SERVER_PIDS+=",floor=$!"
for n in 1 2; do
    log "starting rq worker $n: flask hub worker"
    HUB_DATABASE_URL="$BENCH_DB_URL?application_name=bench-worker" \
        "$BIN/flask" --app wsgi hub worker >"$OUT/worker-$n.log" 2>&1 &
    PIDS+=($!)
    SERVER_PIDS+=",worker=$!"
done

wait_http() { # $1 = URL, $2 = what
    local deadline=$((SECONDS + 60))
    until curl -fsS -o /dev/null -H 'X-Forwarded-Proto: https' "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || die "$2 did not answer at $1; see $OUT"
        sleep 0.3
    done
}
wait_http "http://127.0.0.1:$HUB_PORT/healthz" "the hub"
wait_http "http://127.0.0.1:$BASELINE_PORT/healthz" "the baseline"
wait_http "http://127.0.0.1:$FLOOR_PORT/healthz" "the stack floor"

# ---------------------------------------------------------------- measure

rm -f "$OUT/results.json"
# shellcheck disable=SC2086  # BENCH_ARGS is a list of words on purpose
"$PY" "$BENCH_DIR/measure.py" \
    --state "$OUT/state.json" \
    --hub "http://127.0.0.1:$HUB_PORT" \
    --baseline "http://127.0.0.1:$BASELINE_PORT" \
    --floor "http://127.0.0.1:$FLOOR_PORT" \
    --receiver-port "$RECEIVER_PORT" \
    --out-dir "$OUT" \
    --gunicorn "$GUNICORN_SETTINGS" \
    --pids "$SERVER_PIDS" \
    "${PROFILE_ARGS[@]}" \
    ${BENCH_ARGS:-} 2>&1 | grep -v --line-buffered 'HUB_SMTP_URL is not set' >&2 ||
    true
[[ -f "$OUT/results.json" ]] || die "bench/measure.py failed; see the messages above and $OUT"

cleanup
cat "$OUT/table.txt"
"$PY" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$OUT/results.json"
