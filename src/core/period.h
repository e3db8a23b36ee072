/*
 * period.h — SHM's period type M.DDHH (billing.md §2): whole months, then
 * the fraction digits read as text — days in the first one or two digits,
 * hours in the next one or two, a lone digit counting as tens.
 *
 * billd stores a period as the decimal value scaled by 10^4 (the precision of
 * SHM's decimal(10,4) column): "1.0015" ↔ 10015, "0.1" ↔ 1000. Because the
 * scaled value always has four fraction digits, SHM's "single digit counts as
 * tens" rule is already applied: days = (scaled % 10^4) / 100 and
 * hours = scaled % 100.
 *
 * The module also owns the calendar arithmetic that periods are defined on:
 * a local wall-clock date (the fields of SHM's "YYYY-MM-DD HH:MM:SS" strings
 * in the process time zone, TZ), civil additions on it (Date::Calc's
 * Add_Delta_* semantics, no DST adjustment) and the conversion back to Unix
 * seconds the way Perl's Time::Local does it (timelocal_nocheck), so that the
 * billing strategies built on top reproduce SHM to the second, also around
 * DST transitions. The process time zone is read through localtime_r; callers
 * that change TZ must call tzset().
 */
#ifndef BILLD_PERIOD_H
#define BILLD_PERIOD_H

#include "../common.h"

#include <jansson.h>

#define PERIOD_SCALE 10000
#define PERIOD_MAX_MONTHS 1200

/*
 * Parses a decimal period text ("1", "0.01", "2.1012") into its scaled value.
 * Refuses signs, exponents, more than 4 fraction digits, more than
 * PERIOD_MAX_MONTHS months. Returns 0 or ERR_INVALID.
 */
int period_parse(const char *s, size_t len, int64_t *scaled);
/* Parses a JSON number or string; reals are read through their shortest decimal text. */
int period_from_json(const json_t *v, int64_t *scaled);
/* Returns a new JSON number for a scaled period: 1 for 10000, 1.0015 for 10015. */
json_t *period_to_json(int64_t scaled);
/* Formats as "%d.%04d" (e.g. "1.0015") into out. */
void period_format(int64_t scaled, char *out, size_t outlen);

/* A period split into its components (SHM's parse_period). */
struct period_parts {
    int64_t months;
    int days;  /* 0..99 */
    int hours; /* 0..99 */
};

/* Splits a scaled period (>= 0): 10015 → {1, 0, 15}, 1000 → {0, 10, 0}. */
void period_split(int64_t scaled, struct period_parts *out);
/*
 * Joins components into a scaled period without normalising them (SHM's
 * "%d.%02d%02d"). Returns 0, or ERR_INVALID when months is negative or above
 * PERIOD_MAX_MONTHS, or days or hours are outside 0..99.
 */
int period_join(const struct period_parts *p, int64_t *scaled);
/*
 * SHM's sum_period (billing.md §2.2): adds the months, days and hours of the
 * n periods separately, then carries hours >= 24 into days and days >= 30
 * into months. No arguments give 0 ("0.0000"); a single argument is
 * normalised ("0.0059" → "0.0211").
 */
int64_t period_sum(const int64_t *periods, size_t n);

/* A local wall-clock date-time: the fields of a "YYYY-MM-DD HH:MM:SS" string. */
struct period_date {
    int64_t year;
    int mon; /* 1..12 */
    int day; /* 1..31 */
    int hour;
    int min;
    int sec;
};

/* Number of days in a month of the proleptic Gregorian calendar (mon 1..12). */
int period_days_in_month(int64_t year, int mon);
/* Fills d with the local (TZ) wall-clock fields of Unix time t. */
void period_date_from_time(int64_t t, struct period_date *d);
/*
 * Converts local wall-clock fields to Unix time exactly as Perl's
 * Time::Local::timelocal_nocheck does (SHM's string_to_utime): day and hour
 * may overflow their range (normalised like mktime); a wall-clock time that
 * occurs twice at a DST end or falls into a DST gap resolves as Time::Local
 * resolves it (the earlier instant of a repeated hour in most zones, the
 * later one where the standard offset is 0, as in Europe/London).
 * mon must be 1..12.
 */
int64_t period_date_to_time(const struct period_date *d);
/* Days since 1970-01-01 of a civil date (day may overflow the month). */
int64_t period_date_day_number(const struct period_date *d);
/* Compares two dates field by field (= string comparison): <0, 0 or >0. */
int period_date_cmp(const struct period_date *a, const struct period_date *b);
/*
 * Adds days and seconds to wall-clock fields (Date::Calc Add_Delta_DHMS:
 * pure calendar arithmetic, no DST adjustment). The result is normalised.
 */
void period_date_add_dhms(struct period_date *d, int64_t days, int64_t hours, int64_t mins,
                          int64_t secs);
/*
 * Adds years and months keeping the day number; a day beyond the end of the
 * resulting month rolls forward into the next one (Date::Calc Add_Delta_YMD:
 * Jan 31 + 1 month = Mar 3 in a non-leap year).
 */
void period_date_add_months(struct period_date *d, int64_t months);

/*
 * SHM's add_period (billing.md §2.3): adds "<n><unit>" to the local date of
 * t, with units d (days), m (months), y (years), H (hours), M (minutes), in
 * calendar arithmetic, and returns the resulting Unix time. An invalid spec
 * (empty, no digits, unknown unit, trailing text, n above 100000) returns t
 * unchanged.
 */
int64_t period_add_to_date(int64_t t, const char *spec);

#endif
