/*
 * period.h — SHM's period type M.DDHH (billing.md §2): whole months, then
 * the fraction digits read as text — days in the first one or two digits,
 * hours in the next one or two, a lone digit counting as tens.
 *
 * billd stores a period as the decimal value scaled by 10^4 (the precision of
 * SHM's decimal(10,4) column): "1.0015" ↔ 10015, "0.1" ↔ 1000. This module
 * owns that representation; period arithmetic comes with the billing engine.
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

#endif
