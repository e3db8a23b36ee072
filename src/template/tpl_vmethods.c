/*
 * tpl_vmethods.c — virtual methods of scalars, hashes and lists
 * (templates.md §4), following TT2's Template::VMethods, plus SHM's list
 * methods sort_by_key and pluck and billd's `json` (the value as JSON).
 *
 * As in TT2, arguments are the positional ones followed by the named-
 * argument hash (if any); list methods change the list in place where TT2
 * does (push, pop, shift, unshift, splice, import). Sorting is stable.
 */
#include "../common.h"
#include "tpl_int.h"

#include <math.h>

/* ================================================================ helpers */

/* TT2 passes named arguments as a trailing hash. */
static size_t nargs(const struct tpl_args *a)
{
    return a->npos + (a->named ? 1 : 0);
}

static const struct tpl_value *arg(const struct tpl_args *a, size_t i)
{
    if (i < a->npos)
        return &a->pos[i];
    return i == a->npos ? a->named : NULL;
}

static bool arg_defined(const struct tpl_args *a, size_t i)
{
    const struct tpl_value *v = arg(a, i);
    return v && v->type != TPL_UNDEF;
}

static struct tpl_value *mut(const struct tpl_value *v)
{
    return (struct tpl_value *)v; /* lists and hashes are shared, changed in place */
}

static void sv_arg(struct tpl_sv *sv, const struct tpl_args *a, size_t i)
{
    static const struct tpl_value undef = {.type = TPL_UNDEF};
    const struct tpl_value *v = arg(a, i);
    sv_get(sv, v ? v : &undef);
}

static int64_t int_arg(const struct tpl_args *a, size_t i, int64_t dflt)
{
    const struct tpl_value *v = arg(a, i);
    if (!v || v->type == TPL_UNDEF)
        return dflt;
    double d = tpl_value_double(v);
    if (isnan(d))
        return 0;
    return d > 1e15 ? (int64_t)1e15 : d < -1e15 ? (int64_t)-1e15 : (int64_t)d;
}

static struct tpl_value perl_bool(bool b)
{
    return b ? tpl_int(1) : tpl_str("", 0);
}

static int str_result(struct tpl_ctx *cx, struct buf *b, int rc, struct tpl_value *out)
{
    if (rc) {
        buf_free(b);
        return cx->ctl == CTL_ERROR ? -1 : tpl_check_len(cx, SIZE_MAX);
    }
    *out = tpl_str_from_buf(b);
    return 0;
}

/* A filter-like transformation of the scalar's text. */
typedef int (*text_fn)(const char *s, size_t n, struct buf *b, const void *arg);

static int text_vm(struct tpl_ctx *cx, const struct tpl_value *self, text_fn fn,
                   const void *farg, struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    buf_init(&b, cx->lim.max_output);
    sv_get(&sv, self);
    int rc = fn(sv.p, sv.n, &b, farg);
    sv_done(&sv);
    return str_result(cx, &b, rc, out);
}

/* ================================================================ scalar methods */

static int s_item(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_value_ref(self);
    return 0;
}

static int s_list(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_list_new();
    tpl_list_push(out, tpl_value_ref(self));
    return 0;
}

static int s_hash(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_hash_new();
    tpl_hash_set(out, "value", 5, tpl_value_ref(self));
    return 0;
}

static int s_length(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    struct tpl_sv sv;
    UNUSED(cx);
    UNUSED(a);
    sv_get(&sv, self);
    *out = tpl_int((int64_t)tpl_utf8_len(sv.p, sv.n));
    sv_done(&sv);
    return 0;
}

static int s_size(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(self);
    UNUSED(a);
    *out = tpl_int(1);
    return 0;
}

static int s_empty(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    struct tpl_sv sv;
    UNUSED(cx);
    UNUSED(a);
    sv_get(&sv, self);
    *out = tpl_int(sv.n == 0);
    sv_done(&sv);
    return 0;
}

static int s_defined(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                     struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_int(self->type != TPL_UNDEF);
    return 0;
}

static int case_fn(const char *s, size_t n, struct buf *b, const void *arg)
{
    return tpl_text_case(s, n, *(const enum tpl_case_op *)arg, b);
}

#define CASE_VM(fname, op)                                                                         \
    static int fname(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,  \
                     struct tpl_value *out)                                                        \
    {                                                                                              \
        static const enum tpl_case_op o = op;                                                      \
        UNUSED(a);                                                                                 \
        return text_vm(cx, self, case_fn, &o, out);                                                \
    }

CASE_VM(s_upper, CASE_UPPER)
CASE_VM(s_lower, CASE_LOWER)
CASE_VM(s_ucfirst, CASE_UCFIRST)
CASE_VM(s_lcfirst, CASE_LCFIRST)

static int trim_fn(const char *s, size_t n, struct buf *b, const void *arg)
{
    return tpl_text_trim(s, n, arg != NULL, b);
}

static int s_trim(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(a);
    return text_vm(cx, self, trim_fn, NULL, out);
}

static int s_collapse(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                      struct tpl_value *out)
{
    UNUSED(a);
    return text_vm(cx, self, trim_fn, "", out);
}

static int html_fn(const char *s, size_t n, struct buf *b, const void *arg)
{
    return tpl_text_html(s, n, arg != NULL, b);
}

static int s_html(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(a);
    return text_vm(cx, self, html_fn, NULL, out);
}

static int s_xml(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                 struct tpl_value *out)
{
    UNUSED(a);
    return text_vm(cx, self, html_fn, "", out);
}

/* Backslash-escapes the characters in arg (dquote also turns newlines into \n). */
static int quote_fn(const char *s, size_t n, struct buf *b, const void *arg)
{
    const char *set = arg;
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (s[i] == '\n' && set[0] == '"')
            rc = buf_puts(b, "\\n");
        else if (strchr(set, s[i]) && s[i])
            rc = buf_putc(b, '\\') || buf_putc(b, s[i]);
        else
            rc = buf_putc(b, s[i]);
        if (rc)
            return ERR_LIMIT;
    }
    return 0;
}

static int s_squote(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    UNUSED(a);
    return text_vm(cx, self, quote_fn, "'\\", out);
}

static int s_dquote(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    UNUSED(a);
    return text_vm(cx, self, quote_fn, "\"\\", out);
}

static int s_repeat(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    struct tpl_sv sv;
    int64_t n = int_arg(a, 0, 0);
    sv_get(&sv, self);
    int rc = 0;
    if (n <= 0 || !sv.n) {
        *out = tpl_str("", 0);
    } else if (!(rc = tpl_check_len(cx, (uint64_t)n > SIZE_MAX / sv.n ? SIZE_MAX
                                                                       : (size_t)n * sv.n))) {
        struct buf b;
        buf_init(&b, cx->lim.max_output);
        for (int64_t i = 0; i < n && !rc; i++)
            rc = buf_append(&b, sv.p, sv.n);
        rc = str_result(cx, &b, rc, out);
    }
    sv_done(&sv);
    return rc;
}

static const struct tpl_re *re_arg(struct tpl_ctx *cx, const struct tpl_args *a, size_t i)
{
    struct tpl_sv sp;
    sv_arg(&sp, a, i);
    const struct tpl_re *re = tpl_re_get(cx, sp.p, sp.n);
    sv_done(&sp);
    return re;
}

static int s_replace(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                     struct tpl_value *out)
{
    const struct tpl_re *re = re_arg(cx, a, 0);
    if (!re)
        return -1;
    struct tpl_sv sv, sr;
    struct buf b;
    sv_arg(&sr, a, 1);
    bool global = arg_defined(a, 2) ? tpl_value_truth(arg(a, 2)) : true;
    bool dollars = false;
    for (size_t i = 0; i + 1 < sr.n && !dollars; i++)
        dollars = sr.p[i] == '$' && sr.p[i + 1] >= '0' && sr.p[i + 1] <= '9';
    buf_init(&b, cx->lim.max_output);
    sv_get(&sv, self);
    int rc = tpl_re_replace(cx, re, sv.p, sv.n, sr.p, sr.n, dollars, global, &b);
    sv_done(&sv);
    sv_done(&sr);
    return str_result(cx, &b, rc, out);
}

static int s_remove(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    const struct tpl_re *re = re_arg(cx, a, 0);
    if (!re)
        return -1;
    struct tpl_sv sv;
    struct buf b;
    buf_init(&b, cx->lim.max_output);
    sv_get(&sv, self);
    int rc = tpl_re_replace(cx, re, sv.p, sv.n, "", 0, false, true, &b);
    sv_done(&sv);
    return str_result(cx, &b, rc, out);
}

/* Pushes the text of group g (undefined when it did not take part). */
static void push_group(struct tpl_value *l, const char *s, const regmatch_t *m)
{
    if (m->rm_so < 0)
        tpl_list_push(l, tpl_undef());
    else
        tpl_list_push(l, tpl_str(s + m->rm_so, (size_t)(m->rm_eo - m->rm_so)));
}

/* Next search position after a match (one character past an empty one). */
static size_t after_match(const char *s, size_t n, const regmatch_t *m)
{
    size_t eo = (size_t)m->rm_eo;
    if (m->rm_eo != m->rm_so)
        return eo;
    return eo < n ? eo + tpl_utf8_offset(s + eo, n - eo, 1) : n + 1;
}

static int s_match(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    const struct tpl_re *re = re_arg(cx, a, 0);
    if (!re)
        return -1;
    bool global = arg_defined(a, 1) && tpl_value_truth(arg(a, 1));
    struct tpl_sv sv;
    sv_get(&sv, self);
    regmatch_t m[10];
    size_t ng = re->ngroups < 9 ? re->ngroups : 9, pos = 0;
    struct tpl_value l = tpl_list_new();
    int rc = 0;
    while (pos <= sv.n && tpl_re_exec(re, sv.p, sv.n, pos, m, 10)) {
        if ((rc = tpl_step(cx, 1)))
            break;
        if (!ng && !global)
            tpl_list_push(&l, tpl_int(1));
        else if (!ng)
            push_group(&l, sv.p, &m[0]);
        for (size_t g = 1; g <= ng; g++)
            push_group(&l, sv.p, &m[g]);
        if (!global)
            break;
        pos = after_match(sv.p, sv.n, &m[0]);
    }
    sv_done(&sv);
    if (rc || !tpl_list_len(&l)) {
        tpl_value_drop(&l);
        if (!rc)
            *out = tpl_str("", 0);
        return rc;
    }
    *out = l;
    return 0;
}

static int s_search(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    const struct tpl_re *re = re_arg(cx, a, 0);
    if (!re)
        return -1;
    struct tpl_sv sv;
    regmatch_t m[1];
    sv_get(&sv, self);
    *out = perl_bool(tpl_re_exec(re, sv.p, sv.n, 0, m, 1));
    sv_done(&sv);
    return 0;
}

/* Perl's split: awk mode without a pattern, captures included, trailing empties dropped. */
static int do_split(struct tpl_ctx *cx, const struct tpl_re *re, const char *s, size_t n,
                    int64_t limit, struct tpl_value *l)
{
    size_t start = 0, pos = 0;
    regmatch_t m[10];
    size_t ng = re->ngroups < 9 ? re->ngroups : 9;
    if (!n)
        return 0;
    while ((limit <= 0 || (int64_t)tpl_list_len(l) + 1 < limit) && pos <= n &&
           tpl_re_exec(re, s, n, pos, m, 10)) {
        size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
        if (tpl_step(cx, 1))
            return -1;
        if (eo == so && so == start) { /* no empty field from an empty match at a field start */
            if (so >= n)
                break;
            pos = so + tpl_utf8_offset(s + so, n - so, 1);
            continue;
        }
        if (eo == so && so >= n)
            break;
        tpl_list_push(l, tpl_str(s + start, so - start));
        for (size_t g = 1; g <= ng; g++)
            push_group(l, s, &m[g]);
        start = pos = eo;
    }
    tpl_list_push(l, tpl_str(s + start, n - start));
    if (limit == 0) { /* trailing empty fields are dropped */
        while (tpl_list_len(l)) {
            const struct tpl_value *last = tpl_list_at(l, tpl_list_len(l) - 1);
            if (last->type != TPL_UNDEF && !(last->type == TPL_STR && !last->u.s->len))
                break;
            struct tpl_value x = tpl_list_remove(l, tpl_list_len(l) - 1);
            tpl_value_drop(&x);
        }
    }
    return 0;
}

static int s_split(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    struct tpl_sv sv;
    bool awk = !arg_defined(a, 0);
    const struct tpl_re *re = awk ? tpl_re_get(cx, "\\s+", 3) : re_arg(cx, a, 0);
    if (!re)
        return -1;
    sv_get(&sv, self);
    const char *s = sv.p;
    size_t n = sv.n;
    while (awk && n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')) {
        s++;
        n--;
    }
    *out = tpl_list_new();
    int rc = do_split(cx, re, s, n, int_arg(a, 1, 0), out);
    sv_done(&sv);
    if (rc)
        tpl_value_drop(out);
    return rc;
}

static int s_chunk(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    struct tpl_sv sv;
    int64_t size = int_arg(a, 0, 1);
    if (!size)
        size = 1;
    sv_get(&sv, self);
    size_t chars = tpl_utf8_len(sv.p, sv.n), step = (size_t)(size < 0 ? -size : size);
    *out = tpl_list_new();
    int rc = tpl_step(cx, chars / step + 1);
    /* negative: chunks are counted from the right, the short one comes first */
    size_t first = size < 0 && chars % step ? chars % step : step;
    for (size_t c = 0; !rc && c < chars;) {
        size_t take = c == 0 ? (first < chars ? first : chars) : step;
        size_t from = tpl_utf8_offset(sv.p, sv.n, c), to = tpl_utf8_offset(sv.p, sv.n, c + take);
        tpl_list_push(out, tpl_str(sv.p + from, to - from));
        c += take;
    }
    sv_done(&sv);
    if (rc)
        tpl_value_drop(out);
    return rc;
}

/* Perl substr on characters; with a replacement the whole changed string. */
static int s_substr(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    struct tpl_sv sv, sr;
    UNUSED(cx);
    sv_get(&sv, self);
    int64_t chars = (int64_t)tpl_utf8_len(sv.p, sv.n);
    int64_t off = int_arg(a, 0, 0), len;
    if (off < 0)
        off += chars;
    if (off < 0 || off > chars) {
        sv_done(&sv);
        *out = tpl_undef();
        return 0;
    }
    len = arg_defined(a, 1) ? int_arg(a, 1, 0) : chars - off;
    int64_t end = len < 0 ? chars + len : off + len;
    if (end > chars)
        end = chars;
    if (end < off)
        end = off;
    size_t bo = tpl_utf8_offset(sv.p, sv.n, (size_t)off), be = tpl_utf8_offset(sv.p, sv.n, (size_t)end);
    if (arg_defined(a, 1) && arg_defined(a, 2)) {
        sv_arg(&sr, a, 2);
        struct buf b;
        buf_init(&b, 0);
        buf_append(&b, sv.p, bo);
        buf_append(&b, sr.p, sr.n);
        buf_append(&b, sv.p + be, sv.n - be);
        *out = tpl_str_from_buf(&b);
        sv_done(&sr);
    } else {
        *out = tpl_str(sv.p + bo, be - bo);
    }
    sv_done(&sv);
    return 0;
}

static int v_json(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    const struct tpl_filter_def *f = tpl_filter_find("json", 4);
    return f->fn(cx, self, a, out);
}

/* ================================================================ hash methods */

static int h_item(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    struct tpl_sv sk;
    UNUSED(cx);
    sv_arg(&sk, a, 0);
    const struct tpl_value *v = tpl_hash_get(self, sk.p, sk.n); /* as TT2's XS stash: no privacy */
    *out = v ? tpl_value_ref(v) : tpl_undef();
    sv_done(&sk);
    return 0;
}

static int h_size(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_int((int64_t)tpl_hash_len(self));
    return 0;
}

static int h_empty(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_int(tpl_hash_len(self) == 0);
    return 0;
}

enum hash_part { HP_KEYS = 1, HP_VALUES = 2, HP_BOTH = 3 };

static struct tpl_value hash_flat(const struct tpl_value *h, enum hash_part part)
{
    struct tpl_value l = tpl_list_new();
    size_t it = 0, klen;
    const char *k;
    const struct tpl_value *v;
    while (tpl_hash_next(h, &it, &k, &klen, &v)) {
        if (part & HP_KEYS)
            tpl_list_push(&l, tpl_str(k, klen));
        if (part & HP_VALUES)
            tpl_list_push(&l, tpl_value_ref(v));
    }
    return l;
}

static int h_keys(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(a);
    *out = hash_flat(self, HP_KEYS);
    return tpl_step(cx, tpl_hash_len(self));
}

static int h_values(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    UNUSED(a);
    *out = hash_flat(self, HP_VALUES);
    return tpl_step(cx, tpl_hash_len(self));
}

static int h_items(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    UNUSED(a);
    *out = hash_flat(self, HP_BOTH);
    return tpl_step(cx, tpl_hash_len(self));
}

static int h_pairs(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    UNUSED(a);
    *out = tpl_hash_pairs(self);
    return tpl_step(cx, tpl_hash_len(self));
}

static int h_list(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    struct tpl_sv sw;
    sv_arg(&sw, a, 0);
    if (sw.n == 4 && !memcmp(sw.p, "keys", 4))
        *out = hash_flat(self, HP_KEYS);
    else if (sw.n == 6 && !memcmp(sw.p, "values", 6))
        *out = hash_flat(self, HP_VALUES);
    else if (sw.n == 4 && !memcmp(sw.p, "each", 4))
        *out = hash_flat(self, HP_BOTH);
    else
        *out = tpl_hash_pairs(self);
    sv_done(&sw);
    return tpl_step(cx, tpl_hash_len(self));
}

static int h_exists(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    struct tpl_sv sk;
    UNUSED(cx);
    sv_arg(&sk, a, 0);
    *out = perl_bool(tpl_hash_get(self, sk.p, sk.n) != NULL);
    sv_done(&sk);
    return 0;
}

static int h_defined(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                     struct tpl_value *out)
{
    struct tpl_sv sk;
    UNUSED(cx);
    if (!nargs(a)) {
        *out = tpl_int(1);
        return 0;
    }
    sv_arg(&sk, a, 0);
    const struct tpl_value *v = tpl_hash_get(self, sk.p, sk.n);
    *out = perl_bool(v && v->type != TPL_UNDEF);
    sv_done(&sk);
    return 0;
}

static int h_delete(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    UNUSED(cx);
    for (size_t i = 0; i < nargs(a); i++) {
        struct tpl_sv sk;
        sv_arg(&sk, a, i);
        tpl_hash_del(mut(self), sk.p, sk.n);
        sv_done(&sk);
    }
    *out = tpl_undef();
    return 0;
}

static int h_import(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    const struct tpl_value *src = arg(a, 0);
    if (src && src->type == TPL_HASH && src->u.h != self->u.h) {
        size_t it = 0, klen;
        const char *k;
        const struct tpl_value *v;
        if (tpl_step(cx, tpl_hash_len(src)))
            return -1;
        while (tpl_hash_next(src, &it, &k, &klen, &v))
            tpl_hash_set(mut(self), k, klen, tpl_value_ref(v));
    }
    *out = tpl_str("", 0);
    return 0;
}

/* ================================================================ sorting */

typedef int (*sort_cmp)(size_t x, size_t y, void *ctx);

/* Stable merge sort of idx[0..n) (Perl's sort is stable). */
static void merge_sort(size_t *idx, size_t *tmp, size_t n, sort_cmp cmp, void *ctx)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(idx, tmp, h, cmp, ctx);
    merge_sort(idx + h, tmp, n - h, cmp, ctx);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp(idx[j], idx[i], ctx) < 0 ? idx[j++] : idx[i++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof(*idx));
}

/* Sorts list items by the comparator; returns a new list. */
static struct tpl_value sorted_copy(const struct tpl_value *list, sort_cmp cmp, void *ctx)
{
    size_t n = tpl_list_len(list);
    size_t *idx = xcalloc(n ? n : 1, sizeof(*idx)), *tmp = xcalloc(n ? n : 1, sizeof(*tmp));
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    merge_sort(idx, tmp, n, cmp, ctx);
    struct tpl_value out = tpl_list_new();
    tpl_list_reserve(&out, n);
    for (size_t i = 0; i < n; i++)
        tpl_list_push(&out, tpl_value_ref(tpl_list_at(list, idx[i])));
    free(idx);
    free(tmp);
    return out;
}

struct sort_keys {
    struct buf *str; /* per item: string key */
    double *num;     /* per item and field: numeric keys */
    size_t nfields;
};

static int cmp_str_keys(size_t x, size_t y, void *ctx)
{
    const struct sort_keys *k = ctx;
    const struct buf *a = &k->str[x], *b = &k->str[y];
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->data, b->data, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int cmp_num_keys(size_t x, size_t y, void *ctx)
{
    const struct sort_keys *k = ctx;
    for (size_t f = 0; f < k->nfields; f++) {
        double a = k->num[x * k->nfields + f], b = k->num[y * k->nfields + f];
        if (a != b)
            return a < b ? -1 : 1;
    }
    return 0;
}

/* item.field for sorting and plucking: hash key or object member, else the item. */
static int field_of(struct tpl_ctx *cx, const struct tpl_value *item, const struct tpl_value *f,
                    struct tpl_value *out, bool item_fallback)
{
    struct tpl_sv sf;
    *out = tpl_undef();
    if (item->type != TPL_HASH && item->type != TPL_OBJ) {
        if (item_fallback)
            *out = tpl_value_ref(item);
        return 0;
    }
    sv_get(&sf, f);
    int rc = tpl_member(cx, item, sf.p, sf.n, out);
    sv_done(&sf);
    return rc;
}

/* The lower-cased sort key of item: fields joined as TT2 does, or the item. */
static int str_key(struct tpl_ctx *cx, const struct tpl_value *item, const struct tpl_args *a,
                   struct buf *key)
{
    struct buf raw;
    buf_init(&raw, 0);
    size_t nf = nargs(a);
    for (size_t f = 0; f < (nf ? nf : 1); f++) {
        struct tpl_value v;
        if (nf ? field_of(cx, item, arg(a, f), &v, true) : (v = tpl_value_ref(item), 0)) {
            buf_free(&raw);
            return -1;
        }
        if (f)
            buf_puts(&raw, "/*^UNLIKELY^*/");
        tpl_value_print(&v, &raw);
        tpl_value_drop(&v);
    }
    buf_init(key, 0);
    tpl_text_case(raw.data, raw.len, CASE_LOWER, key);
    buf_free(&raw);
    return 0;
}

static int l_sort(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    size_t n = tpl_list_len(self);
    if (n < 2 || tpl_step(cx, n * 4)) {
        *out = n < 2 ? tpl_value_ref(self) : tpl_undef();
        return n < 2 ? 0 : -1;
    }
    struct sort_keys k = {.str = xcalloc(n, sizeof(struct buf))};
    size_t done = 0;
    int rc = 0;
    for (; done < n && !rc; done++)
        rc = str_key(cx, tpl_list_at(self, done), a, &k.str[done]);
    if (rc)
        done--;
    else
        *out = sorted_copy(self, cmp_str_keys, &k);
    for (size_t i = 0; i < done; i++)
        buf_free(&k.str[i]);
    free(k.str);
    return rc;
}

static int l_nsort(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    size_t n = tpl_list_len(self), nf = nargs(a);
    if (n < 2 || tpl_step(cx, n * 4)) {
        *out = n < 2 ? tpl_value_ref(self) : tpl_undef();
        return n < 2 ? 0 : -1;
    }
    struct sort_keys k = {.nfields = nf ? nf : 1};
    k.num = xcalloc(n * k.nfields, sizeof(double));
    for (size_t i = 0; i < n; i++) {
        for (size_t f = 0; f < k.nfields; f++) {
            struct tpl_value v;
            const struct tpl_value *item = tpl_list_at(self, i);
            if (nf ? field_of(cx, item, arg(a, f), &v, true) : (v = tpl_value_ref(item), 0)) {
                free(k.num);
                return -1;
            }
            k.num[i * k.nfields + f] = tpl_value_double(&v);
            tpl_value_drop(&v);
        }
    }
    *out = sorted_copy(self, cmp_num_keys, &k);
    free(k.num);
    return 0;
}

/* sort_by_key (SHM): fields, each optionally followed by 'asc'/'desc'. */
struct sbk {
    struct tpl_value *vals; /* n * nf */
    bool *desc;
    size_t nf;
};

static int cmp_values(const struct tpl_value *a, const struct tpl_value *b)
{
    bool ua = a->type == TPL_UNDEF, ub = b->type == TPL_UNDEF;
    if (ua || ub)
        return ua && ub ? 0 : ua ? -1 : 1;
    struct tpl_sv sa, sb;
    sv_get(&sa, a);
    sv_get(&sb, b);
    int c;
    if (tpl_looks_like_number(sa.p, sa.n) && tpl_looks_like_number(sb.p, sb.n)) {
        double x = tpl_value_double(a), y = tpl_value_double(b);
        c = x < y ? -1 : x > y;
    } else {
        size_t n = sa.n < sb.n ? sa.n : sb.n;
        c = memcmp(sa.p, sb.p, n);
        c = c ? c : (sa.n > sb.n) - (sa.n < sb.n);
    }
    sv_done(&sa);
    sv_done(&sb);
    return c;
}

static int cmp_sbk(size_t x, size_t y, void *ctx)
{
    const struct sbk *s = ctx;
    for (size_t f = 0; f < s->nf; f++) {
        int c = cmp_values(&s->vals[x * s->nf + f], &s->vals[y * s->nf + f]);
        if (c)
            return s->desc[f] ? -c : c;
    }
    return 0;
}

static bool is_direction(const struct tpl_value *v, bool *desc)
{
    struct tpl_sv sv;
    if (!v || v->type != TPL_STR)
        return false;
    sv_get(&sv, v);
    bool asc = sv.n == 3 && !strncasecmp(sv.p, "asc", 3);
    *desc = sv.n == 4 && !strncasecmp(sv.p, "desc", 4);
    sv_done(&sv);
    return asc || *desc;
}

static int l_sort_by_key(struct tpl_ctx *cx, const struct tpl_value *self,
                         const struct tpl_args *a, struct tpl_value *out)
{
    size_t n = tpl_list_len(self), na = nargs(a), nf = 0;
    const struct tpl_value **fields = xcalloc(na ? na : 1, sizeof(*fields));
    struct sbk s = {.desc = xcalloc(na ? na : 1, sizeof(bool))};
    for (size_t i = 0; i < na; i++) {
        bool desc = false;
        if (nf && is_direction(arg(a, i), &desc))
            s.desc[nf - 1] = desc;
        else
            fields[nf++] = arg(a, i);
    }
    s.nf = nf;
    int rc = tpl_step(cx, n * 4 + 1);
    if (!rc && (n < 2 || !nf)) {
        *out = tpl_list_copy(self);
    } else if (!rc) {
        s.vals = xcalloc(n * nf, sizeof(struct tpl_value));
        for (size_t i = 0; i < n && !rc; i++)
            for (size_t f = 0; f < nf && !rc; f++)
                rc = field_of(cx, tpl_list_at(self, i), fields[f], &s.vals[i * nf + f], false);
        if (!rc)
            *out = sorted_copy(self, cmp_sbk, &s);
        for (size_t i = 0; i < n * nf; i++)
            tpl_value_drop(&s.vals[i]);
        free(s.vals);
    }
    free(fields);
    free(s.desc);
    return rc;
}

static int h_sort_by(struct tpl_ctx *cx, const struct tpl_value *self, bool numeric,
                     struct tpl_value *out)
{
    struct tpl_value keys = hash_flat(self, HP_KEYS);
    size_t n = tpl_list_len(&keys);
    int rc = tpl_step(cx, n * 4 + 1);
    struct sort_keys k = {.nfields = 1};
    if (!rc && numeric) {
        k.num = xcalloc(n ? n : 1, sizeof(double));
        for (size_t i = 0; i < n; i++) {
            size_t kl;
            const char *key = tpl_str_data(tpl_list_at(&keys, i), &kl);
            k.num[i] = tpl_value_double(tpl_hash_get(self, key, kl));
        }
        *out = sorted_copy(&keys, cmp_num_keys, &k);
        free(k.num);
    } else if (!rc) {
        k.str = xcalloc(n ? n : 1, sizeof(struct buf));
        for (size_t i = 0; i < n; i++) {
            size_t kl;
            const char *key = tpl_str_data(tpl_list_at(&keys, i), &kl);
            struct tpl_sv sv;
            sv_get(&sv, tpl_hash_get(self, key, kl));
            buf_init(&k.str[i], 0);
            tpl_text_case(sv.p, sv.n, CASE_LOWER, &k.str[i]);
            sv_done(&sv);
        }
        *out = sorted_copy(&keys, cmp_str_keys, &k);
        for (size_t i = 0; i < n; i++)
            buf_free(&k.str[i]);
        free(k.str);
    }
    tpl_value_drop(&keys);
    return rc;
}

static int h_sort(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(a);
    return h_sort_by(cx, self, false, out);
}

static int h_nsort(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    UNUSED(a);
    return h_sort_by(cx, self, true, out);
}

/* ================================================================ list methods */

static const struct tpl_value *list_idx(const struct tpl_value *l, int64_t i)
{
    int64_t n = (int64_t)tpl_list_len(l);
    if (i < 0)
        i += n;
    return i >= 0 && i < n ? tpl_list_at(l, (size_t)i) : NULL;
}

static struct tpl_value ref_or_undef(const struct tpl_value *v)
{
    return v ? tpl_value_ref(v) : tpl_undef();
}

static int l_item(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(cx);
    *out = ref_or_undef(list_idx(self, int_arg(a, 0, 0)));
    return 0;
}

static int l_hash(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    size_t n = tpl_list_len(self);
    *out = tpl_hash_new();
    if (tpl_step(cx, n))
        return -1;
    if (nargs(a)) {
        int64_t base = int_arg(a, 0, 0);
        for (size_t i = 0; i < n; i++) {
            char k[32];
            int kl = snprintf(k, sizeof(k), "%lld", (long long)(base + (int64_t)i));
            tpl_hash_set(out, k, (size_t)kl, tpl_value_ref(tpl_list_at(self, i)));
        }
        return 0;
    }
    for (size_t i = 0; i < n; i += 2) {
        struct tpl_sv sk;
        sv_get(&sk, tpl_list_at(self, i));
        tpl_hash_set(out, sk.p, sk.n, ref_or_undef(tpl_list_at(self, i + 1)));
        sv_done(&sk);
    }
    return 0;
}

static int l_push(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    if (tpl_list_len(self) + nargs(a) > cx->lim.max_iterations)
        return tpl_fatal(cx, "list larger than the iteration limit (%llu)",
                         (unsigned long long)cx->lim.max_iterations);
    for (size_t i = 0; i < nargs(a); i++)
        tpl_list_push(mut(self), tpl_value_ref(arg(a, i)));
    *out = tpl_str("", 0);
    return 0;
}

static int l_unshift(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                     struct tpl_value *out)
{
    if (tpl_list_len(self) + nargs(a) > cx->lim.max_iterations)
        return tpl_fatal(cx, "list larger than the iteration limit (%llu)",
                         (unsigned long long)cx->lim.max_iterations);
    if (tpl_step(cx, tpl_list_len(self) / 16 + 1))
        return -1;
    for (size_t i = nargs(a); i-- > 0;)
        tpl_list_insert(mut(self), 0, tpl_value_ref(arg(a, i)));
    *out = tpl_str("", 0);
    return 0;
}

static int l_pop(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                 struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    size_t n = tpl_list_len(self);
    *out = n ? tpl_list_remove(mut(self), n - 1) : tpl_undef();
    return 0;
}

static int l_shift(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    UNUSED(a);
    if (tpl_step(cx, tpl_list_len(self) / 16 + 1))
        return -1;
    *out = tpl_list_len(self) ? tpl_list_remove(mut(self), 0) : tpl_undef();
    return 0;
}

static int l_max(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                 struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_int((int64_t)tpl_list_len(self) - 1);
    return 0;
}

static int l_size(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_int((int64_t)tpl_list_len(self));
    return 0;
}

static int l_empty(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_int(tpl_list_len(self) == 0);
    return 0;
}

static int l_defined(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                     struct tpl_value *out)
{
    struct tpl_sv sv;
    UNUSED(cx);
    if (!nargs(a)) {
        *out = tpl_int(1);
        return 0;
    }
    sv_arg(&sv, a, 0);
    bool num = tpl_looks_like_number(sv.p, sv.n);
    sv_done(&sv);
    const struct tpl_value *v = num ? list_idx(self, int_arg(a, 0, 0)) : NULL;
    *out = num ? perl_bool(v && v->type != TPL_UNDEF) : tpl_undef();
    return 0;
}

/* first(n)/last(n): a Perl slice, so indexes past the ends give undefined. */
static int first_last(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                      bool last, struct tpl_value *out)
{
    int64_t n = (int64_t)tpl_list_len(self);
    if (!nargs(a)) {
        *out = ref_or_undef(list_idx(self, last ? -1 : 0));
        return 0;
    }
    int64_t k = int_arg(a, 0, 0);
    if (k > (int64_t)cx->lim.max_iterations)
        return tpl_fatal(cx, "list larger than the iteration limit (%llu)",
                         (unsigned long long)cx->lim.max_iterations);
    *out = tpl_list_new();
    if (tpl_step(cx, k > 0 ? (uint64_t)k : 1))
        return -1;
    for (int64_t i = 0; i < k; i++) {
        int64_t idx = last ? i - k : i;
        tpl_list_push(out, -idx > n ? tpl_undef() : ref_or_undef(list_idx(self, idx)));
    }
    return 0;
}

static int l_first(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    return first_last(cx, self, a, false, out);
}

static int l_last(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    return first_last(cx, self, a, true, out);
}

static int l_reverse(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                     struct tpl_value *out)
{
    UNUSED(a);
    size_t n = tpl_list_len(self);
    *out = tpl_list_new();
    tpl_list_reserve(out, n);
    for (size_t i = n; i-- > 0;)
        tpl_list_push(out, tpl_value_ref(tpl_list_at(self, i)));
    return tpl_step(cx, n);
}

static int l_grep(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    const struct tpl_re *re = re_arg(cx, a, 0);
    if (!re || tpl_step(cx, tpl_list_len(self)))
        return -1;
    *out = tpl_list_new();
    for (size_t i = 0; i < tpl_list_len(self); i++) {
        struct tpl_sv sv;
        regmatch_t m[1];
        const struct tpl_value *v = tpl_list_at(self, i);
        sv_get(&sv, v);
        if (tpl_re_exec(re, sv.p, sv.n, 0, m, 1))
            tpl_list_push(out, tpl_value_ref(v));
        sv_done(&sv);
    }
    return 0;
}

static int l_join(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    struct tpl_sv sep;
    struct buf b;
    bool has_sep = arg_defined(a, 0);
    sv_arg(&sep, a, 0);
    buf_init(&b, cx->lim.max_output);
    int rc = tpl_step(cx, tpl_list_len(self));
    for (size_t i = 0; i < tpl_list_len(self) && !rc; i++) {
        if (i)
            rc = has_sep ? buf_append(&b, sep.p, sep.n) : buf_putc(&b, ' ');
        rc = rc || tpl_value_print(tpl_list_at(self, i), &b);
    }
    sv_done(&sep);
    return str_result(cx, &b, rc, out);
}

static int l_unique(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    UNUSED(a);
    struct tpl_value seen = tpl_hash_new();
    *out = tpl_list_new();
    for (size_t i = 0; i < tpl_list_len(self); i++) {
        struct tpl_sv sv;
        const struct tpl_value *v = tpl_list_at(self, i);
        sv_get(&sv, v);
        if (!tpl_hash_get(&seen, sv.p, sv.n)) {
            tpl_hash_set(&seen, sv.p, sv.n, tpl_int(1));
            tpl_list_push(out, tpl_value_ref(v));
        }
        sv_done(&sv);
    }
    tpl_value_drop(&seen);
    return tpl_step(cx, tpl_list_len(self));
}

/* Appends the elements of every list argument to dst. */
static int append_lists(struct tpl_ctx *cx, struct tpl_value *dst, const struct tpl_args *a,
                        const struct tpl_value *self)
{
    for (size_t i = 0; i < nargs(a); i++) {
        const struct tpl_value *l = arg(a, i);
        if (l->type != TPL_LIST)
            continue;
        struct tpl_value copy = tpl_list_copy(l); /* l may be dst itself */
        size_t n = tpl_list_len(&copy);
        if (tpl_list_len(dst) + n > cx->lim.max_iterations || tpl_step(cx, n)) {
            tpl_value_drop(&copy);
            return cx->ctl == CTL_ERROR ? -1
                                        : tpl_fatal(cx, "list larger than the iteration limit");
        }
        for (size_t k = 0; k < n; k++)
            tpl_list_push(dst, tpl_value_ref(tpl_list_at(&copy, k)));
        tpl_value_drop(&copy);
    }
    UNUSED(self);
    return 0;
}

static int l_import(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    if (append_lists(cx, mut(self), a, self))
        return -1;
    *out = tpl_value_ref(self);
    return 0;
}

static int l_merge(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    *out = tpl_list_copy(self);
    return append_lists(cx, out, a, self);
}

static int l_slice(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    int64_t n = (int64_t)tpl_list_len(self);
    int64_t from = int_arg(a, 0, 0), to = arg_defined(a, 1) ? int_arg(a, 1, 0) : n - 1;
    if (from < 0)
        from += n;
    if (to < 0)
        to += n;
    *out = tpl_list_new();
    if (to - from + 1 > (int64_t)cx->lim.max_iterations)
        return tpl_fatal(cx, "list larger than the iteration limit");
    for (int64_t i = from; i <= to; i++)
        tpl_list_push(out, i >= 0 ? ref_or_undef(list_idx(self, i)) : tpl_undef());
    return tpl_step(cx, to >= from ? (uint64_t)(to - from + 1) : 1);
}

static int l_splice(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                    struct tpl_value *out)
{
    int64_t n = (int64_t)tpl_list_len(self);
    int64_t off = int_arg(a, 0, 0);
    if (off < 0)
        off += n;
    if (off < 0 || off > n)
        return tpl_throw(cx, "undef", "splice() offset past end of array");
    int64_t len = arg_defined(a, 1) ? int_arg(a, 1, 0) : n - off;
    if (len < 0)
        len = n - off + len > 0 ? n - off + len : 0;
    if (off + len > n)
        len = n - off;
    *out = tpl_list_new();
    for (int64_t i = 0; i < len; i++)
        tpl_list_push(out, tpl_list_remove(mut(self), (size_t)off));
    /* replacements: a single list argument is spread */
    struct tpl_value repl = tpl_list_new();
    if (nargs(a) == 3 && arg(a, 2)->type == TPL_LIST) {
        tpl_value_drop(&repl);
        repl = tpl_list_copy(arg(a, 2));
    } else {
        for (size_t i = 2; i < nargs(a); i++)
            tpl_list_push(&repl, tpl_value_ref(arg(a, i)));
    }
    if (tpl_list_len(self) + tpl_list_len(&repl) > cx->lim.max_iterations) {
        tpl_value_drop(&repl);
        return tpl_fatal(cx, "list larger than the iteration limit");
    }
    for (size_t i = 0; i < tpl_list_len(&repl); i++)
        tpl_list_insert(mut(self), (size_t)off + i, tpl_value_ref(tpl_list_at(&repl, i)));
    tpl_value_drop(&repl);
    return tpl_step(cx, (uint64_t)n + 1);
}

static int l_list(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(a);
    *out = tpl_value_ref(self);
    return 0;
}

static int l_pluck(struct tpl_ctx *cx, const struct tpl_value *self, const struct tpl_args *a,
                   struct tpl_value *out)
{
    static const struct tpl_value undef = {.type = TPL_UNDEF};
    const struct tpl_value *f = arg(a, 0);
    *out = tpl_list_new();
    if (tpl_step(cx, tpl_list_len(self)))
        return -1;
    for (size_t i = 0; i < tpl_list_len(self); i++) {
        struct tpl_value v;
        if (field_of(cx, tpl_list_at(self, i), f ? f : &undef, &v, false))
            return -1;
        tpl_list_push(out, v);
    }
    return 0;
}

/* ================================================================ registries */

struct vm_def {
    const char *name;
    tpl_vmethod_fn fn;
};

/* Each table sorted by name for bsearch. */
static const struct vm_def scalar_vms[] = {
    {"chunk", s_chunk},     {"collapse", s_collapse}, {"defined", s_defined},
    {"dquote", s_dquote},   {"empty", s_empty},       {"hash", s_hash},
    {"html", s_html},       {"item", s_item},         {"json", v_json},
    {"lcfirst", s_lcfirst}, {"length", s_length},     {"list", s_list},
    {"lower", s_lower},     {"match", s_match},       {"remove", s_remove},
    {"repeat", s_repeat},   {"replace", s_replace},   {"search", s_search},
    {"size", s_size},       {"split", s_split},       {"squote", s_squote},
    {"substr", s_substr},   {"trim", s_trim},         {"ucfirst", s_ucfirst},
    {"upper", s_upper},     {"xml", s_xml},
};

static const struct vm_def hash_vms[] = {
    {"defined", h_defined}, {"delete", h_delete}, {"each", h_items},   {"empty", h_empty},
    {"exists", h_exists},   {"hash", l_list}, /* itself */     {"import", h_import}, {"item", h_item},
    {"items", h_items},     {"json", v_json},     {"keys", h_keys},    {"list", h_list},
    {"nsort", h_nsort},     {"pairs", h_pairs},   {"size", h_size},    {"sort", h_sort},
    {"values", h_values},
};

static const struct vm_def list_vms[] = {
    {"defined", l_defined}, {"empty", l_empty},   {"first", l_first},
    {"grep", l_grep},       {"hash", l_hash},     {"import", l_import},
    {"item", l_item},       {"join", l_join},     {"json", v_json},
    {"last", l_last},       {"list", l_list},     {"max", l_max},
    {"merge", l_merge},     {"nsort", l_nsort},   {"pluck", l_pluck},
    {"pop", l_pop},         {"push", l_push},     {"reverse", l_reverse},
    {"shift", l_shift},     {"size", l_size},     {"slice", l_slice},
    {"sort", l_sort},       {"sort_by_key", l_sort_by_key},
    {"splice", l_splice},   {"unique", l_unique}, {"unshift", l_unshift},
};

static tpl_vmethod_fn vm_find(const struct vm_def *t, size_t n, const char *name, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(t[mid].name, name, len);
        if (c == 0 && t[mid].name[len] != '\0')
            c = 1;
        if (c == 0)
            return t[mid].fn;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

tpl_vmethod_fn tpl_vmethod_find(enum tpl_vm_table table, const char *name, size_t len)
{
    if (memchr(name, '\0', len))
        return NULL;
    switch (table) {
    case VM_SCALAR:
        return vm_find(scalar_vms, ARRAY_SIZE(scalar_vms), name, len);
    case VM_LIST:
        return vm_find(list_vms, ARRAY_SIZE(list_vms), name, len);
    default:
        return vm_find(hash_vms, ARRAY_SIZE(hash_vms), name, len);
    }
}
