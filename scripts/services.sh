#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers for the test suite.
#
#   scripts/services.sh start   install if missing, start (or reuse), print export lines
#   scripts/services.sh stop    stop both; fine if they are not running
#   scripts/services.sh env     print the export lines only
#   scripts/services.sh status  say what is running (on stderr)
#
# Typical use:  eval "$(scripts/services.sh start)"
#
# Only the `export ...` lines go to stdout; every progress message goes to stderr.
#
# Settings (environment):
#   SERVICES_DIR          where the servers keep their files (default: <repo>/.services)
#   HUB_TEST_PG_PORT      PostgreSQL port on 127.0.0.1 (default 54329)
#   HUB_TEST_REDIS_PORT   Redis port on 127.0.0.1 (default 63799)
#   HUB_TEST_PG_BINDIR    PostgreSQL bin directory (default: /usr/lib/postgresql/15/bin,
#                         else the newest /usr/lib/postgresql/*/bin)
#   HUB_TEST_SERVICES_TIMEOUT  seconds to wait for each server (default 60)
#   HUB_APT_UPDATED=1     `apt-get update` already ran in this process tree (set by
#                         scripts/test.sh so that it runs at most once)
#
# Where PostgreSQL's files live: PostgreSQL refuses to run as root, so as root the
# cluster is created and run as the `postgres` user (runuser), which must be able to
# traverse every parent directory of its data directory. The cluster lives in
# $SERVICES_DIR/postgres when the postgres user can reach $SERVICES_DIR; otherwise it
# goes to /tmp/referral_hub_services-<hash of $SERVICES_DIR>/postgres (Redis, which runs
# as the invoking user, always stays in $SERVICES_DIR). `status` says which one is used.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
SERVICES_DIR="${SERVICES_DIR:-$REPO_DIR/.services}"
case "$SERVICES_DIR" in
    /*) ;;
    *) SERVICES_DIR="$PWD/$SERVICES_DIR" ;;
esac
SERVICES_DIR="${SERVICES_DIR%/}"

PG_PORT="${HUB_TEST_PG_PORT:-54329}"
REDIS_PORT="${HUB_TEST_REDIS_PORT:-63799}"
TIMEOUT="${HUB_TEST_SERVICES_TIMEOUT:-60}"
PG_ROLE=hub
PG_DATABASE=referral_hub_test
PG_SYSTEM_USER=postgres

REDIS_PIDFILE="$SERVICES_DIR/redis.pid"
REDIS_LOG="$SERVICES_DIR/redis.log"
# Fallback home of the PostgreSQL cluster when $SERVICES_DIR is out of postgres's reach.
PG_FALLBACK_BASE="/tmp/referral_hub_services-$(printf '%s' "$SERVICES_DIR" | sha256sum | cut -c1-12)"

log() { printf 'services: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

print_env() {
    printf 'export HUB_TEST_POSTGRES_URL=postgresql+psycopg://%s@127.0.0.1:%s/%s\n' \
        "$PG_ROLE" "$PG_PORT" "$PG_DATABASE"
    printf 'export HUB_TEST_REDIS_URL=redis://127.0.0.1:%s/0\n' "$REDIS_PORT"
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------- installing

apt_install() {
    is_root || die "need root to run apt-get install $* (or install it yourself)"
    if [[ -z "${HUB_APT_UPDATED:-}" ]]; then
        log "apt-get update"
        apt-get update -qq >&2 || die "apt-get update failed"
        export HUB_APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null >&2
}

# Prints the PostgreSQL bin directory, or nothing.
find_pg_bindir() {
    if [[ -n "${HUB_TEST_PG_BINDIR:-}" ]]; then
        [[ -x "$HUB_TEST_PG_BINDIR/initdb" ]] && printf '%s\n' "$HUB_TEST_PG_BINDIR"
        return 0
    fi
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
        return 0
    fi
    local dir
    # The newest installed major version, if any.
    while IFS= read -r dir; do
        if [[ -x "$dir/initdb" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V -r)
}

ensure_postgres_installed() {
    PG_BIN="$(find_pg_bindir)"
    if [[ -z "$PG_BIN" ]]; then
        [[ -z "${HUB_TEST_PG_BINDIR:-}" ]] || die "no initdb in HUB_TEST_PG_BINDIR=$HUB_TEST_PG_BINDIR"
        log "PostgreSQL server not found; installing it"
        apt_install postgresql-15 || apt_install postgresql ||
            die "could not install PostgreSQL (apt-get install postgresql-15 / postgresql)"
        PG_BIN="$(find_pg_bindir)"
        [[ -n "$PG_BIN" ]] || die "PostgreSQL installed but no initdb under /usr/lib/postgresql/*/bin"
    fi
    if is_root && ! id -u "$PG_SYSTEM_USER" >/dev/null 2>&1; then
        die "user '$PG_SYSTEM_USER' does not exist (it comes with Debian's postgresql-common)"
    fi
}

ensure_redis_installed() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        log "redis-server/redis-cli not found; installing them"
        apt_install redis-server redis-tools || die "could not install redis-server"
        if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
            die "redis-server installed but redis-server/redis-cli are not on PATH"
        fi
    fi
}

# ---------------------------------------------------------------- PostgreSQL

# Runs a command as the PostgreSQL owner: `postgres` when we are root (PostgreSQL
# refuses root), ourselves otherwise. From / so that our cwd need not be readable.
as_pg() {
    if is_root; then
        (cd / && runuser -u "$PG_SYSTEM_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

# The cluster directories that may hold a cluster of ours (for stop/status).
pg_candidate_roots() {
    printf '%s\n' "$SERVICES_DIR/postgres" "$PG_FALLBACK_BASE/postgres"
}

# Chooses (and creates) the directory of the cluster; sets PG_ROOT and friends.
choose_pg_root() {
    mkdir -p "$SERVICES_DIR"
    chmod 755 "$SERVICES_DIR"
    local root="" candidate
    # A cluster that already exists in either place is reused where it is.
    while IFS= read -r candidate; do
        if [[ -f "$candidate/data/PG_VERSION" ]] && as_pg test -x "$candidate"; then
            root="$candidate"
            break
        fi
    done < <(pg_candidate_roots)
    if [[ -z "$root" ]]; then
        if as_pg test -x "$SERVICES_DIR"; then
            root="$SERVICES_DIR/postgres"
        else
            log "user '$PG_SYSTEM_USER' cannot traverse $SERVICES_DIR (see: namei -l $SERVICES_DIR);"
            log "the PostgreSQL cluster goes to $PG_FALLBACK_BASE/postgres instead"
            mkdir -p "$PG_FALLBACK_BASE"
            chmod 755 "$PG_FALLBACK_BASE"
            root="$PG_FALLBACK_BASE/postgres"
        fi
    fi
    set_pg_paths "$root"
    mkdir -p "$PG_ROOT" "$PG_RUN"
    if is_root; then
        chown "$PG_SYSTEM_USER:" "$PG_ROOT" "$PG_RUN"
    fi
    chmod 700 "$PG_ROOT"
    chmod 755 "$PG_RUN"
    as_pg test -w "$PG_RUN" || die "user '$PG_SYSTEM_USER' cannot write to $PG_RUN"
}

set_pg_paths() {
    PG_ROOT="$1"
    PG_DATA="$PG_ROOT/data"
    PG_RUN="$PG_ROOT/run" # unix socket directory
    PG_LOG="$PG_ROOT/postgres.log"
}

pg_major_version() {
    # "pg_ctl (PostgreSQL) 15.18 (Debian ...)" -> 15
    "$PG_BIN/pg_ctl" --version | awk '{ split($3, v, "."); print v[1] }'
}

pg_running() { # $1 = data dir
    [[ -f "$1/postmaster.pid" ]] && as_pg "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1
}

# The port a running cluster listens on (4th line of postmaster.pid).
pg_running_port() {
    sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true
}

pg_init_cluster() {
    local version
    version="$(pg_major_version)"
    if [[ -f "$PG_DATA/PG_VERSION" ]] && [[ "$(cat "$PG_DATA/PG_VERSION")" != "$version" ]]; then
        log "cluster in $PG_DATA is from PostgreSQL $(cat "$PG_DATA/PG_VERSION"), not $version: recreating it"
        rm -rf "$PG_DATA"
    fi
    if [[ -f "$PG_DATA/PG_VERSION" ]]; then
        return 0
    fi
    rm -rf "$PG_DATA"
    log "creating a PostgreSQL $version cluster in $PG_DATA"
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C --no-sync --no-instructions >"$PG_ROOT/initdb.log" 2>&1; then
        cat "$PG_ROOT/initdb.log" >&2
        die "initdb failed; see $PG_ROOT/initdb.log"
    fi
    # Trust, but only over loopback (and the private socket directory).
    cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# Throwaway test cluster: no passwords, loopback only.
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
host    all   all   ::1/128        trust
EOF
    cat >>"$PG_DATA/postgresql.conf" <<EOF

# --- referral_hub test cluster (scripts/services.sh) ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 200
# Durability is worthless for a throwaway test database; speed is not.
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
    if is_root; then
        chown "$PG_SYSTEM_USER:" "$PG_DATA/pg_hba.conf" "$PG_DATA/postgresql.conf"
    fi
}

pg_start() {
    ensure_postgres_installed
    choose_pg_root
    if pg_running "$PG_DATA"; then
        local running_port
        running_port="$(pg_running_port)"
        if [[ "$running_port" == "$PG_PORT" ]]; then
            log "PostgreSQL already running on 127.0.0.1:$PG_PORT ($PG_DATA); reusing it"
        else
            log "PostgreSQL running on port $running_port, wanted $PG_PORT: restarting it"
            as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >&2
        fi
    fi
    if ! pg_running "$PG_DATA"; then
        pg_init_cluster
        if port_in_use "$PG_PORT"; then
            die "port $PG_PORT on 127.0.0.1 is taken by another program; set HUB_TEST_PG_PORT to a free port"
        fi
        if is_root; then
            # A fresh work tree may carry files from an earlier run with another uid.
            chown -R "$PG_SYSTEM_USER:" "$PG_ROOT"
        fi
        log "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
        # Only the port goes on the command line (so HUB_TEST_PG_PORT can change it);
        # everything else is in postgresql.conf.
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "-p $PG_PORT" -w \
            -t "$TIMEOUT" start >&2; then
            [[ -f "$PG_LOG" ]] && tail -n 30 "$PG_LOG" >&2
            die "PostgreSQL did not start on 127.0.0.1:$PG_PORT; see $PG_LOG"
        fi
    fi
    pg_wait_ready
    pg_ensure_database
}

pg_wait_ready() {
    local deadline=$((SECONDS + TIMEOUT))
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -U postgres; do
        if ((SECONDS >= deadline)); then
            [[ -f "$PG_LOG" ]] && tail -n 30 "$PG_LOG" >&2
            die "PostgreSQL did not answer on 127.0.0.1:$PG_PORT within ${TIMEOUT}s; see $PG_LOG"
        fi
        sleep 0.2
    done
}

pg_sql() { # runs one statement as the superuser, prints tuples only
    "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres \
        -d postgres -c "$1"
}

pg_ensure_database() {
    if [[ "$(pg_sql "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != 1 ]]; then
        log "creating role $PG_ROLE"
        pg_sql "CREATE ROLE $PG_ROLE LOGIN SUPERUSER" >/dev/null
    fi
    if [[ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]]; then
        log "creating database $PG_DATABASE owned by $PG_ROLE"
        pg_sql "CREATE DATABASE $PG_DATABASE OWNER $PG_ROLE ENCODING 'UTF8' TEMPLATE template0" >/dev/null
    fi
}

pg_stop() {
    PG_BIN="$(find_pg_bindir)"
    if [[ -z "$PG_BIN" ]]; then
        log "PostgreSQL is not installed; nothing to stop"
        return 0
    fi
    local root stopped=0
    while IFS= read -r root; do
        set_pg_paths "$root"
        if pg_running "$PG_DATA"; then
            log "stopping PostgreSQL ($PG_DATA)"
            as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >&2 ||
                log "warning: pg_ctl stop failed; see $PG_LOG"
            stopped=1
        fi
    done < <(pg_candidate_roots)
    ((stopped)) || log "PostgreSQL was not running"
}

# ---------------------------------------------------------------- Redis

redis_pid() { # prints the pid of our redis-server if it is alive
    local pid
    [[ -f "$REDIS_PIDFILE" ]] || return 0
    pid="$(cat "$REDIS_PIDFILE" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        grep -q redis "/proc/$pid/comm" 2>/dev/null; then
        printf '%s\n' "$pid"
    fi
}

redis_ping() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]
}

redis_start() {
    ensure_redis_installed
    mkdir -p "$SERVICES_DIR"
    local pid
    pid="$(redis_pid)"
    if [[ -n "$pid" ]]; then
        if redis_ping "$REDIS_PORT"; then
            log "Redis already running on 127.0.0.1:$REDIS_PORT (pid $pid); reusing it"
            return 0
        fi
        log "our Redis (pid $pid) does not answer on port $REDIS_PORT: restarting it"
        redis_stop
    fi
    if port_in_use "$REDIS_PORT"; then
        die "port $REDIS_PORT on 127.0.0.1 is taken by another program; set HUB_TEST_REDIS_PORT to a free port"
    fi
    rm -f "$REDIS_PIDFILE"
    log "starting Redis on 127.0.0.1:$REDIS_PORT (log: $REDIS_LOG)"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --save "" --appendonly no --dir "$SERVICES_DIR" \
        --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" </dev/null >&2 ||
        log "redis-server did not start"
    local deadline=$((SECONDS + TIMEOUT))
    until redis_ping "$REDIS_PORT"; do
        if ((SECONDS >= deadline)); then
            [[ -f "$REDIS_LOG" ]] && tail -n 30 "$REDIS_LOG" >&2
            die "Redis did not answer on 127.0.0.1:$REDIS_PORT within ${TIMEOUT}s; see $REDIS_LOG"
        fi
        sleep 0.2
    done
}

redis_stop() {
    local pid
    pid="$(redis_pid)"
    if [[ -z "$pid" ]]; then
        log "Redis was not running"
        rm -f "$REDIS_PIDFILE"
        return 0
    fi
    log "stopping Redis (pid $pid)"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            # It listens on another port than $REDIS_PORT, or ignores SHUTDOWN.
            log "Redis (pid $pid) did not shut down; sending SIGTERM"
            kill "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 10))
        fi
        sleep 0.1
    done
    rm -f "$REDIS_PIDFILE"
}

# ---------------------------------------------------------------- commands

status() {
    PG_BIN="$(find_pg_bindir)"
    local root found=0
    if [[ -n "$PG_BIN" ]]; then
        while IFS= read -r root; do
            set_pg_paths "$root"
            if pg_running "$PG_DATA"; then
                log "PostgreSQL: running on 127.0.0.1:$(pg_running_port), data $PG_DATA, log $PG_LOG"
                found=1
            elif [[ -f "$PG_DATA/PG_VERSION" ]]; then
                log "PostgreSQL: stopped (data $PG_DATA)"
            fi
        done < <(pg_candidate_roots)
    fi
    ((found)) || log "PostgreSQL: not running"
    local pid
    pid="$(redis_pid)"
    if [[ -n "$pid" ]]; then
        log "Redis: running (pid $pid), log $REDIS_LOG"
    else
        log "Redis: not running"
    fi
}

usage() {
    printf 'usage: %s start|stop|env|status\n' "$0" >&2
    exit 2
}

case "${1:-}" in
    start)
        pg_start
        redis_start
        log "ready"
        print_env
        ;;
    stop)
        redis_stop
        pg_stop
        ;;
    env) print_env ;;
    status) status ;;
    *) usage ;;
esac
