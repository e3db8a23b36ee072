/*
 * exec.c — executing one claimed task outside any transaction (spool.md
 * §5.3 steps 2–5, §5.4): the user and us checks, server selection, then the
 * method (jobs.c) or the transport (src/transport); and spool_run_one(), the
 * claim → execute → finish cycle of a worker.
 */
#include "spool_int.h"
#include "jobs.h"

#include "../core/server.h"
#include "../db/db.h"
#include "../transport/transport.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <stdarg.h>
#include <time.h>

static enum task_result outcome(json_t **data, enum task_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets *data to {"error": <message>} and returns r. */
static enum task_result outcome(json_t **data, enum task_result r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    *data = json_pack("{s:s}", "error", msg);
    return r;
}

/* Runs sql with id; *exists tells whether it returned a row. False (e set) on a database error. */
static bool row_exists(struct db *db, const char *sql, int64_t id, bool *exists, struct err *e)
{
    struct db_value p[] = { DB_INT(id) };
    struct db_result *r = NULL;
    int rc = db_query(db, sql, p, 1, &r, e);
    *exists = rc == 0 && db_result_rows(r) > 0;
    db_result_free(r);
    return rc == 0;
}

static int64_t json_int(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

/* Step 4: a group on the event chooses the server (it wins over the us's own, Q14). */
static int select_server(struct db *db, struct spool_claim *c, int64_t *gid, struct err *e)
{
    *gid = json_int(json_object_get(c->event, "server_gid"));
    if (*gid <= 0)
        return 0;
    int64_t sid = 0;
    int rc = server_select(db, *gid, NULL, NULL, &sid, e);
    if (rc == 0)
        json_object_set_new(c->settings, "server_id", json_integer(sid));
    return rc;
}

/* Step 5: the server row of settings.server_id (or event.settings.server_id), settings decoded. */
static int load_server(struct db *db, struct spool_claim *c, int64_t *missing)
{
    int64_t sid = json_int(json_object_get(c->settings, "server_id"));
    if (!sid)
        sid = json_int(json_object_get(json_object_get(c->event, "settings"), "server_id"));
    *missing = 0;
    if (!sid)
        return 0;
    c->server = spool_row_json(db, "SELECT * FROM servers WHERE server_id = $1", sid, "settings");
    if (!c->server) {
        *missing = sid;
        return 0;
    }
    c->task.server_id = sid;
    return 0;
}

/* §5.4: task settings → event settings → the event's group → the server. */
static char *transport_name(struct db *db, const struct spool_claim *c, int64_t gid)
{
    const char *n = json_string_value(json_object_get(c->settings, "transport"));
    if (!n || !*n)
        n = json_string_value(json_object_get(json_object_get(c->event, "settings"), "transport"));
    if (n && *n)
        return xstrdup(n);
    if (gid > 0) {
        json_t *g = spool_row_json(db, "SELECT transport FROM servers_groups WHERE group_id = $1",
                                   gid, NULL);
        const char *t = json_string_value(json_object_get(g, "transport"));
        char *out = t && *t ? xstrdup(t) : NULL;
        json_decref(g);
        if (out)
            return out;
    }
    n = json_string_value(json_object_get(c->server, "transport"));
    return n && *n ? xstrdup(n) : NULL;
}

static enum task_result run_transport(struct db *db, const struct config *cfg,
                                      struct spool_claim *c, int64_t gid, json_t **data)
{
    char *name = transport_name(db, c, gid);
    const struct transport *tr = name ? transport_find(name) : NULL;
    if (!tr) {
        enum task_result r = name ? outcome(data, TASK_STUCK, "Transport not exists: %s", name)
                                  : outcome(data, TASK_STUCK, "Transport not exists");
        free(name);
        return r;
    }
    free(name);
    struct task_ctx x = { .db = db, .cfg = cfg, .task = &c->task };
    *data = NULL;
    enum task_result r = tr->send(&x, data);
    if (!*data)
        *data = json_object();
    return r;
}

enum task_result spool_execute(struct db *db, const struct config *cfg, struct spool_claim *c,
                               json_t **data)
{
    struct spool_task *t = &c->task;
    struct err e = { 0 };
    bool exists = false;
    int64_t gid = 0, missing = 0;
    if (c->user_missing) /* checked by the claim's SELECT */
        return outcome(data, TASK_STUCK, "User %lld not exists", (long long)t->user_id);
    if (t->usi && !row_exists(db, "SELECT 1 FROM user_services WHERE user_service_id = $1", t->usi,
                              &exists, &e))
        return outcome(data, TASK_FAIL, "%s", e.msg);
    if (t->usi && !exists) {
        c->us_missing = true;
        *data = json_pack("{s:s}", "msg", "User service is not exists");
        return TASK_SUCCESS;
    }
    int rc = select_server(db, c, &gid, &e);
    if (rc)
        return outcome(data, rc == ERR_NOT_FOUND ? TASK_STUCK : TASK_FAIL, "%s", e.msg);
    load_server(db, c, &missing);
    if (missing)
        return outcome(data, TASK_STUCK, "Server not exists: %lld", (long long)missing);
    t->server = c->server;
    t->settings = c->settings;
    if (json_object_get(c->event, "method")) {
        struct task_ctx x = { .db = db, .cfg = cfg, .task = t };
        *data = NULL;
        enum task_result r = jobs_run(&x, data);
        if (!*data)
            *data = json_object();
        return r;
    }
    return run_transport(db, cfg, c, gid, data);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1)
        ;
}

/* Executes claim c with the worker's connection left outside any transaction. */
static enum task_result execute_claimed(struct db *db, const struct config *cfg,
                                        struct spool_claim *c, json_t **data)
{
    spool_set_current_task(c->task.id);
    enum task_result r = spool_execute(db, cfg, c, data);
    if (db_in_tx(db)) { /* an executor must not leave a transaction open */
        log_error("spool executor left a transaction open", "task=%lld", (long long)c->task.id);
        db_rollback(db);
    }
    spool_set_current_task(0);
    spool_committed(); /* tasks the executor created and committed */
    log_debug("spool task executed", "task=%lld result=%d attempt=%d", (long long)c->task.id,
              (int)r, c->task.attempt);
    return r;
}

/* Records the outcomes, retrying a busy database a few times. */
static int finish_all(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                      const enum task_result *r, json_t *const *data, int n, struct err *e)
{
    int rc = 0;
    for (int i = 0; i < 5; i++) {
        rc = spool_finish_batch(db, o, c, r, data, n, time_now(), e);
        if (rc != ERR_BUSY)
            break;
        sleep_ms(200);
    }
    spool_committed(); /* tasks the finish queued (a parent's commands, …) */
    return rc;
}

/* Outcomes this thread could not record yet (owned), with the options they were claimed with. */
struct pending {
    struct spool_claim *c;
    enum task_result *r;
    json_t **data;
    int n;
    struct spool_opts o;
};

static _Thread_local struct pending tls_pending;

/* Keeps the unrecorded outcomes of c[0..n) (taking their storage) for a later attempt. */
static void pending_keep(const struct spool_opts *o, struct spool_claim *c, enum task_result *r,
                         json_t **data, int n)
{
    struct pending *p = &tls_pending;
    for (int i = 0; i < n; i++) {
        if (c[i].recorded)
            continue;
        p->c = xrealloc(p->c, (size_t)(p->n + 1) * sizeof(*p->c));
        p->r = xrealloc(p->r, (size_t)(p->n + 1) * sizeof(*p->r));
        p->data = xrealloc(p->data, (size_t)(p->n + 1) * sizeof(*p->data));
        p->c[p->n] = c[i];
        p->r[p->n] = r[i];
        p->data[p->n] = data[i];
        p->n++;
        memset(&c[i], 0, sizeof(c[i])); /* moved */
        data[i] = NULL;
    }
    p->o = *o;
    if (p->n)
        log_error("spool: outcomes not recorded, will retry", "tasks=%d", p->n);
}

int spool_pending_drop(void)
{
    struct pending *p = &tls_pending;
    int n = p->n;
    for (int i = 0; i < p->n; i++) {
        json_decref(p->data[i]);
        spool_claim_free(&p->c[i]);
    }
    free(p->c);
    free(p->r);
    free(p->data);
    memset(p, 0, sizeof(*p));
    return n;
}

/* Records the kept outcomes; 0 when there are none left. */
static int pending_flush(struct db *db, struct err *e)
{
    struct pending *p = &tls_pending;
    if (!p->n)
        return 0;
    int rc = finish_all(db, &p->o, p->c, p->r, p->data, p->n, e);
    int left = 0;
    for (int i = 0; i < p->n; i++)
        if (!p->c[i].recorded)
            left++;
    if (left == 0) {
        spool_pending_drop();
        return 0;
    }
    return rc ? rc : err_set(e, ERR_IO, "spool: %d outcomes not recorded", left);
}

/* Microseconds on the monotonic clock. */
static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int spool_run_batch(struct db *db, const struct config *cfg, const struct spool_opts *o,
                    int batch, int pause_ms, struct spool_batch_stats *st, struct err *e)
{
    struct spool_claim one[1], *c = one;
    enum task_result r1[1], *r = r1;
    json_t *d1[1], **data = d1;
    memset(st, 0, sizeof(*st));
    int rc = pending_flush(db, e); /* nothing new before the earlier outcomes are in */
    if (rc)
        return rc;
    if (batch < 1 || batch > SPOOL_BATCH_MAX)
        batch = 1;
    if (batch > 1) {
        c = xcalloc((size_t)batch, sizeof(*c));
        r = xcalloc((size_t)batch, sizeof(*r));
        data = xcalloc((size_t)batch, sizeof(*data));
    }
    int n = 0;
    rc = spool_claim_batch(db, o, time_now(), c, batch, &n, e);
    for (int i = 0; i < n; i++) {
        int64_t t0 = mono_us();
        r[i] = execute_claimed(db, cfg, &c[i], &data[i]);
        int64_t took = mono_us() - t0;
        if (took > st->slowest_us)
            st->slowest_us = took;
    }
    if (n && pause_ms > 0)
        sleep_ms(pause_ms);
    if (n && (rc = finish_all(db, o, c, r, data, n, e)))
        pending_keep(o, c, r, data, n);
    for (int i = 0; i < n; i++) {
        json_decref(data[i]);
        spool_claim_free(&c[i]);
    }
    if (c != one) {
        free(c);
        free(r);
        free(data);
    }
    st->done = n;
    return rc;
}

int spool_run_one(struct db *db, const struct config *cfg, const struct spool_opts *o,
                  int pause_ms, bool *did, struct err *e)
{
    struct spool_batch_stats st;
    int rc = spool_run_batch(db, cfg, o, 1, pause_ms, &st, e);
    *did = st.done > 0;
    return rc;
}
