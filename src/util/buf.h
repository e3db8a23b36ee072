/*
 * buf.h — a growable byte buffer that always carries a maximum size.
 *
 * Invariants: b->data is never NULL after buf_init() and is always
 * NUL-terminated (the terminator is not counted in len), so the contents can
 * be used as a C string when no NUL bytes were appended. Appending past max
 * fails with ERR_LIMIT and leaves the buffer unchanged.
 */
#ifndef BILLD_BUF_H
#define BILLD_BUF_H

#include "../common.h"

#include <stdarg.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* 0 = no limit (only for program-built data, never input) */
};

/* Prepares an empty buffer that may grow up to max bytes (0 = unlimited). */
void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buffer must be buf_init()ed again before reuse. */
void buf_free(struct buf *b);
/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);
/* Appends n bytes. Returns 0 or ERR_LIMIT. */
int buf_append(struct buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string. Returns 0 or ERR_LIMIT. */
int buf_puts(struct buf *b, const char *s);
/* Appends one byte. Returns 0 or ERR_LIMIT. */
int buf_putc(struct buf *b, char c);
/* Appends printf-formatted text. Returns 0 or ERR_LIMIT. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/*
 * Returns the contents as an owned string (caller frees). b is left released,
 * as after buf_free(): buf_init() it again before reuse.
 */
char *buf_detach(struct buf *b, size_t *len);

#endif
