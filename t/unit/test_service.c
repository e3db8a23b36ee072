/*
 * test_service.c — unit tests of src/core/service.c: period and flag rules,
 * value checks, children normalisation (objects, SHM's legacy id lists, self
 * references, bad qnt), the cycle search over the catalogue graph, and the
 * database operations on an in-memory SQLite copy of the services table.
 */
#include "common.h"
#include "core/period.h"
#include "core/service.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------ */

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    return v;
}

/* Compact, key-sorted text of v (owned by a static buffer). */
static const char *T(const json_t *v)
{
    static char out[4096];
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    snprintf(out, sizeof(out), "%s", s ? s : "(null)");
    free(s);
    return out;
}

/* Normalises text for self_id; returns the result text, or "ERR: <message>". */
static const char *norm(const char *text, int64_t self_id)
{
    static char out[4096];
    struct err e = { 0 };
    json_t *in = J(text), *res = NULL;
    if (service_children_normalize(in, self_id, &res, &e))
        snprintf(out, sizeof(out), "ERR: %s", e.msg);
    else
        snprintf(out, sizeof(out), "%s", T(res));
    json_decref(in);
    json_decref(res);
    return out;
}

static const char *period_err(const char *text)
{
    static char out[300];
    struct err e = { 0 };
    int64_t scaled = -1;
    json_t *v = J(text);
    int rc = service_period_check(v, &scaled, &e);
    json_decref(v);
    snprintf(out, sizeof(out), "%s", rc ? e.msg : "ok");
    return out;
}

static int64_t period_ok(const char *text)
{
    struct err e = { 0 };
    int64_t scaled = -1;
    json_t *v = J(text);
    assert_int_equal(service_period_check(v, &scaled, &e), 0);
    json_decref(v);
    return scaled;
}

/* ---- periods and flags --------------------------------------------------- */

static void test_period_valid(void **state)
{
    UNUSED(state);
    assert_int_equal(period_ok("\"1\""), 10000);
    assert_int_equal(period_ok("\"0.01\""), 100);
    assert_int_equal(period_ok("\"1.0010\""), 10010);
    assert_int_equal(period_ok("\"2.1012\""), 21012);
    assert_int_equal(period_ok("\"0.1\""), 1000);
    assert_int_equal(period_ok("\"12\""), 120000);
    assert_int_equal(period_ok("1"), 10000);
    assert_int_equal(period_ok("1.0015"), 10015);
    assert_int_equal(period_ok("0.0001"), 1);
}

static void test_period_invalid(void **state)
{
    UNUSED(state);
    const char *bad = "Field period: expected a period M.DDHH (e.g. 1, 0.01, 1.0015)";
    const char *cases[] = { "\"-1\"", "\"1.23456\"", "\"abc\"", "\"\"", "\"1e3\"", "-1",
                            "1.23456", "null", "true", "[1]", "{}", "\" 1\"", "\"1,5\"",
                            "\"1201\"", "\"0x10\"" };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_string_equal(period_err(cases[i]), bad);
    assert_string_equal(period_err("\"0\""), "Field period: must be greater than zero");
    assert_string_equal(period_err("0"), "Field period: must be greater than zero");
    assert_string_equal(period_err("\"0.0000\""), "Field period: must be greater than zero");
    struct err e = { 0 };
    int64_t scaled = 0;
    assert_int_equal(service_period_check(NULL, &scaled, &e), ERR_INVALID);
}

static void test_flags(void **state)
{
    UNUSED(state);
    const char *ok[][2] = { { "0", "0" },       { "1", "1" },     { "true", "1" },
                            { "false", "0" },   { "\"0\"", "0" }, { "\"1\"", "1" } };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        struct err e = { 0 };
        json_t *v = J(ok[i][0]), *out = NULL;
        assert_int_equal(service_flag_check("pay_always", v, false, &out, &e), 0);
        assert_string_equal(T(out), ok[i][1]);
        json_decref(v);
        json_decref(out);
    }
    const char *bad[] = { "2", "-1", "\"yes\"", "\"\"", "1.0", "\"01\"", "[0]", "null" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct err e = { 0 };
        json_t *v = J(bad[i]), *out = NULL;
        assert_int_equal(service_flag_check("deleted", v, false, &out, &e), ERR_INVALID);
        assert_string_equal(e.msg, "Field deleted: must be 0 or 1");
        assert_null(out);
        json_decref(v);
    }
    struct err e = { 0 };
    json_t *v = json_null(), *out = NULL;
    assert_int_equal(service_flag_check("allow_to_order", v, true, &out, &e), 0);
    assert_true(json_is_null(out));
    json_decref(out);
}

/* Runs service_values_check on text; returns the resulting values or "ERR: <msg>". */
static const char *values(const char *text, bool create)
{
    static char out[4096];
    struct err e = { 0 };
    json_t *v = J(text);
    if (service_values_check(v, create, &e))
        snprintf(out, sizeof(out), "ERR: %s", e.msg);
    else
        snprintf(out, sizeof(out), "%s", T(v));
    json_decref(v);
    return out;
}

static void test_values_check(void **state)
{
    UNUSED(state);
    assert_string_equal(values("{\"name\":\"Tariff ${QUOTA}\",\"cost\":100,\"period\":1}", true),
                        "{\"cost\":100,\"name\":\"Tariff ${QUOTA}\",\"period\":1}");
    assert_string_equal(values("{\"name\":\"\"}", false), "ERR: Field name: must not be empty");
    assert_string_equal(values("{\"name\":null}", false), "ERR: Field name: must not be empty");
    assert_string_equal(values("{\"cost\":null}", false), "ERR: Field cost: must not be null");
    assert_string_equal(values("{\"period\":null}", false),
                        "ERR: Field period: must not be null");
    assert_string_equal(values("{\"period\":\"0\"}", false),
                        "ERR: Field period: must be greater than zero");
    assert_string_equal(values("{\"pay_always\":true,\"no_discount\":\"0\",\"deleted\":false}",
                               false),
                        "{\"deleted\":0,\"no_discount\":0,\"pay_always\":1}");
    assert_string_equal(values("{\"is_composite\":null}", false),
                        "ERR: Field is_composite: must be 0 or 1");
    assert_string_equal(values("{\"allow_to_order\":null}", false), "{\"allow_to_order\":null}");
    assert_string_equal(values("{\"pay_in_credit\":5}", false),
                        "ERR: Field pay_in_credit: must be 0 or 1");
    /* config: objects verbatim (nested), a string holding an object decoded */
    assert_string_equal(values("{\"config\":{\"b\":{\"c\":[1,{\"d\":null}]},\"a\":\"x\"}}", false),
                        "{\"config\":{\"a\":\"x\",\"b\":{\"c\":[1,{\"d\":null}]}}}");
    assert_string_equal(values("{\"config\":\"{\\\"order_only_once\\\":1}\"}", false),
                        "{\"config\":{\"order_only_once\":1}}");
    assert_string_equal(values("{\"config\":null}", false), "{\"config\":null}");
    assert_string_equal(values("{\"config\":[1]}", false),
                        "ERR: Field config: must be a JSON object");
    assert_string_equal(values("{\"config\":\"abc\"}", false),
                        "ERR: Field config: must be a JSON object");
    assert_string_equal(values("{\"config\":5}", false),
                        "ERR: Field config: must be a JSON object");
    /* admin-chosen ids on create */
    assert_string_equal(values("{\"service_id\":1000}", true), "{\"service_id\":1000}");
    assert_string_equal(values("{\"service_id\":\"7\"}", true), "{\"service_id\":\"7\"}");
    assert_string_equal(values("{\"service_id\":null}", true), "{}");
    assert_string_equal(values("{\"service_id\":0}", true),
                        "ERR: Field service_id: must be a positive integer");
    assert_string_equal(values("{\"service_id\":-4}", true),
                        "ERR: Field service_id: must be a positive integer");
    /* children are not this function's business */
    assert_string_equal(values("{\"children\":\"anything\"}", false),
                        "{\"children\":\"anything\"}");
}

/* ---- children ------------------------------------------------------------ */

static void test_children_objects(void **state)
{
    UNUSED(state);
    assert_string_equal(norm("[{\"service_id\":5,\"qnt\":2},{\"service_id\":\"6\"}]", 0),
                        "[{\"qnt\":2,\"service_id\":5},{\"qnt\":1,\"service_id\":6}]");
    /* other keys (e.g. a row read back from GET /admin/service/children) are dropped */
    assert_string_equal(norm("[{\"service_id\":8,\"qnt\":1,\"name\":\"Mail\",\"cost\":0}]", 0),
                        "[{\"qnt\":1,\"service_id\":8}]");
    assert_string_equal(norm("[{\"service_id\":5,\"qnt\":null}]", 0),
                        "[{\"qnt\":1,\"service_id\":5}]");
    assert_string_equal(norm("[{\"service_id\":5,\"qnt\":0.5},{\"service_id\":6,\"qnt\":\"1.50\"}]",
                             0),
                        "[{\"qnt\":0.5,\"service_id\":5},{\"qnt\":1.5,\"service_id\":6}]");
    assert_string_equal(norm("[{\"service_id\":5,\"qnt\":\"3\"},{\"service_id\":5,\"qnt\":2.0}]",
                             0),
                        "[{\"qnt\":3,\"service_id\":5},{\"qnt\":2,\"service_id\":5}]");
    assert_string_equal(norm("[]", 0), "[]");
    assert_string_equal(norm("\"[{\\\"service_id\\\":3,\\\"qnt\\\":4}]\"", 0),
                        "[{\"qnt\":4,\"service_id\":3}]");
}

static void test_children_legacy_ids(void **state)
{
    UNUSED(state);
    assert_string_equal(norm("[8, 5, 29]", 0),
                        "[{\"qnt\":1,\"service_id\":8},{\"qnt\":1,\"service_id\":5},"
                        "{\"qnt\":1,\"service_id\":29}]");
    assert_string_equal(norm("[\"30\", {\"service_id\":31,\"qnt\":2}]", 0),
                        "[{\"qnt\":1,\"service_id\":30},{\"qnt\":2,\"service_id\":31}]");
    assert_string_equal(norm("\"[1,2]\"", 0),
                        "[{\"qnt\":1,\"service_id\":1},{\"qnt\":1,\"service_id\":2}]");
}

static void test_children_self_refs(void **state)
{
    UNUSED(state);
    assert_string_equal(norm("[5, {\"service_id\":5,\"qnt\":3}, 6, \"5\"]", 5),
                        "[{\"qnt\":1,\"service_id\":6}]");
    assert_string_equal(norm("[5]", 5), "[]");
    assert_string_equal(norm("[5]", 0), "[{\"qnt\":1,\"service_id\":5}]");
}

static void test_children_bad_qnt(void **state)
{
    UNUSED(state);
    const char *msg = "ERR: Field children[1].qnt: must be a positive number up to 1000000";
    const char *cases[] = { "0", "-1", "\"abc\"", "\"1e3\"", "true", "2000000", "\"-2\"",
                            "\"\"", "[1]", "{}", "0.0", "\" 2\"", "\"0x10\"" };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char in[128];
        snprintf(in, sizeof(in), "[7, {\"service_id\":5,\"qnt\":%s}]", cases[i]);
        assert_string_equal(norm(in, 0), msg);
    }
}

static void test_children_bad_entries(void **state)
{
    UNUSED(state);
    assert_string_equal(norm("[1, \"x\"]", 0),
                        "ERR: Field children[1]: expected a service id or {service_id, qnt}");
    assert_string_equal(norm("[0]", 0),
                        "ERR: Field children[0]: expected a service id or {service_id, qnt}");
    assert_string_equal(norm("[-3]", 0),
                        "ERR: Field children[0]: expected a service id or {service_id, qnt}");
    assert_string_equal(norm("[1.5]", 0),
                        "ERR: Field children[0]: expected a service id or {service_id, qnt}");
    assert_string_equal(norm("[null]", 0),
                        "ERR: Field children[0]: expected a service id or {service_id, qnt}");
    assert_string_equal(norm("[[1]]", 0),
                        "ERR: Field children[0]: expected a service id or {service_id, qnt}");
    assert_string_equal(norm("[2, {\"qnt\":1}]", 0),
                        "ERR: Field children[1].service_id: must be a positive integer");
    assert_string_equal(norm("[{\"service_id\":1.5}]", 0),
                        "ERR: Field children[0].service_id: must be a positive integer");
    assert_string_equal(norm("[{\"service_id\":\"abc\"}]", 0),
                        "ERR: Field children[0].service_id: must be a positive integer");
    const char *not_array = "ERR: Field children: expected an array of {service_id, qnt}";
    assert_string_equal(norm("{}", 0), not_array);
    assert_string_equal(norm("5", 0), not_array);
    assert_string_equal(norm("\"abc\"", 0), not_array);
    assert_string_equal(norm("null", 0), not_array);
    assert_string_equal(norm("\"{\\\"service_id\\\":1}\"", 0), not_array);
}

static void test_children_too_many(void **state)
{
    UNUSED(state);
    struct err e = { 0 };
    json_t *in = json_array(), *out = NULL;
    for (int i = 1; i <= SERVICE_MAX_CHILDREN; i++)
        json_array_append_new(in, json_integer(i));
    assert_int_equal(service_children_normalize(in, 0, &out, &e), 0);
    assert_int_equal(json_array_size(out), SERVICE_MAX_CHILDREN);
    json_decref(out);
    out = NULL;
    json_array_append_new(in, json_integer(1));
    assert_int_equal(service_children_normalize(in, 0, &out, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field children: more than 256 entries");
    assert_null(out);
    json_decref(in);
}

static void test_children_read(void **state)
{
    UNUSED(state);
    json_t *r = service_children_read(NULL);
    assert_string_equal(T(r), "[]");
    json_decref(r);
    const char *cases[][2] = {
        { "null", "[]" },
        { "\"garbage\"", "[]" },
        { "{\"service_id\":1}", "[]" },
        { "[8, 5]", "[{\"qnt\":1,\"service_id\":8},{\"qnt\":1,\"service_id\":5}]" },
        { "[{\"service_id\":30},{\"service_id\":31,\"qnt\":0},\"x\",{\"qnt\":2},"
          "{\"service_id\":\"32\",\"qnt\":\"2\"}]",
          "[{\"qnt\":1,\"service_id\":30},{\"qnt\":1,\"service_id\":31},"
          "{\"qnt\":2,\"service_id\":32}]" },
        { "\"[3]\"", "[{\"qnt\":1,\"service_id\":3}]" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *in = J(cases[i][0]);
        r = service_children_read(in);
        assert_string_equal(T(r), cases[i][1]);
        json_decref(r);
        json_decref(in);
    }
}

/* ---- the graph ------------------------------------------------------------ */

/* Builds a graph from "id:[children]" specs. */
static void graph_build(struct service_graph *g, const char *const *spec, size_t n)
{
    service_graph_init(g);
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(spec[i], ':');
        json_t *ch = J(colon + 1);
        service_graph_set(g, strtoll(spec[i], NULL, 10), ch, false);
        json_decref(ch);
    }
}

/* The cycle path from start, or "none". */
static const char *cycle(const struct service_graph *g, int64_t start)
{
    static char out[512];
    struct buf path;
    buf_init(&path, 0);
    bool found = service_graph_find_cycle(g, start, &path);
    snprintf(out, sizeof(out), "%s", found ? path.data : "none");
    buf_free(&path);
    return out;
}

static void test_graph_no_cycle(void **state)
{
    UNUSED(state);
    static const char *const spec[] = { "2:[8,5,29]", "4:[5,8,29]", "110:[112,111,29]",
                                        "5:null", "8:[]", "29:[]", "1:[8]", "11:[30,31]",
                                        "30:[]", "31:[]", "111:[]", "112:[]" };
    struct service_graph g;
    graph_build(&g, spec, ARRAY_SIZE(spec));
    assert_int_equal(g.n, ARRAY_SIZE(spec));
    for (size_t i = 1; i < g.n; i++)
        assert_true(g.nodes[i - 1].id < g.nodes[i].id);
    assert_string_equal(cycle(&g, 0), "none");
    assert_string_equal(cycle(&g, 2), "none");
    /* a diamond is not a cycle */
    static const char *const diamond[] = { "1:[2,3]", "2:[4]", "3:[4]", "4:[]" };
    struct service_graph d;
    graph_build(&d, diamond, ARRAY_SIZE(diamond));
    assert_string_equal(cycle(&d, 0), "none");
    const struct service_node *nd = service_graph_get(&g, 110);
    assert_non_null(nd);
    assert_int_equal(nd->nchildren, 3);
    assert_int_equal(nd->children[0], 112);
    assert_null(service_graph_get(&g, 3));
    service_graph_free(&g);
    service_graph_free(&d);
}

static void test_graph_cycles(void **state)
{
    UNUSED(state);
    static const char *const two[] = { "1:[2]", "2:[1]" };
    static const char *const longer[] = { "1:[2]", "2:[3]", "3:[4]", "4:[{\"service_id\":2}]",
                                          "9:[]" };
    static const char *const self[] = { "5:[5]" };
    struct service_graph g;

    graph_build(&g, two, ARRAY_SIZE(two));
    assert_string_equal(cycle(&g, 1), "1 -> 2 -> 1");
    assert_string_equal(cycle(&g, 2), "2 -> 1 -> 2");
    service_graph_free(&g);

    graph_build(&g, longer, ARRAY_SIZE(longer));
    assert_string_equal(cycle(&g, 1), "2 -> 3 -> 4 -> 2");
    assert_string_equal(cycle(&g, 0), "2 -> 3 -> 4 -> 2");
    assert_string_equal(cycle(&g, 9), "none"); /* not reachable from 9 */
    assert_string_equal(cycle(&g, 77), "none"); /* unknown start */
    assert_true(service_graph_find_cycle(&g, 3, NULL));
    /* replacing 4's children breaks the cycle */
    json_t *none = J("[9, 1000]"); /* 1000 is unknown: ignored */
    service_graph_set(&g, 4, none, false);
    json_decref(none);
    assert_string_equal(cycle(&g, 0), "none");
    service_graph_free(&g);

    graph_build(&g, self, ARRAY_SIZE(self));
    assert_string_equal(cycle(&g, 5), "5 -> 5");
    service_graph_free(&g);

    service_graph_init(&g);
    assert_string_equal(cycle(&g, 0), "none");
    service_graph_free(&g);
}

/* A long chain must not exhaust the C stack (the search is iterative). */
static void test_graph_deep(void **state)
{
    UNUSED(state);
    enum { N = 20000 };
    struct service_graph g;
    service_graph_init(&g);
    for (int i = 1; i <= N; i++) {
        json_t *ch = json_pack("[I]", (json_int_t)(i + 1));
        service_graph_set(&g, i, ch, false);
        json_decref(ch);
    }
    assert_int_equal(g.n, N);
    assert_string_equal(cycle(&g, 1), "none");
    json_t *back = json_pack("[I]", (json_int_t)1);
    service_graph_set(&g, N, back, false);
    json_decref(back);
    assert_true(service_graph_find_cycle(&g, 1, NULL));
    assert_true(service_graph_find_cycle(&g, N / 2, NULL));
    service_graph_free(&g);
}

/* ---- database operations (in-memory SQLite) --------------------------------- */

static const char *services_ddl =
    "CREATE TABLE services (service_id INTEGER PRIMARY KEY, name TEXT NOT NULL, cost INTEGER,"
    " period INTEGER NOT NULL DEFAULT 10000, category TEXT, children TEXT, next INTEGER DEFAULT 0,"
    " allow_to_order INTEGER, max_count INTEGER, question INTEGER, pay_always INTEGER DEFAULT 0,"
    " no_discount INTEGER DEFAULT 0, descr TEXT, pay_in_credit INTEGER DEFAULT 0, config TEXT,"
    " is_composite INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0) STRICT;"
    "INSERT INTO services (service_id, name, cost, category, children, deleted) VALUES"
    " (1, 'Tariff', 10000, 'web_tariff', '[2,{\"service_id\":3,\"qnt\":2}]', 0),"
    " (2, 'Web', 0, 'web', NULL, 0),"
    " (3, 'Mail', 0, 'mail', '[]', 0),"
    " (4, 'DB', 0, 'mysql', NULL, 0),"
    " (5, 'Old', 0, 'old', NULL, 1),"
    " (6, 'No category', 0, '', NULL, 0),"
    " (7, 'Also web', 0, 'web', NULL, 0),"
    " (8, 'Null category', 0, NULL, NULL, 0)";

static int db_setup(void **state)
{
    struct db *db = NULL;
    struct err e = { 0 };
    if (db_open("sqlite::memory:", &db, &e) || db_exec_script(db, services_ddl, &e)) {
        fprintf(stderr, "# setup: %s\n", e.msg);
        return -1;
    }
    *state = db;
    return 0;
}

static int db_teardown(void **state)
{
    db_close(*state);
    return 0;
}

static const char *prepare(struct db *db, int64_t self, const char *text)
{
    static char out[8192];
    struct err e = { 0 };
    json_t *in = J(text), *res = NULL;
    if (service_children_prepare(db, self, in, &res, &e))
        snprintf(out, sizeof(out), "ERR: %s", e.msg);
    else
        snprintf(out, sizeof(out), "%s", T(res));
    json_decref(in);
    json_decref(res);
    return out;
}

static void test_db_prepare(void **state)
{
    struct db *db = *state;
    assert_string_equal(prepare(db, 4, "[2, 3]"),
                        "[{\"qnt\":1,\"service_id\":2},{\"qnt\":1,\"service_id\":3}]");
    assert_string_equal(prepare(db, 4, "[2, 999]"),
                        "ERR: Field children[1]: no service with id 999");
    assert_string_equal(prepare(db, 4, "[5]"), "ERR: Field children[0]: service 5 is deleted");
    assert_string_equal(prepare(db, 2, "[1]"),
                        "ERR: Field children: would create a cycle: 2 -> 1 -> 2");
    assert_string_equal(prepare(db, 3, "[{\"service_id\":1,\"qnt\":1}]"),
                        "ERR: Field children: would create a cycle: 3 -> 1 -> 3");
    assert_string_equal(prepare(db, 1, "[1, 4]"), "[{\"qnt\":1,\"service_id\":4}]");
    assert_string_equal(prepare(db, 0, "[1]"), "[{\"qnt\":1,\"service_id\":1}]");
    assert_string_equal(prepare(db, 100, "[1]"), "[{\"qnt\":1,\"service_id\":1}]");
    assert_string_equal(prepare(db, 4, "[\"x\"]"),
                        "ERR: Field children[0]: expected a service id or {service_id, qnt}");
}

static void test_db_set_get_list(void **state)
{
    struct db *db = *state;
    struct err e = { 0 };
    json_t *in = J("[3, {\"service_id\":2,\"qnt\":2}]"), *out = NULL;
    assert_int_equal(service_children_set(db, 4, in, &out, &e), 0);
    assert_string_equal(T(out), "[{\"qnt\":1,\"service_id\":3},{\"qnt\":2,\"service_id\":2}]");
    json_decref(out);
    assert_int_equal(service_children_get(db, 4, &out, &e), 0);
    assert_string_equal(T(out), "[{\"qnt\":1,\"service_id\":3},{\"qnt\":2,\"service_id\":2}]");
    json_decref(out);
    /* 4 → 3 and 1 → 3: 3 may not take 4 or 1 now, 2 may still take 3 */
    json_t *back = J("[4]");
    assert_int_equal(service_children_set(db, 3, back, &out, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field children: would create a cycle: 3 -> 4 -> 3");
    json_decref(back);
    assert_int_equal(service_children_set(db, 999, in, &out, &e), ERR_NOT_FOUND);
    assert_string_equal(e.msg, "Object not found. Check the ID.");
    assert_int_equal(e.status, 404);
    json_decref(in);

    assert_int_equal(service_children_list(db, 1, &out, &e), 0);
    assert_int_equal(json_array_size(out), 2);
    json_t *web = json_array_get(out, 0), *mail = json_array_get(out, 1);
    assert_string_equal(T(json_object_get(web, "name")), "\"Web\"");
    assert_string_equal(T(json_object_get(web, "qnt")), "1");
    assert_string_equal(T(json_object_get(web, "category")), "\"web\"");
    assert_string_equal(T(json_object_get(web, "cost")), "0");
    assert_string_equal(T(json_object_get(mail, "service_id")), "3");
    assert_string_equal(T(json_object_get(mail, "qnt")), "2");
    assert_string_equal(T(json_object_get(mail, "deleted")), "0");
    json_decref(out);
    assert_int_equal(service_children_list(db, 999, &out, &e), ERR_NOT_FOUND);
    assert_int_equal(service_children_list(db, 2, &out, &e), 0);
    assert_string_equal(T(out), "[]");
    json_decref(out);
}

static void test_db_next_and_categories(void **state)
{
    struct db *db = *state;
    struct err e = { 0 };
    json_t *v = J("0");
    assert_int_equal(service_check_next(db, v, &e), 0);
    json_decref(v);
    assert_int_equal(service_check_next(db, NULL, &e), 0);
    v = J("\"2\"");
    assert_int_equal(service_check_next(db, v, &e), 0);
    json_decref(v);
    v = J("999");
    assert_int_equal(service_check_next(db, v, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field next: no service with id 999");
    json_decref(v);
    v = J("5");
    assert_int_equal(service_check_next(db, v, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Field next: service 5 is deleted");
    json_decref(v);

    json_t *cats = NULL;
    assert_int_equal(service_categories(db, &cats, &e), 0);
    assert_string_equal(T(cats), "[\"mail\",\"mysql\",\"web\",\"web_tariff\"]");
    json_decref(cats);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_valid),
        cmocka_unit_test(test_period_invalid),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_values_check),
        cmocka_unit_test(test_children_objects),
        cmocka_unit_test(test_children_legacy_ids),
        cmocka_unit_test(test_children_self_refs),
        cmocka_unit_test(test_children_bad_qnt),
        cmocka_unit_test(test_children_bad_entries),
        cmocka_unit_test(test_children_too_many),
        cmocka_unit_test(test_children_read),
        cmocka_unit_test(test_graph_no_cycle),
        cmocka_unit_test(test_graph_cycles),
        cmocka_unit_test(test_graph_deep),
        cmocka_unit_test_setup_teardown(test_db_prepare, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_db_set_get_list, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_db_next_and_categories, db_setup, db_teardown),
    };
    return cmocka_run_group_tests_name("test_service", tests, NULL, NULL);
}
