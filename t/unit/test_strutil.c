/*
 * test_strutil.c — unit tests of src/util/strutil.c: parse_i64/parse_i64z
 * (bounds, INT64_MIN/MAX, overflow, signs, empty input, spaces and junk,
 * *out untouched on failure), str_lower, str_starts and str_ct_equal.
 */
#include "common.h"
#include "util/strutil.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#define SENTINEL INT64_C(0x5a5a5a5a)

/* parse_i64z over the full int64 range; returns the status, *out as parsed. */
static int p(const char *s, int64_t *out)
{
    *out = SENTINEL;
    return parse_i64z(s, INT64_MIN, INT64_MAX, out);
}

static void assert_parses(const char *s, int64_t want)
{
    int64_t v;
    int rc = p(s, &v);
    if (rc != 0)
        fail_msg("parse_i64z(\"%s\") failed with %d", s, rc);
    if (v != want)
        fail_msg("parse_i64z(\"%s\") = %lld, want %lld", s, (long long)v, (long long)want);
}

static void assert_rejects(const char *s)
{
    int64_t v;
    int rc = p(s, &v);
    if (rc != ERR_INVALID)
        fail_msg("parse_i64z(\"%s\") = %d (value %lld), want ERR_INVALID", s, rc, (long long)v);
    assert_int_equal(v, SENTINEL); /* *out written only on success */
}

static void test_parse_plain(void **state)
{
    UNUSED(state);
    assert_parses("0", 0);
    assert_parses("7", 7);
    assert_parses("123", 123);
    assert_parses("007", 7);
    assert_parses("-0", 0);
    assert_parses("+0", 0);
    assert_parses("-5", -5);
    assert_parses("+42", 42);
    assert_parses("1000000000000", INT64_C(1000000000000));
}

static void test_parse_limits(void **state)
{
    UNUSED(state);
    assert_parses("9223372036854775807", INT64_MAX);
    assert_parses("+9223372036854775807", INT64_MAX);
    assert_parses("-9223372036854775807", -INT64_MAX);
    assert_parses("-9223372036854775808", INT64_MIN);
    assert_parses("0009223372036854775807", INT64_MAX);
    assert_rejects("9223372036854775808");
    assert_rejects("+9223372036854775808");
    assert_rejects("-9223372036854775809");
    assert_rejects("9223372036854775810");
    assert_rejects("18446744073709551615");
    assert_rejects("18446744073709551616");
    assert_rejects("99999999999999999999999999");
    assert_rejects("-99999999999999999999999999");
}

static void test_parse_junk(void **state)
{
    int64_t v = SENTINEL;
    UNUSED(state);
    assert_rejects("");
    assert_rejects("-");
    assert_rejects("+");
    assert_rejects(" 1");
    assert_rejects("1 ");
    assert_rejects(" ");
    assert_rejects("1a");
    assert_rejects("a1");
    assert_rejects("1.0");
    assert_rejects("1e3");
    assert_rejects("0x10");
    assert_rejects("--1");
    assert_rejects("+-1");
    assert_rejects("-+1");
    assert_rejects("1-");
    assert_rejects("1,000");
    assert_rejects("\t1");
    assert_rejects("1\n");
    assert_rejects("١"); /* a non-ASCII digit */
    assert_int_equal(parse_i64z(NULL, INT64_MIN, INT64_MAX, &v), ERR_INVALID);
    assert_int_equal(parse_i64(NULL, 0, INT64_MIN, INT64_MAX, &v), ERR_INVALID);
    assert_int_equal(v, SENTINEL);
}

static void test_parse_bounds(void **state)
{
    int64_t v = SENTINEL;
    UNUSED(state);
    assert_int_equal(parse_i64z("10", 0, 9, &v), ERR_INVALID);
    assert_int_equal(v, SENTINEL);
    assert_int_equal(parse_i64z("-1", 0, 9, &v), ERR_INVALID);
    assert_int_equal(v, SENTINEL);
    assert_int_equal(parse_i64z("10", 10, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(parse_i64z("2", 2, 256, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(parse_i64z("256", 2, 256, &v), 0);
    assert_int_equal(v, 256);
    v = SENTINEL;
    assert_int_equal(parse_i64z("257", 2, 256, &v), ERR_INVALID);
    assert_int_equal(parse_i64z("1", 2, 256, &v), ERR_INVALID);
    assert_int_equal(v, SENTINEL);
    assert_int_equal(parse_i64z("-100", -100, -50, &v), 0);
    assert_int_equal(v, -100);
    assert_int_equal(parse_i64z("-49", -100, -50, &v), ERR_INVALID);
    assert_int_equal(v, -100);
}

static void test_parse_length(void **state)
{
    int64_t v = SENTINEL;
    UNUSED(state);
    /* only len bytes are read: a prefix of a longer string */
    assert_int_equal(parse_i64("123abc", 3, INT64_MIN, INT64_MAX, &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(parse_i64("-42,7", 3, INT64_MIN, INT64_MAX, &v), 0);
    assert_int_equal(v, -42);
    v = SENTINEL;
    assert_int_equal(parse_i64("123", 0, INT64_MIN, INT64_MAX, &v), ERR_INVALID);
    assert_int_equal(parse_i64("-1", 1, INT64_MIN, INT64_MAX, &v), ERR_INVALID);
    /* an embedded NUL inside len is junk, not an end */
    assert_int_equal(parse_i64("12\0" "3", 4, INT64_MIN, INT64_MAX, &v), ERR_INVALID);
    assert_int_equal(v, SENTINEL);
}

static void test_str_lower(void **state)
{
    char s[] = "AbC-XyZ_09@Example.COM";
    char u[] = "ПРИВЕТ Ä";
    char empty[] = "";
    UNUSED(state);
    assert_ptr_equal(str_lower(s), s);
    assert_string_equal(s, "abc-xyz_09@example.com");
    /* bytes outside ASCII are left alone */
    assert_string_equal(str_lower(u), "ПРИВЕТ Ä");
    assert_string_equal(str_lower(empty), "");
    assert_null(str_lower(NULL));
}

static void test_str_starts(void **state)
{
    UNUSED(state);
    assert_true(str_starts("sqlite:///x", "sqlite:"));
    assert_true(str_starts("abc", ""));
    assert_true(str_starts("abc", "abc"));
    assert_false(str_starts("ab", "abc"));
    assert_false(str_starts("Sqlite:", "sqlite:"));
    assert_false(str_starts("", "a"));
}

static void test_ct_equal(void **state)
{
    UNUSED(state);
    assert_true(str_ct_equal("", ""));
    assert_true(str_ct_equal("secret-token", "secret-token"));
    assert_false(str_ct_equal("secret-token", "secret-tokeN"));
    assert_false(str_ct_equal("Secret-token", "secret-token"));
    assert_false(str_ct_equal("abc", "abcd"));
    assert_false(str_ct_equal("abcd", "abc"));
    assert_false(str_ct_equal("", "a"));
    assert_false(str_ct_equal("a", ""));
    /* non-ASCII bytes and a difference in the last bit of the last byte */
    assert_true(str_ct_equal("\xc3\xa4", "\xc3\xa4"));
    assert_false(str_ct_equal("\xc3\xa4", "\xc3\xa5"));
    assert_false(str_ct_equal("\x80", "\x00"));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_junk),
        cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_parse_length),
        cmocka_unit_test(test_str_lower),
        cmocka_unit_test(test_str_starts),
        cmocka_unit_test(test_ct_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
