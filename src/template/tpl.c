/*
 * tpl.c — the engine's entry points (tpl.h): compiling (lexer + parser into
 * an arena), the process-wide compiled-template cache, and rendering
 * (context set-up, limits with their defaults, the final trim, cleanup and
 * the cycle collection that ends every outermost render).
 */
#include "../common.h"
#include "tpl_int.h"

#include <pthread.h>

/* ================================================================ compile */

static void options_copy(struct tpl_options *dst, const struct tpl_options *src)
{
    memset(dst, 0, sizeof(*dst));
    if (src)
        *dst = *src;
}

/* "template <name>:<line>:<col>: …" from a "<line>:<col>: …" message. */
static int name_error(struct err *e, const char *name)
{
    char msg[sizeof(e->msg)];
    snprintf(msg, sizeof(msg), "%s", e->msg);
    return err_set(e, ERR_INVALID, "template %s:%s", name, msg);
}

static void tpl_destroy(struct tpl *t)
{
    tpl_arena_free(&t->arena);
    free(t->name);
    free(t->src);
    free(t);
}

int tpl_compile(const char *name, const char *src, size_t len, const struct tpl_options *opt,
                struct tpl **out, struct err *e)
{
    struct err local;
    if (!e)
        e = &local;
    err_clear(e);
    struct tpl *t = xcalloc(1, sizeof(*t));
    atomic_init(&t->refs, 1);
    t->name = xstrdup(name ? name : "input text");
    options_copy(&t->opt, opt);
    t->src = xstrndup(src ? src : "", src ? len : 0);
    t->src_len = src ? len : 0;
    struct tpl_lex_opts lo = {
        .start_tag = t->opt.tags == TPL_TAGS_PERCENT ? "<%" : "{{",
        .end_tag = t->opt.tags == TPL_TAGS_PERCENT ? "%>" : "}}",
        .pre_chomp = !t->opt.no_pre_chomp,
        .post_chomp = t->opt.post_chomp,
    };
    struct tpl_tokens toks = {0};
    int rc = tpl_lex(t->src, t->src_len, &lo, &toks, e);
    if (!rc)
        rc = tpl_parse(t, &toks, e);
    tpl_tokens_free(&toks);
    if (rc) {
        name_error(e, t->name);
        tpl_destroy(t);
        *out = NULL;
        return ERR_INVALID;
    }
    *out = t;
    return 0;
}

struct tpl *tpl_ref(struct tpl *t)
{
    atomic_fetch_add(&t->refs, 1);
    return t;
}

void tpl_unref(struct tpl *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        tpl_destroy(t);
}

const char *tpl_name(const struct tpl *t)
{
    return t->name;
}

/* ================================================================ cache */

#define CACHE_MAX 256

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tpl *cache[CACHE_MAX]; /* most recently used first */
static size_t cache_n;

static bool cache_match(const struct tpl *t, const char *name, const char *src, size_t len,
                        const struct tpl_options *opt)
{
    return t->src_len == len && !strcmp(t->name, name) && t->opt.tags == opt->tags &&
           t->opt.no_pre_chomp == opt->no_pre_chomp && t->opt.post_chomp == opt->post_chomp &&
           t->opt.no_trim == opt->no_trim && t->opt.auto_escape_shell == opt->auto_escape_shell &&
           memcmp(t->src, src, len) == 0;
}

static struct tpl *cache_lookup(const char *name, const char *src, size_t len,
                                const struct tpl_options *opt)
{
    for (size_t i = 0; i < cache_n; i++) {
        struct tpl *t = cache[i];
        if (!cache_match(t, name, src, len, opt))
            continue;
        memmove(&cache[1], &cache[0], i * sizeof(*cache));
        cache[0] = t;
        return tpl_ref(t);
    }
    return NULL;
}

static void cache_insert(struct tpl *t)
{
    if (cache_n == CACHE_MAX)
        tpl_unref(cache[--cache_n]);
    memmove(&cache[1], &cache[0], cache_n * sizeof(*cache));
    cache[0] = tpl_ref(t);
    cache_n++;
}

int tpl_compile_cached(const char *name, const char *src, size_t len,
                       const struct tpl_options *opt, struct tpl **out, struct err *e)
{
    struct tpl_options o;
    options_copy(&o, opt);
    name = name ? name : "input text";
    pthread_mutex_lock(&cache_lock);
    *out = cache_lookup(name, src, len, &o);
    pthread_mutex_unlock(&cache_lock);
    if (*out)
        return 0;
    int rc = tpl_compile(name, src, len, &o, out, e);
    if (rc)
        return rc;
    pthread_mutex_lock(&cache_lock);
    cache_insert(*out);
    pthread_mutex_unlock(&cache_lock);
    return 0;
}

void tpl_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    while (cache_n)
        tpl_unref(cache[--cache_n]);
    pthread_mutex_unlock(&cache_lock);
}

/* ================================================================ render */

static void limits_resolve(struct tpl_limits *l, const struct tpl_limits *in)
{
    memset(l, 0, sizeof(*l));
    if (in)
        *l = *in;
    if (!l->max_output)
        l->max_output = 4u << 20;
    if (!l->max_memory)
        l->max_memory = 64u << 20;
    if (!l->max_steps)
        l->max_steps = 5000000;
    if (!l->max_iterations)
        l->max_iterations = 1000000;
    if (!l->max_while)
        l->max_while = 1000;
    if (!l->max_depth)
        l->max_depth = 40;
    if (!l->max_ms)
        l->max_ms = 5000;
}

static bool trim_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Appends body to out, trimmed as SHM does unless the template says no_trim. */
static int emit(const struct tpl *t, const struct buf *body, struct buf *out, struct err *e)
{
    size_t i = 0, j = body->len;
    if (!t->opt.no_trim) {
        while (i < j && trim_space(body->data[i]))
            i++;
        while (j > i && trim_space(body->data[j - 1]))
            j--;
    }
    if (buf_append(out, body->data + i, j - i))
        return err_set(e, ERR_LIMIT, "template %s: output does not fit the caller's buffer",
                       t->name);
    return 0;
}

static _Thread_local unsigned render_depth;

static void ctx_release(struct tpl_ctx *cx, struct tpl_scope *root)
{
    tpl_value_drop(&root->vars);
    for (size_t i = 0; i < cx->nloaded; i++)
        tpl_unref(cx->loaded[i]);
    free(cx->loaded);
    tpl_re_cache_free(cx->re);
    free(cx->exc_type);
    tpl_value_drop(&cx->exc_info);
}

int tpl_render(const struct tpl *t, const struct tpl_env *env, struct buf *out, struct err *e)
{
    static const struct tpl_env no_env;
    struct err local;
    if (!e)
        e = &local;
    err_clear(e);
    struct tpl_ctx cx = {.env = env ? env : &no_env};
    cx.stack_base = (uintptr_t)__builtin_frame_address(0);
    limits_resolve(&cx.lim, cx.env->limits);
    clock_gettime(CLOCK_MONOTONIC, &cx.deadline);
    cx.deadline.tv_sec += cx.lim.max_ms / 1000;
    cx.deadline.tv_nsec += (long)(cx.lim.max_ms % 1000) * 1000000L;
    if (cx.deadline.tv_nsec >= 1000000000L) {
        cx.deadline.tv_sec++;
        cx.deadline.tv_nsec -= 1000000000L;
    }
    cx.mem_base = tpl_mem_live();
    cx.auto_shell = t->opt.auto_escape_shell;
    struct buf body;
    buf_init(&body, cx.lim.max_output);
    cx.out = &body;
    struct tpl_scope root = {.vars = tpl_hash_new()};
    cx.scope = &root;
    render_depth++;
    int rc = tpl_eval_root(&cx, t);
    if (rc)
        rc = tpl_eval_error(&cx, e);
    else
        rc = emit(t, &body, out, e);
    ctx_release(&cx, &root);
    buf_free(&body);
    if (--render_depth == 0)
        tpl_gc_collect();
    return rc;
}

int tpl_render_string(const char *name, const char *src, size_t len,
                      const struct tpl_options *opt, const struct tpl_env *env, struct buf *out,
                      struct err *e)
{
    struct tpl *t;
    int rc = tpl_compile(name, src, len, opt, &t, e);
    if (rc)
        return rc;
    rc = tpl_render(t, env, out, e);
    tpl_unref(t);
    return rc;
}
