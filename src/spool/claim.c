/*
 * claim.c — the spool's bookkeeping transactions (spool.md §5.2, §5.5; D9,
 * D10): claiming runnable tasks (one, or a batch) with their history rows,
 * finishing them (success, periodic re-arm, retry schedule, max_attempts,
 * STUCK), releasing the claims of a crashed node and the lease heartbeat.
 *
 * Runnable (one SELECT served by the partial index spool_runnable):
 *   status not STUCK/PAUSED, due (executed IS NULL or executed + delayed <=
 *   now), not claimed (or the lease of another node expired), the Jobs filter
 *   of enum spool_jobs, no other running task of the same us (unless either
 *   is CHANGED), and no earlier task of a child us waiting in the spool
 *   (billing.md §11.1; parked STUCK/PAUSED children do not hold the parent).
 * On PostgreSQL the candidate row is locked with FOR UPDATE SKIP LOCKED and a
 * transaction advisory lock on the us serialises two claimers of one us, who
 * then re-check the running-task condition with a fresh snapshot.
 */
#include "spool_int.h"

#include "../billing/usvc.h"
#include "../core/config_store.h"
#include "../core/server.h"
#include "../db/db.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <pthread.h>
#include <unistd.h>

/* Advisory-lock class for per-us claim serialisation on PostgreSQL ("SPus"). */
#define SPOOL_USI_LOCK_CLASS 1397781875

#define CLAIM_COLUMNS                                                                         \
    "s.id, s.user_id, s.user_service_id, s.event, s.settings, s.prio, s.status, s.created, " \
    "s.executed, s.delayed, s.token, s.attempts, s.claimed_by, s.history_id, "              \
    "(SELECT count(*) FROM users u WHERE u.user_id = s.user_id) AS user_ok"

/* The claim SELECT for db's engine ($1 now, $2 node, $3 jobs mode, $4 kind path, $5 name path, $6 limit). */
static char *claim_sql(struct db *db)
{
    struct buf b, kind, name;
    buf_init(&b, 0);
    buf_init(&kind, 0);
    buf_init(&name, 0);
    db_sql_json_text(db, &kind, "s.event", 4);
    db_sql_json_text(db, &name, "s.event", 5);
    bool pg = db_engine_of(db) == DB_PG;
    buf_printf(&b,
               "SELECT " CLAIM_COLUMNS " FROM spool s"
               " WHERE s.status NOT IN ('STUCK', 'PAUSED')"
               " AND (s.executed IS NULL OR s.executed + s.delayed <= $1)"
               " AND (s.claimed_by IS NULL OR (s.claimed_until < $1 AND s.claimed_by <> $2))"
               " AND (COALESCE(%s, '') <> 'Jobs' OR $3 = 0 OR ($3 = 1 AND s.manual = 1))"
               " AND (s.user_service_id IS NULL OR COALESCE(%s, '') = 'CHANGED' OR NOT EXISTS"
               " (SELECT 1 FROM spool f WHERE f.usi_lock = s.user_service_id"
               " AND f.claimed_until >= $1 AND f.id <> s.id))"
               " AND (s.user_service_id IS NULL OR NOT EXISTS"
               " (SELECT 1 FROM user_services c JOIN spool k ON k.user_service_id ="
               " c.user_service_id WHERE c.parent = s.user_service_id AND k.id < s.id"
               " AND k.status NOT IN ('STUCK', 'PAUSED')))"
               " ORDER BY s.prio, s.id LIMIT $6%s",
               kind.data, name.data, pg ? " FOR UPDATE OF s SKIP LOCKED" : "");
    buf_free(&kind);
    buf_free(&name);
    return buf_detach(&b, NULL);
}

/* One cached claim statement per engine (the text only depends on the engine). */
static const char *claim_sql_cached(struct db *db)
{
    static char *sql[3];
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    enum db_engine en = db_engine_of(db);
    pthread_mutex_lock(&mu);
    if (!sql[en])
        sql[en] = claim_sql(db);
    pthread_mutex_unlock(&mu);
    return sql[en];
}

void spool_claim_free(struct spool_claim *c)
{
    json_decref(c->event);
    json_decref(c->settings);
    json_decref(c->server);
    memset(c, 0, sizeof(*c));
}

static json_t *load_json(const char *s, bool object)
{
    json_t *v = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
    if (object && !json_is_object(v)) {
        json_decref(v);
        v = json_object();
    }
    return v;
}

/* Fills c from row `row` of the claim SELECT. */
static void claim_fill(struct spool_claim *c, const struct db_result *r, int row, int64_t now)
{
    memset(c, 0, sizeof(*c));
    c->event = load_json(db_result_get(r, row, "event"), true);
    c->settings = load_json(db_result_get(r, row, "settings"), true);
    const char *tok = db_result_get(r, row, "token");
    if (tok && *tok)
        snprintf(c->token, sizeof(c->token), "%s", tok);
    else
        spool_token_new(c->token);
    snprintf(c->name, sizeof(c->name), "%s",
             json_string_value(json_object_get(c->event, "name")) ?: "");
    c->prio = db_result_get_int(r, row, "prio");
    c->user_missing = db_result_get_int(r, row, "user_ok") == 0;
    c->started = now;
    struct spool_task *t = &c->task;
    t->id = db_result_get_int(r, row, "id");
    t->user_id = db_result_get_int(r, row, "user_id");
    t->usi = db_result_get_int(r, row, "user_service_id");
    json_t *us = json_object_get(c->settings, "user_service_id");
    if (!t->usi && json_is_integer(us))
        t->usi = json_integer_value(us);
    t->attempt = (int)db_result_get_int(r, row, "attempts") + 1;
    t->token = c->token;
    t->name = c->name;
    t->event = c->event;
    t->settings = c->settings;
}

/* The history row's response: {spool: {node, pid, started[, finished, duration]}} + extra. */
static char *history_response(const char *node, int64_t started, int64_t finished,
                              const json_t *data, const char *note)
{
    json_t *sp = json_pack("{s:s,s:I,s:I}", "node", node, "pid", (json_int_t)getpid(), "started",
                           (json_int_t)started);
    if (finished) {
        json_object_set_new(sp, "finished", json_integer(finished));
        json_object_set_new(sp, "duration", json_integer(finished - started));
    }
    json_t *o = json_pack("{s:o}", "spool", sp);
    if (data)
        json_object_set(o, "response", (json_t *)data);
    if (note)
        json_object_set_new(o, "error", json_string(note));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

/* Marks the open history row hid of an execution that never finished. */
static int history_interrupted(struct db *db, int64_t hid, int64_t now, struct err *e)
{
    if (!hid)
        return 0;
    json_t *o = json_pack("{s:s,s:I}", "error", "interrupted: the node stopped or its lease expired",
                          "finished", (json_int_t)now);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    struct db_value p[] = { DB_TEXT(s), DB_INT(now), DB_INT(hid) };
    int rc = db_exec(db,
                     "UPDATE spool_history SET status = 'FAIL', response = $1, executed = $2"
                     " WHERE id = $3 AND status NOT IN ('SUCCESS', 'FAIL', 'STUCK', 'DELAYED')",
                     p, 3, NULL, e);
    free(s);
    json_decref(o);
    return rc;
}

/* The type a JSON text parameter is cast to in a VALUES list. */
static const char *sql_json_type(struct db *db)
{
    return db_engine_of(db) == DB_PG ? "JSONB" : "TEXT";
}

/*
 * Appends "(VALUES (CAST($k AS t0), CAST($k+1 AS t1), …), …) AS v" to b: rows
 * rows of the ncols types in types, numbered from parameter first; the
 * columns are v.column1, v.column2, … on both engines.
 */
static void values_sql(struct buf *b, int rows, const char *const *types, int ncols, int first)
{
    buf_puts(b, "(VALUES ");
    for (int i = 0; i < rows; i++) {
        buf_puts(b, i ? ", (" : "(");
        for (int j = 0; j < ncols; j++)
            buf_printf(b, "%sCAST($%d AS %s)", j ? ", " : "", first + i * ncols + j, types[j]);
        buf_putc(b, ')');
    }
    buf_puts(b, ") AS v");
}

/* Runs the statement head + VALUES list + tail with params p (np of them); r may be NULL. */
static int exec_values(struct db *db, const char *head, const char *tail, int rows,
                       const char *const *types, int ncols, const struct db_value *p, int np,
                       struct db_result **r, struct err *e)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, head);
    values_sql(&b, rows, types, ncols, np - rows * ncols + 1);
    buf_puts(&b, tail);
    int rc = r ? db_query(db, b.data, p, np, r, e) : db_exec(db, b.data, p, np, NULL, e);
    buf_free(&b);
    return rc;
}

/* The history rows of the n claims c[] (one INSERT … SELECT); sets c[i].history_id. */
static int claim_history_set(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                             int n, int64_t now, struct err *e)
{
    static const char *const types[] = { "BIGINT", "BIGINT", "TEXT" };
    char *resp = history_response(o->node, now, 0, NULL, NULL);
    char head[512];
    snprintf(head, sizeof(head),
             "INSERT INTO spool_history (spool_id, user_id, user_service_id, response, event,"
             " prio, status, created, executed, delayed, settings, token, attempt, node)"
             " SELECT s.id, s.user_id, v.column2, CAST($1 AS %s), s.event, s.prio, s.status,"
             " CAST($2 AS BIGINT), s.executed, s.delayed, s.settings, v.column3, s.attempts + 1,"
             " CAST($3 AS TEXT) FROM spool s, ",
             sql_json_type(db));
    struct db_value *p = xcalloc((size_t)(3 + 3 * n), sizeof(*p));
    p[0] = DB_TEXT(resp);
    p[1] = DB_INT(now);
    p[2] = DB_TEXT(o->node);
    for (int i = 0; i < n; i++) {
        p[3 + 3 * i] = DB_INT(c[i].task.id);
        p[4 + 3 * i] = c[i].task.usi ? DB_INT(c[i].task.usi) : DB_NULL;
        p[5 + 3 * i] = DB_TEXT(c[i].token);
    }
    struct db_result *r = NULL;
    int rc = exec_values(db, head, " WHERE s.id = v.column1 ORDER BY s.prio, s.id RETURNING id, spool_id",
                         n, types, 3, p, 3 + 3 * n, &r, e);
    for (int row = 0; rc == 0 && row < db_result_rows(r); row++)
        for (int i = 0; i < n; i++)
            if (c[i].task.id == db_result_int(r, row, 1))
                c[i].history_id = db_result_int(r, row, 0);
    for (int i = 0; rc == 0 && i < n; i++)
        if (!c[i].history_id)
            rc = err_set(e, ERR_INTERNAL, "spool: task %lld vanished while claimed",
                         (long long)c[i].task.id);
    db_result_free(r);
    free(p);
    free(resp);
    return rc;
}

/* Writes the claims of the n tasks c[]: their history rows, then the spool rows' claim columns. */
static int claim_write_set(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                           int n, int64_t now, struct err *e)
{
    static const char *const types[] = { "BIGINT", "TEXT", "BIGINT", "BIGINT" };
    int rc = claim_history_set(db, o, c, n, now, e);
    if (rc)
        return rc;
    struct db_value *p = xcalloc((size_t)(2 + 4 * n), sizeof(*p));
    p[0] = DB_TEXT(o->node);
    p[1] = DB_INT(now + o->lease);
    for (int i = 0; i < n; i++) {
        bool lock = c[i].task.usi && strcmp(c[i].name, USVC_CHANGED) != 0;
        p[2 + 4 * i] = DB_INT(c[i].task.id);
        p[3 + 4 * i] = DB_TEXT(c[i].token);
        p[4 + 4 * i] = lock ? DB_INT(c[i].task.usi) : DB_NULL;
        p[5 + 4 * i] = DB_INT(c[i].history_id);
    }
    rc = exec_values(db,
                     "UPDATE spool SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1,"
                     " token = v.column2, usi_lock = v.column3, history_id = v.column4, manual = 0"
                     " FROM ",
                     " WHERE spool.id = v.column1", n, types, 4, p, 2 + 4 * n, NULL, e);
    free(p);
    return rc;
}

/*
 * PostgreSQL: serialises claimers of one us and tells whether another task of
 * it is running now (seen with a fresh snapshot after the advisory lock).
 */
static int usi_busy(struct db *db, const struct spool_claim *c, int64_t now, bool *busy,
                    struct err *e)
{
    *busy = false;
    if (db_engine_of(db) != DB_PG || !c->task.usi || !strcmp(c->name, USVC_CHANGED))
        return 0;
    struct db_value l[] = { DB_INT(SPOOL_USI_LOCK_CLASS), DB_INT(c->task.usi % 2147483647) };
    int rc = db_exec(db, "SELECT pg_advisory_xact_lock($1::int, $2::int)", l, 2, NULL, e);
    struct db_value p[] = { DB_INT(c->task.usi), DB_INT(now), DB_INT(c->task.id) };
    struct db_result *r = NULL;
    if (rc == 0)
        rc = db_query(db,
                      "SELECT 1 FROM spool WHERE usi_lock = $1 AND claimed_until >= $2"
                      " AND id <> $3 LIMIT 1",
                      p, 3, &r, e);
    if (rc == 0)
        *busy = db_result_rows(r) > 0;
    db_result_free(r);
    return rc;
}

/* True when usi (not 0) is held by one of the n claims already in out (CHANGED excepted). */
static bool usi_in_batch(const struct spool_claim *out, int n, const struct spool_claim *c)
{
    if (!c->task.usi || !strcmp(c->name, USVC_CHANGED))
        return false;
    for (int i = 0; i < n; i++)
        if (out[i].task.usi == c->task.usi && strcmp(out[i].name, USVC_CHANGED) != 0)
            return true;
    return false;
}

/*
 * One SELECT of up to max - *n candidates inside the open transaction; claims
 * them in order into out[*n..], skipping a second task of a us in the batch
 * and (PostgreSQL) a us that got a running task meanwhile. *skipped tells
 * whether any candidate was skipped.
 */
static int claim_rows(struct db *db, struct db_value *p, const struct spool_opts *o, int64_t now,
                      struct spool_claim *out, int max, int *n, bool *skipped, struct err *e)
{
    struct db_result *r = NULL;
    p[5] = DB_INT(max - *n);
    *skipped = false;
    int first = *n, rc = db_query(db, claim_sql_cached(db), p, 6, &r, e);
    for (int row = 0; rc == 0 && row < db_result_rows(r) && *n < max; row++) {
        struct spool_claim *c = &out[*n];
        bool busy = false;
        claim_fill(c, r, row, now);
        if (!(busy = usi_in_batch(out, *n, c)))
            rc = usi_busy(db, c, now, &busy, e);
        if (rc == 0 && !busy && db_result_get(r, row, "claimed_by")) /* another node's lease expired */
            rc = history_interrupted(db, db_result_get_int(r, row, "history_id"), now, e);
        if (rc == 0 && !busy)
            (*n)++;
        else
            spool_claim_free(c);
        *skipped = *skipped || busy;
    }
    db_result_free(r);
    /* written before the next SELECT, which must see them as claimed */
    if (rc == 0 && *n > first)
        rc = claim_write_set(db, o, out + first, *n - first, now, e);
    return rc;
}

int spool_claim_batch(struct db *db, const struct spool_opts *o, int64_t now,
                      struct spool_claim *out, int max, int *n, struct err *e)
{
    char *kind = db_json_path(db, "kind"), *name = db_json_path(db, "name");
    struct db_value p[] = { DB_INT(now), DB_TEXT(o->node), DB_INT(o->jobs), DB_TEXT(kind),
                            DB_TEXT(name), DB_INT(max) };
    bool skipped = true;
    *n = 0;
    int rc = db_begin(db, true, e);
    /* a skipped us may hide runnable tasks behind it: look again (the SELECT sees our claims) */
    for (int tries = 0; rc == 0 && skipped && *n < max && tries < 16; tries++)
        rc = claim_rows(db, p, o, now, out, max, n, &skipped, e);
    free(kind);
    free(name);
    if (rc == 0 && *n)
        rc = db_commit(db, e);
    else
        db_rollback(db);
    for (int i = 0; rc && i < *n; i++)
        spool_claim_free(&out[i]);
    if (rc)
        *n = 0;
    return rc;
}

int spool_claim(struct db *db, const struct spool_opts *o, int64_t now, struct spool_claim *out,
                bool *got, struct err *e)
{
    int n = 0;
    int rc = spool_claim_batch(db, o, now, out, 1, &n, e);
    *got = n == 1;
    return rc;
}

/* ---- finishing ---- */

/* SUCCESS with a us (§5.4, billing.md §10.5): bind the server, then the status from the event. */
static int success_us(struct db *db, struct spool_claim *c, struct err *e)
{
    const struct spool_task *t = &c->task;
    if (!t->usi || c->us_missing)
        return 0;
    json_t *us = spool_row_json(db, "SELECT settings FROM user_services WHERE user_service_id = $1",
                                t->usi, "settings");
    if (!us)
        return 0; /* removed meanwhile */
    json_t *st = json_object_get(us, "settings");
    int rc = 0;
    if (t->server_id && (!json_is_object(st) || !json_object_get(st, "server_id"))) {
        json_t *ns = json_is_object(st) ? json_deep_copy(st) : json_object();
        json_object_set_new(ns, "server_id", json_integer(t->server_id));
        char *s = json_dumps(ns, JSON_COMPACT | JSON_SORT_KEYS);
        struct db_value p[] = { DB_TEXT(s), DB_INT(t->usi) };
        rc = db_exec(db, "UPDATE user_services SET settings = $1 WHERE user_service_id = $2", p, 2,
                     NULL, e);
        free(s);
        json_decref(ns);
        if (rc == 0) {
            rc = server_services_count_add(db, t->server_id, 1, e);
            if (rc == ERR_NOT_FOUND)
                rc = 0;
        }
    }
    json_decref(us);
    if (rc == 0 && usvc_event_target(t->name)) {
        rc = usvc_task_done(db, t->usi, t->name, e);
        if (rc == ERR_NOT_FOUND)
            rc = 0;
    }
    return rc;
}

/* spool.max_attempts from the config store (0 = unlimited). */
static int64_t max_attempts(struct db *db)
{
    json_t *v = config_store_lookup(db, "spool", "max_attempts");
    int64_t n = 0;
    if (json_is_integer(v))
        n = json_integer_value(v);
    else if (json_is_string(v))
        n = strtoll(json_string_value(v), NULL, 10);
    json_decref(v);
    return n > 0 ? n : 0;
}

static char *task_response(const json_t *data)
{
    json_t *o = json_pack("{s:O}", "response", data ? (json_t *)data : json_null());
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

/*
 * The spool row after the outcome, guarded by the claim (same node and
 * attempt): *held tells whether the row still carried it; the claim is
 * cleared in every case.
 */
static int finish_row(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                      enum task_result r, const json_t *data, int64_t now,
                      const char **hist_status, bool *held, struct err *e)
{
    int64_t id = c->task.id, period = spool_event_period(c->event), n = 0;
    struct db_value node = DB_TEXT(o->node), att = DB_INT(c->task.attempt);
    char *resp = task_response(data);
    int rc;
    *hist_status = r == TASK_SUCCESS ? "SUCCESS" : r == TASK_STUCK ? "STUCK"
                 : r == TASK_DELAYED ? "DELAYED" : "FAIL";
    if (r == TASK_SUCCESS && !period) {
        struct db_value p[] = { DB_INT(id), node, att };
        rc = db_exec(db, "DELETE FROM spool WHERE id = $1 AND claimed_by = $2 AND attempts = $3",
                     p, 3, &n, e);
    } else if (r == TASK_SUCCESS) {
        struct db_value p[] = { DB_INT(period), DB_INT(now), DB_TEXT(resp), DB_INT(id), node, att };
        rc = db_exec(db,
                     "UPDATE spool SET status = 'DELAYED', delayed = $1, executed = $2,"
                     " response = $3, attempts = 0, fails = 0, retries = 0, claimed_by = NULL,"
                     " claimed_until = NULL, usi_lock = NULL"
                     " WHERE id = $4 AND claimed_by = $5 AND attempts = $6",
                     p, 6, &n, e);
    } else if (r == TASK_STUCK) {
        struct db_value p[] = { DB_INT(now), DB_TEXT(resp), DB_INT(id), node, att };
        rc = db_exec(db,
                     "UPDATE spool SET status = 'STUCK', executed = $1, response = $2,"
                     " claimed_by = NULL, claimed_until = NULL, usi_lock = NULL"
                     " WHERE id = $3 AND claimed_by = $4 AND attempts = $5",
                     p, 5, &n, e);
    } else {
        int64_t fails = 0, retries = 0;
        struct db_value q[] = { DB_INT(id), node, att };
        struct db_result *cur = NULL;
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "SELECT fails, retries FROM spool WHERE id = $1 AND claimed_by = $2"
                 " AND attempts = $3%s",
                 db_sql_for_update(db));
        rc = db_query(db, sql, q, 3, &cur, e);
        n = db_result_rows(cur);
        if (rc == 0 && n) {
            fails = db_result_int(cur, 0, 0) + (r == TASK_FAIL);
            retries = db_result_int(cur, 0, 1) + 1;
        }
        db_result_free(cur);
        int64_t max = rc == 0 && n && r == TASK_FAIL ? max_attempts(db) : 0;
        const char *status = r == TASK_FAIL ? "FAIL" : "DELAYED";
        if (max && fails >= max) {
            json_t *o2 = json_pack("{s:O,s:s,s:I}", "response", data ? (json_t *)data : json_null(),
                                   "error", "max_attempts reached", "max_attempts",
                                   (json_int_t)max);
            free(resp);
            resp = json_dumps(o2, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(o2);
            status = *hist_status = "STUCK";
        }
        struct db_value p[] = { DB_TEXT(status), DB_INT(spool_retry_delay(retries)), DB_INT(now),
                                DB_TEXT(resp), DB_INT(fails), DB_INT(retries), DB_INT(id) };
        if (rc == 0 && n)
            rc = db_exec(db,
                         "UPDATE spool SET status = $1, delayed = $2, executed = $3, response = $4,"
                         " fails = $5, retries = $6, claimed_by = NULL, claimed_until = NULL,"
                         " usi_lock = NULL WHERE id = $7",
                         p, 7, NULL, e);
    }
    *held = rc == 0 && n == 1;
    free(resp);
    return rc;
}

/* The history row's error when the task row no longer carried the claim at the finish. */
#define CLAIM_LOST "claim lost (the task was changed meanwhile)"

/* Records one outcome inside the open transaction. */
static int finish_in_tx(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                        enum task_result r, const json_t *data, int64_t now, struct err *e)
{
    bool held = false;
    const char *hstatus = "FAIL";
    int rc = finish_row(db, o, c, r, data, now, &hstatus, &held, e);
    if (rc == 0 && held && r == TASK_SUCCESS)
        rc = success_us(db, c, e);
    if (rc == 0 && !held)
        hstatus = r == TASK_SUCCESS ? "SUCCESS" : r == TASK_STUCK ? "STUCK" : "FAIL";
    char *resp = history_response(o->node, c->started, now, data, held ? NULL : CLAIM_LOST);
    struct db_value p[] = { DB_TEXT(hstatus), DB_TEXT(resp), DB_INT(now), DB_INT(c->history_id) };
    if (rc == 0)
        rc = db_exec(db,
                     "UPDATE spool_history SET status = $1, response = $2, executed = $3"
                     " WHERE id = $4",
                     p, 4, NULL, e);
    free(resp);
    return rc;
}

/*
 * A SUCCESS that needs no per-task logic: not periodic, and no us to update
 * (none, or it was gone at execution). The bulk of local tasks.
 */
static bool finish_plain(const struct spool_claim *c, enum task_result r)
{
    return r == TASK_SUCCESS && !spool_event_period(c->event) && (!c->task.usi || c->us_missing);
}

/*
 * Deletes the spool rows of the n plain successes c[idx[..]] that still carry
 * their claim (same node, same attempt) in one statement; held[k] tells which.
 */
static int plain_delete(struct db *db, const struct spool_opts *o, const struct spool_claim *c,
                        const int *idx, int n, bool *held, struct err *e)
{
    static const char *const types[] = { "BIGINT", "BIGINT" };
    struct db_value *p = xcalloc((size_t)(1 + 2 * n), sizeof(*p));
    p[0] = DB_TEXT(o->node);
    for (int k = 0; k < n; k++) {
        p[1 + 2 * k] = DB_INT(c[idx[k]].task.id);
        p[2 + 2 * k] = DB_INT(c[idx[k]].task.attempt);
    }
    struct db_result *r = NULL;
    int rc = exec_values(db,
                         "DELETE FROM spool WHERE claimed_by = $1 AND (id, attempts) IN"
                         " (SELECT v.column1, v.column2 FROM ",
                         ") RETURNING id", n, types, 2, p, 1 + 2 * n, &r, e);
    for (int k = 0; k < n; k++) {
        held[k] = false;
        for (int row = 0; rc == 0 && row < db_result_rows(r); row++)
            held[k] = held[k] || db_result_int(r, row, 0) == c[idx[k]].task.id;
    }
    db_result_free(r);
    free(p);
    return rc;
}

/*
 * The plain successes c[idx[0..n)] with set-based statements (the per-task
 * path of finish_in_tx gives the same rows): the spool rows still carrying
 * their claim are deleted, and every history row is completed as SUCCESS,
 * with `error: claim lost …` where the claim was gone.
 */
static int finish_plain_set(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                            json_t *const *data, const int *idx, int n, int64_t now,
                            struct err *e)
{
    const char *types[] = { "BIGINT", sql_json_type(db) };
    bool *held = xcalloc((size_t)n, sizeof(*held));
    char **resp = xcalloc((size_t)n, sizeof(*resp));
    struct db_value *p = xcalloc((size_t)(1 + 2 * n), sizeof(*p));
    int rc = plain_delete(db, o, c, idx, n, held, e);
    p[0] = DB_INT(now);
    for (int k = 0; k < n; k++) {
        const struct spool_claim *ck = &c[idx[k]];
        resp[k] = history_response(o->node, ck->started, now, data[idx[k]],
                                   held[k] ? NULL : CLAIM_LOST);
        p[1 + 2 * k] = DB_INT(ck->history_id);
        p[2 + 2 * k] = DB_TEXT(resp[k]);
    }
    if (rc == 0)
        rc = exec_values(db,
                         "UPDATE spool_history SET status = 'SUCCESS', executed = $1,"
                         " response = v.column2 FROM ",
                         " WHERE spool_history.id = v.column1", n, types, 2, p, 1 + 2 * n, NULL, e);
    for (int k = 0; k < n; k++)
        free(resp[k]);
    free(resp);
    free(held);
    free(p);
    return rc;
}

/* Records the n outcomes inside the open transaction: plain successes as a set, the rest alone. */
static int finish_all_in_tx(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                            const enum task_result *r, json_t *const *data, int n, int64_t now,
                            struct err *e)
{
    int *plain = xcalloc((size_t)n, sizeof(*plain)), np = 0, rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        if (finish_plain(&c[i], r[i]))
            plain[np++] = i;
        else
            rc = finish_in_tx(db, o, &c[i], r[i], data[i], now, e);
    }
    if (rc == 0 && np)
        rc = finish_plain_set(db, o, c, data, plain, np, now, e);
    free(plain);
    return rc;
}

int spool_finish_batch(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                       const enum task_result *r, json_t *const *data, int n, int64_t now,
                       struct err *e)
{
    int rc = db_begin(db, true, e);
    if (rc == 0)
        rc = finish_all_in_tx(db, o, c, r, data, n, now, e);
    if (rc == 0 && (rc = db_commit(db, e)) == 0) {
        for (int i = 0; i < n; i++)
            c[i].recorded = true;
        return 0;
    }
    db_rollback(db);
    if (n == 1 || rc == ERR_IO)
        return rc;
    /* one outcome failed to record: record the others alone, so only that one waits */
    int first = 0;
    for (int i = 0; i < n; i++) {
        struct err ei = { 0 };
        int rci = spool_finish_batch(db, o, &c[i], &r[i], &data[i], 1, now, &ei);
        if (rci && !first) {
            first = rci;
            *e = ei;
        }
    }
    return first;
}

int spool_finish(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                 enum task_result r, const json_t *data, int64_t now, struct err *e)
{
    json_t *d = (json_t *)data;
    return spool_finish_batch(db, o, c, &r, &d, 1, now, e);
}

/* ---- recovery ---- */

int spool_release(struct db *db, const char *node, int64_t *n, struct err *e)
{
    struct db_value p[] = { DB_TEXT(node) };
    struct db_result *r = NULL;
    int64_t now = time_now(), count = 0;
    int rc = db_begin(db, true, e);
    if (rc == 0)
        rc = db_query(db,
                      "SELECT id, history_id FROM spool WHERE claimed_by IS NOT NULL"
                      " AND (CAST($1 AS TEXT) IS NULL OR claimed_by = CAST($1 AS TEXT))",
                      p, 1, &r, e);
    for (int i = 0; rc == 0 && i < db_result_rows(r); i++, count++)
        rc = history_interrupted(db, db_result_int(r, i, 1), now, e);
    if (rc == 0)
        rc = db_exec(db,
                     "UPDATE spool SET claimed_by = NULL, claimed_until = NULL, usi_lock = NULL"
                     " WHERE claimed_by IS NOT NULL AND (CAST($1 AS TEXT) IS NULL OR claimed_by = CAST($1 AS TEXT))",
                     p, 1, NULL, e);
    db_result_free(r);
    if (rc == 0)
        rc = db_commit(db, e);
    else
        db_rollback(db);
    if (rc == 0 && n)
        *n = count;
    return rc;
}

int spool_heartbeat(struct db *db, const char *node, int64_t now, int64_t lease, struct err *e)
{
    struct db_value p[] = { DB_INT(now + lease), DB_TEXT(node) };
    return db_exec(db, "UPDATE spool SET claimed_until = $1 WHERE claimed_by = $2", p, 2, NULL, e);
}
