/*
 * strutil.c — see strutil.h.
 */
#include "strutil.h"

#include <strings.h>

int parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (!s || len == 0)
        return ERR_INVALID;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return ERR_INVALID;
    uint64_t v = 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ERR_INVALID;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return ERR_INVALID;
        v = v * 10 + d;
    }
    int64_t r;
    if (neg)
        r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        r = (int64_t)v;
    if (r < min || r > max)
        return ERR_INVALID;
    *out = r;
    return 0;
}

int parse_i64z(const char *s, int64_t min, int64_t max, int64_t *out)
{
    return s ? parse_i64(s, strlen(s), min, max, out) : ERR_INVALID;
}

char *str_lower(char *s)
{
    for (char *p = s; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

bool str_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ct_equal(const char *s, const char *t)
{
    size_t ls = strlen(s), lt = strlen(t);
    unsigned char d = (unsigned char)(ls != lt);
    size_t n = ls < lt ? ls : lt;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(s[i] ^ t[i]);
    return d == 0;
}

const char *ip_unmap_v4(const char *ip)
{
    size_t n = strlen(ip);
    if (n > 7 && strncasecmp(ip, "::ffff:", 7) == 0 && memchr(ip + 7, '.', n - 7))
        return ip + 7;
    return ip;
}
