/*
 * test_config_store.c — unit tests of src/core/config_store.c: the deep merge
 * (config_store_merge, a pure function), key checks, and the reads and
 * sub-key writes against a migrated database (the seeded config rows) — on a
 * SQLite file and, when BILLD_TEST_PG_URL names a throwaway PostgreSQL
 * cluster, on a database created for the run (dropped at the end).
 */
#include "common.h"
#include "core/config_store.h"
#include "db/db.h"
#include "db/migrate.h"
#include "util/log.h"
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- config_store_merge ---- */

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad JSON in the test: %s: %s", text, je.text);
    return v;
}

/* Merges patch into base (both JSON texts) and compares the canonical result with want. */
static void expect_merge(const char *base, const char *patch, const char *want)
{
    json_t *b = parse(base), *p = parse(patch);
    char *before_b = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *before_p = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_t *m = config_store_merge(b, p);
    char *got = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *after_b = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *after_p = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (strcmp(got, want) != 0)
        fail_msg("merge(%s, %s) = %s, want %s", base, patch, got, want);
    assert_string_equal(before_b, after_b); /* the inputs are not changed */
    assert_string_equal(before_p, after_p);
    free(before_b);
    free(before_p);
    free(got);
    free(after_b);
    free(after_p);
    json_decref(m);
    json_decref(b);
    json_decref(p);
}

static void test_merge_flat(void **state)
{
    UNUSED(state);
    expect_merge("{}", "{}", "{}");
    expect_merge("{\"a\":1}", "{}", "{\"a\":1}"); /* a top-level {} changes nothing */
    expect_merge("{\"a\":1}", "{\"b\":2}", "{\"a\":1,\"b\":2}");
    expect_merge("{\"a\":1,\"b\":2}", "{\"a\":3}", "{\"a\":3,\"b\":2}");
    expect_merge("{\"a\":\"x\"}", "{\"a\":true}", "{\"a\":true}");
    expect_merge("{\"a\":1}", "{\"a\":\"s\",\"c\":1.5}", "{\"a\":\"s\",\"c\":1.5}");
}

static void test_merge_nested(void **state)
{
    UNUSED(state);
    expect_merge("{\"p\":{\"x\":1,\"y\":2},\"q\":0}", "{\"p\":{\"y\":3,\"z\":4}}",
                 "{\"p\":{\"x\":1,\"y\":3,\"z\":4},\"q\":0}");
    expect_merge("{\"a\":{\"b\":{\"c\":1,\"d\":2}}}", "{\"a\":{\"b\":{\"d\":5}}}",
                 "{\"a\":{\"b\":{\"c\":1,\"d\":5}}}");
    /* an object patch on a key that is absent or not an object starts from {} */
    expect_merge("{}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}");
    expect_merge("{\"a\":5}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}");
    expect_merge("{\"a\":[1,2]}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}");
    /* an object replaced by a scalar */
    expect_merge("{\"a\":{\"b\":1}}", "{\"a\":7}", "{\"a\":7}");
    /* the seeded billing key: switch one nested switch */
    expect_merge("{\"currency\":\"RUB\",\"partner\":{\"income_percent\":0},\"type\":\"Simpler\"}",
                 "{\"partner\":{\"income_percent\":20},\"type\":\"Honest\"}",
                 "{\"currency\":\"RUB\",\"partner\":{\"income_percent\":20},\"type\":\"Honest\"}");
}

static void test_merge_null_deletes(void **state)
{
    UNUSED(state);
    expect_merge("{\"a\":1,\"b\":2}", "{\"a\":null}", "{\"b\":2}");
    expect_merge("{\"a\":1}", "{\"zz\":null}", "{\"a\":1}"); /* deleting nothing */
    expect_merge("{\"p\":{\"x\":1,\"y\":2}}", "{\"p\":{\"x\":null}}", "{\"p\":{\"y\":2}}");
    expect_merge("{\"p\":{\"x\":1}}", "{\"p\":null}", "{}");
    /* nulls inside a new sub-object are dropped too */
    expect_merge("{}", "{\"p\":{\"x\":null,\"y\":1}}", "{\"p\":{\"y\":1}}");
}

static void test_merge_empty_object_resets(void **state)
{
    UNUSED(state);
    expect_merge("{\"p\":{\"x\":1,\"y\":{\"z\":2}},\"q\":1}", "{\"p\":{}}", "{\"p\":{},\"q\":1}");
    expect_merge("{\"p\":{\"y\":{\"z\":2},\"k\":1}}", "{\"p\":{\"y\":{}}}",
                 "{\"p\":{\"k\":1,\"y\":{}}}");
    expect_merge("{}", "{\"p\":{}}", "{\"p\":{}}");
    expect_merge("{\"p\":3}", "{\"p\":{}}", "{\"p\":{}}");
}

static void test_merge_arrays_replaced(void **state)
{
    UNUSED(state);
    expect_merge("{\"a\":[1,2,3]}", "{\"a\":[4]}", "{\"a\":[4]}");
    expect_merge("{\"a\":[1,2,3]}", "{\"a\":[]}", "{\"a\":[]}");
    expect_merge("{\"a\":{\"b\":1}}", "{\"a\":[{\"c\":null}]}", "{\"a\":[{\"c\":null}]}");
    expect_merge("{\"a\":1}", "{\"a\":[null]}", "{\"a\":[null]}"); /* nulls in arrays stay */
}

static void test_merge_non_objects(void **state)
{
    UNUSED(state);
    /* a base that is not an object counts as {} */
    expect_merge("[1,2]", "{\"a\":1}", "{\"a\":1}");
    expect_merge("\"text\"", "{\"a\":{\"b\":null,\"c\":1}}", "{\"a\":{\"c\":1}}");
    expect_merge("null", "{}", "{}");
    expect_merge("7", "{}", "{}");
    /* a patch that is not an object replaces the value */
    expect_merge("{\"a\":1}", "[1]", "[1]");
    expect_merge("{\"a\":1}", "\"s\"", "\"s\"");
    expect_merge("{\"a\":1}", "42", "42");
    expect_merge("{\"a\":1}", "null", "null");
}

/* ---- keys ---- */

static void test_keys(void **state)
{
    struct err e = { 0 };
    UNUSED(state);
    assert_true(config_store_key_protected("_shm"));
    assert_true(config_store_key_protected("_"));
    assert_false(config_store_key_protected("shm_"));
    assert_false(config_store_key_protected(""));
    assert_false(config_store_key_protected(NULL));

    assert_int_equal(config_store_check_key("billing", &e), 0);
    assert_int_equal(config_store_check_key("_shm", &e), 0);
    assert_int_equal(config_store_check_key("a/b.c-d", &e), 0);
    assert_int_equal(config_store_check_key("12345678901234567890123456789012", &e), 0);
    assert_int_equal(config_store_check_key("ключключключключключключключключ", &e), 0);
    assert_int_equal(config_store_check_key("123456789012345678901234567890123", &e),
                     ERR_INVALID);
    assert_string_equal(e.msg, "Field key: longer than 32 characters");
    assert_int_equal(config_store_check_key("", &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field required: key");
    assert_int_equal(config_store_check_key(NULL, &e), ERR_INVALID);
    assert_int_equal(config_store_check_key("a\nb", &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field key: must not contain control characters");
    assert_int_equal(config_store_check_key("a\x7f", &e), ERR_INVALID);
}

/* ---- database cases ---- */

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

static struct db *db_of(void **state)
{
    return ((struct backend *)*state)->db;
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* The stored value of key, canonical (owned), or NULL when absent. */
static char *stored(struct db *db, const char *key)
{
    struct err e = { 0 };
    json_t *v = NULL;
    int rc = config_store_get(db, key, &v, &e);
    if (rc == ERR_NOT_FOUND)
        return NULL;
    OK(rc);
    char *s = dump(v);
    json_decref(v);
    return s;
}

static void test_reads(void **state)
{
    struct db *db = db_of(state);
    char *s = stored(db, "company");
    assert_string_equal(s, "{\"name\":\"My Company LTD\"}");
    free(s);
    s = stored(db, "billing");
    assert_string_equal(s, "{\"currency\":\"RUB\",\"partner\":{\"income_percent\":0},"
                           "\"type\":\"Simpler\"}");
    free(s);
    assert_null(stored(db, "no_such_key"));

    json_t *v = config_store_lookup(db, "billing", "partner.income_percent");
    assert_true(json_is_integer(v) && json_integer_value(v) == 0);
    json_decref(v);
    v = config_store_lookup(db, "billing", "currency");
    assert_string_equal(json_string_value(v), "RUB");
    json_decref(v);
    assert_null(config_store_lookup(db, "billing", "partner.nope"));
    assert_null(config_store_lookup(db, "nope", "x"));
    v = config_store_lookup(db, "company", NULL);
    assert_true(json_is_object(v));
    json_decref(v);
}

static void test_merge_into(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    json_t *patch = parse("{\"partner\":{\"income_percent\":20},\"type\":null,\"x\":{}}");
    json_t *out = NULL;
    OK(config_store_merge_into(db, "billing", patch, &out, &e));
    char *s = dump(out);
    assert_string_equal(s, "{\"currency\":\"RUB\",\"partner\":{\"income_percent\":20},\"x\":{}}");
    free(s);
    json_decref(out);
    s = stored(db, "billing");
    assert_string_equal(s, "{\"currency\":\"RUB\",\"partner\":{\"income_percent\":20},\"x\":{}}");
    free(s);

    out = NULL;
    assert_int_equal(config_store_merge_into(db, "no_such_key", patch, &out, &e), ERR_NOT_FOUND);
    assert_int_equal(e.status, 404);
    assert_string_equal(e.msg, "Object not found. Check the ID.");
    assert_null(out);
    assert_null(stored(db, "no_such_key"));
    json_decref(patch);
}

static void test_remove_subkey(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    json_t *out = NULL;
    OK(config_store_remove_subkey(db, "pay_systems", "yoomoney", &out, &e));
    char *s = dump(out);
    assert_string_equal(s, "{\"manual\":{\"name\":\"Платеж\",\"show_for_client\":false}}");
    free(s);
    json_decref(out);
    OK(config_store_remove_subkey(db, "pay_systems", "yoomoney", &out, &e)); /* absent: no-op */
    s = stored(db, "pay_systems");
    assert_string_equal(s, "{\"manual\":{\"name\":\"Платеж\",\"show_for_client\":false}}");
    free(s);
    json_decref(out);

    assert_int_equal(config_store_remove_subkey(db, "no_such_key", "a", &out, &e), ERR_NOT_FOUND);
    assert_int_equal(e.status, 404);

    struct db_value p[] = { DB_TEXT("list"), DB_TEXT("[1,2]") };
    OK(db_exec(db, "INSERT INTO config (key, value) VALUES ($1, $2)", p, 2, NULL, &e));
    assert_int_equal(config_store_remove_subkey(db, "list", "a", &out, &e), ERR_INVALID);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.msg, "The value of list is not an object");
}

/* ---- setup ---- */

static int pg_setup(const char *admin_url)
{
    struct err e = { 0 };
    char sql[160];
    if (db_open(admin_url, &g_pg_admin, &e)) {
        fprintf(stderr, "# cannot open %s: %s\n", admin_url, e.msg);
        return -1;
    }
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "billd_test_config_%ld", (long)getpid());
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e))
        return -1;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e) ||
        testdb_pg_url(admin_url, g_pg_dbname, g_pg.url, sizeof(g_pg.url)) ||
        db_open(g_pg.url, &g_pg.db, &e)) {
        fprintf(stderr, "# cannot create the test database: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    struct err e = { 0 };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    UNUSED(state);
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    snprintf(g_lite_path, sizeof(g_lite_path), "/tmp/billd_test_config_%ld.db", (long)getpid());
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

/* Per-case setup of the database cases: the schema and its seed are in place. */
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

/* ---- main ---- */

/* The database cases of one engine run in this order on one database. */
static const struct {
    const char *name;
    CMUnitTestFunction fn;
} db_cases[] = {
    { "reads", test_reads },
    { "merge_into", test_merge_into },
    { "remove_subkey", test_remove_subkey },
};

/*
 * One group: the pure cases, then the database cases on SQLite and — only
 * when BILLD_TEST_PG_URL is set — on PostgreSQL.
 */
int main(void)
{
    static const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_merge_flat),
        cmocka_unit_test(test_merge_nested),
        cmocka_unit_test(test_merge_null_deletes),
        cmocka_unit_test(test_merge_empty_object_resets),
        cmocka_unit_test(test_merge_arrays_replaced),
        cmocka_unit_test(test_merge_non_objects),
        cmocka_unit_test(test_keys),
    };
    static struct CMUnitTest all[ARRAY_SIZE(pure) + 2 * ARRAY_SIZE(db_cases)];
    static char names[2 * ARRAY_SIZE(db_cases)][64];
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0, k = 0;
    if (nb == 1)
        fprintf(stderr, "# test_config_store: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
    for (size_t i = 0; i < ARRAY_SIZE(pure); i++)
        all[n++] = pure[i];
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < ARRAY_SIZE(db_cases); i++, n++, k++) {
            snprintf(names[k], sizeof(names[k]), "%s_%s", backends[b]->name, db_cases[i].name);
            all[n] = (struct CMUnitTest){
                .name = names[k],
                .test_func = db_cases[i].fn,
                .setup_func = migrated,
                .initial_state = backends[b],
            };
        }
    }
    return _cmocka_run_group_tests("test_config_store", all, n, group_setup, group_teardown);
}
