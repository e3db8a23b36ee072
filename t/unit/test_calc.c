/*
 * test_calc.c — unit tests of src/billing/calc.c and the rounding helpers of
 * src/core/money.c, table-driven: one table per vector section of
 * billing.md — §1.1 rounding, §4.4–§4.6 Simpler (end date, total for a
 * range, period for amount), §5.1 and §5.6–§5.9 Honest (month seconds, end
 * date, cost inside one month, total for a range, period for amount) — each
 * row named after its vector. Simpler runs in UTC and Europe/Moscow; Honest
 * also in Europe/London, where §5.6 says which vector moves an hour. Further
 * tables: the strategy parts of the §6.4, §14.4 and §15.1 scenarios, rows
 * where SHM's sprintf("%.2f") rounding point or its order of floating-point
 * operations decides the result (values computed with SHM's own Perl
 * formulas), and the contract at the edges (D22, limits, invalid input,
 * strategy names).
 */
#include "common.h"
#include "billing/calc.h"
#include "core/money.h"
#include "core/period.h"
#include "util/timeutil.h"

#include <math.h>
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

static const char *zone_of(void **state)
{
    return (const char *)*state;
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

static int64_t minor(const char *s)
{
    int64_t v = SENTINEL;
    if (money_parse(s, strlen(s), &v) != 0)
        fail_msg("bad amount in table: %s", s);
    return v;
}

/*
 * Formats a scaled period the way the spec prints the expected value: two
 * fraction digits ("%d.%02d", Honest) when want has two and there are no
 * hours, else four ("%d.%04d").
 */
static void format_like(int64_t period, const char *want, char *out, size_t outlen)
{
    const char *dot = strchr(want, '.');
    if (dot && strlen(dot + 1) == 2 && period % 100 == 0)
        snprintf(out, outlen, "%lld.%02lld", (long long)(period / PERIOD_SCALE),
                 (long long)(period % PERIOD_SCALE / 100));
    else
        period_format(period, out, outlen);
}

/* Ends a table test: every mismatch was printed; fail once with the count. */
static void table_done(const char *table, const char *zone, int failures)
{
    if (failures)
        fail_msg("%s (TZ=%s): %d row(s) differ", table, zone, failures);
}

/* ---- §1.1 rounding helpers ---- */

struct round_row {
    const char *name;
    double x;
    int64_t round, round_up, round_down, shm_printf;
};

static const struct round_row round_vectors[] = {
    { "2.5 exact", 2.5, 250, 250, 250, 250 },
    { "0", 0.0, 0, 0, 0, 0 },
    { "1035.01 (§16.3 total)", 1035.01, 103501, 103501, 103501, 103501 },
    { "1.005 held as 1.00499…", 1.005, 100, 101, 100, 100 },
    { "0.285 held as 0.28499…", 0.285, 28, 29, 28, 28 },
    { "0.125 exact binary tie", 0.125, 13, 13, 12, 12 },
    { "0.375 exact binary tie", 0.375, 38, 38, 37, 38 },
    { "9.145: x·100 rounds to 914.5", 9.145, 915, 915, 914, 914 },
    { "1.115: x·100 rounds to 111.5", 1.115, 112, 112, 111, 111 },
    { "123.455", 123.455, 12346, 12346, 12345, 12345 },
    { "1.1: x·100 = 110.00000000000001", 1.1, 110, 111, 110, 110 },
    { "-1.234 truncates toward zero", -1.234, -122, -123, -124, -123 },
    { "-0.125", -0.125, -12, -12, -13, -12 },
};

static void test_round_vectors(void **state)
{
    int failures = 0;
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(round_vectors); i++) {
        const struct round_row *r = &round_vectors[i];
        int64_t got[4] = { money_round(r->x), money_round_up(r->x), money_round_down(r->x),
                           money_from_double(r->x) };
        int64_t want[4] = { r->round, r->round_up, r->round_down, r->shm_printf };
        static const char *fn[4] = { "round", "round_up", "round_down", "sprintf %.2f" };
        for (int k = 0; k < 4; k++) {
            if (got[k] != want[k]) {
                print_error("§1.1 %s: %s = %lld, want %lld\n", r->name, fn[k],
                            (long long)got[k], (long long)want[k]);
                failures++;
            }
        }
    }
    assert_int_equal(money_round(NAN), 0);
    assert_int_equal(money_from_double(NAN), 0);
    assert_int_equal(money_from_double(1e300), MONEY_MAX);
    assert_int_equal(money_round_up(-1e300), INT64_MIN);
    assert_true(money_to_double(103333) == 1033.33);
    table_done("§1.1 rounding", "any", failures);
}

/* ---- end dates: §4.4 (Simpler) and §5.6 (Honest) ---- */

struct end_row {
    const char *start;
    const char *period;
    const char *end;
    const char *end_london; /* NULL: same as end */
};

static const struct end_row simpler_end_vectors[] = {
    { "2017-01-01 00:00:00", "1", "2017-01-30 23:59:59", NULL },
    { "2017-02-01 00:00:00", "1", "2017-03-02 23:59:59", NULL },
    { "2017-02-01 00:00:01", "1", "2017-03-03 00:00:00", NULL },
    { "2017-01-10 12:33:00", "1", "2017-02-09 12:32:59", NULL },
    { "2017-01-01 00:00:00", "2", "2017-03-01 23:59:59", NULL },
    { "2017-01-01 00:00:00", "3", "2017-03-31 23:59:59", NULL },
    { "2017-01-01 00:00:00", "0.1", "2017-01-10 23:59:59", NULL },
    { "2017-01-01 00:00:00", "0.1001", "2017-01-11 00:59:59", NULL },
    { "2017-01-01 00:00:00", "0.01", "2017-01-01 23:59:59", NULL },
    { "2017-01-01 00:00:00", "0.0101", "2017-01-02 00:59:59", NULL },
    { "2017-01-01 00:00:00", "0.0001", "2017-01-01 00:59:59", NULL },
    { "2017-01-01 00:00:00", "0.0010", "2017-01-01 09:59:59", NULL },
};

static const struct end_row honest_end_vectors[] = {
    { "2017-01-01 00:00:00", "1", "2017-01-31 23:59:59", NULL },
    { "2017-07-02 00:00:00", "1", "2017-08-01 23:59:59", NULL },
    { "2017-02-01 00:00:00", "1", "2017-02-28 23:59:59", NULL },
    { "2017-02-01 00:00:01", "1", "2017-03-01 00:00:00", NULL },
    { "2017-01-10 12:33:00", "1", "2017-02-09 14:25:55", NULL },
    { "2017-01-01 00:00:00", "2", "2017-02-28 23:59:59", NULL },
    { "2017-01-01 00:00:00", "3", "2017-03-31 23:59:59", NULL },
    { "2017-02-05 00:00:00", "1", "2017-03-05 10:17:07", NULL },
    /* §5.6: crosses the 2017-03-26 transition, one hour later in London */
    { "2017-02-27 00:00:00", "1", "2017-03-29 18:51:24", "2017-03-29 19:51:24" },
    { "2017-03-29 18:51:25", "1", "2017-04-28 20:34:15", NULL },
    { "2017-04-28 20:34:16", "1", "2017-05-29 18:51:23", NULL },
    { "2017-01-01 00:00:00", "0.1", "2017-01-10 23:59:59", NULL },
    { "2017-01-01 00:00:00", "0.01", "2017-01-01 23:59:59", NULL },
    { "2017-01-01 00:00:00", "0.0101", "2017-01-02 00:59:59", NULL },
    { "2023-11-19 22:17:12", "1", "2023-12-20 13:25:45", NULL },
    { "2023-11-19 22:17:12", "2", "2024-01-20 13:25:45", NULL },
    { "2023-11-19 22:17:12", "12", "2024-11-19 22:17:11", NULL },
};

static int check_end_rows(enum calc_strategy s, const struct end_row *rows, size_t n,
                          const char *zone, const char *section)
{
    int failures = 0;
    bool london = strcmp(zone, "Europe/London") == 0;
    for (size_t i = 0; i < n; i++) {
        const struct end_row *r = &rows[i];
        const char *want = london && r->end_london ? r->end_london : r->end;
        int64_t end = SENTINEL;
        char got[32];
        int rc = calc_end_date(s, local_time(r->start), scaled(r->period), &end);
        time_format_local(end, got, sizeof(got));
        if (rc != 0 || strcmp(got, want) != 0) {
            print_error("%s %s + %s (TZ=%s): got %s (rc %d), want %s\n", section, r->start,
                        r->period, zone, got, rc, want);
            failures++;
        }
    }
    return failures;
}

static void test_simpler_end_vectors(void **state)
{
    int failures = check_end_rows(CALC_SIMPLER, simpler_end_vectors,
                                  ARRAY_SIZE(simpler_end_vectors), zone_of(state), "§4.4");
    table_done("§4.4 Simpler end date", zone_of(state), failures);
}

static void test_honest_end_vectors(void **state)
{
    int failures = check_end_rows(CALC_HONEST, honest_end_vectors, ARRAY_SIZE(honest_end_vectors),
                                  zone_of(state), "§5.6");
    table_done("§5.6 Honest end date", zone_of(state), failures);
}

/* ---- totals for a range: §4.5 (Simpler) and §5.8 (Honest) ---- */

struct total_row {
    const char *name;
    const char *from;
    const char *to;
    const char *cost;
    const char *period;
    int64_t total; /* minor units */
    const char *months;
};

static const struct total_row simpler_total_vectors[] = {
    { "one day of 900/month", "2017-01-01 00:00:00", "2017-01-01 23:59:59", "900", "1", 3000,
      "0.0100" },
    { "8 hours of 900/month", "2017-01-01 00:00:00", "2017-01-01 08:00:00", "900", "1", 1000,
      "0.0008" },
    { "30 days of 1000/month", "2017-01-01 00:00:00", "2017-01-30 23:59:59", "1000", "1",
      100000, "1.0000" },
    { "60 days of 1000/month", "2017-01-01 00:00:00", "2017-03-01 23:59:59", "1000", "1",
      200000, "2.0000" },
    { "2017-01-10 12:33 to 2017-02-10 12:33", "2017-01-10 12:33:00", "2017-02-10 12:33:00",
      "1000", "1", 103333, "1.0100" },
    { "2017-10-31 to 2018-02-01, 3100/month", "2017-10-31 00:00:00", "2018-02-01 23:59:59",
      "3100", "1", 971333, "3.0400" },
    { "a range of 30 days, 30 per day", "2017-01-01 00:00:00", "2017-01-30 23:59:59", "30",
      "0.01", 90000, "1.0000" },
    { "1 per hour, 30 days 1 hour", "2017-01-01 00:00:00", "2017-01-31 01:00:00", "1", "0.0001",
      72100, "1.0001" },
    { "10 days of 1000/month", "2017-01-01 00:00:00", "2017-01-11 00:00:00", "1000", "1", 33333,
      "0.1000" },
};

static const struct total_row honest_total_vectors[] = {
    { "January", "2017-01-01 00:00:00", "2017-01-31 23:59:59", "1000", "1", 100000, "1.00" },
    { "January to Feb 1 00:00", "2017-01-01 00:00:00", "2017-02-01 00:00:00", "1000", "1",
      100000, "1.00" },
    { "January and February", "2017-01-01 00:00:00", "2017-02-28 23:59:59", "1000", "1", 200000,
      "2.00" },
    { "January to April", "2017-01-01 00:00:00", "2017-04-30 23:59:59", "1000", "1", 400000,
      "4.00" },
    { "2017-01-10 12:33 to 2017-04-10 12:33", "2017-01-10 12:33:00", "2017-04-10 12:33:00",
      "1000", "1", 301024, "3.00" },
    { "2017-01-10 12:33 to 2017-05-10 12:33", "2017-01-10 12:33:00", "2017-05-10 12:33:00",
      "1000", "1", 400000, "4.00" },
    { "2017-01-10 12:33 to 2017-02-10 12:33", "2017-01-10 12:33:00", "2017-02-10 12:33:00",
      "1000", "1", 103291, "1.00" },
    { "inverse of the end date (sic 0.30)", "2017-01-10 12:33:00", "2017-02-09 14:25:55", "1000",
      "1", 100000, "0.30" },
    { "2 days in January", "2017-01-01 00:00:00", "2017-01-02 23:59:59", "3100", "1", 20000,
      "0.02" },
    { "Jan 31 to Feb 1", "2017-01-31 00:00:00", "2017-02-01 23:59:59", "3100", "1", 21071,
      "0.02" },
    { "2017-10-31 to 2018-02-01", "2017-10-31 00:00:00", "2018-02-01 23:59:59", "3100", "1",
      951071, "3.02" },
    { "2017-10-31 to 2018-02-01, cost 0", "2017-10-31 00:00:00", "2018-02-01 23:59:59", "0",
      "1", 0, "3.02" },
};

/* SHM's rounding point is sprintf("%.2f"); expected values from SHM's Perl formulas. */
static const struct total_row simpler_rounding_vectors[] = {
    { "922.92/day, 39 days 1 hour: x = 36032.33499…", "2022-07-26 04:23:30",
      "2022-09-03 05:23:29", "922.92", "0.01", 3603233, "1.0901" },
    { "43.70/hour, 36 days 17 hours", "2015-08-21 16:24:00", "2015-09-27 09:21:26", "43.70",
      "0.0001", 3849751, "1.0616" },
};

/* SHM's operation order (720 / period_hours × cost, not cost × 720 / period_hours). */
static const struct total_row simpler_order_vectors[] = {
    { "12.84 per 0.2900, 11 months 9 days 13 hours", "2015-11-09 15:14:00",
      "2016-10-14 04:13:59", "12.84", "0.2900", 15034, "11.0913" },
    { "796.65 per 10 hours, 2 days 23 hours", "2022-05-16 20:00:52", "2022-05-19 19:00:51",
      "796.65", "0.0010", 565621, "0.0223" },
};

/* SHM's operation order in §5.2 (S2 − S2 / (S1 / T)), one second off otherwise. */
static const struct end_row honest_order_vectors[] = {
    { "2018-07-01 03:37:27", "1", "2018-08-01 03:37:25", NULL },
};

static const struct total_row honest_rounding_vectors[] = {
    { "8.09 per 2.1012, Oct 9 to Dec 17", "2021-10-09 20:42:04", "2021-12-17 22:42:03", "8.09",
      "2.1012", 914, "2.08" },
    { "16.95 per 6 months", "2025-06-26 12:00:19", "2025-08-03 04:00:18", "16.95", "6", 344,
      "1.07" },
};

static int check_total_rows(enum calc_strategy s, const struct total_row *rows, size_t n,
                            const char *zone, const char *section)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const struct total_row *r = &rows[i];
        struct calc_range got = { SENTINEL, SENTINEL };
        char months[32], total[32];
        int rc = calc_total(s, minor(r->cost), scaled(r->period), local_time(r->from),
                            local_time(r->to), &got);
        format_like(got.months, r->months, months, sizeof(months));
        if (rc != 0 || got.total != r->total || strcmp(months, r->months) != 0) {
            money_format(got.total, total, sizeof(total));
            print_error("%s %s (TZ=%s): got total %s months %s (rc %d), want %lld minor %s\n",
                        section, r->name, zone, total, months, rc, (long long)r->total,
                        r->months);
            failures++;
        }
    }
    return failures;
}

static void test_simpler_total_vectors(void **state)
{
    int failures = check_total_rows(CALC_SIMPLER, simpler_total_vectors,
                                    ARRAY_SIZE(simpler_total_vectors), zone_of(state), "§4.5");
    table_done("§4.5 Simpler total", zone_of(state), failures);
}

static void test_honest_total_vectors(void **state)
{
    int failures = check_total_rows(CALC_HONEST, honest_total_vectors,
                                    ARRAY_SIZE(honest_total_vectors), zone_of(state), "§5.8");
    table_done("§5.8 Honest total", zone_of(state), failures);
}

static void test_rounding_point_vectors(void **state)
{
    int failures = check_total_rows(CALC_SIMPLER, simpler_rounding_vectors,
                                    ARRAY_SIZE(simpler_rounding_vectors), zone_of(state),
                                    "SHM rounding, Simpler");
    failures += check_total_rows(CALC_HONEST, honest_rounding_vectors,
                                 ARRAY_SIZE(honest_rounding_vectors), zone_of(state),
                                 "SHM rounding, Honest");
    table_done("SHM rounding point", zone_of(state), failures);
}

static void test_operation_order_vectors(void **state)
{
    int failures = check_total_rows(CALC_SIMPLER, simpler_order_vectors,
                                    ARRAY_SIZE(simpler_order_vectors), zone_of(state),
                                    "SHM order, Simpler");
    failures += check_end_rows(CALC_HONEST, honest_order_vectors,
                               ARRAY_SIZE(honest_order_vectors), zone_of(state),
                               "SHM order, Honest");
    table_done("SHM operation order", zone_of(state), failures);
}

/* ---- period for an amount: §4.6 (Simpler) and §5.9 (Honest) ---- */

struct amount_row {
    const char *amount;
    const char *cost;
    const char *period;
    const char *now; /* Honest's reference date; Simpler ignores it */
    const char *want;
};

static const struct amount_row simpler_amount_vectors[] = {
    { "100", "1000", "1", "2017-01-01 00:00:00", "0.0300" },
    { "250", "1000", "1", "2017-01-01 00:00:00", "0.0712" },
    { "500", "1000", "1", "2017-01-01 00:00:00", "0.1500" },
    { "1000", "1000", "1", "2017-01-01 00:00:00", "1.0000" },
    { "1500", "1000", "1", "2017-01-01 00:00:00", "1.1500" },
    { "3000", "1000", "1", "2017-01-01 00:00:00", "3.0000" },
    { "50", "300", "1.1500", "2017-01-01 00:00:00", "0.0712" },
    { "25", "100", "0.1012", "2017-01-01 00:00:00", "0.0215" },
    { "150", "500", "2.1012", "2017-01-01 00:00:00", "0.2104" },
    { "30", "900", "1", "2017-01-01 00:00:00", "0.0100" },
    { "10", "900", "1", "2017-01-01 00:00:00", "0.0008" },
    { "1.25", "30", "1", "2017-01-01 00:00:00", "0.0106" },
    { "0.5", "30", "1", "2017-01-01 00:00:00", "0.0012" },
    { "333.33", "1000", "1", "2017-01-01 00:00:00", "0.1000" },
    { "30", "30", "0.01", "2017-01-01 00:00:00", "0.0100" },
    { "1", "1", "0.0001", "2017-01-01 00:00:00", "0.0001" },
};

static const struct amount_row honest_amount_vectors[] = {
    { "500", "1000", "1", "2017-01-01 00:00:00", "0.16" },
    { "500", "1000", "1", "2017-02-01 00:00:00", "0.15" },
    { "500", "1000", "1", "2016-02-01 00:00:00", "0.15" },
    { "1000", "1000", "1", "2017-01-01 00:00:00", "1.00" }, /* January */
    { "2000", "1000", "1", "2017-01-01 00:00:00", "2.00" },
    { "1500", "1000", "1", "2017-01-01 00:00:00", "1.15" },
    { "100", "3100", "1", "2017-01-01 00:00:00", "0.01" },
    { "100", "300", "3", "2017-01-01 00:00:00", "1.00" },
    { "1000", "3100", "1", "2017-04-01 00:00:00", "0.10" }, /* April */
    { "3000", "3100", "1", "2017-01-01 00:00:00", "0.30" },
    { "3500", "1000", "1", "2017-01-15 00:00:00", "3.15" },
};

static int check_amount_rows(enum calc_strategy s, const struct amount_row *rows, size_t n,
                             const char *zone, const char *section)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const struct amount_row *r = &rows[i];
        int64_t period = SENTINEL;
        char got[32];
        int rc = calc_period_for_amount(s, minor(r->amount), minor(r->cost), scaled(r->period),
                                        local_time(r->now), &period);
        format_like(period, r->want, got, sizeof(got));
        if (rc != 0 || strcmp(got, r->want) != 0) {
            print_error("%s %s for %s per %s, now %s (TZ=%s): got %s (rc %d), want %s\n",
                        section, r->amount, r->cost, r->period, r->now, zone, got, rc, r->want);
            failures++;
        }
    }
    return failures;
}

static void test_simpler_amount_vectors(void **state)
{
    int failures = check_amount_rows(CALC_SIMPLER, simpler_amount_vectors,
                                     ARRAY_SIZE(simpler_amount_vectors), zone_of(state), "§4.6");
    table_done("§4.6 Simpler period for amount", zone_of(state), failures);
}

static void test_honest_amount_vectors(void **state)
{
    int failures = check_amount_rows(CALC_HONEST, honest_amount_vectors,
                                     ARRAY_SIZE(honest_amount_vectors), zone_of(state), "§5.9");
    table_done("§5.9 Honest period for amount", zone_of(state), failures);
}

/* ---- §5.1 month seconds and §5.7 cost inside one month ---- */

static void test_month_seconds(void **state)
{
    static const struct {
        const char *date;
        int64_t seconds;
    } rows[] = {
        { "2017-01-15 12:00:00", 31 * INT64_C(86400) - 1 },
        { "2017-02-28 23:59:59", 28 * INT64_C(86400) - 1 },
        { "2016-02-01 00:00:00", 29 * INT64_C(86400) - 1 },
        { "2017-04-30 00:00:00", 30 * INT64_C(86400) - 1 },
    };
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        int64_t got = calc_month_seconds(local_time(rows[i].date));
        if (got != rows[i].seconds) {
            print_error("§5.1 month of %s: got %lld, want %lld\n", rows[i].date, (long long)got,
                        (long long)rows[i].seconds);
            failures++;
        }
    }
    table_done("§5.1 month seconds", zone_of(state), failures);
}

static void test_month_cost_vectors(void **state)
{
    int failures = 0;
    struct {
        const char *name;
        int64_t got, want;
    } rows[] = {
        { "from 2017-04-30 00:00:00 to the end of April, 3000",
          calc_month_cost_from(minor("3000"), local_time("2017-04-30 00:00:00")), 10000 },
        { "from the start of April to 2017-04-09 23:59:59, 3000",
          calc_month_cost_to(minor("3000"), local_time("2017-04-09 23:59:59")), 90000 },
        { "between 2017-04-01 00:00:00 and 2017-04-09 23:59:59, 3000",
          calc_month_cost_between(minor("3000"), local_time("2017-04-01 00:00:00"),
                                  local_time("2017-04-09 23:59:59")),
          90000 },
        { "an empty range costs 0",
          calc_month_cost_between(minor("3000"), local_time("2017-04-09 23:59:59"),
                                  local_time("2017-04-09 23:59:59")),
          0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        if (rows[i].got != rows[i].want) {
            print_error("§5.7 %s: got %lld, want %lld\n", rows[i].name, (long long)rows[i].got,
                        (long long)rows[i].want);
            failures++;
        }
    }
    table_done("§5.7 Honest cost inside one month", zone_of(state), failures);
}

/* ---- the strategy parts of §6.4, §14.4 and §15.1 ---- */

static void test_withdraw_vectors(void **state)
{
    /* §6.4: Honest, withdraw_date 2019-01-01 00:00:00; months != period → range total */
    static const struct {
        const char *name;
        const char *cost, *period, *months;
        int64_t total;
        const char *end;
    } rows[] = {
        { "service 11, cost 1200 per 12, months 1", "1200", "12", "1", 10000,
          "2019-01-31 23:59:59" },
        { "service 1, cost 310, months 0.01", "310", "1", "0.01", 1000, "2019-01-01 23:59:59" },
        { "service 1, cost 310, months 0.02", "310", "1", "0.02", 2000, "2019-01-02 23:59:59" },
        { "service 1, cost 310, months 0.13", "310", "1", "0.13", 13000, "2019-01-13 23:59:59" },
    };
    int failures = 0;
    int64_t start = local_time("2019-01-01 00:00:00");
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        int64_t end = SENTINEL;
        struct calc_range r = { SENTINEL, SENTINEL };
        char got[32];
        assert_int_equal(calc_end_date(CALC_HONEST, start, scaled(rows[i].months), &end), 0);
        assert_int_equal(calc_total(CALC_HONEST, minor(rows[i].cost), scaled(rows[i].period),
                                    start, end, &r),
                         0);
        time_format_local(end, got, sizeof(got));
        if (r.total != rows[i].total || strcmp(got, rows[i].end) != 0) {
            print_error("§6.4 %s: got %lld minor to %s, want %lld to %s\n", rows[i].name,
                        (long long)r.total, got, (long long)rows[i].total, rows[i].end);
            failures++;
        }
    }
    /* cost 600, months 12 = period: the total is the cost; the end date is the strategy's */
    int64_t end = SENTINEL;
    char got[32];
    assert_int_equal(calc_end_date(CALC_HONEST, start, scaled("12"), &end), 0);
    time_format_local(end, got, sizeof(got));
    if (strcmp(got, "2019-12-31 23:59:59") != 0) {
        print_error("§6.4 service 11, months 12: end %s, want 2019-12-31 23:59:59\n", got);
        failures++;
    }
    table_done("§6.4 withdraw pricing", zone_of(state), failures);
}

static void assert_end(enum calc_strategy s, const char *start, int64_t period, const char *want)
{
    int64_t end = SENTINEL;
    char got[32];
    assert_int_equal(calc_end_date(s, local_time(start), period, &end), 0);
    time_format_local(end, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("end of %s + %lld: got %s, want %s", start, (long long)period, got, want);
}

static void assert_range(const char *from, const char *to, const char *cost, const char *period,
                         int64_t total, int64_t months)
{
    struct calc_range r = { SENTINEL, SENTINEL };
    assert_int_equal(calc_total(CALC_HONEST, minor(cost), scaled(period), local_time(from),
                                local_time(to), &r),
                     0);
    if (r.total != total || r.months != months)
        fail_msg("[%s, %s] at %s per %s: got %lld minor, months %lld; want %lld, %lld", from, to,
                 cost, period, (long long)r.total, (long long)r.months, (long long)total,
                 (long long)months);
}

/* §14.4 (money back) and §15.1 (add_period_by_money): Honest, Europe/London. */
static void test_money_back_vectors(void **state)
{
    int64_t extra = SENTINEL;
    UNUSED(state);
    /* 900/month created 2019-04-01 01:00 BST: wd end, then money back at 2019-04-03 01:00 */
    assert_end(CALC_HONEST, "2019-04-01 01:00:00", scaled("1"), "2019-05-01 01:01:59");
    assert_range("2019-04-01 01:00:00", "2019-04-03 01:00:00", "900", "1", 6000, 200);
    /* 900 per 3 months, created 2022-01-01; money back at 2022-02-01 */
    assert_end(CALC_HONEST, "2022-01-01 00:00:00", scaled("3"), "2022-03-31 23:59:59");
    assert_range("2022-01-01 00:00:00", "2022-02-01 00:00:00", "900", "3", 30000, 10000);
    /* 199/month, one day of March used: wd bonus 6.42 */
    assert_range("2019-03-01 00:00:00", "2019-03-02 00:00:00", "199", "1", 642, 100);
    /* §15.1: +450 on 900/month paid 2019-04-01 01:00 → months 1.1500, end 2019-05-16 01:01:59 */
    assert_int_equal(calc_period_for_amount(CALC_HONEST, minor("450"), minor("900"), scaled("1"),
                                            local_time("2019-04-01 01:00:00"), &extra),
                     0);
    int64_t months[2] = { scaled("1"), extra };
    int64_t sum = period_sum(months, 2);
    assert_int_equal(sum, scaled("1.1500"));
    assert_end(CALC_HONEST, "2019-04-01 01:00:00", sum, "2019-05-16 01:01:59");
}

/* ---- the contract at the edges ---- */

static void test_strategy_names(void **state)
{
    UNUSED(state);
    assert_int_equal(calc_strategy_from_name("Honest"), CALC_HONEST);
    assert_int_equal(calc_strategy_from_name("honest"), CALC_HONEST);
    assert_int_equal(calc_strategy_from_name("HONEST"), CALC_HONEST);
    assert_int_equal(calc_strategy_from_name("Simpler"), CALC_SIMPLER);
    assert_int_equal(calc_strategy_from_name(NULL), CALC_SIMPLER);
    assert_int_equal(calc_strategy_from_name(""), CALC_SIMPLER);
    assert_int_equal(calc_strategy_from_name("Honestly"), CALC_SIMPLER);
    assert_string_equal(calc_strategy_name(CALC_HONEST), "Honest");
    assert_string_equal(calc_strategy_name(CALC_SIMPLER), "Simpler");
    assert_string_equal(calc_strategy_name((enum calc_strategy)7), "unknown");
}

static void test_nothing_bought(void **state)
{
    static const enum calc_strategy both[] = { CALC_SIMPLER, CALC_HONEST };
    static const int64_t half_of_january[] = { 1500, 1600 }; /* 0.1500 / 0.16 */
    int64_t now = local_time("2017-01-01 00:00:00");
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(both); i++) {
        int64_t p = SENTINEL;
        /* D22: zero or negative amount or cost → 0 ("0.0000"), never a division by zero */
        assert_int_equal(calc_period_for_amount(both[i], 0, 100000, 10000, now, &p), 0);
        assert_int_equal(p, 0);
        p = SENTINEL;
        assert_int_equal(calc_period_for_amount(both[i], 50000, 0, 10000, now, &p), 0);
        assert_int_equal(p, 0);
        p = SENTINEL;
        assert_int_equal(calc_period_for_amount(both[i], -100, 100000, 10000, now, &p), 0);
        assert_int_equal(p, 0);
        p = SENTINEL;
        assert_int_equal(calc_period_for_amount(both[i], 50000, -5, 10000, now, &p), 0);
        assert_int_equal(p, 0);
        /* period 0 counts as one month ($period || 1) */
        assert_int_equal(calc_period_for_amount(both[i], 50000, 100000, 0, now, &p), 0);
        assert_int_equal(p, half_of_january[i]);
        /* more than PERIOD_MAX_MONTHS months */
        p = SENTINEL;
        assert_int_equal(calc_period_for_amount(both[i], 100000000, 100, 10000, now, &p),
                         ERR_LIMIT);
        assert_int_equal(p, SENTINEL);
    }
}

static void test_honest_cost_per_day_below_one(void **state)
{
    int64_t p = SENTINEL;
    UNUSED(state);
    /* 10/month in January: cpd = 0.32, ⌊cpd⌋ = 0 (SHM dies); 1.00 buys 3.1 days → 4 days */
    assert_int_equal(calc_period_for_amount(CALC_HONEST, minor("1"), minor("10"), scaled("1"),
                                            local_time("2017-01-10 00:00:00"), &p),
                     0);
    assert_int_equal(p, scaled("0.04"));
    /* 7.75/month in January: cpd = 0.25 exactly; 0.75 buys exactly 3 days, none added */
    assert_int_equal(calc_period_for_amount(CALC_HONEST, minor("0.75"), minor("7.75"),
                                            scaled("1"), local_time("2017-01-10 00:00:00"), &p),
                     0);
    assert_int_equal(p, scaled("0.03"));
}

static void test_invalid_input(void **state)
{
    int64_t t = local_time("2017-01-01 00:00:00"), out = SENTINEL;
    struct calc_range r = { SENTINEL, SENTINEL };
    UNUSED(state);
    assert_int_equal(calc_end_date((enum calc_strategy)7, t, 10000, &out), ERR_INVALID);
    assert_int_equal(calc_end_date(CALC_HONEST, t, -1, &out), ERR_INVALID);
    assert_int_equal(calc_total(CALC_SIMPLER, 100, 10000, t, t - 2, &r), ERR_INVALID);
    assert_int_equal(calc_total((enum calc_strategy)7, 100, 10000, t, t, &r), ERR_INVALID);
    assert_int_equal(calc_period_for_amount(CALC_HONEST, 100, 100, -10000, t, &out),
                     ERR_INVALID);
    assert_int_equal(out, SENTINEL);
    assert_int_equal(r.total, SENTINEL);
    /* to = from - 1: an empty range (Honest end date of period 0) */
    assert_int_equal(calc_total(CALC_SIMPLER, 100000, 10000, t, t - 1, &r), 0);
    assert_int_equal(r.total, 0);
    assert_int_equal(r.months, 0);
    /* Simpler period 0: no monthly cost, total 0 (SHM: undef), never a division by zero */
    assert_int_equal(calc_total(CALC_SIMPLER, 100000, 0, t, t + 86399, &r), 0);
    assert_int_equal(r.total, 0);
    assert_int_equal(r.months, 100);
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
        cmocka_unit_test(test_round_vectors),
        IN_ZONE(test_simpler_end_vectors, "UTC"),
        IN_ZONE(test_simpler_end_vectors, "Europe/Moscow"),
        IN_ZONE(test_simpler_total_vectors, "UTC"),
        IN_ZONE(test_simpler_total_vectors, "Europe/Moscow"),
        IN_ZONE(test_simpler_amount_vectors, "UTC"),
        IN_ZONE(test_simpler_amount_vectors, "Europe/Moscow"),
        IN_ZONE(test_month_seconds, "UTC"),
        IN_ZONE(test_month_seconds, "Europe/Moscow"),
        IN_ZONE(test_honest_end_vectors, "UTC"),
        IN_ZONE(test_honest_end_vectors, "Europe/Moscow"),
        IN_ZONE(test_honest_end_vectors, "Europe/London"),
        IN_ZONE(test_month_cost_vectors, "UTC"),
        IN_ZONE(test_month_cost_vectors, "Europe/Moscow"),
        IN_ZONE(test_honest_total_vectors, "UTC"),
        IN_ZONE(test_honest_total_vectors, "Europe/Moscow"),
        IN_ZONE(test_honest_amount_vectors, "UTC"),
        IN_ZONE(test_honest_amount_vectors, "Europe/Moscow"),
        IN_ZONE(test_rounding_point_vectors, "UTC"),
        IN_ZONE(test_rounding_point_vectors, "Europe/Moscow"),
        IN_ZONE(test_operation_order_vectors, "UTC"),
        IN_ZONE(test_operation_order_vectors, "Europe/Moscow"),
        IN_ZONE(test_withdraw_vectors, "UTC"),
        IN_ZONE(test_withdraw_vectors, "Europe/Moscow"),
        IN_ZONE(test_money_back_vectors, "Europe/London"),
        cmocka_unit_test(test_strategy_names),
        IN_ZONE(test_nothing_bought, "UTC"),
        IN_ZONE(test_honest_cost_per_day_below_one, "UTC"),
        IN_ZONE(test_invalid_input, "UTC"),
    };
    return cmocka_run_group_tests(tests, NULL, restore_utc);
}
