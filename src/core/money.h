/*
 * money.h — money as int64 minor units (kopecks/cents; DECISIONS D2).
 *
 * Amounts cross the API as decimal numbers with up to two fraction digits
 * (SHM renders -21.56, 100000, 0). Parsing never goes through binary floating
 * point arithmetic: a JSON real is printed with 15 significant digits and the
 * decimal text is parsed exactly. Rounding rules of the billing formulas live
 * with the billing engine, not here.
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

#endif
