/*
 * test_event.c — unit tests of src/core/event.c: the LIKE-mask matcher
 * (event_like), row matching (event_matches), the settings checks, and
 * event_find()/event_check_values() against a migrated database holding the
 * dev-seed bindings of data-model.md §6.2 — on a SQLite file and, when
 * BILLD_TEST_PG_URL names a throwaway PostgreSQL cluster, on a database
 * created for the run (dropped at the end).
 */
#include "common.h"
#include "core/event.h"
#include "db/db.h"
#include "db/migrate.h"
#include "util/log.h"
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- event_like ---- */

static void test_like_literal(void **state)
{
    UNUSED(state);
    assert_true(event_like("web", "web"));
    assert_false(event_like("web", "webhost"));
    assert_false(event_like("web", "xweb"));
    assert_false(event_like("web", "we"));
    assert_false(event_like("web", ""));
    assert_true(event_like("web_tariff", "web_tariff"));
    assert_true(event_like("a.b*c?d", "a.b*c?d"));   /* no regex or glob meaning */
    assert_false(event_like("a.b", "axb"));
    assert_true(event_like("a\\b", "a\\b"));         /* backslash is literal: no escapes */
    assert_false(event_like("a\\%", "a%x"));         /* … so \% is "\" then a wildcard */
    assert_true(event_like("a\\%", "a\\x"));
    assert_true(event_like("\"q\"", "\"q\""));
}

static void test_like_percent(void **state)
{
    UNUSED(state);
    assert_true(event_like("%", ""));
    assert_true(event_like("%", "anything at all"));
    assert_true(event_like("%%", "x"));
    assert_true(event_like("web%", "web"));
    assert_true(event_like("web%", "webhost"));
    assert_false(event_like("web%", "xweb"));
    assert_false(event_like("web%", "we"));
    assert_true(event_like("%web", "myweb"));
    assert_false(event_like("%web", "webx"));
    assert_true(event_like("%web%", "my-web-host"));
    assert_true(event_like("%web%", "web"));
    assert_false(event_like("%web%", "w-e-b"));
    assert_true(event_like("a%b%c", "abc"));
    assert_true(event_like("a%b%c", "a1b2c"));
    assert_true(event_like("a%b%c", "abbbcbc"));
    assert_false(event_like("a%b%c", "acb"));
    assert_true(event_like("%aab", "aaab"));        /* needs backtracking */
    assert_true(event_like("a%aa%ab", "aaaaab"));
    assert_false(event_like("a%aa%ab", "aaab"));
}

static void test_like_underscore(void **state)
{
    UNUSED(state);
    assert_true(event_like("_", "x"));
    assert_false(event_like("_", ""));
    assert_false(event_like("_", "xy"));
    assert_true(event_like("w_b", "web"));
    assert_false(event_like("w_b", "wb"));
    assert_true(event_like("___", "abc"));
    assert_true(event_like("web_tariff%", "web_tariff"));
    assert_true(event_like("web_tariff%", "webXtariff_max")); /* _ is a wildcard here too */
    assert_true(event_like("%_", "a"));
    assert_false(event_like("%_", ""));
    assert_true(event_like("_%_", "ab"));
    assert_false(event_like("_%_", "a"));
    /* one character, not one byte */
    assert_true(event_like("_", "ж"));
    assert_true(event_like("в_б", "веб"));
    assert_false(event_like("__", "ж"));
    assert_true(event_like("%б", "вебб"));
    assert_true(event_like("хостинг%", "хостинг-про"));
    assert_false(event_like("хостинг%", "Хостинг"));
}

static void test_like_empty_and_case(void **state)
{
    UNUSED(state);
    assert_true(event_like("", ""));
    assert_false(event_like("", "x"));
    /* case-sensitive, like MySQL comparing JSON text (utf8mb4_bin) */
    assert_false(event_like("web%", "Web"));
    assert_false(event_like("WEB", "web"));
    assert_true(event_like("Web%", "Webhost"));
}

/* ---- event_matches ---- */

static json_t *row(const char *name, const char *settings_json)
{
    json_t *s = settings_json ? json_loads(settings_json, 0, NULL) : json_null();
    assert_non_null(s);
    return json_pack("{s:i,s:s,s:s,s:s,s:i,s:o}", "id", 1, "kind", "UserService", "title", "t",
                     "name", name, "server_gid", 0, "settings", s);
}

static void test_matches(void **state)
{
    UNUSED(state);
    json_t *r = row("create", "{\"category\":\"web%\"}");
    assert_true(event_matches(r, "create", "web"));
    assert_true(event_matches(r, "CREATE", "webhost")); /* names: case-insensitive */
    assert_true(event_matches(r, "Create", "web"));
    assert_false(event_matches(r, "create", "xweb"));
    assert_false(event_matches(r, "remove", "web"));
    assert_false(event_matches(r, "creat", "web"));
    assert_false(event_matches(r, "create ", "web"));
    assert_true(event_matches(r, "create", NULL));      /* no category: every row of the name */
    assert_true(event_matches(r, "create", ""));
    assert_false(event_matches(r, NULL, "web"));
    json_decref(r);

    r = row("create", "{\"template_id\":\"x\"}");       /* no settings.category */
    assert_false(event_matches(r, "create", "web"));
    assert_true(event_matches(r, "create", NULL));
    assert_true(event_matches(r, "create", ""));
    json_decref(r);

    r = row("create", NULL);                            /* settings null */
    assert_false(event_matches(r, "create", "web"));
    assert_true(event_matches(r, "create", ""));
    json_decref(r);

    r = row("create", "{\"category\":5}");              /* a non-string mask never matches */
    assert_false(event_matches(r, "create", "5"));
    json_decref(r);

    r = row("user_password_reset", "{\"category\":\"%\"}");
    assert_true(event_matches(r, "USER_PASSWORD_RESET", "anything"));
    assert_true(event_matches(r, "user_password_reset", NULL));
    json_decref(r);

    r = row("create", "{\"category\":\"\"}");           /* empty mask: only an empty category */
    assert_false(event_matches(r, "create", "web"));
    assert_true(event_matches(r, "create", ""));
    json_decref(r);
}

/* ---- event_check_settings ---- */

static int check_json(const char *text, struct err *e)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    int rc = event_check_settings(v, e);
    json_decref(v);
    return rc;
}

static void test_check_settings(void **state)
{
    struct err e = { 0 };
    UNUSED(state);
    assert_int_equal(check_json("{}", &e), 0);
    assert_int_equal(check_json("{\"category\":\"web%\",\"template_id\":\"t\",\"cmd\":\"ls\","
                                "\"stdin\":\"x\",\"transport\":\"ssh\",\"other\":{\"a\":[1]}}",
                                &e),
                     0);
    for (const char *t = "ssh\0http\0mail\0local\0telegram\0"; *t; t += strlen(t) + 1) {
        char buf[64];
        snprintf(buf, sizeof(buf), "{\"transport\":\"%s\"}", t);
        assert_int_equal(check_json(buf, &e), 0);
    }
    assert_int_equal(check_json("[]", &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field settings: must be a JSON object");
    assert_int_equal(check_json("\"x\"", &e), ERR_INVALID);
    assert_int_equal(check_json("{\"category\":1}", &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field settings: category must be a string");
    assert_int_equal(check_json("{\"template_id\":\"\"}", &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field settings: template_id must be a non-empty string");
    assert_int_equal(check_json("{\"template_id\":[\"a\"]}", &e), ERR_INVALID);
    assert_int_equal(check_json("{\"cmd\":null}", &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field settings: cmd must be a string");
    assert_int_equal(check_json("{\"stdin\":{}}", &e), ERR_INVALID);
    assert_int_equal(check_json("{\"transport\":\"docker\"}", &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field settings: transport must be one of ssh|http|mail|local|telegram");
    assert_int_equal(check_json("{\"transport\":\"\"}", &e), ERR_INVALID);
    assert_int_equal(check_json("{\"transport\":\"SSH\"}", &e), ERR_INVALID);
    assert_int_equal(check_json("{\"transport\":\"ss\"}", &e), ERR_INVALID);
    assert_int_equal(check_json("{\"transport\":1}", &e), ERR_INVALID);
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

/* The dev-seed bindings (data-model.md §6.2) plus rows for the corner cases. */
static const char *const seed_sql[] = {
    "DELETE FROM events",
    "INSERT INTO events (id, kind, title, name, server_gid, settings) VALUES"
    " (1, 'UserService', 'User password reset', 'user_password_reset', 3,"
    "  '{\"category\":\"%\",\"template_id\":\"user_password_reset\"}'),"
    " (2, 'UserService', 'Create domain', 'create', 1, '{\"category\":\"domain_add\",\"cmd\":\"www create\"}'),"
    " (3, 'UserService', 'Remove domain', 'remove', 1, '{\"category\":\"domain_add\",\"cmd\":\"www delete\"}'),"
    " (4, 'UserService', 'Create MySQL', 'create', 2, '{\"category\":\"mysql\",\"cmd\":\"mysql create\"}'),"
    " (5, 'UserService', 'Remove MySQL', 'remove', 2, '{\"category\":\"mysql\",\"cmd\":\"mysql delete\"}'),"
    " (6, 'UserService', 'Block MySQL', 'block', 2, '{\"category\":\"mysql\",\"cmd\":\"mysql block\"}'),"
    " (7, 'UserService', 'Activate MySQL', 'activate', 2, '{\"category\":\"mysql\",\"cmd\":\"mysql activate\"}'),"
    " (8, 'UserService', 'Create web', 'CREATE', 1, '{\"category\":\"web%\",\"template_id\":\"web_tariff_create\"}'),"
    " (9, 'UserService', 'Docker', 'create', 0, '{\"transport\":\"docker\"}'),"
    " (10, 'UserService', 'No settings', 'create', NULL, NULL),"
    " (11, 'UserService', 'Update DNS', 'update', 0, '{\"category\":\"d_s\"}')",
};

static struct db *db_of(void **state)
{
    return ((struct backend *)*state)->db;
}

/* Runs event_find and returns the ids found as "1,2,3". */
static void find_ids(struct db *db, const char *name, const char *category, char *out,
                     size_t outlen)
{
    struct err e = { 0 };
    json_t *arr = NULL, *v;
    size_t i, n = 0;
    OK(event_find(db, name, category, &arr, &e));
    out[0] = '\0';
    json_array_foreach(arr, i, v) {
        n += (size_t)snprintf(out + n, outlen - n, "%s%lld", i ? "," : "",
                              (long long)json_integer_value(json_object_get(v, "id")));
        assert_true(n < outlen);
    }
    json_decref(arr);
}

#define ASSERT_FIND(db, name, cat, want)                                                      \
    do {                                                                                      \
        char got_[256];                                                                       \
        find_ids((db), (name), (cat), got_, sizeof(got_));                                    \
        if (strcmp(got_, (want)) != 0)                                                        \
            fail_msg("event_find(%s, %s) = [%s], want [%s]", (name), (cat) ? (cat) : "NULL",  \
                     got_, (want));                                                           \
    } while (0)

static void test_find(void **state)
{
    struct err e = { 0 };
    struct db *db = db_of(state);
    for (size_t i = 0; i < ARRAY_SIZE(seed_sql); i++)
        OK(db_exec_script(db, seed_sql[i], &e));

    ASSERT_FIND(db, "create", "domain_add", "2");
    ASSERT_FIND(db, "remove", "domain_add", "3");
    ASSERT_FIND(db, "CREATE", "mysql", "4");
    ASSERT_FIND(db, "remove", "mysql", "5");
    ASSERT_FIND(db, "block", "mysql", "6");
    ASSERT_FIND(db, "activate", "mysql", "7");
    ASSERT_FIND(db, "block", "domain_add", "");
    ASSERT_FIND(db, "create", "web", "8");
    ASSERT_FIND(db, "create", "webhost", "8");
    ASSERT_FIND(db, "create", "xweb", "");
    ASSERT_FIND(db, "create", "Web", "");       /* masks are case-sensitive */
    ASSERT_FIND(db, "update", "dns", "11");     /* _ matches one character */
    ASSERT_FIND(db, "update", "dжs", "11");
    ASSERT_FIND(db, "update", "ds", "");
    ASSERT_FIND(db, "update", "dnss", "");
    ASSERT_FIND(db, "user_password_reset", "mysql", "1");
    ASSERT_FIND(db, "USER_PASSWORD_RESET", NULL, "1");
    ASSERT_FIND(db, "user_password_reset", "", "1");
    /* no category: every binding of the name, rows without settings.category included */
    ASSERT_FIND(db, "create", NULL, "2,4,8,9,10");
    ASSERT_FIND(db, "create", "", "2,4,8,9,10");
    ASSERT_FIND(db, "remove", NULL, "3,5");
    ASSERT_FIND(db, "nothing", NULL, "");
    ASSERT_FIND(db, "nothing", "mysql", "");

    /* the rows come back in the model's JSON form */
    json_t *arr = NULL;
    OK(event_find(db, "create", "domain_add", &arr, &e));
    char *s = json_dumps(json_array_get(arr, 0), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"id\":2,\"kind\":\"UserService\",\"name\":\"create\","
                           "\"server_gid\":1,\"settings\":{\"category\":\"domain_add\","
                           "\"cmd\":\"www create\"},\"title\":\"Create domain\"}");
    free(s);
    json_decref(arr);
}

/* Runs event_check_values on the JSON object text and returns the code. */
static int check_values(struct db *db, const char *text, bool create, char **normalised,
                        struct err *e)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    int rc = event_check_values(db, v, create, e);
    if (normalised)
        *normalised = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(v);
    return rc;
}

static void expect_values(struct db *db, const char *in, bool create, const char *want)
{
    struct err e = { 0 };
    char *got = NULL;
    OK(check_values(db, in, create, &got, &e));
    assert_string_equal(got, want);
    free(got);
}

static void expect_invalid(struct db *db, const char *in, bool create, const char *msg)
{
    struct err e = { 0 };
    assert_int_equal(check_values(db, in, create, NULL, &e), ERR_INVALID);
    assert_string_equal(e.msg, msg);
}

static void test_check_values(void **state)
{
    struct db *db = db_of(state);
    expect_values(db, "{\"name\":\"create\",\"title\":\"t\"}", true,
                  "{\"name\":\"create\",\"server_gid\":0,\"title\":\"t\"}");
    expect_values(db, "{\"title\":\"t\"}", false, "{\"title\":\"t\"}");
    expect_values(db, "{\"kind\":\"\",\"server_gid\":\"2\"}", false,
                  "{\"kind\":\"UserService\",\"server_gid\":2}");
    expect_values(db, "{\"kind\":null,\"server_gid\":null}", true,
                  "{\"kind\":\"UserService\",\"server_gid\":null}");
    expect_values(db, "{\"server_gid\":0}", false, "{\"server_gid\":0}");
    expect_values(db, "{\"settings\":\"{\\\"category\\\":\\\"web%\\\"}\"}", false,
                  "{\"settings\":{\"category\":\"web%\"}}");
    expect_values(db, "{\"settings\":null}", false, "{\"settings\":null}");
    expect_invalid(db, "{\"server_gid\":99}", false,
                   "Field server_gid: server group 99 does not exist");
    expect_invalid(db, "{\"server_gid\":\"x\"}", false, "Field server_gid: expected an integer");
    expect_invalid(db, "{\"settings\":[1]}", false, "Field settings: must be a JSON object");
    expect_invalid(db, "{\"settings\":\"nope\"}", false, "Field settings: must be a JSON object");
    expect_invalid(db, "{\"settings\":{\"transport\":\"x\"}}", true,
                   "Field settings: transport must be one of ssh|http|mail|local|telegram");
    expect_invalid(db, "{\"name\":\"\"}", false, "Field required: name");
    expect_invalid(db, "{\"title\":null}", false, "Field required: title");
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
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "billd_test_event_%ld", (long)getpid());
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
    snprintf(g_lite_path, sizeof(g_lite_path), "/tmp/billd_test_event_%ld.db", (long)getpid());
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

/* Per-case setup of the database cases: the schema is in place. */
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

static const struct {
    const char *name;
    CMUnitTestFunction fn;
} db_cases[] = {
    { "find", test_find },
    { "check_values", test_check_values },
};

/*
 * One group: the pure cases, then the database cases on SQLite and — only
 * when BILLD_TEST_PG_URL is set — on PostgreSQL.
 */
int main(void)
{
    static const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_like_literal),
        cmocka_unit_test(test_like_percent),
        cmocka_unit_test(test_like_underscore),
        cmocka_unit_test(test_like_empty_and_case),
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_check_settings),
    };
    static struct CMUnitTest all[ARRAY_SIZE(pure) + 2 * ARRAY_SIZE(db_cases)];
    static char names[2 * ARRAY_SIZE(db_cases)][64];
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0, k = 0;
    if (nb == 1)
        fprintf(stderr, "# test_event: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
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
    return _cmocka_run_group_tests("test_event", all, n, group_setup, group_teardown);
}
