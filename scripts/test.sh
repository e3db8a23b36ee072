#!/bin/bash
# The full test suite (`make test`): installs test dependencies, builds billd and the cmocka
# unit tests with AddressSanitizer + UndefinedBehaviorSanitizer, starts a throwaway PostgreSQL
# cluster and runs the unit-test binaries and the black-box API tests (t/api/*.t, each against
# SQLite and PostgreSQL) in ONE prove run, so there is one summary and one exit status.
#
# Extra arguments are passed to prove (e.g. scripts/test.sh -v). Environment:
#   BILLD_TEST_JOBS   prove -j value (default 2)
#   BILLD_TEST_NO_PG  if set, do not start PostgreSQL (the API tests then cover SQLite only)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=build-asan

scripts/deps.sh test

if [ ! -f "$BUILD/build.ninja" ]; then
    wipe=()
    [ -d "$BUILD/meson-private" ] && wipe=(--wipe)
    meson setup "${wipe[@]}" "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$BUILD"

PGDIR=""
cleanup() {
    local rc=$?
    if [ -n "$PGDIR" ]; then
        scripts/pg-cluster.sh stop "$PGDIR" || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

if [ -z "${BILLD_TEST_NO_PG:-}" ]; then
    PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/billd-pg.XXXXXX")
    BILLD_TEST_PG_URL=$(scripts/pg-cluster.sh start "$PGDIR")
    export BILLD_TEST_PG_URL
else
    unset BILLD_TEST_PG_URL
fi

export BILLD_BIN="$ROOT/$BUILD/billd"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export CMOCKA_MESSAGE_OUTPUT=TAP

shopt -s nullglob
api_tests=(t/api/*.t)
unit_tests=()
for f in "$BUILD"/test_*; do
    [ -f "$f" ] && [ -x "$f" ] && unit_tests+=("$f")
done
if [ ${#api_tests[@]} -eq 0 ] && [ ${#unit_tests[@]} -eq 0 ]; then
    echo "test.sh: no tests found" >&2
    exit 1
fi

# The Executable source handler runs the native cmocka binaries (TAP on stdout); the Perl
# handler runs the .t files. The slow API tests go first so that -j keeps both slots busy.
prove -j"${BILLD_TEST_JOBS:-2}" --source Executable --source Perl -I t/lib "$@" \
    "${api_tests[@]}" "${unit_tests[@]}"
