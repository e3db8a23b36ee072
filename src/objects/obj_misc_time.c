/*
 * obj_misc_time.c — misc.format_time_diff(date) (templates.md §7.14): the
 * time between a local "YYYY-MM-DD HH:MM:SS" date and now as Russian text,
 * as SHM's Core::Utils does it: the calendar difference (Date::Calc
 * N_Delta_YMDHMS, absolute values) in years, months, days, hours and
 * minutes, the first three non-zero units joined by ", " ("29 дней, 18
 * часов, 5 минут"), "менее минуты" under a minute, "" for a missing or
 * malformed date. A template writes "Осталось: {{ misc.format_time_diff(us.expire) }}".
 *
 * Differences from SHM (docs/templates.md): every unit uses the full Russian
 * plural rule (SHM's years say "21 лет"), and fewer than three units leave
 * no trailing ", " (SHM joins a three-slot slice).
 */
#include "objects_int.h"

#include "../core/period.h"
#include "../util/buf.h"
#include "../util/timeutil.h"

/* Russian plural: forms[0] for 1, 21, …; forms[1] for 2–4, 22–24, …; forms[2] otherwise. */
static const char *ru_plural(int64_t n, const char *const forms[3])
{
    int64_t d = n % 10, h = n % 100;
    if (d == 1 && h != 11)
        return forms[0];
    if (d >= 2 && d <= 4 && (h < 10 || h >= 20))
        return forms[1];
    return forms[2];
}

/* The calendar difference later − earlier, each field non-negative after borrowing. */
static void ymdhm_delta(const struct period_date *a, const struct period_date *b, int64_t out[5])
{
    int64_t s = b->sec - a->sec, mi = b->min - a->min, h = b->hour - a->hour;
    int64_t d = b->day - a->day, mo = b->mon - a->mon, y = b->year - a->year;
    if (s < 0)
        s += 60, mi--;
    if (mi < 0)
        mi += 60, h--;
    if (h < 0)
        h += 24, d--;
    if (d < 0) { /* borrow the month before b's month */
        int pm = b->mon == 1 ? 12 : b->mon - 1;
        d += period_days_in_month(b->mon == 1 ? b->year - 1 : b->year, pm);
        mo--;
    }
    if (mo < 0)
        mo += 12, y--;
    out[0] = y, out[1] = mo, out[2] = d, out[3] = h, out[4] = mi;
}

/* The text for Unix times target and now (owned). */
char *obj_format_time_diff(int64_t target, int64_t now)
{
    static const char *const units[5][3] = {
        { "год", "года", "лет" },          { "месяц", "месяца", "месяцев" },
        { "день", "дня", "дней" },         { "час", "часа", "часов" },
        { "минута", "минуты", "минут" },
    };
    struct period_date a, b;
    period_date_from_time(target < now ? target : now, &a);
    period_date_from_time(target < now ? now : target, &b);
    int64_t v[5];
    ymdhm_delta(&a, &b, v);
    struct buf out;
    buf_init(&out, 0);
    int parts = 0;
    for (int i = 0; i < 5 && parts < 3; i++) {
        if (!v[i])
            continue;
        buf_printf(&out, "%s%lld %s", parts++ ? ", " : "", (long long)v[i],
                   ru_plural(v[i], units[i]));
    }
    if (!parts)
        buf_puts(&out, "менее минуты");
    return buf_detach(&out, NULL);
}

/* SHM accepts only "date time" with seconds (D-D-D D:D:D). */
static bool full_date(const char *s)
{
    const char *sp = strchr(s, ' ');
    return sp && strchr(sp, ':') && strchr(strchr(sp, ':') + 1, ':');
}

int obj_misc_format_time_diff(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                              struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *s = obj_arg_str(a, 0, NULL);
    int64_t t;
    if (!s || !full_date(s) || time_parse_local(s, &t) != 0) {
        free(s);
        *out = tpl_cstr("");
        return 0;
    }
    free(s);
    char *text = obj_format_time_diff(t, time_now());
    *out = tpl_cstr(text);
    free(text);
    return 0;
}
