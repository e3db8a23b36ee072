/*
 * test_spool.c — unit tests of src/spool: the retry schedule (D9: 3 … 729,
 * then 900 for ever), the selection order (prio, id), exclusivity of a
 * claim and lease expiry (another node takes an expired claim with the next
 * attempt and the same token; the first node's finish is then ignored),
 * max_attempts → STUCK, the per-us lock (CHANGED excepted), children before
 * parents, crash release, the Jobs filter under the test clock, and one task
 * through the local transport. Database cases run on SQLite and, with
 * BILLD_TEST_PG_URL, on PostgreSQL; each starts from an empty spool.
 */
#include "common.h"
#include "db/db.h"
#include "db/migrate.h"
#include "spool/spool.h"
#include "spool/spool_int.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "testdb.h"

#include <jansson.h>

#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

#include <cmocka.h>

struct backend {
    const char *name;
    char url[512];
    struct db *db;
};

static struct backend g_lite = { .name = "sqlite" };
static struct backend g_pg = { .name = "pg" };
static char g_lite_path[128];
static struct db *g_pg_admin;
static char g_pg_dbname[64];

#define DB(state) (((struct backend *)*(state))->db)
#define T0 1700000000

#define OK(call)                                                                              \
    do {                                                                                      \
        struct err e_ = { 0 };                                                                \
        int rc_ = (call);                                                                     \
        if (rc_ != 0)                                                                         \
            fail_msg("%s:%d: %s = %d", __FILE__, __LINE__, #call, rc_);                       \
        (void)e_;                                                                             \
    } while (0)

static int64_t q_int(struct db *db, const char *sql, int64_t arg)
{
    struct err e = { 0 };
    int64_t v = -999;
    struct db_value p[] = { DB_INT(arg) };
    if (db_query_int(db, sql, p, strstr(sql, "$1") ? 1 : 0, &v, &e))
        fail_msg("query failed: %s: %s", sql, e.msg);
    return v;
}

static char *q_text(struct db *db, const char *sql, int64_t arg)
{
    struct err e = { 0 };
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(arg) };
    if (db_query(db, sql, p, 1, &r, &e))
        fail_msg("query failed: %s: %s", sql, e.msg);
    char *s = db_result_rows(r) && db_result_text(r, 0, 0) ? xstrdup(db_result_text(r, 0, 0))
                                                           : NULL;
    db_result_free(r);
    return s;
}

static void expect_text(struct db *db, const char *sql, int64_t arg, const char *want)
{
    char *got = q_text(db, sql, arg);
    if (!got || strcmp(got, want))
        fail_msg("%s: got %s, want %s", sql, got ? got : "NULL", want);
    free(got);
}

static void q_exec(struct db *db, const char *sql)
{
    struct err e = { 0 };
    if (db_exec(db, sql, NULL, 0, NULL, &e))
        fail_msg("exec failed: %s: %s", sql, e.msg);
}

static int64_t g_user;

/* A task: event JSON text, prio, usi (0 = none). */
static int64_t mktask(struct db *db, const char *event, int prio, int64_t usi)
{
    struct err e = { 0 };
    json_t *ev = json_loads(event, 0, NULL);
    struct spool_new t = { .user_id = g_user, .usi = usi, .event = ev, .prio = prio };
    int64_t id = 0;
    if (spool_add(db, &t, &id, &e))
        fail_msg("spool_add: %s", e.msg);
    json_decref(ev);
    return id;
}

static int64_t mkus(struct db *db, int64_t parent)
{
    struct db_value p[] = { DB_INT(g_user), parent ? DB_INT(parent) : DB_NULL };
    struct err e = { 0 };
    int64_t id = 0;
    if (db_query_int(db,
                     "INSERT INTO user_services (user_id, service_id, created, status, parent)"
                     " VALUES ($1, 1, 0, 'PROGRESS', $2) RETURNING user_service_id",
                     p, 2, &id, &e))
        fail_msg("insert us: %s", e.msg);
    return id;
}

static const struct spool_opts node_a = { "node-a", 60, SPOOL_JOBS_ALL };
static const struct spool_opts node_b = { "node-b", 60, SPOOL_JOBS_ALL };

/* Claims as o at now; returns the task id (0 = none) and keeps the claim in c. */
static int64_t claim(struct db *db, const struct spool_opts *o, int64_t now, struct spool_claim *c)
{
    struct err e = { 0 };
    bool got = false;
    if (spool_claim(db, o, now, c, &got, &e))
        fail_msg("spool_claim: %s", e.msg);
    return got ? c->task.id : 0;
}

static void finish(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                   enum task_result r, int64_t now)
{
    struct err e = { 0 };
    json_t *data = json_pack("{s:s}", "error", "x");
    if (spool_finish(db, o, c, r, data, now, &e))
        fail_msg("spool_finish: %s", e.msg);
    json_decref(data);
    spool_claim_free(c);
}

/* Claims and finishes with SUCCESS; returns the id claimed (0 = none). */
static int64_t take(struct db *db, int64_t now)
{
    struct spool_claim c;
    int64_t id = claim(db, &node_a, now, &c);
    if (id)
        finish(db, &node_a, &c, TASK_SUCCESS, now);
    return id;
}

/* ---- pure ---- */

/* The adaptive batch size of a worker: doubles on full fast batches, drops on a slow task. */
static void test_next_batch(void **state)
{
    UNUSED(state);
    struct spool_batch_stats full_fast = { .done = 1, .slowest_us = 100 };
    assert_int_equal(spool_next_batch(64, 1, &full_fast), 2);
    full_fast.done = 32;
    assert_int_equal(spool_next_batch(64, 32, &full_fast), 64);
    full_fast.done = 48;
    assert_int_equal(spool_next_batch(64, 48, &full_fast), 64); /* capped */
    full_fast.done = 64;
    assert_int_equal(spool_next_batch(64, 64, &full_fast), 64);
    struct spool_batch_stats partial = { .done = 5, .slowest_us = 100 };
    assert_int_equal(spool_next_batch(64, 16, &partial), 16); /* the queue ran dry: kept */
    struct spool_batch_stats none = { 0 };
    assert_int_equal(spool_next_batch(64, 16, &none), 16);
    struct spool_batch_stats slow = { .done = 16, .slowest_us = SPOOL_FAST_TASK_US };
    assert_int_equal(spool_next_batch(64, 16, &slow), 1);
    assert_int_equal(spool_next_batch(1, 1, &full_fast), 1); /* SPOOL_BATCH=1: never grows */
}

static void test_retry_delay(void **state)
{
    UNUSED(state);
    const int64_t want[] = { 3, 9, 27, 81, 243, 729, 900, 900, 900 };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        assert_int_equal(spool_retry_delay((int64_t)i + 1), want[i]);
    assert_int_equal(spool_retry_delay(1000), 900);
}

/* ---- database ---- */

static void test_order(void **state)
{
    struct db *db = DB(state);
    int64_t a = mktask(db, "{\"name\":\"A\"}", 100, 0);
    int64_t b = mktask(db, "{\"name\":\"B\"}", 50, 0);
    int64_t c = mktask(db, "{\"name\":\"C\"}", 100, 0);
    q_exec(db, "INSERT INTO spool (user_id, event, prio, status, created) VALUES (1, '{}', 1, "
               "'STUCK', 0), (1, '{}', 1, 'PAUSED', 0)");
    assert_int_equal(take(db, T0), b);
    assert_int_equal(take(db, T0), a);
    assert_int_equal(take(db, T0), c);
    assert_int_equal(take(db, T0), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool_history WHERE status = 'SUCCESS'", 0), 3);
}

static void test_exclusive_and_lease(void **state)
{
    struct db *db = DB(state);
    struct spool_claim ca, cb, cx;
    int64_t id = mktask(db, "{\"name\":\"X\"}", 100, 0);
    char *token = q_text(db, "SELECT token FROM spool WHERE id = $1", id);
    assert_non_null(token);
    assert_int_equal(strlen(token), 32);
    assert_int_equal(claim(db, &node_a, T0, &ca), id);
    assert_int_equal(ca.task.attempt, 1);
    assert_string_equal(ca.task.token, token);
    /* claimed: nobody else gets it, also not the same node, until the lease expires */
    assert_int_equal(claim(db, &node_b, T0 + 60, &cx), 0);
    assert_int_equal(claim(db, &node_a, T0 + 1000, &cx), 0);
    assert_int_equal(claim(db, &node_b, T0 + 61, &cb), id);
    assert_int_equal(cb.task.attempt, 2);
    assert_string_equal(cb.task.token, token);
    expect_text(db, "SELECT status FROM spool_history WHERE id = $1", ca.history_id, "FAIL");
    /* the first node's late finish is only recorded in its history row */
    finish(db, &node_a, &ca, TASK_SUCCESS, T0 + 62);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE id = $1", id), 1);
    finish(db, &node_b, &cb, TASK_SUCCESS, T0 + 63);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE id = $1", id), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool_history WHERE spool_id = $1", id), 2);
    assert_int_equal(q_int(db, "SELECT attempt FROM spool_history WHERE spool_id = $1"
                               " AND node = 'node-b'", id), 2);
    free(token);
}

static void test_retry_and_max_attempts(void **state)
{
    struct db *db = DB(state);
    struct spool_claim c;
    q_exec(db, "UPDATE config SET value = '{\"max_attempts\":3}' WHERE key = 'spool'");
    q_exec(db, "INSERT INTO config (key, value) SELECT 'spool', '{\"max_attempts\":3}'"
               " WHERE NOT EXISTS (SELECT 1 FROM config WHERE key = 'spool')");
    int64_t id = mktask(db, "{\"name\":\"R\"}", 100, 0), now = T0;
    const int64_t delays[] = { 3, 9 };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(claim(db, &node_a, now, &c), id);
        assert_int_equal(c.task.attempt, i + 1);
        finish(db, &node_a, &c, TASK_FAIL, now);
        expect_text(db, "SELECT status FROM spool WHERE id = $1", id, "FAIL");
        assert_int_equal(q_int(db, "SELECT delayed FROM spool WHERE id = $1", id), delays[i]);
        assert_int_equal(claim(db, &node_a, now + delays[i] - 1, &c), 0); /* not due yet */
        now += delays[i];
    }
    /* a DELAYED outcome backs off but does not count against max_attempts */
    assert_int_equal(claim(db, &node_a, now, &c), id);
    finish(db, &node_a, &c, TASK_DELAYED, now);
    assert_int_equal(q_int(db, "SELECT delayed FROM spool WHERE id = $1", id), 27);
    now += 27;
    assert_int_equal(claim(db, &node_a, now, &c), id);
    finish(db, &node_a, &c, TASK_FAIL, now);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", id, "STUCK");
    char *resp = q_text(db, "SELECT response FROM spool WHERE id = $1", id);
    assert_non_null(strstr(resp, "max_attempts reached"));
    free(resp);
    assert_int_equal(claim(db, &node_a, now + 100000, &c), 0);
    /* without a limit the delay stays at 900 */
    q_exec(db, "UPDATE config SET value = '{}' WHERE key = 'spool'");
    q_exec(db, "UPDATE spool SET status = 'FAIL', retries = 6, fails = 0");
    assert_int_equal(claim(db, &node_a, now + 100000, &c), id);
    finish(db, &node_a, &c, TASK_FAIL, now + 100000);
    assert_int_equal(q_int(db, "SELECT delayed FROM spool WHERE id = $1", id), 900);
    q_exec(db, "UPDATE spool SET retries = 40");
    assert_int_equal(claim(db, &node_a, now + 200000, &c), id);
    finish(db, &node_a, &c, TASK_FAIL, now + 200000);
    assert_int_equal(q_int(db, "SELECT delayed FROM spool WHERE id = $1", id), 900);
}

static void test_usi_lock(void **state)
{
    struct db *db = DB(state);
    struct spool_claim c1, c2, c3;
    int64_t us = mkus(db, 0);
    int64_t t1 = mktask(db, "{\"name\":\"TEST1\"}", 100, us);
    int64_t t2 = mktask(db, "{\"name\":\"TEST2\"}", 100, us);
    int64_t t3 = mktask(db, "{\"name\":\"CHANGED\"}", 100, us);
    assert_int_equal(claim(db, &node_a, T0, &c1), t1);
    /* TEST2 waits for the running TEST1 of the same us; CHANGED does not */
    assert_int_equal(claim(db, &node_b, T0, &c2), t3);
    struct spool_claim cx;
    assert_int_equal(claim(db, &node_b, T0, &cx), 0);
    finish(db, &node_a, &c1, TASK_SUCCESS, T0);
    assert_int_equal(claim(db, &node_b, T0, &c3), t2);
    finish(db, &node_b, &c2, TASK_SUCCESS, T0);
    finish(db, &node_b, &c3, TASK_SUCCESS, T0);
}

static void test_children_first(void **state)
{
    struct db *db = DB(state);
    struct spool_claim c;
    int64_t parent = mkus(db, 0), child = mkus(db, parent);
    int64_t tc = mktask(db, "{\"name\":\"TEST\"}", 100, child);
    int64_t tp = mktask(db, "{\"name\":\"TEST\"}", 10, parent); /* would come first by prio */
    assert_int_equal(claim(db, &node_a, T0, &c), tc);
    /* the child's task is running: the parent still waits */
    struct spool_claim cx;
    assert_int_equal(claim(db, &node_b, T0, &cx), 0);
    finish(db, &node_a, &c, TASK_FAIL, T0);
    assert_int_equal(claim(db, &node_a, T0 + 1, &cx), 0); /* child waits for its retry */
    /* a parked child does not hold the parent */
    q_exec(db, "UPDATE spool SET status = 'STUCK' WHERE status = 'FAIL'");
    assert_int_equal(claim(db, &node_a, T0 + 1, &c), tp);
    finish(db, &node_a, &c, TASK_SUCCESS, T0 + 1);
}

static void test_release(void **state)
{
    struct db *db = DB(state);
    struct spool_claim c;
    struct err e = { 0 };
    int64_t n = 0;
    int64_t id = mktask(db, "{\"name\":\"X\"}", 100, 0);
    assert_int_equal(claim(db, &node_a, T0, &c), id);
    int64_t hist = c.history_id;
    spool_claim_free(&c);
    /* the node restarts: its claim is released, the history row marked interrupted */
    if (spool_release(db, "node-a", &n, &e))
        fail_msg("release: %s", e.msg);
    assert_int_equal(n, 1);
    expect_text(db, "SELECT status FROM spool_history WHERE id = $1", hist, "FAIL");
    assert_int_equal(claim(db, &node_a, T0, &c), id);
    assert_int_equal(c.task.attempt, 2);
    finish(db, &node_a, &c, TASK_SUCCESS, T0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool_history WHERE spool_id = $1"
                               " AND status = 'SUCCESS'", id), 1);
}

static void test_jobs_filter(void **state)
{
    struct db *db = DB(state);
    struct spool_claim c;
    struct err e = { 0 };
    const struct spool_opts manual = { "node-a", 60, SPOOL_JOBS_MANUAL };
    const struct spool_opts none = { "node-a", 60, SPOOL_JOBS_NONE };
    int64_t job = mktask(db, "{\"kind\":\"Jobs\",\"method\":\"job_cleanup\",\"period\":\"600\"}",
                         1, 0);
    assert_int_equal(claim(db, &manual, T0, &c), 0);
    assert_int_equal(claim(db, &none, T0, &c), 0);
    if (spool_manual(db, job, "retry", NULL, &e))
        fail_msg("manual: %s", e.msg);
    assert_int_equal(claim(db, &none, T0, &c), 0);
    assert_int_equal(claim(db, &manual, T0, &c), job);
    /* a periodic task re-arms with its period after a success */
    finish(db, &manual, &c, TASK_SUCCESS, T0);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", job, "DELAYED");
    assert_int_equal(q_int(db, "SELECT delayed FROM spool WHERE id = $1", job), 600);
    assert_int_equal(claim(db, &node_a, T0 + 599, &c), 0);
    assert_int_equal(claim(db, &node_a, T0 + 600, &c), job);
    finish(db, &node_a, &c, TASK_FAIL, T0 + 600); /* the period is no retry delay */
    assert_int_equal(q_int(db, "SELECT delayed FROM spool WHERE id = $1", job), 3);
    assert_int_equal(spool_manual(db, job, "bogus", NULL, &e), ERR_INVALID);
    assert_string_equal(e.msg, "unknown action");
    assert_int_equal(spool_manual(db, job + 1000, "pause", NULL, &e), ERR_NOT_FOUND);
}

static void test_local_transport(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct spool_opts o = { "node-a", 60, SPOOL_JOBS_ALL };
    bool did = false;
    q_exec(db, "DELETE FROM templates WHERE id IN ('t_ok', 't_bad')");
    q_exec(db, "INSERT INTO templates (id, data) VALUES ('t_ok', 'hi {{ task.attempt }}-"
               "{{ event_name }}'), ('t_bad', '{{ INCLUDE t_missing }}')");
    int64_t ok = mktask(db, "{\"name\":\"HELLO\",\"settings\":{\"transport\":\"local\","
                            "\"template_id\":\"t_ok\"}}", 100, 0);
    int64_t bad = mktask(db, "{\"name\":\"BAD\",\"settings\":{\"transport\":\"local\","
                             "\"template_id\":\"t_bad\"}}", 100, 0);
    int64_t none = mktask(db, "{\"name\":\"NONE\"}", 100, 0);
    time_freeze(T0);
    for (int i = 0; i < 3; i++) {
        if (spool_run_one(db, NULL, &o, 0, &did, &e))
            fail_msg("run_one: %s", e.msg);
        assert_true(did);
    }
    time_unfreeze();
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE id = $1", ok), 0);
    char *resp = q_text(db, "SELECT response FROM spool_history WHERE spool_id = $1", ok);
    if (!strstr(resp, "hi 1-HELLO"))
        fail_msg("response %s", resp);
    free(resp);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", bad, "FAIL");
    expect_text(db, "SELECT status FROM spool WHERE id = $1", none, "STUCK");
    resp = q_text(db, "SELECT response FROM spool WHERE id = $1", none);
    assert_non_null(strstr(resp, "Transport not exists"));
    free(resp);
}

static void test_methods(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct spool_opts o = { "node-a", 60, SPOOL_JOBS_ALL };
    bool did = false;
    int64_t users = q_int(db, "SELECT count(*) FROM users", 0);
    int64_t fan = mktask(db, "{\"kind\":\"Jobs\",\"method\":\"job_users\",\"title\":\"Hi\","
                             "\"settings\":{\"template_id\":\"t\"}}", 1, 0);
    int64_t bad = mktask(db, "{\"kind\":\"Jobs\",\"method\":\"job_nothing\"}", 2, 0);
    int64_t us = mkus(db, 0); /* PROGRESS: re-activation must wait */
    int64_t act = mktask(db, "{\"kind\":\"UserService\",\"method\":\"activate_services\","
                             "\"name\":\"PAYMENT\"}", 3, 0);
    UNUSED(us);
    for (int i = 0; i < 3; i++) {
        if (spool_run_one(db, NULL, &o, 0, &did, &e))
            fail_msg("run_one: %s", e.msg);
        assert_true(did);
    }
    /* job_users: one TASK per user with the parent's title and settings, task_id = parent */
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE id > $1", act), users);
    char *ev = q_text(db, "SELECT event FROM spool WHERE id > $1 ORDER BY id", act);
    json_t *j = json_loads(ev, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "TASK");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Hi");
    assert_int_equal(json_integer_value(json_object_get(j, "task_id")), fan);
    json_decref(j);
    free(ev);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", bad, "STUCK");
    expect_text(db, "SELECT status FROM spool WHERE id = $1", act, "FAIL");
    char *resp = q_text(db, "SELECT response FROM spool WHERE id = $1", act);
    assert_non_null(strstr(resp, "PROGRESS"));
    free(resp);
}

/* The inner `response` object of a task's or history row's response column (new reference). */
static json_t *response_of(struct db *db, const char *sql, int64_t id)
{
    char *text = q_text(db, sql, id);
    json_t *all = text ? json_loads(text, 0, NULL) : NULL;
    json_t *r = json_incref(json_object_get(all, "response"));
    if (!r)
        fail_msg("no response in %s", text ? text : "NULL");
    json_decref(all);
    free(text);
    return r;
}

static void test_local_answer(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct spool_opts o = { "node-a", 60, SPOOL_JOBS_ALL };
    bool did = false;
    q_exec(db, "DELETE FROM templates WHERE id LIKE 'ans_%'");
    q_exec(db, "INSERT INTO templates (id, data) VALUES"
               " ('ans_fail', 'x{{ task.answer(status = FAIL, why = \"later\") }}'),"
               " ('ans_stuck', '{{ task.answer(status = STUCK) }}'),"
               " ('ans_ok', '{{ task.answer(code = 5) }}ok')");
    int64_t f = mktask(db, "{\"name\":\"A\",\"settings\":{\"transport\":\"local\","
                           "\"template_id\":\"ans_fail\"}}", 100, 0);
    int64_t s1 = mktask(db, "{\"name\":\"A\",\"settings\":{\"transport\":\"local\","
                            "\"template_id\":\"ans_stuck\"}}", 100, 0);
    int64_t ok = mktask(db, "{\"name\":\"A\",\"settings\":{\"transport\":\"local\","
                            "\"template_id\":\"ans_ok\"}}", 100, 0);
    for (int i = 0; i < 3; i++) {
        if (spool_run_one(db, NULL, &o, 0, &did, &e))
            fail_msg("run_one: %s", e.msg);
        assert_true(did);
    }
    expect_text(db, "SELECT status FROM spool WHERE id = $1", f, "FAIL");
    json_t *r = response_of(db, "SELECT response FROM spool WHERE id = $1", f);
    assert_string_equal(json_string_value(json_object_get(r, "why")), "later");
    assert_string_equal(json_string_value(json_object_get(r, "result")), "x");
    json_decref(r);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", s1, "STUCK");
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE id = $1", ok), 0);
    r = response_of(db, "SELECT response FROM spool_history WHERE spool_id = $1", ok);
    assert_int_equal(json_integer_value(json_object_get(r, "code")), 5);
    assert_string_equal(json_string_value(json_object_get(r, "result")), "ok");
    json_decref(r);
}

static void test_batch(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct spool_claim c[8];
    int n = 0;
    int64_t us = mkus(db, 0), parent = mkus(db, 0), child = mkus(db, parent);
    int64_t a1 = mktask(db, "{\"name\":\"TEST1\"}", 100, us);
    int64_t a2 = mktask(db, "{\"name\":\"TEST2\"}", 100, us);       /* same us: not in the batch */
    int64_t ch = mktask(db, "{\"name\":\"CHANGED\"}", 100, us);     /* CHANGED: may run alongside */
    int64_t kid = mktask(db, "{\"name\":\"TEST\"}", 100, child);
    int64_t par = mktask(db, "{\"name\":\"TEST\"}", 100, parent);   /* waits for the child */
    int64_t x = mktask(db, "{\"name\":\"X\"}", 100, 0);
    if (spool_claim_batch(db, &node_a, T0, c, 8, &n, &e))
        fail_msg("batch: %s", e.msg);
    assert_int_equal(n, 4);
    const int64_t want[] = { a1, ch, kid, x };
    for (int i = 0; i < n; i++) {
        assert_int_equal(c[i].task.id, want[i]);
        assert_int_equal(c[i].task.attempt, 1);
    }
    enum task_result r[4] = { TASK_SUCCESS, TASK_SUCCESS, TASK_SUCCESS, TASK_FAIL };
    json_t *d[4] = { NULL, NULL, NULL, NULL };
    if (spool_finish_batch(db, &node_a, c, r, d, n, T0, &e))
        fail_msg("finish batch: %s", e.msg);
    for (int i = 0; i < n; i++)
        spool_claim_free(&c[i]);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool_history WHERE status = 'SUCCESS'", 0), 3);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", x, "FAIL");
    /* now the second task of the us and the parent are free */
    if (spool_claim_batch(db, &node_a, T0, c, 8, &n, &e))
        fail_msg("batch: %s", e.msg);
    assert_int_equal(n, 2);
    assert_int_equal(c[0].task.id, a2);
    assert_int_equal(c[1].task.id, par);
    for (int i = 0; i < n; i++)
        spool_claim_free(&c[i]);
}

/* The history row hid: status, executed, attempt, node, token and response.spool/error. */
static void expect_history(struct db *db, const struct spool_claim *c, const char *status,
                           int64_t executed, bool lost)
{
    expect_text(db, "SELECT status FROM spool_history WHERE id = $1", c->history_id, status);
    expect_text(db, "SELECT token FROM spool_history WHERE id = $1", c->history_id, c->token);
    expect_text(db, "SELECT node FROM spool_history WHERE id = $1", c->history_id, "node-a");
    assert_int_equal(q_int(db, "SELECT executed FROM spool_history WHERE id = $1", c->history_id),
                     executed);
    assert_int_equal(q_int(db, "SELECT attempt FROM spool_history WHERE id = $1", c->history_id),
                     c->task.attempt);
    assert_int_equal(q_int(db, "SELECT spool_id FROM spool_history WHERE id = $1", c->history_id),
                     c->task.id);
    char *text = q_text(db, "SELECT response FROM spool_history WHERE id = $1", c->history_id);
    json_t *r = json_loads(text, 0, NULL);
    free(text);
    json_t *sp = json_object_get(r, "spool");
    assert_string_equal(json_string_value(json_object_get(sp, "node")), "node-a");
    assert_int_equal(json_integer_value(json_object_get(sp, "started")), T0);
    assert_int_equal(json_integer_value(json_object_get(sp, "finished")), executed);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "response"), "n")),
                     c->task.id);
    const char *err = json_string_value(json_object_get(r, "error"));
    if (lost)
        assert_string_equal(err, "claim lost (the task was changed meanwhile)");
    else
        assert_null(err);
    json_decref(r);
}

/*
 * One batch with every kind of outcome: plain successes (finished as a set),
 * a FAIL, a periodic success, a success with a us, and two plain successes
 * whose claim was lost (row retried by an admin; row deleted).
 */
static void test_mixed_batch(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct spool_claim c[8];
    int n = 0;
    int64_t us = mkus(db, 0);
    int64_t ids[] = { mktask(db, "{\"name\":\"OK1\"}", 100, 0),
                      mktask(db, "{\"name\":\"FAILS\"}", 100, 0),
                      mktask(db, "{\"name\":\"LOST\"}", 100, 0),
                      mktask(db, "{\"name\":\"PERIODIC\",\"period\":3600}", 100, 0),
                      mktask(db, "{\"name\":\"BLOCK\"}", 100, us),
                      mktask(db, "{\"name\":\"GONE\"}", 100, 0),
                      mktask(db, "{\"name\":\"OK2\"}", 100, 0) };
    if (spool_claim_batch(db, &node_a, T0, c, 8, &n, &e))
        fail_msg("batch: %s", e.msg);
    assert_int_equal(n, 7);
    for (int i = 0; i < n; i++) { /* the claim's history rows, one per task */
        assert_int_equal(c[i].task.id, ids[i]);
        expect_text(db, "SELECT status FROM spool_history WHERE id = $1", c[i].history_id, "NEW");
        assert_int_equal(q_int(db, "SELECT history_id FROM spool WHERE id = $1", ids[i]),
                         c[i].history_id);
        expect_text(db, "SELECT token FROM spool WHERE id = $1", ids[i], c[i].token);
        expect_text(db, "SELECT claimed_by FROM spool WHERE id = $1", ids[i], "node-a");
    }
    assert_int_equal(q_int(db, "SELECT usi_lock FROM spool WHERE id = $1", ids[4]), us);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE usi_lock IS NOT NULL", 0), 1);
    assert_int_equal(q_int(db, "SELECT user_service_id FROM spool_history WHERE id = $1",
                           c[4].history_id), us);
    /* an admin retries LOST and deletes GONE while they run */
    struct db_value lost[] = { DB_INT(ids[2]) }, gone[] = { DB_INT(ids[5]) };
    OK(db_exec(db, "UPDATE spool SET claimed_by = NULL, claimed_until = NULL, attempts = 0"
                   " WHERE id = $1", lost, 1, NULL, &e_));
    OK(db_exec(db, "DELETE FROM spool WHERE id = $1", gone, 1, NULL, &e_));
    enum task_result r[7] = { TASK_SUCCESS, TASK_FAIL, TASK_SUCCESS, TASK_SUCCESS,
                              TASK_SUCCESS, TASK_SUCCESS, TASK_SUCCESS };
    json_t *d[7];
    for (int i = 0; i < n; i++)
        d[i] = json_pack("{s:I}", "n", (json_int_t)ids[i]);
    if (spool_finish_batch(db, &node_a, c, r, d, n, T0 + 5, &e))
        fail_msg("finish batch: %s", e.msg);
    const char *hstatus[] = { "SUCCESS", "FAIL", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS",
                              "SUCCESS" };
    for (int i = 0; i < n; i++) {
        assert_true(c[i].recorded);
        expect_history(db, &c[i], hstatus[i], T0 + 5, i == 2 || i == 5);
    }
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool_history", 0), 7);
    /* spool rows: successes deleted, FAIL retried, periodic re-armed, LOST left as the admin set it */
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool", 0), 3);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", ids[1], "FAIL");
    assert_int_equal(q_int(db, "SELECT delayed FROM spool WHERE id = $1", ids[1]), 3);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", ids[2], "NEW");
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE id = $1 AND claimed_by IS NULL",
                           ids[2]), 1);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", ids[3], "DELAYED");
    assert_int_equal(q_int(db, "SELECT delayed FROM spool WHERE id = $1", ids[3]), 3600);
    assert_int_equal(q_int(db, "SELECT attempts FROM spool WHERE id = $1", ids[3]), 0);
    expect_text(db, "SELECT status FROM user_services WHERE user_service_id = $1", us, "BLOCK");
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE claimed_by IS NOT NULL", 0), 0);
    /* LOST runs again with the same token and its attempt (D9) */
    char token[sizeof(c[2].token)];
    snprintf(token, sizeof(token), "%s", c[2].token);
    for (int i = 0; i < n; i++) {
        spool_claim_free(&c[i]);
        json_decref(d[i]);
    }
    if (spool_claim_batch(db, &node_a, T0 + 5, c, 8, &n, &e))
        fail_msg("batch: %s", e.msg);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].task.id, ids[2]);
    assert_string_equal(c[0].token, token);
    assert_int_equal(c[0].task.attempt, 1);
    spool_claim_free(&c[0]);
}

static void test_missing_user_and_us(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct spool_opts o = { "node-a", 60, SPOOL_JOBS_ALL };
    bool did = false;
    json_t *ev = json_pack("{s:s}", "name", "CREATE");
    struct spool_new t = { .user_id = 999999, .event = ev };
    int64_t nouser = 0, nous = 0;
    OK(spool_add(db, &t, &nouser, &e_));
    t.user_id = g_user;
    t.usi = 888888; /* a us that does not exist */
    OK(spool_add(db, &t, &nous, &e_));
    json_decref(ev);
    for (int i = 0; i < 2; i++) {
        if (spool_run_one(db, NULL, &o, 0, &did, &e))
            fail_msg("run_one: %s", e.msg);
        assert_true(did);
    }
    expect_text(db, "SELECT status FROM spool WHERE id = $1", nouser, "STUCK");
    json_t *r = response_of(db, "SELECT response FROM spool WHERE id = $1", nouser);
    assert_string_equal(json_string_value(json_object_get(r, "error")), "User 999999 not exists");
    json_decref(r);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE id = $1", nous), 0);
    r = response_of(db, "SELECT response FROM spool_history WHERE spool_id = $1", nous);
    assert_string_equal(json_string_value(json_object_get(r, "msg")), "User service is not exists");
    json_decref(r);
}

/* spool_add_prepared stores what spool_add stores (event text with task_id, settings, re-arm). */
static void test_prepared_event(void **state)
{
    struct db *db = DB(state);
    json_t *ev = json_pack("{s:s,s:i,s:{s:s}}", "name", "PROLONGATE", "period", 60, "settings",
                           "category", "box");
    json_t *st = json_pack("{s:s}", "server_id", "7");
    struct spool_new t = { .user_id = g_user, .usi = 5, .event = ev, .settings = st,
                           .status = "SUCCESS" };
    struct spool_event pe;
    int64_t a = 0, b = 0;
    spool_set_current_task(42);
    OK(spool_add(db, &t, &a, &e_));
    spool_event_prepare(ev, &pe);
    t.event = NULL; /* not read */
    OK(spool_add_prepared(db, &t, &pe, &b, &e_));
    spool_event_release(&pe);
    spool_set_current_task(0);
    const char *cols[] = { "event", "settings", "status", "delayed", "user_service_id" };
    for (size_t i = 0; i < ARRAY_SIZE(cols); i++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "SELECT CAST(%s AS TEXT) FROM spool WHERE id = $1", cols[i]);
        char *want = q_text(db, sql, a);
        expect_text(db, sql, b, want);
        free(want);
    }
    expect_text(db, "SELECT status FROM spool WHERE id = $1", b, "DELAYED");
    char *evt = q_text(db, "SELECT event FROM spool WHERE id = $1", b);
    json_t *stored = json_loads(evt, 0, NULL);
    free(evt);
    assert_int_equal(json_integer_value(json_object_get(stored, "task_id")), 42);
    json_decref(stored);
    json_decref(ev);
    json_decref(st);
}

static void test_cleanup_and_prolongate(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct spool_opts o = { "node-a", 60, SPOOL_JOBS_ALL };
    bool did = false;
    int64_t now = T0 + 100 * 86400;
    q_exec(db, "DELETE FROM console");
    q_exec(db, "INSERT INTO spool_history (spool_id, user_id, status, created) VALUES"
               " (1, 1, 'SUCCESS', 1700000000), (1, 1, 'SUCCESS', 1708630000)");
    q_exec(db, "INSERT INTO console (start) VALUES (1700000000)");
    int64_t clean = mktask(db, "{\"kind\":\"Jobs\",\"method\":\"job_cleanup\","
                               "\"period\":\"86400\"}", 1, 0);
    int64_t prol = mktask(db, "{\"kind\":\"Jobs\",\"method\":\"job_prolongate\","
                              "\"period\":\"600\"}", 2, 0);
    time_freeze(now); /* 2024-02-22: the first history row is 100 days old, the second 0.5 */
    for (int i = 0; i < 2; i++) {
        if (spool_run_one(db, NULL, &o, 0, &did, &e))
            fail_msg("run_one: %s", e.msg);
        assert_true(did);
    }
    time_unfreeze();
    /* the old history row, the console row; the new row and the two just written stay */
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool_history WHERE created = 1700000000", 0), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool_history WHERE created = 1708630000", 0), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM console", 0), 0);
    json_t *r = response_of(db, "SELECT response FROM spool WHERE id = $1", clean);
    assert_int_equal(json_integer_value(json_object_get(r, "spool_history")), 1);
    json_decref(r);
    expect_text(db, "SELECT status FROM spool WHERE id = $1", clean, "DELAYED");
    r = response_of(db, "SELECT response FROM spool WHERE id = $1", prol);
    assert_string_equal(json_string_value(json_object_get(r, "msg")), "Done");
    assert_non_null(json_object_get(r, "affected_count"));
    json_decref(r);
    assert_int_equal(q_int(db, "SELECT delayed FROM spool WHERE id = $1", prol), 600);
}

static void test_unrecorded_outcome(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct spool_opts o = { "node-a", 60, SPOOL_JOBS_ALL };
    struct spool_batch_stats st;
    bool pg = db_engine_of(db) == DB_PG;
    q_exec(db, "DELETE FROM templates WHERE id = 't_rec'");
    q_exec(db, "INSERT INTO templates (id, data) VALUES ('t_rec', 'done')");
    int64_t id = mktask(db, "{\"name\":\"REC\",\"settings\":{\"transport\":\"local\","
                            "\"template_id\":\"t_rec\"}}", 100, 0);
    int64_t other = mktask(db, "{\"name\":\"OTHER\"}", 100, 0);
    /* the finish cannot delete the row (a stand-in for a database that went away) */
    if (pg)
        q_exec(db, "CREATE FUNCTION t_nodel() RETURNS trigger LANGUAGE plpgsql AS"
                   " 'BEGIN RAISE EXCEPTION ''nope''; END'");
    q_exec(db, pg ? "CREATE TRIGGER t_nodel BEFORE DELETE ON spool FOR EACH ROW"
                    " EXECUTE FUNCTION t_nodel()"
                  : "CREATE TRIGGER t_nodel BEFORE DELETE ON spool BEGIN"
                    " SELECT RAISE(ABORT, 'nope'); END");
    assert_int_not_equal(spool_run_batch(db, NULL, &o, 1, 0, &st, &e), 0);
    assert_int_equal(st.done, 1);
    expect_text(db, "SELECT claimed_by FROM spool WHERE id = $1", id, "node-a");
    /* still failing: nothing new is claimed while the outcome waits */
    assert_int_not_equal(spool_run_batch(db, NULL, &o, 1, 0, &st, &e), 0);
    assert_int_equal(st.done, 0);
    assert_int_equal(q_int(db, "SELECT attempts FROM spool WHERE id = $1", other), 0);
    q_exec(db, pg ? "DROP TRIGGER t_nodel ON spool" : "DROP TRIGGER t_nodel");
    if (pg)
        q_exec(db, "DROP FUNCTION t_nodel()");
    /* the kept outcome is recorded first, then work goes on */
    if (spool_run_batch(db, NULL, &o, 1, 0, &st, &e))
        fail_msg("run: %s", e.msg);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE id = $1", id), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool_history WHERE spool_id = $1"
                               " AND status = 'SUCCESS'", id), 1);
    assert_int_equal(st.done, 1); /* and OTHER was claimed in the same call */
    assert_int_equal(spool_pending_drop(), 0);
}

/* ---- fixture ---- */

static int pg_setup(const char *admin_url)
{
    struct err e = { 0 };
    char sql[160];
    if (db_open(admin_url, &g_pg_admin, &e))
        return -1;
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "billd_test_spool_%ld", (long)getpid());
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e))
        return -1;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e))
        return -1;
    if (testdb_pg_url(admin_url, g_pg_dbname, g_pg.url, sizeof(g_pg.url)) ||
        db_open(g_pg.url, &g_pg.db, &e) || migrate_run(g_pg.db, NULL, &e)) {
        fprintf(stderr, "# cannot prepare %s: %s\n", g_pg.url, e.msg);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    struct err e = { 0 };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    UNUSED(state);
    setenv("TZ", "UTC", 1);
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    snprintf(g_lite_path, sizeof(g_lite_path), "/tmp/billd_test_spool_%ld.db", (long)getpid());
    testdb_lite_remove(g_lite_path);
    snprintf(g_lite.url, sizeof(g_lite.url), "sqlite://%s", g_lite_path);
    if (db_open(g_lite.url, &g_lite.db, &e) || migrate_run(g_lite.db, NULL, &e)) {
        fprintf(stderr, "# cannot prepare %s: %s\n", g_lite.url, e.msg);
        return -1;
    }
    return pg && *pg ? pg_setup(pg) : 0;
}

static int group_teardown(void **state)
{
    struct err e = { 0 };
    char sql[160];
    UNUSED(state);
    db_close(g_lite.db);
    testdb_lite_remove(g_lite_path);
    db_close(g_pg.db);
    if (g_pg_admin) {
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_pg_dbname);
        db_exec_script(g_pg_admin, sql, &e);
        db_close(g_pg_admin);
    }
    return 0;
}

/* Every case starts with an empty spool and one user; the claims commit their own transactions. */
static int case_setup(void **state)
{
    struct backend *b = *state;
    struct err e = { 0 };
    if (!b->db)
        return -1;
    time_unfreeze();
    q_exec(b->db, "DELETE FROM spool");
    q_exec(b->db, "DELETE FROM spool_history");
    q_exec(b->db, "DELETE FROM user_services");
    q_exec(b->db, "DELETE FROM config WHERE key = 'spool'");
    char login[64];
    snprintf(login, sizeof(login), "spool%ld_%lld", (long)getpid(), (long long)time_now());
    struct db_value p[] = { DB_TEXT(login) };
    q_exec(b->db, "DELETE FROM users WHERE login LIKE 'spool%'");
    return db_query_int(b->db, "INSERT INTO users (login, created) VALUES ($1, 0) RETURNING user_id",
                        p, 1, &g_user, &e);
}

static int case_teardown(void **state)
{
    UNUSED(state);
    time_unfreeze();
    return 0;
}

struct tcase {
    const char *name;
    void (*fn)(void **);
};

static const struct tcase db_cases[] = {
    { "order", test_order },
    { "exclusive_and_lease", test_exclusive_and_lease },
    { "retry_and_max_attempts", test_retry_and_max_attempts },
    { "usi_lock", test_usi_lock },
    { "children_first", test_children_first },
    { "release", test_release },
    { "jobs_filter", test_jobs_filter },
    { "local_transport", test_local_transport },
    { "methods", test_methods },
    { "local_answer", test_local_answer },
    { "batch", test_batch },
    { "mixed_batch", test_mixed_batch },
    { "missing_user_and_us", test_missing_user_and_us },
    { "prepared_event", test_prepared_event },
    { "cleanup_and_prolongate", test_cleanup_and_prolongate },
    { "unrecorded_outcome", test_unrecorded_outcome },
};

int main(void)
{
    const struct tcase pure[] = { { "retry_delay", test_retry_delay },
                                  { "next_batch", test_next_batch } };
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, ndb = ARRAY_SIZE(db_cases), n = 0;
    struct CMUnitTest all[ARRAY_SIZE(pure) + 2 * ARRAY_SIZE(db_cases)];
    static char names[2 * ARRAY_SIZE(db_cases)][64];
    if (nb == 1)
        fprintf(stderr, "# test_spool: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
    for (size_t i = 0; i < ARRAY_SIZE(pure); i++)
        all[n++] = (struct CMUnitTest){ .name = pure[i].name, .test_func = pure[i].fn };
    for (size_t b = 0; b < nb; b++)
        for (size_t i = 0; i < ndb; i++, n++) {
            snprintf(names[b * ndb + i], sizeof(names[0]), "%s_%s", backends[b]->name,
                     db_cases[i].name);
            all[n] = (struct CMUnitTest){ .name = names[b * ndb + i],
                                          .test_func = db_cases[i].fn,
                                          .setup_func = case_setup,
                                          .teardown_func = case_teardown,
                                          .initial_state = backends[b] };
        }
    return _cmocka_run_group_tests("test_spool", all, n, group_setup, group_teardown);
}
