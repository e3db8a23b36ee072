/*
 * jsonout.c — the API's JSON writer (see jsonout.h). jansson's json_dumps
 * checks every container for reference loops through a hash table keyed by
 * its printed address and formats integers with snprintf; for a price list of
 * 20 services that was 40 % of the request. This writer does neither: the
 * response trees billd builds are never cyclic, and nesting deeper than
 * MAX_DEPTH (where a cycle would lead) is handed to jansson, which fails on a
 * cycle exactly as before.
 */
#include "jsonout.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
/* Objects with at most this many keys sort on the stack. */
#define STACK_KEYS 32

struct key_len {
    const char *key;
    size_t len;
};

/* Returned by the writers when the whole document must go to jansson. */
#define FALLBACK 1
/* Returned when jansson would fail (json_dumps returns NULL). */
#define FAILED 2

static int compare_keys(const void *a, const void *b)
{
    const struct key_len *k1 = a, *k2 = b;
    size_t n = k1->len < k2->len ? k1->len : k2->len;
    int res = memcmp(k1->key, k2->key, n);
    if (res)
        return res;
    return k1->len < k2->len ? -1 : k1->len > k2->len;
}

static bool plain_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/* s (ASCII only) quoted and escaped as jansson does. */
static void put_ascii_string(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t start = 0;
    buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': buf_puts(b, "\\\""); break;
        case '\\': buf_puts(b, "\\\\"); break;
        case '\b': buf_puts(b, "\\b"); break;
        case '\f': buf_puts(b, "\\f"); break;
        case '\n': buf_puts(b, "\\n"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\t': buf_puts(b, "\\t"); break;
        default: {
            char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0' };
            buf_puts(b, u);
        }
        }
    }
    buf_append(b, s + start, len - start);
    buf_putc(b, '"');
}

static void put_integer(struct buf *b, json_int_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* A scalar jansson writes itself (reals, non-ASCII strings). */
static int put_by_jansson(struct buf *b, const json_t *v, int precision)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision));
    if (!s)
        return FAILED;
    buf_puts(b, s);
    free(s);
    return 0;
}

static int put_value(struct buf *b, const json_t *v, int precision, int depth);

static int put_array(struct buf *b, const json_t *v, int precision, int depth)
{
    int rc = 0;
    buf_putc(b, '[');
    for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
        if (i)
            buf_putc(b, ',');
        rc = put_value(b, json_array_get(v, i), precision, depth + 1);
    }
    buf_putc(b, ']');
    return rc;
}

static int put_members(struct buf *b, const json_t *v, struct key_len *keys, int precision,
                       int depth)
{
    size_t n = 0;
    void *it;
    for (it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
        keys[n].key = json_object_iter_key(it);
        keys[n].len = json_object_iter_key_len(it);
        if (!plain_ascii(keys[n].key, keys[n].len))
            return FALLBACK;
        n++;
    }
    qsort(keys, n, sizeof(*keys), compare_keys);
    int rc = 0;
    buf_putc(b, '{');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            buf_putc(b, ',');
        put_ascii_string(b, keys[i].key, keys[i].len);
        buf_putc(b, ':');
        rc = put_value(b, json_object_getn(v, keys[i].key, keys[i].len), precision, depth + 1);
    }
    buf_putc(b, '}');
    return rc;
}

static int put_object(struct buf *b, const json_t *v, int precision, int depth)
{
    struct key_len stack[STACK_KEYS];
    size_t n = json_object_size(v);
    struct key_len *keys = n <= STACK_KEYS ? stack : xmalloc(n * sizeof(*keys));
    int rc = put_members(b, v, keys, precision, depth);
    if (keys != stack)
        free(keys);
    return rc;
}

static int put_value(struct buf *b, const json_t *v, int precision, int depth)
{
    if (!v)
        return FAILED;
    if (depth > MAX_DEPTH)
        return FALLBACK;
    switch (json_typeof(v)) {
    case JSON_NULL: buf_puts(b, "null"); return 0;
    case JSON_TRUE: buf_puts(b, "true"); return 0;
    case JSON_FALSE: buf_puts(b, "false"); return 0;
    case JSON_INTEGER: put_integer(b, json_integer_value(v)); return 0;
    case JSON_STRING:
        if (!plain_ascii(json_string_value(v), json_string_length(v)))
            return put_by_jansson(b, v, precision);
        put_ascii_string(b, json_string_value(v), json_string_length(v));
        return 0;
    case JSON_ARRAY: return put_array(b, v, precision, depth);
    case JSON_OBJECT: return put_object(b, v, precision, depth);
    default: return put_by_jansson(b, v, precision);
    }
}

char *jsonout_dumps(const json_t *v, int precision)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = put_value(&b, v, precision, 0);
    if (rc == 0)
        return buf_detach(&b, NULL);
    buf_free(&b);
    if (rc == FAILED)
        return NULL;
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                             JSON_REAL_PRECISION(precision));
}
