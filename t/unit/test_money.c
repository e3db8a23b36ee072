/*
 * test_money.c — unit tests of src/core/money.c: exact decimal parsing into
 * minor units (signs, fraction digits, MONEY_MAX, malformed text), amounts
 * from JSON integers, reals and strings, rendering to JSON (integer when
 * whole, a real that prints as the decimal at 15 digits otherwise) and
 * money_format.
 */
#include "common.h"
#include "core/money.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#define SENTINEL INT64_C(777777)

static void assert_money(const char *s, int64_t want)
{
    int64_t v = SENTINEL;
    int rc = money_parse(s, strlen(s), &v);
    if (rc != 0)
        fail_msg("money_parse(\"%s\") failed with %d", s, rc);
    if (v != want)
        fail_msg("money_parse(\"%s\") = %lld, want %lld", s, (long long)v, (long long)want);
}

static void assert_bad_money(const char *s)
{
    int64_t v = SENTINEL;
    int rc = money_parse(s, strlen(s), &v);
    if (rc != ERR_INVALID)
        fail_msg("money_parse(\"%s\") = %d (value %lld), want ERR_INVALID", s, rc,
                 (long long)v);
    assert_int_equal(v, SENTINEL);
}

static void test_parse_valid(void **state)
{
    UNUSED(state);
    assert_money("123", 12300);
    assert_money("-21.56", -2156);
    assert_money("0.5", 50);
    assert_money("+7.10", 710);
    assert_money("1.500", 150);
    assert_money("1.50000", 150);
    assert_money("0", 0);
    assert_money("-0", 0);
    assert_money("0.01", 1);
    assert_money("-0.01", -1);
    assert_money("100000", 10000000);
    assert_money("007.5", 750);
    assert_money(".5", 50);
    assert_money("5.", 500);
    assert_money("1999.99", 199999);
}

static void test_parse_invalid(void **state)
{
    int64_t v = SENTINEL;
    UNUSED(state);
    assert_bad_money("1.999");
    assert_bad_money("1.001");
    assert_bad_money("0.005");
    assert_bad_money("");
    assert_bad_money(".");
    assert_bad_money("-");
    assert_bad_money("+");
    assert_bad_money("-.");
    assert_bad_money("abc");
    assert_bad_money("12a");
    assert_bad_money("1.2.3");
    assert_bad_money("1,50");
    assert_bad_money(" 1");
    assert_bad_money("1 ");
    assert_bad_money("--1");
    assert_bad_money("1e3");
    assert_bad_money("0x10");
    assert_bad_money("Infinity");
    assert_bad_money("NaN");
    /* len is honoured: "12.345" cut to "12.34" is valid, cut to "" is not */
    assert_int_equal(money_parse("12.345", 5, &v), 0);
    assert_int_equal(v, 1234);
    v = SENTINEL;
    assert_int_equal(money_parse("12", 0, &v), ERR_INVALID);
    assert_int_equal(money_parse("1\0" "2", 3, &v), ERR_INVALID);
    assert_int_equal(v, SENTINEL);
}

static void test_parse_limits(void **state)
{
    UNUSED(state);
    /* MONEY_MAX = 10^15 minor units = 10^13 major units */
    assert_money("10000000000000", MONEY_MAX);
    assert_money("-10000000000000", -MONEY_MAX);
    assert_money("10000000000000.00", MONEY_MAX);
    assert_money("9999999999999.99", MONEY_MAX - 1);
    assert_bad_money("10000000000000.01");
    assert_bad_money("-10000000000000.01");
    assert_bad_money("10000000000001");
    assert_bad_money("99999999999999");
    assert_bad_money("9223372036854775807");
    assert_bad_money("92233720368547758.08");
    assert_bad_money("99999999999999999999999999999999");
}

static void assert_json_money(json_t *v, int64_t want)
{
    int64_t got = SENTINEL;
    assert_non_null(v);
    int rc = money_from_json(v, &got);
    if (rc != 0 || got != want) {
        char d[64] = "";
        json_dumpb(v, d, sizeof(d) - 1, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        fail_msg("money_from_json(%s) = %d / %lld, want %lld", d, rc, (long long)got,
                 (long long)want);
    }
    json_decref(v);
}

static void assert_json_bad(json_t *v)
{
    int64_t got = SENTINEL;
    assert_non_null(v);
    int rc = money_from_json(v, &got);
    if (rc != ERR_INVALID) {
        char d[64] = "";
        json_dumpb(v, d, sizeof(d) - 1, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        fail_msg("money_from_json(%s) = %d / %lld, want ERR_INVALID", d, rc, (long long)got);
    }
    assert_int_equal(got, SENTINEL);
    json_decref(v);
}

static void test_from_json_numbers(void **state)
{
    UNUSED(state);
    assert_json_money(json_integer(0), 0);
    assert_json_money(json_integer(12), 1200);
    assert_json_money(json_integer(-3), -300);
    assert_json_money(json_integer(10000000000000), MONEY_MAX);
    assert_json_money(json_integer(-10000000000000), -MONEY_MAX);
    assert_json_bad(json_integer(10000000000001));
    assert_json_bad(json_integer(INT64_MAX));
    assert_json_bad(json_integer(INT64_MIN));
    /* reals whose binary value is not the decimal still convert exactly */
    assert_json_money(json_real(100.1), 10010);
    assert_json_money(json_real(1999.99), 199999);
    assert_json_money(json_real(-21.56), -2156);
    assert_json_money(json_real(0.1 + 0.2), 30);
    assert_json_money(json_real(0.07), 7);
    assert_json_money(json_real(1.15), 115);
    assert_json_money(json_real(4.35), 435);
    assert_json_money(json_real(12.0), 1200);
    assert_json_money(json_real(-0.0), 0);
    assert_json_bad(json_real(1.005));
    assert_json_bad(json_real(0.001));
    assert_json_bad(json_real(1e-7));
    assert_json_bad(json_real(1e20));
    assert_json_bad(json_real(1e14));
}

static void test_from_json_strings_and_others(void **state)
{
    UNUSED(state);
    assert_json_money(json_string("12.34"), 1234);
    assert_json_money(json_string("-21.56"), -2156);
    assert_json_money(json_string("100"), 10000);
    assert_json_money(json_string("+0.5"), 50);
    assert_json_bad(json_string(""));
    assert_json_bad(json_string("abc"));
    assert_json_bad(json_string("1.999"));
    assert_json_bad(json_string(" 5"));
    assert_json_bad(json_stringn("5\0" "0", 3));
    assert_json_bad(json_true());
    assert_json_bad(json_false());
    assert_json_bad(json_null());
    assert_json_bad(json_object());
    assert_json_bad(json_array());
    int64_t got = SENTINEL;
    assert_int_equal(money_from_json(NULL, &got), ERR_INVALID);
    assert_int_equal(got, SENTINEL);
}

/* Checks money_to_json(minor) dumps as text with JSON_REAL_PRECISION(15). */
static void assert_to_json(int64_t minor, bool integer, const char *text)
{
    json_t *v = money_to_json(minor);
    assert_non_null(v);
    if (integer) {
        assert_true(json_is_integer(v));
    } else {
        assert_true(json_is_real(v));
    }
    char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    assert_non_null(d);
    if (strcmp(d, text) != 0)
        fail_msg("money_to_json(%lld) dumps as %s, want %s", (long long)minor, d, text);
    free(d);
    /* and the rendered value reads back to the same amount */
    int64_t back = SENTINEL;
    assert_int_equal(money_from_json(v, &back), 0);
    assert_int_equal(back, minor);
    json_decref(v);
}

static void test_to_json(void **state)
{
    UNUSED(state);
    json_t *v = money_to_json(1200);
    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), 12);
    json_decref(v);
    v = money_to_json(10010);
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == 100.1);
    json_decref(v);

    assert_to_json(0, true, "0");
    assert_to_json(1200, true, "12");
    assert_to_json(-100, true, "-1");
    assert_to_json(10000000, true, "100000");
    assert_to_json(MONEY_MAX, true, "10000000000000");
    assert_to_json(10010, false, "100.1");
    assert_to_json(-2156, false, "-21.56");
    assert_to_json(199999, false, "1999.99");
    assert_to_json(1, false, "0.01");
    assert_to_json(-1, false, "-0.01");
    assert_to_json(50, false, "0.5");
    assert_to_json(MONEY_MAX - 1, false, "9999999999999.99");
}

static void assert_format(int64_t minor, const char *want)
{
    char out[32];
    memset(out, 'X', sizeof(out));
    money_format(minor, out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("money_format(%lld) = \"%s\", want \"%s\"", (long long)minor, out, want);
}

static void test_format(void **state)
{
    char small[6];
    UNUSED(state);
    assert_format(0, "0.00");
    assert_format(5, "0.05");
    assert_format(-5, "-0.05");
    assert_format(-2156, "-21.56");
    assert_format(10000000, "100000.00");
    assert_format(10010, "100.10");
    assert_format(MONEY_MAX, "10000000000000.00");
    assert_format(INT64_MAX, "92233720368547758.07");
    assert_format(INT64_MIN, "-92233720368547758.08");
    /* a short buffer is truncated and still terminated */
    money_format(123456, small, sizeof(small));
    assert_string_equal(small, "1234.");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_from_json_numbers),
        cmocka_unit_test(test_from_json_strings_and_others),
        cmocka_unit_test(test_to_json),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
