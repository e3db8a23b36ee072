/*
 * log.c — logfmt lines on stderr (see log.h).
 */
#include "log.h"
#include "buf.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static _Thread_local char request_id[40];

static const char *level_names[] = { "debug", "info", "warn", "error", "off" };

void log_set_level(enum log_level lvl)
{
    min_level = lvl;
}

int log_parse_level(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return ERR_INVALID;
}

bool log_enabled(enum log_level lvl)
{
    return lvl >= min_level && lvl != LOG_OFF;
}

void log_set_request_id(const char *id)
{
    size_t n = id ? strnlen(id, sizeof(request_id) - 1) : 0;
    memcpy(request_id, id ? id : "", n);
    request_id[n] = '\0';
}

const char *log_request_id(void)
{
    return request_id;
}

const char *log_q(char *out, size_t outlen, const char *s)
{
    size_t o = 0;
    if (outlen < 3) {
        if (outlen)
            out[0] = '\0';
        return out;
    }
    out[o++] = '"';
    for (; s && *s && o + 3 < outlen; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* Writes n as exactly width decimal digits (zero-padded) at p; returns the end. */
static char *put_digits(char *p, unsigned long n, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + n % 10);
        n /= 10;
    }
    return p + width;
}

/* Starts line b: "ts=… level=L[ req=ID] msg=MSG". The date part is formatted once per second. */
static void line_start(struct buf *b, enum log_level lvl, const char *msg)
{
    static _Thread_local time_t date_sec = -1;
    static _Thread_local char date[64];
    struct timeval tv;
    char q[512], ms[5];
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != date_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        snprintf(date, sizeof(date), "ts=%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        date_sec = tv.tv_sec;
    }
    buf_init(b, 8192);
    buf_puts(b, date);
    *put_digits(ms, (unsigned long)(tv.tv_usec / 1000), 3) = '\0';
    buf_puts(b, ms);
    buf_puts(b, "Z level=");
    buf_puts(b, level_names[lvl]);
    if (request_id[0]) {
        buf_puts(b, " req=");
        buf_puts(b, request_id);
    }
    buf_puts(b, " msg=");
    buf_puts(b, log_q(q, sizeof(q), msg));
}

/* Ends line b with a newline (replacing its last byte when at the cap) and writes it. */
static void line_end(struct buf *b)
{
    if (buf_putc(b, '\n')) {
        b->data[b->len - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, b->data, b->len);
    (void)w;
    buf_free(b);
}

void log_write(enum log_level lvl, const char *msg, const char *kvfmt, ...)
{
    if (!log_enabled(lvl))
        return;
    struct buf b;
    line_start(&b, lvl, msg);
    if (kvfmt && *kvfmt) {
        va_list ap;
        va_start(ap, kvfmt);
        buf_putc(&b, ' ');
        buf_vprintf(&b, kvfmt, ap);
        va_end(ap);
    }
    line_end(&b);
}

/* Writes v in decimal so that it ends just before end; returns its first character. */
static char *put_u64_before(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

void log_request(const char *method, const char *qpath, int status, const char *ip,
                 int64_t ns, bool aborted)
{
    if (!log_enabled(LOG_INFO))
        return;
    struct buf b;
    char st[16], ms[32];
    uint64_t us = ns > 0 ? ((uint64_t)ns + 500) / 1000 : 0; /* ms with 3 decimals */
    char *p = ms + sizeof(ms) - 1;
    *p = '\0';
    p = put_digits(p - 3, (unsigned long)(us % 1000), 3) - 3;
    *--p = '.';
    p = put_u64_before(p, us / 1000);
    const char *sp = st;
    st[sizeof(st) - 1] = '\0';
    if (status >= 0)
        sp = put_u64_before(st + sizeof(st) - 1, (uint64_t)status);
    else
        snprintf(st, sizeof(st), "%d", status);
    line_start(&b, LOG_INFO, "request");
    buf_puts(&b, " method=");
    buf_puts(&b, method);
    buf_puts(&b, " path=");
    buf_puts(&b, qpath);
    buf_puts(&b, " status=");
    buf_puts(&b, sp);
    buf_puts(&b, " ip=");
    buf_puts(&b, ip);
    buf_puts(&b, " ms=");
    buf_puts(&b, p);
    if (aborted)
        buf_puts(&b, " aborted=1");
    line_end(&b);
}
