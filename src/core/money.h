/*
 * money.h — money as int64 minor units (kopecks/cents; DECISIONS D2).
 *
 * Amounts cross the API as decimal numbers with up to two fraction digits
 * (SHM renders -21.56, 100000, 0). Parsing never goes through binary floating
 * point arithmetic: a JSON real is printed with 15 significant digits and the
 * decimal text is parsed exactly.
 *
 * The rounding helpers of billing.md §1.1 take an amount the way SHM holds
 * it — an IEEE double in major units, the result of SHM's own floating-point
 * formula — and return the rounded amount in minor units. They reproduce the
 * spec's definitions operation for operation in double precision (x·100 is
 * rounded to double first, exactly as in SHM), so a value that lands next to
 * a half cent rounds the way SHM rounds it. Sums of stored amounts never go
 * through them: those are exact int64 additions.
 */
#ifndef BILLD_MONEY_H
#define BILLD_MONEY_H

#include "../common.h"

#include <jansson.h>

/* Largest absolute amount accepted from input: 10^15 minor units. */
#define MONEY_MAX INT64_C(1000000000000000)

/*
 * Parses a decimal amount like "123", "-21.56", "0.5", "+7.10" into minor
 * units. More than two fraction digits is ERR_INVALID unless they are zeros.
 * Returns 0 or ERR_INVALID.
 */
int money_parse(const char *s, size_t len, int64_t *out);
/* Parses a JSON number or numeric string. Returns 0 or ERR_INVALID. */
int money_from_json(const json_t *v, int64_t *out);
/* Returns a new JSON number: an integer when whole, else a real with 2 places. */
json_t *money_to_json(int64_t minor);
/* Formats as "-21.56" / "100000.00" into out (at least 32 bytes). */
void money_format(int64_t minor, char *out, size_t outlen);

/* The double SHM holds for a two-place decimal amount: minor / 100, correctly rounded. */
double money_to_double(int64_t minor);
/*
 * round(x) = truncate(x·100 + 0.5): half-up for positive values, truncation
 * toward zero. Returns minor units; NaN gives 0, out-of-range values saturate.
 */
int64_t money_round(double x);
/*
 * The amount SHM's sprintf("%.2f", x) prints, in minor units: the exact
 * binary value of x rounded to the nearest cent (an exact binary tie, such
 * as 0.125, goes to the even cent). Differs from money_round() only when x·100
 * lies on or within an ulp of a half cent (9.145, held as 9.14499…, gives
 * 9.14 here and 9.15 there). NaN gives 0; |x| >= MONEY_MAX / 100 saturates.
 */
int64_t money_from_double(double x);
/* round_up(x) = ceil(x·100), in minor units (forecast totals and debts). */
int64_t money_round_up(double x);
/* round_down(x) = floor(x·100), in minor units (currency conversion). */
int64_t money_round_down(double x);

#endif
