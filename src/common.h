/*
 * common.h — the first include of every billd .c file.
 *
 * Feature macros, the banned-function list, allocation helpers that abort on
 * out-of-memory (billd is a server under a supervisor: an OOM is fatal, while
 * every size an outsider controls is capped before allocating), and the one
 * project-wide error enum shared by the DB layer, the HTTP layer and handlers.
 */
#ifndef BILLD_COMMON_H
#define BILLD_COMMON_H

#define _GNU_SOURCE 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Project-wide status codes: 0 is success, failures are negative. */
enum err_code {
    ERR_OK = 0,
    ERR_NOMEM = -1,
    ERR_INVALID = -2,    /* bad input: maps to HTTP 400 */
    ERR_NOT_FOUND = -3,  /* maps to 404 */
    ERR_CONFLICT = -4,   /* unique violation and the like: 409 / 400 */
    ERR_BUSY = -5,       /* lock not obtained in time: 408 */
    ERR_TIMEOUT = -6,
    ERR_IO = -7,         /* database or network failure: 503 */
    ERR_DENIED = -8,     /* 403 */
    ERR_AUTH = -9,       /* 401 */
    ERR_LIMIT = -10,     /* a size or rate limit: 413 / 429 */
    ERR_INTERNAL = -11,  /* a bug or an unexpected engine state: 500 */
};

/*
 * An error with a stable code, an HTTP status (0 = derive from code) and a
 * message that is safe to show a client. Detail meant only for the log
 * (SQL text, engine messages) goes to log_*() at the point of failure.
 */
struct err {
    int code;
    int status;
    char msg[256];
};

/* Fills e (if not NULL) and returns code, so callers can `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_set but also fixes the HTTP status the API layer will answer with. */
int err_set_status(struct err *e, int code, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Resets e to ERR_OK with an empty message. */
void err_clear(struct err *e);

/* Allocation helpers: never return NULL; abort the process on OOM. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns an owned printf-formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED(x) ((void)(x))

#include "banned.h"

#endif
