/*
 * test_timeutil.c — unit tests of src/util/timeutil.c in two billing time
 * zones (UTC and Europe/Moscow, including Moscow's historical UTC+4 years):
 * time_format_local, time_format_ctime (Perl's scalar localtime, day of
 * month space-padded), time_parse_local (date only, HH:MM, HH:MM:SS, 'T'
 * separator; impossible dates, junk and empty input rejected) and time_now.
 */
#include "common.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#define SENTINEL INT64_C(-424242)

/* 2026-07-01 22:25:53 UTC, a Wednesday. */
#define T_JUL1 INT64_C(1782944753)

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int tz_utc(void **state)
{
    UNUSED(state);
    set_tz("UTC");
    return 0;
}

static int tz_moscow(void **state)
{
    UNUSED(state);
    set_tz("Europe/Moscow");
    return 0;
}

static int tz_restore(void **state)
{
    UNUSED(state);
    set_tz("UTC");
    return 0;
}

static void assert_local(int64_t t, const char *want)
{
    char out[32];
    memset(out, 'X', sizeof(out));
    time_format_local(t, out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("time_format_local(%lld) = \"%s\", want \"%s\"", (long long)t, out, want);
}

static void assert_ctime(int64_t t, const char *want)
{
    char out[40];
    memset(out, 'X', sizeof(out));
    time_format_ctime(t, out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("time_format_ctime(%lld) = \"%s\", want \"%s\"", (long long)t, out, want);
}

static void assert_parse(const char *s, int64_t want)
{
    int64_t t = SENTINEL;
    int rc = time_parse_local(s, &t);
    if (rc != 0)
        fail_msg("time_parse_local(\"%s\") failed with %d", s, rc);
    if (t != want)
        fail_msg("time_parse_local(\"%s\") = %lld, want %lld", s, (long long)t, (long long)want);
}

static void assert_parse_bad(const char *s)
{
    int64_t t = SENTINEL;
    int rc = time_parse_local(s, &t);
    if (rc != ERR_INVALID)
        fail_msg("time_parse_local(\"%s\") = %d (%lld), want ERR_INVALID", s, rc, (long long)t);
    assert_int_equal(t, SENTINEL);
}

/* ---- UTC ---- */

static void test_utc_format(void **state)
{
    UNUSED(state);
    assert_local(0, "1970-01-01 00:00:00");
    assert_local(T_JUL1, "2026-07-01 22:25:53");
    assert_local(INT64_C(1798189507), "2026-12-25 09:05:07");
    assert_local(INT64_C(1709164800), "2024-02-29 00:00:00");
    assert_local(-1, "1969-12-31 23:59:59");
}

static void test_utc_ctime(void **state)
{
    UNUSED(state);
    assert_ctime(T_JUL1, "Wed Jul  1 22:25:53 2026");
    assert_ctime(INT64_C(1798189507), "Fri Dec 25 09:05:07 2026");
    assert_ctime(0, "Thu Jan  1 00:00:00 1970");
    assert_ctime(INT64_C(1709164800), "Thu Feb 29 00:00:00 2024");
}

static void test_utc_parse(void **state)
{
    UNUSED(state);
    assert_parse("2026-07-01 22:25:53", T_JUL1);
    assert_parse("2026-07-01T22:25:53", T_JUL1);
    assert_parse("2026-07-01 22:25", T_JUL1 - 53);
    assert_parse("2026-07-01T22:25", T_JUL1 - 53);
    assert_parse("2026-07-01", T_JUL1 - (22 * 3600 + 25 * 60 + 53));
    assert_parse("2024-02-29", INT64_C(1709164800));
    assert_parse("2026-01-01 00:00:00", INT64_C(1767225600));
    assert_parse("1970-01-01 00:00:00", 0);
    assert_parse("1969-12-31 23:59:59", -1); /* mktime's error value is a real time */
    assert_parse("2026-12-31 23:59:59", INT64_C(1798761599));
}

static void test_parse_rejects(void **state)
{
    UNUSED(state);
    assert_parse_bad("");
    assert_parse_bad("2026-02-31");
    assert_parse_bad("2026-02-29"); /* not a leap year */
    assert_parse_bad("2026-04-31");
    assert_parse_bad("2026-13-01");
    assert_parse_bad("2026-00-10");
    assert_parse_bad("2026-01-00");
    assert_parse_bad("2026-01-32");
    assert_parse_bad("2026-7-1");
    assert_parse_bad("26-07-01");
    assert_parse_bad("2026/07/01");
    assert_parse_bad("2026-07-01 22:25:53x");
    assert_parse_bad("2026-07-01 22:25:53 ");
    assert_parse_bad("2026-07-01 22:25:53.5");
    assert_parse_bad("2026-07-01x");
    assert_parse_bad("2026-07-01 ");
    assert_parse_bad("2026-07-01T");
    assert_parse_bad("2026-07-01 22");
    assert_parse_bad("2026-07-01 22:");
    assert_parse_bad("2026-07-01 22:5");
    assert_parse_bad("2026-07-01 22:25:");
    assert_parse_bad("2026-07-01 22:25:5");
    assert_parse_bad("2026-07-01 24:00:00");
    assert_parse_bad("2026-07-01 23:60:00");
    assert_parse_bad("2026-07-01 23:59:61");
    assert_parse_bad("2026-07-01  22:25:53");
    assert_parse_bad("2026-07-01t22:25:53");
    assert_parse_bad(" 2026-07-01");
    assert_parse_bad("abcd-ef-gh");
    assert_parse_bad("2026-07");
    assert_parse_bad("2026");
    assert_parse_bad("1782944753");
}

/* ---- Europe/Moscow (UTC+3 since 2014, UTC+4 in 2011-2014) ---- */

static void test_moscow_format(void **state)
{
    UNUSED(state);
    assert_local(T_JUL1, "2026-07-02 01:25:53");
    assert_local(0, "1970-01-01 03:00:00");
    /* 2012-07-01 00:00:00 MSK was 2012-06-30 20:00:00 UTC */
    assert_local(INT64_C(1341086400), "2012-07-01 00:00:00");
}

static void test_moscow_ctime(void **state)
{
    UNUSED(state);
    assert_ctime(T_JUL1, "Thu Jul  2 01:25:53 2026");
    assert_ctime(T_JUL1 - 3 * 3600, "Wed Jul  1 22:25:53 2026");
    assert_ctime(INT64_C(1798189507), "Fri Dec 25 12:05:07 2026");
}

static void test_moscow_parse(void **state)
{
    UNUSED(state);
    assert_parse("2026-07-01 22:25:53", T_JUL1 - 3 * 3600);
    assert_parse("2026-07-01T22:25:53", T_JUL1 - 3 * 3600);
    assert_parse("2026-07-02 01:25", T_JUL1 - 53);
    assert_parse("2026-07-02", T_JUL1 - (1 * 3600 + 25 * 60 + 53));
    assert_parse("2012-07-01 00:00:00", INT64_C(1341086400));
    assert_parse("1970-01-01 03:00:00", 0);
    assert_parse_bad("2026-02-31");
    assert_parse_bad("2026-13-01");
    assert_parse_bad("2026-07-01 22:25:53junk");
    assert_parse_bad("");
}

/* Whatever the zone, format(parse(s)) == s for a valid full timestamp. */
static void test_round_trip(void **state)
{
    static const char *zones[] = { "UTC", "Europe/Moscow" };
    static const char *stamps[] = { "2026-07-01 22:25:53", "2000-02-29 12:00:00",
                                    "2013-12-31 23:59:59", "2038-01-19 03:14:08",
                                    "1999-01-01 00:00:00" };
    UNUSED(state);
    for (size_t z = 0; z < ARRAY_SIZE(zones); z++) {
        set_tz(zones[z]);
        for (size_t i = 0; i < ARRAY_SIZE(stamps); i++) {
            int64_t t = SENTINEL;
            char out[32];
            assert_int_equal(time_parse_local(stamps[i], &t), 0);
            time_format_local(t, out, sizeof(out));
            if (strcmp(out, stamps[i]) != 0)
                fail_msg("TZ=%s: %s -> %lld -> %s", zones[z], stamps[i], (long long)t, out);
        }
    }
    set_tz("UTC");
}

static void test_now(void **state)
{
    UNUSED(state);
    int64_t before = (int64_t)time(NULL);
    int64_t now = time_now();
    int64_t after = (int64_t)time(NULL);
    assert_true(now >= before);
    assert_true(now <= after);
    assert_true(now > INT64_C(1700000000));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_utc_format, tz_utc),
        cmocka_unit_test_setup(test_utc_ctime, tz_utc),
        cmocka_unit_test_setup(test_utc_parse, tz_utc),
        cmocka_unit_test_setup(test_parse_rejects, tz_utc),
        cmocka_unit_test_setup(test_moscow_format, tz_moscow),
        cmocka_unit_test_setup(test_moscow_ctime, tz_moscow),
        cmocka_unit_test_setup(test_moscow_parse, tz_moscow),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, tz_restore);
}
