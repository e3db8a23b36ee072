/*
 * timeutil.c — see timeutil.h.
 */
#include "timeutil.h"

#include <stdatomic.h>

/* The frozen second of the test clock, or TIME_REAL when time_now() reads the real clock. */
#define TIME_REAL INT64_MIN
static _Atomic int64_t frozen_at = TIME_REAL;

int64_t time_now(void)
{
    int64_t t = atomic_load_explicit(&frozen_at, memory_order_relaxed);
    return t != TIME_REAL ? t : (int64_t)time(NULL);
}

void time_freeze(int64_t t)
{
    atomic_store(&frozen_at, t == TIME_REAL ? TIME_REAL + 1 : t); /* INT64_MIN is the "real" mark */
}

void time_unfreeze(void)
{
    atomic_store(&frozen_at, TIME_REAL);
}

bool time_frozen(void)
{
    return atomic_load(&frozen_at) != TIME_REAL;
}

void time_format_local(int64_t t, char *out, size_t outlen)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}

void time_format_ctime(int64_t t, char *out, size_t outlen)
{
    static const char *wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *mn[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    snprintf(out, outlen, "%s %s %2d %02d:%02d:%02d %d", wd[tm.tm_wday], mn[tm.tm_mon],
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

static int take_num(const char **p, int digits, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return ERR_INVALID;
        v = v * 10 + (c - '0');
    }
    *p += digits;
    *out = v;
    return 0;
}

int time_parse_local(const char *s, int64_t *out)
{
    struct tm tm = { 0 };
    int y, mo, d, h = 0, mi = 0, se = 0;
    const char *p = s;
    if (take_num(&p, 4, &y) || *p++ != '-' || take_num(&p, 2, &mo) || *p++ != '-' ||
        take_num(&p, 2, &d))
        return ERR_INVALID;
    if (*p == ' ' || *p == 'T') {
        p++;
        if (take_num(&p, 2, &h) || *p++ != ':' || take_num(&p, 2, &mi))
            return ERR_INVALID;
        if (*p == ':') {
            p++;
            if (take_num(&p, 2, &se))
                return ERR_INVALID;
        }
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return ERR_INVALID;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1 && !(y == 1969 || y == 1970))
        return ERR_INVALID;
    if (tm.tm_mday != d || tm.tm_mon != mo - 1) /* e.g. Feb 31 normalised to March */
        return ERR_INVALID;
    *out = (int64_t)t;
    return 0;
}
