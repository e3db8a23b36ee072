/*
 * log.h — one logfmt line per event on stderr, written with a single write(2)
 * so lines from concurrent threads never interleave:
 *
 *   ts=2026-11-28T10:00:00.123Z level=info req=7f3a msg="request" method=GET ...
 *
 * The request id is per thread (set by the HTTP layer for the duration of a
 * request, later by spool workers for a task).
 */
#ifndef BILLD_LOG_H
#define BILLD_LOG_H

#include "../common.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* Sets the minimum level written. */
void log_set_level(enum log_level lvl);
/* Parses "debug", "info", "warn"/"warning", "error", "off" (any case). Returns 0 or ERR_INVALID. */
int log_parse_level(const char *s, enum log_level *out);
bool log_enabled(enum log_level lvl);
/* Sets (or with NULL clears) this thread's request id; the string is copied. */
void log_set_request_id(const char *id);
const char *log_request_id(void);

/*
 * Writes one line: msg is quoted and escaped; kvfmt (may be NULL) is a printf
 * format producing the trailing `key=value ...` pairs. Use log_q() for values
 * that may contain spaces or quotes.
 */
void log_write(enum log_level lvl, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The access-log line of one request, the same as log_write(LOG_INFO, "request",
 * "method=%s path=%s status=%d ip=%s ms=%.3f%s", …) (ms rounded to the microsecond,
 * " aborted=1" when aborted) without printf. qpath is already quoted (log_q).
 */
void log_request(const char *method, const char *qpath, int status, const char *ip,
                 int64_t ns, bool aborted);

/*
 * Quotes s for a logfmt value into out (always NUL-terminated, truncated to
 * outlen) and returns out.
 */
const char *log_q(char *out, size_t outlen, const char *s);

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
