/*
 * test_router.c — unit tests of src/http/router.c over small route tables:
 * exact matches per method, "*" for any method, splat routes with their
 * tail, the longest splat prefix winning whatever the order of routes and
 * tables, exact paths beating splats (also from a later table), and an
 * empty tail not matching.
 */
#include "common.h"
#include "http/router.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

static const struct route table[] = {
    /* 0 */ { .method = "GET", .path = "/user" },
    /* 1 */ { .method = "POST", .path = "/user" },
    /* 2 */ { .method = "*", .path = "/any" },
    /* 3 */ { .method = "GET", .path = "/storage/*" },
    /* 4 */ { .method = "GET", .path = "/storage/manage/*" },
    /* 5 */ { .method = "GET", .path = "/storage/manage/special" },
    /* 6 */ { .method = "PUT", .path = "/t/*" },
    /* 7 */ { .method = "DELETE", .path = "/t/*" },
    /* 8 */ { .method = "GET", .path = "/exact/first" },
    /* 9 */ { .method = "GET", .path = "/exact/*" },
    /* 10 */ { .method = "*", .path = "/w/*" },
    /* 11 */ { .method = "GET", .path = "/" },
};

static const char *const NOT_SET = "not set";

/*
 * Matches over the tables and checks the result: want is the index in
 * routes (-1 = no match), want_splat the tail (NULL = none).
 */
static void check_tables(const struct route_table *const *tables, size_t ntables,
                         const struct route *routes, const char *method, const char *path,
                         int want, const char *want_splat)
{
    const char *splat = NOT_SET;
    const struct route *r = router_match(tables, ntables, method, path, &splat);
    int got = r ? (int)(r - routes) : -1;
    if (got != want)
        fail_msg("%s %s matched route %d, want %d", method, path, got, want);
    if (want_splat == NULL) {
        if (splat != NULL)
            fail_msg("%s %s: splat \"%s\", want NULL", method, path, splat);
    } else {
        if (splat == NULL || strcmp(splat, want_splat) != 0)
            fail_msg("%s %s: splat \"%s\", want \"%s\"", method, path, splat ? splat : "(null)",
                     want_splat);
        /* the tail points into the path, it is not a copy */
        assert_true(splat >= path && splat < path + strlen(path));
    }
}

/* Matches over the one table t[0..n). */
static void check(const struct route *t, size_t n, const char *method, const char *path,
                  int want, const char *want_splat)
{
    const struct route_table rt = { t, n };
    const struct route_table *const tables[] = { &rt };
    check_tables(tables, 1, t, method, path, want, want_splat);
}

#define CHECK(method, path, want, splat) check(table, ARRAY_SIZE(table), method, path, want, splat)

static void test_exact(void **state)
{
    UNUSED(state);
    CHECK("GET", "/user", 0, NULL);
    CHECK("POST", "/user", 1, NULL);
    CHECK("GET", "/", 11, NULL);
    CHECK("GET", "/exact/first", 8, NULL);
    /* no partial or case-insensitive matches */
    CHECK("GET", "/use", -1, NULL);
    CHECK("GET", "/user/", -1, NULL);
    CHECK("GET", "/users", -1, NULL);
    CHECK("GET", "/USER", -1, NULL);
    CHECK("GET", "", -1, NULL);
    CHECK("GET", "/nothing/here", -1, NULL);
}

static void test_method_mismatch(void **state)
{
    UNUSED(state);
    CHECK("DELETE", "/user", -1, NULL);
    CHECK("PUT", "/user", -1, NULL);
    CHECK("get", "/user", -1, NULL);
    CHECK("POST", "/storage/x", -1, NULL);
    CHECK("GET", "/t/x", -1, NULL);
    CHECK("POST", "/", -1, NULL);
}

static void test_any_method(void **state)
{
    UNUSED(state);
    CHECK("GET", "/any", 2, NULL);
    CHECK("POST", "/any", 2, NULL);
    CHECK("DELETE", "/any", 2, NULL);
    CHECK("PATCH", "/any", 2, NULL);
    CHECK("OPTIONS", "/w/a/b", 10, "a/b");
    CHECK("PUT", "/w/x", 10, "x");
}

static void test_splat(void **state)
{
    UNUSED(state);
    CHECK("GET", "/storage/file.txt", 3, "file.txt");
    CHECK("GET", "/storage/a/b/c", 3, "a/b/c");
    CHECK("GET", "/storage/manage/abc", 4, "abc");
    CHECK("GET", "/storage/manage/a/b", 4, "a/b");
    /* "/storage/manage" has no tail for the longer splat; the shorter one takes it */
    CHECK("GET", "/storage/manage", 3, "manage");
    CHECK("PUT", "/t/42", 6, "42");
    CHECK("DELETE", "/t/42", 7, "42");
    CHECK("GET", "/exact/other", 9, "other");
    CHECK("GET", "/exact/first/more", 9, "first/more");
}

static void test_exact_beats_splat(void **state)
{
    UNUSED(state);
    /* the exact route comes after both splats in the table */
    CHECK("GET", "/storage/manage/special", 5, NULL);
    /* and before its splat */
    CHECK("GET", "/exact/first", 8, NULL);
    CHECK("GET", "/storage/manage/specials", 4, "specials");
}

static void test_empty_tail(void **state)
{
    UNUSED(state);
    CHECK("GET", "/storage/", -1, NULL);
    CHECK("GET", "/storage", -1, NULL);
    CHECK("PUT", "/t/", -1, NULL);
    CHECK("PUT", "/t", -1, NULL);
    CHECK("GET", "/w/", -1, NULL);
    /* an empty tail for the long splat falls back to the shorter one */
    CHECK("GET", "/storage/manage/", 3, "manage/");
}

static void test_longest_prefix_any_order(void **state)
{
    static const struct route fwd[] = {
        { .method = "GET", .path = "/a/*" },
        { .method = "GET", .path = "/a/b/*" },
        { .method = "GET", .path = "/a/b/c/*" },
    };
    static const struct route rev[] = {
        { .method = "GET", .path = "/a/b/c/*" },
        { .method = "GET", .path = "/a/b/*" },
        { .method = "GET", .path = "/a/*" },
    };
    static const struct route splat_first[] = {
        { .method = "GET", .path = "/a/*" },
        { .method = "GET", .path = "/a/b" },
    };
    UNUSED(state);
    check(fwd, 3, "GET", "/a/b/c/d", 2, "d");
    check(fwd, 3, "GET", "/a/b/x", 1, "x");
    check(fwd, 3, "GET", "/a/x/c/d", 0, "x/c/d");
    check(rev, 3, "GET", "/a/b/c/d", 0, "d");
    check(rev, 3, "GET", "/a/b/x", 1, "x");
    check(rev, 3, "GET", "/a/x/c/d", 2, "x/c/d");
    check(splat_first, 2, "GET", "/a/b", 1, NULL);
    check(splat_first, 2, "GET", "/a/c", 0, "c");
    /* an empty table matches nothing */
    check(fwd, 0, "GET", "/a/b", -1, NULL);
}

/* Routes spread over several module tables, as src/api/routes.c registers them. */
static void test_several_tables(void **state)
{
    /* one array so that check_tables can report indexes; the tables are slices of it */
    static const struct route all[] = {
        /* table A: 0..1 */
        { .method = "GET", .path = "/user/*" },
        { .method = "GET", .path = "/user" },
        /* table B: 2..3 */
        { .method = "GET", .path = "/user/service/*" },
        { .method = "GET", .path = "/user/profile" },
        /* table C: 4 */
        { .method = "*", .path = "/admin/*" },
    };
    const struct route_table a = { all, 2 }, b = { all + 2, 2 }, c = { all + 4, 1 };
    const struct route_table *const abc[] = { &a, &b, &c };
    const struct route_table *const cba[] = { &c, &b, &a };
    UNUSED(state);
    for (int order = 0; order < 2; order++) {
        const struct route_table *const *t = order ? cba : abc;
        check_tables(t, 3, all, "GET", "/user", 1, NULL);
        /* an exact route of a later (or earlier) table beats a splat of another */
        check_tables(t, 3, all, "GET", "/user/profile", 3, NULL);
        /* the longest splat wins across tables */
        check_tables(t, 3, all, "GET", "/user/service/7", 2, "7");
        check_tables(t, 3, all, "GET", "/user/other", 0, "other");
        check_tables(t, 3, all, "POST", "/admin/x", 4, "x");
        check_tables(t, 3, all, "POST", "/user/profile", -1, NULL);
    }
    /* only the first ntables tables are searched */
    check_tables(abc, 1, all, "GET", "/user/profile", 0, "profile");
    check_tables(abc, 0, all, "GET", "/user", -1, NULL);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_method_mismatch),
        cmocka_unit_test(test_any_method),
        cmocka_unit_test(test_splat),
        cmocka_unit_test(test_exact_beats_splat),
        cmocka_unit_test(test_empty_tail),
        cmocka_unit_test(test_longest_prefix_any_order),
        cmocka_unit_test(test_several_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
