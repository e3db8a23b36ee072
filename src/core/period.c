/*
 * period.c — the M.DDHH representation (see period.h).
 */
#include "period.h"

#include <math.h>

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
    if (i != len)
        return ERR_INVALID;
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
