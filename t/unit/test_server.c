/*
 * test_server.c — unit tests of src/core/server.c: the pure server choice
 * (weighted random with a seeded generator, by-one, evenly, eligibility,
 * rejection sampling), and on a real database (a fresh SQLite file, plus a
 * PostgreSQL database created for the run when BILLD_TEST_PG_URL is set)
 * server_select, the services counter, the write checks and the delete
 * guards.
 */
#include "common.h"
#include "core/server.h"
#include "db/db.h"
#include "db/migrate.h"
#include "util/log.h"
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- a deterministic generator: splitmix64 ---- */

static uint64_t splitmix64(void *ctx)
{
    uint64_t *s = ctx;
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A scripted generator: returns the values of an array in turn. */
struct script {
    const uint64_t *v;
    size_t n, next;
};

static uint64_t scripted(void *ctx)
{
    struct script *s = ctx;
    assert_true(s->next < s->n);
    return s->v[s->next++];
}

#define CAND(id, w, count, max) { (id), (w), (count), (max), true }

/* Draws n times and counts how often each of the first 4 server ids (1..4) comes out. */
static void draw(enum server_group_type type, const struct server_candidate *c, size_t nc,
                 int n, uint64_t seed, int counts[5])
{
    memset(counts, 0, 5 * sizeof(int));
    for (int i = 0; i < n; i++) {
        int64_t id = -1;
        assert_int_equal(server_choose(type, c, nc, splitmix64, &seed, &id), 0);
        assert_true(id >= 1 && id <= 4);
        counts[id]++;
    }
}

/* ---- pure choice ---- */

static void test_group_type_parse(void **state)
{
    enum server_group_type t = SERVER_GROUP_EVENLY;
    UNUSED(state);
    assert_int_equal(server_group_type_parse("random", &t), 0);
    assert_int_equal(t, SERVER_GROUP_RANDOM);
    assert_int_equal(server_group_type_parse("by-one", &t), 0);
    assert_int_equal(t, SERVER_GROUP_BY_ONE);
    assert_int_equal(server_group_type_parse("evenly", &t), 0);
    assert_int_equal(t, SERVER_GROUP_EVENLY);
    assert_int_equal(server_group_type_parse("Random", &t), ERR_INVALID);
    assert_int_equal(server_group_type_parse("", &t), ERR_INVALID);
    assert_int_equal(server_group_type_parse(NULL, &t), ERR_INVALID);
}

static void test_random_weighted(void **state)
{
    const struct server_candidate c[] = { CAND(1, 300, 0, -1), CAND(2, 100, 0, -1) };
    int counts[5];
    UNUSED(state);
    draw(SERVER_GROUP_RANDOM, c, 2, 20000, 42, counts);
    /* 3:1 → 75 % / 25 %; the standard deviation of 20000 draws is about 0.3 % */
    assert_in_range(counts[1], 14700, 15300);
    assert_in_range(counts[2], 4700, 5300);
    assert_int_equal(counts[1] + counts[2], 20000);
}

static void test_random_zero_weight(void **state)
{
    const struct server_candidate c[] = { CAND(1, 0, 0, -1), CAND(2, 5, 0, -1),
                                          CAND(3, 0, 0, -1) };
    const struct server_candidate zero[] = { CAND(1, 0, 0, -1), CAND(2, 0, 0, -1),
                                             CAND(3, -7, 0, -1) };
    int counts[5];
    UNUSED(state);
    draw(SERVER_GROUP_RANDOM, c, 3, 2000, 7, counts);
    assert_int_equal(counts[2], 2000); /* weight 0 is never drawn next to a positive weight */
    draw(SERVER_GROUP_RANDOM, zero, 3, 9000, 7, counts);
    for (int id = 1; id <= 3; id++) /* all zero (negative counts as 0): uniform */
        assert_in_range(counts[id], 2800, 3200);
}

static void test_random_eligibility(void **state)
{
    struct server_candidate c[] = { CAND(1, 100, 5, 5), CAND(2, 100, 0, -1),
                                    CAND(3, 100, 2, 3), CAND(4, 100, 0, -1) };
    int counts[5];
    int64_t id = -1;
    uint64_t seed = 1;
    UNUSED(state);
    c[3].enabled = false;
    draw(SERVER_GROUP_RANDOM, c, 4, 4000, 3, counts);
    assert_int_equal(counts[1], 0); /* full: services_count reached max_services */
    assert_int_equal(counts[4], 0); /* disabled */
    assert_in_range(counts[2], 1800, 2200);
    assert_in_range(counts[3], 1800, 2200);
    c[1].enabled = false;
    c[2].services_count = 3;
    assert_int_equal(server_choose(SERVER_GROUP_RANDOM, c, 4, splitmix64, &seed, &id),
                     ERR_NOT_FOUND);
    assert_int_equal(server_choose(SERVER_GROUP_BY_ONE, c, 4, NULL, NULL, &id), ERR_NOT_FOUND);
    assert_int_equal(server_choose(SERVER_GROUP_EVENLY, c, 4, NULL, NULL, &id), ERR_NOT_FOUND);
    assert_int_equal(server_choose(SERVER_GROUP_RANDOM, c, 0, NULL, NULL, &id), ERR_NOT_FOUND);
    assert_int_equal(id, -1);
}

static void test_random_rejection(void **state)
{
    /* total weight 3: 2^64 mod 3 = 1, so 0 is rejected; 4 % 3 = 1 → the second server */
    const struct server_candidate c[] = { CAND(10, 1, 0, -1), CAND(20, 1, 0, -1),
                                          CAND(30, 1, 0, -1) };
    const uint64_t v[] = { 0, 4, UINT64_MAX };
    struct script s = { v, ARRAY_SIZE(v), 0 };
    int64_t id = -1;
    UNUSED(state);
    assert_int_equal(server_choose(SERVER_GROUP_RANDOM, c, 3, scripted, &s, &id), 0);
    assert_int_equal(id, 20);
    assert_int_equal(s.next, 2);
    /* UINT64_MAX % 3 = 0 → the first server */
    assert_int_equal(server_choose(SERVER_GROUP_RANDOM, c, 3, scripted, &s, &id), 0);
    assert_int_equal(id, 10);
}

static void test_random_huge_weights(void **state)
{
    /* weights are capped, so the sum cannot overflow: both stay drawable */
    const struct server_candidate c[] = { CAND(1, INT64_MAX, 0, -1), CAND(2, INT64_MAX, 0, -1),
                                          CAND(3, 1, 0, -1) };
    const uint64_t total = 2 * (uint64_t)SERVER_MAX_WEIGHT + 1;
    /* a multiple of total above the rejection threshold */
    const uint64_t base = UINT64_MAX - UINT64_MAX % total - total;
    const uint64_t v[] = { base + SERVER_MAX_WEIGHT - 1, base + SERVER_MAX_WEIGHT,
                           base + 2 * SERVER_MAX_WEIGHT };
    struct script s = { v, ARRAY_SIZE(v), 0 };
    int64_t id = -1;
    UNUSED(state);
    assert_int_equal(server_choose(SERVER_GROUP_RANDOM, c, 3, scripted, &s, &id), 0);
    assert_int_equal(id, 1);
    assert_int_equal(server_choose(SERVER_GROUP_RANDOM, c, 3, scripted, &s, &id), 0);
    assert_int_equal(id, 2);
    assert_int_equal(server_choose(SERVER_GROUP_RANDOM, c, 3, scripted, &s, &id), 0);
    assert_int_equal(id, 3);
}

static void test_system_rng(void **state)
{
    const struct server_candidate c[] = { CAND(1, 1, 0, -1), CAND(2, 1, 0, -1) };
    int64_t id = -1;
    UNUSED(state);
    assert_int_equal(server_choose(SERVER_GROUP_RANDOM, c, 2, NULL, NULL, &id), 0);
    assert_true(id == 1 || id == 2);
    assert_true(server_rng_system(NULL) != server_rng_system(NULL));
}

static void test_by_one_and_evenly(void **state)
{
    struct server_candidate c[] = { CAND(4, 100, 7, -1), CAND(2, 100, 9, -1),
                                    CAND(3, 100, 9, -1), CAND(1, 100, 1, -1),
                                    CAND(5, 100, 1, -1) };
    int64_t id = -1;
    UNUSED(state);
    assert_int_equal(server_choose(SERVER_GROUP_BY_ONE, c, 5, NULL, NULL, &id), 0);
    assert_int_equal(id, 2); /* highest count 9: servers 2 and 3 → lowest id */
    assert_int_equal(server_choose(SERVER_GROUP_EVENLY, c, 5, NULL, NULL, &id), 0);
    assert_int_equal(id, 1); /* lowest count 1: servers 1 and 5 → lowest id */
    c[1].max_services = 9; /* server 2 is full */
    c[3].enabled = false;  /* server 1 is disabled */
    assert_int_equal(server_choose(SERVER_GROUP_BY_ONE, c, 5, NULL, NULL, &id), 0);
    assert_int_equal(id, 3);
    assert_int_equal(server_choose(SERVER_GROUP_EVENLY, c, 5, NULL, NULL, &id), 0);
    assert_int_equal(id, 5);
    c[2].max_services = 0; /* max 0: never eligible */
    assert_int_equal(server_choose(SERVER_GROUP_BY_ONE, c, 5, NULL, NULL, &id), 0);
    assert_int_equal(id, 4);
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

/* Asserts that call fails with code want and a message containing text. */
#define FAILS(want, text, call)                                                               \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != (want) || !strstr(e.msg, (text)))                                          \
            fail_msg("%s:%d: %s = %d (%s), want %d with \"%s\"", __FILE__, __LINE__, #call,   \
                     rc_, e.msg, (want), (text));                                             \
    } while (0)

static struct db *db_of(void **state)
{
    return ((struct backend *)*state)->db;
}

static void sql(struct db *db, const char *text)
{
    struct err e = { 0 };
    if (db_exec_script(db, text, &e))
        fail_msg("%s: %s", text, e.msg);
}

static int64_t q_int(struct db *db, const char *text)
{
    struct err e = { 0 };
    int64_t v = 0;
    if (db_query_int(db, text, NULL, 0, &v, &e))
        fail_msg("%s: %s", text, e.msg);
    return v;
}

static int pg_setup(const char *admin_url)
{
    struct err e = { 0 };
    char text[160];
    if (db_open(admin_url, &g_pg_admin, &e))
        return fprintf(stderr, "# cannot open %s: %s\n", admin_url, e.msg), -1;
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "billd_test_server_%ld", (long)getpid());
    snprintf(text, sizeof(text), "DROP DATABASE IF EXISTS %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, text, &e))
        return -1;
    snprintf(text, sizeof(text), "CREATE DATABASE %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, text, &e))
        return fprintf(stderr, "# %s: %s\n", text, e.msg), -1;
    if (testdb_pg_url(admin_url, g_pg_dbname, g_pg.url, sizeof(g_pg.url)) ||
        db_open(g_pg.url, &g_pg.db, &e))
        return fprintf(stderr, "# cannot open %s: %s\n", g_pg.url, e.msg), -1;
    return 0;
}

static int group_setup(void **state)
{
    struct err e = { 0 };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    UNUSED(state);
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    snprintf(g_lite_path, sizeof(g_lite_path), "/tmp/billd_test_server_%ld.db", (long)getpid());
    testdb_lite_remove(g_lite_path);
    snprintf(g_lite.url, sizeof(g_lite.url), "sqlite://%s", g_lite_path);
    if (db_open(g_lite.url, &g_lite.db, &e) || migrate_run(g_lite.db, NULL, &e))
        return fprintf(stderr, "# sqlite: %s\n", e.msg), -1;
    if (!pg || !*pg)
        return 0;
    if (pg_setup(pg) || migrate_run(g_pg.db, NULL, &e))
        return fprintf(stderr, "# pg: %s\n", e.msg), -1;
    return 0;
}

static int group_teardown(void **state)
{
    struct err e = { 0 };
    char text[160];
    UNUSED(state);
    db_close(g_lite.db);
    testdb_lite_remove(g_lite_path);
    db_close(g_pg.db);
    if (g_pg_admin) {
        snprintf(text, sizeof(text), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_pg_dbname);
        if (db_exec_script(g_pg_admin, text, &e))
            fprintf(stderr, "# %s: %s\n", text, e.msg);
        db_close(g_pg_admin);
    }
    return 0;
}

/* Each database case starts from empty servers, user services, events 2+ and identities. */
static int clean(void **state)
{
    struct db *db = db_of(state);
    sql(db, "DELETE FROM servers; DELETE FROM user_services; DELETE FROM events WHERE id > 1;"
            " DELETE FROM identities; DELETE FROM servers_groups WHERE group_id > 4");
    return 0;
}

static void test_db_select(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    int64_t id = -1;
    uint64_t seed = 99;
    sql(db, "INSERT INTO servers_groups (group_id, name, transport, type) VALUES"
            " (10, 'r', 'ssh', 'random'), (11, 'b', 'ssh', 'by-one'), (12, 'e', 'ssh', 'evenly'),"
            " (13, 'x', 'ssh', 'bogus'), (14, 'empty', 'ssh', 'random')");
    sql(db, "INSERT INTO servers (server_id, server_gid, transport, weight, services_count,"
            " enabled, settings) VALUES"
            " (1, 10, 'ssh', 0, 0, 1, NULL), (2, 10, 'ssh', 10, 0, 1, '{\"max_services\":1}'),"
            " (3, 10, 'ssh', 10, 0, 0, NULL), (4, 10, 'ssh', NULL, 0, 1, '{\"max_services\":\"2\"}'),"
            " (5, 11, 'ssh', 100, 3, 1, NULL), (6, 11, 'ssh', 100, 8, 1, '{\"max_services\":8}'),"
            " (7, 11, 'ssh', 100, 3, 1, '{\"other\":true}'),"
            " (8, 12, 'ssh', 100, 3, 1, NULL), (9, 12, 'ssh', 100, 1, 1, NULL),"
            " (10, 12, 'ssh', 100, 1, 1, NULL), (11, 13, 'ssh', 100, 0, 1, NULL),"
            " (12, 14, 'ssh', 100, 0, 0, NULL)");
    FAILS(ERR_NOT_FOUND, "The server group does not exist",
          server_select(db, 999, NULL, NULL, &id, &e));
    FAILS(ERR_NOT_FOUND, "Can't found servers for group",
          server_select(db, 14, NULL, NULL, &id, &e));
    /* group 10: 1 has weight 0, 3 is disabled; 2 (weight 10) and 4 (NULL = 100) remain */
    int counts[5] = { 0 };
    for (int i = 0; i < 1100; i++) {
        OK(server_select(db, 10, splitmix64, &seed, &id, &e));
        assert_true(id == 2 || id == 4);
        counts[id]++;
    }
    assert_in_range(counts[2], 60, 150); /* 10 of 110 */
    sql(db, "UPDATE servers SET services_count = 1 WHERE server_id = 2");
    for (int i = 0; i < 50; i++) {
        OK(server_select(db, 10, splitmix64, &seed, &id, &e));
        assert_int_equal(id, 4); /* 2 is full now */
    }
    sql(db, "UPDATE servers SET services_count = 2 WHERE server_id = 4"); /* "2" as a string */
    OK(server_select(db, 10, splitmix64, &seed, &id, &e));
    assert_int_equal(id, 1); /* every positive weight is full: the weight-0 server alone */
    OK(server_select(db, 11, NULL, NULL, &id, &e));
    assert_int_equal(id, 5); /* by-one: 6 is full, 5 and 7 tie at 3 → lowest id */
    OK(server_select(db, 12, NULL, NULL, &id, &e));
    assert_int_equal(id, 9); /* evenly: 9 and 10 tie at 1 → lowest id */
    OK(server_select(db, 13, NULL, NULL, &id, &e));
    assert_int_equal(id, 11); /* an unknown type chooses at random */
}

static void test_db_services_count(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    sql(db, "INSERT INTO servers (server_id, transport, services_count) VALUES (1, 'ssh', 2)");
    OK(server_services_count_add(db, 1, 1, &e));
    assert_int_equal(q_int(db, "SELECT services_count FROM servers WHERE server_id = 1"), 3);
    OK(server_services_count_add(db, 1, -5, &e));
    assert_int_equal(q_int(db, "SELECT services_count FROM servers WHERE server_id = 1"), 0);
    FAILS(ERR_NOT_FOUND, "Server 2 not found", server_services_count_add(db, 2, 1, &e));
}

/* Runs server_check_values on the JSON text v; returns the result (message in e). */
static int check_values(struct db *db, const char *v, json_t **out, struct err *e)
{
    json_t *values = json_loads(v, 0, NULL);
    assert_non_null(values);
    int rc = server_check_values(db, values, e);
    if (out)
        *out = values;
    else
        json_decref(values);
    return rc;
}

static void test_db_check_values(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    json_t *v = NULL;
    sql(db, "INSERT INTO identities (id, name, private_key) VALUES (7, 'k', 'x')");
    OK(check_values(db, "{\"server_gid\":4,\"enabled\":1,\"settings\":{\"key_id\":\"7\","
                        "\"max_services\":\"3\",\"port\":22,\"x\":[\"y\"]}}",
                    &v, &e));
    char *s = json_dumps(json_object_get(v, "settings"), JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"key_id\":7,\"max_services\":3,\"port\":22,\"x\":[\"y\"]}");
    free(s);
    json_decref(v);
    OK(check_values(db, "{\"server_gid\":null,\"settings\":null,\"enabled\":false}", NULL, &e));
    OK(check_values(db, "{\"server_gid\":\"4\",\"settings\":{\"key_id\":null}}", NULL, &e));
    FAILS(ERR_INVALID, "Field server_gid: server group 99 does not exist",
          check_values(db, "{\"server_gid\":99}", NULL, &e));
    FAILS(ERR_INVALID, "Field settings.key_id: identity 8 does not exist",
          check_values(db, "{\"settings\":{\"key_id\":8}}", NULL, &e));
    FAILS(ERR_INVALID, "Field settings.key_id: expected an identity id",
          check_values(db, "{\"settings\":{\"key_id\":\"abc\"}}", NULL, &e));
    FAILS(ERR_INVALID, "Field settings.max_services: must be a non-negative integer",
          check_values(db, "{\"settings\":{\"max_services\":-1}}", NULL, &e));
    FAILS(ERR_INVALID, "Field settings.max_services: must be a non-negative integer",
          check_values(db, "{\"settings\":{\"max_services\":1.5}}", NULL, &e));
    FAILS(ERR_INVALID, "Field settings: must be a JSON object",
          check_values(db, "{\"settings\":[1]}", NULL, &e));
    FAILS(ERR_INVALID, "Field enabled: must be 0 or 1",
          check_values(db, "{\"enabled\":2}", NULL, &e));
    FAILS(ERR_INVALID, "Field transport: must not be null",
          check_values(db, "{\"transport\":null}", NULL, &e));
    FAILS(ERR_INVALID, "Field weight: must not be null",
          check_values(db, "{\"weight\":null}", NULL, &e));
    v = json_loads("{\"settings\":[]}", 0, NULL);
    FAILS(ERR_INVALID, "Field settings: must be a JSON object", server_group_check_values(v, &e));
    json_decref(v);
    v = json_loads("{\"type\":null}", 0, NULL);
    FAILS(ERR_INVALID, "Field type: must not be null", server_group_check_values(v, &e));
    json_decref(v);
}

static void test_db_delete_guards(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    sql(db, "INSERT INTO servers_groups (group_id, name) VALUES (20, 'with servers'),"
            " (21, 'with events'), (22, 'empty')");
    sql(db, "INSERT INTO servers (server_id, server_gid, transport) VALUES (1, 20, 'ssh'),"
            " (2, 20, 'ssh'), (3, NULL, 'ssh')");
    sql(db, "INSERT INTO events (id, title, name, server_gid, settings) VALUES"
            " (50, 't', 'create', 21, NULL), (51, 't', 'remove', NULL, '{\"server_id\":3}')");
    sql(db, "INSERT INTO user_services (user_id, service_id, created, status, settings) VALUES"
            " (1, 1, 0, 'ACTIVE', '{\"server_id\":1}'), (1, 1, 0, 'BLOCK', '{\"server_id\":\"1\"}'),"
            " (1, 1, 0, 'REMOVED', '{\"server_id\":2}'), (1, 1, 0, 'ACTIVE', '{\"server_id\":22}'),"
            " (1, 1, 0, 'ACTIVE', NULL)");
    FAILS(ERR_INVALID, "Can't delete server 1: 2 user service(s) that are not REMOVED use it",
          server_check_delete(db, 1, &e));
    OK(server_check_delete(db, 2, &e)); /* only a REMOVED service names it */
    FAILS(ERR_INVALID, "Can't delete server 3: 1 event(s) use it", server_check_delete(db, 3, &e));
    OK(server_check_delete(db, 99, &e));
    FAILS(ERR_INVALID, "Server group 1 is protected and can't be deleted",
          server_group_check_delete(db, 1, &e));
    FAILS(ERR_INVALID, "Server group 2 is protected and can't be deleted",
          server_group_check_delete(db, 2, &e));
    FAILS(ERR_INVALID, "Can't delete server group 20: it still has 2 server(s)",
          server_group_check_delete(db, 20, &e));
    FAILS(ERR_INVALID, "Can't delete server group 21: 1 event(s) use it",
          server_group_check_delete(db, 21, &e));
    OK(server_group_check_delete(db, 22, &e));
    OK(server_group_check_delete(db, 3, &e));
}

static const struct {
    const char *name;
    void (*fn)(void **state);
} db_cases[] = {
    { "select", test_db_select },
    { "services_count", test_db_services_count },
    { "check_values", test_db_check_values },
    { "delete_guards", test_db_delete_guards },
};

static const struct CMUnitTest pure_cases[] = {
    cmocka_unit_test(test_group_type_parse),  cmocka_unit_test(test_random_weighted),
    cmocka_unit_test(test_random_zero_weight), cmocka_unit_test(test_random_eligibility),
    cmocka_unit_test(test_random_rejection),  cmocka_unit_test(test_random_huge_weights),
    cmocka_unit_test(test_system_rng),        cmocka_unit_test(test_by_one_and_evenly),
};

#define NDB ARRAY_SIZE(db_cases)

int main(void)
{
    static struct CMUnitTest all[ARRAY_SIZE(pure_cases) + 2 * NDB];
    static char names[2 * NDB][64];
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0;
    if (nb == 1)
        fprintf(stderr, "# test_server: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
    for (size_t i = 0; i < ARRAY_SIZE(pure_cases); i++)
        all[n++] = pure_cases[i];
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < NDB; i++, n++) {
            snprintf(names[n - ARRAY_SIZE(pure_cases)], sizeof(names[0]), "%s_%s",
                     backends[b]->name, db_cases[i].name);
            all[n] = (struct CMUnitTest){
                .name = names[n - ARRAY_SIZE(pure_cases)],
                .test_func = db_cases[i].fn,
                .setup_func = clean,
                .initial_state = backends[b],
            };
        }
    }
    return _cmocka_run_group_tests("test_server", all, n, group_setup, group_teardown);
}
