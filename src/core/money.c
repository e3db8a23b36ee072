/*
 * money.c — exact parsing and rendering of money amounts (see money.h).
 */
#include "money.h"

#include <math.h>

int money_parse(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    int64_t units = 0;
    int frac = 0, fdigits = 0;
    bool any = false;
    if (len && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i++;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        any = true;
        if (units > (MONEY_MAX / 100) / 10)
            return ERR_INVALID;
        units = units * 10 + (s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            any = true;
            if (fdigits < 2) {
                frac = frac * 10 + (s[i] - '0');
            } else if (s[i] != '0') {
                return ERR_INVALID;
            }
            fdigits++;
        }
    }
    if (!any || i != len)
        return ERR_INVALID;
    if (fdigits == 1)
        frac *= 10;
    int64_t v = units * 100 + frac;
    if (v > MONEY_MAX)
        return ERR_INVALID;
    *out = neg ? -v : v;
    return 0;
}

int money_from_json(const json_t *v, int64_t *out)
{
    char tmp[64];
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i > MONEY_MAX / 100 || i < -MONEY_MAX / 100)
            return ERR_INVALID;
        *out = (int64_t)i * 100;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d))
            return ERR_INVALID;
        snprintf(tmp, sizeof(tmp), "%.15g", d);
        if (strchr(tmp, 'e'))
            return ERR_INVALID;
        return money_parse(tmp, strlen(tmp), out);
    }
    if (json_is_string(v))
        return money_parse(json_string_value(v), json_string_length(v), out);
    return ERR_INVALID;
}

json_t *money_to_json(int64_t minor)
{
    if (minor % 100 == 0)
        return json_integer(minor / 100);
    return json_real((double)minor / 100.0);
}

void money_format(int64_t minor, char *out, size_t outlen)
{
    uint64_t a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    snprintf(out, outlen, "%s%llu.%02llu", minor < 0 ? "-" : "", (unsigned long long)(a / 100),
             (unsigned long long)(a % 100));
}

double money_to_double(int64_t minor)
{
    return (double)minor / 100.0;
}

/* Converts an already integral double to int64, saturating; NaN gives 0. */
static int64_t to_minor(double v)
{
    if (isnan(v))
        return 0;
    if (v >= 9.0e18)
        return INT64_MAX;
    if (v <= -9.0e18)
        return INT64_MIN;
    return (int64_t)v;
}

int64_t money_from_double(double x)
{
    char buf[64];
    int64_t v = 0;
    if (isnan(x))
        return 0;
    if (fabs(x) >= (double)(MONEY_MAX / 100))
        return x > 0 ? MONEY_MAX : -MONEY_MAX;
    snprintf(buf, sizeof(buf), "%.2f", x);
    if (money_parse(buf, strlen(buf), &v) != 0)
        return 0;
    return v;
}

int64_t money_round(double x)
{
    double hundred = x * 100.0;
    return to_minor(trunc(hundred + 0.5));
}

int64_t money_round_up(double x)
{
    double hundred = x * 100.0;
    return to_minor(ceil(hundred));
}

int64_t money_round_down(double x)
{
    double hundred = x * 100.0;
    return to_minor(floor(hundred));
}
