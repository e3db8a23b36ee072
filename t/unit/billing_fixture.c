/*
 * billing_fixture.c — the shared database fixture and builders of the
 * billing unit tests (see billing_fixture.h). Owns the two backends and
 * the throwaway databases of one test binary.
 */
#include "billing_fixture.h"
#include "billing/ledger.h"
#include "db/migrate.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "testdb.h"

#include <time.h>
#include <unistd.h>

static struct bf_backend g_lite = { .name = "sqlite" };
static struct bf_backend g_pg = { .name = "pg" };
static char g_lite_path[128];
static struct db *g_pg_admin;
static char g_pg_dbname[64];
static const char *g_prefix = "billd_test";

int64_t bf_q_int(struct db *db, const char *sql, const struct db_value *p, int n)
{
    struct err e = { 0 };
    int64_t v = -999;
    if (db_query_int(db, sql, p, n, &v, &e))
        fail_msg("query failed: %s: %s", sql, e.msg);
    return v;
}

void bf_q_exec(struct db *db, const char *sql)
{
    struct err e = { 0 };
    if (db_exec(db, sql, NULL, 0, NULL, &e))
        fail_msg("exec failed: %s: %s", sql, e.msg);
}

int64_t bf_mkuser(struct db *db, int64_t balance, int64_t bonus)
{
    static int seq;
    char login[64];
    struct err e = { 0 };
    snprintf(login, sizeof(login), "user%d_%ld", ++seq, (long)getpid());
    struct db_value p[] = { DB_TEXT(login) };
    int64_t id = bf_q_int(db,
                          "INSERT INTO users (login, created) VALUES ($1, 0) RETURNING user_id",
                          p, 1);
    if (balance || bonus)
        OK(ledger_adjust(db, id, balance, bonus, "payment", NULL, 0, NULL, &e));
    return id;
}

int64_t bf_mkservice(struct db *db, int64_t cost, int64_t period, const char *category,
                     int pay_always, int no_discount, int is_composite, const char *config,
                     const char *children)
{
    struct db_value p[] = { DB_INT(cost), DB_INT(period), DB_TEXT(category), DB_INT(pay_always),
                            DB_INT(no_discount), DB_INT(is_composite), DB_TEXT(config),
                            DB_TEXT(children) };
    return bf_q_int(db,
                    "INSERT INTO services (name, cost, period, category, pay_always, "
                    "no_discount, is_composite, config, children, allow_to_order) VALUES "
                    "('svc', $1, $2, $3, $4, $5, $6, $7, $8, 1) RETURNING service_id",
                    p, 8);
}

void bf_seed_discounts(struct db *db)
{
    if (bf_q_int(db, "SELECT count(*) FROM discounts", NULL, 0) > 0)
        return;
    bf_q_exec(db, "INSERT INTO discounts (title, months, percent) VALUES ('1 month', 1, 0), "
                  "('3 months', 3, 10), ('6 months', 6, 15), ('12 months', 12, 20), "
                  "('24 months', 24, 30), ('36 months', 36, 40)");
}

int64_t bf_user_col(struct db *db, int64_t user_id, const char *col)
{
    char sql[128];
    struct db_value p[] = { DB_INT(user_id) };
    snprintf(sql, sizeof(sql), "SELECT %s FROM users WHERE user_id = $1", col);
    return bf_q_int(db, sql, p, 1);
}

void bf_assert_ledger(struct db *db, int64_t user_id)
{
    struct db_value p[] = { DB_INT(user_id) };
    assert_int_equal(
        bf_q_int(db, "SELECT COALESCE(sum(money), 0) FROM ledger WHERE user_id = $1", p, 1),
        bf_user_col(db, user_id, "balance"));
    assert_int_equal(
        bf_q_int(db, "SELECT COALESCE(sum(bonus), 0) FROM ledger WHERE user_id = $1", p, 1),
        bf_user_col(db, user_id, "bonus"));
}

int64_t bf_at(const char *local)
{
    int64_t t = 0;
    if (time_parse_local(local, &t))
        fail_msg("bad time %s", local);
    return t;
}

void bf_set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* ---- the group: databases and per-case transactions ---- */

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
    bf_set_tz("UTC");
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
    struct bf_backend *b = *state;
    bf_set_tz("UTC");
    time_unfreeze();
    return b->db && db_begin(b->db, true, &e) == 0 ? 0 : -1;
}

static int case_teardown(void **state)
{
    struct bf_backend *b = *state;
    db_rollback(b->db);
    time_unfreeze();
    bf_set_tz("UTC");
    return 0;
}

int bf_run_all(const char *group, const char *prefix, const struct bf_case *pure, size_t npure,
               const struct bf_case *dbc, size_t ndb)
{
    struct CMUnitTest *all = xcalloc(npure + 2 * ndb + 1, sizeof(*all));
    char(*names)[80] = xcalloc(2 * ndb + 1, sizeof(*names));
    struct bf_backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0;
    g_prefix = prefix;
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
