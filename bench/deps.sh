#!/bin/sh
# Installs the Debian packages `make bench` needs on top of the build dependencies
# (scripts/deps.sh build): wrk (HTTP load), PostgreSQL 15 (server + psql), the sqlite3 shell
# (seeding), and linux-perf for profiling (bench/profile.sh). Idempotent: apt-get runs only
# when a package is missing. Run as root or with sudo.
set -eu

PKGS="wrk postgresql-15 postgresql-client-15 sqlite3 python3 perl procps"
[ "${1:-}" = profile ] && PKGS="$PKGS linux-perf valgrind"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

echo "bench deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
