/*
 * test_usvc.c — unit tests of src/billing/usvc.c: the event tables of
 * billing.md §10.2 (targets, allowed events per status), service name
 * placeholders (§9), creating a service tree with its withdraws (§9),
 * REMOVED side effects (§10.4: unpaid withdraw deleted, storage rows,
 * services_count and server_id), commands bound to an event (§10.3: PROGRESS
 * and one spool task per command, children before the parent, §11.3
 * completion through usvc_task_done), the manual operations (§10.6) and
 * the other operations of §15 (add_period_by_money, recalc, recash).
 */
#include "billing_fixture.h"
#include "billing/ledger.h"
#include "util/timeutil.h"
#include "billing/forecast.h"
#include "billing/recash.h"
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
    return bf_q_int(db, "SELECT user_service_id FROM user_services WHERE parent = $1 AND "
                     "service_id = $2", p, 2);
}

static void test_create_tree(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    time_freeze(bf_at("2017-01-01 00:00:00"));
    int64_t web = bf_mkservice(db, 0, P(1), "web", 0, 0, 0, NULL, NULL);
    int64_t extra = bf_mkservice(db, 1000, P(1), "extra", 1, 0, 0, NULL, NULL);
    char children[128];
    snprintf(children, sizeof(children), "[%lld, {\"service_id\": %lld, \"qnt\": 2}]",
             (long long)web, (long long)extra);
    int64_t host = bf_mkservice(db, 10000, P(1), "host", 0, 0, 0, NULL, children);
    int64_t u = bf_mkuser(db, 20000, 0);
    create(db, u, host, &usi);
    assert_string_equal(STATUS(db, usi), "ACTIVE");
    int64_t cw = child_of(db, usi, web), ce = child_of(db, usi, extra);
    assert_string_equal(STATUS(db, cw), "ACTIVE");
    assert_string_equal(STATUS(db, ce), "ACTIVE");
    assert_int_equal(bf_user_col(db, u, "balance"), 20000 - 10000 - 2000);
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
    bf_assert_ledger(db, u);
}

static void test_not_paid_and_remove(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    time_freeze(bf_at("2017-01-01 00:00:00"));
    int64_t svc = bf_mkservice(db, 10000, P(1), "rm", 0, 0, 0, NULL, NULL);
    int64_t u = bf_mkuser(db, 0, 0);
    create(db, u, svc, &usi);
    assert_string_equal(STATUS(db, usi), "NOT PAID");
    struct usvc us;
    OK(usvc_load(db, usi, &us, &e));
    int64_t wd_id = us.withdraw_id;
    assert_true(wd_id > 0);
    usvc_free(&us);
    /* a server bound in settings, a storage row linked to the us */
    int64_t srv = bf_q_int(db, "INSERT INTO servers (name, server_gid, transport, services_count) VALUES "
                            "('s', 1, 'ssh', 3) RETURNING server_id", NULL, 0);
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE user_services SET settings = '{\"server_id\":%lld}' "
             "WHERE user_service_id = %lld", (long long)srv, (long long)usi);
    bf_q_exec(db, sql);
    snprintf(sql, sizeof(sql), "INSERT INTO storage (user_id, name, data, created, "
             "user_service_id) VALUES (%lld, 'k', NULL, 0, %lld)", (long long)u, (long long)usi);
    bf_q_exec(db, sql);
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
    assert_int_equal(bf_q_int(db, "SELECT services_count FROM servers WHERE server_id = $1", p, 1), 2);
    struct db_value pu[] = { DB_INT(u) };
    assert_int_equal(bf_q_int(db, "SELECT count(*) FROM storage WHERE user_id = $1", pu, 1), 0);
    /* REMOVED is terminal; deleting an ACTIVE one needs force */
    assert_int_equal(usvc_delete(db, usi, false, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Can't delete service with status: REMOVED");
}

static int64_t bind_event(struct db *db, const char *name, const char *category)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "INSERT INTO events (title, name, server_gid, settings) VALUES "
             "('t', '%s', 1, '{\"category\":\"%s\",\"cmd\":\"x\"}') RETURNING id", name, category);
    return bf_q_int(db, sql, NULL, 0);
}

static int64_t tasks(struct db *db, int64_t usi)
{
    struct db_value p[] = { DB_INT(usi) };
    return bf_q_int(db, "SELECT count(*) FROM spool WHERE user_service_id = $1", p, 1);
}

/* §11.3 "both": the child's task first, then the parent's. */
static void test_commands(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    time_freeze(bf_at("2017-01-01 00:00:00"));
    bind_event(db, "create", "ucmd_child");
    bind_event(db, "create", "ucmd_parent");
    bind_event(db, "remove", "ucmd_child");
    int64_t child = bf_mkservice(db, 0, P(1), "ucmd_child", 0, 0, 0, NULL, NULL);
    char children[64];
    snprintf(children, sizeof(children), "[%lld]", (long long)child);
    int64_t parent = bf_mkservice(db, 100, P(1), "ucmd_parent", 0, 0, 0, NULL, children);
    int64_t u = bf_mkuser(db, 100, 0);
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
    bf_assert_ledger(db, u);
}

static void test_manual(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    time_freeze(bf_at("2017-01-01 00:00:00"));
    int64_t svc = bf_mkservice(db, 100, P(1), "man", 0, 0, 0, NULL, NULL);
    int64_t u = bf_mkuser(db, 100, 0);
    create(db, u, svc, &usi);
    assert_int_equal(usvc_set_status_manual(db, usi, "REMOVED", &e), ERR_INVALID);
    OK(usvc_set_status_manual(db, usi, "BLOCK", &e));
    assert_string_equal(STATUS(db, usi), "BLOCK");
    OK(usvc_activate_force(db, usi, &e));
    assert_string_equal(STATUS(db, usi), "ACTIVE");
    /* expired and no money: activate_force fails */
    OK(usvc_block_force(db, usi, -1, &e));
    time_freeze(bf_at("2017-03-01 00:00:00"));
    assert_int_equal(usvc_activate_force(db, usi, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Not enough money");
    bf_assert_ledger(db, u);
}

/* ---- forecast (§16.3, the seed's shape rebuilt) ---- */

static int64_t fc_us(struct db *db, int64_t user, int64_t svc, int64_t next, int64_t cost,
                     int64_t total, int64_t expire)
{
    struct db_value p[] = { DB_INT(user), DB_INT(svc), DB_INT(next), DB_INT(expire) };
    int64_t usi = bf_q_int(db,
                        "INSERT INTO user_services (user_id, service_id, created, status, next, "
                        "expire) VALUES ($1, $2, 0, 'ACTIVE', $3, $4) RETURNING user_service_id",
                        p, 4);
    struct db_value w[] = { DB_INT(user), DB_INT(svc), DB_INT(cost), DB_INT(total), DB_INT(usi) };
    int64_t wd = bf_q_int(db,
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
    OK(forecast_build(db, user, &o, bf_at("2017-01-29 00:00:00"), &out, &e));
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
    int64_t renew = bf_mkservice(db, 89000, P(12), "domain", 0, 1, 0, NULL, NULL);
    int64_t reg = bf_mkservice(db, 59000, P(12), "domain", 0, 1, 0, NULL, NULL);
    int64_t max = bf_mkservice(db, 30000, P(1), "web", 0, 0, 0, NULL, NULL);
    int64_t u = bf_mkuser(db, -2156, 0);
    int64_t expire = bf_at("2017-01-31 23:59:50");
    fc_us(db, u, reg, renew, 59000, 57820, expire);
    int64_t usi99 = fc_us(db, u, max, 0, 12345, 12345, expire);
    fc_us(db, u, max, -1, 12345, 12345, expire); /* marked for removal */
    fc_us(db, u, max, 0, 12345, 12345, bf_at("2017-03-01 00:00:00")); /* beyond the horizon */
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
    int64_t q = bf_q_int(db,
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

/* ---- §15: add_period_by_money, recalc, recash ---- */

/* What `billd check` runs: every balance and bonus equals its ledger sums. */
static void assert_check(struct db *db)
{
    struct err e = { 0 };
    int64_t mismatches = -1;
    OK(ledger_check(db, &mismatches, &e));
    assert_int_equal(mismatches, 0);
}

static void set_honest(struct db *db)
{
    bf_q_exec(db, "DELETE FROM config WHERE key = 'billing'");
    bf_q_exec(db, "INSERT INTO config (key, value) VALUES ('billing', '{\"type\":\"Honest\"}')");
}

static struct wd current_wd(struct db *db, int64_t usi)
{
    struct err e = { 0 };
    struct usvc us;
    struct wd w;
    OK(usvc_load(db, usi, &us, &e));
    OK(withdraw_get(db, us.withdraw_id, &w, &e));
    usvc_free(&us);
    return w;
}

static int64_t expire_of(struct db *db, int64_t usi)
{
    struct db_value p[] = { DB_INT(usi) };
    return bf_q_int(db, "SELECT expire FROM user_services WHERE user_service_id = $1", p, 1);
}

/* §15.1 vector: 900/month paid 2019-04-01 01:00 (Europe/London, Honest), +450. */
static void test_add_period_by_money(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    bool added = true;
    bf_set_tz("Europe/London");
    set_honest(db);
    time_freeze(bf_at("2019-04-01 01:00:00"));
    bind_event(db, "prolongate", "apbm");
    int64_t svc = bf_mkservice(db, 90000, P(1), "apbm", 0, 1, 0, NULL, NULL);
    int64_t u = bf_mkuser(db, -2156, 0);
    struct db_value pu[] = { DB_INT(u) };
    OK(db_exec(db, "UPDATE users SET can_overdraft = 1 WHERE user_id = $1", pu, 1, NULL, &e));
    create(db, u, svc, &usi);
    struct wd w = current_wd(db, usi);
    assert_int_equal(w.total, 90000);
    assert_int_equal(w.end_date, bf_at("2019-05-01 01:01:59"));
    assert_int_equal(bf_user_col(db, u, "balance"), -92156);

    /* nothing happens for amount <= 0 */
    OK(usvc_add_period_by_money(db, usi, 0, &added, &e));
    assert_false(added);
    OK(usvc_add_period_by_money(db, usi, -100, &added, &e));
    assert_false(added);
    assert_int_equal(tasks(db, usi), 0);

    OK(usvc_add_period_by_money(db, usi, 45000, &added, &e));
    assert_true(added);
    w = current_wd(db, usi);
    assert_int_equal(w.months, 11500); /* 1.1500 */
    assert_int_equal(w.total, 135000);
    assert_int_equal(w.end_date, bf_at("2019-05-16 01:01:59"));
    assert_int_equal(w.withdraw_date, bf_at("2019-04-01 01:00:00"));
    assert_int_equal(expire_of(db, usi), bf_at("2019-05-16 01:01:59"));
    assert_int_equal(bf_user_col(db, u, "balance"), -92156 - 45000);
    assert_string_equal(STATUS(db, usi), "ACTIVE");
    assert_int_equal(tasks(db, usi), 1); /* the PROLONGATE command */
    bf_assert_ledger(db, u);

    /* more than 1200 months: a clear error, nothing changed */
    assert_int_equal(usvc_add_period_by_money(db, usi, INT64_C(90000) * 1300, &added, &e),
                     ERR_LIMIT);
    assert_false(added);
    assert_int_equal(current_wd(db, usi).total, 135000);

    /* a NOT PAID us: nothing */
    int64_t u2 = bf_mkuser(db, 0, 0), usi2;
    create(db, u2, svc, &usi2);
    assert_string_equal(STATUS(db, usi2), "NOT PAID");
    OK(usvc_add_period_by_money(db, usi2, 45000, &added, &e));
    assert_false(added);
    assert_int_equal(bf_user_col(db, u2, "balance"), 0);
    assert_int_equal(current_wd(db, usi2).total, 90000);
    assert_check(db);
}

/* §15.2 vector: period 6, cost 100, personal discount set to 20 → total 80. */
static void test_recalc(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int64_t usi;
    bool done = false;
    time_freeze(bf_at("2017-01-01 00:00:00"));
    int64_t svc = bf_mkservice(db, 10000, P(6), "recalc", 0, 0, 0, NULL, NULL);
    int64_t u = bf_mkuser(db, 0, 0);
    create(db, u, svc, &usi);
    assert_string_equal(STATUS(db, usi), "NOT PAID");
    struct wd w = current_wd(db, usi);
    assert_int_equal(w.cost, 10000);
    assert_int_equal(w.total, 10000);
    assert_int_equal(w.months, P(6));
    assert_int_equal(w.discount, 0);
    int64_t wd_id = w.withdraw_id;

    struct db_value pu[] = { DB_INT(u) };
    OK(db_exec(db, "UPDATE users SET discount = 20 WHERE user_id = $1", pu, 1, NULL, &e));
    OK(usvc_recalc(db, usi, &done, &e));
    assert_true(done);
    assert_string_equal(STATUS(db, usi), "NOT PAID");
    w = current_wd(db, usi);
    assert_int_equal(w.withdraw_id, wd_id);
    assert_int_equal(w.cost, 10000);
    assert_int_equal(w.total, 8000);
    assert_int_equal(w.months, P(6));
    assert_int_equal(w.discount, 20);
    assert_int_equal(w.user_service_id, usi);
    assert_int_equal(w.withdraw_date, 0);

    /* with the money now there, the touch after recalc pays the new total */
    OK(ledger_adjust(db, u, 8000, 0, "payment", NULL, 0, NULL, &e));
    OK(usvc_recalc(db, usi, &done, &e));
    assert_true(done);
    assert_string_equal(STATUS(db, usi), "ACTIVE");
    assert_int_equal(bf_user_col(db, u, "balance"), 0);
    /* a paid withdraw is not recomputed */
    OK(db_exec(db, "UPDATE users SET discount = 50 WHERE user_id = $1", pu, 1, NULL, &e));
    OK(usvc_recalc(db, usi, &done, &e));
    assert_false(done);
    assert_int_equal(current_wd(db, usi).total, 8000);
    bf_assert_ledger(db, u);
    assert_check(db);
}

static void insert_row(struct db *db, const char *sql, int64_t user_id, int64_t amount)
{
    struct err e = { 0 };
    struct db_value p[] = { DB_INT(user_id), DB_INT(amount) };
    OK(db_exec(db, sql, p, 2, NULL, &e));
}

/* §15.4: balance = payments − paid withdraws, bonus = bonus history, through the ledger. */
static void test_recash(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    json_t *out = NULL;
    int64_t u = bf_mkuser(db, 70000, 900); /* stored values the histories do not explain */
    const char *pay = "INSERT INTO pays_history (user_id, money, date) VALUES ($1, $2, 0)";
    const char *bon = "INSERT INTO bonus_history (user_id, bonus, date) VALUES ($1, $2, 0)";
    const char *wd = "INSERT INTO withdraw_history (user_id, create_date, withdraw_date, cost, "
                     "total, service_id, user_service_id) VALUES ($1, 0, 1, $2, $2, 1, 1)";
    const char *unpaid = "INSERT INTO withdraw_history (user_id, create_date, cost, total, "
                         "service_id, user_service_id) VALUES ($1, 0, $2, $2, 1, 1)";
    insert_row(db, pay, u, 100000);
    insert_row(db, pay, u, 50000);
    insert_row(db, wd, u, 30000);
    insert_row(db, unpaid, u, 99900); /* unpaid: not counted */
    insert_row(db, bon, u, 5000);
    insert_row(db, bon, u, -2000);
    OK(recash_user(db, u, &out, &e));
    assert_int_equal(bf_user_col(db, u, "balance"), 120000);
    assert_int_equal(bf_user_col(db, u, "bonus"), 3000);
    bf_assert_ledger(db, u);
    assert_check(db);
    assert_true(json_number_value(json_object_get(json_object_get(out, "before"), "balance")) ==
                700.0);
    assert_true(json_number_value(json_object_get(json_object_get(out, "before"), "bonus")) ==
                9.0);
    assert_true(json_number_value(json_object_get(json_object_get(out, "after"), "balance")) ==
                1200.0);
    assert_true(json_number_value(json_object_get(json_object_get(out, "after"), "bonus")) ==
                30.0);
    assert_true(json_number_value(json_object_get(json_object_get(out, "delta"), "balance")) ==
                500.0);
    assert_true(json_number_value(json_object_get(json_object_get(out, "delta"), "bonus")) ==
                21.0);
    json_decref(out);
    /* a second recash changes nothing and writes no ledger row */
    struct db_value pu[] = { DB_INT(u) };
    int64_t rows = bf_q_int(db, "SELECT count(*) FROM ledger WHERE user_id = $1", pu, 1);
    OK(recash_user(db, u, NULL, &e));
    assert_int_equal(bf_q_int(db, "SELECT count(*) FROM ledger WHERE user_id = $1", pu, 1), rows);
    assert_int_equal(bf_user_col(db, u, "balance"), 120000);
    /* an unknown user */
    assert_int_equal(recash_user(db, 999999, &out, &e), ERR_NOT_FOUND);
    assert_null(out);
}

static const struct bf_case pure_cases[] = {
    { "event_tables", test_event_tables },
    { "names", test_names },
};

static const struct bf_case db_cases[] = {
    { "create_tree", test_create_tree },
    { "not_paid_and_remove", test_not_paid_and_remove },
    { "commands", test_commands },
    { "manual", test_manual },
    { "forecast", test_forecast },
    { "add_period_by_money", test_add_period_by_money },
    { "recalc", test_recalc },
    { "recash", test_recash },
};

int main(void)
{
    return bf_run_all("test_usvc", "billd_test_usvc", pure_cases, ARRAY_SIZE(pure_cases), db_cases,
                      ARRAY_SIZE(db_cases));
}
