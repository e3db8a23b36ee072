/*
 * obj_misc.c — `misc` (templates.md §7.14), the helper functions of §7.13
 * (toJson, fromJson, dump, ref, toQueryString, toBase64Url, fromBase64Url),
 * `logger` (§7.17: lines in billd's log) and the constants of §7.21. Pure functions: nothing here touches the
 * database, the process environment or files (D13). Dates are the local
 * "YYYY-MM-DD HH:MM:SS" strings of D5 and "now" is time_now().
 */
#include "objects_int.h"

#include "../core/money.h"
#include "../core/password.h"
#include "../core/period.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <sodium.h>

#define PASSGEN_MAX 256

static int put_str(struct tpl_value *out, char *owned)
{
    *out = tpl_cstr(owned ? owned : "");
    free(owned);
    return 0;
}

/* Canonical compact JSON of v (sorted keys, UTF-8 kept). Owned. */
static char *to_json_text(const struct tpl_value *v)
{
    json_t *j = obj_arg_json(v);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return s ? s : xstrdup("null");
}

static int m_now(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                 struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(a), UNUSED(e);
    char s[32];
    time_format_local(time_now(), s, sizeof(s));
    *out = tpl_cstr(s);
    return 0;
}

static int m_passgen(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    int64_t n = 10;
    obj_arg_int(a, 0, "len", &n);
    if (n < 1 || n > PASSGEN_MAX)
        n = 10;
    /* SHM's alphabet: no 0/O, 1/l/I or other look-alikes */
    static const char alpha[] = "ertpadfhkzxcbnmERTPADFHKZXCBNM123456789";
    char pw[PASSGEN_MAX + 1];
    for (int64_t i = 0; i < n; i++)
        pw[i] = alpha[randombytes_uniform(sizeof(alpha) - 1)];
    pw[n] = '\0';
    *out = tpl_cstr(pw);
    return 0;
}

static int m_uuid(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(a), UNUSED(e);
    unsigned char b[16];
    char s[37];
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(s, sizeof(s),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    *out = tpl_cstr(s);
    return 0;
}

/* The date argument at i as Unix time (now when absent). false when unparsable. */
static bool date_arg(const struct tpl_args *a, size_t i, int64_t *t)
{
    char *s = obj_arg_str(a, i, NULL);
    bool ok = true;
    if (!s || !*s)
        *t = time_now();
    else
        ok = time_parse_local(s, t) == 0;
    free(s);
    return ok;
}

static int put_date(struct tpl_value *out, int64_t t)
{
    char s[32];
    time_format_local(t, s, sizeof(s));
    *out = tpl_cstr(s);
    return 0;
}

static int m_add_period(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    int64_t t;
    char *spec = obj_arg_str(a, 1, NULL);
    if (!date_arg(a, 0, &t) || !spec) {
        free(spec);
        return TPL_DECLINED;
    }
    t = period_add_to_date(t, spec);
    free(spec);
    return put_date(out, t);
}

static int m_string_to_utime(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                             struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    int64_t t;
    if (!date_arg(a, 0, &t))
        return TPL_DECLINED;
    *out = tpl_int(t);
    return 0;
}

/* utime_to_string(t[, format]): local time t (now when 0 or absent), strftime format as SHM. */
static int m_utime_to_string(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                             struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r);
    int64_t t = 0;
    obj_arg_int(a, 0, NULL, &t);
    if (!t)
        t = time_now();
    char *fmt = obj_arg_str(a, 1, NULL);
    if (!fmt || !*fmt) {
        free(fmt);
        return put_date(out, t);
    }
    char s[256];
    struct tm tm;
    time_t tt = (time_t)t;
    size_t n = 0;
    /* a template's format is safe here: strftime reads no variable arguments */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (strlen(fmt) <= 64 && localtime_r(&tt, &tm))
        n = strftime(s, sizeof(s), fmt, &tm);
#pragma GCC diagnostic pop
    free(fmt);
    if (!n)
        return err_set(e, ERR_INVALID, "misc.utime_to_string: bad format or time");
    *out = tpl_str(s, n);
    return 0;
}

static int m_parse_date(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    int64_t t;
    if (!date_arg(a, 0, &t))
        return TPL_DECLINED;
    struct period_date d;
    period_date_from_time(t, &d);
    *out = tpl_hash_new();
    tpl_hash_set(out, "year", 4, tpl_int(d.year));
    tpl_hash_set(out, "month", 5, tpl_int(d.mon));
    tpl_hash_set(out, "day", 3, tpl_int(d.day));
    tpl_hash_set(out, "hour", 4, tpl_int(d.hour));
    tpl_hash_set(out, "min", 3, tpl_int(d.min));
    tpl_hash_set(out, "sec", 3, tpl_int(d.sec));
    return 0;
}

static int m_parse_period(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *s = obj_arg_str(a, 0, NULL);
    int64_t scaled;
    int rc = s && period_parse(s, strlen(s), &scaled) == 0 ? 0 : TPL_DECLINED;
    free(s);
    if (rc)
        return rc;
    struct period_parts p;
    period_split(scaled, &p);
    *out = tpl_hash_new();
    tpl_hash_set(out, "months", 6, tpl_int(p.months));
    tpl_hash_set(out, "days", 4, tpl_int(p.days));
    tpl_hash_set(out, "hours", 5, tpl_int(p.hours));
    return 0;
}

/* round / round_up / round_down (billing.md §1.1) to two places. */
static int rounding(const struct tpl_args *a, struct tpl_value *out, int64_t (*fn)(double))
{
    const struct tpl_value *v = tpl_args_at(a, 0);
    if (!v)
        return TPL_DECLINED;
    int64_t minor = fn(tpl_value_double(v));
    *out = minor % 100 ? tpl_num((double)minor / 100.0) : tpl_int(minor / 100);
    return 0;
}

static int m_round(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    return rounding(a, out, money_round);
}

static int m_round_up(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    return rounding(a, out, money_round_up);
}

static int m_round_down(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    return rounding(a, out, money_round_down);
}

static int m_is_email(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *s = obj_arg_str(a, 0, NULL);
    const char *at = s ? strchr(s, '@') : NULL;
    bool ok = at && at > s && strchr(at + 1, '.') && !strchr(at + 1, '@') &&
              !strpbrk(s, " \t\r\n<>\"'") && at[strlen(at) - 1] != '.';
    free(s);
    *out = tpl_int(ok);
    return 0;
}

/* HTML escaping as SHM's html_escape: & < > " ' and /. */
static char *html_escape(const char *s)
{
    struct buf b;
    buf_init(&b, 0);
    for (; *s; s++) {
        switch (*s) {
        case '&': buf_puts(&b, "&amp;"); break;
        case '<': buf_puts(&b, "&lt;"); break;
        case '>': buf_puts(&b, "&gt;"); break;
        case '"': buf_puts(&b, "&quot;"); break;
        case '\'': buf_puts(&b, "&#39;"); break;
        case '/': buf_puts(&b, "&#x2F;"); break;
        default: buf_putc(&b, *s);
        }
    }
    return buf_detach(&b, NULL);
}

static char *html_unescape(const char *s)
{
    static const char *const ent[][2] = { { "&amp;", "&" },   { "&lt;", "<" },
                                          { "&gt;", ">" },    { "&quot;", "\"" },
                                          { "&#x27;", "'" },  { "&#39;", "'" },
                                          { "&#x2F;", "/" },  { "&#47;", "/" } };
    struct buf b;
    buf_init(&b, 0);
    while (*s) {
        size_t i;
        for (i = 0; i < ARRAY_SIZE(ent); i++)
            if (!strncmp(s, ent[i][0], strlen(ent[i][0])))
                break;
        if (i < ARRAY_SIZE(ent)) {
            buf_puts(&b, ent[i][1]);
            s += strlen(ent[i][0]);
        } else {
            buf_putc(&b, *s++);
        }
    }
    return buf_detach(&b, NULL);
}

static int m_html_escape(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *s = obj_arg_str(a, 0, NULL);
    char *x = html_escape(s ? s : "");
    free(s);
    return put_str(out, x);
}

static int m_html_unescape(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *s = obj_arg_str(a, 0, NULL);
    char *x = html_unescape(s ? s : "");
    free(s);
    return put_str(out, x);
}

/* base64 of the bytes of a string value (variant: sodium_base64_VARIANT_*). Owned. */
static char *b64_encode(const struct tpl_value *v, int variant)
{
    size_t n = 0;
    const char *s = v && v->type == TPL_STR ? tpl_str_data(v, &n) : NULL;
    char *tmp = NULL;
    if (v && !s) {
        struct buf b;
        buf_init(&b, 0);
        tpl_value_print(v, &b);
        tmp = buf_detach(&b, &n);
        s = tmp;
    }
    if (!s)
        s = "";
    size_t cap = sodium_base64_encoded_len(n, variant);
    char *out = xmalloc(cap);
    sodium_bin2base64(out, cap, (const unsigned char *)s, n, variant);
    free(tmp);
    return out;
}

/* Decodes base64 (any padding) into a string value; undefined when invalid. */
static struct tpl_value b64_decode(const struct tpl_value *v, int variant)
{
    size_t n = 0;
    char *s = NULL;
    struct buf b;
    buf_init(&b, 0);
    if (v)
        tpl_value_print(v, &b);
    s = buf_detach(&b, &n);
    unsigned char *bin = xmalloc(n + 1);
    size_t len = 0;
    struct tpl_value out = tpl_undef();
    if (sodium_base642bin(bin, n + 1, s, n, " \t\r\n=", &len, NULL, variant) == 0)
        out = tpl_str((const char *)bin, len);
    free(bin);
    free(s);
    return out;
}

static int m_enc64(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    return put_str(out, b64_encode(tpl_args_at(a, 0), sodium_base64_VARIANT_ORIGINAL));
}

static int m_dec64(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    *out = b64_decode(tpl_args_at(a, 0), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    return 0;
}

static int m_enc64url(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    return put_str(out, b64_encode(tpl_args_at(a, 0), sodium_base64_VARIANT_URLSAFE_NO_PADDING));
}

static int m_dec64url(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    *out = b64_decode(tpl_args_at(a, 0), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

static int hex_out(struct tpl_value *out, const unsigned char *d, size_t n)
{
    char hex[2 * 64 + 1];
    sodium_bin2hex(hex, sizeof(hex), d, n);
    *out = tpl_cstr(hex);
    return 0;
}

static int m_sha256_hex(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *s = obj_arg_str(a, 0, NULL);
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, (const unsigned char *)(s ? s : ""), s ? strlen(s) : 0);
    free(s);
    return hex_out(out, d, sizeof(d));
}

static int m_sha512_hex(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *s = obj_arg_str(a, 0, NULL);
    unsigned char d[crypto_hash_sha512_BYTES];
    crypto_hash_sha512(d, (const unsigned char *)(s ? s : ""), s ? strlen(s) : 0);
    free(s);
    return hex_out(out, d, sizeof(d));
}

/* hmac_sha256_hex(data, key). */
static int m_hmac_sha256_hex(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                             struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *data = obj_arg_str(a, 0, NULL), *key = obj_arg_str(a, 1, NULL);
    unsigned char d[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)(key ? key : ""),
                                key ? strlen(key) : 0);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)(data ? data : ""),
                                  data ? strlen(data) : 0);
    crypto_auth_hmacsha256_final(&st, d);
    free(data);
    free(key);
    return hex_out(out, d, sizeof(d));
}

static int m_to_json(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    return put_str(out, to_json_text(tpl_args_at(a, 0)));
}

static int m_from_json(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    size_t n = 0;
    const struct tpl_value *v = tpl_args_at(a, 0);
    const char *s = v && v->type == TPL_STR ? tpl_str_data(v, &n) : NULL;
    json_t *j = s ? json_loadb(s, n, JSON_DECODE_ANY, NULL) : NULL;
    *out = j ? obj_from_json(j) : tpl_undef();
    json_decref(j);
    return 0;
}

/* a=1&b=2 with RFC 3986 percent-encoding, keys in the hash's order. */
static char *query_string(const struct tpl_value *h)
{
    struct buf b;
    buf_init(&b, 0);
    size_t it = 0, kl;
    const char *k;
    const struct tpl_value *v;
    while (h && h->type == TPL_HASH && tpl_hash_next(h, &it, &k, &kl, &v)) {
        struct buf val;
        buf_init(&val, 0);
        tpl_value_print(v, &val);
        if (b.len)
            buf_putc(&b, '&');
        for (int part = 0; part < 2; part++) {
            const unsigned char *p = (const unsigned char *)(part ? val.data : k);
            size_t n = part ? val.len : kl;
            for (size_t i = 0; i < n; i++) {
                unsigned char c = p[i];
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~')
                    buf_putc(&b, (char)c);
                else
                    buf_printf(&b, "%%%02X", c);
            }
            if (!part)
                buf_putc(&b, '=');
        }
        buf_free(&val);
    }
    return buf_detach(&b, NULL);
}

static int m_query_string(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    const struct tpl_value *h = tpl_args_at(a, 0);
    return put_str(out, query_string(h ? h : a->named));
}

/* hash_merge(a, b): deep merge of b into a copy of a. */
static int m_hash_merge(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    json_t *x = obj_arg_json(tpl_args_at(a, 0)), *y = obj_arg_json(tpl_args_at(a, 1));
    if (json_is_object(x) && json_is_object(y))
        json_object_update_recursive(x, y);
    *out = x ? obj_from_json(x) : tpl_undef();
    json_decref(x);
    json_decref(y);
    return 0;
}

/* "YYYY-MM-DD HH:MM:SS" of wall-clock fields. */
static int put_fields(struct tpl_value *out, const struct period_date *d)
{
    char s[48];
    snprintf(s, sizeof(s), "%04lld-%02d-%02d %02d:%02d:%02d", (long long)d->year, d->mon, d->day,
             d->hour, d->min, d->sec);
    *out = tpl_cstr(s);
    return 0;
}

/* The local fields of the date argument at i (now when absent); false when unparsable. */
static bool fields_arg(const struct tpl_args *a, size_t i, struct period_date *d)
{
    int64_t t;
    if (!date_arg(a, i, &t))
        return false;
    period_date_from_time(t, d);
    return true;
}

static int m_start_of_month(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                            struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    struct period_date d;
    if (!fields_arg(a, 0, &d))
        return TPL_DECLINED;
    d.day = 1;
    d.hour = d.min = d.sec = 0;
    return put_fields(out, &d);
}

static int m_end_of_month(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    struct period_date d;
    if (!fields_arg(a, 0, &d))
        return TPL_DECLINED;
    d.day = period_days_in_month(d.year, d.mon);
    d.hour = 23;
    d.min = d.sec = 59;
    return put_fields(out, &d);
}

static int m_start_of_day(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    struct period_date d;
    if (!fields_arg(a, 0, &d))
        return TPL_DECLINED;
    d.hour = d.min = d.sec = 0;
    return put_fields(out, &d);
}

static int m_days_in_months(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                            struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    struct period_date d;
    if (!fields_arg(a, 0, &d))
        return TPL_DECLINED;
    *out = tpl_int(period_days_in_month(d.year, d.mon));
    return 0;
}

/* add_date_time(date, year = …, month = …, day = …, hour = …, min = …, sec = …). */
static int m_add_date_time(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    struct period_date d;
    struct tpl_args rest = *a;
    if (rest.npos) {
        rest.pos++;
        rest.npos--;
    }
    if (!fields_arg(a, 0, &d))
        return TPL_DECLINED;
    int64_t y = 0, mo = 0, dd = 0, h = 0, mi = 0, se = 0;
    obj_arg_int(&rest, (size_t)-1, "year", &y);
    obj_arg_int(&rest, (size_t)-1, "month", &mo);
    obj_arg_int(&rest, (size_t)-1, "day", &dd);
    obj_arg_int(&rest, (size_t)-1, "hour", &h);
    obj_arg_int(&rest, (size_t)-1, "min", &mi);
    obj_arg_int(&rest, (size_t)-1, "sec", &se);
    if (llabs(y) > 10000 || llabs(mo) > 120000 || llabs(dd) > 3660000)
        return TPL_DECLINED;
    if (y || mo)
        period_date_add_months(&d, y * 12 + mo);
    period_date_add_dhms(&d, dd, h, mi, se);
    return put_fields(out, &d);
}

/* sum_period(p1, p2, …): billing.md §2.2. */
static int m_sum_period(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    int64_t p[64];
    size_t n = 0;
    for (size_t i = 0; i < a->npos && n < ARRAY_SIZE(p); i++) {
        char *s = obj_arg_str(a, i, NULL);
        if (s && period_parse(s, strlen(s), &p[n]) == 0)
            n++;
        free(s);
    }
    char buf[32];
    period_format(period_sum(p, n), buf, sizeof(buf));
    *out = tpl_cstr(buf);
    return 0;
}

static int m_random_b64url(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    int64_t n = 32;
    obj_arg_int(a, 0, NULL, &n);
    if (n < 1 || n > 1024)
        n = 32;
    unsigned char b[1024];
    randombytes_buf(b, (size_t)n);
    size_t cap = sodium_base64_encoded_len((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = xmalloc(cap);
    sodium_bin2base64(s, cap, b, (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return put_str(out, s);
}

/* Digest of the first argument: which 0 = SHA-256, 1 = SHA-512; hex or raw bytes. */
static int digest(const struct tpl_args *a, int which, bool hex, struct tpl_value *out)
{
    char *s = obj_arg_str(a, 0, NULL);
    unsigned char d[crypto_hash_sha512_BYTES];
    size_t n = which ? crypto_hash_sha512_BYTES : crypto_hash_sha256_BYTES;
    const unsigned char *in = (const unsigned char *)(s ? s : "");
    if (which)
        crypto_hash_sha512(d, in, s ? strlen(s) : 0);
    else
        crypto_hash_sha256(d, in, s ? strlen(s) : 0);
    free(s);
    if (hex)
        return hex_out(out, d, n);
    *out = tpl_str((const char *)d, n);
    return 0;
}

/* HMAC of (data, key): which 0 = SHA-256, 1 = SHA-512; hex or raw bytes. */
static int hmac(const struct tpl_args *a, int which, bool hex, struct tpl_value *out)
{
    char *data = obj_arg_str(a, 0, NULL), *key = obj_arg_str(a, 1, NULL);
    const unsigned char *dp = (const unsigned char *)(data ? data : "");
    const unsigned char *kp = (const unsigned char *)(key ? key : "");
    size_t dl = data ? strlen(data) : 0, kl = key ? strlen(key) : 0;
    unsigned char d[crypto_auth_hmacsha512_BYTES];
    size_t n;
    if (which) {
        crypto_auth_hmacsha512_state st;
        crypto_auth_hmacsha512_init(&st, kp, kl);
        crypto_auth_hmacsha512_update(&st, dp, dl);
        crypto_auth_hmacsha512_final(&st, d);
        n = crypto_auth_hmacsha512_BYTES;
    } else {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, kp, kl);
        crypto_auth_hmacsha256_update(&st, dp, dl);
        crypto_auth_hmacsha256_final(&st, d);
        n = crypto_auth_hmacsha256_BYTES;
    }
    free(data);
    free(key);
    if (hex)
        return hex_out(out, d, n);
    *out = tpl_str((const char *)d, n);
    return 0;
}

#define DIGEST_FN(fname, call)                                                                \
    static int fname(struct obj *o, struct render_ctx *r, const struct tpl_args *a,           \
                     struct tpl_value *out, struct err *e)                                    \
    {                                                                                         \
        UNUSED(o), UNUSED(r), UNUSED(e);                                                      \
        return call;                                                                          \
    }
DIGEST_FN(m_sha256, digest(a, 0, false, out))
DIGEST_FN(m_sha512, digest(a, 1, false, out))
DIGEST_FN(m_hmac_sha256, hmac(a, 0, false, out))
DIGEST_FN(m_hmac_sha512, hmac(a, 1, false, out))
DIGEST_FN(m_hmac_sha512_hex, hmac(a, 1, true, out))

/* is_host(s): a DNS host name (labels of letters, digits and '-', at least one dot). */
static int m_is_host(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *s = obj_arg_str(a, 0, NULL);
    bool ok = s && *s && strlen(s) <= 253 && strchr(s, '.');
    size_t label = 0;
    for (const char *p = s; ok && *p; p++) {
        if (*p == '.') {
            ok = label > 0 && p[-1] != '-';
            label = 0;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)) {
            ok = ++label <= 63;
        } else {
            ok = false;
        }
    }
    ok = ok && label > 0;
    free(s);
    *out = tpl_int(ok);
    return 0;
}

/* jwt_decode(token): the payload (second part) decoded, without verifying the signature. */
static int m_jwt_decode(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    char *t = obj_arg_str(a, 0, NULL);
    char *dot1 = t ? strchr(t, '.') : NULL, *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2) {
        free(t);
        return TPL_DECLINED;
    }
    *dot2 = '\0';
    struct tpl_value part = tpl_cstr(dot1 + 1);
    struct tpl_value bin = b64_decode(&part, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t n = 0;
    const char *p = bin.type == TPL_STR ? tpl_str_data(&bin, &n) : NULL;
    json_t *j = p ? json_loadb(p, n, 0, NULL) : NULL;
    *out = j ? obj_from_json(j) : tpl_undef();
    json_decref(j);
    tpl_value_drop(&bin);
    tpl_value_drop(&part);
    free(t);
    return 0;
}

/* ---- list utilities ---- */

/* The list argument at 0 (borrowed), or NULL. */
static const struct tpl_value *list_arg(const struct tpl_args *a)
{
    const struct tpl_value *l = tpl_args_at(a, 0);
    return l && l->type == TPL_LIST ? l : NULL;
}

static int m_pluck(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    const struct tpl_value *l = list_arg(a);
    char *field = obj_arg_str(a, 1, NULL);
    *out = tpl_list_new();
    for (size_t i = 0; l && field && i < tpl_list_len(l); i++) {
        const struct tpl_value *it = tpl_list_at(l, i);
        const struct tpl_value *v =
            it->type == TPL_HASH ? tpl_hash_get(it, field, strlen(field)) : NULL;
        tpl_list_push(out, v ? tpl_value_ref(v) : tpl_undef());
    }
    free(field);
    return 0;
}

static int m_first(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    const struct tpl_value *l = list_arg(a);
    const struct tpl_value *v = l ? tpl_list_at(l, 0) : tpl_args_at(a, 0);
    *out = v ? tpl_value_ref(v) : tpl_undef();
    return 0;
}

/* uniq(list) / uniq_by_key(list, key): first occurrences by printed value (or key). */
static int uniq(const struct tpl_args *a, bool by_key, struct tpl_value *out)
{
    const struct tpl_value *l = list_arg(a);
    char *key = by_key ? obj_arg_str(a, 1, NULL) : NULL;
    struct tpl_value seen = tpl_hash_new();
    *out = tpl_list_new();
    for (size_t i = 0; l && i < tpl_list_len(l); i++) {
        const struct tpl_value *it = tpl_list_at(l, i), *kv = it;
        if (key)
            kv = it->type == TPL_HASH ? tpl_hash_get(it, key, strlen(key)) : NULL;
        struct buf b;
        buf_init(&b, 0);
        if (kv)
            tpl_value_print(kv, &b);
        if (!tpl_hash_get(&seen, b.data, b.len)) {
            tpl_hash_set(&seen, b.data, b.len, tpl_int(1));
            tpl_list_push(out, tpl_value_ref(it));
        }
        buf_free(&b);
    }
    tpl_value_drop(&seen);
    free(key);
    return 0;
}

static int m_uniq(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    return uniq(a, false, out);
}

static int m_uniq_by_key(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    return uniq(a, true, out);
}

/* any/all/none/notall(list): truth of the elements. */
static int truths(const struct tpl_args *a, int which, struct tpl_value *out)
{
    const struct tpl_value *l = list_arg(a);
    size_t n = l ? tpl_list_len(l) : 0, t = 0;
    for (size_t i = 0; i < n; i++)
        t += tpl_value_truth(tpl_list_at(l, i));
    bool v = which == 0 ? t > 0 : which == 1 ? t == n : which == 2 ? t == 0 : t < n;
    *out = tpl_int(v);
    return 0;
}

DIGEST_FN(m_any, truths(a, 0, out))
DIGEST_FN(m_all, truths(a, 1, out))
DIGEST_FN(m_none, truths(a, 2, out))
DIGEST_FN(m_notall, truths(a, 3, out))

static const struct obj_method misc_methods[] = {
    { "now", m_now },
    { "passgen", m_passgen },
    { "uuid_gen", m_uuid },
    { "add_period", m_add_period },
    { "string_to_utime", m_string_to_utime },
    { "utime_to_string", m_utime_to_string },
    { "parse_date", m_parse_date },
    { "parse_period", m_parse_period },
    { "round", m_round },
    { "round_up", m_round_up },
    { "round_down", m_round_down },
    { "is_email", m_is_email },
    { "html_escape", m_html_escape },
    { "html_unescape", m_html_unescape },
    { "encode_base64", m_enc64 },
    { "decode_base64", m_dec64 },
    { "encode_base64url", m_enc64url },
    { "decode_base64url", m_dec64url },
    { "sha256_hex", m_sha256_hex },
    { "sha512_hex", m_sha512_hex },
    { "hmac_sha256_hex", m_hmac_sha256_hex },
    { "encode_json", m_to_json },
    { "decode_json", m_from_json },
    { "to_query_string", m_query_string },
    { "hash_merge", m_hash_merge },
    { "start_of_month", m_start_of_month },
    { "end_of_month", m_end_of_month },
    { "start_of_day", m_start_of_day },
    { "days_in_months", m_days_in_months },
    { "add_date_time", m_add_date_time },
    { "sum_period", m_sum_period },
    { "random_base64url", m_random_b64url },
    { "get_random_value", obj_misc_get_random_value },
    { "sha256", m_sha256 },
    { "sha512", m_sha512 },
    { "hmac_sha256", m_hmac_sha256 },
    { "hmac_sha512", m_hmac_sha512 },
    { "hmac_sha512_hex", m_hmac_sha512_hex },
    { "is_host", m_is_host },
    { "jwt_decode", m_jwt_decode },
    { "pluck", m_pluck },
    { "first", m_first },
    { "uniq", m_uniq },
    { "uniq_by_key", m_uniq_by_key },
    { "any", m_any },
    { "all", m_all },
    { "none", m_none },
    { "notall", m_notall },
    { "format_time_diff", obj_misc_format_time_diff },
    { "encrypt_aes256_gcm_base64", obj_misc_encrypt_aes256_gcm_base64 },
    { "sort_by_keys", obj_misc_sort_by_keys },
    { "qrencode", obj_misc_qrencode },
    { "ip_rate_limit", obj_misc_ip_rate_limit },
    { NULL, NULL },
};

const struct obj_kind obj_misc_kind = { "Core::Utils", misc_methods, NULL };

/* ---- logger (§7.17): one log line per call, tagged with the user ---- */

static int log_at(enum log_level lvl, struct render_ctx *r, const struct tpl_args *a)
{
    char *msg = obj_arg_str(a, 0, "msg");
    char q[512];
    log_write(lvl, "template log", "text=%s user_id=%lld", log_q(q, sizeof(q), msg ? msg : ""),
              (long long)r->user_id);
    free(msg);
    return 0;
}

#define LOG_FN(fname, lvl)                                                                    \
    static int fname(struct obj *o, struct render_ctx *r, const struct tpl_args *a,           \
                     struct tpl_value *out, struct err *e)                                    \
    {                                                                                         \
        UNUSED(o), UNUSED(out), UNUSED(e);                                                    \
        return log_at(lvl, r, a);                                                             \
    }
LOG_FN(m_log_debug, LOG_DEBUG)
LOG_FN(m_log_info, LOG_INFO)
LOG_FN(m_log_warning, LOG_WARN)
LOG_FN(m_log_error, LOG_ERROR)

static const struct obj_method logger_methods[] = {
    { "debug", m_log_debug },     { "info", m_log_info },   { "warning", m_log_warning },
    { "warn", m_log_warning },    { "error", m_log_error }, { NULL, NULL },
};

const struct obj_kind obj_logger_kind = { "Core::Logger", logger_methods, NULL };

/* ---- top-level helpers (§7.13): adapters over the misc methods ---- */

static int via(obj_method_fn fn, struct tpl_ctx *cx, const struct tpl_args *a,
               struct tpl_value *out, struct err *e)
{
    return fn(NULL, obj_ctx(cx), a, out, e);
}

#define HELPER(fname, method)                                                                 \
    static int fname(void *self, struct tpl_ctx *cx, const struct tpl_args *a,                \
                     struct tpl_value *out, struct err *e)                                    \
    {                                                                                         \
        UNUSED(self);                                                                         \
        return via(method, cx, a, out, e);                                                    \
    }
HELPER(fn_to_json, m_to_json)
HELPER(fn_from_json, m_from_json)
HELPER(fn_query_string, m_query_string)
HELPER(fn_to_b64url, m_enc64url)
HELPER(fn_from_b64url, m_dec64url)

/* ref(x): a hash in a one-element list, a list as is, anything false → []. */
static int fn_ref(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(self), UNUSED(cx), UNUSED(e);
    const struct tpl_value *v = tpl_args_at(a, 0);
    if (v && v->type == TPL_LIST) {
        *out = tpl_value_ref(v);
    } else {
        *out = tpl_list_new();
        if (v && tpl_value_truth(v))
            tpl_list_push(out, tpl_value_ref(v));
    }
    return 0;
}

/* dump(x): pretty JSON with sorted keys. */
static int fn_dump(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(self), UNUSED(cx), UNUSED(e);
    json_t *j = obj_arg_json(tpl_args_at(a, 0));
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return put_str(out, s ? s : xstrdup("undef"));
}

static void set_str(struct tpl_value *vars, const char *k, const char *v)
{
    tpl_hash_set(vars, k, strlen(k), tpl_cstr(v));
}

static void set_int(struct tpl_value *vars, const char *k, int64_t v)
{
    tpl_hash_set(vars, k, strlen(k), tpl_int(v));
}

/* The constants of §7.21 (SUCCESS/FAIL/STUCK are bound with `task`). */
static void bind_constants(struct tpl_value *v)
{
    static const char *const statuses[][2] = {
        { "STATUS_INIT", "INIT" },         { "STATUS_WAIT_FOR_PAY", "NOT PAID" },
        { "STATUS_PROGRESS", "PROGRESS" }, { "STATUS_ACTIVE", "ACTIVE" },
        { "STATUS_BLOCK", "BLOCK" },       { "STATUS_REMOVED", "REMOVED" },
        { "STATUS_ERROR", "ERROR" },       { "EVENT_CREATE", "CREATE" },
        { "EVENT_NOT_ENOUGH_MONEY", "NOT_ENOUGH_MONEY" }, { "EVENT_BLOCK", "BLOCK" },
        { "EVENT_BLOCK_FORCE", "BLOCK FORCE" }, { "EVENT_REMOVE", "REMOVE" },
        { "EVENT_PROLONGATE", "PROLONGATE" }, { "EVENT_ACTIVATE", "ACTIVATE" },
        { "EVENT_ACTIVATE_FORCE", "ACTIVATE FORCE" }, { "EVENT_CHANGED", "CHANGED" },
        { "EVENT_CHANGED_TARIFF", "CHANGED_TARIFF" }, { "TASK_NEW", "NEW" },
        { "TASK_SUCCESS", "SUCCESS" },     { "TASK_FAIL", "FAIL" },
        { "TASK_DELAYED", "DELAYED" },     { "TASK_STUCK", "STUCK" },
        { "TASK_PAUSED", "PAUSED" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
        set_str(v, statuses[i][0], statuses[i][1]);
    set_int(v, "CLIENT_FIZ", 0);
    set_int(v, "CLIENT_JUR", 1);
    set_int(v, "CLIENT_IP", 2);
    set_int(v, "CLIENT_FIZ_NR", 3);
    set_int(v, "CLIENT_JUR_NR", 4);
    set_int(v, "GROUP_ID_LOCAL", 1);
    set_int(v, "GROUP_ID_MAIL", 2);
}

void obj_misc_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "misc", 4, obj_new(&obj_misc_kind, 0, r->user_id, NULL));
    tpl_hash_set(vars, "logger", 6, obj_new(&obj_logger_kind, 0, r->user_id, NULL));
    obj_bind_func(vars, "toJson", fn_to_json);
    obj_bind_func(vars, "fromJson", fn_from_json);
    obj_bind_func(vars, "toQueryString", fn_query_string);
    obj_bind_func(vars, "toBase64Url", fn_to_b64url);
    obj_bind_func(vars, "fromBase64Url", fn_from_b64url);
    obj_bind_func(vars, "ref", fn_ref);
    obj_bind_func(vars, "dump", fn_dump);
    struct tpl_value resp = tpl_hash_new();
    tpl_hash_set(&resp, "test_data", 9, tpl_int(1));
    tpl_hash_set(vars, "response", 8, resp);
    bind_constants(vars);
}
