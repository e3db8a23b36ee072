#!/bin/sh
# Installs the Debian packages billd needs to build, run and test.
# Idempotent: apt-get runs only when a package is missing. Usage: scripts/deps.sh [build|test]
set -eu

BUILD_PKGS="build-essential pkg-config meson ninja-build libmicrohttpd-dev libjansson-dev
libsqlite3-dev libpq-dev libsodium-dev libssl-dev libssh-dev libcurl4-openssl-dev
libqrencode-dev zlib1g-dev tzdata"
TEST_PKGS="libcmocka-dev postgresql-15 perl sqlite3 openssh-server openssh-client libio-socket-ssl-perl"

want="$BUILD_PKGS"
[ "${1:-build}" = test ] && want="$want $TEST_PKGS"

missing=""
for p in $want; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
