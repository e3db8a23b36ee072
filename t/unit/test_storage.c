/*
 * test_storage.c — unit tests of src/core/storage.c: name rules, the JSON
 * validator (also differentially against jansson), JSON detection, the
 * Content-Disposition value, and the queries on a migrated database: binary
 * round trips, per-user namespaces, replace semantics, links and deletes.
 *
 * The pure cases run once; the database cases run on a fresh SQLite file and,
 * when BILLD_TEST_PG_URL names a throwaway PostgreSQL cluster, on a database
 * created for the run (dropped at the end).
 */
#include "common.h"
#include "core/storage.h"
#include "db/db.h"
#include "db/migrate.h"
#include "util/buf.h"
#include "util/log.h"
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

#define OK(call)                                                                              \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != 0)                                                                         \
            fail_msg("%s:%d: %s = %d: %s", __FILE__, __LINE__, #call, rc_, e.msg);            \
    } while (0)

#define FAILS(want, call)                                                                     \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != (want))                                                                    \
            fail_msg("%s:%d: %s = %d, want %s (%d)", __FILE__, __LINE__, #call, rc_, #want,   \
                     (want));                                                                 \
    } while (0)

/* ---- names ---- */

static void test_names(void **state)
{
    struct err e = { 0 };
    const char *good[] = { "my_vpn_key", "a", "vpn_mrzb_123", "A-Z.a_z@0-9", "..a", ".env",
                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    const char *bad_chars[] = { "a b", "a/b", "a\"b", "a\\b", "a\nb", "\xd0\xba", "a\x7f", "a%b",
                                "a:b", "a\tb" };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        OK(storage_check_name(good[i], &e));
    for (size_t i = 0; i < ARRAY_SIZE(bad_chars); i++) {
        FAILS(ERR_INVALID, storage_check_name(bad_chars[i], &e));
        assert_string_equal(e.msg, STORAGE_NAME_CHARS_MSG);
    }
    assert_string_equal(STORAGE_NAME_CHARS_MSG,
                        "Field name: only letters, digits, '_', '-', '.' and '@' are allowed");
    FAILS(ERR_INVALID, storage_check_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &e));
    assert_string_equal(e.msg, "Field name: longer than 32 characters");
    FAILS(ERR_INVALID, storage_check_name("", &e));
    assert_string_equal(e.msg, "Field name: must not be empty");
    FAILS(ERR_INVALID, storage_check_name(NULL, &e));
    FAILS(ERR_INVALID, storage_check_name(".", &e));
    assert_string_equal(e.msg, "Field name: must not be '.' or '..'");
    FAILS(ERR_INVALID, storage_check_name("..", &e));
}

/* ---- JSON validation ---- */

static bool jansson_ok(const char *s, size_t len)
{
    json_error_t je;
    json_t *v = json_loadb(s, len, JSON_DECODE_ANY, &je);
    json_decref(v);
    return v != NULL;
}

/* Asserts the validator's verdict and that jansson agrees. */
static void check_json(const char *s, size_t len, bool want)
{
    bool got = storage_json_valid(s, len);
    if (got != want)
        fail_msg("storage_json_valid(\"%.*s\") = %d, want %d", (int)len, s, got, want);
    if (jansson_ok(s, len) != want)
        fail_msg("jansson disagrees on \"%.*s\" (want %d)", (int)len, s, want);
}

static void test_json_valid(void **state)
{
    static const char *const valid[] = {
        "{}", "[]", "0", "-0", "1.5e10", "1E+2", "2e-3", "-12.25", "1e-400", "true", "false",
        "null", "\"\"", "\"str\"", " \t\r\n{\"a\" : [1, 2, {\"b\": null}], \"c\": \"d\"} \n",
        "\"\\u00e9\\n\\t\\\"\\\\\\/\\b\\f\\r\"", "\"\\ud83d\\ude00\"",
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
        "9223372036854775807", "-9223372036854775808", "{\"a\":1,\"a\":2}", "[[[[]]]]",
        "{\"a\": 1, \"b\": [1, 2]}", "1.7976931348623157e308",
    };
    static const char *const invalid[] = {
        "", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\"}", "{\"a\" 1}", "{1:2}",
        "01", "1.", ".5", "+1", "-", "1e", "1e+", "--1", "0x10", "tru", "nulls", "[1] [2]",
        "\"abc", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u12\"",
        "\"\\x\"", "\"\x01\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"", "9223372036854775808", "-9223372036854775809", "1e400", "-1e400",
        "NaN", "Infinity", "'a'", "[1 2]", "{\"a\":1 \"b\":2}", "\xef\xbb\xbf{}", "/* */ 1",
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(valid); i++)
        check_json(valid[i], strlen(valid[i]), true);
    for (size_t i = 0; i < ARRAY_SIZE(invalid); i++)
        check_json(invalid[i], strlen(invalid[i]), false);
    /* NUL bytes: inside a string, after the text, alone */
    check_json("\"a\0b\"", 5, false);
    check_json("{}\0", 3, false);
    check_json("\0", 1, false);
    assert_false(storage_json_valid(NULL, 0));
}

/* n nested arrays, the innermost holding inner ("" for none). */
static char *nested(size_t n, const char *inner)
{
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        buf_putc(&b, '[');
    buf_puts(&b, inner);
    for (size_t i = 0; i < n; i++)
        buf_putc(&b, ']');
    return buf_detach(&b, NULL);
}

static void test_json_depth(void **state)
{
    char *s;
    UNUSED(state);
    s = nested(2048, "");
    check_json(s, strlen(s), true);
    free(s);
    s = nested(2049, "");
    check_json(s, strlen(s), false);
    free(s);
    s = nested(2047, "1");
    check_json(s, strlen(s), true);
    free(s);
    s = nested(2048, "1");
    check_json(s, strlen(s), false);
    free(s);
    s = nested(100000, ""); /* no recursion: deep input costs no stack */
    check_json(s, strlen(s), false);
    free(s);
}

/* Random mutations of valid texts: the validator and jansson must always agree. */
static void test_json_differential(void **state)
{
    static const char *const seeds[] = {
        "{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\\ud83d\\ude00\"],"
        " \"b\": {\"c\": \"\xc3\xa9\"}}",
        "[0, 10, 9223372036854775807, 1e308, \"\\\\\\\"\", {}, []]",
    };
    /* no NUL: jansson stops at a raw NUL after a number ("[1\0]" loads); the validator refuses */
    static const char alphabet[] = "{}[]\",:\\u0123456789abcdefeE+-. tfnrl\x01\x80\xc3\xa9\xed\xff";
    char buf[256];
    unsigned seed = 3501;
    UNUSED(state);
    for (int round = 0; round < 20000; round++) {
        const char *base = seeds[round % ARRAY_SIZE(seeds)];
        size_t len = strlen(base);
        memcpy(buf, base, len);
        for (int m = 0; m < 1 + round % 3; m++) {
            size_t at = (size_t)rand_r(&seed) % (len + 1);
            char c = alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
            int op = rand_r(&seed) % 3;
            if (op == 0 && len < sizeof(buf) - 1) { /* insert */
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = c;
                len++;
            } else if (op == 1 && at < len) { /* delete */
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
            } else if (at < len) { /* replace */
                buf[at] = c;
            }
        }
        if (storage_json_valid(buf, len) != jansson_ok(buf, len))
            fail_msg("round %d: validator %d, jansson %d on \"%.*s\"", round,
                     storage_json_valid(buf, len), jansson_ok(buf, len), (int)len, buf);
    }
}

static void test_is_json(void **state)
{
    UNUSED(state);
    assert_true(storage_is_json("application/json", "{}", 2));
    assert_true(storage_is_json("Application/JSON; charset=utf-8", "[1]", 3));
    assert_true(storage_is_json("text/x; application/json", "1", 1));
    assert_false(storage_is_json("application/json", "{", 1));
    assert_false(storage_is_json("text/plain", "{}", 2));
    assert_false(storage_is_json("application/vnd.api+json", "{}", 2));
    assert_false(storage_is_json(NULL, "{}", 2));
    assert_false(storage_is_json("application/json", "", 0));
}

static void test_disposition(void **state)
{
    struct {
        const char *name, *want;
    } cases[] = {
        { "my_vpn_key", "attachment; filename=\"my_vpn_key\"" },
        { "a b.conf", "attachment; filename=\"a b.conf\"" },
        { "a\"b\\c", "attachment; filename=\"a_b_c\"; filename*=UTF-8''a%22b%5Cc" },
        { "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87.txt",
          "attachment; filename=\"____.txt\"; filename*=UTF-8''%D0%BA%D0%BB%D1%8E%D1%87.txt" },
        { "x\r\ny", "attachment; filename=\"x__y\"; filename*=UTF-8''x%0D%0Ay" },
        { "a;b=c", "attachment; filename=\"a;b=c\"" },
        { "", "attachment; filename=\"\"" },
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *got = storage_disposition(cases[i].name);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

static void test_model(void **state)
{
    struct buf b;
    UNUSED(state);
    buf_init(&b, 0);
    model_select_list(&storage_model, &b);
    assert_string_equal(b.data, "user_id, name, user_service_id, created, settings");
    buf_free(&b);
    assert_non_null(model_field(&storage_model, "data"));
    assert_true(model_field(&storage_model, "data")->flags & FF_NOFILTER);
}

/* ---- database fixtures ---- */

static struct db *DB(void **state)
{
    struct backend *b = *state;
    return b->db;
}

static int64_t q_int(struct db *db, const char *sql, const struct db_value *p, int n)
{
    struct err e = { 0 };
    int64_t v = 0;
    if (db_query_int(db, sql, p, n, &v, &e))
        fail_msg("%s: %s", sql, e.msg);
    return v;
}

/* Creates a user with a login unique in the run (cases share the database). */
static int64_t mkuser(struct db *db, const char *login)
{
    static int seq;
    char unique[64];
    snprintf(unique, sizeof(unique), "%s%d", login, ++seq);
    struct db_value p[] = { DB_TEXT(unique), DB_INT(0) };
    return q_int(db, "INSERT INTO users (login, created) VALUES ($1, $2) RETURNING user_id", p, 2);
}

/* SELECT expr FROM the storage row (user_id, name) as an integer. */
static int64_t col_of(struct db *db, int64_t user_id, const char *name, const char *expr)
{
    char sql[200];
    struct db_value p[] = { DB_INT(user_id), DB_TEXT(name) };
    snprintf(sql, sizeof(sql), "SELECT %s FROM storage WHERE user_id = $1 AND name = $2", expr);
    return q_int(db, sql, p, 2);
}

/* The number of storage rows of user_id. */
static int64_t count_of(struct db *db, int64_t user_id)
{
    struct db_value p[] = { DB_INT(user_id) };
    return q_int(db, "SELECT count(*) FROM storage WHERE user_id = $1", p, 1);
}

static int64_t mkservice(struct db *db, int64_t user_id)
{
    struct db_value p[] = { DB_INT(user_id) };
    return q_int(db,
                 "INSERT INTO user_services (user_id, service_id, created) VALUES ($1, 1, 0)"
                 " RETURNING user_service_id",
                 p, 1);
}

/* The stored settings text of (user_id, name), re-encoded canonically (owned). */
static char *settings_of(struct db *db, int64_t user_id, const char *name)
{
    struct err e = { 0 };
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(user_id), DB_TEXT(name) };
    if (db_query(db, "SELECT settings FROM storage WHERE user_id = $1 AND name = $2", p, 2, &r,
                 &e))
        fail_msg("settings_of: %s", e.msg);
    if (db_result_rows(r) != 1) {
        db_result_free(r);
        fail_msg("settings_of: no row");
    }
    json_t *v = json_loads(db_result_text(r, 0, 0), 0, NULL);
    db_result_free(r);
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(v);
    return s;
}

static void assert_settings(struct db *db, int64_t user_id, const char *name, const char *want)
{
    char *got = settings_of(db, user_id, name);
    assert_string_equal(got, want);
    free(got);
}

/* Reads (user_id, name) and compares the bytes with want[0..len). */
static void assert_bytes(struct db *db, int64_t user_id, const char *name, const char *want,
                         size_t len)
{
    struct err e = { 0 };
    struct storage_item it = { 0 };
    OK(storage_read(db, user_id, name, &it, &e));
    assert_int_equal(it.len, len);
    if (len)
        assert_memory_equal(it.data, want, len);
    assert_int_equal(it.data[len], '\0');
    storage_item_release(&it);
    assert_null(it.data);
}

static int pg_setup(const char *admin_url)
{
    struct err e = { 0 };
    char sql[160];
    if (db_open(admin_url, &g_pg_admin, &e)) {
        fprintf(stderr, "# cannot open %s: %s\n", admin_url, e.msg);
        return -1;
    }
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "billd_test_storage_%ld", (long)getpid());
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e))
        return -1;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e)) {
        fprintf(stderr, "# %s: %s\n", sql, e.msg);
        return -1;
    }
    if (testdb_pg_url(admin_url, g_pg_dbname, g_pg.url, sizeof(g_pg.url)) ||
        db_open(g_pg.url, &g_pg.db, &e) || migrate_run(g_pg.db, NULL, &e)) {
        fprintf(stderr, "# cannot prepare the test database %s: %s\n", g_pg.url, e.msg);
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
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    snprintf(g_lite_path, sizeof(g_lite_path), "/tmp/billd_test_storage_%ld.db", (long)getpid());
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

/* The database cases share one migrated database; each works on users of its own. */
static int have_db(void **state)
{
    struct backend *b = *state;
    return b->db ? 0 : -1;
}

/* ---- database cases ---- */

static void test_db_binary_roundtrip(void **state)
{
    struct err e = { 0 };
    struct db *db = DB(state);
    char all[512];
    int64_t u = mkuser(db, "alice");
    for (int i = 0; i < 512; i++)
        all[i] = (char)(i < 256 ? i : 511 - i);
    struct storage_write w = { .user_id = u, .name = "bytes", .data = all, .len = sizeof(all) };
    OK(storage_create(db, &w, 1700000000, &e));
    assert_bytes(db, u, "bytes", all, sizeof(all));
    assert_settings(db, u, "bytes", "{}");
    assert_int_equal(col_of(db, u, "bytes", "created"), 1700000000);

    /* empty data is an empty blob, not NULL */
    struct storage_write empty = { .user_id = u, .name = "empty" };
    OK(storage_create(db, &empty, 1, &e));
    assert_bytes(db, u, "empty", "", 0);
    assert_int_equal(col_of(db, u, "empty", "count(*)"), 1);
    assert_int_equal(col_of(db, u, "empty", "count(data)"), 1);

    /* a big random body */
    size_t n = (size_t)5 << 20;
    char *big = xmalloc(n);
    unsigned seed = 7;
    for (size_t i = 0; i < n; i++)
        big[i] = (char)rand_r(&seed);
    struct storage_write wb = { .user_id = u, .name = "big", .data = big, .len = n };
    OK(storage_create(db, &wb, 1, &e));
    assert_bytes(db, u, "big", big, n);
    free(big);
}

static void test_db_conflict_and_limits(void **state)
{
    struct err e = { 0 };
    struct db *db = DB(state);
    int64_t u = mkuser(db, "alice");
    struct storage_write w = { .user_id = u, .name = "k", .data = "v1", .len = 2 };
    OK(storage_create(db, &w, 1, &e));
    OK(db_begin(db, true, &e)); /* a failed statement aborts a PostgreSQL transaction */
    FAILS(ERR_CONFLICT, storage_create(db, &w, 1, &e));
    db_rollback(db);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.msg, "Can't save the data. Perhaps the record already exists?");
    assert_bytes(db, u, "k", "v1", 2);

    size_t n = STORAGE_DATA_MAX + 1;
    char *big = xcalloc(1, n);
    struct storage_write wb = { .user_id = u, .name = "big", .data = big, .len = n,
                                .has_data = true };
    FAILS(ERR_LIMIT, storage_create(db, &wb, 1, &e));
    assert_int_equal(e.status, 413);
    wb.name = "k";
    FAILS(ERR_LIMIT, storage_replace(db, &wb, &e));
    wb.name = "max";
    wb.len = STORAGE_DATA_MAX;
    OK(storage_create(db, &wb, 1, &e));
    free(big);
    assert_int_equal(col_of(db, u, "max", "count(*)"), 1);
    assert_bytes(db, u, "k", "v1", 2);
}

static void test_db_namespaces(void **state)
{
    struct err e = { 0 };
    struct db *db = DB(state);
    struct storage_item it = { 0 };
    int64_t a = mkuser(db, "alice"), b = mkuser(db, "bob");
    struct storage_write wa = { .user_id = a, .name = "my_vpn_key", .data = "A\0a", .len = 3 };
    struct storage_write wb = { .user_id = b, .name = "my_vpn_key", .data = "B\0b\xff", .len = 4 };
    OK(storage_create(db, &wa, 1, &e));
    OK(storage_create(db, &wb, 1, &e));
    assert_bytes(db, a, "my_vpn_key", "A\0a", 3);
    assert_bytes(db, b, "my_vpn_key", "B\0b\xff", 4);

    struct storage_write wo = { .user_id = b, .name = "bob_only", .data = "s", .len = 1 };
    OK(storage_create(db, &wo, 1, &e));
    FAILS(ERR_NOT_FOUND, storage_read(db, a, "bob_only", &it, &e));
    assert_int_equal(e.status, 404);
    assert_string_equal(e.msg, "Object not found. Check the ID.");
    assert_null(it.data);
    wo.user_id = a;
    wo.has_data = true;
    FAILS(ERR_NOT_FOUND, storage_replace(db, &wo, &e));
    FAILS(ERR_NOT_FOUND, storage_delete(db, a, "bob_only", &e));
    OK(storage_delete(db, a, "my_vpn_key", &e));
    FAILS(ERR_NOT_FOUND, storage_read(db, a, "my_vpn_key", &it, &e));
    assert_bytes(db, b, "my_vpn_key", "B\0b\xff", 4);
    assert_bytes(db, b, "bob_only", "s", 1);
}

static void test_db_replace(void **state)
{
    struct err e = { 0 };
    struct db *db = DB(state);
    struct storage_item it = { 0 };
    int64_t u = mkuser(db, "alice");
    int64_t usi = mkservice(db, u);
    json_t *extra = json_pack("{s:s,s:i}", "note", "hi", "json", 0);

    struct storage_write w = { .user_id = u, .name = "cfg", .data = "{\"a\":1}", .len = 7,
                               .json = true, .user_service_id = usi, .settings = extra };
    OK(storage_create(db, &w, 5, &e));
    assert_settings(db, u, "cfg", "{\"json\":1,\"note\":\"hi\"}");
    OK(storage_read(db, u, "cfg", &it, &e));
    assert_true(it.json);
    assert_int_equal(it.user_service_id, usi);
    storage_item_release(&it);

    /* new data without a JSON flag: the flag goes, other keys and the link stay */
    struct storage_write r1 = { .user_id = u, .name = "cfg", .data = "text\0", .len = 5,
                                .has_data = true };
    OK(storage_replace(db, &r1, &e));
    assert_bytes(db, u, "cfg", "text\0", 5);
    assert_settings(db, u, "cfg", "{\"note\":\"hi\"}");
    assert_int_equal(col_of(db, u, "cfg", "user_service_id"), usi);
    assert_int_equal(col_of(db, u, "cfg", "created"), 5);

    /* settings replaced, data kept: the flag follows the kept data */
    struct storage_write r2 = { .user_id = u, .name = "cfg", .data = "[1]", .len = 3,
                                .has_data = true, .json = true };
    OK(storage_replace(db, &r2, &e));
    json_t *fresh = json_pack("{s:i}", "x", 2);
    struct storage_write r3 = { .user_id = u, .name = "cfg", .settings = fresh };
    OK(storage_replace(db, &r3, &e));
    assert_settings(db, u, "cfg", "{\"json\":1,\"x\":2}");
    assert_bytes(db, u, "cfg", "[1]", 3);

    /* settings reset with JSON null; link removed */
    struct storage_write r4 = { .user_id = u, .name = "cfg", .settings = json_null(),
                                .has_service = true };
    OK(storage_replace(db, &r4, &e));
    assert_settings(db, u, "cfg", "{\"json\":1}");
    assert_int_equal(col_of(db, u, "cfg", "count(user_service_id)"), 0);
    json_decref(extra);
    json_decref(fresh);
}

static void test_db_services(void **state)
{
    struct err e = { 0 };
    struct db *db = DB(state);
    int64_t a = mkuser(db, "alice"), b = mkuser(db, "bob");
    int64_t usi_a = mkservice(db, a), usi_b = mkservice(db, b);
    int64_t deleted = -1;
    OK(storage_check_service(db, a, usi_a, &e));
    FAILS(ERR_NOT_FOUND, storage_check_service(db, a, usi_b, &e));
    assert_int_equal(e.status, 404);
    FAILS(ERR_NOT_FOUND, storage_check_service(db, a, 999999, &e));

    const char *names[] = { "vpn1", "vpn2", "other" };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        struct storage_write w = { .user_id = a, .name = names[i], .data = "x", .len = 1,
                                   .user_service_id = i < 2 ? usi_a : 0 };
        OK(storage_create(db, &w, 1, &e));
    }
    struct storage_write wb = { .user_id = b, .name = "vpn1", .data = "y", .len = 1,
                                .user_service_id = usi_b };
    OK(storage_create(db, &wb, 1, &e));
    OK(storage_delete_by_service(db, b, usi_a, &deleted, &e));
    assert_int_equal(deleted, 0); /* another user's service: nothing */
    OK(storage_delete_by_service(db, a, usi_a, &deleted, &e));
    assert_int_equal(deleted, 2);
    assert_int_equal(count_of(db, a), 1);
    assert_int_equal(count_of(db, b), 1);
    assert_bytes(db, a, "other", "x", 1);
    assert_bytes(db, b, "vpn1", "y", 1);
}

/* ---- main ---- */

struct case_def {
    const char *name;
    CMUnitTestFunction fn;
};

static const struct case_def pure_cases[] = {
    { "names", test_names },
    { "json_valid", test_json_valid },
    { "json_depth", test_json_depth },
    { "json_differential", test_json_differential },
    { "is_json", test_is_json },
    { "disposition", test_disposition },
    { "model", test_model },
};

static const struct case_def db_cases[] = {
    { "binary_roundtrip", test_db_binary_roundtrip },
    { "conflict_and_limits", test_db_conflict_and_limits },
    { "namespaces", test_db_namespaces },
    { "replace", test_db_replace },
    { "services", test_db_services },
};

#define NPURE ARRAY_SIZE(pure_cases)
#define NDB ARRAY_SIZE(db_cases)

/*
 * The PostgreSQL cases are registered only when BILLD_TEST_PG_URL is set
 * (cmocka 1.1 prints skipped tests as failures for prove).
 */
int main(void)
{
    static struct CMUnitTest all[NPURE + 2 * NDB];
    static char names[2 * NDB][64];
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0;
    if (nb == 1)
        fprintf(stderr, "# test_storage: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
    for (size_t i = 0; i < NPURE; i++, n++)
        all[n] = (struct CMUnitTest){ .name = pure_cases[i].name, .test_func = pure_cases[i].fn };
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < NDB; i++, n++) {
            char *nm = names[b * NDB + i];
            snprintf(nm, sizeof(names[0]), "%s_%s", backends[b]->name, db_cases[i].name);
            all[n] = (struct CMUnitTest){
                .name = nm,
                .test_func = db_cases[i].fn,
                .setup_func = have_db,
                .initial_state = backends[b],
            };
        }
    }
    return _cmocka_run_group_tests("test_storage", all, n, group_setup, group_teardown);
}
