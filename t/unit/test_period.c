/*
 * test_period.c — unit tests of src/core/period.c, table-driven, one table
 * per section of billing.md §2: parsing and the split into months, days and
 * hours (§2.1), sum_period (§2.2) and add_period (§2.3, in UTC and
 * Europe/Moscow); plus the stored representation (period_parse refusals,
 * JSON in and out, period_format), period_join, and the local-calendar
 * helpers the billing strategies use: days in month, civil additions and
 * the Time::Local conversion around DST (Europe/London, America/New_York;
 * expected values computed with Perl's Time::Local).
 */
#include "common.h"
#include "core/period.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <time.h>

#include <cmocka.h>

#define SENTINEL INT64_C(-777)

/* A table test run with TZ set to zone, named "<function> TZ=<zone>". */
#define IN_ZONE(f, zone) { #f " TZ=" zone, f, set_zone, NULL, (void *)(zone) }

/* Sets TZ to the zone in *state; fails the test when its tzdata is missing. */
static int set_zone(void **state)
{
    const char *zone = (const char *)*state;
    time_t july = (time_t)1498910400; /* 2017-07-01 12:00:00 UTC */
    struct tm tm;
    setenv("TZ", zone, 1);
    tzset();
    localtime_r(&july, &tm);
    if (strcmp(zone, "UTC") != 0 && tm.tm_gmtoff == 0) {
        print_error("no time zone data for %s (install tzdata)\n", zone);
        return -1;
    }
    return 0;
}

static int64_t local_time(const char *s)
{
    int64_t t = SENTINEL;
    if (time_parse_local(s, &t) != 0)
        fail_msg("bad date in table: %s", s);
    return t;
}

static int64_t scaled(const char *s)
{
    int64_t v = SENTINEL;
    if (period_parse(s, strlen(s), &v) != 0)
        fail_msg("bad period in table: %s", s);
    return v;
}

/* Ends a table test: every mismatch was printed; fail once with the count. */
static void table_done(const char *table, int failures)
{
    if (failures)
        fail_msg("%s: %d row(s) differ", table, failures);
}

/* ---- §2.1 parsing ---- */

struct parse_row {
    const char *period;
    int64_t months;
    int days;
    int hours;
};

static const struct parse_row parse_vectors[] = {
    { "1", 1, 0, 0 },        /* 1 month */
    { "0.01", 0, 1, 0 },     /* 1 day */
    { "0.1", 0, 10, 0 },     /* 10 days */
    { "0.10", 0, 10, 0 },    /* = 0.1 */
    { "0.0001", 0, 0, 1 },   /* 1 hour */
    { "0.001", 0, 0, 10 },   /* 10 hours */
    { "0.0010", 0, 0, 10 },  /* = 0.001 */
    { "1.0010", 1, 0, 10 },  /* 1 month 10 hours */
    { "0.1012", 0, 10, 12 }, /* 10 days 12 hours */
    { "2.1012", 2, 10, 12 }, /* 2 months 10 days 12 hours */
    { "1.1500", 1, 15, 0 },  /* 1 month 15 days */
    { "1.1012", 1, 10, 12 }, /* 1 month 10 days 12 hours */
};

static void test_parse_vectors(void **state)
{
    int failures = 0;
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(parse_vectors); i++) {
        const struct parse_row *r = &parse_vectors[i];
        struct period_parts p;
        period_split(scaled(r->period), &p);
        if (p.months != r->months || p.days != r->days || p.hours != r->hours) {
            print_error("§2.1 %s: got %lld months %d days %d hours, want %lld/%d/%d\n",
                        r->period, (long long)p.months, p.days, p.hours, (long long)r->months,
                        r->days, r->hours);
            failures++;
        }
    }
    table_done("§2.1 parse_period", failures);
}

static void test_parse_refuses(void **state)
{
    static const char *bad[] = { "", ".", "-1", "+1", "1e2", "0.12345", "1.2.3", "1201",
                                 "abc", " 1", "1 " };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int64_t v = SENTINEL;
        if (period_parse(bad[i], strlen(bad[i]), &v) != ERR_INVALID || v != SENTINEL)
            fail_msg("period_parse(\"%s\") accepted", bad[i]);
    }
}

static void test_json_and_format(void **state)
{
    static const struct {
        const char *json;
        const char *formatted;
    } rows[] = {
        { "1", "1.0000" },        { "0.01", "0.0100" },   { "\"1.0015\"", "1.0015" },
        { "2.1012", "2.1012" },   { "\"0.1\"", "0.1000" }, { "12", "12.0000" },
        { "0.001", "0.0010" },
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *v = json_loads(rows[i].json, JSON_DECODE_ANY, NULL);
        int64_t p = SENTINEL;
        char out[32];
        assert_non_null(v);
        assert_int_equal(period_from_json(v, &p), 0);
        json_decref(v);
        period_format(p, out, sizeof(out));
        assert_string_equal(out, rows[i].formatted);
        json_t *back = period_to_json(p);
        int64_t again = SENTINEL;
        assert_int_equal(period_from_json(back, &again), 0);
        assert_int_equal(again, p);
        json_decref(back);
    }
    json_t *neg = json_integer(-1);
    int64_t p = SENTINEL;
    assert_int_equal(period_from_json(neg, &p), ERR_INVALID);
    json_decref(neg);
    json_t *whole = period_to_json(30000);
    assert_true(json_is_integer(whole));
    assert_int_equal(json_integer_value(whole), 3);
    json_decref(whole);
}

static void test_join(void **state)
{
    struct period_parts p = { 2, 10, 12 };
    int64_t v = SENTINEL;
    UNUSED(state);
    assert_int_equal(period_join(&p, &v), 0);
    assert_int_equal(v, 21012);
    p = (struct period_parts){ 0, 59, 0 }; /* not normalised */
    assert_int_equal(period_join(&p, &v), 0);
    assert_int_equal(v, 5900);
    p = (struct period_parts){ 0, 100, 0 };
    assert_int_equal(period_join(&p, &v), ERR_INVALID);
    p = (struct period_parts){ 0, 0, -1 };
    assert_int_equal(period_join(&p, &v), ERR_INVALID);
    p = (struct period_parts){ PERIOD_MAX_MONTHS + 1, 0, 0 };
    assert_int_equal(period_join(&p, &v), ERR_INVALID);
    assert_int_equal(v, 5900);
}

/* ---- §2.2 sum_period ---- */

struct sum_row {
    const char *name;
    const char *in[3];
    size_t n;
    const char *want;
};

static const struct sum_row sum_vectors[] = {
    { "1.0515 + 2.1020", { "1.0515", "2.1020" }, 2, "3.1611" },
    { "0.0015 + 0.0010", { "0.0015", "0.0010" }, 2, "0.0101" },
    { "0.1500 + 0.1800", { "0.1500", "0.1800" }, 2, "1.0300" },
    { "0.0059 single, normalised", { "0.0059" }, 1, "0.0211" },
    { "0.5900 single, normalised", { "0.5900" }, 1, "1.2900" },
    { "0.2930 + 0.0150", { "0.2930", "0.0150" }, 2, "1.0308" },
    { "12.2945 + 8.1535 + 3.0820", { "12.2945", "8.1535", "3.0820" }, 3, "24.2604" },
    { "no arguments", { NULL }, 0, "0.0000" },
};

static void test_sum_vectors(void **state)
{
    int failures = 0;
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(sum_vectors); i++) {
        const struct sum_row *r = &sum_vectors[i];
        int64_t in[3];
        char out[32];
        for (size_t k = 0; k < r->n; k++)
            in[k] = scaled(r->in[k]);
        period_format(period_sum(in, r->n), out, sizeof(out));
        if (strcmp(out, r->want) != 0) {
            print_error("§2.2 %s: got %s, want %s\n", r->name, out, r->want);
            failures++;
        }
    }
    table_done("§2.2 sum_period", failures);
}

/* ---- §2.3 add_period ---- */

struct add_row {
    const char *name;
    const char *date;
    const char *spec;
    const char *want;
};

static const struct add_row add_vectors[] = {
    /* the vector of §2.3 */
    { "Jan 31 + 1m = Mar 3 (non-leap)", "2017-01-31 00:00:00", "1m", "2017-03-03 00:00:00" },
    /* each unit of §2.3 */
    { "Jan 31 + 1m, leap year", "2016-01-31 10:20:30", "1m", "2016-03-02 10:20:30" },
    { "7d", "2017-12-28 23:00:00", "7d", "2018-01-04 23:00:00" },
    { "1y from Feb 29 rolls forward", "2016-02-29 12:00:00", "1y", "2017-03-01 12:00:00" },
    { "13m carries the year", "2017-12-15 00:00:00", "13m", "2019-01-15 00:00:00" },
    { "3H over midnight", "2017-01-31 22:30:00", "3H", "2017-02-01 01:30:00" },
    { "90M", "2017-01-01 00:00:00", "90M", "2017-01-01 01:30:00" },
    { "0d is the same date", "2017-05-05 05:05:05", "0d", "2017-05-05 05:05:05" },
    /* invalid specifications return the date unchanged */
    { "empty", "2017-01-31 00:00:00", "", "2017-01-31 00:00:00" },
    { "no unit", "2017-01-31 00:00:00", "7", "2017-01-31 00:00:00" },
    { "no number", "2017-01-31 00:00:00", "d", "2017-01-31 00:00:00" },
    { "unknown unit", "2017-01-31 00:00:00", "7w", "2017-01-31 00:00:00" },
    { "trailing text", "2017-01-31 00:00:00", "7dd", "2017-01-31 00:00:00" },
    { "negative", "2017-01-31 00:00:00", "-1d", "2017-01-31 00:00:00" },
    { "leading space", "2017-01-31 00:00:00", " 7d", "2017-01-31 00:00:00" },
    { "too large", "2017-01-31 00:00:00", "100001d", "2017-01-31 00:00:00" },
};

static void test_add_vectors(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(add_vectors); i++) {
        const struct add_row *r = &add_vectors[i];
        char out[32];
        time_format_local(period_add_to_date(local_time(r->date), r->spec), out, sizeof(out));
        if (strcmp(out, r->want) != 0) {
            print_error("§2.3 TZ=%s %s: got %s, want %s\n", (const char *)*state, r->name, out,
                        r->want);
            failures++;
        }
    }
    int64_t t = local_time("2017-01-31 00:00:00");
    if (period_add_to_date(t, NULL) != t) {
        print_error("§2.3 NULL spec changed the date\n");
        failures++;
    }
    table_done("§2.3 add_period", failures);
}

/* ---- local calendar helpers ---- */

static void test_days_in_month(void **state)
{
    static const struct {
        int64_t year;
        int mon;
        int days;
    } rows[] = {
        { 2017, 1, 31 }, { 2017, 2, 28 }, { 2016, 2, 29 }, { 2000, 2, 29 },
        { 1900, 2, 28 }, { 2017, 4, 30 }, { 2017, 12, 31 },
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
        assert_int_equal(period_days_in_month(rows[i].year, rows[i].mon), rows[i].days);
}

static void test_civil_add(void **state)
{
    struct period_date d = { 2017, 3, 1, 0, 0, 0 };
    UNUSED(state);
    period_date_add_dhms(&d, 0, 0, 0, -1);
    assert_true(d.year == 2017 && d.mon == 2 && d.day == 28 && d.hour == 23 && d.min == 59 &&
                d.sec == 59);
    period_date_add_dhms(&d, 30, 1, 0, 1); /* +30 days 1 hour 1 second */
    assert_true(d.year == 2017 && d.mon == 3 && d.day == 31 && d.hour == 1 && d.min == 0 &&
                d.sec == 0);
    d = (struct period_date){ 2017, 1, 31, 8, 0, 0 };
    period_date_add_months(&d, -2);
    assert_true(d.year == 2016 && d.mon == 12 && d.day == 1);
    struct period_date a = { 2017, 1, 1, 0, 0, 0 }, b = { 2017, 1, 1, 0, 0, 1 };
    assert_true(period_date_cmp(&a, &b) < 0);
    assert_true(period_date_cmp(&b, &a) > 0);
    assert_int_equal(period_date_cmp(&a, &a), 0);
    assert_int_equal(period_date_day_number(&a), 17167);
}

/* Time::Local's resolution of wall-clock times (expected values from Perl 5.36). */
struct to_time_row {
    const char *zone;
    struct period_date d;
    int64_t want;
};

static const struct to_time_row to_time_vectors[] = {
    { "UTC", { 2017, 1, 1, 0, 0, 0 }, INT64_C(1483228800) },
    { "Europe/Moscow", { 2017, 1, 1, 0, 0, 0 }, INT64_C(1483218000) },
    { "Europe/London", { 2017, 3, 26, 0, 59, 59 }, INT64_C(1490489999) },
    { "Europe/London", { 2017, 3, 26, 2, 0, 0 }, INT64_C(1490490000) },
    { "Europe/London", { 2017, 3, 26, 1, 30, 0 }, INT64_C(1490491800) },  /* in the gap */
    { "Europe/London", { 2017, 10, 29, 1, 30, 0 }, INT64_C(1509240600) }, /* twice: GMT */
    { "America/New_York", { 2017, 11, 5, 1, 30, 0 }, INT64_C(1509859800) }, /* twice: EDT */
    { "America/New_York", { 2019, 3, 10, 2, 30, 0 }, INT64_C(1552203000) }, /* in the gap */
    { "UTC", { 2017, 1, 31, 25, 0, 0 }, INT64_C(1485910800) }, /* hour overflow */
    { "UTC", { 2017, 2, 31, 0, 0, 0 }, INT64_C(1488499200) },  /* day overflow */
};

static void test_to_time_vectors(void **state)
{
    int failures = 0;
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(to_time_vectors); i++) {
        const struct to_time_row *r = &to_time_vectors[i];
        setenv("TZ", r->zone, 1);
        tzset();
        int64_t got = period_date_to_time(&r->d);
        if (got != r->want) {
            print_error("TZ=%s %04lld-%02d-%02d %02d:%02d:%02d: got %lld, want %lld\n", r->zone,
                        (long long)r->d.year, r->d.mon, r->d.day, r->d.hour, r->d.min, r->d.sec,
                        (long long)got, (long long)r->want);
            failures++;
        }
    }
    table_done("Time::Local conversion", failures);
}

static int restore_utc(void **state)
{
    UNUSED(state);
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_vectors),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_json_and_format),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_sum_vectors),
        IN_ZONE(test_add_vectors, "UTC"),
        IN_ZONE(test_add_vectors, "Europe/Moscow"),
        cmocka_unit_test(test_days_in_month),
        cmocka_unit_test(test_civil_add),
        cmocka_unit_test_teardown(test_to_time_vectors, restore_utc),
    };
    return cmocka_run_group_tests(tests, NULL, restore_utc);
}
