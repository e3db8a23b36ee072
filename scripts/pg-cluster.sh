#!/bin/bash
# Throwaway PostgreSQL 15 cluster for the test suite.
#
#   scripts/pg-cluster.sh start DIR   initialise a cluster in DIR, start it on a free
#                                     loopback port and print its URL (only that) on stdout:
#                                     postgresql://postgres@127.0.0.1:PORT/postgres
#   scripts/pg-cluster.sh stop DIR    stop it (immediate) and remove DIR
#
# The cluster trusts every local connection (initdb -A trust), listens only on 127.0.0.1,
# keeps its socket and log inside DIR and runs with fsync=off: never use it for real data.
# PostgreSQL refuses to run as root; when invoked as root the server runs as the `postgres`
# system user and DIR is handed over to it (its parent directories must be traversable).
# Environment: PGBIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGUSER_SYS=postgres

die() { echo "pg-cluster: $*" >&2; exit 1; }

usage() { die "usage: $0 start|stop DIR"; }

# Runs a command as the user that owns the cluster (postgres when we are root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u "$PGUSER_SYS" -- "$@"
        else
            setpriv --reuid="$PGUSER_SYS" --regid="$PGUSER_SYS" --init-groups -- "$@"
        fi
    else
        "$@"
    fi
}

port_free() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [ -z "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ] || return 1
    fi
    # Nothing may answer on it either.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        return 1
    fi
    return 0
}

pick_port() {
    local i port
    for i in $(seq 1 200); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
        if port_free "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found in 20000-60000"
}

cmd_start() {
    local dir=$1
    [ -x "$PGBIN/initdb" ] || die "$PGBIN/initdb not found (install postgresql-15: scripts/deps.sh test)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    if [ "$(id -u)" -eq 0 ]; then
        getent passwd "$PGUSER_SYS" >/dev/null || die "system user $PGUSER_SYS does not exist"
        chown "$PGUSER_SYS:" "$dir"
        chmod 700 "$dir"
        as_pg test -w "$dir" ||
            die "$dir is not reachable for user $PGUSER_SYS (a parent directory is not traversable)"
    fi
    # The postgres user may not be able to read the caller's working directory.
    cd "$dir"

    if ! as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale \
        --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    cat >>"$dir/data/postgresql.conf" <<EOF

# scripts/pg-cluster.sh: throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 32MB
logging_collector = off
EOF

    local attempt port
    for attempt in 1 2 3 4 5; do
        port=$(pick_port)
        if as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" \
            -w -t 60 start >"$dir/pg_ctl.log" 2>&1; then
            local i
            for i in $(seq 1 100); do
                if as_pg "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
                    echo "$port" >"$dir/port"
                    echo "postgresql://postgres@127.0.0.1:$port/postgres"
                    return 0
                fi
                sleep 0.1
            done
            as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
            cat "$dir/server.log" >&2 || true
            die "server started but is not accepting connections on port $port"
        fi
        # Lost a race for the port? Try another one; anything else is fatal.
        if ! grep -qiE 'could not (bind|create listen)|address already in use' \
            "$dir/server.log" 2>/dev/null; then
            cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null || true
            die "pg_ctl start failed"
        fi
        echo "pg-cluster: port $port was taken, retrying (attempt $attempt)" >&2
        : >"$dir/server.log"
    done
    die "could not start the cluster"
}

cmd_stop() {
    local dir=$1
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd -P)
    if [ -f "$dir/data/postmaster.pid" ]; then
        (cd "$dir" && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
            >/dev/null 2>&1) || echo "pg-cluster: pg_ctl stop failed for $dir" >&2
    fi
    rm -rf "$dir"
}

[ $# -eq 2 ] || usage
case "$1" in
    start) cmd_start "$2" ;;
    stop) cmd_stop "$2" ;;
    *) usage ;;
esac
