/*
 * test_list.c — unit tests of src/db/list.c: SHM's list parameters compiled
 * to parameterised SQL and run against a small table.
 *
 * The core cases run against an in-memory SQLite database and, when
 * BILLD_TEST_PG_URL names a throwaway PostgreSQL cluster, against a table in
 * a fresh schema there (dropped at the end); otherwise the PostgreSQL cases
 * are skipped. Hostile inputs must give ERR_INVALID and leave the table intact.
 */
#include "common.h"
#include "db/list.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

#include <cmocka.h>

static const struct field item_fields[] = {
    { "id", FT_INT, FF_KEY, NULL },
    { "login", FT_TEXT, 0, NULL },
    { "qty", FT_INT, 0, NULL },
    { "amount", FT_MONEY, 0, NULL },
    { "ratio", FT_REAL, 0, NULL },
    { "date", FT_DATE, 0, NULL },
    { "settings", FT_JSON, 0, NULL },
    { "secret", FT_TEXT, FF_NOFILTER | FF_HIDDEN, NULL },
    { "data", FT_BLOB, FF_NOLIST, NULL },
};

static const struct model item_model = { "Item", "items", "id", item_fields,
                                         ARRAY_SIZE(item_fields) };

static const char *lite_ddl =
    "CREATE TABLE items (id INTEGER PRIMARY KEY, login TEXT NOT NULL, qty INTEGER,"
    " amount INTEGER NOT NULL, ratio REAL, date INTEGER NOT NULL, settings TEXT,"
    " secret TEXT, data BLOB) STRICT";

static const char *pg_ddl =
    "CREATE TABLE items (id BIGINT PRIMARY KEY, login TEXT NOT NULL, qty BIGINT,"
    " amount BIGINT NOT NULL, ratio DOUBLE PRECISION, date BIGINT NOT NULL, settings JSONB,"
    " secret TEXT, data BYTEA)";

struct row {
    int id;
    const char *login;
    const char *qty; /* NULL = SQL NULL */
    int64_t amount;
    const char *ratio;
    const char *date; /* UTC */
    const char *settings;
};

static const struct row rows[] = {
    { 1, "alice", "5", 1234, "0.5", "2024-01-05 10:00:00",
      "{\"telegram\":{\"chat_id\":298002190},\"lang\":\"en\"}" },
    { 2, "bob", "10", 500, "1.5", "2024-01-05 23:59:59", "{\"lang\":\"ru\",\"flag\":true}" },
    { 3, "Carol", NULL, 0, NULL, "2024-02-10 00:00:00", NULL },
    { 4, "dave o'neil", "10", -2156, "2", "2023-12-31 23:59:59",
      "{\"telegram\":{\"chat_id\":\"abc\"}}" },
    { 5, "eve%x", "20", 100000, "3", "2024-01-06 00:00:00", "{}" },
};

static struct db *g_lite, *g_pg;
static char g_schema[64];

/* ---- fixture ---- */

static int insert_rows(struct db *db)
{
    static const char *sql = "INSERT INTO items (id, login, qty, amount, ratio, date, settings,"
                             " secret, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    struct err e;
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        const struct row *r = &rows[i];
        int64_t t;
        if (time_parse_local(r->date, &t))
            return -1;
        struct db_value p[9] = {
            DB_INT(r->id), DB_TEXT(r->login), DB_TEXT(r->qty), DB_INT(r->amount),
            DB_TEXT(r->ratio), DB_INT(t), DB_TEXT(r->settings), DB_TEXT("s3cr3t"),
            DB_BLOB("\0\1", 2),
        };
        if (db_exec(db, sql, p, 9, NULL, &e)) {
            fprintf(stderr, "# insert failed: %s\n", e.msg);
            return -1;
        }
    }
    return 0;
}

static int pg_setup(const char *url)
{
    struct err e;
    char sql[320];
    if (db_open(url, &g_pg, &e)) {
        fprintf(stderr, "# cannot open %s: %s\n", url, e.msg);
        return -1;
    }
    snprintf(g_schema, sizeof(g_schema), "billd_list_test_%ld", (long)getpid());
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
             " SET search_path TO %s", g_schema, g_schema, g_schema);
    if (db_exec_script(g_pg, sql, &e) || db_exec_script(g_pg, pg_ddl, &e)) {
        fprintf(stderr, "# PostgreSQL setup failed: %s\n", e.msg);
        return -1;
    }
    return insert_rows(g_pg);
}

static int group_setup(void **state)
{
    struct err e;
    const char *pg = getenv("BILLD_TEST_PG_URL");
    UNUSED(state);
    setenv("TZ", "UTC", 1);
    tzset();
    if (db_open("sqlite::memory:", &g_lite, &e) || db_exec_script(g_lite, lite_ddl, &e) ||
        insert_rows(g_lite))
        return -1;
    return pg && *pg ? pg_setup(pg) : 0;
}

static int group_teardown(void **state)
{
    struct err e;
    char sql[160];
    UNUSED(state);
    db_close(g_lite);
    if (g_pg) {
        snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", g_schema);
        db_exec_script(g_pg, sql, &e);
        db_close(g_pg);
    }
    return 0;
}

/* ---- helpers ---- */

/* One compiled list request. */
struct run {
    json_t *args;
    struct sqlb w;
    struct list_page page;
    struct err e;
    int rc;
};

static void run_compile(struct run *r, struct db *db, const char *args, bool admin)
{
    json_error_t je;
    r->args = json_loads(args, 0, &je);
    if (!r->args)
        fail_msg("bad test JSON %s: %s", args, je.text);
    if (!json_object_get(r->args, "sort_field")) {
        json_object_set_new(r->args, "sort_field", json_string("id"));
        json_object_set_new(r->args, "sort_direction", json_string("asc"));
    }
    err_clear(&r->e);
    sqlb_init(&r->w);
    r->rc = list_compile(db, &item_model, r->args, admin, &r->w, &r->page, &r->e);
}

static void run_free(struct run *r)
{
    list_page_free(&r->page);
    sqlb_free(&r->w);
    json_decref(r->args);
}

/* Runs a compiled request; returns the ids as "1,2,3" (owned) and the total. */
static char *run_ids(struct run *r, struct db *db, int64_t *total, int line)
{
    struct db_result *res = NULL;
    struct buf b;
    int rc = list_run(db, "items", &r->w, &r->page, &res, total, &r->e);
    if (rc)
        fail_msg("line %d: list_run failed (%d): %s; sql: %s", line, rc, r->e.msg,
                 r->w.sql.data);
    buf_init(&b, 0);
    for (int i = 0; i < db_result_rows(res); i++)
        buf_printf(&b, "%s%lld", i ? "," : "", (long long)db_result_get_int(res, i, "id"));
    db_result_free(res);
    char *ids = xstrdup(b.data);
    buf_free(&b);
    return ids;
}

static int count_ids(const char *ids)
{
    int n = *ids ? 1 : 0;
    for (; *ids; ids++)
        n += *ids == ',';
    return n;
}

/* Asserts that args select exactly the ids want (sorted by id unless args sort). */
static void expect_as(struct db *db, const char *args, bool admin, const char *want, int line)
{
    struct run r;
    int64_t total = -1;
    run_compile(&r, db, args, admin);
    if (r.rc)
        fail_msg("line %d: %s: list_compile failed (%d): %s", line, args, r.rc, r.e.msg);
    char *got = run_ids(&r, db, &total, line);
    if (strcmp(got, want) != 0)
        print_message("line %d: %s\n  sql: %s\n", line, args, r.w.sql.data);
    _assert_string_equal(got, want, __FILE__, line);
    if (!json_object_get(r.args, "limit") && !json_object_get(r.args, "offset"))
        _assert_int_equal((uintmax_t)total, (uintmax_t)count_ids(want), __FILE__, line);
    free(got);
    run_free(&r);
}

static void table_intact(struct db *db, int line)
{
    struct err e;
    int64_t n = -1;
    if (db_query_int(db, "SELECT count(*) FROM items", NULL, 0, &n, &e))
        fail_msg("line %d: table gone: %s", line, e.msg);
    _assert_int_equal((uintmax_t)n, ARRAY_SIZE(rows), __FILE__, line);
}

/* Asserts that args are rejected with ERR_INVALID, leaving where as it was. */
static void expect_invalid(struct db *db, const char *args, int line)
{
    struct run r;
    run_compile(&r, db, args, true);
    if (r.rc != ERR_INVALID)
        print_message("line %d: %s gave %d (%s), sql: %s\n", line, args, r.rc, r.e.msg,
                      r.w.sql.data);
    _assert_int_equal((uintmax_t)r.rc, (uintmax_t)ERR_INVALID, __FILE__, line);
    _assert_true(r.e.msg[0] != '\0', "message", __FILE__, line);
    _assert_int_equal(r.w.sql.len, 0, __FILE__, line);
    _assert_int_equal((uintmax_t)r.w.n, 0, __FILE__, line);
    run_free(&r);
    table_intact(db, line);
}

#define EXPECT(db, args, want) expect_as(db, args, true, want, __LINE__)
#define EXPECT_USER(db, args, want) expect_as(db, args, false, want, __LINE__)
#define INVALID(db, args) expect_invalid(db, args, __LINE__)

/* ---- core cases, run on every engine ---- */

static void core_equality(struct db *db)
{
    EXPECT(db, "{}", "1,2,3,4,5");
    EXPECT(db, "{\"filter\":{\"login\":\"alice\"}}", "1");
    EXPECT(db, "{\"filter\":\"{\\\"login\\\":\\\"bob\\\"}\"}", "2");
    EXPECT(db, "{\"filter\":{\"login\":\"ALICE\"}}", "");
    EXPECT(db, "{\"filter\":{\"login\":\"dave o'neil\"}}", "4");
    EXPECT(db, "{\"filter\":{\"login\":123}}", "");
    EXPECT(db, "{\"filter\":{\"id\":3}}", "3");
    EXPECT(db, "{\"filter\":{\"id\":\"3\"}}", "3");
    EXPECT(db, "{\"filter\":{\"id\":\"%3%\"}}", "3");
    EXPECT(db, "{\"filter\":{\"id\":true}}", "1");
    EXPECT(db, "{\"filter\":{\"qty\":\"10%\"}}", "2,4");
    EXPECT(db, "{\"filter\":{\"qty\":10,\"login\":\"bob\"}}", "2");
    EXPECT(db, "{\"filter\":{\"ratio\":1.5}}", "2");
    EXPECT(db, "{\"filter\":{\"ratio\":\"0.5\"}}", "1");
    EXPECT(db, "{\"filter\":{\"ratio\":3}}", "5");
    EXPECT(db, "{\"filter\":{\"ratio\":{\">\":1}}}", "2,4,5");
    EXPECT(db, "{\"filter\":{}}", "1,2,3,4,5");
}

static void core_like(struct db *db)
{
    EXPECT(db, "{\"filter\":{\"login\":\"%o%\"}}", "2,3,4");
    EXPECT(db, "{\"filter\":{\"login\":\"%CAROL%\"}}", "3");
    EXPECT(db, "{\"filter\":{\"login\":\"eve%x\"}}", "5");
    EXPECT(db, "{\"filter\":{\"login\":\"%o'n%\"}}", "4");
    EXPECT(db, "{\"filter\":{\"login\":{\"-like\":\"%e\"}}}", "1");
    EXPECT(db, "{\"filter\":{\"login\":{\"-not_like\":\"%o%\"}}}", "1,5");
    EXPECT(db, "{\"filter\":{\"qty\":{\"-like\":\"1%\"}}}", "2,4");
    EXPECT(db, "{\"filter\":{\"qty\":{\"-not_like\":\"1%\"}}}", "1,5");
}

static void core_ops(struct db *db)
{
    EXPECT(db, "{\"filter\":{\"qty\":{\"=\":10}}}", "2,4");
    EXPECT(db, "{\"filter\":{\"qty\":{\"!=\":10}}}", "1,5");
    EXPECT(db, "{\"filter\":{\"qty\":{\"<>\":10}}}", "1,5");
    EXPECT(db, "{\"filter\":{\"qty\":{\"<\":10}}}", "1");
    EXPECT(db, "{\"filter\":{\"qty\":{\"<=\":10}}}", "1,2,4");
    EXPECT(db, "{\"filter\":{\"qty\":{\">\":10}}}", "5");
    EXPECT(db, "{\"filter\":{\"qty\":{\">=\":10}}}", "2,4,5");
    EXPECT(db, "{\"filter\":{\"qty\":{\">\":5,\"<\":20}}}", "2,4");
    EXPECT(db, "{\"filter\":{\"qty\":{\"-LIKE\":\"2%\"}}}", "5");
    EXPECT(db, "{\"filter\":{\"qty\":{}}}", "1,2,3,4,5");
}

static void core_in_between(struct db *db)
{
    EXPECT(db, "{\"filter\":{\"qty\":{\"-in\":[5,20]}}}", "1,5");
    EXPECT(db, "{\"filter\":{\"qty\":{\"-in\":[\"5\",\"20\"]}}}", "1,5");
    EXPECT(db, "{\"filter\":{\"qty\":{\"-not_in\":[5,20]}}}", "2,4");
    EXPECT(db, "{\"filter\":{\"qty\":{\"-in\":[]}}}", "");
    EXPECT(db, "{\"filter\":{\"qty\":{\"-not_in\":[]}}}", "1,2,3,4,5");
    EXPECT(db, "{\"filter\":{\"login\":{\"-in\":[\"bob\",\"Carol\",\"nobody\"]}}}", "2,3");
    EXPECT(db, "{\"filter\":{\"qty\":{\"-between\":[6,15]}}}", "2,4");
    EXPECT(db, "{\"filter\":{\"qty\":{\"-between\":[\"5\",10]}}}", "1,2,4");
    EXPECT(db, "{\"filter\":{\"login\":{\"-between\":[\"a\",\"c\"]}}}", "1,2");
}

static void core_null(struct db *db)
{
    EXPECT(db, "{\"filter\":{\"qty\":null}}", "3");
    EXPECT(db, "{\"filter\":{\"qty\":{\"=\":null}}}", "3");
    EXPECT(db, "{\"filter\":{\"qty\":{\"!=\":null}}}", "1,2,4,5");
    EXPECT(db, "{\"filter\":{\"ratio\":null}}", "3");
    EXPECT(db, "{\"filter\":{\"settings\":null}}", "3");
    EXPECT(db, "{\"filter\":{\"login\":null}}", "");
    EXPECT(db, "{\"filter\":{\"data\":null}}", "");
    EXPECT(db, "{\"filter\":{\"data\":{\"!=\":null}}}", "1,2,3,4,5");
}

static void core_logic(struct db *db)
{
    EXPECT(db, "{\"filter\":{\"-or\":{\"login\":\"alice\",\"qty\":20}}}", "1,5");
    EXPECT(db, "{\"filter\":{\"-or\":[{\"login\":\"alice\"},{\"qty\":10,\"amount\":5}]}}", "1,2");
    EXPECT(db, "{\"filter\":{\"-and\":[{\"qty\":10},{\"-or\":{\"login\":\"bob\",\"amount\":0}}]}}",
           "2");
    EXPECT(db, "{\"filter\":{\"-and\":{\"qty\":10,\"login\":\"%o%\"}}}", "2,4");
    EXPECT(db, "{\"filter\":{\"qty\":10,\"-or\":[{\"login\":\"bob\"},{\"login\":\"%o'n%\"}]}}",
           "2,4");
    EXPECT(db, "{\"filter\":{\"-or\":[{\"-and\":{\"qty\":{\">\":5},\"amount\":{\">\":0}}},"
               "{\"login\":\"Carol\"}]}}", "2,3,5");
    EXPECT(db, "{\"filter\":{\"-or\":[{\"-or\":[{\"-or\":{\"id\":1}},{\"id\":2}]},{\"id\":3}]}}",
           "1,2,3");
    EXPECT(db, "{\"filter\":{\"-or\":{\"-and\":{\"-or\":{\"-and\":{\"-or\":{\"-and\":"
               "{\"qty\":{\"-in\":[5,10]}}}}}}}}}", "1,2,4");
    EXPECT(db, "{\"filter\":{\"-or\":[]}}", "1,2,3,4,5");
    EXPECT(db, "{\"filter\":{\"-or\":{}}}", "1,2,3,4,5");
}

static void core_json(struct db *db)
{
    EXPECT(db, "{\"filter\":{\"settings\":{\"telegram.chat_id\":298002190}}}", "1");
    EXPECT(db, "{\"filter\":{\"settings\":{\"telegram.chat_id\":\"298002190\"}}}", "1");
    EXPECT(db, "{\"filter\":{\"settings\":{\"telegram.chat_id\":\"abc\"}}}", "4");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":\"ru\"}}}", "2");
    EXPECT(db, "{\"filter\":{\"settings\":{\"flag\":true}}}", "2");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":\"en\",\"telegram.chat_id\":298002190}}}",
           "1");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":null}}}", "3,4,5");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":{\"-in\":[\"en\",\"ru\"]}}}}", "1,2");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":{\"!=\":\"en\"}}}}", "2");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":{\"-like\":\"R%\"}}}}", "2");
    EXPECT(db, "{\"filter\":{\"settings\":\"telegram\"}}", "1,4");
    EXPECT(db, "{\"filter\":{\"settings\":\"telegram.chat_id\"}}", "1,4");
    EXPECT(db, "{\"filter\":{\"settings\":\"!telegram\"}}", "2,3,5");
    EXPECT(db, "{\"filter\":{\"settings\":\"%chat_id%\"}}", "1,4");
    EXPECT(db, "{\"filter\":{\"settings\":\"%LANG%\"}}", "1,2");
    EXPECT(db, "{\"filter\":{\"settings\":{\"-like\":\"%ru%\"}}}", "2");
    EXPECT(db, "{\"filter\":{\"settings\":{}}}", "1,2,3,4,5");
    /* conditions that use no value must not leave the path parameter unreferenced */
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":{}}}}", "1,2,3,4,5");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":{\"-in\":[]}},\"qty\":10}}", "");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":{\"-not_in\":[]},\"flag\":true}}}", "2");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":{\"-between\":[\"a\",\"f\"]}}}}", "1");
}

static void core_dates(struct db *db)
{
    EXPECT(db, "{\"filter\":{\"date\":\"2024-01-05\"}}", "1,2");
    EXPECT(db, "{\"filter\":{\"date\":\"2024-01-05 10:00:00\"}}", "1");
    EXPECT(db, "{\"filter\":{\"date\":\"2024-01-05T10:00:00\"}}", "1");
    EXPECT(db, "{\"filter\":{\"date\":\"2024-01-05 10:00\"}}", "1");
    EXPECT(db, "{\"filter\":{\"date\":\"2024-01%\"}}", "1,2,5");
    EXPECT(db, "{\"filter\":{\"date\":\"2024%\"}}", "1,2,3,5");
    EXPECT(db, "{\"filter\":{\"date\":\"2024-01-05 23%\"}}", "2");
    EXPECT(db, "{\"filter\":{\"date\":\"2024-01-05 10:00%\"}}", "1");
    EXPECT(db, "{\"filter\":{\"date\":\"2024-01-05 10:00:00%\"}}", "1");
    EXPECT(db, "{\"filter\":{\"date\":\"2023-12%\"}}", "4");
    EXPECT(db, "{\"filter\":{\"date\":\"2023-12-31%\"}}", "4");
    EXPECT(db, "{\"filter\":{\"date\":\"2023-12-31 23:59%\"}}", "4");
    EXPECT(db, "{\"filter\":{\"date\":\"2024-02-29%\"}}", "");
    EXPECT(db, "{\"filter\":{\"date\":{\"<\":\"2024-01-01\"}}}", "4");
    EXPECT(db, "{\"filter\":{\"date\":{\">\":\"2024-01-05\"}}}", "3,5");
    EXPECT(db, "{\"filter\":{\"date\":{\">=\":\"2024-01-05\"}}}", "1,2,3,5");
    EXPECT(db, "{\"filter\":{\"date\":{\"<=\":\"2024-01-05\"}}}", "1,2,4");
    EXPECT(db, "{\"filter\":{\"date\":{\">\":\"2024-01-05 10:00:00\"}}}", "2,3,5");
    EXPECT(db, "{\"filter\":{\"date\":{\"=\":\"2024-01-05\"}}}", "1,2");
    EXPECT(db, "{\"filter\":{\"date\":{\"!=\":\"2024-01-05\"}}}", "3,4,5");
    EXPECT(db, "{\"filter\":{\"date\":{\"-between\":[\"2024-01-01\",\"2024-01-05\"]}}}", "1,2");
    EXPECT(db, "{\"filter\":{\"date\":{\"-in\":[\"2024-01-06\",\"2023-12-31\"]}}}", "4,5");
    EXPECT(db, "{\"filter\":{\"date\":{\"-not_in\":[\"2024-01-06\",\"2023-12-31\"]}}}", "1,2,3");
    EXPECT(db, "{\"filter\":{\"date\":{\"-like\":\"2024-02%\"}}}", "3");
    EXPECT(db, "{\"filter\":{\"date\":{\"-not_like\":\"2024-01%\"}}}", "3,4");
}

static void core_range(struct db *db)
{
    EXPECT(db, "{\"start\":\"2024-01-05\",\"stop\":\"2024-01-05\"}", "1,2");
    EXPECT(db, "{\"start\":\"2024-01-05 12:00:00\",\"stop\":\"2024-01-06\"}", "2,5");
    EXPECT(db, "{\"start\":\"2024-01-05\",\"stop\":\"2024-01-05 10:00:00\",\"field\":\"date\"}",
           "1");
    EXPECT(db, "{\"start\":\"2024-01-05\",\"stop\":\"2024-01-05\",\"filter\":{\"qty\":10}}", "2");
    EXPECT(db, "{\"start\":\"2024-01-05\",\"stop\":\"2024-01-05\",\"field\":\"login\"}",
           "1,2,3,4,5");
    EXPECT(db, "{\"start\":\"2024-01-05\",\"stop\":\"2024-01-05\",\"field\":\"bogus\"}",
           "1,2,3,4,5");
    EXPECT(db, "{\"start\":\"2024-01-05\"}", "1,2,3,4,5");
    EXPECT(db, "{\"start\":\"2024-01-05\",\"stop\":\"\"}", "1,2,3,4,5");
    INVALID(db, "{\"start\":\"yesterday\",\"stop\":\"2024-01-05\"}");
    INVALID(db, "{\"start\":\"2024-01-05\",\"stop\":\"2024-01-32\"}");
    INVALID(db, "{\"start\":20240105,\"stop\":\"2024-01-05\"}");
}

static void core_money(struct db *db)
{
    EXPECT(db, "{\"filter\":{\"amount\":12.34}}", "1");
    EXPECT(db, "{\"filter\":{\"amount\":\"12.34\"}}", "1");
    EXPECT(db, "{\"filter\":{\"amount\":5}}", "2");
    EXPECT(db, "{\"filter\":{\"amount\":-21.56}}", "4");
    EXPECT(db, "{\"filter\":{\"amount\":{\"<\":0}}}", "4");
    EXPECT(db, "{\"filter\":{\"amount\":{\">=\":1000}}}", "5");
    EXPECT(db, "{\"filter\":{\"amount\":{\"-between\":[0,12.34]}}}", "1,2,3");
    EXPECT(db, "{\"filter\":{\"amount\":{\"-in\":[0,\"5.00\"]}}}", "2,3");
    INVALID(db, "{\"filter\":{\"amount\":1.234}}");
    INVALID(db, "{\"filter\":{\"amount\":\"abc\"}}");
    INVALID(db, "{\"filter\":{\"amount\":1e20}}");
    INVALID(db, "{\"filter\":{\"amount\":true}}");
    INVALID(db, "{\"filter\":{\"amount\":{\"-like\":\"1%\"}}}");
}

static void core_sort(struct db *db)
{
    EXPECT(db, "{\"sort_field\":\"amount\",\"sort_direction\":\"asc\"}", "4,3,2,1,5");
    EXPECT(db, "{\"sort_field\":\"amount\",\"sort_direction\":\"ASC\"}", "4,3,2,1,5");
    EXPECT(db, "{\"sort_field\":\"amount\",\"sort_direction\":\"desc\"}", "5,1,2,3,4");
    EXPECT(db, "{\"sort_field\":\"amount\"}", "5,1,2,3,4");
    EXPECT(db, "{\"sort_field\":\"amount\",\"sort_direction\":\"sideways\"}", "5,1,2,3,4");
    EXPECT(db, "{\"sort_field\":\"login\",\"sort_direction\":\"asc\",\"filter\":{\"id\":{\"!=\":3}}}",
           "1,2,4,5");
    EXPECT(db, "{\"sort_field\":\"bogus\",\"sort_direction\":\"asc\"}", "1,2,3,4,5");
    EXPECT(db, "{\"sort_field\":\"bogus\"}", "5,4,3,2,1");
    EXPECT(db, "{\"sort_field\":\"secret\"}", "5,4,3,2,1");
    EXPECT(db, "{\"sort_field\":\"id; DROP TABLE items\"}", "5,4,3,2,1");
    EXPECT(db, "{\"sort_field\":42,\"sort_direction\":7}", "5,4,3,2,1");
    table_intact(db, __LINE__);
}

static void expect_total(struct db *db, const char *args, bool admin, const char *want,
                         int64_t want_total, int line)
{
    struct run r;
    int64_t total = -1;
    run_compile(&r, db, args, admin);
    _assert_int_equal((uintmax_t)r.rc, 0, __FILE__, line);
    char *got = run_ids(&r, db, &total, line);
    _assert_string_equal(got, want, __FILE__, line);
    _assert_int_equal((uintmax_t)total, (uintmax_t)want_total, __FILE__, line);
    free(got);
    run_free(&r);
}

static void core_limits(struct db *db)
{
    expect_total(db, "{\"limit\":\"2\",\"offset\":\"1\"}", false, "2,3", 5, __LINE__);
    expect_total(db, "{\"limit\":2}", false, "1,2", 5, __LINE__);
    expect_total(db, "{\"limit\":2,\"offset\":4}", false, "5", 5, __LINE__);
    expect_total(db, "{\"limit\":2,\"offset\":10}", false, "", 5, __LINE__);
    expect_total(db, "{\"limit\":0,\"offset\":2}", true, "3,4,5", 5, __LINE__);
    expect_total(db, "{\"limit\":0,\"offset\":\"0\"}", true, "1,2,3,4,5", 5, __LINE__);
    expect_total(db, "{\"limit\":0,\"offset\":9}", true, "", 5, __LINE__);
    expect_total(db, "{\"limit\":0,\"offset\":2}", false, "3,4,5", 5, __LINE__);
    expect_total(db, "{\"limit\":-1}", false, "1,2,3,4,5", 5, __LINE__);
    expect_total(db, "{\"limit\":1,\"filter\":{\"qty\":10}}", false, "2", 2, __LINE__);
    INVALID(db, "{\"limit\":\"abc\"}");
    INVALID(db, "{\"offset\":-1}");
}

static void core_hostile_keys(struct db *db)
{
    INVALID(db, "{\"filter\":{\"login; DROP TABLE items\":1}}");
    INVALID(db, "{\"filter\":{\"--\":1}}");
    INVALID(db, "{\"filter\":{\"-- comment\":1}}");
    INVALID(db, "{\"filter\":{\"--login\":\"alice\"}}");
    INVALID(db, "{\"filter\":{\"login\\\"\":1}}");
    INVALID(db, "{\"filter\":{\"a.b\":1}}");
    INVALID(db, "{\"filter\":{\"login.x\":1}}");
    INVALID(db, "{\"filter\":{\"settings.lang\":\"en\"}}");
    INVALID(db, "{\"filter\":{\"xyz\":1}}");
    INVALID(db, "{\"filter\":{\"\":1}}");
    INVALID(db, "{\"filter\":{\"secret\":\"s3cr3t\"}}");
    INVALID(db, "{\"filter\":{\"-not\":{\"id\":1}}}");
    INVALID(db, "{\"filter\":{\"-OR\":{\"id\":1}}}");
    INVALID(db, "{\"filter\":{\"qty\":{\"~\":5}}}");
    INVALID(db, "{\"filter\":{\"qty\":{\"= 1 OR 1=1 --\":5}}}");
    INVALID(db, "{\"filter\":{\"-or\":{\"login) OR (1=1\":1}}}");
}

static void core_hostile_values(struct db *db)
{
    EXPECT(db, "{\"filter\":{\"login\":\"x' OR '1'='1\"}}", "");
    EXPECT(db, "{\"filter\":{\"login\":\"alice'; DROP TABLE items; --\"}}", "");
    EXPECT(db, "{\"filter\":{\"login\":\"/* comment */\"}}", "");
    EXPECT(db, "{\"filter\":{\"login\":\"-- comment\"}}", "");
    EXPECT(db, "{\"filter\":{\"login\":\"\\\"; SELECT 1\"}}", "");
    EXPECT(db, "{\"filter\":{\"settings\":{\"lang\":\"') OR 1=1 --\"}}}", "");
    EXPECT(db, "{\"filter\":{\"login\":{\"-in\":[\"' OR 1=1 --\",\"alice\"]}}}", "1");
    table_intact(db, __LINE__);
    INVALID(db, "{\"filter\":{\"qty\":\"1; DROP TABLE items\"}}");
    INVALID(db, "{\"filter\":{\"data\":\"x' OR 1=1 --\"}}");
    INVALID(db, "{\"filter\":{\"data\":\"%x%\"}}");
    INVALID(db, "{\"filter\":{\"data\":{\"-like\":\"%x%\"}}}");
    INVALID(db, "{\"filter\":{\"data\":{\"-in\":[\"x\"]}}}");
    INVALID(db, "{\"filter\":{\"ratio\":\"1e-999\"}}");
    INVALID(db, "{\"filter\":{\"qty\":\"99999999999999999999\"}}");
    INVALID(db, "{\"filter\":{\"qty\":1e300}}");
    INVALID(db, "{\"filter\":{\"qty\":1.5}}");
    INVALID(db, "{\"filter\":{\"ratio\":\"abc\"}}");
    INVALID(db, "{\"filter\":{\"ratio\":\"inf\"}}");
    INVALID(db, "{\"filter\":{\"ratio\":\"0x10\"}}");
    INVALID(db, "{\"filter\":\"{\\\"qty\\\":99999999999999999999}\"}");
    INVALID(db, "{\"filter\":{\"login\":[\"alice\",\"bob\"]}}");
    INVALID(db, "{\"filter\":{\"login\":{\"=\":[1]}}}");
    INVALID(db, "{\"filter\":{\"login\":{\"<\":null}}}");
    INVALID(db, "{\"filter\":{\"qty\":{\"-in\":5}}}");
    INVALID(db, "{\"filter\":{\"qty\":{\"-in\":[1,null]}}}");
    INVALID(db, "{\"filter\":{\"qty\":{\"-in\":[1,[2]]}}}");
    INVALID(db, "{\"filter\":{\"qty\":{\"-between\":[1]}}}");
    INVALID(db, "{\"filter\":{\"qty\":{\"-between\":[1,2,3]}}}");
    INVALID(db, "{\"filter\":{\"qty\":{\"-between\":\"1,2\"}}}");
    INVALID(db, "{\"filter\":{\"qty\":{\"-like\":5}}}");
    INVALID(db, "{\"filter\":{\"-or\":\"id=1\"}}");
    INVALID(db, "{\"filter\":{\"-or\":[\"id=1\"]}}");
    INVALID(db, "{\"filter\":{\"-and\":[{\"id\":1},5]}}");
}

static void core_hostile_dates(struct db *db)
{
    INVALID(db, "{\"filter\":{\"date\":\"2024-13-01\"}}");
    INVALID(db, "{\"filter\":{\"date\":\"2024-02-30\"}}");
    INVALID(db, "{\"filter\":{\"date\":\"2023-02-29%\"}}");
    INVALID(db, "{\"filter\":{\"date\":\"garbage%\"}}");
    INVALID(db, "{\"filter\":{\"date\":\"%2024\"}}");
    INVALID(db, "{\"filter\":{\"date\":\"%\"}}");
    INVALID(db, "{\"filter\":{\"date\":\"2024-1%\"}}");
    INVALID(db, "{\"filter\":{\"date\":\"2024-01\"}}");
    INVALID(db, "{\"filter\":{\"date\":\"2024-01-05 25%\"}}");
    INVALID(db, "{\"filter\":{\"date\":\"2024-01-05' OR 1=1 --\"}}");
    INVALID(db, "{\"filter\":{\"date\":20240105}}");
    INVALID(db, "{\"filter\":{\"date\":{\"-in\":[1]}}}");
    INVALID(db, "{\"filter\":{\"date\":{\">\":\"soon\"}}}");
}

static void core_hostile_json(struct db *db)
{
    INVALID(db, "{\"filter\":{\"settings\":{\"a..b\":1}}}");
    INVALID(db, "{\"filter\":{\"settings\":{\"a.b-c\":1}}}");
    INVALID(db, "{\"filter\":{\"settings\":{\"$.x\":1}}}");
    INVALID(db, "{\"filter\":{\"settings\":{\".a\":1}}}");
    INVALID(db, "{\"filter\":{\"settings\":{\"a.\":1}}}");
    INVALID(db, "{\"filter\":{\"settings\":{\"1a\":1}}}");
    INVALID(db, "{\"filter\":{\"settings\":{\"a[0]\":1}}}");
    INVALID(db, "{\"filter\":{\"settings\":{\"a') OR 1=1 --\":1}}}");
    INVALID(db, "{\"filter\":{\"settings\":{\"lang\":[\"en\"]}}}");
    INVALID(db, "{\"filter\":{\"settings\":\"!a..b\"}}");
    INVALID(db, "{\"filter\":{\"settings\":\"a b\"}}");
    INVALID(db, "{\"filter\":{\"settings\":\"\"}}");
    INVALID(db, "{\"filter\":{\"settings\":\"!\"}}");
    INVALID(db, "{\"filter\":{\"settings\":5}}");
    INVALID(db, "{\"filter\":{\"settings\":[\"lang\"]}}");
}

/* 50 nested -or groups, in object and in array form. */
static void core_deep(struct db *db)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"filter\":");
    for (int i = 0; i < 50; i++)
        buf_puts(&b, "{\"-or\":");
    buf_puts(&b, "{\"id\":1}");
    for (int i = 0; i < 51; i++)
        buf_putc(&b, '}');
    INVALID(db, b.data);
    buf_reset(&b);
    buf_puts(&b, "{\"filter\":");
    for (int i = 0; i < 50; i++)
        buf_puts(&b, "{\"-and\":[");
    buf_puts(&b, "{\"id\":1}");
    for (int i = 0; i < 50; i++)
        buf_puts(&b, "]}");
    buf_putc(&b, '}');
    INVALID(db, b.data);
    buf_reset(&b);
    buf_puts(&b, "{\"filter\":{\"qty\":{\"-in\":[");
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%s%d", i ? "," : "", i);
    buf_puts(&b, "]}}}");
    INVALID(db, b.data);
    buf_free(&b);
}

/* Too many terms, and many values that still fit. */
static void core_large(struct db *db)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"filter\":{\"-or\":[");
    for (int i = 0; i < LIST_MAX_TERMS + 1; i++)
        buf_printf(&b, "%s{\"id\":%d}", i ? "," : "", i);
    buf_puts(&b, "]}}");
    INVALID(db, b.data);
    buf_reset(&b);
    buf_puts(&b, "{\"filter\":{\"id\":{\"-in\":[");
    for (int i = 0; i < 200; i++)
        buf_printf(&b, "%s%d", i ? "," : "", i);
    buf_puts(&b, "]}}}");
    EXPECT(db, b.data, "1,2,3,4,5");
    buf_reset(&b);
    buf_puts(&b, "{\"filter\":{\"-or\":[");
    for (int i = 0; i < 10; i++)
        buf_printf(&b, "%s{\"id\":{\"-in\":[%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,"
                   "%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d]}}", i ? "," : "",
                   1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                   22, 23, 24, 25, 26, 27, 28, 29, 30);
    buf_puts(&b, "]}}");
    INVALID(db, b.data); /* 300 parameters: filter too large */
    buf_free(&b);
}

static void core_malformed(struct db *db)
{
    INVALID(db, "{\"filter\":\"{\\\"login\\\":\"}");
    INVALID(db, "{\"filter\":\"not json\"}");
    INVALID(db, "{\"filter\":\"[1,2]\"}");
    INVALID(db, "{\"filter\":\"\\\"login\\\"\"}");
    INVALID(db, "{\"filter\":\"42\"}");
    INVALID(db, "{\"filter\":[{\"login\":\"alice\"}]}");
    INVALID(db, "{\"filter\":42}");
    INVALID(db, "{\"filter\":true}");
    INVALID(db, "{\"fields\":\"bogus\"}");
    INVALID(db, "{\"fields\":\"id;DROP TABLE items\"}");
    INVALID(db, "{\"fields\":\"id, login, passwd\"}");
    INVALID(db, "{\"fields\":5}");
    EXPECT(db, "{\"filter\":\"\"}", "1,2,3,4,5");
    EXPECT(db, "{\"filter\":null}", "1,2,3,4,5");
}

/* The caller's own condition is kept and parenthesised before the filter is ANDed. */
static void core_caller_where(struct db *db)
{
    json_t *args = json_loads("{\"filter\":{\"login\":\"%o%\"},\"sort_field\":\"id\","
                              "\"sort_direction\":\"asc\"}", 0, NULL);
    struct list_page page;
    struct sqlb w;
    struct err e;
    struct db_result *res = NULL;
    int64_t total = 0;
    sqlb_init(&w);
    sqlb_add(&w, "id = ");
    sqlb_int(&w, 1);
    sqlb_add(&w, " OR id = ");
    sqlb_int(&w, 2);
    assert_int_equal(list_compile(db, &item_model, args, false, &w, &page, &e), 0);
    assert_int_equal(list_run(db, "items", &w, &page, &res, &total, &e), 0);
    assert_int_equal(db_result_rows(res), 1);
    assert_int_equal(db_result_get_int(res, 0, "id"), 2);
    assert_int_equal(total, 1);
    db_result_free(res);
    list_page_free(&page);
    json_object_set_new(args, "filter", json_string("{\"nope\":1}"));
    size_t len = w.sql.len;
    assert_int_equal(list_compile(db, &item_model, args, false, &w, &page, &e), ERR_INVALID);
    assert_int_equal(w.sql.len, len);
    assert_int_equal(w.n, 3);
    list_page_free(&page);
    sqlb_free(&w);
    json_decref(args);
}

#define BOTH(name)                                                                           \
    static void test_lite_##name(void **state)                                             \
    {                                                                                        \
        UNUSED(state);                                                                       \
        name(g_lite);                                                                        \
    }                                                                                        \
    static void test_pg_##name(void **state)                                               \
    {                                                                                        \
        UNUSED(state);                                                                       \
        name(g_pg);                                                                          \
    }

BOTH(core_equality)
BOTH(core_like)
BOTH(core_ops)
BOTH(core_in_between)
BOTH(core_null)
BOTH(core_logic)
BOTH(core_json)
BOTH(core_dates)
BOTH(core_range)
BOTH(core_money)
BOTH(core_sort)
BOTH(core_limits)
BOTH(core_hostile_keys)
BOTH(core_hostile_values)
BOTH(core_hostile_dates)
BOTH(core_hostile_json)
BOTH(core_deep)
BOTH(core_large)
BOTH(core_malformed)
BOTH(core_caller_where)

/* ---- compile-only cases (engine independent) ---- */

static void test_limit_values(void **state)
{
    static const struct { const char *args; bool admin; int64_t limit, offset; } cases[] = {
        { "{}", false, 25, 0 },
        { "{}", true, 25, 0 },
        { "{\"limit\":0}", false, 25, 0 },
        { "{\"limit\":0}", true, 0, 0 },
        { "{\"limit\":5000}", false, 1000, 0 },
        { "{\"limit\":\"5000\"}", true, 5000, 0 },
        { "{\"limit\":1000}", false, 1000, 0 },
        { "{\"limit\":-3}", false, 25, 0 },
        { "{\"limit\":\"-3\"}", true, 25, 0 },
        { "{\"limit\":\"\",\"offset\":\"\"}", false, 25, 0 },
        { "{\"limit\":null,\"offset\":null}", false, 25, 0 },
        { "{\"limit\":\"7\",\"offset\":\"3\"}", false, 7, 3 },
        { "{\"offset\":9223372036854775807}", false, 25, INT64_MAX },
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct run r;
        run_compile(&r, g_lite, cases[i].args, cases[i].admin);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.page.limit, cases[i].limit);
        assert_int_equal(r.page.offset, cases[i].offset);
        run_free(&r);
    }
}

static void test_limit_invalid(void **state)
{
    static const char *cases[] = {
        "{\"limit\":\"abc\"}", "{\"limit\":\"1;drop\"}", "{\"limit\":1.5}",
        "{\"limit\":\"99999999999999999999\"}", "{\"limit\":\" 5\"}", "{\"limit\":true}",
        "{\"limit\":[5]}", "{\"offset\":-1}", "{\"offset\":\"-1\"}", "{\"offset\":\"x\"}",
        "{\"offset\":2.5}", "{\"offset\":\"1e3\"}",
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct run r;
        run_compile(&r, g_lite, cases[i], false);
        assert_int_equal(r.rc, ERR_INVALID);
        assert_non_null(strstr(r.e.msg, "must be a non-negative integer"));
        run_free(&r);
    }
}

/* Asserts that the JSON encoding of v is want. */
static void expect_json(const json_t *v, const char *want)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_COMPACT);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
}

static void test_echo(void **state)
{
    static const struct { const char *args, *limit, *offset, *filter; } cases[] = {
        { "{}", "25", "0", NULL },
        { "{\"limit\":\"2\",\"offset\":\"1\"}", "\"2\"", "\"1\"", NULL },
        { "{\"limit\":7,\"offset\":3}", "7", "3", NULL },
        { "{\"offset\":\"0\"}", "25", "0", NULL },
        { "{\"offset\":0}", "25", "0", NULL },
        { "{\"limit\":\"-5\"}", "\"-5\"", "0", NULL },
        { "{\"filter\":\"{\\\"login\\\":\\\"bob\\\"}\"}", "25", "0", "{\"login\":\"bob\"}" },
        { "{\"filter\":{\"qty\":{\">\":1}}}", "25", "0", "{\"qty\":{\">\":1}}" },
        { "{\"filter\":\"{}\"}", "25", "0", "{}" },
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct run r;
        run_compile(&r, g_lite, cases[i].args, false);
        assert_int_equal(r.rc, 0);
        expect_json(r.page.limit_echo, cases[i].limit);
        expect_json(r.page.offset_echo, cases[i].offset);
        if (cases[i].filter)
            expect_json(r.page.filter_echo, cases[i].filter);
        else
            assert_null(r.page.filter_echo);
        run_free(&r);
    }
}

static void test_order(void **state)
{
    static const struct { const char *args, *order; } cases[] = {
        { "{\"sort_field\":\"login\"}", " ORDER BY login DESC NULLS LAST" },
        { "{\"sort_field\":\"login\",\"sort_direction\":\"aSc\"}", " ORDER BY login ASC NULLS FIRST" },
        { "{\"sort_field\":\"date\",\"sort_direction\":\"DESC\"}", " ORDER BY date DESC NULLS LAST" },
        { "{\"sort_field\":\"secret\",\"sort_direction\":\"asc\"}", " ORDER BY id ASC NULLS FIRST" },
        { "{\"sort_field\":\"login desc; --\"}", " ORDER BY id DESC NULLS LAST" },
        { "{\"sort_field\":\"\"}", " ORDER BY id DESC NULLS LAST" },
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct run r;
        run_compile(&r, g_lite, cases[i].args, false);
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.page.order.data, cases[i].order);
        run_free(&r);
    }
}

static void test_fields(void **state)
{
    static const struct { const char *args, *columns; } cases[] = {
        { "{}", "id, login, qty, amount, ratio, date, settings, secret" },
        { "{\"fields\":\"id,login\"}", "id, login" },
        { "{\"fields\":\" login , id ,login,\"}", "login, id" },
        { "{\"fields\":\"data\"}", "id, login, qty, amount, ratio, date, settings, secret" },
        { "{\"fields\":\"id,data\"}", "id" },
        { "{\"fields\":\",,\"}", "id, login, qty, amount, ratio, date, settings, secret" },
        { "{\"fields\":\"\"}", "id, login, qty, amount, ratio, date, settings, secret" },
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct run r;
        run_compile(&r, g_lite, cases[i].args, false);
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.page.columns.data, cases[i].columns);
        run_free(&r);
    }
}

static void test_fields_run(void **state)
{
    struct run r;
    struct db_result *res = NULL;
    int64_t total = 0;
    UNUSED(state);
    run_compile(&r, g_lite, "{\"fields\":\"login,id\",\"filter\":{\"id\":2}}", false);
    assert_int_equal(r.rc, 0);
    assert_int_equal(list_run(g_lite, "items", &r.w, &r.page, &res, &total, &r.e), 0);
    assert_int_equal(db_result_cols(res), 2);
    assert_string_equal(db_result_colname(res, 0), "login");
    assert_string_equal(db_result_get(res, 0, "login"), "bob");
    db_result_free(res);
    run_free(&r);
}

/* Hidden fields cannot be filtered or sorted on by non-admins (no probing of values). */
static void test_hidden_fields(void **state)
{
    static const struct field fields[] = {
        { "id", FT_INT, FF_KEY, NULL },
        { "login", FT_TEXT, 0, NULL },
        { "comment", FT_TEXT, FF_HIDDEN, NULL },
    };
    static const struct model m = { "Hidden", "hidden", "id", fields, ARRAY_SIZE(fields) };
    struct list_page page;
    struct sqlb w;
    struct err e;
    UNUSED(state);
    json_t *args = json_pack("{s:{s:s},s:s}", "filter", "comment", "x%", "sort_field", "comment");
    sqlb_init(&w);
    assert_int_equal(list_compile(g_lite, &m, args, false, &w, &page, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Unknown filter field: comment");
    list_page_free(&page);
    sqlb_free(&w);
    sqlb_init(&w);
    assert_int_equal(list_compile(g_lite, &m, args, true, &w, &page, &e), 0);
    assert_string_equal(page.order.data, " ORDER BY comment DESC NULLS LAST");
    list_page_free(&page);
    sqlb_free(&w);
    json_object_del(args, "filter");
    sqlb_init(&w);
    assert_int_equal(list_compile(g_lite, &m, args, false, &w, &page, &e), 0);
    assert_string_equal(page.order.data, " ORDER BY id DESC NULLS LAST");
    list_page_free(&page);
    sqlb_free(&w);
    json_decref(args);
}

/* Input text never reaches SQL: values become parameters, names come from the model. */
static void test_sql_text(void **state)
{
    static const char *needles[] = { "OR '1'", "DROP", "--", "x'", "/*", "qty.", "lang" };
    struct run r;
    UNUSED(state);
    run_compile(&r, g_lite, "{\"filter\":{\"login\":\"x' OR '1'='1 DROP --\","
                            "\"qty\":{\"-in\":[1,2]},\"settings\":{\"lang\":\"/* */\"},"
                            "\"-or\":[{\"date\":\"2024-01%\"},{\"amount\":1.5}]}}", false);
    assert_int_equal(r.rc, 0);
    for (size_t i = 0; i < ARRAY_SIZE(needles); i++)
        assert_null(strstr(r.w.sql.data, needles[i]));
    assert_int_equal(r.w.n, 8); /* login, 2 × qty, path, lang value, 2 × date, amount */
    assert_string_equal(r.w.params[0].s, "x' OR '1'='1 DROP --");
    assert_string_equal(r.w.params[3].s, "$.lang");
    run_free(&r);
}

static void test_error_messages(void **state)
{
    static const struct { const char *args, *msg; } cases[] = {
        { "{\"filter\":{\"xyz\":1}}", "Unknown filter field: xyz" },
        { "{\"filter\":{\"a\\nb\\u00e9\":1}}", "Unknown filter field: a?b??" },
        { "{\"filter\":[1]}", "filter must be a JSON object" },
        { "{\"filter\":\"{\"}", "filter must be a JSON object" },
        { "{\"filter\":{\"-- x\":1}}", "Invalid filter key: -- x" },
        { "{\"filter\":{\"settings\":{\"a..b\":1}}}", "Invalid JSON path in filter: a..b" },
        { "{\"filter\":{\"qty\":{\"~\":1}}}", "Unknown filter operator: ~" },
        { "{\"filter\":{\"qty\":\"x\"}}", "Invalid filter value for qty" },
        { "{\"fields\":\"id,nope\"}", "Unknown field: nope" },
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct run r;
        run_compile(&r, g_lite, cases[i].args, false);
        assert_int_equal(r.rc, ERR_INVALID);
        assert_string_equal(r.e.msg, cases[i].msg);
        run_free(&r);
    }
}

/* Day ranges follow the process time zone (the billing zone), stored values are UTC. */
static void test_time_zone(void **state)
{
    UNUSED(state);
    setenv("TZ", "Europe/Moscow", 1);
    tzset();
    EXPECT(g_lite, "{\"filter\":{\"date\":\"2024-01-05\"}}", "1");
    EXPECT(g_lite, "{\"filter\":{\"date\":\"2024-01-06\"}}", "2,5");
    EXPECT(g_lite, "{\"filter\":{\"date\":\"2024-01-05 13:00:00\"}}", "1");
    EXPECT(g_lite, "{\"start\":\"2024-01-01\",\"stop\":\"2024-01-01\"}", "4");
    setenv("TZ", "UTC", 1);
    tzset();
}

/*
 * The PostgreSQL cases are registered only when BILLD_TEST_PG_URL is set:
 * cmocka 1.1 prints skipped tests as "not ok … # SKIP", which prove counts
 * as failures.
 */
int main(void)
{
    static const struct CMUnitTest lite[] = {
        cmocka_unit_test(test_lite_core_equality),
        cmocka_unit_test(test_lite_core_like),
        cmocka_unit_test(test_lite_core_ops),
        cmocka_unit_test(test_lite_core_in_between),
        cmocka_unit_test(test_lite_core_null),
        cmocka_unit_test(test_lite_core_logic),
        cmocka_unit_test(test_lite_core_json),
        cmocka_unit_test(test_lite_core_dates),
        cmocka_unit_test(test_lite_core_range),
        cmocka_unit_test(test_lite_core_money),
        cmocka_unit_test(test_lite_core_sort),
        cmocka_unit_test(test_lite_core_limits),
        cmocka_unit_test(test_lite_core_hostile_keys),
        cmocka_unit_test(test_lite_core_hostile_values),
        cmocka_unit_test(test_lite_core_hostile_dates),
        cmocka_unit_test(test_lite_core_hostile_json),
        cmocka_unit_test(test_lite_core_deep),
        cmocka_unit_test(test_lite_core_large),
        cmocka_unit_test(test_lite_core_malformed),
        cmocka_unit_test(test_lite_core_caller_where),
        cmocka_unit_test(test_limit_values),
        cmocka_unit_test(test_limit_invalid),
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_fields_run),
        cmocka_unit_test(test_hidden_fields),
        cmocka_unit_test(test_sql_text),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_time_zone),
    };
    static const struct CMUnitTest pg[] = {
        cmocka_unit_test(test_pg_core_equality),
        cmocka_unit_test(test_pg_core_like),
        cmocka_unit_test(test_pg_core_ops),
        cmocka_unit_test(test_pg_core_in_between),
        cmocka_unit_test(test_pg_core_null),
        cmocka_unit_test(test_pg_core_logic),
        cmocka_unit_test(test_pg_core_json),
        cmocka_unit_test(test_pg_core_dates),
        cmocka_unit_test(test_pg_core_range),
        cmocka_unit_test(test_pg_core_money),
        cmocka_unit_test(test_pg_core_sort),
        cmocka_unit_test(test_pg_core_limits),
        cmocka_unit_test(test_pg_core_hostile_keys),
        cmocka_unit_test(test_pg_core_hostile_values),
        cmocka_unit_test(test_pg_core_hostile_dates),
        cmocka_unit_test(test_pg_core_hostile_json),
        cmocka_unit_test(test_pg_core_deep),
        cmocka_unit_test(test_pg_core_large),
        cmocka_unit_test(test_pg_core_malformed),
        cmocka_unit_test(test_pg_core_caller_where),
    };
    size_t n = ARRAY_SIZE(lite), npg = getenv("BILLD_TEST_PG_URL") ? ARRAY_SIZE(pg) : 0;
    struct CMUnitTest *all = calloc(n + npg, sizeof(*all));
    memcpy(all, lite, sizeof(lite));
    if (npg)
        memcpy(all + n, pg, sizeof(pg));
    if (!npg)
        fprintf(stderr, "# test_list: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
    int rc = _cmocka_run_group_tests("test_list", all, n + npg, group_setup, group_teardown);
    free(all);
    return rc;
}
