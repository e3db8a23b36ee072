/*
 * tpl_value.c — the template value model (see tpl_value.h): refcounted
 * strings, lists, insertion-ordered hashes with a seeded SipHash index,
 * host objects and functions, Perl-style conversions, JSON conversion, and
 * a per-thread cycle collector (trial deletion, as CPython's gc module).
 *
 * Invariants: every list, hash, object and function is linked in this
 * thread's registry while alive; freeing is iterative (a pending stack), so
 * dropping a 100 000-deep nested list does not recurse; mem_live counts the
 * bytes held by live values, for the render's memory limit.
 */
#include "../common.h"
#include "tpl_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sys/random.h>

/* ---------------------------------------------------------------- memory */

static _Thread_local size_t mem_live;
static _Thread_local struct tpl_gc gc_head;
static _Thread_local uint64_t gc_seq;
#define PEND_SMALL 64
static _Thread_local struct tpl_gc *pend_small[PEND_SMALL];
static _Thread_local struct tpl_gc **pend; /* pend_small, or a heap array while draining deep data */
static _Thread_local size_t npend, cappend;
static _Thread_local bool draining;

size_t tpl_mem_live(void)
{
    return mem_live;
}

static void mem_add(size_t n)
{
    mem_live += n;
}

static void mem_sub(size_t n)
{
    mem_live = n > mem_live ? 0 : mem_live - n;
}

uint64_t tpl_gc_next_id(void)
{
    return ++gc_seq;
}

static void gc_link(struct tpl_gc *g, enum tpl_type kind)
{
    if (!gc_head.next)
        gc_head.next = gc_head.prev = &gc_head;
    g->refs = 1;
    g->kind = (uint8_t)kind;
    g->mark = 0;
    g->gc_refs = 0;
    g->id = tpl_gc_next_id();
    g->next = &gc_head;
    g->prev = gc_head.prev;
    gc_head.prev->next = g;
    gc_head.prev = g;
}

static void gc_unlink(struct tpl_gc *g)
{
    g->prev->next = g->next;
    g->next->prev = g->prev;
}

/* ---------------------------------------------------------------- strings */

static struct tpl_str *str_alloc(size_t len)
{
    struct tpl_str *s = xmalloc(sizeof(*s) + len + 1);
    s->refs = 1;
    s->len = len;
    s->data[len] = '\0';
    mem_add(sizeof(*s) + len + 1);
    return s;
}

static void str_unref(struct tpl_str *s)
{
    if (s->refs == TPL_STR_IMMORTAL)
        return;
    if (--s->refs == 0) {
        mem_sub(sizeof(*s) + s->len + 1);
        free(s);
    }
}

size_t tpl_str_static_size(size_t len)
{
    return sizeof(struct tpl_str) + len + 1;
}

struct tpl_str *tpl_str_init_static(void *mem, const char *s, size_t len)
{
    struct tpl_str *str = mem;
    str->refs = TPL_STR_IMMORTAL;
    str->len = len;
    if (len)
        memcpy(str->data, s, len);
    str->data[len] = '\0';
    return str;
}

struct tpl_value tpl_str(const char *s, size_t len)
{
    struct tpl_value v = {.type = TPL_STR};
    v.u.s = str_alloc(len);
    if (len)
        memcpy(v.u.s->data, s, len);
    return v;
}

struct tpl_value tpl_str_new(size_t len)
{
    struct tpl_value v = {.type = TPL_STR};
    v.u.s = str_alloc(len);
    return v;
}

struct tpl_value tpl_cstr(const char *s)
{
    return tpl_str(s, strlen(s));
}

struct tpl_value tpl_str_from_buf(struct buf *b)
{
    struct tpl_value v = tpl_str(b->data, b->len);
    buf_free(b);
    return v;
}

const char *tpl_str_data(const struct tpl_value *v, size_t *len)
{
    if (v->type != TPL_STR) {
        if (len)
            *len = 0;
        return "";
    }
    if (len)
        *len = v->u.s->len;
    return v->u.s->data;
}

/* ---------------------------------------------------------------- scalars */

struct tpl_value tpl_bool(bool b)
{
    struct tpl_value v = {.type = TPL_BOOL};
    v.u.b = b;
    return v;
}

struct tpl_value tpl_int(int64_t i)
{
    struct tpl_value v = {.type = TPL_INT};
    v.u.i = i;
    return v;
}

struct tpl_value tpl_num(double d)
{
    struct tpl_value v = {.type = TPL_NUM};
    v.u.n = d;
    return v;
}

/* ---------------------------------------------------------------- containers */

struct tpl_value tpl_list_new(void)
{
    struct tpl_list *l = xcalloc(1, sizeof(*l));
    gc_link(&l->gc, TPL_LIST);
    mem_add(sizeof(*l));
    struct tpl_value v = {.type = TPL_LIST};
    v.u.l = l;
    return v;
}

struct tpl_value tpl_hash_new(void)
{
    struct tpl_hash *h = xcalloc(1, sizeof(*h));
    gc_link(&h->gc, TPL_HASH);
    mem_add(sizeof(*h));
    struct tpl_value v = {.type = TPL_HASH};
    v.u.h = h;
    return v;
}

static struct tpl_obj *obj_alloc(enum tpl_type kind)
{
    struct tpl_obj *o = xcalloc(1, sizeof(*o));
    gc_link(&o->gc, kind);
    mem_add(sizeof(*o));
    return o;
}

struct tpl_value tpl_object_new(const struct tpl_object_ops *ops, void *self)
{
    struct tpl_obj *o = obj_alloc(TPL_OBJ);
    o->ops = ops;
    o->self = self;
    struct tpl_value v = {.type = TPL_OBJ};
    v.u.o = o;
    return v;
}

struct tpl_value tpl_func_new(tpl_func_fn fn, void *self, void (*free_self)(void *self))
{
    struct tpl_obj *o = obj_alloc(TPL_FUNC);
    o->fn = fn;
    o->self = self;
    o->free_self = free_self;
    struct tpl_value v = {.type = TPL_FUNC};
    v.u.o = o;
    return v;
}

void *tpl_object_self(const struct tpl_value *v)
{
    return (v->type == TPL_OBJ || v->type == TPL_FUNC) ? v->u.o->self : NULL;
}

const struct tpl_object_ops *tpl_object_ops(const struct tpl_value *v)
{
    return v->type == TPL_OBJ ? v->u.o->ops : NULL;
}

/* The collected header of v, or NULL for scalars and strings. */
static struct tpl_gc *value_gc(const struct tpl_value *v)
{
    switch (v->type) {
    case TPL_LIST:
        return &v->u.l->gc;
    case TPL_HASH:
        return &v->u.h->gc;
    case TPL_OBJ:
    case TPL_FUNC:
        return &v->u.o->gc;
    default:
        return NULL;
    }
}

/* ---------------------------------------------------------------- references */

struct tpl_value tpl_value_ref(const struct tpl_value *v)
{
    struct tpl_gc *g = value_gc(v);
    if (g)
        g->refs++;
    else if (v->type == TPL_STR && v->u.s->refs != TPL_STR_IMMORTAL)
        v->u.s->refs++;
    return *v;
}

/* Calls fn on every value slot held by g. */
static void gc_children(struct tpl_gc *g, void (*fn)(struct tpl_value *slot, void *arg),
                        void *arg)
{
    if (g->kind == TPL_LIST) {
        struct tpl_list *l = (struct tpl_list *)g;
        for (size_t i = 0; i < l->len; i++)
            fn(&l->items[i], arg);
    } else if (g->kind == TPL_HASH) {
        struct tpl_hash *h = (struct tpl_hash *)g;
        for (size_t i = 0; i < h->nents; i++)
            if (h->ents[i].key)
                fn(&h->ents[i].val, arg);
    } else if (g->kind == TPL_OBJ) {
        struct tpl_obj *o = (struct tpl_obj *)g;
        if (o->ops && o->ops->visit)
            o->ops->visit(o->self, fn, arg);
    }
}

static void drop_slot(struct tpl_value *slot, void *arg)
{
    UNUSED(arg);
    tpl_value_drop(slot);
}

/* Frees g, whose count reached zero; its children are dropped (queued). */
static void gc_free(struct tpl_gc *g)
{
    gc_unlink(g);
    if (g->kind == TPL_LIST) {
        struct tpl_list *l = (struct tpl_list *)g;
        gc_children(g, drop_slot, NULL);
        mem_sub(sizeof(*l) + l->cap * sizeof(struct tpl_value));
        free(l->items);
        free(l);
    } else if (g->kind == TPL_HASH) {
        struct tpl_hash *h = (struct tpl_hash *)g;
        for (size_t i = 0; i < h->nents; i++) {
            if (h->ents[i].key) {
                mem_sub(h->ents[i].klen + 1);
                free(h->ents[i].key);
                tpl_value_drop(&h->ents[i].val);
            }
        }
        mem_sub(sizeof(*h) + h->cap * sizeof(struct tpl_hent) + h->index_size * 4);
        free(h->ents);
        free(h->index);
        free(h);
    } else {
        struct tpl_obj *o = (struct tpl_obj *)g;
        if (g->kind == TPL_OBJ && o->ops && o->ops->free)
            o->ops->free(o->self);
        else if (g->kind == TPL_FUNC && o->free_self)
            o->free_self(o->self);
        mem_sub(sizeof(*o));
        free(o);
    }
}

static void gc_unref(struct tpl_gc *g)
{
    if (--g->refs)
        return;
    if (!pend) {
        pend = pend_small;
        cappend = PEND_SMALL;
    }
    if (npend == cappend) {
        struct tpl_gc **p = xmalloc(cappend * 2 * sizeof(*p));
        memcpy(p, pend, npend * sizeof(*p));
        if (pend != pend_small)
            free(pend);
        pend = p;
        cappend *= 2;
    }
    pend[npend++] = g;
    if (draining)
        return;
    draining = true;
    while (npend)
        gc_free(pend[--npend]);
    draining = false;
    if (pend != pend_small) { /* keep no heap memory between drops */
        free(pend);
        pend = pend_small;
        cappend = PEND_SMALL;
    }
}

void tpl_value_drop(struct tpl_value *v)
{
    struct tpl_gc *g = value_gc(v);
    if (g)
        gc_unref(g);
    else if (v->type == TPL_STR)
        str_unref(v->u.s);
    v->type = TPL_UNDEF;
}

/* ---------------------------------------------------------------- lists */

size_t tpl_list_len(const struct tpl_value *list)
{
    return list->type == TPL_LIST ? list->u.l->len : 0;
}

const struct tpl_value *tpl_list_at(const struct tpl_value *list, size_t i)
{
    if (list->type != TPL_LIST || i >= list->u.l->len)
        return NULL;
    return &list->u.l->items[i];
}

void tpl_list_reserve(struct tpl_value *list, size_t n)
{
    struct tpl_list *l = list->u.l;
    if (l->len + n <= l->cap)
        return;
    size_t cap = l->cap ? l->cap : 4;
    while (cap < l->len + n)
        cap *= 2;
    mem_add((cap - l->cap) * sizeof(struct tpl_value));
    l->items = xrealloc(l->items, cap * sizeof(struct tpl_value));
    l->cap = cap;
}

void tpl_list_push(struct tpl_value *list, struct tpl_value v)
{
    tpl_list_reserve(list, 1);
    list->u.l->items[list->u.l->len++] = v;
}

void tpl_list_set(struct tpl_value *list, size_t i, struct tpl_value v)
{
    struct tpl_list *l = list->u.l;
    if (i >= l->len) {
        tpl_list_reserve(list, i + 1 - l->len);
        while (l->len <= i)
            l->items[l->len++] = tpl_undef();
    }
    tpl_value_drop(&l->items[i]);
    l->items[i] = v;
}

struct tpl_value tpl_list_remove(struct tpl_value *list, size_t i)
{
    struct tpl_list *l = list->u.l;
    struct tpl_value v = l->items[i];
    memmove(&l->items[i], &l->items[i + 1], (l->len - i - 1) * sizeof(struct tpl_value));
    l->len--;
    return v;
}

void tpl_list_insert(struct tpl_value *list, size_t i, struct tpl_value v)
{
    tpl_list_reserve(list, 1);
    struct tpl_list *l = list->u.l;
    memmove(&l->items[i + 1], &l->items[i], (l->len - i) * sizeof(struct tpl_value));
    l->items[i] = v;
    l->len++;
}

struct tpl_value tpl_list_copy(const struct tpl_value *list)
{
    struct tpl_value c = tpl_list_new();
    size_t n = tpl_list_len(list);
    tpl_list_reserve(&c, n);
    for (size_t i = 0; i < n; i++)
        c.u.l->items[i] = tpl_value_ref(&list->u.l->items[i]);
    c.u.l->len = n;
    return c;
}

/* ---------------------------------------------------------------- hashes */

static uint64_t sip_k0, sip_k1;
static pthread_once_t sip_once = PTHREAD_ONCE_INIT;

static void sip_seed(void)
{
    uint64_t k[2] = {0x736f6d6570736575ULL, 0x646f72616e646f6dULL};
    if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k))
        k[0] ^= (uint64_t)(uintptr_t)&k;
    sip_k0 = k[0];
    sip_k1 = k[1];
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                 \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                     \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                     \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                 \
    } while (0)

/* SipHash-1-3 of the key with a per-process random seed (hash flooding). */
static uint64_t key_hash(const char *s, size_t n)
{
    pthread_once(&sip_once, sip_seed);
    uint64_t v0 = 0x736f6d6570736575ULL ^ sip_k0, v1 = 0x646f72616e646f6dULL ^ sip_k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ sip_k0, v3 = 0x7465646279746573ULL ^ sip_k1;
    const unsigned char *p = (const unsigned char *)s;
    size_t left = n;
    while (left >= 8) {
        uint64_t m;
        memcpy(&m, p, 8);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
        p += 8;
        left -= 8;
    }
    uint64_t b = (uint64_t)n << 56;
    for (size_t i = 0; i < left; i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

#define HASH_SMALL 8

static void hash_index_build(struct tpl_hash *h, size_t size)
{
    mem_sub(h->index_size * 4);
    free(h->index);
    h->index = xcalloc(size, sizeof(uint32_t));
    h->index_size = size;
    mem_add(size * 4);
    for (size_t i = 0; i < h->nents; i++) {
        if (!h->ents[i].key)
            continue;
        size_t j = h->ents[i].hash & (size - 1);
        while (h->index[j])
            j = (j + 1) & (size - 1);
        h->index[j] = (uint32_t)(i + 1);
    }
}

/* Entry number of key, or -1. */
static ptrdiff_t hash_find(const struct tpl_hash *h, const char *key, size_t klen, uint64_t hv)
{
    if (!h->index) {
        for (size_t i = 0; i < h->nents; i++) {
            const struct tpl_hent *en = &h->ents[i];
            if (en->key && en->klen == klen && memcmp(en->key, key, klen) == 0)
                return (ptrdiff_t)i;
        }
        return -1;
    }
    size_t mask = h->index_size - 1;
    for (size_t j = hv & mask; h->index[j]; j = (j + 1) & mask) {
        const struct tpl_hent *en = &h->ents[h->index[j] - 1];
        if (en->key && en->hash == hv && en->klen == klen && memcmp(en->key, key, klen) == 0)
            return (ptrdiff_t)(h->index[j] - 1);
    }
    return -1;
}

/* Drops deleted entries, keeping order. */
static void hash_compact(struct tpl_hash *h)
{
    size_t w = 0;
    for (size_t i = 0; i < h->nents; i++)
        if (h->ents[i].key)
            h->ents[w++] = h->ents[i];
    h->nents = w;
    if (h->index)
        hash_index_build(h, h->index_size);
}

size_t tpl_hash_len(const struct tpl_value *hash)
{
    return hash->type == TPL_HASH ? hash->u.h->live : 0;
}

const struct tpl_value *tpl_hash_get(const struct tpl_value *hash, const char *key, size_t klen)
{
    if (hash->type != TPL_HASH)
        return NULL;
    struct tpl_hash *h = hash->u.h;
    ptrdiff_t i = hash_find(h, key, klen, h->index ? key_hash(key, klen) : 0);
    return i < 0 ? NULL : &h->ents[i].val;
}

void tpl_hash_set(struct tpl_value *hash, const char *key, size_t klen, struct tpl_value v)
{
    struct tpl_hash *h = hash->u.h;
    uint64_t hv = key_hash(key, klen);
    ptrdiff_t i = hash_find(h, key, klen, hv);
    if (i >= 0) {
        struct tpl_value old = h->ents[i].val;
        h->ents[i].val = v;
        tpl_value_drop(&old);
        return;
    }
    if (h->nents == h->cap) {
        if (h->nents > 2 * h->live + 8) {
            hash_compact(h);
        } else {
            size_t cap = h->cap ? h->cap * 2 : 4;
            mem_add((cap - h->cap) * sizeof(struct tpl_hent));
            h->ents = xrealloc(h->ents, cap * sizeof(struct tpl_hent));
            h->cap = cap;
        }
    }
    struct tpl_hent *en = &h->ents[h->nents++];
    en->key = xmalloc(klen + 1);
    memcpy(en->key, key, klen);
    en->key[klen] = '\0';
    en->klen = klen;
    en->hash = hv;
    en->val = v;
    h->live++;
    mem_add(klen + 1);
    if (h->live > HASH_SMALL && (!h->index || h->nents * 2 > h->index_size)) {
        size_t size = 16;
        while (size < h->nents * 4)
            size *= 2;
        hash_index_build(h, size);
    } else if (h->index) {
        size_t mask = h->index_size - 1, j = hv & mask;
        while (h->index[j])
            j = (j + 1) & mask;
        h->index[j] = (uint32_t)h->nents;
    }
}

bool tpl_hash_del(struct tpl_value *hash, const char *key, size_t klen)
{
    if (hash->type != TPL_HASH)
        return false;
    struct tpl_hash *h = hash->u.h;
    ptrdiff_t i = hash_find(h, key, klen, h->index ? key_hash(key, klen) : 0);
    if (i < 0)
        return false;
    struct tpl_hent *en = &h->ents[i];
    struct tpl_value old = en->val;
    mem_sub(en->klen + 1);
    free(en->key);
    en->key = NULL;
    en->val = tpl_undef();
    h->live--;
    tpl_value_drop(&old);
    return true;
}

bool tpl_hash_next(const struct tpl_value *hash, size_t *it, const char **key, size_t *klen,
                   const struct tpl_value **val)
{
    if (hash->type != TPL_HASH)
        return false;
    struct tpl_hash *h = hash->u.h;
    while (*it < h->nents) {
        struct tpl_hent *en = &h->ents[(*it)++];
        if (!en->key)
            continue;
        if (key)
            *key = en->key;
        if (klen)
            *klen = en->klen;
        if (val)
            *val = &en->val;
        return true;
    }
    return false;
}

struct pair_ref {
    const char *key;
    size_t klen;
    const struct tpl_value *val;
};

static int cmp_pair_ref(const void *x, const void *y)
{
    const struct pair_ref *a = x, *b = y;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->key, b->key, n);
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

struct tpl_value tpl_hash_pairs(const struct tpl_value *hash)
{
    size_t n = tpl_hash_len(hash), it = 0, k = 0;
    struct pair_ref *refs = xcalloc(n ? n : 1, sizeof(*refs));
    while (k < n && tpl_hash_next(hash, &it, &refs[k].key, &refs[k].klen, &refs[k].val))
        k++;
    qsort(refs, k, sizeof(*refs), cmp_pair_ref);
    struct tpl_value l = tpl_list_new();
    tpl_list_reserve(&l, k);
    for (size_t i = 0; i < k; i++) {
        struct tpl_value pair = tpl_hash_new();
        tpl_hash_set(&pair, "key", 3, tpl_str(refs[i].key, refs[i].klen));
        tpl_hash_set(&pair, "value", 5, tpl_value_ref(refs[i].val));
        tpl_list_push(&l, pair);
    }
    free(refs);
    return l;
}

/* ---------------------------------------------------------------- numbers */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Matches Inf/Infinity/NaN (any case) at s; returns the length or 0. */
static size_t special_len(const char *s, size_t n, double *d)
{
    if (n >= 8 && strncasecmp(s, "infinity", 8) == 0) {
        *d = INFINITY;
        return 8;
    }
    if (n >= 3 && strncasecmp(s, "inf", 3) == 0) {
        *d = INFINITY;
        return 3;
    }
    if (n >= 3 && strncasecmp(s, "nan", 3) == 0) {
        *d = NAN;
        return 3;
    }
    return 0;
}

/*
 * Scans a decimal number at s[0..n): returns the length of the numeric
 * prefix (0 = none) and whether it is a plain integer.
 */
static size_t scan_number(const char *s, size_t n, bool *plain)
{
    size_t i = 0, digits = 0;
    *plain = true;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && is_digit(s[i])) {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        size_t j = i + 1, frac = 0;
        while (j < n && is_digit(s[j])) {
            j++;
            frac++;
        }
        if (digits || frac) {
            *plain = false;
            digits += frac;
            i = j;
        }
    }
    if (!digits)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < n && is_digit(s[j])) {
            while (j < n && is_digit(s[j]))
                j++;
            *plain = false;
            i = j;
        }
    }
    return i;
}

void tpl_num_parse(const char *s, size_t len, bool *is_int, int64_t *i, double *d)
{
    size_t p = 0;
    *is_int = true;
    *i = 0;
    *d = 0;
    while (p < len && is_space(s[p]))
        p++;
    const char *q = s + p;
    size_t n = len - p;
    bool neg = n && q[0] == '-';
    size_t sign = (n && (q[0] == '-' || q[0] == '+')) ? 1 : 0;
    double sd;
    if (special_len(q + sign, n - sign, &sd)) {
        *is_int = false;
        *d = neg ? -sd : sd;
        return;
    }
    bool plain;
    size_t m = scan_number(q, n, &plain);
    if (!m)
        return;
    char tmp[128];
    char *c = m < sizeof(tmp) ? tmp : xmalloc(m + 1);
    memcpy(c, q, m);
    c[m] = '\0';
    if (plain) {
        errno = 0;
        char *end;
        long long v = strtoll(c, &end, 10);
        if (errno == 0 && *end == '\0') {
            *i = v;
            if (c != tmp)
                free(c);
            return;
        }
    }
    *is_int = false;
    *d = strtod(c, NULL);
    if (c != tmp)
        free(c);
}

bool tpl_looks_like_number(const char *s, size_t len)
{
    size_t p = 0;
    while (p < len && is_space(s[p]))
        p++;
    if (p == len)
        return false;
    size_t sign = (s[p] == '-' || s[p] == '+') ? 1 : 0;
    double d;
    size_t sl = special_len(s + p + sign, len - p - sign, &d);
    bool plain;
    size_t m = sl ? sign + sl : scan_number(s + p, len - p, &plain);
    if (!m)
        return false;
    p += m;
    while (p < len && is_space(s[p]))
        p++;
    return p == len;
}

size_t tpl_num_format(double d, char *out)
{
    if (isnan(d))
        return (size_t)snprintf(out, 32, "NaN");
    if (isinf(d))
        return (size_t)snprintf(out, 32, d < 0 ? "-Inf" : "Inf");
    if (d == 0)
        return (size_t)snprintf(out, 32, "0");
    return (size_t)snprintf(out, 32, "%.15g", d);
}

void tpl_value_number(const struct tpl_value *v, bool *is_int, int64_t *i, double *d)
{
    *is_int = true;
    *i = 0;
    *d = 0;
    switch (v->type) {
    case TPL_BOOL:
        *i = v->u.b;
        break;
    case TPL_INT:
        *i = v->u.i;
        break;
    case TPL_NUM:
        *is_int = false;
        *d = v->u.n;
        break;
    case TPL_STR:
        tpl_num_parse(v->u.s->data, v->u.s->len, is_int, i, d);
        break;
    case TPL_LIST:
    case TPL_HASH:
    case TPL_OBJ:
    case TPL_FUNC:
        /* Perl numifies a reference to its address; any stable number will do */
        *i = (int64_t)value_gc(v)->id;
        break;
    default:
        break;
    }
}

double tpl_value_double(const struct tpl_value *v)
{
    bool is_int;
    int64_t i;
    double d;
    tpl_value_number(v, &is_int, &i, &d);
    return is_int ? (double)i : d;
}

/* ---------------------------------------------------------------- truth and text */

bool tpl_value_defined(const struct tpl_value *v)
{
    return v->type != TPL_UNDEF;
}

bool tpl_value_truth(const struct tpl_value *v)
{
    switch (v->type) {
    case TPL_UNDEF:
        return false;
    case TPL_BOOL:
        return v->u.b;
    case TPL_INT:
        return v->u.i != 0;
    case TPL_NUM:
        return v->u.n != 0;
    case TPL_STR:
        return !(v->u.s->len == 0 || (v->u.s->len == 1 && v->u.s->data[0] == '0'));
    default:
        return true;
    }
}

int tpl_value_print(const struct tpl_value *v, struct buf *b)
{
    char tmp[48];
    switch (v->type) {
    case TPL_UNDEF:
        return 0;
    case TPL_BOOL:
        return buf_putc(b, v->u.b ? '1' : '0');
    case TPL_INT:
        return buf_printf(b, "%lld", (long long)v->u.i);
    case TPL_NUM:
        return buf_append(b, tmp, tpl_num_format(v->u.n, tmp));
    case TPL_STR:
        return buf_append(b, v->u.s->data, v->u.s->len);
    case TPL_LIST:
        return buf_printf(b, "ARRAY(0x%llx)", (unsigned long long)v->u.l->gc.id);
    case TPL_HASH:
        return buf_printf(b, "HASH(0x%llx)", (unsigned long long)v->u.h->gc.id);
    case TPL_FUNC:
        return buf_printf(b, "CODE(0x%llx)", (unsigned long long)v->u.o->gc.id);
    case TPL_OBJ:
        if (v->u.o->ops && v->u.o->ops->to_string)
            return v->u.o->ops->to_string(v->u.o->self, b);
        return buf_puts(b, v->u.o->ops && v->u.o->ops->type_name ? v->u.o->ops->type_name
                                                                  : "OBJECT");
    }
    return 0;
}

void sv_get(struct tpl_sv *sv, const struct tpl_value *v)
{
    sv->owned = false;
    switch (v->type) {
    case TPL_UNDEF:
        sv->p = "";
        sv->n = 0;
        return;
    case TPL_STR:
        sv->p = v->u.s->data;
        sv->n = v->u.s->len;
        return;
    case TPL_BOOL:
        sv->tmp[0] = v->u.b ? '1' : '0';
        sv->tmp[1] = '\0';
        sv->p = sv->tmp;
        sv->n = 1;
        return;
    case TPL_INT:
        sv->n = (size_t)snprintf(sv->tmp, sizeof(sv->tmp), "%lld", (long long)v->u.i);
        sv->p = sv->tmp;
        return;
    case TPL_NUM:
        sv->n = tpl_num_format(v->u.n, sv->tmp);
        sv->p = sv->tmp;
        return;
    default:
        buf_init(&sv->own, 0);
        tpl_value_print(v, &sv->own);
        sv->owned = true;
        sv->p = sv->own.data;
        sv->n = sv->own.len;
        return;
    }
}

void sv_done(struct tpl_sv *sv)
{
    if (sv->owned)
        buf_free(&sv->own);
    sv->owned = false;
}

struct tpl_value tpl_value_perl_list(struct tpl_value list)
{
    if (list.type != TPL_LIST || list.u.l->len > 1)
        return list;
    struct tpl_value r = list.u.l->len ? tpl_value_ref(&list.u.l->items[0]) : tpl_undef();
    tpl_value_drop(&list);
    return r;
}

/* ---------------------------------------------------------------- JSON */

struct tpl_value tpl_value_from_json(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        struct tpl_value h = tpl_hash_new();
        const char *k;
        size_t klen;
        json_t *x;
        void *tmp;
        json_object_keylen_foreach_safe((json_t *)j, tmp, k, klen, x)
            tpl_hash_set(&h, k, klen, tpl_value_from_json(x));
        return h;
    }
    case JSON_ARRAY: {
        struct tpl_value l = tpl_list_new();
        size_t i;
        json_t *x;
        tpl_list_reserve(&l, json_array_size(j));
        json_array_foreach(j, i, x)
            tpl_list_push(&l, tpl_value_from_json(x));
        return l;
    }
    case JSON_STRING:
        return tpl_str(json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return tpl_int((int64_t)json_integer_value(j));
    case JSON_REAL:
        return tpl_num(json_real_value(j));
    case JSON_TRUE:
        return tpl_bool(true);
    case JSON_FALSE:
        return tpl_bool(false);
    default:
        return tpl_undef();
    }
}

/* Copies s to b replacing invalid UTF-8 and NUL bytes with U+FFFD. */
static void utf8_sanitize(const char *s, size_t n, struct buf *b)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len && c != 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = (p[i + k] & 0xC0) == 0x80;
        if (ok && len == 2)
            ok = c >= 0xC2;
        if (ok && len == 3) {
            unsigned cp = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
            ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
        }
        if (ok && len == 4) {
            unsigned cp = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12);
            ok = cp >= 0x10000 && cp <= 0x10FFFF;
        }
        if (ok) {
            buf_append(b, s + i, len);
            i += len;
        } else {
            buf_append(b, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
}

static json_t *json_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    struct buf b;
    buf_init(&b, 0);
    utf8_sanitize(s, n, &b);
    j = json_stringn(b.data, b.len);
    buf_free(&b);
    return j ? j : json_string("");
}

static int to_json(const struct tpl_value *v, int depth, json_t **out, struct err *e);

static int list_to_json(const struct tpl_value *v, int depth, json_t **out, struct err *e)
{
    json_t *a = json_array();
    for (size_t i = 0; i < v->u.l->len; i++) {
        json_t *x;
        if (to_json(&v->u.l->items[i], depth + 1, &x, e)) {
            json_decref(a);
            return ERR_LIMIT;
        }
        json_array_append_new(a, x);
    }
    *out = a;
    return 0;
}

static int hash_to_json(const struct tpl_value *v, int depth, json_t **out, struct err *e)
{
    json_t *o = json_object();
    size_t it = 0, klen;
    const char *k;
    const struct tpl_value *x;
    while (tpl_hash_next(v, &it, &k, &klen, &x)) {
        json_t *jx;
        if (to_json(x, depth + 1, &jx, e)) {
            json_decref(o);
            return ERR_LIMIT;
        }
        struct buf b;
        buf_init(&b, 0);
        utf8_sanitize(k, klen, &b);
        json_object_setn_new(o, b.data, b.len, jx);
        buf_free(&b);
    }
    *out = o;
    return 0;
}

static int to_json(const struct tpl_value *v, int depth, json_t **out, struct err *e)
{
    if (depth > 256)
        return err_set(e, ERR_LIMIT, "data nested too deeply (or circular) for JSON");
    switch (v->type) {
    case TPL_BOOL:
        *out = json_boolean(v->u.b);
        return 0;
    case TPL_INT:
        *out = json_integer((json_int_t)v->u.i);
        return 0;
    case TPL_NUM:
        if (isnan(v->u.n) || isinf(v->u.n))
            *out = json_null();
        else if (v->u.n == floor(v->u.n) && fabs(v->u.n) < 9e15)
            *out = json_integer((json_int_t)v->u.n);
        else
            *out = json_real(v->u.n);
        return 0;
    case TPL_STR:
        *out = json_text(v->u.s->data, v->u.s->len);
        return 0;
    case TPL_LIST:
        return list_to_json(v, depth, out, e);
    case TPL_HASH:
        return hash_to_json(v, depth, out, e);
    case TPL_OBJ: {
        struct buf b;
        buf_init(&b, 0);
        tpl_value_print(v, &b);
        *out = json_text(b.data, b.len);
        buf_free(&b);
        return 0;
    }
    default:
        *out = json_null();
        return 0;
    }
}

int tpl_value_to_json(const struct tpl_value *v, json_t **out, struct err *e)
{
    return to_json(v, 0, out, e);
}

/* ---------------------------------------------------------------- arguments */

const struct tpl_value *tpl_args_at(const struct tpl_args *a, size_t i)
{
    return i < a->npos ? &a->pos[i] : NULL;
}

const struct tpl_value *tpl_args_named(const struct tpl_args *a, const char *name)
{
    return a->named ? tpl_hash_get(a->named, name, strlen(name)) : NULL;
}

static bool value_is(const struct tpl_value *v, const char *key, size_t klen)
{
    struct tpl_sv sv;
    sv_get(&sv, v);
    bool eq = sv.n == klen && memcmp(sv.p, key, klen) == 0;
    sv_done(&sv);
    return eq;
}

const struct tpl_value *tpl_args_kv(const struct tpl_args *a, const char *key)
{
    size_t klen = strlen(key);
    const struct tpl_value *found = NULL;
    size_t i = 0;
    while (i < a->npos) {
        const struct tpl_value *x = &a->pos[i];
        if (x->type == TPL_HASH) {
            const struct tpl_value *y = tpl_hash_get(x, key, klen);
            if (y)
                found = y;
            i++;
            continue;
        }
        if (i + 1 < a->npos && value_is(x, key, klen))
            found = &a->pos[i + 1];
        i += 2;
    }
    const struct tpl_value *n = tpl_args_named(a, key);
    return n ? n : found;
}

/* ---------------------------------------------------------------- cycle collector */

static void gc_sub_internal(struct tpl_value *slot, void *arg)
{
    UNUSED(arg);
    struct tpl_gc *g = value_gc(slot);
    if (g)
        g->gc_refs--;
}

struct gc_stack {
    struct tpl_gc **v;
    size_t n, cap;
};

static void gc_push(struct gc_stack *s, struct tpl_gc *g)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = g;
}

static void gc_mark_child(struct tpl_value *slot, void *arg)
{
    struct tpl_gc *g = value_gc(slot);
    if (g && !g->mark) {
        g->mark = 1;
        gc_push(arg, g);
    }
}

/* Marks everything reachable from values referenced outside the registry. */
static void gc_mark_roots(void)
{
    struct gc_stack st = {0};
    for (struct tpl_gc *g = gc_head.next; g != &gc_head; g = g->next) {
        if (g->gc_refs <= 0 || g->mark)
            continue;
        g->mark = 1;
        gc_push(&st, g);
        while (st.n)
            gc_children(st.v[--st.n], gc_mark_child, &st);
    }
    free(st.v);
}

void tpl_gc_collect(void)
{
    if (draining || !gc_head.next || gc_head.next == &gc_head)
        return;
    for (struct tpl_gc *g = gc_head.next; g != &gc_head; g = g->next) {
        g->gc_refs = g->refs;
        g->mark = 0;
    }
    for (struct tpl_gc *g = gc_head.next; g != &gc_head; g = g->next)
        gc_children(g, gc_sub_internal, NULL);
    gc_mark_roots();
    struct gc_stack garbage = {0};
    for (struct tpl_gc *g = gc_head.next; g != &gc_head; g = g->next) {
        if (!g->mark) {
            g->refs++; /* hold: clearing others must not free it yet */
            gc_push(&garbage, g);
        }
    }
    for (size_t i = 0; i < garbage.n; i++) {
        gc_children(garbage.v[i], drop_slot, NULL);
        if (garbage.v[i]->kind == TPL_LIST)
            ((struct tpl_list *)garbage.v[i])->len = 0;
    }
    for (size_t i = 0; i < garbage.n; i++)
        gc_unref(garbage.v[i]);
    free(garbage.v);
}
