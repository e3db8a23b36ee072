/*
 * calc.h — the calendar strategies of the billing engine (billing.md §3–§5):
 * "Simpler" (30-day months, wall-clock arithmetic) and "Honest" (calendar
 * months, pro-rata by seconds), behind one interface selected by
 * enum calc_strategy (config billing.type).
 *
 * Pure functions of their arguments plus the process time zone (TZ; both
 * strategies work on the local wall-clock fields of the dates, as SHM works
 * on its "YYYY-MM-DD HH:MM:SS" strings) and, for Honest's period for amount,
 * the reference date "now" passed in. Times are Unix seconds; money is int64
 * minor units; periods are scaled by PERIOD_SCALE (core/period.h).
 *
 * SHM computes these formulas in IEEE double precision and rounds to cents at
 * fixed points; calc reproduces each floating-point operation in SHM's order
 * (see calc.c) so that results match to the cent and to the second.
 */
#ifndef BILLD_CALC_H
#define BILLD_CALC_H

#include "../common.h"

enum calc_strategy {
    CALC_SIMPLER = 0,
    CALC_HONEST = 1,
};

/* The cost and the length of a date range (billing.md §4.2, §5.4). */
struct calc_range {
    int64_t total;  /* minor units, rounded to cents as SHM rounds */
    int64_t months; /* scaled period: Simpler M.DDHH, Honest M.DD (hours 0) */
};

/*
 * Maps config billing.type to a strategy: "Honest" in any letter case is
 * CALC_HONEST; anything else — NULL, empty, "Simpler", an unknown name — is
 * CALC_SIMPLER, SHM's default.
 */
enum calc_strategy calc_strategy_from_name(const char *name);
/* Returns "Simpler" or "Honest" (static storage). */
const char *calc_strategy_name(enum calc_strategy s);

/*
 * End date of a period bought at start: the last second that belongs to it
 * (billing.md §4.1, §5.2), written to *end. Returns 0, or ERR_INVALID for an
 * unknown strategy or a negative period.
 */
int calc_end_date(enum calc_strategy s, int64_t start, int64_t period, int64_t *end);

/*
 * Total for the range [from, to] (to = the last second included) of a
 * service costing cost per period, and the range length, written to *out
 * (billing.md §4.2, §5.4). Used for pro-rata withdraws (§6), money back (§14)
 * and forecasts (§16). Returns 0, or ERR_INVALID for an unknown strategy, a
 * negative period or to < from - 1.
 */
int calc_total(enum calc_strategy s, int64_t cost, int64_t period, int64_t from, int64_t to,
               struct calc_range *out);

/*
 * Period that amount buys of a service costing cost per period (billing.md
 * §4.3, §5.5), written to *out as a scaled period. now is the reference date
 * of Honest (its months are counted from the month of now); Simpler ignores
 * it. An amount or cost <= 0 buys nothing (0, "0.0000"; DECISIONS D22).
 * Returns 0, ERR_INVALID for an unknown strategy or a negative period, or
 * ERR_LIMIT when the amount buys more than PERIOD_MAX_MONTHS months.
 */
int calc_period_for_amount(enum calc_strategy s, int64_t amount, int64_t cost, int64_t period,
                           int64_t now, int64_t *out);

/* Honest month second count S = days_in_month × 86400 − 1 of the local month of t (§5.1). */
int64_t calc_month_seconds(int64_t t);
/* Honest cost of [from, end of from's month 23:59:59] for a monthly cost (§5.3). */
int64_t calc_month_cost_from(int64_t cost, int64_t from);
/* Honest cost of [1st of to's month 00:00:00, to] for a monthly cost (§5.3). */
int64_t calc_month_cost_to(int64_t cost, int64_t to);
/* Honest cost of [from, to], two dates of the same month, for a monthly cost (§5.3). */
int64_t calc_month_cost_between(int64_t cost, int64_t from, int64_t to);

#endif
