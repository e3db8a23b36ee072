/*
 * period.c — the M.DDHH representation, sum_period and add_period, and the
 * local calendar arithmetic they and the billing strategies are built on
 * (see period.h).
 *
 * Calendar dates use the days-from-civil algorithm on the proleptic
 * Gregorian calendar (floor division throughout, so any int64 day count is
 * valid). The only time-zone-dependent steps are period_date_from_time
 * (localtime_r) and period_date_to_time, which replays Time::Local's
 * timelocal step by step with localtime_r so that DST edges resolve exactly
 * as in SHM.
 */
#include "period.h"

#include <assert.h>
#include <math.h>
#include <time.h>

#define SECS_PER_DAY INT64_C(86400)
#define SECS_PER_HOUR INT64_C(3600)
#define ADD_PERIOD_MAX 100000

int period_parse(const char *s, size_t len, int64_t *scaled)
{
    size_t i = 0;
    int64_t months = 0, frac = 0;
    int fdigits = 0;
    if (len == 0)
        return ERR_INVALID;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        months = months * 10 + (s[i] - '0');
        if (months > PERIOD_MAX_MONTHS)
            return ERR_INVALID;
    }
    if (i == 0 && (i >= len || s[i] != '.'))
        return ERR_INVALID;
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (++fdigits > 4)
                return ERR_INVALID;
            frac = frac * 10 + (s[i] - '0');
        }
    }
    if (i != len || (fdigits == 0 && s[0] == '.'))
        return ERR_INVALID; /* trailing junk, or "." without any digit */
    for (int d = fdigits; d < 4; d++)
        frac *= 10;
    *scaled = months * PERIOD_SCALE + frac;
    return 0;
}

int period_from_json(const json_t *v, int64_t *scaled)
{
    char tmp[64];
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > PERIOD_MAX_MONTHS)
            return ERR_INVALID;
        *scaled = (int64_t)n * PERIOD_SCALE;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d < 0)
            return ERR_INVALID;
        snprintf(tmp, sizeof(tmp), "%.10g", d);
        return period_parse(tmp, strlen(tmp), scaled);
    }
    if (json_is_string(v))
        return period_parse(json_string_value(v), json_string_length(v), scaled);
    return ERR_INVALID;
}

json_t *period_to_json(int64_t scaled)
{
    if (scaled % PERIOD_SCALE == 0)
        return json_integer(scaled / PERIOD_SCALE);
    return json_real((double)scaled / PERIOD_SCALE);
}

void period_format(int64_t scaled, char *out, size_t outlen)
{
    snprintf(out, outlen, "%lld.%04lld", (long long)(scaled / PERIOD_SCALE),
             (long long)(scaled % PERIOD_SCALE));
}

void period_split(int64_t scaled, struct period_parts *out)
{
    int64_t frac = scaled % PERIOD_SCALE;
    out->months = scaled / PERIOD_SCALE;
    out->days = (int)(frac / 100);
    out->hours = (int)(frac % 100);
}

int period_join(const struct period_parts *p, int64_t *scaled)
{
    if (p->months < 0 || p->months > PERIOD_MAX_MONTHS || p->days < 0 || p->days > 99 ||
        p->hours < 0 || p->hours > 99)
        return ERR_INVALID;
    *scaled = p->months * PERIOD_SCALE + p->days * 100 + p->hours;
    return 0;
}

int64_t period_sum(const int64_t *periods, size_t n)
{
    int64_t months = 0, days = 0, hours = 0;
    for (size_t i = 0; i < n; i++) {
        struct period_parts p;
        period_split(periods[i], &p);
        months += p.months;
        days += p.days;
        hours += p.hours;
    }
    days += hours / 24;
    hours %= 24;
    months += days / 30;
    days %= 30;
    return months * PERIOD_SCALE + days * 100 + hours;
}

/* Floor division and modulo (the calendar works with negative day counts too). */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int period_days_in_month(int64_t year, int mon)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    assert(mon >= 1 && mon <= 12);
    if (mon == 2 && is_leap(year))
        return 29;
    return dim[mon - 1];
}

/* Days since 1970-01-01 of year-mon-01 (mon 1..12). */
static int64_t days_from_civil(int64_t y, int mon)
{
    int64_t m = mon;
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil for a day count z: fills year, mon, day. */
static void civil_from_days(int64_t z, struct period_date *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    d->year = yoe + era * 400 + (m <= 2);
    d->mon = (int)m;
    d->day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

int64_t period_date_day_number(const struct period_date *d)
{
    return days_from_civil(d->year, d->mon) + d->day - 1;
}

/* Seconds of the fields read as UTC (Time::Local's _timegm); fields may overflow. */
static int64_t fields_as_utc(const struct period_date *d)
{
    return period_date_day_number(d) * SECS_PER_DAY + d->hour * SECS_PER_HOUR +
           (int64_t)d->min * 60 + d->sec;
}

void period_date_from_time(int64_t t, struct period_date *d)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm)) {
        memset(d, 0, sizeof(*d));
        d->year = 1970;
        d->mon = d->day = 1;
        return;
    }
    d->year = (int64_t)tm.tm_year + 1900;
    d->mon = tm.tm_mon + 1;
    d->day = tm.tm_mday;
    d->hour = tm.tm_hour;
    d->min = tm.tm_min;
    d->sec = tm.tm_sec;
}

/* _timegm(localtime(t)): the local wall clock of t read as if it were UTC. */
static int64_t local_as_utc(int64_t t)
{
    struct period_date d;
    period_date_from_time(t, &d);
    return fields_as_utc(&d);
}

int64_t period_date_to_time(const struct period_date *d)
{
    int64_t ref_t = fields_as_utc(d);
    int64_t zone_off = local_as_utc(ref_t) - ref_t;
    if (zone_off == 0)
        return ref_t;
    int64_t loc_t = ref_t - zone_off;
    int64_t dst_off = ref_t - local_as_utc(loc_t);
    /* loc_t is in the second occurrence of a repeated hour: take the first. */
    if (dst_off == 0 && (ref_t - SECS_PER_HOUR) - local_as_utc(loc_t - SECS_PER_HOUR) < 0)
        return loc_t - SECS_PER_HOUR;
    loc_t += dst_off;
    if (dst_off > 0)
        return loc_t;
    /* A wall-clock time inside a DST gap: undo the adjustment, as Time::Local does. */
    struct period_date got;
    period_date_from_time(loc_t, &got);
    if (got.sec != d->sec || got.min != d->min || got.hour != d->hour)
        loc_t -= dst_off;
    return loc_t;
}

int period_date_cmp(const struct period_date *a, const struct period_date *b)
{
    const int64_t ka[6] = { a->year, a->mon, a->day, a->hour, a->min, a->sec };
    const int64_t kb[6] = { b->year, b->mon, b->day, b->hour, b->min, b->sec };
    for (int i = 0; i < 6; i++) {
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    }
    return 0;
}

void period_date_add_dhms(struct period_date *d, int64_t days, int64_t hours, int64_t mins,
                          int64_t secs)
{
    int64_t day = period_date_day_number(d) + days;
    int64_t sod = (int64_t)d->hour * SECS_PER_HOUR + (int64_t)d->min * 60 + d->sec +
                  hours * SECS_PER_HOUR + mins * 60 + secs;
    day += floor_div(sod, SECS_PER_DAY);
    sod = floor_mod(sod, SECS_PER_DAY);
    civil_from_days(day, d);
    d->hour = (int)(sod / SECS_PER_HOUR);
    d->min = (int)(sod % SECS_PER_HOUR / 60);
    d->sec = (int)(sod % 60);
}

void period_date_add_months(struct period_date *d, int64_t months)
{
    int64_t m = d->year * 12 + (d->mon - 1) + months;
    int overflow = d->day - 1;
    d->year = floor_div(m, 12);
    d->mon = (int)floor_mod(m, 12) + 1;
    d->day = 1;
    civil_from_days(period_date_day_number(d) + overflow, d);
}

int64_t period_add_to_date(int64_t t, const char *spec)
{
    int64_t n = 0;
    size_t i = 0;
    struct period_date d;
    if (!spec)
        return t;
    for (; spec[i] >= '0' && spec[i] <= '9'; i++) {
        n = n * 10 + (spec[i] - '0');
        if (n > ADD_PERIOD_MAX)
            return t;
    }
    if (i == 0 || spec[i] == '\0' || spec[i + 1] != '\0')
        return t;
    period_date_from_time(t, &d);
    switch (spec[i]) {
    case 'y':
        period_date_add_months(&d, n * 12);
        break;
    case 'm':
        period_date_add_months(&d, n);
        break;
    case 'd':
        period_date_add_dhms(&d, n, 0, 0, 0);
        break;
    case 'H':
        period_date_add_dhms(&d, 0, n, 0, 0);
        break;
    case 'M':
        period_date_add_dhms(&d, 0, 0, n, 0);
        break;
    default:
        return t;
    }
    return period_date_to_time(&d);
}
