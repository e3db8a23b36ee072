/*
 * tpl.h — the template engine: SHM's Template Toolkit 2 subset
 * (spec/templates.md §1–§5) compiled once and rendered many times.
 *
 *     struct tpl *t;
 *     if (tpl_compile("forecast", src, len, NULL, &t, &e))   // e: parse error
 *         ...;
 *     struct tpl_env env = { .vars = vars_hash, .loader = &ldr, .host = ctx };
 *     struct buf out; buf_init(&out, 0);
 *     if (tpl_render(t, &env, &out, &e))                     // e: runtime error
 *         ...;
 *     tpl_unref(t);
 *
 * Errors are "template <id>:<line>:<col>: <message>"; exceptions that reach
 * the top print as TT2 does: "<type> error - <info>". Rendering is sandboxed:
 * limits on output, steps, loop iterations, include depth, wall time and
 * memory (struct tpl_limits); templates reach nothing but the variables,
 * objects and loader the caller gives them (no environment, no files).
 *
 * A compiled template is immutable and reference-counted (atomically), so
 * one may be rendered by several threads at once; values (tpl_value.h) are
 * per thread. Perl blocks (PERL/RAWPERL, the perl/evalperl filters) are
 * refused at compile time (D6).
 *
 * Extending for the SHM object model: give the render a vars hash holding
 * host objects (tpl_object_new) and functions (tpl_func_new); nothing in the
 * evaluator needs to change. tpl_ctx_host() hands callbacks the caller's
 * context pointer; tpl_args_kv() reads SHM's key/value argument lists;
 * tpl_value_perl_list() applies Perl's list-return rule. A callback may call
 * tpl_render() itself (each render has its own limits).
 *
 * Resources: a render may use about 1 MiB of stack below its caller's frame
 * (deeper nesting is an error, not a crash), so run it on a normal 8 MiB
 * thread stack. Regular expressions use Perl syntax translated to POSIX ERE
 * (see tpl_filters.c for what is refused: back-references, look-around);
 * lazy quantifiers behave as greedy ones.
 */
#ifndef BILLD_TPL_H
#define BILLD_TPL_H

#include "../common.h"
#include "tpl_value.h"

struct buf;
struct tpl;

enum tpl_tags {
    TPL_TAGS_CURLY = 0, /* {{ … }} */
    TPL_TAGS_PERCENT,   /* <% … %> (first pass of Telegram bot scripts) */
};

/* Compile options. A zeroed struct (or NULL) is SHM's configuration (§1). */
struct tpl_options {
    enum tpl_tags tags;
    bool no_pre_chomp;      /* SHM: PRE_CHOMP = 1 */
    bool post_chomp;        /* SHM: off */
    bool no_trim;           /* SHM trims leading/trailing whitespace of the whole output */
    bool auto_escape_shell; /* D19: every {{ expr }} output goes through the shell filter */
};

/* Limits of one render. Zero fields take the defaults in brackets. */
struct tpl_limits {
    size_t max_output;       /* bytes of output, also of any one string [4 MiB] */
    size_t max_memory;       /* bytes of live values created by the render [64 MiB] */
    uint64_t max_steps;      /* evaluation steps [5 000 000] */
    uint64_t max_iterations; /* iterations of one FOREACH, size of a range [1 000 000] */
    uint32_t max_while;      /* iterations of one WHILE, as TT2 [1000] */
    uint32_t max_depth;      /* INCLUDE/PROCESS/WRAPPER/macro nesting [40] */
    uint32_t max_ms;         /* wall-clock milliseconds [5000] */
};

/*
 * Loads the source of another template for INCLUDE/PROCESS/INSERT/WRAPPER
 * (SHM: by id from the templates table). Append the text to src (capped by
 * the engine) and return 0, ERR_NOT_FOUND, or another error with e filled.
 */
struct tpl_loader {
    int (*load)(void *ud, const char *name, struct buf *src, struct err *e);
    void *ud;
};

/* What a render sees. All fields borrowed; any may be zero/NULL. */
struct tpl_env {
    const struct tpl_value *vars; /* a TPL_HASH of top-level variables (not modified) */
    const struct tpl_loader *loader;
    const struct tpl_limits *limits;
    void *host; /* for callbacks: tpl_ctx_host() */
};

/*
 * Compiles src (len bytes) as template `name`. *out is owned (tpl_unref).
 * Returns 0, or ERR_INVALID with e = "template <name>:<line>:<col>: …"
 * (parse errors, Perl blocks).
 */
int tpl_compile(const char *name, const char *src, size_t len, const struct tpl_options *opt,
                struct tpl **out, struct err *e);

/*
 * Like tpl_compile, through a process-wide cache keyed by name, options and
 * the exact source (compiled templates are shared; at most 256 are kept).
 */
int tpl_compile_cached(const char *name, const char *src, size_t len,
                       const struct tpl_options *opt, struct tpl **out, struct err *e);

/* Empties the compile cache (tests, template updates). */
void tpl_cache_clear(void);

struct tpl *tpl_ref(struct tpl *t);
void tpl_unref(struct tpl *t);
const char *tpl_name(const struct tpl *t);

/*
 * Renders t and appends the (trimmed, unless no_trim) output to out.
 * Returns 0 (STOP is not an error), ERR_INVALID for template errors
 * (uncaught exceptions, runtime errors), ERR_LIMIT when a limit was hit or
 * out's own cap is exceeded; e holds "template <id>:<line>:<col>: …". On
 * failure out is left unchanged.
 */
int tpl_render(const struct tpl *t, const struct tpl_env *env, struct buf *out, struct err *e);

/* Compiles with opt and renders in one call (for tests and one-offs). */
int tpl_render_string(const char *name, const char *src, size_t len,
                      const struct tpl_options *opt, const struct tpl_env *env, struct buf *out,
                      struct err *e);

/* The host pointer of the render a callback runs in (env->host). */
void *tpl_ctx_host(const struct tpl_ctx *cx);

#endif
