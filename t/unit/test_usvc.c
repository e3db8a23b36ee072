/*
 * test_usvc.c — unit tests of src/billing/usvc.c: the event tables of
 * billing.md §10.2 (targets, allowed events per status), service name
 * placeholders (§9), creating a service tree with its withdraws (§9),
 * REMOVED side effects (§10.4: unpaid withdraw deleted, storage rows,
 * services_count and server_id), commands bound to an event (§10.3: PROGRESS
 * and one spool task per command, children before the parent, §11.3
 * completion through usvc_task_done) and the manual operations (§10.6).
 */
/* ---- fixture: one SQLite file (+ PostgreSQL when BILLD_TEST_PG_URL is set) ---- */

#include "common.h"
#include "billing/ledger.h"
#include "db/db.h"
#include "db/migrate.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <time.h>
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
static const char *g_prefix = "billd_test";

#define DB(state) (((struct backend *)*(state))->db)

#define OK(call)                                                                              \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != 0)                                                                         \
            fail_msg("%s:%d: %s = %d: %s", __FILE__, __LINE__, #call, rc_, e.msg);            \
    } while (0)

static int64_t q_int(struct db *db, const char *sql, const struct db_value *p, int n)
{
    struct err e = { 0 };
    int64_t v = -999;
    if (db_query_int(db, sql, p, n, &v, &e))
        fail_msg("query failed: %s: %s", sql, e.msg);
    return v;
}

static void q_exec(struct db *db, const char *sql)
{
    struct err e = { 0 };
    if (db_exec(db, sql, NULL, 0, NULL, &e))
        fail_msg("exec failed: %s: %s", sql, e.msg);
}

static int64_t mkuser(struct db *db, int64_t balance, int64_t bonus)
{
    static int seq;
    char login[64];
    struct err e = { 0 };
    snprintf(login, sizeof(login), "user%d_%ld", ++seq, (long)getpid());
    struct db_value p[] = { DB_TEXT(login) };
    int64_t id = q_int(db, "INSERT INTO users (login, created) VALUES ($1, 0) RETURNING user_id",
                       p, 1);
    if (balance || bonus)
        OK(ledger_adjust(db, id, balance, bonus, "payment", NULL, 0, NULL, &e));
    return id;
}

/* A service: cost (minor), period (scaled), flags and config JSON (may be NULL). */
static int64_t mkservice(struct db *db, int64_t cost, int64_t period, const char *category,
                         int pay_always, int no_discount, int is_composite, const char *config,
                         const char *children)
{
    struct db_value p[] = { DB_INT(cost), DB_INT(period), DB_TEXT(category), DB_INT(pay_always),
                            DB_INT(no_discount), DB_INT(is_composite), DB_TEXT(config),
                            DB_TEXT(children) };
    return q_int(db,
                 "INSERT INTO services (name, cost, period, category, pay_always, no_discount, "
                 "is_composite, config, children, allow_to_order) VALUES ('svc', $1, $2, $3, $4, "
                 "$5, $6, $7, $8, 1) RETURNING service_id",
                 p, 8);
}


static int64_t user_col(struct db *db, int64_t user_id, const char *col)
{
    char sql[128];
    struct db_value p[] = { DB_INT(user_id) };
    snprintf(sql, sizeof(sql), "SELECT %s FROM users WHERE user_id = $1", col);
    return q_int(db, sql, p, 1);
}

/* Sum of the ledger equals the stored balance and bonus of user_id. */
static void assert_ledger(struct db *db, int64_t user_id)
{
    struct db_value p[] = { DB_INT(user_id) };
    assert_int_equal(q_int(db, "SELECT COALESCE(sum(money), 0) FROM ledger WHERE user_id = $1", p, 1),
                     user_col(db, user_id, "balance"));
    assert_int_equal(q_int(db, "SELECT COALESCE(sum(bonus), 0) FROM ledger WHERE user_id = $1", p, 1),
                     user_col(db, user_id, "bonus"));
}

static int64_t at(const char *local)
{
    int64_t t = 0;
    if (time_parse_local(local, &t))
        fail_msg("bad time %s", local);
    return t;
}

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int pg_setup(const char *admin_url)
{
    struct err e = { 0 };
    char sql[160];
    if (db_open(admin_url, &g_pg_admin, &e))
        return -1;
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "%s_%ld", g_prefix, (long)getpid());
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
    set_tz("UTC");
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    snprintf(g_lite_path, sizeof(g_lite_path), "/tmp/%s_%ld.db", g_prefix, (long)getpid());
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

/* Each database case runs in a transaction that is rolled back afterwards. */
static int case_setup(void **state)
{
    struct err e = { 0 };
    struct backend *b = *state;
    set_tz("UTC");
    time_unfreeze();
    return b->db && db_begin(b->db, true, &e) == 0 ? 0 : -1;
}

static int case_teardown(void **state)
{
    struct backend *b = *state;
    db_rollback(b->db);
    time_unfreeze();
    set_tz("UTC");
    return 0;
}

struct tcase {
    const char *name;
    void (*fn)(void **);
};

/* Runs the pure cases once and the database cases on each configured engine. */
static int run_all(const char *group, const struct tcase *pure, size_t npure,
                   const struct tcase *dbc, size_t ndb)
{
    struct CMUnitTest *all = xcalloc(npure + 2 * ndb + 1, sizeof(*all));
    char(*names)[80] = xcalloc(2 * ndb + 1, sizeof(*names));
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0;
    if (nb == 1)
        fprintf(stderr, "# %s: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n", group);
    for (size_t i = 0; i < npure; i++, n++)
        all[n] = (struct CMUnitTest){ .name = pure[i].name, .test_func = pure[i].fn };
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < ndb; i++, n++) {
            snprintf(names[b * ndb + i], sizeof(names[0]), "%s_%s", backends[b]->name,
                     dbc[i].name);
            all[n] = (struct CMUnitTest){ .name = names[b * ndb + i], .test_func = dbc[i].fn,
                                          .setup_func = case_setup,
                                          .teardown_func = case_teardown,
                                          .initial_state = backends[b] };
        }
    }
    int rc = _cmocka_run_group_tests(group, all, n, group_setup, group_teardown);
    free(all);
    free(names);
    return rc;
}
#include "billing/forecast.h"
#include "billing/usvc.h"
#include "billing/withdraw.h"
#include "core/period.h"

#include <jansson.h>

#define P(m) ((int64_t)(m) * PERIOD_SCALE)

/* ---- pure ---- */

static void test_event_tables(void **state)
{
    UNUSED(state);
    assert_string_equal(usvc_event_target("CREATE"), "ACTIVE");
    assert_string_equal(usvc_event_target("ACTIVATE"), "ACTIVE");
    assert_string_equal(usvc_event_target("PROLONGATE"), "ACTIVE");
    assert_string_equal(usvc_event_target("BLOCK"), "BLOCK");
    assert_string_equal(usvc_event_target("REMOVE"), "REMOVED");
    assert_string_equal(usvc_event_target("NOT_ENOUGH_MONEY"), "NOT PAID");
    assert_null(usvc_event_target("CHANGED"));
    assert_null(usvc_event_target("CHANGED_TARIFF"));
    assert_false(usvc_event_allowed("REMOVED", "CHANGED"));
    assert_true(usvc_event_allowed("PROGRESS", "REMOVE"));
    assert_true(usvc_event_allowed("BLOCK", "CHANGED_TARIFF"));
    assert_true(usvc_event_allowed("NOT PAID", "CREATE"));
    assert_true(usvc_event_allowed("INIT", "CREATE"));
    assert_true(usvc_event_allowed("INIT", "NOT_ENOUGH_MONEY"));
    assert_false(usvc_event_allowed("NOT PAID", "NOT_ENOUGH_MONEY"));
    assert_false(usvc_event_allowed("NOT PAID", "REMOVE"));
    assert_true(usvc_event_allowed("ACTIVE", "PROLONGATE"));
    assert_true(usvc_event_allowed("ACTIVE", "BLOCK"));
    assert_true(usvc_event_allowed("ACTIVE", "REMOVE"));
    assert_false(usvc_event_allowed("ACTIVE", "CREATE"));
    assert_true(usvc_event_allowed("BLOCK", "ACTIVATE"));
    assert_true(usvc_event_allowed("BLOCK", "REMOVE"));
    assert_false(usvc_event_allowed("BLOCK", "BLOCK"));
}

static void test_names(void **state)
{
    UNUSED(state);
    json_t *s = json_pack("{s:i,s:s}", "quota", 10000, "Domain", "example.org");
    char *n = usvc_name("Тариф X-MAX (${QUOTA} мб)", s);
    assert_string_equal(n, "Тариф X-MAX (10000 мб)");
    free(n);
    n = usvc_name("${domain} ${missing} ${", s);
    assert_string_equal(n, "example.org ${missing} ${");
    free(n);
    n = usvc_name("plain", NULL);
    assert_string_equal(n, "plain");
    free(n);
    json_decref(s);
}

/* ---- database ---- */

static int64_t create(struct db *db, int64_t user, int64_t svc, int64_t *usi)
{
    struct err e = { 0 };
    struct usvc_order o = { .service_id = svc, .auto_bill = -1 };
    OK(usvc_create(db, user, &o, usi, &e));
    return *usi;
}

static const char *status_of(struct db *db, int64_t usi, char *buf, size_t n)
{
    struct err e = { 0 };
    struct usvc us;
    OK(usvc_load(db, usi, &us, &e));
    snprintf(buf, n, "%s", us.status);
    usvc_free(&us);
    return buf;
}

#define STATUS(db, usi) status_of((db), (usi), (char[16]){ 0 }, 16)

static int64_t child_of(struct db *db, int64_t parent, int64_t service_id)
{
    struct db_value p[] = { DB_INT(parent), DB_INT(service_id) };
    return q_int(db, "SELECT user_service_id FROM user_services WHERE parent = $1 AND "
                     "service_id = $2", p, 2);
}

static void test_create_tree(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    time_freeze(at("2017-01-01 00:00:00"));
    int64_t web = mkservice(db, 0, P(1), "web", 0, 0, 0, NULL, NULL);
    int64_t extra = mkservice(db, 1000, P(1), "extra", 1, 0, 0, NULL, NULL);
    char children[128];
    snprintf(children, sizeof(children), "[%lld, {\"service_id\": %lld, \"qnt\": 2}]",
             (long long)web, (long long)extra);
    int64_t host = mkservice(db, 10000, P(1), "host", 0, 0, 0, NULL, children);
    int64_t u = mkuser(db, 20000, 0);
    create(db, u, host, &usi);
    assert_string_equal(STATUS(db, usi), "ACTIVE");
    int64_t cw = child_of(db, usi, web), ce = child_of(db, usi, extra);
    assert_string_equal(STATUS(db, cw), "ACTIVE");
    assert_string_equal(STATUS(db, ce), "ACTIVE");
    assert_int_equal(user_col(db, u, "balance"), 20000 - 10000 - 2000);
    struct usvc us;
    OK(usvc_load(db, cw, &us, &e));
    assert_int_equal(us.withdraw_id, 0);
    usvc_free(&us);
    OK(usvc_load(db, ce, &us, &e));
    struct wd w;
    OK(withdraw_get(db, us.withdraw_id, &w, &e));
    assert_true(w.qnt == 2);
    assert_int_equal(w.total, 2000);
    usvc_free(&us);
    assert_ledger(db, u);
}

static void test_not_paid_and_remove(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    time_freeze(at("2017-01-01 00:00:00"));
    int64_t svc = mkservice(db, 10000, P(1), "rm", 0, 0, 0, NULL, NULL);
    int64_t u = mkuser(db, 0, 0);
    create(db, u, svc, &usi);
    assert_string_equal(STATUS(db, usi), "NOT PAID");
    struct usvc us;
    OK(usvc_load(db, usi, &us, &e));
    int64_t wd_id = us.withdraw_id;
    assert_true(wd_id > 0);
    usvc_free(&us);
    /* a server bound in settings, a storage row linked to the us */
    int64_t srv = q_int(db, "INSERT INTO servers (name, server_gid, transport, services_count) VALUES "
                            "('s', 1, 'ssh', 3) RETURNING server_id", NULL, 0);
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE user_services SET settings = '{\"server_id\":%lld}' "
             "WHERE user_service_id = %lld", (long long)srv, (long long)usi);
    q_exec(db, sql);
    snprintf(sql, sizeof(sql), "INSERT INTO storage (user_id, name, data, created, "
             "user_service_id) VALUES (%lld, 'k', NULL, 0, %lld)", (long long)u, (long long)usi);
    q_exec(db, sql);
    assert_int_equal(usvc_delete(db, usi, false, &e), 0);
    assert_string_equal(STATUS(db, usi), "REMOVED");
    OK(usvc_load(db, usi, &us, &e));
    assert_int_equal(us.withdraw_id, 0);
    assert_null(json_object_get(us.settings, "server_id"));
    assert_string_equal(us.status_before, "NOT PAID");
    usvc_free(&us);
    struct wd w;
    assert_int_equal(withdraw_get(db, wd_id, &w, &e), ERR_NOT_FOUND);
    struct db_value p[] = { DB_INT(srv) };
    assert_int_equal(q_int(db, "SELECT services_count FROM servers WHERE server_id = $1", p, 1), 2);
    struct db_value pu[] = { DB_INT(u) };
    assert_int_equal(q_int(db, "SELECT count(*) FROM storage WHERE user_id = $1", pu, 1), 0);
    /* REMOVED is terminal; deleting an ACTIVE one needs force */
    assert_int_equal(usvc_delete(db, usi, false, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Can't delete service with status: REMOVED");
}

static int64_t bind_event(struct db *db, const char *name, const char *category)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "INSERT INTO events (title, name, server_gid, settings) VALUES "
             "('t', '%s', 1, '{\"category\":\"%s\",\"cmd\":\"x\"}') RETURNING id", name, category);
    return q_int(db, sql, NULL, 0);
}

static int64_t tasks(struct db *db, int64_t usi)
{
    struct db_value p[] = { DB_INT(usi) };
    return q_int(db, "SELECT count(*) FROM spool WHERE user_service_id = $1", p, 1);
}

/* §11.3 "both": the child's task first, then the parent's. */
static void test_commands(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    time_freeze(at("2017-01-01 00:00:00"));
    bind_event(db, "create", "ucmd_child");
    bind_event(db, "create", "ucmd_parent");
    bind_event(db, "remove", "ucmd_child");
    int64_t child = mkservice(db, 0, P(1), "ucmd_child", 0, 0, 0, NULL, NULL);
    char children[64];
    snprintf(children, sizeof(children), "[%lld]", (long long)child);
    int64_t parent = mkservice(db, 100, P(1), "ucmd_parent", 0, 0, 0, NULL, children);
    int64_t u = mkuser(db, 100, 0);
    create(db, u, parent, &usi);
    int64_t c = child_of(db, usi, child);
    assert_string_equal(STATUS(db, c), "PROGRESS");
    assert_string_equal(STATUS(db, usi), "PROGRESS");
    assert_int_equal(tasks(db, c), 1);
    assert_int_equal(tasks(db, usi), 0); /* waits for the child */
    OK(usvc_task_done(db, c, "CREATE", &e));
    assert_string_equal(STATUS(db, c), "ACTIVE");
    assert_string_equal(STATUS(db, usi), "PROGRESS");
    assert_int_equal(tasks(db, usi), 1); /* now the parent's own command */
    OK(usvc_task_done(db, usi, "CREATE", &e));
    assert_string_equal(STATUS(db, usi), "ACTIVE");

    /* the spooled copy */
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(usi) };
    OK(db_query(db, "SELECT event, settings, status, prio FROM spool WHERE user_service_id = $1",
                p, 1, &r, &e));
    json_t *ev = json_loads(db_result_get(r, 0, "event"), 0, NULL);
    json_t *st = json_loads(db_result_get(r, 0, "settings"), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(ev, "name")), "CREATE");
    assert_int_equal(json_integer_value(json_object_get(st, "user_service_id")), usi);
    assert_string_equal(db_result_get(r, 0, "status"), "NEW");
    assert_int_equal(db_result_get_int(r, 0, "prio"), 100);
    json_decref(ev);
    json_decref(st);
    db_result_free(r);

    /* block_force: no BLOCK commands → both BLOCK at once */
    OK(usvc_block_force(db, usi, -1, &e));
    assert_string_equal(STATUS(db, usi), "BLOCK");
    assert_string_equal(STATUS(db, c), "BLOCK");
    /* removal: the child has a REMOVE command, the parent waits */
    OK(usvc_delete(db, usi, false, &e));
    assert_string_equal(STATUS(db, c), "PROGRESS");
    assert_string_equal(STATUS(db, usi), "PROGRESS");
    OK(usvc_task_done(db, c, "REMOVE", &e));
    assert_string_equal(STATUS(db, c), "REMOVED");
    assert_string_equal(STATUS(db, usi), "REMOVED");
    assert_ledger(db, u);
}

static void test_manual(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    time_freeze(at("2017-01-01 00:00:00"));
    int64_t svc = mkservice(db, 100, P(1), "man", 0, 0, 0, NULL, NULL);
    int64_t u = mkuser(db, 100, 0);
    create(db, u, svc, &usi);
    assert_int_equal(usvc_set_status_manual(db, usi, "REMOVED", &e), ERR_INVALID);
    OK(usvc_set_status_manual(db, usi, "BLOCK", &e));
    assert_string_equal(STATUS(db, usi), "BLOCK");
    OK(usvc_activate_force(db, usi, &e));
    assert_string_equal(STATUS(db, usi), "ACTIVE");
    /* expired and no money: activate_force fails */
    OK(usvc_block_force(db, usi, -1, &e));
    time_freeze(at("2017-03-01 00:00:00"));
    assert_int_equal(usvc_activate_force(db, usi, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Not enough money");
    assert_ledger(db, u);
}

/* ---- forecast (§16.3, the seed's shape rebuilt) ---- */

static int64_t fc_us(struct db *db, int64_t user, int64_t svc, int64_t next, int64_t cost,
                     int64_t total, int64_t expire)
{
    struct db_value p[] = { DB_INT(user), DB_INT(svc), DB_INT(next), DB_INT(expire) };
    int64_t usi = q_int(db,
                        "INSERT INTO user_services (user_id, service_id, created, status, next, "
                        "expire) VALUES ($1, $2, 0, 'ACTIVE', $3, $4) RETURNING user_service_id",
                        p, 4);
    struct db_value w[] = { DB_INT(user), DB_INT(svc), DB_INT(cost), DB_INT(total), DB_INT(usi) };
    int64_t wd = q_int(db,
                       "INSERT INTO withdraw_history (user_id, create_date, withdraw_date, "
                       "end_date, cost, total, service_id, user_service_id) VALUES ($1, 0, 1, "
                       "2, $3, $4, $2, $5) RETURNING withdraw_id",
                       w, 5);
    struct db_value u[] = { DB_INT(wd), DB_INT(usi) };
    struct err e = { 0 };
    OK(db_exec(db, "UPDATE user_services SET withdraw_id = $1 WHERE user_service_id = $2", u, 2,
               NULL, &e));
    return usi;
}

static int64_t fc_total(struct db *db, int64_t user, json_t **keep)
{
    struct err e = { 0 };
    struct forecast_opts o = { .days = 3 };
    json_t *out = NULL;
    OK(forecast_build(db, user, &o, at("2017-01-29 00:00:00"), &out, &e));
    json_t *t = json_object_get(out, "total");
    int64_t v = (int64_t)(json_number_value(t) * 100 + (json_number_value(t) >= 0 ? 0.5 : -0.5));
    if (keep)
        *keep = out;
    else
        json_decref(out);
    return v;
}

static void test_forecast(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t renew = mkservice(db, 89000, P(12), "domain", 0, 1, 0, NULL, NULL);
    int64_t reg = mkservice(db, 59000, P(12), "domain", 0, 1, 0, NULL, NULL);
    int64_t max = mkservice(db, 30000, P(1), "web", 0, 0, 0, NULL, NULL);
    int64_t u = mkuser(db, -2156, 0);
    int64_t expire = at("2017-01-31 23:59:50");
    fc_us(db, u, reg, renew, 59000, 57820, expire);
    int64_t usi99 = fc_us(db, u, max, 0, 12345, 12345, expire);
    fc_us(db, u, max, -1, 12345, 12345, expire); /* marked for removal */
    fc_us(db, u, max, 0, 12345, 12345, at("2017-03-01 00:00:00")); /* beyond the horizon */
    json_t *out = NULL;
    assert_int_equal(fc_total(db, u, &out), 103501);
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *first = json_array_get(items, 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(first, "next"),
                                                        "service_id")), renew);
    assert_true(json_number_value(json_object_get(first, "total")) == 578.2);
    assert_string_equal(json_string_value(json_object_get(first, "expire")),
                        "2017-01-31 23:59:50");
    assert_true(json_number_value(json_object_get(out, "dept")) == 21.56);
    json_decref(out);

    /* an unpaid queued withdraw of 100 for usi 99 */
    struct db_value p[] = { DB_INT(u), DB_INT(max), DB_INT(usi99) };
    int64_t q = q_int(db,
                      "INSERT INTO withdraw_history (user_id, create_date, cost, total, "
                      "service_id, user_service_id) VALUES ($1, 0, 10000, 10000, $2, $3) "
                      "RETURNING withdraw_id",
                      p, 3);
    assert_int_equal(fc_total(db, u, NULL), 101156);
    struct db_value pq[] = { DB_INT(q) };
    OK(db_exec(db, "UPDATE withdraw_history SET withdraw_date = 5 WHERE withdraw_id = $1", pq, 1,
               NULL, &e));
    assert_int_equal(fc_total(db, u, NULL), 91156);
    OK(ledger_adjust(db, u, 32156, 0, "payment", NULL, 0, NULL, &e));
    assert_int_equal(fc_total(db, u, NULL), 59000);
}

static const struct tcase pure_cases[] = {
    { "event_tables", test_event_tables },
    { "names", test_names },
};

static const struct tcase db_cases[] = {
    { "create_tree", test_create_tree },
    { "not_paid_and_remove", test_not_paid_and_remove },
    { "commands", test_commands },
    { "manual", test_manual },
    { "forecast", test_forecast },
};

int main(void)
{
    g_prefix = "billd_test_usvc";
    return run_all("test_usvc", pure_cases, ARRAY_SIZE(pure_cases), db_cases,
                   ARRAY_SIZE(db_cases));
}
