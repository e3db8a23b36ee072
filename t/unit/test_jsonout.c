/*
 * test_jsonout.c — jsonout_dumps writes exactly what json_dumps(v, JSON_COMPACT |
 * JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)) writes, for scalars,
 * escapes, control characters, UTF-8, reals, sorted keys (prefixes, embedded
 * NULs), deep nesting, and fails (NULL) where it fails.
 */
#include "common.h"
#include "util/jsonout.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#define FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

static void same(json_t *v)
{
    char *want = json_dumps(v, FLAGS);
    char *got = jsonout_dumps(v, 15);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
    json_decref(v);
}

static void test_scalars(void **state)
{
    UNUSED(state);
    same(json_null());
    same(json_true());
    same(json_false());
    same(json_integer(0));
    same(json_integer(-1));
    same(json_integer(INT64_MAX));
    same(json_integer(INT64_MIN));
    same(json_real(0.1));
    same(json_real(1e20));
    same(json_real(-2.5e-7));
    same(json_real(100));
    same(json_real(1.0 / 3));
    same(json_string(""));
    same(json_string("plain text / with slash"));
    same(json_string("quote \" backslash \\ tab \t nl \n cr \r bs \b ff \f"));
    static const char ctl[] = "\x01\x1f\x7f nul:\0:end";
    same(json_stringn(ctl, sizeof(ctl) - 1));
    same(json_string("Привет, мир — €"));
    same(json_string("emoji \xf0\x9f\x98\x80 after"));
}

static void test_containers(void **state)
{
    UNUSED(state);
    same(json_array());
    same(json_object());
    same(json_pack("{s:i, s:s, s:n, s:b, s:f, s:[i, s, {}], s:{s:{s:[]}}}", "z", 1, "a", "x",
                   "m", "n", 0, "f", 1.5, "arr", 1, "two", "o", "o2", "deep"));
    json_t *o = json_object();
    json_object_set_new(o, "ab", json_integer(1));
    json_object_set_new(o, "a", json_integer(2));
    json_object_set_new(o, "abc", json_integer(3));
    json_object_set_new(o, "B", json_integer(4));
    json_object_set_new(o, "_", json_integer(5));
    json_object_setn_new(o, "a\0b", 3, json_integer(6));
    json_object_set_new(o, "esc\"key\n", json_integer(7));
    json_object_set_new(o, "ключ", json_string("значение"));
    same(o);
    json_t *big = json_object();
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%03d", (i * 37) % 100);
        json_object_set_new(big, k, json_integer(i));
    }
    same(json_pack("[o, o]", big, json_deep_copy(big)));
    json_t *deep = json_integer(1);
    for (int i = 0; i < 200; i++)
        deep = i % 2 ? json_pack("[o]", deep) : json_pack("{s:o}", "d", deep);
    same(deep);
}

static void test_failures_match(void **state)
{
    UNUSED(state);
    json_t *bad = json_string_nocheck("bad \xff utf-8");
    json_t *doc = json_pack("{s:[i, O]}", "x", 1, bad);
    assert_null(json_dumps(doc, FLAGS));
    assert_null(jsonout_dumps(doc, 15));
    json_decref(doc);
    json_decref(bad);
    json_t *loop = json_array(), *inner = json_object();
    assert_int_equal(json_array_append(loop, inner), 0);
    assert_int_equal(json_object_set(inner, "back", loop), 0);
    assert_null(json_dumps(loop, FLAGS));
    assert_null(jsonout_dumps(loop, 15));
    json_object_clear(inner);
    json_decref(inner);
    json_decref(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_failures_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
