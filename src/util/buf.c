/*
 * buf.c — growable, capped byte buffers (see buf.h).
 */
#include "buf.h"

void buf_init(struct buf *b, size_t max)
{
    b->cap = 64;
    b->data = xmalloc(b->cap);
    b->data[0] = '\0';
    b->len = 0;
    b->max = max;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->data[0] = '\0';
}

static int buf_grow(struct buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return ERR_LIMIT;
    size_t need = b->len + extra;
    if (b->max && need > b->max)
        return ERR_LIMIT;
    if (need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap;
    while (cap < need + 1)
        cap = cap < SIZE_MAX / 2 ? cap * 2 : need + 1;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (buf_grow(b, n))
        return ERR_LIMIT;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

/* Formats into the free space first; a second pass only when that was too small. */
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    size_t room = b->data ? b->cap - b->len : 0;
    va_copy(cp, ap);
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, cp);
    va_end(cp);
    if (n >= 0 && (size_t)n < room && !(b->max && b->len + (size_t)n > b->max)) {
        b->len += (size_t)n;
        return 0;
    }
    if (room)
        b->data[b->len] = '\0';
    if (n < 0)
        return ERR_INVALID;
    if (buf_grow(b, (size_t)n))
        return ERR_LIMIT;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
