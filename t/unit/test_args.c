/*
 * test_args.c — unit tests of src/http/args.c without a live request:
 * args_parse_form (percent and '+' decoding, later duplicates win, empty
 * values and keys without '=', invalid escapes kept literally, invalid UTF-8
 * and too many keys refused) and the handler accessors args_str,
 * args_missing, args_i64 and args_true (SHM truthiness). args_parse needs an
 * HTTP request and is covered by the t/api tests.
 */
#include "common.h"
#include "http/args.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

/* Parses s into a new object; asserts success. */
static json_t *form(const char *s)
{
    struct err e = { 0 };
    json_t *o = json_object();
    int rc = args_parse_form(s, strlen(s), o, &e);
    if (rc != 0) {
        json_decref(o);
        fail_msg("args_parse_form(\"%s\") = %d: %s", s, rc, e.msg);
    }
    return o;
}

/* Asserts that s is refused with ERR_INVALID and a message containing msg. */
static void assert_form_invalid(const char *s, size_t len, const char *msg)
{
    struct err e = { 0 };
    json_t *o = json_object();
    int rc = args_parse_form(s, len, o, &e);
    json_decref(o);
    if (rc != ERR_INVALID)
        fail_msg("args_parse_form(\"%.*s\") = %d, want ERR_INVALID", (int)len, s, rc);
    assert_int_equal(e.code, ERR_INVALID);
    if (!strstr(e.msg, msg))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg);
}

static void assert_str(json_t *o, const char *key, const char *want)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("key \"%s\" is not a string", key);
    assert_string_equal(json_string_value(v), want);
    assert_int_equal(json_string_length(v), strlen(want));
}

static void test_form_basic(void **state)
{
    UNUSED(state);
    json_t *o = form("a=1&b=x+y%21");
    assert_int_equal(json_object_size(o), 2);
    assert_str(o, "a", "1");
    assert_str(o, "b", "x y!");
    json_decref(o);

    o = form("na%6De=J%C3%BCrgen+%2B+%26+%3D&%41=%7e");
    assert_int_equal(json_object_size(o), 2);
    assert_str(o, "name", "Jürgen + & =");
    assert_str(o, "A", "~");
    json_decref(o);

    /* a '=' inside the value belongs to the value */
    o = form("q=a=b&r=");
    assert_str(o, "q", "a=b");
    assert_str(o, "r", "");
    json_decref(o);

    o = form("");
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
}

static void test_form_duplicates_and_empty(void **state)
{
    UNUSED(state);
    json_t *o = form("a=1&a=2&b=3&a=last");
    assert_int_equal(json_object_size(o), 2);
    assert_str(o, "a", "last");
    assert_str(o, "b", "3");
    json_decref(o);

    o = form("empty=&flag&other=1");
    assert_int_equal(json_object_size(o), 3);
    assert_str(o, "empty", "");
    assert_str(o, "flag", "");
    assert_str(o, "other", "1");
    json_decref(o);

    /* empty pairs and empty keys are skipped */
    o = form("&&x=1&&=orphan&");
    assert_int_equal(json_object_size(o), 1);
    assert_str(o, "x", "1");
    json_decref(o);

    /* the object may already hold values: form values are added/overwrite */
    o = json_pack("{s:s, s:i}", "keep", "k", "x", 5);
    struct err e = { 0 };
    assert_int_equal(args_parse_form("x=6", 3, o, &e), 0);
    assert_str(o, "keep", "k");
    assert_str(o, "x", "6");
    json_decref(o);
}

static void test_form_bad_escapes(void **state)
{
    UNUSED(state);
    json_t *o = form("a=%zz&b=100%&c=%2&d=%&e=%g1&f=%1g");
    assert_str(o, "a", "%zz");
    assert_str(o, "b", "100%");
    assert_str(o, "c", "%2");
    assert_str(o, "d", "%");
    assert_str(o, "e", "%g1");
    assert_str(o, "f", "%1g");
    json_decref(o);

    /* an escape at the very end of the text is decoded */
    o = form("a=%41");
    assert_str(o, "a", "A");
    json_decref(o);
}

static void test_form_length(void **state)
{
    struct err e = { 0 };
    UNUSED(state);
    /* only len bytes are parsed */
    json_t *o = json_object();
    assert_int_equal(args_parse_form("a=1&b=2", 3, o, &e), 0);
    assert_int_equal(json_object_size(o), 1);
    assert_str(o, "a", "1");
    json_decref(o);
}

static void test_form_invalid_utf8(void **state)
{
    UNUSED(state);
    assert_form_invalid("a=%ff", 5, "UTF-8");
    assert_form_invalid("a=%C3", 5, "UTF-8");
    assert_form_invalid("ok=1&a=\xc3\x28", 9, "UTF-8");
    /* in the key as well as in the value */
    assert_form_invalid("%ff=1", 5, "UTF-8");
    assert_form_invalid("k\xe2\x82=1", 5, "UTF-8");
    /* a NUL byte cannot be part of a key */
    assert_form_invalid("a%00b=1", 7, "");
}

static void test_form_too_many_keys(void **state)
{
    struct buf b;
    struct err e = { 0 };
    UNUSED(state);
    buf_init(&b, 0);
    for (int i = 0; i < ARGS_MAX_KEYS; i++)
        buf_printf(&b, "%sk%d=%d", i ? "&" : "", i, i);
    json_t *o = json_object();
    assert_int_equal(args_parse_form(b.data, b.len, o, &e), 0);
    assert_int_equal(json_object_size(o), ARGS_MAX_KEYS);
    assert_str(o, "k999", "999");
    json_decref(o);

    /* repeating keys does not count twice */
    size_t len = b.len;
    buf_puts(&b, "&k0=again&k1=again");
    o = json_object();
    assert_int_equal(args_parse_form(b.data, b.len, o, &e), 0);
    assert_int_equal(json_object_size(o), ARGS_MAX_KEYS);
    assert_str(o, "k0", "again");
    json_decref(o);

    /* one more distinct key is too many */
    b.len = len;
    b.data[len] = '\0';
    buf_puts(&b, "&one_more=1");
    assert_form_invalid(b.data, b.len, "Too many");
    buf_free(&b);
}

static void test_missing(void **state)
{
    UNUSED(state);
    json_t *a = json_pack("{s:n, s:s, s:s, s:s, s:i, s:b, s:o, s:f}", "null", "empty", "",
                          "zero", "0", "text", "x", "int0", 0, "false", 0, "obj",
                          json_object(), "real", 0.0);
    assert_true(args_missing(a, "absent"));
    assert_true(args_missing(a, "null"));
    assert_true(args_missing(a, "empty"));
    assert_false(args_missing(a, "zero"));
    assert_false(args_missing(a, "text"));
    assert_false(args_missing(a, "int0"));
    assert_false(args_missing(a, "false"));
    assert_false(args_missing(a, "obj"));
    assert_false(args_missing(a, "real"));
    json_decref(a);
}

static void test_str_accessor(void **state)
{
    UNUSED(state);
    json_t *a = json_pack("{s:s, s:i, s:n}", "s", "value", "i", 5, "n");
    assert_string_equal(args_str(a, "s"), "value");
    assert_null(args_str(a, "i")); /* numbers are not converted */
    assert_null(args_str(a, "n"));
    assert_null(args_str(a, "absent"));
    json_decref(a);
}

static void test_i64(void **state)
{
    int64_t v = 99;
    UNUSED(state);
    json_t *a = json_pack("{s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:f, s:b, s:n, s:s, s:o}", "int",
                          42, "big", (json_int_t)INT64_MIN, "str", "-12", "plus", "+7",
                          "junk", "12x", "space", " 1", "empty", "", "real", 1.5, "bool", 1,
                          "null", "over", "9223372036854775808", "arr", json_array());
    assert_int_equal(args_i64(a, "int", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(args_i64(a, "big", &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(args_i64(a, "str", &v), 0);
    assert_int_equal(v, -12);
    assert_int_equal(args_i64(a, "plus", &v), 0);
    assert_int_equal(v, 7);
    v = 99;
    assert_int_equal(args_i64(a, "absent", &v), ERR_NOT_FOUND);
    assert_int_equal(args_i64(a, "null", &v), ERR_NOT_FOUND);
    assert_int_equal(args_i64(a, "junk", &v), ERR_INVALID);
    assert_int_equal(args_i64(a, "space", &v), ERR_INVALID);
    assert_int_equal(args_i64(a, "empty", &v), ERR_INVALID);
    assert_int_equal(args_i64(a, "real", &v), ERR_INVALID);
    assert_int_equal(args_i64(a, "bool", &v), ERR_INVALID);
    assert_int_equal(args_i64(a, "over", &v), ERR_INVALID);
    assert_int_equal(args_i64(a, "arr", &v), ERR_INVALID);
    assert_int_equal(v, 99);
    json_decref(a);
}

static void test_true(void **state)
{
    UNUSED(state);
    json_t *a = json_pack("{s:n, s:b, s:b, s:i, s:i, s:i, s:f, s:f, s:s, s:s, s:s, s:s, s:s,"
                          " s:s, s:s, s:o, s:o}",
                          "null", "false", 0, "true", 1, "zero", 0, "one", 1, "minus", -1,
                          "r0", 0.0, "r5", 0.5, "s_empty", "", "s0", "0", "s1", "1", "s00",
                          "00", "s0_0", "0.0", "s_false", "false", "s_space", " ", "obj",
                          json_object(), "arr", json_array());
    assert_false(args_true(a, "absent"));
    assert_false(args_true(a, "null"));
    assert_false(args_true(a, "false"));
    assert_false(args_true(a, "zero"));
    assert_false(args_true(a, "r0"));
    assert_false(args_true(a, "s_empty"));
    assert_false(args_true(a, "s0"));
    assert_true(args_true(a, "true"));
    assert_true(args_true(a, "one"));
    assert_true(args_true(a, "minus"));
    assert_true(args_true(a, "r5"));
    assert_true(args_true(a, "s1"));
    /* Perl truthiness: only "" and "0" are false strings */
    assert_true(args_true(a, "s00"));
    assert_true(args_true(a, "s0_0"));
    assert_true(args_true(a, "s_false"));
    assert_true(args_true(a, "s_space"));
    assert_true(args_true(a, "obj"));
    assert_true(args_true(a, "arr"));
    json_decref(a);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_basic),
        cmocka_unit_test(test_form_duplicates_and_empty),
        cmocka_unit_test(test_form_bad_escapes),
        cmocka_unit_test(test_form_length),
        cmocka_unit_test(test_form_invalid_utf8),
        cmocka_unit_test(test_form_too_many_keys),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_str_accessor),
        cmocka_unit_test(test_i64),
        cmocka_unit_test(test_true),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
