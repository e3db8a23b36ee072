/*
 * calc.c — the Simpler and Honest billing strategies (see calc.h).
 *
 * How SHM's floating point is reproduced. SHM (Perl) holds money as IEEE
 * doubles and rounds to cents only at fixed points. Here:
 *   - a stored amount enters as money_to_double(minor) = minor / 100.0, the
 *     double Perl gets when it numifies the two-place decimal;
 *   - every formula is evaluated in double precision, one IEEE operation per
 *     Perl operator, in SHM's order (e.g. Honest's cost / (S / seconds),
 *     Simpler's 720 / period_hours * cost and cost per minute =
 *     cost per day / 24 / 60). C17 with FLT_EVAL_METHOD 0 and no
 *     floating-point contraction (ISO mode) makes each operation round
 *     exactly like Perl's;
 *   - a cents rounding point (§1.1 round) is round_cents(); a rounded partial
 *     value that SHM keeps adding to re-enters as money_to_double(cents),
 *     the double Perl reads back from its "%.2f" string;
 *   - Perl's int() is a C cast toward zero, Perl's % on doubles takes the
 *     integer parts first.
 * Dates go through the local wall-clock fields (struct period_date): Simpler
 * adds and subtracts them as a calendar (Date::Calc), Honest converts them
 * to Unix time the way Time::Local does (period_date_to_time), so the DST
 * behaviour is SHM's too. Range lengths and counts are integers.
 */
#include "calc.h"

#include "../core/money.h"
#include "../core/period.h"

#include <float.h>
#include <math.h>
#include <strings.h>

_Static_assert(FLT_EVAL_METHOD == 0, "calc needs plain IEEE double evaluation");

#define SECS_PER_DAY INT64_C(86400)
#define SIMPLER_MONTH_DAYS 30
#define SIMPLER_MONTH_HOURS (SIMPLER_MONTH_DAYS * 24)

/* One strategy: the three functions of billing.md §3. */
struct calc_ops {
    const char *name;
    int64_t (*end_date)(int64_t start, const struct period_parts *p);
    void (*total)(double cost, int64_t period, const struct period_date *from,
                  const struct period_date *to, struct calc_range *out);
    int (*period_for_amount)(double amount, double cost, int64_t period, int64_t now,
                             int64_t *out);
};

/*
 * The cents rounding point of both strategies (§4.2 step 5, §5.3, §5.4
 * step 6), which billing.md calls round(): SHM's Honest.pm and Simpler.pm
 * write it as sprintf("%.2f", x), so this is money_from_double(). It differs
 * from §1.1's truncate(x·100 + 0.5) when x·100 lies on or within an ulp of
 * a half cent — about one range total in 400 with real prices (Simpler,
 * 922.92 a day for 39 days 1 hour: SHM 36032.33, half-up 36032.34).
 */
static int64_t round_cents(double x)
{
    return money_from_double(x);
}

static bool period_is_valid(int64_t period)
{
    return period >= 0 && period / PERIOD_SCALE <= PERIOD_MAX_MONTHS;
}

/* ---- Simpler: 30-day months, wall-clock arithmetic (billing.md §4) ---- */

static int64_t simpler_end_date(int64_t start, const struct period_parts *p)
{
    struct period_date d;
    period_date_from_time(start, &d);
    period_date_add_dhms(&d, p->months * SIMPLER_MONTH_DAYS + p->days, p->hours, 0, -1);
    return period_date_to_time(&d);
}

/* Cost of one 30-day month (§4.2 step 3); 0 for period 0 (SHM: undef). */
static double simpler_monthly(double cost, int64_t period)
{
    struct period_parts p;
    if (period == 0)
        return 0.0;
    if (period % PERIOD_SCALE == 0)
        return cost / (double)(period / PERIOD_SCALE);
    period_split(period, &p);
    double period_hours = (double)(p.months * SIMPLER_MONTH_HOURS + p.days * 24 + p.hours);
    return (double)SIMPLER_MONTH_HOURS / period_hours * cost;
}

/* Date::Calc Delta_DHMS as one signed count of seconds (components share its sign). */
static int64_t simpler_delta_secs(const struct period_date *from, const struct period_date *to)
{
    int64_t days = period_date_day_number(to) - period_date_day_number(from);
    int64_t secs = (int64_t)(to->hour - from->hour) * 3600 + (to->min - from->min) * 60 +
                   (to->sec - from->sec);
    return days * SECS_PER_DAY + secs;
}

/* Range length "%d.%02d%02d": whole 30-day months, days, hours (§4.2 step 6). */
static int64_t simpler_months(int64_t delta)
{
    int64_t days = delta / SECS_PER_DAY;
    int64_t hours = delta % SECS_PER_DAY / 3600;
    int64_t d30 = days % SIMPLER_MONTH_DAYS;
    if (d30 < 0) /* Perl's % takes the sign of the right operand */
        d30 += SIMPLER_MONTH_DAYS;
    return days / SIMPLER_MONTH_DAYS * PERIOD_SCALE + d30 * 100 + hours;
}

static void simpler_total(double cost, int64_t period, const struct period_date *from,
                          const struct period_date *to, struct calc_range *out)
{
    struct period_date stop = *to;
    double total = 0.0;
    if (cost != 0.0) {
        period_date_add_dhms(&stop, 0, 0, 0, 1);
        int64_t delta = simpler_delta_secs(from, &stop);
        double cost_day = simpler_monthly(cost, period) / SIMPLER_MONTH_DAYS;
        double cost_hour = cost_day / 24;
        double cost_min = cost_hour / 60;
        total = (double)(delta / SECS_PER_DAY) * cost_day +
                (double)(delta % SECS_PER_DAY / 3600) * cost_hour +
                (double)(delta % 3600 / 60) * cost_min;
    }
    out->total = round_cents(total);
    out->months = simpler_months(simpler_delta_secs(from, &stop));
}

/* Carries a leftover part hour into hours, days and months (§4.3 step 4). */
static void simpler_round_up_hour(int64_t *months, int64_t *days, int64_t *hours)
{
    if (++*hours < 24)
        return;
    *hours = 0;
    if (++*days < SIMPLER_MONTH_DAYS)
        return;
    *days = 0;
    ++*months;
}

static int simpler_period_for_amount(double amount, double cost, int64_t period, int64_t now,
                                     int64_t *out)
{
    UNUSED(now);
    double cost_day = simpler_monthly(cost, period ? period : PERIOD_SCALE) / SIMPLER_MONTH_DAYS;
    double cost_hour = cost_day / 24;
    double cost_min = cost_hour / 60;
    double total_minutes = amount / cost_min;
    if (!(total_minutes < (double)PERIOD_MAX_MONTHS * SIMPLER_MONTH_HOURS * 60 * 2))
        return ERR_LIMIT;
    int64_t total_hours = (int64_t)(total_minutes / 60);
    int64_t left_minutes = (int64_t)total_minutes % 60;
    int64_t total_days = total_hours / 24;
    int64_t hours = total_hours % 24;
    int64_t months = total_days / SIMPLER_MONTH_DAYS;
    int64_t days = total_days % SIMPLER_MONTH_DAYS;
    if (left_minutes > 0)
        simpler_round_up_hour(&months, &days, &hours);
    if (months > PERIOD_MAX_MONTHS)
        return ERR_LIMIT;
    *out = months * PERIOD_SCALE + days * 100 + hours;
    return 0;
}

/* ---- Honest: calendar months, pro-rata by seconds (billing.md §5) ---- */

static int64_t month_seconds(int64_t year, int mon)
{
    return period_days_in_month(year, mon) * SECS_PER_DAY - 1;
}

/* Monthly cost for a service period: divided by the months part only (§5.4 step 1). */
static double honest_monthly(double cost, int64_t period)
{
    struct period_parts p;
    if (period == 0 || period == PERIOD_SCALE)
        return cost;
    period_split(period, &p);
    return p.months > 0 ? cost / (double)p.months : cost;
}

static int64_t honest_end_date(int64_t start, const struct period_parts *p)
{
    struct period_date s, base, got;
    period_date_from_time(start, &s);
    int64_t s1 = month_seconds(s.year, s.mon);
    int64_t target = (s.mon - 1) + p->months;
    base = (struct period_date){ .year = s.year + target / 12, .mon = (int)(target % 12) + 1,
                                 .day = 1 + p->days, .hour = p->hours };
    int64_t unix_stop = period_date_to_time(&base);
    period_date_from_time(unix_stop, &got);
    int64_t s2 = month_seconds(got.year, got.mon);
    int64_t left = s1 - ((int64_t)(s.day - 1) * SECS_PER_DAY + s.hour * INT64_C(3600) +
                         s.min * INT64_C(60) + s.sec);
    if (left == 0)
        left = 1;
    double diff = (double)s1 / (double)left;
    double into = (double)s2 - (double)s2 / diff;
    return unix_stop + (int64_t)into - 1;
}

/* calc_month_cost: cost of [from, to] inside the month of from, in cents (§5.3). */
static int64_t honest_month_cost(double cost, const struct period_date *from,
                                 const struct period_date *to)
{
    int64_t secs = llabs(period_date_to_time(to) - period_date_to_time(from));
    if (secs == 0)
        return 0;
    double sec_in_month = (double)month_seconds(from->year, from->mon);
    return round_cents(cost / (sec_in_month / (double)secs));
}

static struct period_date month_start(const struct period_date *d)
{
    return (struct period_date){ .year = d->year, .mon = d->mon, .day = 1 };
}

static struct period_date month_end(const struct period_date *d)
{
    return (struct period_date){ .year = d->year, .mon = d->mon,
                                 .day = period_days_in_month(d->year, d->mon),
                                 .hour = 23, .min = 59, .sec = 59 };
}

/* Range length "%d.%02d" from the calendar difference (§5.4 step 7). */
static int64_t honest_months(const struct period_date *from, const struct period_date *to)
{
    struct period_date stop = *to;
    period_date_add_dhms(&stop, 0, 0, 0, 1);
    int64_t months = (stop.year - from->year) * 12 + (stop.mon - from->mon);
    int64_t days = stop.day - from->day;
    if (days < 0) {
        months--;
        days = period_days_in_month(from->year, from->mon) - from->day + stop.day;
    }
    return months * PERIOD_SCALE + days * 100;
}

static void honest_total(double cost, int64_t period, const struct period_date *from,
                         const struct period_date *to, struct calc_range *out)
{
    double total = 0.0;
    if (cost != 0.0) {
        double monthly = honest_monthly(cost, period);
        int64_t m_diff = (to->year * 12 + to->mon) - (from->year * 12 + from->mon);
        struct period_date end = month_end(from);
        if (period_date_cmp(to, &end) <= 0)
            end = *to;
        total = money_to_double(honest_month_cost(monthly, from, &end));
        if (m_diff > 1)
            total += monthly * (double)(m_diff - 1);
        if (m_diff > 0) {
            struct period_date first = month_start(to);
            total += money_to_double(honest_month_cost(monthly, &first, to));
        }
    }
    out->total = round_cents(total);
    out->months = honest_months(from, to);
}

/*
 * Whether money is left after whole days (§5.5 step 6): SHM's integer
 * modulus ⌊remaining⌋ mod ⌊cpd⌋; where ⌊cpd⌋ = 0 SHM dies dividing by zero,
 * billd compares the exact remainder instead (DECISIONS D22).
 */
static bool honest_money_left(double remaining, double cost_day, int64_t days)
{
    int64_t whole_cost = (int64_t)cost_day;
    if (whole_cost > 0)
        return (int64_t)remaining % whole_cost > 0;
    return remaining - (double)days * cost_day > 0.0;
}

static int honest_period_for_amount(double amount, double cost, int64_t period, int64_t now,
                                    int64_t *out)
{
    struct period_date ref;
    double monthly = honest_monthly(cost, period);
    double remaining = amount;
    int64_t months = 0, days = 0;
    period_date_from_time(now, &ref);
    while (remaining >= monthly) {
        if (++months > PERIOD_MAX_MONTHS)
            return ERR_LIMIT;
        remaining -= monthly;
        ref.day = 1;
        period_date_add_months(&ref, 1);
    }
    if (remaining > 0.0) {
        int dim = period_days_in_month(ref.year, ref.mon);
        double cost_day = monthly / dim;
        days = (int64_t)(remaining / cost_day);
        if (honest_money_left(remaining, cost_day, days) && days < dim)
            days++;
    }
    *out = months * PERIOD_SCALE + days * 100;
    return 0;
}

/* ---- the interface ---- */

static const struct calc_ops strategies[] = {
    [CALC_SIMPLER] = { "Simpler", simpler_end_date, simpler_total, simpler_period_for_amount },
    [CALC_HONEST] = { "Honest", honest_end_date, honest_total, honest_period_for_amount },
};

static const struct calc_ops *ops_of(enum calc_strategy s)
{
    if ((unsigned)s >= ARRAY_SIZE(strategies))
        return NULL;
    return &strategies[s];
}

enum calc_strategy calc_strategy_from_name(const char *name)
{
    if (name && strcasecmp(name, "honest") == 0)
        return CALC_HONEST;
    return CALC_SIMPLER;
}

const char *calc_strategy_name(enum calc_strategy s)
{
    const struct calc_ops *ops = ops_of(s);
    return ops ? ops->name : "unknown";
}

int calc_end_date(enum calc_strategy s, int64_t start, int64_t period, int64_t *end)
{
    const struct calc_ops *ops = ops_of(s);
    struct period_parts p;
    if (!ops || !period_is_valid(period))
        return ERR_INVALID;
    period_split(period, &p);
    *end = ops->end_date(start, &p);
    return 0;
}

int calc_total(enum calc_strategy s, int64_t cost, int64_t period, int64_t from, int64_t to,
               struct calc_range *out)
{
    const struct calc_ops *ops = ops_of(s);
    struct period_date f, t;
    if (!ops || !period_is_valid(period) || to < from - 1)
        return ERR_INVALID;
    period_date_from_time(from, &f);
    period_date_from_time(to, &t);
    ops->total(money_to_double(cost), period, &f, &t, out);
    return 0;
}

int calc_period_for_amount(enum calc_strategy s, int64_t amount, int64_t cost, int64_t period,
                           int64_t now, int64_t *out)
{
    const struct calc_ops *ops = ops_of(s);
    if (!ops || !period_is_valid(period))
        return ERR_INVALID;
    if (amount <= 0 || cost <= 0) {
        *out = 0;
        return 0;
    }
    return ops->period_for_amount(money_to_double(amount), money_to_double(cost), period, now,
                                  out);
}

int64_t calc_month_seconds(int64_t t)
{
    struct period_date d;
    period_date_from_time(t, &d);
    return month_seconds(d.year, d.mon);
}

int64_t calc_month_cost_from(int64_t cost, int64_t from)
{
    struct period_date f, end;
    period_date_from_time(from, &f);
    end = month_end(&f);
    return honest_month_cost(money_to_double(cost), &f, &end);
}

int64_t calc_month_cost_to(int64_t cost, int64_t to)
{
    struct period_date t, first;
    period_date_from_time(to, &t);
    first = month_start(&t);
    return honest_month_cost(money_to_double(cost), &first, &t);
}

int64_t calc_month_cost_between(int64_t cost, int64_t from, int64_t to)
{
    struct period_date f, t;
    period_date_from_time(from, &f);
    period_date_from_time(to, &t);
    return honest_month_cost(money_to_double(cost), &f, &t);
}
