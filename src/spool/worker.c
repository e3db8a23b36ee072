/*
 * worker.c — the spool threads of one process (D4; docs/spool.md): worker
 * threads that claim → execute → finish, each with its own connection; the
 * in-process wake-up (a condition variable with a generation counter, woken
 * after a transaction that created tasks commits); and on PostgreSQL one node
 * thread that holds the node-id lock, listens for NOTIFY billd_spool from
 * other nodes, renews the leases of this node's claims and holds the
 * scheduler's advisory lock (only its holder runs periodic Jobs, D3). Every
 * idle worker also polls once a second, so no wake-up is needed for
 * correctness.
 */
#include "spool_int.h"

#include "../db/db.h"
#include "../util/config.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 1000
#define LEASE_DEFAULT 300
/* Advisory-lock classes on PostgreSQL: node ids ("SPND") and the scheduler ("SPSC"). */
#define NODE_LOCK_CLASS 1397771844
#define SCHED_LOCK_CLASS 1397773123

/* ---- wake-up ---- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static uint64_t g_gen;

void spool_wake(void)
{
    pthread_mutex_lock(&g_mu);
    g_gen++;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_mu);
}

uint64_t spool_wake_gen(void)
{
    pthread_mutex_lock(&g_mu);
    uint64_t g = g_gen;
    pthread_mutex_unlock(&g_mu);
    return g;
}

void spool_wait(uint64_t gen, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g_mu);
    while (g_gen == gen)
        if (pthread_cond_timedwait(&g_cond, &g_mu, &until))
            break;
    pthread_mutex_unlock(&g_mu);
}

/* ---- node id ---- */

static char g_node[128];

static void node_id_init(void)
{
    const char *env = getenv("BILLD_NODE_ID");
    if (env && *env)
        snprintf(g_node, sizeof(g_node), "%s", env);
    else if (gethostname(g_node, sizeof(g_node) - 1) != 0 || !*g_node)
        snprintf(g_node, sizeof(g_node), "localhost");
}

const char *spool_node_id(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, node_id_init);
    return g_node;
}

/* ---- the pool ---- */

struct spool_pool {
    const struct config *cfg;
    char node[128];
    int64_t lease;
    int pause_ms;
    bool once, pg;
    bool relaxed;           /* SPOOL_SYNC=normal: db_relax_commit on the worker connections */
    int batch;              /* SPOOL_BATCH: the most tasks per claim/finish transaction */
    int n;
    pthread_t *threads;
    pthread_t node_thread;
    bool has_node_thread;
    struct db *node_db;
    atomic_bool stop;
    atomic_bool scheduler;  /* PG: this node holds the scheduler lock */
    atomic_int busy;        /* workers inside a claim/execute/finish */
    atomic_int alive;       /* worker threads not yet exited */
    atomic_uint_fast64_t epoch; /* tasks finished (once-mode termination) */
};

static enum spool_jobs jobs_mode(struct spool_pool *p)
{
    if (p->cfg->test_clock || time_frozen())
        return SPOOL_JOBS_MANUAL; /* the test clock: Jobs only when an admin asks (D5) */
    if (p->pg && !atomic_load(&p->scheduler))
        return SPOOL_JOBS_NONE;
    return SPOOL_JOBS_ALL;
}

/* Once mode: nothing was claimable, no worker busy and none finished since epoch0. */
static void maybe_done(struct spool_pool *p, uint64_t epoch0)
{
    if (atomic_load(&p->busy) == 0 && atomic_load(&p->epoch) == epoch0) {
        atomic_store(&p->stop, true);
        spool_wake();
    }
}

int spool_next_batch(int cap, int size, const struct spool_batch_stats *st)
{
    if (st->slowest_us >= SPOOL_FAST_TASK_US)
        return 1;
    if (st->done == size && size < cap)
        return size * 2 < cap ? size * 2 : cap;
    return size;
}

/* One claim → execute → finish cycle; returns false when the worker should wait. */
static bool worker_step(struct spool_pool *p, struct db *db, int *size, struct err *e, int *rc)
{
    struct spool_opts o = { .node = p->node, .lease = p->lease, .jobs = jobs_mode(p) };
    struct spool_batch_stats st;
    uint64_t epoch0 = atomic_load(&p->epoch);
    atomic_fetch_add(&p->busy, 1);
    *rc = spool_run_batch(db, p->cfg, &o, *size, p->pause_ms, &st, e);
    bool did = st.done > 0;
    if (did)
        atomic_fetch_add(&p->epoch, 1);
    atomic_fetch_sub(&p->busy, 1);
    *size = *rc ? 1 : spool_next_batch(p->batch, *size, &st);
    if (*rc == 0 && !did && p->once)
        maybe_done(p, epoch0);
    return *rc == 0 && did;
}

static void *worker_main(void *arg)
{
    struct spool_pool *p = arg;
    struct db *db = NULL;
    struct err e = { 0 };
    int size = 1; /* this worker's batch size, adapted by spool_next_batch() */
    while (!atomic_load(&p->stop)) {
        uint64_t gen = spool_wake_gen();
        if (!db && (db_open(p->cfg->database_url, &db, &e) ||
                    (p->relaxed && db_relax_commit(db, &e)))) {
            log_warn("spool worker: cannot connect", "err=%d", e.code);
            db_close(db);
            db = NULL;
            spool_wait(gen, POLL_MS);
            continue;
        }
        int rc = 0;
        if (worker_step(p, db, &size, &e, &rc))
            continue;
        if (rc) {
            char q[160];
            log_warn("spool worker error", "code=%d msg=%s", rc, log_q(q, sizeof(q), e.msg));
            if (rc == ERR_IO) {
                db_close(db);
                db = NULL;
            }
        }
        if (!atomic_load(&p->stop))
            spool_wait(gen, POLL_MS);
    }
    int lost = spool_pending_drop();
    if (lost)
        log_error("spool worker exits with unrecorded outcomes; their claims are released at the next start or when the lease expires", "tasks=%d", lost);
    db_close(db);
    atomic_fetch_sub(&p->alive, 1);
    spool_wake();
    return NULL;
}

/* ---- PostgreSQL node thread ---- */

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int try_lock(struct db *db, int64_t cls, int64_t key, bool *held, struct err *e)
{
    struct db_value p[] = { DB_INT(cls), DB_INT(key) };
    int64_t v = 0;
    int rc = db_query_int(db, "SELECT pg_try_advisory_lock($1::int, $2::int)", p, 2, &v, e);
    *held = rc == 0 && v == 1;
    return rc;
}

/* Takes the node-id lock, trying for up to tries × 0.5 s (a killed predecessor's session ends). */
static int lock_node(struct spool_pool *p, int tries, bool *held, struct err *e)
{
    int rc = 0;
    for (int i = 0; i < tries; i++) {
        if ((rc = try_lock(p->node_db, NODE_LOCK_CLASS, (int32_t)fnv1a(p->node), held, e)) ||
            *held)
            return rc;
        if (i + 1 < tries)
            usleep(500 * 1000);
    }
    return rc;
}

/*
 * Opens the node connection: node-id lock, recovery of this node's claims (start-up only),
 * LISTEN. At start-up without BILLD_NODE_ID a taken host-name id falls back to
 * "<host>-<pid>" (a second process on the host); a configured id must be free.
 */
static int node_connect(struct spool_pool *p, bool recover, struct err *e)
{
    bool held = false;
    const char *env = getenv("BILLD_NODE_ID");
    bool configured = env && *env;
    int rc = db_open(p->cfg->database_url, &p->node_db, e);
    if (rc)
        return rc;
    rc = lock_node(p, recover && !configured ? 4 : 20, &held, e);
    if (rc == 0 && !held && recover && !configured) {
        log_warn("spool: node id taken by another process, using a per-process id",
                 "node=%s pid=%ld", p->node, (long)getpid());
        snprintf(p->node, sizeof(p->node), "%.100s-%ld", spool_node_id(), (long)getpid());
        rc = lock_node(p, 1, &held, e);
    }
    if (rc == 0 && !held)
        rc = err_set(e, ERR_CONFLICT,
                     "another spool process runs with node id %s (set BILLD_NODE_ID)", p->node);
    int64_t n = 0;
    if (rc == 0 && recover && (rc = spool_release(p->node_db, p->node, &n, e)) == 0 && n)
        log_info("spool: released claims of an earlier run", "node=%s tasks=%lld", p->node,
                 (long long)n);
    if (rc == 0)
        rc = db_listen(p->node_db, "billd_spool", e);
    if (rc) {
        db_close(p->node_db);
        p->node_db = NULL;
    }
    return rc;
}

/* Takes the scheduler's advisory lock when free (kept for the life of the connection). */
static int take_scheduler(struct spool_pool *p, struct err *e)
{
    bool held = atomic_load(&p->scheduler);
    int rc = 0;
    if (!held && (rc = try_lock(p->node_db, SCHED_LOCK_CLASS, 1, &held, e)) == 0 && held) {
        log_info("spool: this node runs the scheduler", "node=%s", p->node);
        atomic_store(&p->scheduler, true);
        spool_wake();
    }
    return rc;
}

/* One round of the node thread: scheduler lock, notifications, heartbeat. */
static int node_round(struct spool_pool *p, int64_t *last_beat, struct err *e)
{
    bool got = false;
    int rc = take_scheduler(p, e);
    if (rc == 0 && (rc = db_wait_notify(p->node_db, POLL_MS, &got, e)) == 0 && got)
        spool_wake();
    int64_t now = time_now();
    if (rc == 0 && (now - *last_beat >= p->lease / 3 || now < *last_beat)) {
        rc = spool_heartbeat(p->node_db, p->node, now, p->lease, e);
        *last_beat = now;
    }
    return rc;
}

static void *node_main(void *arg)
{
    struct spool_pool *p = arg;
    struct err e = { 0 };
    int64_t last_beat = time_now();
    while (!atomic_load(&p->stop)) {
        if (!p->node_db && node_connect(p, false, &e)) {
            sleep(1);
            continue;
        }
        if (node_round(p, &last_beat, &e)) {
            log_warn("spool node thread: database error", "code=%d", e.code);
            atomic_store(&p->scheduler, false);
            db_close(p->node_db);
            p->node_db = NULL;
            sleep(1);
        }
    }
    db_close(p->node_db);
    p->node_db = NULL;
    return NULL;
}

/* ---- start / stop ---- */

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? (int)strtol(v, NULL, 10) : def;
}

/* SQLite: one spool process per database; every claim left over is from a crash. */
static int recover_sqlite(struct spool_pool *p, struct err *e)
{
    struct db *db = NULL;
    int64_t n = 0;
    int rc = db_open(p->cfg->database_url, &db, e);
    if (rc == 0 && (rc = spool_release(db, NULL, &n, e)) == 0 && n)
        log_info("spool: released claims of an earlier run", "tasks=%lld", (long long)n);
    db_close(db);
    return rc;
}

static int start_threads(struct spool_pool *p, struct err *e)
{
    if (p->pg) {
        if (pthread_create(&p->node_thread, NULL, node_main, p))
            return err_set(e, ERR_INTERNAL, "cannot start the spool node thread");
        p->has_node_thread = true;
    }
    p->threads = xcalloc((size_t)p->n, sizeof(pthread_t));
    for (int i = 0; i < p->n; i++) {
        atomic_fetch_add(&p->alive, 1);
        if (pthread_create(&p->threads[i], NULL, worker_main, p)) {
            atomic_fetch_sub(&p->alive, 1);
            p->n = i;
            return err_set(e, ERR_INTERNAL, "cannot start spool worker %d", i);
        }
    }
    return 0;
}

int spool_pool_start(const struct config *cfg, int workers, bool once, struct spool_pool **out,
                     struct err *e)
{
    struct spool_pool *p = xcalloc(1, sizeof(*p));
    p->cfg = cfg;
    p->n = workers;
    p->once = once;
    p->pg = strncmp(cfg->database_url, "postgres", 8) == 0;
    p->lease = env_int("SPOOL_LEASE", LEASE_DEFAULT);
    if (p->lease < 30)
        p->lease = 30;
    p->pause_ms = cfg->test_clock ? env_int("BILLD_TEST_SPOOL_PAUSE_MS", 0) : 0;
    const char *sync = getenv("SPOOL_SYNC");
    if (sync && *sync && strcmp(sync, "full") && strcmp(sync, "normal")) {
        free(p);
        return err_set(e, ERR_INVALID, "SPOOL_SYNC must be full or normal, got \"%.20s\"", sync);
    }
    p->relaxed = sync && !strcmp(sync, "normal");
    p->batch = env_int("SPOOL_BATCH", SPOOL_BATCH_DEFAULT);
    if (p->batch < 1 || p->batch > SPOOL_BATCH_MAX) {
        free(p);
        return err_set(e, ERR_INVALID, "SPOOL_BATCH must be an integer between 1 and %d",
                       SPOOL_BATCH_MAX);
    }
    snprintf(p->node, sizeof(p->node), "%s", spool_node_id());
    int rc = p->pg ? node_connect(p, true, e) : recover_sqlite(p, e);
    if (rc == 0 && p->pg) /* take the scheduler before the workers look for Jobs */
        rc = take_scheduler(p, e);
    if (rc == 0)
        rc = start_threads(p, e);
    if (rc) {
        spool_pool_stop(p);
        return rc;
    }
    log_info("spool started", "node=%s workers=%d lease=%lld once=%d sync=%s batch=%d", p->node,
             p->n, (long long)p->lease, once, p->relaxed ? "normal" : "full", p->batch);
    *out = p;
    return 0;
}

bool spool_pool_done(struct spool_pool *p)
{
    return atomic_load(&p->alive) == 0;
}

void spool_pool_stop(struct spool_pool *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    spool_wake();
    for (int i = 0; p->threads && i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    if (p->has_node_thread)
        pthread_join(p->node_thread, NULL);
    db_close(p->node_db);
    free(p->threads);
    free(p);
}

int spool_workers_env(int def, int *out, struct err *e)
{
    const char *v = getenv("SPOOL_WORKERS");
    char *end = NULL;
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    long n = strtol(v, &end, 10);
    if (*end || n < 0 || n > 64)
        return err_set(e, ERR_INVALID,
                       "SPOOL_WORKERS must be an integer between 0 and 64, got \"%.40s\"", v);
    *out = (int)n;
    return 0;
}
