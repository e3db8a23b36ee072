/*
 * log.c — logfmt lines on stderr (see log.h).
 */
#include "log.h"
#include "buf.h"

#include <stdarg.h>
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
    snprintf(request_id, sizeof(request_id), "%s", id ? id : "");
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

void log_write(enum log_level lvl, const char *msg, const char *kvfmt, ...)
{
    if (!log_enabled(lvl))
        return;
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);

    char q[512];
    struct buf b;
    buf_init(&b, 8192);
    buf_printf(&b, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s", tm.tm_year + 1900,
               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
               (int)(tv.tv_usec / 1000), level_names[lvl]);
    if (request_id[0])
        buf_printf(&b, " req=%s", request_id);
    buf_printf(&b, " msg=%s", log_q(q, sizeof(q), msg));
    if (kvfmt && *kvfmt) {
        va_list ap;
        va_start(ap, kvfmt);
        buf_putc(&b, ' ');
        buf_vprintf(&b, kvfmt, ap);
        va_end(ap);
    }
    if (buf_putc(&b, '\n')) {
        b.data[b.len - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, b.data, b.len);
    (void)w;
    buf_free(&b);
}
