#!/bin/sh
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) and runs each
# for SECONDS (default 60) on its corpus. Usage: scripts/fuzz.sh [SECONDS [TARGET...]]
# (targets: filter form template mysql_dump; default all).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-filter form template mysql_dump}
scripts/deps.sh build
for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        { [ "$(id -u)" -eq 0 ] || SUDO=sudo; ${SUDO:-} apt-get install -y -qq --no-install-recommends "$p" >/dev/null; }
done
mkdir -p build-fuzz
core="src/util/common.c src/util/buf.c src/util/log.c src/util/strutil.c src/util/timeutil.c
src/core/money.c src/core/period.c src/db/db.c src/db/db_sqlite.c src/db/db_pg.c src/db/sqlb.c src/db/model.c
src/db/list.c src/http/args.c src/http/http.c
src/template/tpl.c src/template/tpl_value.c src/template/tpl_lex.c src/template/tpl_parse.c
src/template/tpl_eval.c src/template/tpl_filters.c src/template/tpl_vmethods.c
src/import/mysql_dump.c"
flags="-g -O1 -std=c17 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Isrc -I."
libs="$(pkg-config --cflags --libs jansson sqlite3 libpq libmicrohttpd) -lm"
for t in $targets; do
    # shellcheck disable=SC2086
    clang $flags fuzz/fuzz_$t.c $core -o build-fuzz/fuzz_$t $libs
    mkdir -p build-fuzz/corpus_$t
    build-fuzz/fuzz_$t -max_total_time="$secs" -max_len=4096 build-fuzz/corpus_$t fuzz/corpus/$t
done
