/*
 * test_db.c — unit tests of the database layer and of the modules built
 * directly on it: src/db/db.c (+ both engines), src/db/migrate.c,
 * src/billing/ledger.c, src/core/user.c and src/core/session.c.
 *
 * Every case runs on a fresh SQLite file under /tmp and, when
 * BILLD_TEST_PG_URL names a throwaway PostgreSQL cluster, on a database
 * created for the run (CREATE DATABASE through that URL, dropped at the end).
 * The cases of one engine share its database and run in order: migrations
 * first on the empty database, then the DB API, then users and sessions.
 */
#include "common.h"
#include "billing/ledger.h"
#include "core/password.h"
#include "core/session.h"
#include "core/user.h"
#include "db/db.h"
#include "db/migrate.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "testdb.h"

#include <pthread.h>
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
static struct db *g_pg_admin; /* connection to BILLD_TEST_PG_URL, for CREATE/DROP DATABASE */
static char g_pg_dbname[64];

/* Asserts that call returns 0; e must be a struct err in scope. */
#define OK(call)                                                                              \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != 0)                                                                         \
            fail_msg("%s:%d: %s = %d: %s", __FILE__, __LINE__, #call, rc_, e.msg);            \
    } while (0)

/* Asserts that call fails with code want. */
#define FAILS(want, call)                                                                     \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != (want))                                                                    \
            fail_msg("%s:%d: %s = %d, want %s (%d)", __FILE__, __LINE__, #call, rc_, #want,   \
                     (want));                                                                 \
    } while (0)

static struct db *db_of(void **state)
{
    struct backend *b = *state;
    return b->db;
}

/* ---- query helpers: each asserts success ---- */

static int64_t q_int(struct db *db, const char *sql, const struct db_value *p, int n)
{
    struct err e = { 0 };
    int64_t v = 0;
    int rc = db_query_int(db, sql, p, n, &v, &e);
    if (rc)
        fail_msg("%s: %d %s", sql, rc, e.msg);
    return v;
}

/* One integer parameter. */
static int64_t q_int1(struct db *db, const char *sql, int64_t arg)
{
    struct db_value p[] = { DB_INT(arg) };
    return q_int(db, sql, p, 1);
}

/* The text of the first cell for one integer parameter, as an owned copy (NULL for NULL). */
static char *q_text1(struct db *db, const char *sql, int64_t arg)
{
    struct err e = { 0 };
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(arg) };
    int rc = db_query(db, sql, p, 1, &r, &e);
    if (rc)
        fail_msg("%s: %d %s", sql, rc, e.msg);
    if (db_result_rows(r) != 1) {
        db_result_free(r);
        fail_msg("%s: no row", sql);
    }
    const char *t = db_result_text(r, 0, 0);
    char *s = t ? xstrdup(t) : NULL;
    db_result_free(r);
    return s;
}

static void exec_sql(struct db *db, const char *sql)
{
    struct err e = { 0 };
    int rc = db_exec_script(db, sql, &e);
    if (rc)
        fail_msg("%s: %d %s", sql, rc, e.msg);
}

/* Creates a user without a password (no argon2 cost) and returns its id. */
static int64_t mkuser(struct db *db, const char *login)
{
    struct db_value p[] = { DB_TEXT(login), DB_INT(time_now()) };
    return q_int(db, "INSERT INTO users (login, created) VALUES ($1, $2) RETURNING user_id", p, 2);
}

static int64_t ledger_mismatches(struct db *db)
{
    struct err e = { 0 };
    int64_t n = -1;
    OK(ledger_check(db, &n, &e));
    return n;
}

static bool token_ok(const char *t)
{
    if (strlen(t) != SESSION_TOKEN_LEN)
        return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9')))
            return false;
    return true;
}

/* ---- fixtures ---- */

static int pg_setup(const char *admin_url)
{
    struct err e = { 0 };
    char sql[160];
    if (db_open(admin_url, &g_pg_admin, &e)) {
        fprintf(stderr, "# cannot open %s: %s\n", admin_url, e.msg);
        return -1;
    }
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "billd_test_db_%ld", (long)getpid());
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e))
        return -1;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e)) {
        fprintf(stderr, "# %s: %s\n", sql, e.msg);
        return -1;
    }
    if (testdb_pg_url(admin_url, g_pg_dbname, g_pg.url, sizeof(g_pg.url)) ||
        db_open(g_pg.url, &g_pg.db, &e)) {
        fprintf(stderr, "# cannot open the test database %s: %s\n", g_pg.url, e.msg);
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
    tzset();
    /* failures the tests provoke on purpose would otherwise be logged as errors */
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    if (password_init())
        return -1;
    snprintf(g_lite_path, sizeof(g_lite_path), "/tmp/billd_test_db_%ld.db", (long)getpid());
    testdb_lite_remove(g_lite_path);
    snprintf(g_lite.url, sizeof(g_lite.url), "sqlite://%s", g_lite_path);
    if (db_open(g_lite.url, &g_lite.db, &e)) {
        fprintf(stderr, "# cannot open %s: %s\n", g_lite.url, e.msg);
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
    g_lite.db = NULL;
    testdb_lite_remove(g_lite_path);
    db_close(g_pg.db);
    g_pg.db = NULL;
    if (g_pg_admin) {
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_pg_dbname);
        if (db_exec_script(g_pg_admin, sql, &e))
            fprintf(stderr, "# %s failed: %s\n", sql, e.msg);
        db_close(g_pg_admin);
        g_pg_admin = NULL;
    }
    return 0;
}

/* Per-case setup: the schema is in place (a no-op after the migration case). */
static int migrated(void **state)
{
    struct err e = { 0 };
    struct backend *b = *state;
    if (!b->db || migrate_run(b->db, NULL, &e)) {
        fprintf(stderr, "# %s: not migrated: %s\n", b->name, e.msg);
        return -1;
    }
    return 0;
}

/* ---- migrations ---- */

static void test_migrate(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    int64_t cur = -1;
    int applied = -1;
    assert_true(migrations_count > 0);
    assert_int_equal(migrate_latest(), migrations[migrations_count - 1].version);
    OK(migrate_run(db, &applied, &e));
    assert_int_equal(applied, (int)migrations_count);
    OK(migrate_current(db, &cur, &e));
    assert_int_equal(cur, migrate_latest());
    assert_int_equal(q_int(db, "SELECT count(*) FROM schema_version", NULL, 0),
                     (int64_t)migrations_count);
    /* the schema and its seed rows are there */
    assert_int_equal(q_int(db, "SELECT count(*) FROM users", NULL, 0), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM ledger", NULL, 0), 0);
    assert_true(q_int(db, "SELECT count(*) FROM config", NULL, 0) > 0);
    /* a second run applies nothing and changes nothing */
    applied = -1;
    OK(migrate_run(db, &applied, &e));
    assert_int_equal(applied, 0);
    OK(migrate_current(db, &cur, &e));
    assert_int_equal(cur, migrate_latest());
    assert_int_equal(q_int(db, "SELECT count(*) FROM schema_version", NULL, 0),
                     (int64_t)migrations_count);
    assert_false(db_in_tx(db));
}

static void test_migrate_newer_database(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    int applied = -1;
    struct db_value p[] = { DB_INT(migrate_latest() + 1), DB_INT(time_now()) };
    OK(db_exec(db, "INSERT INTO schema_version (version, name, applied) VALUES ($1, 'future', $2)",
               p, 2, NULL, &e));
    FAILS(ERR_INVALID, migrate_run(db, &applied, &e));
    assert_non_null(strstr(e.msg, "newer"));
    assert_int_equal(applied, 0);
    OK(db_exec(db, "DELETE FROM schema_version WHERE version = $1", p, 1, NULL, &e));
    OK(migrate_run(db, &applied, &e));
    assert_int_equal(applied, 0);
}

/* ---- the DB API ---- */

static void test_placeholders(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    struct db_result *r = NULL;
    struct db_value ab[] = { DB_TEXT("a"), DB_TEXT("b") };
    OK(db_query(db, "SELECT $2 || '-' || $1", ab, 2, &r, &e));
    assert_int_equal(db_result_rows(r), 1);
    assert_int_equal(db_result_cols(r), 1);
    assert_string_equal(db_result_text(r, 0, 0), "b-a");
    db_result_free(r);
    /* a placeholder used twice, numbers above 9 */
    OK(db_query(db, "SELECT $1 || '/' || $1 || '/' || $2", ab, 2, &r, &e));
    assert_string_equal(db_result_text(r, 0, 0), "a/a/b");
    db_result_free(r);
    struct db_value many[12];
    for (int i = 0; i < 12; i++)
        many[i] = DB_INT(i + 1);
    assert_int_equal(q_int(db,
                           "SELECT CAST($12 AS BIGINT) * 100 + CAST($10 AS BIGINT) * 10 +"
                           " CAST($1 AS BIGINT) + 0 * (CAST($2 AS BIGINT) + CAST($3 AS BIGINT)"
                           " + CAST($4 AS BIGINT) + CAST($5 AS BIGINT) + CAST($6 AS BIGINT)"
                           " + CAST($7 AS BIGINT) + CAST($8 AS BIGINT) + CAST($9 AS BIGINT)"
                           " + CAST($11 AS BIGINT))",
                           many, 12),
                     1301);
    /* values are never spliced into the text */
    struct db_value evil[] = { DB_TEXT("x' OR '1'='1") };
    assert_int_equal(q_int(db, "SELECT count(*) FROM schema_version WHERE name = $1", evil, 1),
                     0);
}

static void test_types_roundtrip(void **state)
{
    static const char bin[] = { 'a', '\0', 'b', '\0', '\xff', '\x01', '\0' };
    static const char *text = "привет, 'мир'; DROP TABLE t_types; --\t\"q\"\n";
    struct err e = { 0 };
    struct db *db = db_of(state);
    struct db_result *r = NULL;
    char all_bytes[256];
    for (int i = 0; i < 256; i++)
        all_bytes[i] = (char)i;
    exec_sql(db, db_engine_of(db) == DB_PG
                     ? "CREATE TABLE t_types (id INTEGER PRIMARY KEY, i BIGINT, s TEXT, b BYTEA)"
                     : "CREATE TABLE t_types (id INTEGER PRIMARY KEY, i INTEGER, s TEXT, b BLOB)");
    const char *ins = "INSERT INTO t_types (id, i, s, b) VALUES ($1, $2, $3, $4)";
    struct db_value r1[] = { DB_INT(1), DB_NULL, DB_TEXT(NULL), DB_NULL };
    struct db_value r2[] = { DB_INT(2), DB_INT(INT64_MAX), DB_TEXT(text),
                             DB_BLOB(bin, sizeof(bin)) };
    struct db_value r3[] = { DB_INT(3), DB_INT(INT64_MIN), DB_TEXT(""), DB_BLOB("", 0) };
    struct db_value r4[] = { DB_INT(4), DB_INT(0), DB_TEXT("x"), DB_BLOB(all_bytes, 256) };
    int64_t changed = -1;
    OK(db_exec(db, ins, r1, 4, &changed, &e));
    assert_int_equal(changed, 1);
    OK(db_exec(db, ins, r2, 4, NULL, &e));
    OK(db_exec(db, ins, r3, 4, NULL, &e));
    OK(db_exec(db, ins, r4, 4, NULL, &e));

    OK(db_query(db, "SELECT id, i, s, b FROM t_types ORDER BY id", NULL, 0, &r, &e));
    assert_int_equal(db_result_rows(r), 4);
    assert_int_equal(db_result_cols(r), 4);
    assert_string_equal(db_result_colname(r, 0), "id");
    assert_string_equal(db_result_colname(r, 3), "b");
    assert_null(db_result_colname(r, 4));
    assert_int_equal(db_result_colidx(r, "s"), 2);
    assert_int_equal(db_result_colidx(r, "nope"), -1);
    /* row 1: NULLs */
    assert_true(db_result_is_null(r, 0, 1));
    assert_true(db_result_is_null(r, 0, 2));
    assert_true(db_result_is_null(r, 0, 3));
    assert_null(db_result_text(r, 0, 2));
    assert_int_equal(db_result_len(r, 0, 3), 0);
    assert_int_equal(db_result_int(r, 0, 1), 0);
    assert_false(db_result_is_null(r, 0, 0));
    /* row 2: extremes, awkward text, a blob with NUL bytes */
    assert_true(db_result_int(r, 1, 1) == INT64_MAX);
    assert_string_equal(db_result_text(r, 1, 1), "9223372036854775807");
    assert_string_equal(db_result_text(r, 1, 2), text);
    assert_string_equal(db_result_get(r, 1, "s"), text);
    assert_int_equal(db_result_len(r, 1, 3), sizeof(bin));
    assert_memory_equal(db_result_text(r, 1, 3), bin, sizeof(bin));
    /* row 3: INT64_MIN, empty text and empty blob are not NULL */
    assert_true(db_result_get_int(r, 2, "i") == INT64_MIN);
    assert_false(db_result_is_null(r, 2, 2));
    assert_string_equal(db_result_text(r, 2, 2), "");
    assert_false(db_result_is_null(r, 2, 3));
    assert_int_equal(db_result_len(r, 2, 3), 0);
    /* row 4: every byte value */
    assert_int_equal(db_result_len(r, 3, 3), 256);
    assert_memory_equal(db_result_text(r, 3, 3), all_bytes, 256);
    /* out of range cells read as NULL */
    assert_true(db_result_is_null(r, 4, 0));
    assert_null(db_result_text(r, 0, 4));
    assert_null(db_result_get(r, 0, "nope"));
    assert_int_equal(db_result_get_int(r, 0, "nope"), 0);
    db_result_free(r);

    /* a blob parameter compares equal to the stored blob */
    struct db_value pb[] = { DB_BLOB(bin, sizeof(bin)) };
    assert_int_equal(q_int(db, "SELECT id FROM t_types WHERE b = $1", pb, 1), 2);
    /* changed counts for UPDATE and DELETE */
    OK(db_exec(db, "UPDATE t_types SET s = 'y' WHERE id > 1", NULL, 0, &changed, &e));
    assert_int_equal(changed, 3);
    OK(db_query(db, "DELETE FROM t_types WHERE id >= 3", NULL, 0, &r, &e));
    assert_int_equal(db_result_changed(r), 2);
    assert_int_equal(db_result_rows(r), 0);
    db_result_free(r);
    exec_sql(db, "DROP TABLE t_types");
}

static void test_constraints(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    exec_sql(db, "CREATE TABLE t_uniq (k TEXT UNIQUE, v INTEGER NOT NULL)");
    struct db_value a1[] = { DB_TEXT("a"), DB_INT(1) };
    struct db_value a2[] = { DB_TEXT("a"), DB_INT(2) };
    struct db_value bnull[] = { DB_TEXT("b"), DB_NULL };
    const char *ins = "INSERT INTO t_uniq (k, v) VALUES ($1, $2)";
    OK(db_exec(db, ins, a1, 2, NULL, &e));
    FAILS(ERR_CONFLICT, db_exec(db, ins, a2, 2, NULL, &e));
    assert_int_equal(e.code, ERR_CONFLICT);
    FAILS(ERR_INVALID, db_exec(db, ins, bnull, 2, NULL, &e));
    assert_int_equal(q_int(db, "SELECT count(*) FROM t_uniq", NULL, 0), 1);
    assert_int_equal(q_int(db, "SELECT v FROM t_uniq WHERE k = 'a'", NULL, 0), 1);
    /* the same statement still works after the failures (statement cache reset) */
    struct db_value c3[] = { DB_TEXT("c"), DB_INT(3) };
    OK(db_exec(db, ins, c3, 2, NULL, &e));
    assert_int_equal(q_int(db, "SELECT count(*) FROM t_uniq", NULL, 0), 2);
    exec_sql(db, "DROP TABLE t_uniq");
    /* the users table: unique login */
    struct db_value u[] = { DB_TEXT("uniq-user"), DB_INT(0) };
    OK(db_exec(db, "INSERT INTO users (login, created) VALUES ($1, $2)", u, 2, NULL, &e));
    FAILS(ERR_CONFLICT,
          db_exec(db, "INSERT INTO users (login, created) VALUES ($1, $2)", u, 2, NULL, &e));
    OK(db_exec(db, "DELETE FROM users WHERE login = $1", u, 1, NULL, &e));
}

static void test_transactions(void **state)
{
    struct err e = { 0 };
    struct backend *b = *state;
    struct db *db = b->db, *other = NULL;
    exec_sql(db, "CREATE TABLE t_tx (k INTEGER NOT NULL)");
    OK(db_open(b->url, &other, &e));
    const char *count = "SELECT count(*) FROM t_tx";
    struct db_value one[] = { DB_INT(1) }, two[] = { DB_INT(2) };

    assert_false(db_in_tx(db));
    OK(db_begin(db, true, &e));
    assert_true(db_in_tx(db));
    OK(db_exec(db, "INSERT INTO t_tx (k) VALUES ($1)", one, 1, NULL, &e));
    assert_int_equal(q_int(db, count, NULL, 0), 1);
    assert_int_equal(q_int(other, count, NULL, 0), 0); /* not visible before commit */
    db_rollback(db);
    assert_false(db_in_tx(db));
    assert_int_equal(q_int(db, count, NULL, 0), 0);
    db_rollback(db); /* no transaction: a no-op */

    OK(db_begin(db, false, &e));
    OK(db_exec(db, "INSERT INTO t_tx (k) VALUES ($1)", two, 1, NULL, &e));
    OK(db_commit(db, &e));
    assert_false(db_in_tx(db));
    assert_int_equal(q_int(db, count, NULL, 0), 1);
    assert_int_equal(q_int(other, count, NULL, 0), 1);
    assert_int_equal(q_int(other, "SELECT k FROM t_tx", NULL, 0), 2);

    /* a failed statement inside a transaction; rollback leaves a usable connection */
    struct db_value bad[] = { DB_NULL };
    OK(db_begin(db, true, &e));
    OK(db_exec(db, "INSERT INTO t_tx (k) VALUES ($1)", one, 1, NULL, &e));
    FAILS(ERR_INVALID, db_exec(db, "INSERT INTO t_tx (k) VALUES ($1)", bad, 1, NULL, &e));
    db_rollback(db);
    assert_int_equal(q_int(db, count, NULL, 0), 1);

    /* closing a connection with an open transaction discards it */
    OK(db_begin(other, true, &e));
    OK(db_exec(other, "INSERT INTO t_tx (k) VALUES ($1)", one, 1, NULL, &e));
    db_close(other);
    assert_int_equal(q_int(db, count, NULL, 0), 1);
    OK(db_ping(db, &e));
    exec_sql(db, "DROP TABLE t_tx");
}

static void test_query_int(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    int64_t v = 77;
    assert_int_equal(q_int(db, "SELECT 42", NULL, 0), 42);
    assert_int_equal(q_int(db, "SELECT -9223372036854775807 - 1", NULL, 0), INT64_MIN);
    assert_int_equal(q_int(db, "SELECT count(*) FROM users WHERE user_id = -1", NULL, 0), 0);
    FAILS(ERR_NOT_FOUND, db_query_int(db, "SELECT 1 WHERE 1 = 0", NULL, 0, &v, &e));
    assert_int_equal(e.code, ERR_NOT_FOUND);
    FAILS(ERR_NOT_FOUND, db_query_int(db, "SELECT NULL", NULL, 0, &v, &e));
    FAILS(ERR_NOT_FOUND, db_query_int(db, "SELECT user_id FROM users WHERE login = 'nobody'", NULL,
                                      0, &v, &e));
    assert_int_equal(v, 77);
    /* a broken statement is an internal error, not "no row" */
    FAILS(ERR_INTERNAL, db_query_int(db, "SELEC 1", NULL, 0, &v, &e));
    FAILS(ERR_INTERNAL, db_query_int(db, "SELECT no_such_column FROM users", NULL, 0, &v, &e));
    assert_int_equal(v, 77);
}

/* db_insert returns the generated key of each row (SQLite: last rowid; PostgreSQL: RETURNING). */
static void test_insert_id(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    const char *sql = "INSERT INTO spool (user_id, event, created) VALUES ($1, $2, $3)";
    int64_t a = 0, b = 0, bad = -5;
    struct db_value p[] = { DB_INT(1), DB_TEXT("{\"name\":\"T\"}"), DB_INT(0) };
    OK(db_insert(db, sql, "id", p, 3, &a, &e));
    OK(db_insert(db, sql, "id", p, 3, &b, &e));
    assert_true(a > 0);
    assert_int_equal(b, a + 1);
    assert_int_equal(q_int(db, "SELECT max(id) FROM spool", NULL, 0), b);
    struct db_value k[] = { DB_INT(a) };
    assert_int_equal(q_int(db, "SELECT count(*) FROM spool WHERE id = $1 AND event IS NOT NULL",
                           k, 1), 1);
    /* a failing insert (NOT NULL) is an error and leaves *id alone */
    struct db_value nul[] = { DB_INT(1), DB_NULL, DB_INT(0) };
    FAILS(ERR_INVALID, db_insert(db, sql, "id", nul, 3, &bad, &e));
    assert_int_equal(bad, -5);
    OK(db_exec(db, "DELETE FROM spool WHERE id >= $1", k, 1, NULL, &e));
}

/*
 * Repeated statements are cached per connection (SQLite: prepared statements; PostgreSQL:
 * prepared from the second run on): results stay right across many runs, more distinct
 * texts than the cache holds, a failing text, an aborted transaction and a schema change.
 */
static void test_statement_cache(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    char sql[96];
    int64_t v = 0;
    exec_sql(db, "CREATE TABLE t_sc (k INTEGER NOT NULL, v TEXT)");
    for (int i = 0; i < 5; i++) {
        struct db_value p[] = { DB_INT(i), DB_TEXT("x") };
        OK(db_exec(db, "INSERT INTO t_sc (k, v) VALUES ($1, $2)", p, 2, NULL, &e));
        struct db_value k[] = { DB_INT(i) };
        assert_int_equal(q_int(db, "SELECT count(*) FROM t_sc WHERE k <= $1", k, 1), i + 1);
    }
    for (int i = 0; i < 3 * 64; i++) { /* more texts than slots: each one twice */
        snprintf(sql, sizeof(sql), "SELECT %d + count(*) FROM t_sc WHERE k >= $1", i);
        struct db_value k[] = { DB_INT(3) };
        assert_int_equal(q_int(db, sql, k, 1), i + 2);
        assert_int_equal(q_int(db, sql, k, 1), i + 2);
    }
    if (db_engine_of(db) == DB_PG) { /* repeated texts are prepared, at most one per slot */
        int64_t n = q_int(db, "SELECT count(*) FROM pg_prepared_statements", NULL, 0);
        assert_true(n > 32 && n <= 64);
    }
    struct db_value k0[] = { DB_INT(0) };
    assert_int_equal(q_int(db, "SELECT count(*) FROM t_sc WHERE k <= $1", k0, 1), 1);
    for (int i = 0; i < 3; i++) /* a broken text fails every time, preparing or not */
        FAILS(ERR_INTERNAL, db_query_int(db, "SELECT nope FROM t_sc", NULL, 0, &v, &e));
    /* a failure inside a transaction, then the cached statements work after the rollback */
    OK(db_begin(db, true, &e));
    FAILS(ERR_INTERNAL, db_query_int(db, "SELECT nope FROM t_sc", NULL, 0, &v, &e));
    db_rollback(db);
    assert_int_equal(q_int(db, "SELECT count(*) FROM t_sc WHERE k <= $1", k0, 1), 1);
    /* a schema change through a script: SELECT * answers with the new column */
    struct db_result *r = NULL;
    for (int i = 0; i < 2; i++) {
        OK(db_query(db, "SELECT * FROM t_sc WHERE k = 0", NULL, 0, &r, &e));
        assert_int_equal(db_result_cols(r), 2);
        db_result_free(r);
    }
    exec_sql(db, "ALTER TABLE t_sc ADD COLUMN w INTEGER");
    OK(db_query(db, "SELECT * FROM t_sc WHERE k = 0", NULL, 0, &r, &e));
    assert_int_equal(db_result_cols(r), 3);
    db_result_free(r);
    /* a renamed column: same count, the new name (SQLite keeps names per statement) */
    exec_sql(db, "ALTER TABLE t_sc RENAME COLUMN v TO vv");
    OK(db_query(db, "SELECT * FROM t_sc WHERE k = 0", NULL, 0, &r, &e));
    assert_string_equal(db_result_colname(r, 1), "vv");
    /* a result outlives its statement's eviction from the cache */
    for (int i = 0; i < 2 * 64; i++) {
        snprintf(sql, sizeof(sql), "SELECT %d AS n%d", i, i);
        assert_int_equal(q_int(db, sql, NULL, 0), i);
    }
    assert_string_equal(db_result_colname(r, 0), "k");
    assert_string_equal(db_result_get(r, 0, "vv"), "x");
    db_result_free(r);
    exec_sql(db, "DROP TABLE t_sc");
}

/* One writer of test_concurrent_writers: n write transactions, every fifth rolled back. */
struct writer_job {
    const char *url;
    int n, failures;
};

static void *writer_main(void *arg)
{
    struct writer_job *j = arg;
    struct err e = { 0 };
    struct db *db = NULL;
    if (db_open(j->url, &db, &e)) {
        j->failures = j->n;
        return NULL;
    }
    for (int i = 0; i < j->n; i++) {
        struct db_value one[] = { DB_INT(1) };
        if (db_begin(db, true, &e) ||
            db_exec(db, "UPDATE t_cw SET n = n + $1", one, 1, NULL, &e)) {
            j->failures++;
            db_rollback(db);
            continue;
        }
        usleep(200); /* hold the write lock a little, as a request does */
        if (i % 5 == 4)
            db_rollback(db);
        else if (db_commit(db, &e))
            j->failures++;
    }
    db_close(db);
    return NULL;
}

/*
 * Write transactions of several connections in one process all get through, and a
 * rollback hands the writer turn on as a commit does (SQLite: the in-process writer queue).
 */
static void test_concurrent_writers(void **state)
{
    struct backend *b = *state;
    enum { THREADS = 4, EACH = 40 };
    exec_sql(b->db, "CREATE TABLE t_cw (n INTEGER NOT NULL)");
    exec_sql(b->db, "INSERT INTO t_cw (n) VALUES (0)");
    pthread_t th[THREADS];
    struct writer_job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (struct writer_job){ .url = b->url, .n = EACH };
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].failures, 0);
    }
    assert_int_equal(q_int(b->db, "SELECT n FROM t_cw", NULL, 0), THREADS * EACH * 4 / 5);
    exec_sql(b->db, "DROP TABLE t_cw");
}

/* ---- users ---- */

static void test_bootstrap_admin(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    char generated[21];
    bool created = false;
    struct user_auth a = { 0 };
    exec_sql(db, "DELETE FROM sessions; DELETE FROM ledger; DELETE FROM users");

    memset(generated, 0, sizeof(generated));
    OK(user_bootstrap_admin(db, NULL, generated, sizeof(generated), &created, &e));
    assert_true(created);
    assert_int_equal(strlen(generated), 20);
    OK(user_find_by_id(db, 1, &a, &e));
    assert_int_equal(a.user_id, 1);
    assert_true(a.admin);
    assert_false(a.blocked);
    assert_non_null(a.password);
    assert_true(password_verify(a.password, generated));
    char *hash = xstrdup(a.password);
    user_auth_free(&a);
    char *login = q_text1(db, "SELECT login FROM users WHERE user_id = $1", 1);
    assert_string_equal(login, "admin");
    free(login);

    /* once only: a second call changes nothing */
    created = true;
    OK(user_bootstrap_admin(db, "another-password", NULL, 0, &created, &e));
    assert_false(created);
    assert_int_equal(q_int(db, "SELECT count(*) FROM users", NULL, 0), 1);
    char *hash2 = q_text1(db, "SELECT password FROM users WHERE user_id = $1", 1);
    assert_string_equal(hash2, hash);
    free(hash);
    free(hash2);

    /* the key sequence continues after the explicit id 1 */
    int64_t id = mkuser(db, "after-admin");
    assert_int_equal(id, 2);
    assert_int_equal(q_int1(db, "DELETE FROM users WHERE user_id = $1 RETURNING user_id", id), 2);
}

static void test_user_create(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    struct user_auth a = { 0 };
    int64_t id = 0, id2 = 0;
    OK(user_create(db, "Alice.Smith@Example.com", "alice-password", 8, NULL, &id, &e));
    assert_true(id > 1);
    char *login = q_text1(db, "SELECT login FROM users WHERE user_id = $1", id);
    assert_string_equal(login, "alice.smith@example.com");
    free(login);
    assert_true(q_int1(db, "SELECT created FROM users WHERE user_id = $1", id) >
                time_now() - 60);
    OK(user_find_by_login(db, "ALICE.smith@example.COM", &a, &e));
    assert_int_equal(a.user_id, id);
    assert_false(a.admin);
    assert_false(a.blocked);
    assert_true(password_verify(a.password, "alice-password"));
    user_auth_free(&a);
    assert_null(a.password);

    int64_t before = q_int(db, "SELECT count(*) FROM users", NULL, 0);
    /* duplicates, in any case, also of another user's login2 */
    FAILS(ERR_CONFLICT, user_create(db, "alice.smith@EXAMPLE.com", "whatever-pw", 8, NULL,
                                    &id2, &e));
    assert_int_equal(e.status, 409);
    assert_non_null(strstr(e.msg, "Login already in use"));
    OK(db_exec(db, "UPDATE users SET login2 = 'alias' WHERE user_id = $1",
               (struct db_value[]){ DB_INT(id) }, 1, NULL, &e));
    FAILS(ERR_CONFLICT, user_create(db, "Alias", "whatever-pw", 8, NULL, &id2, &e));
    OK(user_find_by_login(db, "ALIAS", &a, &e));
    assert_int_equal(a.user_id, id);
    user_auth_free(&a);
    FAILS(ERR_NOT_FOUND, user_find_by_login(db, "nobody", &a, &e));
    /* bad logins and passwords */
    FAILS(ERR_INVALID, user_create(db, "bad login", "whatever-pw", 8, NULL, &id2, &e));
    FAILS(ERR_INVALID, user_create(db, "", "whatever-pw", 8, NULL, &id2, &e));
    FAILS(ERR_INVALID, user_create(db, "кириллица", "whatever-pw", 8, NULL, &id2, &e));
    FAILS(ERR_INVALID, user_create(db, "semi;colon", "whatever-pw", 8, NULL, &id2, &e));
    char longlogin[130];
    memset(longlogin, 'a', 129);
    longlogin[129] = '\0';
    FAILS(ERR_INVALID, user_create(db, longlogin, "whatever-pw", 8, NULL, &id2, &e));
    FAILS(ERR_INVALID, user_create(db, "shortpw", "short", 8, NULL, &id2, &e));
    assert_non_null(strstr(e.msg, "8"));
    FAILS(ERR_INVALID, user_create(db, "shortpw", "", 1, NULL, &id2, &e));
    char *longpw = xmalloc(PASSWORD_MAX_LENGTH + 2);
    memset(longpw, 'p', PASSWORD_MAX_LENGTH + 1);
    longpw[PASSWORD_MAX_LENGTH + 1] = '\0';
    FAILS(ERR_INVALID, user_create(db, "longpw", longpw, 8, NULL, &id2, &e));
    free(longpw);
    assert_int_equal(q_int(db, "SELECT count(*) FROM users", NULL, 0), before);

    /* admin creation with further fields: unknown keys, password and balance are ignored */
    json_t *fields = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "full_name", "Carol C", "credit",
                               "10.50", "balance", 100, "password", "sneaky", "login",
                               "other-login", "no_such_column", "x");
    OK(user_create(db, "carol", "carol-password", 8, fields, &id2, &e));
    json_decref(fields);
    char *name = q_text1(db, "SELECT full_name FROM users WHERE user_id = $1", id2);
    assert_string_equal(name, "Carol C");
    free(name);
    login = q_text1(db, "SELECT login FROM users WHERE user_id = $1", id2);
    assert_string_equal(login, "carol");
    free(login);
    assert_int_equal(q_int1(db, "SELECT credit FROM users WHERE user_id = $1", id2), 1050);
    assert_int_equal(q_int1(db, "SELECT balance FROM users WHERE user_id = $1", id2), 0);
    char *pw = q_text1(db, "SELECT password FROM users WHERE user_id = $1", id2);
    assert_true(strncmp(pw, "$argon2id$", 10) == 0);
    free(pw);
    assert_int_equal(ledger_mismatches(db), 0);

    /* an invalid field value inserts nothing */
    before = q_int(db, "SELECT count(*) FROM users", NULL, 0);
    fields = json_pack("{s:s}", "credit", "lots");
    FAILS(ERR_INVALID, user_create(db, "dave", "dave-password", 8, fields, &id2, &e));
    json_decref(fields);
    assert_int_equal(q_int(db, "SELECT count(*) FROM users", NULL, 0), before);
}

/* Reads column col of user id as an integer. */
static int64_t ucol(struct db *db, const char *col, int64_t id)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT %s FROM users WHERE user_id = $1", col);
    return q_int1(db, sql, id);
}

static char *ucol_text(struct db *db, const char *col, int64_t id)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT %s FROM users WHERE user_id = $1", col);
    return q_text1(db, sql, id);
}

static void test_user_update_fields(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    int64_t bob = mkuser(db, "bob");
    char *s;

    /* a non-admin changes only full_name and phone */
    json_t *args = json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:i, s:s, s:i}", "full_name",
                             "Bob B", "phone", "+7 900 000-00-00", "credit", 100, "gid", 1,
                             "balance", 500, "login", "hacker", "block", 1, "comment", "x",
                             "bonus", 7);
    OK(user_update(db, bob, args, false, &e));
    json_decref(args);
    s = ucol_text(db, "full_name", bob);
    assert_string_equal(s, "Bob B");
    free(s);
    s = ucol_text(db, "phone", bob);
    assert_string_equal(s, "+7 900 000-00-00");
    free(s);
    s = ucol_text(db, "login", bob);
    assert_string_equal(s, "bob");
    free(s);
    s = ucol_text(db, "comment", bob);
    assert_null(s);
    assert_int_equal(ucol(db, "credit", bob), 0);
    assert_int_equal(ucol(db, "gid", bob), 0);
    assert_int_equal(ucol(db, "balance", bob), 0);
    assert_int_equal(ucol(db, "bonus", bob), 0);
    assert_int_equal(ucol(db, "block", bob), 0);
    assert_int_equal(q_int1(db, "SELECT count(*) FROM ledger WHERE user_id = $1", bob), 0);

    /* only forbidden fields: nothing to do, not an error */
    args = json_pack("{s:i}", "credit", 5);
    OK(user_update(db, bob, args, false, &e));
    json_decref(args);
    assert_int_equal(ucol(db, "credit", bob), 0);

    /* an admin changes credit and hidden fields */
    args = json_pack("{s:s, s:s, s:n}", "credit", "25.50", "comment", "vip", "phone");
    OK(user_update(db, bob, args, true, &e));
    json_decref(args);
    assert_int_equal(ucol(db, "credit", bob), 2550);
    s = ucol_text(db, "comment", bob);
    assert_string_equal(s, "vip");
    free(s);
    s = ucol_text(db, "phone", bob);
    assert_null(s);

    /* login: lower-cased, validated, unique */
    mkuser(db, "dora");
    args = json_pack("{s:s}", "login", "Bob2");
    OK(user_update(db, bob, args, true, &e));
    json_decref(args);
    s = ucol_text(db, "login", bob);
    assert_string_equal(s, "bob2");
    free(s);
    args = json_pack("{s:s}", "login", "DORA");
    FAILS(ERR_CONFLICT, user_update(db, bob, args, true, &e));
    json_decref(args);
    assert_int_equal(e.status, 409);
    args = json_pack("{s:s}", "login", "bad login");
    FAILS(ERR_INVALID, user_update(db, bob, args, true, &e));
    json_decref(args);
    args = json_pack("{s:i}", "login", 5);
    FAILS(ERR_INVALID, user_update(db, bob, args, true, &e));
    json_decref(args);
    args = json_pack("{s:s}", "credit", "abc");
    FAILS(ERR_INVALID, user_update(db, bob, args, true, &e));
    json_decref(args);
    s = ucol_text(db, "login", bob);
    assert_string_equal(s, "bob2");
    free(s);
    assert_int_equal(ucol(db, "credit", bob), 2550);

    /* unknown users */
    args = json_pack("{s:s}", "full_name", "x");
    FAILS(ERR_NOT_FOUND, user_update(db, 999999, args, true, &e));
    FAILS(ERR_NOT_FOUND, user_update(db, 999999, args, false, &e));
    json_decref(args);
}

static void test_user_update_balance_ledger(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    int64_t u = mkuser(db, "ledgered");
    const char *sum = "SELECT COALESCE(sum(money), 0) FROM ledger WHERE user_id = $1";
    json_t *args;

    assert_int_equal(ledger_mismatches(db), 0);
    OK(db_begin(db, true, &e));
    args = json_pack("{s:f}", "balance", 100.1);
    OK(user_update(db, u, args, true, &e));
    json_decref(args);
    OK(db_commit(db, &e));
    assert_int_equal(ucol(db, "balance", u), 10010);
    assert_int_equal(q_int1(db, "SELECT count(*) FROM ledger WHERE user_id = $1", u), 1);
    assert_int_equal(q_int1(db, sum, u), 10010);
    char *kind = q_text1(db, "SELECT kind FROM ledger WHERE user_id = $1", u);
    assert_string_equal(kind, "admin");
    free(kind);
    assert_int_equal(ledger_mismatches(db), 0);

    /* absolute values: the ledger row holds the difference */
    OK(db_begin(db, true, &e));
    args = json_pack("{s:i, s:s}", "balance", 50, "bonus", "3");
    OK(user_update(db, u, args, true, &e));
    json_decref(args);
    OK(db_commit(db, &e));
    assert_int_equal(ucol(db, "balance", u), 5000);
    assert_int_equal(ucol(db, "bonus", u), 300);
    assert_int_equal(q_int1(db, "SELECT count(*) FROM ledger WHERE user_id = $1", u), 2);
    assert_int_equal(q_int1(db, "SELECT money FROM ledger WHERE user_id = $1 AND bonus = 300", u),
                     5000 - 10010);
    assert_int_equal(ledger_mismatches(db), 0);

    /* setting the same value again writes no ledger row */
    args = json_pack("{s:s}", "balance", "50.00");
    OK(user_update(db, u, args, true, &e));
    json_decref(args);
    assert_int_equal(q_int1(db, "SELECT count(*) FROM ledger WHERE user_id = $1", u), 2);

    /* an amount that is not money changes nothing */
    args = json_pack("{s:s}", "balance", "1.999");
    FAILS(ERR_INVALID, user_update(db, u, args, true, &e));
    json_decref(args);
    assert_int_equal(ucol(db, "balance", u), 5000);

    /* a change behind the ledger's back is found */
    struct db_value p[] = { DB_INT(u) };
    OK(db_exec(db, "UPDATE users SET balance = balance + 1 WHERE user_id = $1", p, 1, NULL, &e));
    assert_int_equal(ledger_mismatches(db), 1);
    OK(db_exec(db, "UPDATE users SET bonus = bonus + 1 WHERE user_id = $1", p, 1, NULL, &e));
    assert_int_equal(ledger_mismatches(db), 1); /* one user, however many differences */
    OK(db_exec(db, "UPDATE users SET balance = balance - 1, bonus = bonus - 1 WHERE user_id = $1",
               p, 1, NULL, &e));
    assert_int_equal(ledger_mismatches(db), 0);
}

static void test_ledger_adjust(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    int64_t u = mkuser(db, "payer");
    OK(db_begin(db, true, &e));
    OK(ledger_adjust(db, u, 12345, 0, "payment", "pays_history", 77, "test payment", &e));
    OK(ledger_adjust(db, u, -345, 10, "withdraw", NULL, 99, NULL, &e));
    OK(ledger_adjust(db, u, 0, 0, "nothing", NULL, 0, NULL, &e)); /* no row */
    FAILS(ERR_NOT_FOUND, ledger_adjust(db, 999999, 100, 0, "payment", NULL, 0, NULL, &e));
    assert_int_equal(e.status, 404);
    OK(db_commit(db, &e));
    assert_int_equal(ucol(db, "balance", u), 12000);
    assert_int_equal(ucol(db, "bonus", u), 10);
    assert_int_equal(q_int1(db, "SELECT count(*) FROM ledger WHERE user_id = $1", u), 2);
    assert_int_equal(q_int1(db, "SELECT ref_id FROM ledger WHERE user_id = $1 AND kind = 'payment'",
                            u),
                     77);
    char *ref =
        q_text1(db, "SELECT ref_id FROM ledger WHERE user_id = $1 AND kind = 'withdraw'", u);
    assert_null(ref); /* no ref_table, no ref_id */
    assert_int_equal(q_int(db, "SELECT count(*) FROM ledger WHERE user_id = 999999", NULL, 0), 0);
    assert_int_equal(ledger_mismatches(db), 0);

    /* rolled back together with the balance */
    OK(db_begin(db, true, &e));
    OK(ledger_adjust(db, u, 1000, 0, "payment", NULL, 0, NULL, &e));
    db_rollback(db);
    assert_int_equal(ucol(db, "balance", u), 12000);
    assert_int_equal(q_int1(db, "SELECT count(*) FROM ledger WHERE user_id = $1", u), 2);
    assert_int_equal(ledger_mismatches(db), 0);
}

/* ---- sessions ---- */

static int sessions_of(struct db *db, int64_t user_id)
{
    return (int)q_int1(db, "SELECT count(*) FROM sessions WHERE user_id = $1", user_id);
}

static void test_sessions(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    char tok[SESSION_TOKEN_LEN + 1], tok2[SESSION_TOKEN_LEN + 1];
    int64_t u = mkuser(db, "frank"), uid = 0;

    OK(session_create(db, u, NULL, tok, &e));
    assert_true(token_ok(tok));
    assert_int_equal(sessions_of(db, u), 1);
    /* only the SHA-256 of the token is stored */
    struct db_value pt[] = { DB_TEXT(tok) };
    assert_int_equal(q_int(db, "SELECT count(*) FROM sessions WHERE id = $1", pt, 1), 0);
    char *id = q_text1(db, "SELECT id FROM sessions WHERE user_id = $1", u);
    assert_int_equal(strlen(id), 64);
    assert_int_equal(strspn(id, "0123456789abcdef"), 64);
    free(id);

    int64_t created = q_int1(db, "SELECT created FROM sessions WHERE user_id = $1", u);
    assert_true(created >= time_now() - 60 && created <= time_now());
    OK(session_lookup(db, tok, created + 10, &uid, &e));
    assert_int_equal(uid, u);
    /* used within SESSION_TOUCH_EVERY: updated is left alone */
    OK(session_lookup(db, tok, created + SESSION_TOUCH_EVERY, &uid, &e));
    assert_int_equal(q_int1(db, "SELECT updated FROM sessions WHERE user_id = $1", u), created);
    /* later: refreshed */
    int64_t t1 = created + 1000;
    OK(session_lookup(db, tok, t1, &uid, &e));
    assert_int_equal(q_int1(db, "SELECT updated FROM sessions WHERE user_id = $1", u), t1);
    /* idle longer than SESSION_IDLE_MAX: gone for lookups */
    uid = -5;
    FAILS(ERR_NOT_FOUND, session_lookup(db, tok, t1 + SESSION_IDLE_MAX + 1, &uid, &e));
    assert_int_equal(uid, -5);
    OK(session_lookup(db, tok, t1 + SESSION_IDLE_MAX, &uid, &e));
    assert_int_equal(uid, u);

    /* unknown and malformed tokens */
    char unknown[SESSION_TOKEN_LEN + 1];
    random_alnum(unknown, sizeof(unknown));
    FAILS(ERR_NOT_FOUND, session_lookup(db, unknown, t1, &uid, &e));
    assert_int_equal(e.code, ERR_NOT_FOUND);
    static const char *malformed[] = {
        "", "abc", "123456789012345", "tok-with-dash-but-long-enough-to-pass",
        "token with spaces in it 0123456789", "токентокентокентокен",
    };
    for (size_t i = 0; i < ARRAY_SIZE(malformed); i++)
        FAILS(ERR_NOT_FOUND, session_lookup(db, malformed[i], t1, &uid, &e));
    char altered[SESSION_TOKEN_LEN + 2];
    snprintf(altered, sizeof(altered), "%s", tok);
    altered[0] = altered[0] == 'a' ? 'b' : 'a';
    FAILS(ERR_NOT_FOUND, session_lookup(db, altered, t1, &uid, &e));
    snprintf(altered, sizeof(altered), "%s-", tok);
    FAILS(ERR_NOT_FOUND, session_lookup(db, altered, t1, &uid, &e));
    char longtok[200];
    memset(longtok, 'a', 199);
    longtok[199] = '\0';
    FAILS(ERR_NOT_FOUND, session_lookup(db, longtok, t1, &uid, &e));

    /* settings; tokens differ */
    OK(session_create(db, u, "{\"lang\":\"ru\"}", tok2, &e));
    assert_string_not_equal(tok, tok2);
    struct db_value pu[] = { DB_INT(u) };
    struct db_result *r = NULL;
    OK(db_query(db, "SELECT settings FROM sessions WHERE user_id = $1 AND settings IS NOT NULL",
                pu, 1, &r, &e));
    assert_int_equal(db_result_rows(r), 1);
    assert_non_null(strstr(db_result_text(r, 0, 0), "\"ru\""));
    db_result_free(r);
    assert_int_equal(sessions_of(db, u), 2);

    /* delete one, then the rest */
    OK(session_delete(db, tok, &e));
    FAILS(ERR_NOT_FOUND, session_lookup(db, tok, t1, &uid, &e));
    OK(session_lookup(db, tok2, time_now(), &uid, &e));
    assert_int_equal(uid, u);
    OK(session_delete(db, tok, &e)); /* absent: not an error */
    OK(session_delete(db, "garbage", &e));
    assert_int_equal(sessions_of(db, u), 1);
    OK(session_delete_user(db, u, &e));
    FAILS(ERR_NOT_FOUND, session_lookup(db, tok2, time_now(), &uid, &e));
    assert_int_equal(sessions_of(db, u), 0);

    /* a session needs an existing user */
    FAILS(ERR_INVALID, session_create(db, 999999, NULL, tok, &e));
}

static void test_set_password(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    char t1[SESSION_TOKEN_LEN + 1], t2[SESSION_TOKEN_LEN + 1], other[SESSION_TOKEN_LEN + 1];
    int64_t u = mkuser(db, "erin"), v = mkuser(db, "erins-neighbour"), uid = 0;
    struct user_auth a = { 0 };

    OK(session_create(db, u, NULL, t1, &e));
    OK(session_create(db, u, NULL, t2, &e));
    OK(session_create(db, v, NULL, other, &e));
    /* refused passwords change nothing */
    FAILS(ERR_INVALID, user_set_password(db, u, "short", 8, &e));
    assert_int_equal(sessions_of(db, u), 2);
    char *pw = ucol_text(db, "password", u);
    assert_null(pw);

    OK(user_set_password(db, u, "new-password-1", 8, &e));
    assert_int_equal(sessions_of(db, u), 0);
    FAILS(ERR_NOT_FOUND, session_lookup(db, t1, time_now(), &uid, &e));
    FAILS(ERR_NOT_FOUND, session_lookup(db, t2, time_now(), &uid, &e));
    /* other users keep their sessions */
    OK(session_lookup(db, other, time_now(), &uid, &e));
    assert_int_equal(uid, v);
    OK(user_find_by_id(db, u, &a, &e));
    assert_true(password_verify(a.password, "new-password-1"));
    assert_false(password_verify(a.password, "new-password-2"));
    user_auth_free(&a);

    FAILS(ERR_NOT_FOUND, user_set_password(db, 999999, "new-password-1", 8, &e));
}

static void test_user_block_drops_sessions(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    char tok[SESSION_TOKEN_LEN + 1];
    int64_t u = mkuser(db, "blocked-soon"), uid = 0;
    struct user_auth a = { 0 };
    OK(session_create(db, u, NULL, tok, &e));
    json_t *args = json_pack("{s:i}", "block", 0);
    OK(user_update(db, u, args, true, &e));
    json_decref(args);
    assert_int_equal(sessions_of(db, u), 1);
    args = json_pack("{s:i}", "block", 1);
    OK(user_update(db, u, args, true, &e));
    json_decref(args);
    assert_int_equal(sessions_of(db, u), 0);
    FAILS(ERR_NOT_FOUND, session_lookup(db, tok, time_now(), &uid, &e));
    OK(user_find_by_id(db, u, &a, &e));
    assert_true(a.blocked);
    user_auth_free(&a);
}

static void test_user_delete(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    struct user_auth a = { 0 };
    char tok[SESSION_TOKEN_LEN + 1];

    /* never the admin, not even by force */
    FAILS(ERR_INVALID, user_delete(db, 1, false, &e));
    FAILS(ERR_INVALID, user_delete(db, 1, true, &e));
    OK(user_find_by_id(db, 1, &a, &e));
    user_auth_free(&a);
    FAILS(ERR_NOT_FOUND, user_delete(db, 999999, true, &e));

    /* a balance blocks deletion unless forced */
    int64_t g = mkuser(db, "gina");
    OK(db_begin(db, true, &e));
    OK(ledger_adjust(db, g, 1000, 0, "payment", NULL, 0, NULL, &e));
    OK(db_commit(db, &e));
    OK(session_create(db, g, NULL, tok, &e));
    FAILS(ERR_INVALID, user_delete(db, g, false, &e));
    assert_non_null(strstr(e.msg, "balance"));
    OK(user_find_by_id(db, g, &a, &e));
    user_auth_free(&a);
    OK(user_delete(db, g, true, &e));
    FAILS(ERR_NOT_FOUND, user_find_by_id(db, g, &a, &e));
    /* the money history stays; the balance was written off through the ledger */
    assert_int_equal(q_int1(db, "SELECT count(*) FROM ledger WHERE user_id = $1", g), 2);
    assert_int_equal(q_int1(db, "SELECT sum(money) FROM ledger WHERE user_id = $1", g), 0);
    assert_int_equal(q_int1(db, "SELECT count(*) FROM ledger WHERE user_id = $1"
                                " AND kind = 'user_deleted'", g), 1);
    assert_int_equal(sessions_of(db, g), 0);
    assert_int_equal(ledger_mismatches(db), 0);

    /* so does a bonus */
    int64_t h = mkuser(db, "hank");
    OK(db_begin(db, true, &e));
    OK(ledger_adjust(db, h, 0, 500, "bonus", NULL, 0, NULL, &e));
    OK(db_commit(db, &e));
    FAILS(ERR_INVALID, user_delete(db, h, false, &e));
    OK(user_delete(db, h, true, &e));

    /* and a live service; removed services do not count */
    int64_t j = mkuser(db, "judy");
    struct db_value us[] = { DB_INT(j), DB_TEXT("ACTIVE") };
    const char *ins_us = "INSERT INTO user_services (user_id, service_id, created, status)"
                         " VALUES ($1, 1, 0, $2)";
    OK(db_exec(db, ins_us, us, 2, NULL, &e));
    FAILS(ERR_INVALID, user_delete(db, j, false, &e));
    assert_non_null(strstr(e.msg, "services"));
    OK(db_exec(db, "UPDATE user_services SET status = 'REMOVED' WHERE user_id = $1", us, 1, NULL,
               &e));
    OK(user_delete(db, j, false, &e));
    FAILS(ERR_NOT_FOUND, user_find_by_id(db, j, &a, &e));
    OK(db_exec(db, "DELETE FROM user_services WHERE user_id = $1", us, 1, NULL, &e));

    /* an empty account goes without force */
    int64_t i = mkuser(db, "ivan");
    OK(user_delete(db, i, false, &e));
    FAILS(ERR_NOT_FOUND, user_delete(db, i, false, &e));
    assert_int_equal(ledger_mismatches(db), 0);
}

/* ---- main ---- */

struct case_def {
    const char *name;
    CMUnitTestFunction fn;
    bool on_empty_db; /* runs before the schema exists */
};

static const struct case_def cases[] = {
    { "migrate", test_migrate, true },
    { "migrate_newer_database", test_migrate_newer_database, false },
    { "placeholders", test_placeholders, false },
    { "types_roundtrip", test_types_roundtrip, false },
    { "constraints", test_constraints, false },
    { "transactions", test_transactions, false },
    { "query_int", test_query_int, false },
    { "insert_id", test_insert_id, false },
    { "statement_cache", test_statement_cache, false },
    { "concurrent_writers", test_concurrent_writers, false },
    { "bootstrap_admin", test_bootstrap_admin, false },
    { "user_create", test_user_create, false },
    { "user_update_fields", test_user_update_fields, false },
    { "user_update_balance_ledger", test_user_update_balance_ledger, false },
    { "ledger_adjust", test_ledger_adjust, false },
    { "sessions", test_sessions, false },
    { "set_password", test_set_password, false },
    { "user_block_drops_sessions", test_user_block_drops_sessions, false },
    { "user_delete", test_user_delete, false },
};

#define NCASES ARRAY_SIZE(cases)

/*
 * The PostgreSQL cases are registered only when BILLD_TEST_PG_URL is set
 * (cmocka 1.1 prints skipped tests as failures for prove).
 */
int main(void)
{
    static struct CMUnitTest all[2 * NCASES];
    static char names[2 * NCASES][64];
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0;
    if (nb == 1)
        fprintf(stderr, "# test_db: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < NCASES; i++, n++) {
            snprintf(names[n], sizeof(names[n]), "%s_%s", backends[b]->name, cases[i].name);
            all[n] = (struct CMUnitTest){
                .name = names[n],
                .test_func = cases[i].fn,
                .setup_func = cases[i].on_empty_db ? NULL : migrated,
                .initial_state = backends[b],
            };
        }
    }
    return _cmocka_run_group_tests("test_db", all, n, group_setup, group_teardown);
}
