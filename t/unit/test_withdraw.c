/*
 * test_withdraw.c — unit tests of src/billing/withdraw.c and charge.c:
 * the discount vectors of billing.md §6.3, the calc_withdraw vectors of
 * §6.4 (Honest, withdraw_date 2019-01-01 00:00:00, UTC), available bonuses
 * (§7.2), the insufficient-funds rule with credit, can_overdraft and
 * pay_in_credit (§7.4, D20), charging through the ledger with the bonus
 * history (§7.5), composite roots (§7.3) and money back (§14.4, D21).
 *
 * The services and discounts rows of the dev seed that the vectors use are
 * built in the test's own database; every database case is rolled back.
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

static void seed_discounts(struct db *db)
{
    if (q_int(db, "SELECT count(*) FROM discounts", NULL, 0) > 0)
        return;
    q_exec(db, "INSERT INTO discounts (title, months, percent) VALUES ('1 month', 1, 0), "
               "('3 months', 3, 10), ('6 months', 6, 15), ('12 months', 12, 20), "
               "('24 months', 24, 30), ('36 months', 36, 40)");
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
#include "billing/charge.h"
#include "billing/withdraw.h"
#include "core/period.h"

#define P(m) ((int64_t)(m) * PERIOD_SCALE)

/* ---- pure: §7.2 ---- */

static void test_available_bonuses(void **state)
{
    UNUSED(state);
    json_t *none = json_object();
    json_t *l100 = json_pack("{s:i}", "limit_bonus_percent", 100);
    json_t *l50 = json_pack("{s:i}", "limit_bonus_percent", 50);
    json_t *l33 = json_pack("{s:i}", "limit_bonus_percent", 33);
    json_t *l0 = json_pack("{s:i}", "limit_bonus_percent", 0);
    assert_int_equal(charge_available_bonuses(none, 10000, 5000), 10000);
    assert_int_equal(charge_available_bonuses(l100, 10000, 5000), 10000);
    assert_int_equal(charge_available_bonuses(l50, 15000, 20000), 10000);
    assert_int_equal(charge_available_bonuses(l50, 15000, 0), 0);
    assert_int_equal(charge_available_bonuses(l33, 10000, 10000), 3300);
    assert_int_equal(charge_available_bonuses(l0, 9900, 10000), 0);
    assert_int_equal(charge_available_bonuses(none, 0, 10000), 0);
    assert_int_equal(charge_available_bonuses(none, -5, 10000), 0);
    json_decref(none);
    json_decref(l100);
    json_decref(l50);
    json_decref(l33);
    json_decref(l0);
}

static void test_insufficient(void **state)
{
    UNUSED(state);
    struct charge_user u = { .balance = 1000, .bonus = 0, .credit = 0 };
    assert_true(charge_insufficient(&u, 0, 10000, false));
    assert_false(charge_insufficient(&u, 0, 10000, true)); /* D20 */
    assert_false(charge_insufficient(&u, 9000, 10000, false));
    assert_false(charge_insufficient(&u, 0, 0, false));
    u.credit = 9000;
    assert_false(charge_insufficient(&u, 0, 10000, false));
    u.credit = 8999;
    assert_true(charge_insufficient(&u, 0, 10000, false));
    u.can_overdraft = true;
    assert_false(charge_insufficient(&u, 0, 10000, false));
}

/* ---- database: §6.3 ---- */

static void load(struct db *db, int64_t id, struct bill_service *s)
{
    struct err e = { 0 };
    OK(bill_service_load(db, id, s, &e));
}

static int64_t discount_for(struct db *db, int64_t user, int64_t svc, int64_t months)
{
    struct err e = { 0 };
    struct bill_service s;
    int64_t d = -1;
    load(db, svc, &s);
    OK(withdraw_discount(db, user, &s, months, &d, &e));
    bill_service_free(&s);
    return d;
}

static void test_discounts(void **state)
{
    struct db *db = DB(state);
    seed_discounts(db);
    int64_t u = mkuser(db, 0, 0);
    int64_t s1 = mkservice(db, 31000, P(1), "test", 0, 0, 0, NULL, NULL);
    int64_t s11 = mkservice(db, 59000, P(12), "domain", 0, 1, 0, NULL, NULL);
    int64_t s11d = mkservice(db, 59000, P(12), "domain", 0, 0, 0, NULL, NULL);
    const int64_t want[][2] = { { 1, 0 },  { 2, 0 },  { 3, 10 },  { 4, 10 }, { 5, 10 },
                                { 6, 15 }, { 11, 15 }, { 12, 20 }, { 13, 20 }, { 24, 30 },
                                { 36, 40 } };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        assert_int_equal(discount_for(db, u, s1, P(want[i][0])), want[i][1]);
    assert_int_equal(discount_for(db, u, s1, 100), 0); /* 0.01 months */
    assert_int_equal(discount_for(db, u, s11, P(24)), 0);
    assert_int_equal(discount_for(db, u, s11d, P(24)), 0); /* period >= 2 */
    struct db_value p[] = { DB_INT(u) };
    struct err e = { 0 };
    OK(db_exec(db, "UPDATE users SET discount = 13 WHERE user_id = $1", p, 1, NULL, &e));
    assert_int_equal(discount_for(db, u, s1, P(1)), 13);
    assert_int_equal(discount_for(db, u, s11d, P(12)), 13);
    assert_int_equal(discount_for(db, u, s1, P(36)), 53);
    OK(db_exec(db, "UPDATE users SET discount = 90 WHERE user_id = $1", p, 1, NULL, &e));
    assert_int_equal(discount_for(db, u, s1, P(36)), 100); /* capped */
    assert_int_equal(discount_for(db, u, s11, P(1)), 0);   /* no_discount */
}

/* ---- database: §6.4 ---- */

struct wd_case {
    int svc; /* 1 or 11 */
    int64_t cost, months, discount;
    int64_t total;
    const char *end; /* NULL = not checked */
};

static void test_calc_withdraw(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    seed_discounts(db);
    int64_t u = mkuser(db, 0, 0);
    int64_t s1 = mkservice(db, 31000, P(1), "test", 0, 0, 0, NULL, NULL);
    int64_t s11 = mkservice(db, 59000, P(12), "domain", 0, 1, 0, NULL, NULL);
    const struct wd_case cases[] = {
        { 11, 120000, P(1), 0, 10000, "2019-01-31 23:59:59" },
        { 11, 60000, P(12), 0, 60000, "2019-12-31 23:59:59" },
        { 1, 31000, P(1), 0, 31000, NULL },
        { 1, 31000, 100, 0, 1000, "2019-01-01 23:59:59" },
        { 1, 31000, 200, 0, 2000, NULL },
        { 1, 31000, 1300, 0, 13000, "2019-01-13 23:59:59" },
        { 1, 60000, P(1), 20, 48000, NULL },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct bill_service s;
        struct wd w;
        char end[32];
        load(db, cases[i].svc == 1 ? s1 : s11, &s);
        struct wd_input in = { .has_cost = true, .cost = cases[i].cost, .has_months = true,
                               .months = cases[i].months, .discount = cases[i].discount,
                               .withdraw_date = at("2019-01-01 00:00:00") };
        OK(withdraw_calc(db, CALC_HONEST, u, &s, &in, at("2019-01-01 00:00:00"), &w, &e));
        assert_int_equal(w.total, cases[i].total);
        assert_int_equal(w.qnt, 1);
        if (cases[i].end) {
            time_format_local(w.end_date, end, sizeof(end));
            assert_string_equal(end, cases[i].end);
        }
        bill_service_free(&s);
    }
}

static void test_calc_withdraw_qnt_bonus(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct bill_service s;
    struct wd w, r;
    seed_discounts(db);
    int64_t u = mkuser(db, 0, 0);
    int64_t s1 = mkservice(db, 10000, P(1), "test", 0, 0, 0, NULL, NULL);
    load(db, s1, &s);
    /* 4 months of a 100/month service: discount 10 % from the discounts table (§22.1) */
    struct wd_input in = { .has_months = true, .months = P(4), .qnt = 2, .bonus = 500,
                           .withdraw_date = at("2017-01-01 00:00:00") };
    OK(withdraw_calc(db, CALC_HONEST, u, &s, &in, at("2017-01-01 00:00:00"), &w, &e));
    assert_int_equal(w.discount, 10);
    assert_int_equal(w.total, 72000 - 500);
    assert_int_equal(w.bonus, 500);
    /* the row round trip */
    w.user_service_id = 77;
    OK(withdraw_insert(db, &w, &e));
    OK(withdraw_get(db, w.withdraw_id, &r, &e));
    assert_int_equal(r.total, w.total);
    assert_true(r.qnt == 2.0);
    assert_int_equal(r.months, P(4));
    r.qnt = 1.5;
    r.withdraw_date = 0;
    OK(withdraw_update(db, &r, &e));
    OK(withdraw_get(db, w.withdraw_id, &r, &e));
    assert_true(r.qnt == 1.5);
    assert_int_equal(r.withdraw_date, 0);
    OK(withdraw_delete(db, w.withdraw_id, &e));
    assert_int_equal(withdraw_get(db, w.withdraw_id, &r, &e), ERR_NOT_FOUND);
    bill_service_free(&s);
}

/* ---- database: §7 ---- */

/* A us of service svc with an unpaid withdraw of total; returns usi. */
static int64_t mk_us(struct db *db, int64_t user, int64_t svc, int64_t parent, int64_t total,
                     int64_t *wd_id)
{
    struct db_value p[] = { DB_INT(user), DB_INT(svc), parent ? DB_INT(parent) : DB_NULL };
    int64_t usi = q_int(db,
                        "INSERT INTO user_services (user_id, service_id, created, parent) "
                        "VALUES ($1, $2, 0, $3) RETURNING user_service_id",
                        p, 3);
    struct db_value w[] = { DB_INT(user), DB_INT(svc), DB_INT(total), DB_INT(usi) };
    *wd_id = q_int(db,
                   "INSERT INTO withdraw_history (user_id, create_date, cost, total, service_id, "
                   "user_service_id) VALUES ($1, 0, $3, $3, $2, $4) RETURNING withdraw_id",
                   w, 4);
    struct db_value u[] = { DB_INT(*wd_id), DB_INT(usi) };
    struct err e = { 0 };
    OK(db_exec(db, "UPDATE user_services SET withdraw_id = $1 WHERE user_service_id = $2", u, 2,
               NULL, &e));
    return usi;
}

static void test_charge(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct wd w;
    bool paid = false;
    int64_t wd_id;
    int64_t u = mkuser(db, 10000, 9900);
    int64_t s = mkservice(db, 10000, P(1), "t", 0, 0, 0, "{\"limit_bonus_percent\":30}", NULL);
    int64_t usi = mk_us(db, u, s, 0, 10000, &wd_id);
    OK(charge_pay_us(db, usi, 1000, &paid, &e));
    assert_true(paid);
    OK(withdraw_get(db, wd_id, &w, &e));
    assert_int_equal(w.total, 7000);
    assert_int_equal(w.bonus, 3000);
    assert_int_equal(w.withdraw_date, 1000);
    assert_int_equal(user_col(db, u, "balance"), 3000);
    assert_int_equal(user_col(db, u, "bonus"), 6900);
    struct db_value p[] = { DB_INT(u) };
    assert_int_equal(q_int(db, "SELECT bonus FROM bonus_history WHERE user_id = $1", p, 1), -3000);
    assert_int_equal(q_int(db, "SELECT count(*) FROM bonus_history WHERE user_id = $1 AND "
                               "CAST(comment AS TEXT) LIKE '%withdraw_id%'", p, 1), 1);
    assert_ledger(db, u);
    /* paid already: nothing more */
    OK(charge_pay_us(db, usi, 2000, &paid, &e));
    assert_true(paid);
    assert_int_equal(user_col(db, u, "balance"), 3000);

    /* not enough: nothing charged */
    int64_t u2 = mkuser(db, 5000, 0);
    int64_t usi2 = mk_us(db, u2, s, 0, 10000, &wd_id);
    OK(charge_pay_us(db, usi2, 1000, &paid, &e));
    assert_false(paid);
    assert_int_equal(user_col(db, u2, "balance"), 5000);
    /* pay_in_credit (D20): charged into a negative balance */
    int64_t sc = mkservice(db, 10000, P(1), "t", 0, 0, 0, NULL, NULL);
    struct db_value sp[] = { DB_INT(sc) };
    OK(db_exec(db, "UPDATE services SET pay_in_credit = 1 WHERE service_id = $1", sp, 1, NULL, &e));
    int64_t usi3 = mk_us(db, u2, sc, 0, 10000, &wd_id);
    OK(charge_pay_us(db, usi3, 1000, &paid, &e));
    assert_true(paid);
    assert_int_equal(user_col(db, u2, "balance"), -5000);
    assert_ledger(db, u2);
}

static void test_composite(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    bool paid = false;
    int64_t wd_root, wd_child;
    int64_t sc = mkservice(db, 10000, P(1), "c", 0, 0, 1, NULL, NULL);
    int64_t sk = mkservice(db, 1000, P(1), "k", 1, 0, 0, NULL, NULL);
    int64_t u = mkuser(db, 10000, 0);
    int64_t root = mk_us(db, u, sc, 0, 10000, &wd_root);
    int64_t child = mk_us(db, u, sk, root, 2000, &wd_child);
    OK(charge_pay_us(db, child, 1, &paid, &e));
    assert_false(paid); /* the root is not paid */
    OK(charge_pay_us(db, root, 1, &paid, &e));
    assert_false(paid); /* 100 + 20 > 100 */
    OK(ledger_adjust(db, u, 2000, 0, "payment", NULL, 0, NULL, &e));
    OK(charge_pay_us(db, root, 1, &paid, &e));
    assert_true(paid);
    OK(charge_pay_us(db, child, 1, &paid, &e));
    assert_true(paid);
    assert_int_equal(user_col(db, u, "balance"), 0);
    assert_ledger(db, u);
}

/* ---- database: §14.4 ---- */

static void paid_wd(struct db *db, int64_t wd_id, int64_t total, int64_t bonus, int64_t months,
                    int64_t from, int64_t end)
{
    struct err e = { 0 };
    struct wd w;
    OK(withdraw_get(db, wd_id, &w, &e));
    w.total = total;
    w.bonus = bonus;
    w.months = months;
    w.withdraw_date = from;
    w.create_date = from;
    w.end_date = end;
    OK(withdraw_update(db, &w, &e));
}

static void test_money_back(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct wd w;
    int64_t wd_id, back = 0;
    set_tz("Europe/London");
    int64_t s = mkservice(db, 90000, P(3), "t", 0, 0, 0, NULL, NULL);
    const int64_t paid[][4] = {
        /* money, bonus → kept money, kept bonus */
        { 90000, 0, 30000, 0 },
        { 10000, 80000, 0, 30000 },
        { 40000, 50000, 30000, 0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(paid); i++) {
        int64_t u = mkuser(db, 0, 0);
        int64_t usi = mk_us(db, u, s, 0, 90000, &wd_id);
        UNUSED(usi);
        paid_wd(db, wd_id, paid[i][0], paid[i][1], P(3), at("2022-01-01 00:00:00"),
                at("2022-03-31 23:59:59"));
        OK(charge_money_back(db, CALC_HONEST, wd_id, at("2022-02-01 00:00:00"), 5, &back, &e));
        OK(withdraw_get(db, wd_id, &w, &e));
        assert_int_equal(w.total, paid[i][2]);
        assert_int_equal(w.bonus, paid[i][3]);
        assert_int_equal(w.months, P(1));
        assert_int_equal(user_col(db, u, "balance"), paid[i][0] - paid[i][2]);
        assert_int_equal(user_col(db, u, "bonus"), paid[i][1] - paid[i][3]);
        assert_ledger(db, u);
    }
    /* allow_return_full_wd: the whole withdraw, the row unchanged */
    int64_t sf = mkservice(db, 90000, P(1), "t", 0, 0, 0, "{\"allow_return_full_wd\":1}", NULL);
    int64_t u = mkuser(db, 0, 0);
    mk_us(db, u, sf, 0, 50000, &wd_id);
    paid_wd(db, wd_id, 50000, 40000, P(1), at("2022-01-01 00:00:00"), at("2022-01-31 23:59:59"));
    OK(charge_money_back(db, CALC_HONEST, wd_id, at("2022-01-10 00:00:00"), 5, &back, &e));
    assert_int_equal(user_col(db, u, "balance"), 50000);
    assert_int_equal(user_col(db, u, "bonus"), 40000);
    OK(withdraw_get(db, wd_id, &w, &e));
    assert_int_equal(w.total, 50000);
    /* no_money_back and an ended withdraw: nothing */
    int64_t sn = mkservice(db, 90000, P(1), "t", 0, 0, 0, "{\"no_money_back\":1}", NULL);
    int64_t u2 = mkuser(db, 0, 0);
    mk_us(db, u2, sn, 0, 90000, &wd_id);
    paid_wd(db, wd_id, 90000, 0, P(1), at("2022-01-01 00:00:00"), at("2022-01-31 23:59:59"));
    OK(charge_money_back(db, CALC_HONEST, wd_id, at("2022-01-10 00:00:00"), 5, &back, &e));
    assert_int_equal(user_col(db, u2, "balance"), 0);
    mk_us(db, u2, s, 0, 90000, &wd_id);
    paid_wd(db, wd_id, 90000, 0, P(1), at("2022-01-01 00:00:00"), at("2022-01-31 23:59:59"));
    OK(charge_money_back(db, CALC_HONEST, wd_id, at("2022-02-10 00:00:00"), 5, &back, &e));
    assert_int_equal(user_col(db, u2, "balance"), 0);
}

/* D21: the used part carries the withdraw's discount and quantity. */
static void test_money_back_discount(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct wd w;
    int64_t wd_id, back = 0;
    set_tz("Europe/London");
    int64_t s = mkservice(db, 90000, P(3), "t", 0, 0, 0, NULL, NULL);
    int64_t u = mkuser(db, 0, 0);
    mk_us(db, u, s, 0, 90000, &wd_id);
    OK(withdraw_get(db, wd_id, &w, &e));
    w.discount = 50;
    w.qnt = 2;
    OK(withdraw_update(db, &w, &e));
    paid_wd(db, wd_id, 90000, 0, P(3), at("2022-01-01 00:00:00"), at("2022-03-31 23:59:59"));
    OK(charge_money_back(db, CALC_HONEST, wd_id, at("2022-02-01 00:00:00"), 5, &back, &e));
    OK(withdraw_get(db, wd_id, &w, &e));
    assert_int_equal(w.total, 30000); /* 300 × 50 % × 2 */
    assert_int_equal(back, 60000);
}

static const struct tcase pure_cases[] = {
    { "available_bonuses", test_available_bonuses },
    { "insufficient", test_insufficient },
};

static const struct tcase db_cases[] = {
    { "discounts", test_discounts },
    { "calc_withdraw", test_calc_withdraw },
    { "calc_withdraw_qnt_bonus", test_calc_withdraw_qnt_bonus },
    { "charge", test_charge },
    { "composite", test_composite },
    { "money_back", test_money_back },
    { "money_back_discount", test_money_back_discount },
};

int main(void)
{
    g_prefix = "billd_test_withdraw";
    return run_all("test_withdraw", pure_cases, ARRAY_SIZE(pure_cases), db_cases,
                   ARRAY_SIZE(db_cases));
}
