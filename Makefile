# billd — the two commands of the README, and a few helpers.
#   make run    install missing packages, build, migrate ./var/billd.db, serve on 127.0.0.1:8080
#   make test   install missing packages, build with ASan+UBSan, run all unit and API tests
#               on SQLite and PostgreSQL (one prove summary)

.PHONY: run test build clean

run: build
	@mkdir -p var
	@exec build/billd serve

build:
	@scripts/deps.sh build
	@test -f build/build.ninja || meson setup build -Dtests=disabled >/dev/null
	@ninja -C build >/dev/null

test:
	@scripts/test.sh

clean:
	rm -rf build build-asan

# make bench   install wrk/PostgreSQL/sqlite3, build an optimised billd (-O2, no sanitizers) in
#              build-bench/, run every benchmark scenario on SQLite and PostgreSQL against the
#              reference programs of bench/ref/; results in bench/results/<time>/ (docs/benchmarks.md)
.PHONY: bench
bench:
	@scripts/deps.sh build
	@bench/deps.sh
	@test -f build-bench/build.ninja || meson setup build-bench --buildtype=release -Doptimization=2 \
		-Db_sanitize=none -Dtests=disabled >/dev/null
	@ninja -C build-bench >/dev/null
	@python3 bench/bench.py $(BENCH_ARGS)
