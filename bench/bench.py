#!/usr/bin/env python3
"""bench/bench.py — billd's benchmark harness (issue #8), run by `make bench`.

Seeds databases with bench/seed/{sqlite,pg}.sql (bulk SQL: a recursive CTE on SQLite,
generate_series on PostgreSQL), runs every scenario several times against an optimised
billd (build-bench/) and against the reference programs of bench/ref/ measured in the same
run, and writes the raw results (one JSON line per measurement, each with the machine's load
average taken just before it) and a Markdown summary to bench/results/<UTC time>/.

    python3 bench/bench.py [--quick] [--engines sqlite,pg] [--only SCENARIO,...]
                           [--billd PATH] [--out DIR] [--publish docs/benchmarks.md]

Scenarios: startup (start-up time, idle RSS), refs (reference servers), read (API reads with
wrk), write (payments with unique uniq_keys, then row count and `billd check`), renew (renewal
pass over 10^4..10^6 due user services), spool (local-transport tasks, 1 and 2 nodes), insert
(raw insert ceiling of each engine). --quick uses small sizes and short runs (development).
--publish replaces the part of the given Markdown file between the markers
<!-- bench:begin --> and <!-- bench:end --> with the summary.

Standard library only. Needs wrk, sqlite3, psql/PostgreSQL 15, cc, pkg-config
(bench/deps.sh installs them).
"""

import argparse
import atexit
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
ADMIN_PW = "bench-admin-pw-1"
SECRET_KEY = "5eed" * 16

FULL = {
    "api_users": 100000,          # users in the API database (one service each, not due)
    "catalog": 20,                # orderable services
    "wrk_seconds": 4,
    "reps": 2,
    "conns": [32, 256],
    "threads": 4,                 # WORKERS_COUNT of billd and pool size of the references
    "write_seconds": 4,
    # 10^6 renewals take minutes on PostgreSQL (a round trip per statement): SQLite only
    "renew": {"sqlite": [10**4, 10**5, 10**6], "pg": [10**4]},
    "renew_reps": {10**4: 2, 10**5: 1, 10**6: 1},
    "spool_tasks": 10**5,
    "spool_timeout": 30,          # seconds per configuration; the rate is reported either way
    "insert": {"sqlite": 10**6, "pg": 2 * 10**4},
    "startup_reps": 5,
}
QUICK = dict(FULL, api_users=2000, wrk_seconds=2, reps=2, write_seconds=2,
             renew={"sqlite": [1000, 3000], "pg": [1000]}, renew_reps={1000: 2, 3000: 1},
             spool_tasks=2000, spool_timeout=30, insert={"sqlite": 10**5, "pg": 10**4},
             startup_reps=3)

ENDPOINTS = [
    ("user", "GET /shm/v1/user (user session)", "/shm/v1/user", "user"),
    ("admin_user_list", "GET /shm/v1/admin/user?limit=50 + filter (admin session)",
     "/shm/v1/admin/user?limit=50&filter=" + urllib.parse.quote('{"login":"bench1%"}'), "admin"),
    ("service_order", "GET /shm/v1/service/order (user session)", "/shm/v1/service/order", "user"),
]

CHILDREN = []


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def proc_status(pid):
    """VmRSS and VmHWM of a live process in KiB ({} when it is gone)."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, env=None, check=True, capture=True, timeout=None, inp=None):
    r = subprocess.run(cmd, env=env, input=inp, text=True, timeout=timeout,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.STDOUT if capture else None)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode,
                                                   (r.stdout or "")[-2000:]))
    return r


def kill_children():
    for p in CHILDREN:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


# ---------------------------------------------------------------------------------------
# engines


class Engine:
    """One database engine: creating, seeding, cloning and querying bench databases."""

    def __init__(self, name, work):
        self.name = name
        self.work = work

    def seed(self, url, **params):
        path = os.path.join(BENCH, "seed", "sqlite.sql" if self.name == "sqlite" else "pg.sql")
        with open(path) as f:
            sql = f.read()
        for k, v in params.items():
            sql = sql.replace("${%s}" % k, str(int(v)))
        if "${" in sql:
            raise RuntimeError("unfilled placeholder in %s" % path)
        self.script(url, sql)


class Sqlite(Engine):
    def __init__(self, work):
        super().__init__("sqlite", work)

    def path(self, url):
        return url[len("sqlite://"):]

    def new_db(self, name):
        path = os.path.join(self.work, name + ".db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
        return "sqlite://" + path

    def drop(self, url):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path(url) + suffix):
                os.unlink(self.path(url) + suffix)

    def clone(self, src, name):
        dst = self.new_db(name)
        self.query(src, "PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(self.path(src), self.path(dst))
        return dst

    def script(self, url, sql):
        run(["sqlite3", "-bail", self.path(url)], inp=sql)

    def query(self, url, sql):
        return run(["sqlite3", self.path(url), sql]).stdout.strip()


class Pg(Engine):
    def __init__(self, work, base_url):
        super().__init__("pg", work)
        self.base = base_url  # postgresql://postgres@127.0.0.1:PORT/postgres

    def url_of(self, name):
        return self.base.rsplit("/", 1)[0] + "/" + name

    def new_db(self, name):
        self.query(self.base, "DROP DATABASE IF EXISTS %s" % name)
        self.query(self.base, "CREATE DATABASE %s" % name)
        return self.url_of(name)

    def drop(self, url):
        self.query(self.base, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % url.rsplit("/", 1)[1])

    def clone(self, src, name):
        self.query(self.base, "DROP DATABASE IF EXISTS %s" % name)
        self.query(self.base, "CREATE DATABASE %s TEMPLATE %s" % (name, src.rsplit("/", 1)[1]))
        return self.url_of(name)

    def script(self, url, sql):
        run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url], inp=sql)

    def query(self, url, sql):
        return run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql]
                   ).stdout.strip()


# ---------------------------------------------------------------------------------------
# billd processes


class Bench:
    def __init__(self, args):
        self.args = args
        self.p = dict(QUICK if args.quick else FULL)
        if args.renew_sizes:
            sizes = [int(float(x)) for x in args.renew_sizes.split(",")]
            self.p["renew"] = {"sqlite": sizes, "pg": sizes}
            self.p["renew_reps"] = {n: 1 for n in sizes}
        self.billd = os.path.abspath(args.billd)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.out = os.path.abspath(args.out or os.path.join(BENCH, "results", stamp))
        os.makedirs(os.path.join(self.out, "logs"), exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="billd-bench-")
        atexit.register(shutil.rmtree, self.work, True)
        self.results = []
        self.raw = open(os.path.join(self.out, "results.jsonl"), "a")
        self.engines = {}
        self.pgdir = None
        self.now = int(time.time())
        self.bin = os.path.join(self.out, "bin")

    # -- bookkeeping

    def record(self, scenario, engine, variant, **fields):
        rec = {"scenario": scenario, "engine": engine, "variant": variant,
               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **fields}
        self.results.append(rec)
        self.raw.write(json.dumps(rec, sort_keys=True) + "\n")
        self.raw.flush()
        return rec

    def env(self, url, **extra):
        e = dict(os.environ)
        for k in ("TRUSTED_IPS", "MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_IP", "IDLE_TIMEOUT",
                  "ENABLE_RATE_LIMIT", "BILLD_SECRET_KEY_FILE", "BILLD_TEST_CLOCK"):
            e.pop(k, None)
        e.update(DATABASE_URL=url, TZ="UTC", LOG_LEVEL="info", BILLD_ADMIN_PASSWORD=ADMIN_PW,
                 BILLD_SECRET_KEY=SECRET_KEY, WORKERS_COUNT=str(self.p["threads"]))
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def billd_cmd(self, url, *argv, check=True, timeout=None):
        return run([self.billd] + list(argv), env=self.env(url), check=check, timeout=timeout)

    def start_server(self, url, name):
        port = free_port()
        logf = open(os.path.join(self.out, "logs", name + ".log"), "ab")
        t0 = time.monotonic()
        p = subprocess.Popen([self.billd, "serve"], env=self.env(url, LISTEN="127.0.0.1:%d" % port),
                             stdout=logf, stderr=subprocess.STDOUT, cwd=self.work)
        CHILDREN.append(p)
        deadline = t0 + 60
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError("billd serve exited (%d), see logs/%s.log" % (p.returncode, name))
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/shm/v1/healthcheck")
                if c.getresponse().status == 200:
                    c.close()
                    return p, port, time.monotonic() - t0
                c.close()
            except OSError:
                pass
            time.sleep(0.001)
        raise RuntimeError("billd serve did not become ready")

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in CHILDREN:
            CHILDREN.remove(p)
        return p.returncode

    @staticmethod
    def http(port, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        h = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data

    def sessions(self, port):
        st, js = self.http(port, "POST", "/shm/v1/user/auth",
                           body=urllib.parse.urlencode({"login": "admin", "password": ADMIN_PW}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        if st != 200:
            raise RuntimeError("admin login failed: %s %s" % (st, js))
        admin = js["id"] if "id" in js else js["data"][0]["id"]
        st, js = self.http(port, "PUT", "/shm/v1/admin/user/session", body={"user_id": 2},
                           headers={"session-id": admin})
        if st != 200:
            raise RuntimeError("user session failed: %s %s" % (st, js))
        user = js["id"] if "id" in js else js["data"][0]["id"]
        return {"admin": admin, "user": user}

    # -- wrk

    def wrk(self, port, path, conns, seconds, header=None, script="report.lua", extra_env=None):
        cmd = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s",
               "-s", os.path.join(BENCH, "wrk", script)]
        if header:
            cmd += ["-H", header]
        cmd.append("http://127.0.0.1:%d%s" % (port, path))
        env = dict(os.environ, BENCH_LUA_DIR=os.path.join(BENCH, "wrk"), **(extra_env or {}))
        r = run(cmd, env=env, timeout=seconds + 60)
        m = re.search(r"BENCH_JSON (\{.*\})", r.stdout)
        if not m:
            raise RuntimeError("wrk printed no result: " + r.stdout[-1000:])
        js = json.loads(m.group(1))
        js["rps"] = js["requests"] / (js["duration_us"] / 1e6)
        return js

    # -- references

    def build_refs(self):
        os.makedirs(self.bin, exist_ok=True)
        cc = os.environ.get("CC", "cc")
        specs = [("hello", ["libmicrohttpd"]), ("hello_sqlite", ["libmicrohttpd", "sqlite3", "jansson"]),
                 ("insert", ["sqlite3", "libpq"])]
        for name, pkgs in specs:
            flags = run(["pkg-config", "--cflags", "--libs"] + pkgs).stdout.split()
            run([cc, "-O2", "-std=c17", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-pthread",
                 "-o", os.path.join(self.bin, name), os.path.join(BENCH, "ref", name + ".c")] + flags)

    def start_ref(self, name, *argv):
        port = free_port()
        p = subprocess.Popen([os.path.join(self.bin, name), str(port)] + [str(a) for a in argv],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        CHILDREN.append(p)
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("reference %s did not start" % name)
        return p, port

    # ---------------------------------------------------------------------------------
    # seeding

    def api_db(self, eng):
        """The API database: users with one (not yet due) service each, a catalogue."""
        url = eng.new_db("bench_api")
        self.billd_cmd(url, "migrate")
        t0 = time.monotonic()
        n = self.p["api_users"]
        eng.seed(url, users=n, services=n, catalog=self.p["catalog"], tasks=0,
                 created=self.now - 40 * 86400, expire=self.now + 20 * 86400, balance=1000000)
        self.record("seed", eng.name, "api", users=n, services=n, seconds=time.monotonic() - t0,
                    load=loadavg())
        return url

    # ---------------------------------------------------------------------------------
    # scenarios

    def sc_startup(self, eng, url):
        for i in range(self.p["startup_reps"]):
            load = loadavg()
            p, port, dt = self.start_server(url, "startup-%s" % eng.name)
            time.sleep(1.0)
            st = proc_status(p.pid)
            self.stop(p)
            self.record("startup", eng.name, "serve", rep=i, startup_s=dt,
                        idle_rss_kb=st.get("VmRSS"), load=load)
            log("  startup %s: %.1f ms, idle RSS %.1f MB" % (eng.name, dt * 1000,
                                                             st.get("VmRSS", 0) / 1024))

    def sc_refs(self, sqlite_api_url):
        n = self.p["api_users"]
        dbfile = sqlite_api_url[len("sqlite://"):]
        for name, argv in (("hello", [self.p["threads"]]),
                           ("hello_sqlite", [self.p["threads"], dbfile, n])):
            p, port = self.start_ref(name, *argv)
            self.wrk(port, "/", 32, 1)  # warm-up
            for conns in self.p["conns"]:
                for i in range(self.p["reps"]):
                    load = loadavg()
                    js = self.wrk(port, "/", conns, self.p["wrk_seconds"])
                    st = proc_status(p.pid)
                    self.record("ref", "sqlite" if name == "hello_sqlite" else "-", name,
                                conns=conns, rep=i, rss_kb=st.get("VmRSS"), load=load, **js)
                    log("  ref %s c=%d: %.0f req/s p99 %.2f ms" % (name, conns, js["rps"],
                                                                   js["lat_p99_us"] / 1000))
            self.stop(p)

    def sc_read(self, eng, url):
        p, port, _ = self.start_server(url, "read-%s" % eng.name)
        try:
            sess = self.sessions(port)
            for key, _label, path, who in ENDPOINTS:
                hdr = "session-id: " + sess[who]
                # the previous endpoint's backlog (slow requests queued by 256 connections) may
                # still be draining: retry the probe for up to 30 s
                for attempt in range(60):
                    try:
                        st, js = self.http(port, "GET", path, headers={"session-id": sess[who]})
                        break
                    except OSError:
                        if attempt == 59:
                            raise
                        time.sleep(0.5)
                if st != 200:
                    raise RuntimeError("%s answered %s: %s" % (path, st, str(js)[:300]))
                self.wrk(port, path, 32, 1, header=hdr)  # warm-up
                for conns in self.p["conns"]:
                    for i in range(self.p["reps"]):
                        load = loadavg()
                        js = self.wrk(port, path, conns, self.p["wrk_seconds"], header=hdr)
                        st = proc_status(p.pid)
                        self.record("read", eng.name, key, conns=conns, rep=i,
                                    rss_kb=st.get("VmRSS"), hwm_kb=st.get("VmHWM"), load=load, **js)
                        log("  read %s %s c=%d: %.0f req/s p50 %.2f ms p99 %.2f ms%s" % (
                            eng.name, key, conns, js["rps"], js["lat_p50_us"] / 1000,
                            js["lat_p99_us"] / 1000,
                            " ERRORS status=%d" % js["err_status"] if js["err_status"] else ""))
        finally:
            rc = self.stop(p)
        self.record("serve_exit", eng.name, "read", exit_code=rc)

    def sc_write(self, eng, url):
        users = self.p["api_users"]
        before = int(eng.query(url, "SELECT count(*) FROM pays_history"))
        p, port, _ = self.start_server(url, "write-%s" % eng.name)
        ok_total = 0
        try:
            sess = self.sessions(port)
            for i in range(self.p["reps"]):
                load = loadavg()
                js = self.wrk(port, "/shm/v1/admin/user/payment", 32, self.p["write_seconds"],
                              header="session-id: " + sess["admin"], script="payment.lua",
                              extra_env={"BENCH_USERS": str(users), "BENCH_RUN": "%s%d" % (eng.name, i)})
                ok = js["requests"] - js["err_status"]
                ok_total += ok
                st = proc_status(p.pid)
                self.record("write", eng.name, "payment", conns=32, rep=i, ok=ok,
                            rss_kb=st.get("VmRSS"), load=load, **js)
                log("  write %s: %.0f req/s p99 %.2f ms (%d ok, %d non-2xx)" % (
                    eng.name, js["rps"], js["lat_p99_us"] / 1000, ok, js["err_status"]))
        finally:
            rc = self.stop(p)
        rows = int(eng.query(url, "SELECT count(*) FROM pays_history")) - before
        chk = self.billd_cmd(url, "check", check=False)
        self.record("write_check", eng.name, "payment", ok_responses=ok_total, new_rows=rows,
                    check_rc=chk.returncode, check_out=chk.stdout.strip()[-300:], serve_exit=rc)
        log("  write %s: %d 2xx responses, %d new pays_history rows, billd check rc=%d" % (
            eng.name, ok_total, rows, chk.returncode))

    def sc_renew(self, eng):
        for n in self.p["renew"][eng.name]:
            users = max(1, n // 10)
            seed_url = eng.new_db("bench_renew_seed")
            self.billd_cmd(seed_url, "migrate")
            t0 = time.monotonic()
            eng.seed(seed_url, users=users, services=n, catalog=self.p["catalog"], tasks=0,
                     created=self.now - 40 * 86400, expire=self.now - 3600,
                     balance=100 * (n // users + 1) * 3)
            self.record("seed", eng.name, "renew", services=n, users=users,
                        seconds=time.monotonic() - t0, load=loadavg())
            # PostgreSQL renewals run at ~100 services/s on a loaded 2-core machine: one run
            reps = self.p["renew_reps"].get(n, 1) if eng.name == "sqlite" else 1
            for i in range(reps):
                url = eng.clone(seed_url, "bench_renew_run")
                load = loadavg()
                env = self.env(url)
                t0 = time.monotonic()
                p = subprocess.Popen([self.billd, "renew"], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
                CHILDREN.append(p)
                out = p.stdout.read()
                _, status, ru = os.wait4(p.pid, 0)
                dt = time.monotonic() - t0
                p.returncode = os.waitstatus_to_exitcode(status)
                CHILDREN.remove(p)
                m = re.search(r"renewal pass: (\d+) due, (\d+) renewed or processed, (\d+) failed", out)
                due, touched, failed = (int(x) for x in m.groups()) if m else (-1, -1, -1)
                wd = int(eng.query(url, "SELECT count(*) FROM withdraw_history"))
                ev = int(eng.query(url, "SELECT count(*) FROM spool WHERE id > 3"))
                chk = self.billd_cmd(url, "check", check=False)
                self.record("renew", eng.name, str(n), rep=i, seconds=dt, per_s=n / dt,
                            cpu_s=ru.ru_utime + ru.ru_stime, peak_rss_kb=ru.ru_maxrss, due=due, renewed=touched, failed=failed,
                            withdraws=wd, events_queued=ev, exit_code=p.returncode,
                            check_rc=chk.returncode, load=load)
                log("  renew %s n=%d: %.2f s (CPU %.2f s), %.0f services/s, peak RSS %.1f MB, due=%d failed=%d"
                    " withdraws=%d events=%d check=%d" % (eng.name, n, dt, ru.ru_utime + ru.ru_stime, n / dt, ru.ru_maxrss / 1024,
                                                         due, failed, wd, ev, chk.returncode))
                eng.drop(url)
            eng.drop(seed_url)

    def spool_available(self):
        r = run([self.billd, "spool", "--help"], check=False)
        return r.returncode == 0 and "not implemented" not in (r.stdout or "")

    def sc_spool(self, eng):
        nodes_list = [1, 2] if eng.name == "pg" else [1]
        if not self.spool_available():
            for nodes in nodes_list:
                self.record("spool", eng.name, "%d node(s)" % nodes, available=False)
            log("  spool %s: not available (`billd spool` is not implemented in this build)" % eng.name)
            return
        n = self.p["spool_tasks"]
        for nodes in nodes_list:
            url = eng.new_db("bench_spool")
            self.billd_cmd(url, "migrate")
            eng.seed(url, users=1000, services=0, catalog=self.p["catalog"], tasks=n,
                     created=self.now - 60, expire=self.now + 86400, balance=1000)
            remaining_sql = ("SELECT count(*) FROM spool WHERE id > 3 AND status NOT IN "
                             "('STUCK', 'FAIL', 'PAUSED')")
            load = loadavg()
            t0 = time.monotonic()
            procs = []
            for k in range(nodes):
                logf = open(os.path.join(self.out, "logs", "spool-%s-%d-%d.log" % (eng.name, nodes, k)), "ab")
                # --once: process everything that is due, then exit; each node has its own id
                p = subprocess.Popen([self.billd, "spool", "--once"],
                                     env=self.env(url, BILLD_NODE_ID="bench-node-%d" % k),
                                     stdout=logf, stderr=subprocess.STDOUT, cwd=self.work)
                CHILDREN.append(p)
                procs.append(p)
            rss = [None] * nodes
            while time.monotonic() - t0 < self.p["spool_timeout"]:
                for k, p in enumerate(procs):
                    hwm = proc_status(p.pid).get("VmHWM")
                    rss[k] = hwm or rss[k]
                if all(p.poll() is not None for p in procs):
                    break
                time.sleep(0.02)
            remaining = int(eng.query(url, remaining_sql))
            dt = time.monotonic() - t0
            for p in procs:
                self.stop(p)
            done = n - remaining
            failed = int(eng.query(url, "SELECT count(*) FROM spool WHERE id > 3 AND status IN ('STUCK', 'FAIL')"))
            self.record("spool", eng.name, "%d node(s)" % nodes, available=True, tasks=n, done=done,
                        failed=failed, seconds=dt, per_s=(done - failed) / dt, nodes=nodes,
                        peak_rss_kb=rss, timed_out=remaining > 0, load=load)
            log("  spool %s nodes=%d: %d of %d tasks in %.2f s (%.0f tasks/s), %d failed/stuck" % (
                eng.name, nodes, done, n, dt, (done - failed) / dt, failed))
            eng.drop(url)

    def sc_insert(self, eng):
        n = self.p["insert"][eng.name]
        url = eng.new_db("bench_insert")
        target = eng.path(url) if eng.name == "sqlite" else url
        for i in range(2):
            load = loadavg()
            out = run([os.path.join(self.bin, "insert"), "sqlite" if eng.name == "sqlite" else "pg",
                       target, str(n)]).stdout
            m = re.search(r"rows=(\d+) seconds=([\d.]+) rows_per_s=(\d+)", out)
            self.record("insert", eng.name, "one transaction", rep=i, rows=int(m.group(1)),
                        seconds=float(m.group(2)), per_s=float(m.group(3)), load=load)
            log("  insert %s: %s rows/s" % (eng.name, m.group(3)))
        eng.drop(url)

    # ---------------------------------------------------------------------------------

    def start_pg(self):
        self.pgdir = tempfile.mkdtemp(prefix="billd-bench-pg-")
        os.chmod(self.pgdir, 0o755)
        url = run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "start", self.pgdir],
                  capture=True).stdout.strip().splitlines()[-1]
        # The throwaway cluster runs with fsync off; the benchmark wants durable commits like
        # SQLite's synchronous=FULL.
        run(["psql", "-X", "-q", url, "-c", "ALTER SYSTEM SET fsync = on"])
        run(["psql", "-X", "-q", url, "-c", "ALTER SYSTEM SET synchronous_commit = on"])
        run(["psql", "-X", "-q", url, "-c", "ALTER SYSTEM SET full_page_writes = on"])
        run(["psql", "-X", "-q", url, "-c", "SELECT pg_reload_conf()"])
        return url

    def stop_pg(self):
        if self.pgdir:
            run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "stop", self.pgdir], check=False)
            self.pgdir = None

    def machine(self):
        info = {"nproc": os.cpu_count(), "kernel": platform.release(), "load_start": loadavg()}
        with open("/proc/meminfo") as f:
            info["mem_total_mb"] = int(f.readline().split()[1]) // 1024
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            info["cpu"] = m.group(1) if m else "?"
        info["sqlite"] = run(["sqlite3", "--version"]).stdout.split()[0]
        info["wrk"] = run(["wrk", "-v"], check=False).stdout.split("\n")[0][:60]
        info["billd"] = run([self.billd, "version"], check=False).stdout.strip()
        r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        info["git"] = r.stdout.strip() if r.returncode == 0 else os.environ.get("BENCH_REV", "no git checkout")
        info["quick"] = bool(self.args.quick)
        return info

    def main(self):
        only = set(self.args.only.split(",")) if self.args.only else None
        want = lambda s: only is None or s in only  # noqa: E731
        t_start = time.monotonic()
        self.build_refs()
        mach = self.machine()
        self.record("machine", "-", "-", **mach)
        log("billd bench: results in %s" % self.out)
        engines = self.args.engines.split(",")
        api_urls = {}
        for name in engines:
            if name == "sqlite":
                eng = Sqlite(self.work)
            else:
                log("starting a PostgreSQL 15 cluster")
                eng = Pg(self.work, self.start_pg())
            self.engines[name] = eng
            log("[%s] seeding the API database (%d users)" % (name, self.p["api_users"]))
            url = self.api_db(eng)
            api_urls[name] = url
            steps = [("startup", "start-up time and idle RSS", lambda: self.sc_startup(eng, url)),
                     ("refs", "reference servers", lambda: self.sc_refs(url) if name == "sqlite" else None),
                     ("read", "API reads", lambda: self.sc_read(eng, url)),
                     ("write", "API writes (payments)", lambda: self.sc_write(eng, url)),
                     ("insert", "raw insert reference", lambda: self.sc_insert(eng)),
                     ("spool", "spool", lambda: self.sc_spool(eng)),
                     ("renew", "renewal pass", lambda: self.sc_renew(eng))]
            for key, title, fn in steps:
                if not want(key):
                    continue
                log("[%s] %s" % (name, title))
                try:
                    fn()
                except Exception as ex:  # one failing scenario must not lose the others
                    log("  %s %s FAILED: %r" % (key, name, ex))
                    self.record("error", name, key, error=repr(ex)[:500])
                    kill_children()
            eng.drop(url)
        self.record("done", "-", "-", seconds=time.monotonic() - t_start, load_end=loadavg())
        self.stop_pg()
        md = summarize(self.results)
        with open(os.path.join(self.out, "summary.md"), "w") as f:
            f.write(md)
        latest = os.path.join(BENCH, "results", "latest")
        if os.path.dirname(self.out) == os.path.join(BENCH, "results"):
            if os.path.islink(latest):
                os.unlink(latest)
            if not os.path.exists(latest):
                os.symlink(os.path.basename(self.out), latest)
        if self.args.publish:
            publish(self.args.publish, md)
        log("done in %.0f s; summary: %s" % (time.monotonic() - t_start,
                                           os.path.join(self.out, "summary.md")))
        shutil.rmtree(self.work, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# summary


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def rng(xs, fmt):
    xs = [x for x in xs if x is not None]
    if len(xs) < 2:
        return ""
    return " (" + fmt % min(xs) + "–" + fmt % max(xs) + ")"


def group(results, scenario):
    out = {}
    for r in results:
        if r["scenario"] == scenario:
            out.setdefault((r["engine"], r["variant"], r.get("conns")), []).append(r)
    return out


def loads(rs):
    """The 1-minute load averages read before the runs of a row."""
    return ", ".join("%.1f" % r["load"][0] for r in rs if r.get("load"))


def pct(x, ref):
    if not ref or x is None:
        return "—"
    v = 100 * x / ref
    return ("%.0f %%" if v >= 10 else "%.1f %%" if v >= 1 else "%.2f %%") % v


def fmt_int(x):
    return "—" if x is None else "{:,}".format(int(round(x))).replace(",", " ")


def summarize(results):
    L = []
    mach = next((r for r in results if r["scenario"] == "machine"), {})
    done = next((r for r in results if r["scenario"] == "done"), {})
    L.append("Run of %s UTC, %s (git %s)%s. Machine: %s CPU(s) (%s), %s MiB RAM, Linux %s; "
             "SQLite %s, %s. Load average at start %s, at end %s. Total %.0f s.\n" % (
                 mach.get("time", "?").replace("T", " ").rstrip("Z"), mach.get("billd", "?"),
                 mach.get("git", "?"), " — QUICK mode (small sizes)" if mach.get("quick") else "",
                 mach.get("nproc"), mach.get("cpu"), mach.get("mem_total_mb"), mach.get("kernel"),
                 mach.get("sqlite"), mach.get("wrk"), mach.get("load_start"),
                 done.get("load_end"), done.get("seconds", 0)))

    refs = group(results, "ref")
    ref_rps = {(k[1], k[2]): med([r["rps"] for r in v]) for k, v in refs.items()}
    if refs:
        L.append("### Reference servers (bench/ref, same wrk settings)\n")
        L.append("| Reference | Connections | req/s (median, min–max) | p50 ms | p99 ms | RSS MB |")
        L.append("|---|---|---|---|---|---|")
        for (eng, var, conns), rs in sorted(refs.items(), key=lambda kv: (kv[0][1], kv[0][2])):
            L.append("| %s | %d | %s%s | %.2f | %.2f | %.1f |" % (
                var, conns, fmt_int(med([r["rps"] for r in rs])), rng([r["rps"] for r in rs], "%.0f"),
                med([r["lat_p50_us"] for r in rs]) / 1000, med([r["lat_p99_us"] for r in rs]) / 1000,
                (med([r["rss_kb"] for r in rs]) or 0) / 1024))
        L.append("")

    reads = group(results, "read")
    if reads:
        L.append("### API reads (wrk, 2 threads, keep-alive)\n")
        L.append("| Endpoint | Engine | Conn. | req/s (median, min–max) | p50 ms | p99 ms | server RSS MB "
                 "| vs hello+SQLite | vs hello | load before |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        labels = {k: lbl for k, lbl, _, _ in ENDPOINTS}
        order = {k: i for i, (k, _, _, _) in enumerate(ENDPOINTS)}
        for (eng, var, conns), rs in sorted(reads.items(), key=lambda kv: (order.get(kv[0][1], 9), kv[0][0], kv[0][2])):
            rps = med([r["rps"] for r in rs])
            errs = sum(r["err_status"] + r["err_timeout"] for r in rs)
            rs_ref = ref_rps.get(("hello_sqlite", conns))
            h_ref = ref_rps.get(("hello", conns))
            L.append("| %s | %s | %d | %s%s%s | %.2f | %.2f | %.1f | %s | %s | %s |" % (
                labels.get(var, var), eng, conns, fmt_int(rps), rng([r["rps"] for r in rs], "%.0f"),
                " (%d errors)" % errs if errs else "",
                med([r["lat_p50_us"] for r in rs]) / 1000, med([r["lat_p99_us"] for r in rs]) / 1000,
                (med([r["rss_kb"] for r in rs]) or 0) / 1024,
                pct(rps, rs_ref), pct(rps, h_ref), loads(rs)))
        L.append("")

    writes = group(results, "write")
    checks = {r["engine"]: r for r in results if r["scenario"] == "write_check"}
    inserts = {k[0]: med([r["per_s"] for r in v]) for k, v in group(results, "insert").items()}
    if writes:
        L.append("### API writes: PUT /shm/v1/admin/user/payment, unique uniq_key (wrk, 32 connections)\n")
        L.append("| Engine | req/s (median, min–max) | p50 ms | p99 ms | 2xx responses | new pays_history rows "
                 "| rows consistent | billd check | vs raw inserts/s |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for (eng, var, conns), rs in sorted(writes.items()):
            c = checks.get(eng, {})
            rps = med([r["rps"] for r in rs])
            # wrk stops counting at the deadline: requests in flight then (≤ connections per run)
            # are committed but not counted as responses
            slack = sum(r["conns"] for r in rs)
            extra = (c.get("new_rows") or 0) - (c.get("ok_responses") or 0)
            L.append("| %s | %s%s | %.2f | %.2f | %s | %s | %s | %s | %s |" % (
                eng, fmt_int(rps), rng([r["rps"] for r in rs], "%.0f"),
                med([r["lat_p50_us"] for r in rs]) / 1000, med([r["lat_p99_us"] for r in rs]) / 1000,
                fmt_int(c.get("ok_responses")), fmt_int(c.get("new_rows")),
                "yes (+%d in flight)" % extra if 0 <= extra <= slack else "**NO** (%+d)" % extra,
                "pass" if c.get("check_rc") == 0 else "FAIL (%s)" % c.get("check_rc"),
                pct(rps, inserts.get(eng))))
        L.append("")

    if inserts:
        L.append("### Raw insert ceiling (bench/ref/insert.c: prepared single-row INSERTs, one transaction)\n")
        L.append("| Engine | rows | rows/s (median) |")
        L.append("|---|---|---|")
        for (eng, var, _), rs in sorted(group(results, "insert").items()):
            L.append("| %s | %s | %s |" % (eng, fmt_int(rs[0]["rows"]), fmt_int(med([r["per_s"] for r in rs]))))
        L.append("")

    renews = group(results, "renew")
    if renews:
        L.append("### Renewal pass: `billd renew` over N due user services (withdraw + balance + ledger + "
                 "queued event each)\n")
        L.append("| Engine | N due | runs | seconds (median) | CPU s | services/s | peak RSS MB | failed | billd check "
                 "| vs raw inserts/s | load before |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for (eng, var, _), rs in sorted(renews.items(), key=lambda kv: (kv[0][0], int(kv[0][1]))):
            ps = med([r["per_s"] for r in rs])
            L.append("| %s | %s | %d | %.2f%s | %.1f | %s | %.1f | %d | %s | %s | %s |" % (
                eng, fmt_int(int(var)), len(rs), med([r["seconds"] for r in rs]),
                rng([r["seconds"] for r in rs], "%.2f"), med([r.get("cpu_s") for r in rs]) or 0, fmt_int(ps),
                max(r["peak_rss_kb"] for r in rs) / 1024, max(r["failed"] for r in rs),
                "pass" if all(r["check_rc"] == 0 for r in rs) else "FAIL",
                pct(ps, inserts.get(eng)), loads(rs)))
        L.append("")

    spools = group(results, "spool")
    if spools:
        L.append("### Spool: local-transport tasks\n")
        L.append("| Engine | Nodes | tasks | seconds | tasks/s | tasks/s per node | failed/stuck |")
        L.append("|---|---|---|---|---|---|---|")
        for (eng, var, _), rs in sorted(spools.items()):
            r = rs[0]
            if not r.get("available"):
                L.append("| %s | %s | — | — | not available (`billd spool` not implemented) | — | — |" % (eng, var))
            else:
                L.append("| %s | %d | %s%s | %.2f | %s | %s | %d |" % (
                    eng, r["nodes"], fmt_int(r["done"]), " (timed out)" if r["timed_out"] else "",
                    r["seconds"], fmt_int(r["per_s"]), fmt_int(r["per_s"] / r["nodes"]), r["failed"]))
        L.append("")

    starts = group(results, "startup")
    if starts:
        L.append("### Start-up and idle memory (`billd serve` on the seeded API database)\n")
        L.append("| Engine | start-up to first healthcheck 200, ms (median, min–max) | idle RSS MB |")
        L.append("|---|---|---|")
        for (eng, var, _), rs in sorted(starts.items()):
            L.append("| %s | %.1f%s | %.1f |" % (
                eng, med([r["startup_s"] * 1000 for r in rs]), rng([r["startup_s"] * 1000 for r in rs], "%.1f"),
                med([r["idle_rss_kb"] for r in rs]) / 1024))
        L.append("")

    errors = [r for r in results if r["scenario"] == "error"]
    if errors:
        L.append("### Scenarios that failed in this run\n")
        for r in errors:
            L.append("* %s on %s: `%s`" % (r["variant"], r["engine"], r["error"]))
        L.append("")

    L.append("### Targets (issue #8)\n")
    L.append("| Target | Measured | Met |")
    L.append("|---|---|---|")
    for (eng, var, conns), rs in sorted(reads.items()):
        if var == "user" and conns == 32:
            rps = med([r["rps"] for r in rs])
            p99 = med([r["lat_p99_us"] for r in rs]) / 1000
            ref = ref_rps.get(("hello_sqlite", 32))
            ratio = 100 * rps / ref if ref else 0
            L.append("| authenticated read (GET /user) ≥ 60 %% of hello+SQLite at 32 conn. (%s) | %.0f %% "
                     "| %s |" % (eng, ratio, "yes" if ratio >= 60 else "**no**"))
            L.append("| authenticated read p99 < 5 ms at 32 conn. (%s) | %.2f ms | %s |" % (
                eng, p99, "yes" if p99 < 5 else "**no**"))
    for (eng, var, _), rs in renews.items():
        if eng == "sqlite" and var == str(10**6):
            s = med([r["seconds"] for r in rs])
            L.append("| 10^6 renewals < 30 s on SQLite | %.1f s | %s |" % (s, "yes" if s < 30 else "**no**"))
    for (eng, var, _), rs in spools.items():
        r = rs[0]
        if r.get("available"):
            pn = r["per_s"] / r["nodes"]
            L.append("| ≥ 10 000 local tasks/s per node (%s, %s) | %s | %s |" % (
                eng, var, fmt_int(pn), "yes" if pn >= 10000 else "**no**"))
        else:
            L.append("| ≥ 10 000 local tasks/s per node (%s, %s) | not available | **no** |" % (eng, var))
    for (eng, var, _), rs in sorted(starts.items()):
        rss = med([r["idle_rss_kb"] for r in rs]) / 1024
        st = med([r["startup_s"] * 1000 for r in rs])
        L.append("| idle RSS < 20 MB (%s) | %.1f MB | %s |" % (eng, rss, "yes" if rss < 20 else "**no**"))
        L.append("| start-up < 100 ms (%s) | %.1f ms | %s |" % (eng, st, "yes" if st < 100 else "**no**"))
    L.append("")
    return "\n".join(L) + "\n"


def publish(path, md):
    with open(path) as f:
        text = f.read()
    b, e = "<!-- bench:begin -->", "<!-- bench:end -->"
    if b not in text or e not in text:
        raise RuntimeError("%s has no %s … %s markers" % (path, b, e))
    head, rest = text.split(b, 1)
    _, tail = rest.split(e, 1)
    with open(path, "w") as f:
        f.write(head + b + "\n" + md + e + tail)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and short runs")
    ap.add_argument("--engines", default="sqlite,pg")
    ap.add_argument("--only", help="comma list: startup,refs,read,write,insert,spool,renew")
    ap.add_argument("--renew-sizes", help="comma list of renewal sizes (overrides the profile)")
    ap.add_argument("--billd", default=os.path.join(ROOT, "build-bench", "billd"))
    ap.add_argument("--out", help="results directory (default bench/results/<UTC time>)")
    ap.add_argument("--publish", help="Markdown file whose bench:begin/end section gets the summary")
    ap.add_argument("--summarize", help="only rebuild summary.md from this results.jsonl")
    args = ap.parse_args()
    if args.summarize:
        with open(args.summarize) as f:
            md = summarize([json.loads(line) for line in f if line.strip()])
        sys.stdout.write(md)
        if args.publish:
            publish(args.publish, md)
        return
    atexit.register(kill_children)
    b = Bench(args)
    atexit.register(b.stop_pg)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    b.main()


if __name__ == "__main__":
    main()
