/*
 * tpl_int.h — internals shared by the template engine's files (not for
 * callers: they use tpl.h and tpl_value.h).
 *
 * Pipeline: tpl_lex.c splits the source into text and directive tokens
 * (TT2's split_text and chomping rules, §2.1), tpl_parse.c builds an AST in
 * the compiled template's arena, tpl_eval.c walks it with a render context
 * that enforces the limits, tpl_filters.c and tpl_vmethods.c hold the two
 * registries (filters §5, virtual methods §4). tpl_value.c is the value
 * model. Every AST node carries the line and column it came from.
 */
#ifndef BILLD_TPL_INT_H
#define BILLD_TPL_INT_H

#include "tpl.h"
#include "../util/buf.h"

#include <regex.h>
#include <stdatomic.h>
#include <time.h>

/* ================================================================ values */

/* Header of every collected value (lists, hashes, objects, functions). */
struct tpl_gc {
    struct tpl_gc *prev, *next; /* this thread's registry */
    uint32_t refs;
    uint8_t kind; /* enum tpl_type */
    uint8_t mark;
    int64_t gc_refs;
    uint64_t id; /* printed in ARRAY(0x…) */
};

#define TPL_STR_IMMORTAL UINT32_MAX

struct tpl_str {
    uint32_t refs; /* TPL_STR_IMMORTAL for literals owned by a compiled template */
    size_t len;
    char data[]; /* len bytes + NUL */
};

struct tpl_list {
    struct tpl_gc gc;
    struct tpl_value *items;
    size_t len, cap;
};

struct tpl_hent {
    char *key; /* NULL: deleted entry */
    size_t klen;
    uint64_t hash;
    struct tpl_value val;
};

struct tpl_hash {
    struct tpl_gc gc;
    struct tpl_hent *ents;
    size_t nents, cap, live;
    uint32_t *index; /* entry number + 1, 0 = empty; NULL while the hash is small */
    size_t index_size;
};

struct tpl_obj {
    struct tpl_gc gc;
    const struct tpl_object_ops *ops; /* TPL_OBJ */
    tpl_func_fn fn;                    /* TPL_FUNC */
    void *self;
    void (*free_self)(void *self); /* TPL_FUNC */
};

/* A string of len bytes to be filled in by the caller (NUL-terminated). */
struct tpl_value tpl_str_new(size_t len);
/* Builds an immortal string inside memory the caller owns (arena). */
struct tpl_str *tpl_str_init_static(void *mem, const char *s, size_t len);
size_t tpl_str_static_size(size_t len);
/* Reserves room for n more items. */
void tpl_list_reserve(struct tpl_value *list, size_t n);
/* Removes element i (returns it, owned). */
struct tpl_value tpl_list_remove(struct tpl_value *list, size_t i);
/* Inserts v (takes) before element i (i <= len). */
void tpl_list_insert(struct tpl_value *list, size_t i, struct tpl_value v);
/* [{key, value}, …] sorted by key (bytewise), as TT2 iterates a hash. Returns owned. */
struct tpl_value tpl_hash_pairs(const struct tpl_value *hash);
/* A shallow copy (returns owned). */
struct tpl_value tpl_list_copy(const struct tpl_value *list);
/* Parses Perl's numeric prefix of s. */
void tpl_num_parse(const char *s, size_t len, bool *is_int, int64_t *i, double *d);
/* True when the whole of s is a number (Perl's looks_like_number). */
bool tpl_looks_like_number(const char *s, size_t len);
/* Formats a double as Perl prints it into out (>= 32 bytes). Returns length. */
size_t tpl_num_format(double d, char *out);
/* A sequence number for ARRAY(0x…) of a new container. */
uint64_t tpl_gc_next_id(void);

/*
 * A borrowed string view of any value: scalars without allocating, others
 * through an owned buffer. Always sv_done() it.
 */
struct tpl_sv {
    const char *p;
    size_t n;
    char tmp[40];
    struct buf own;
    bool owned;
};
void sv_get(struct tpl_sv *sv, const struct tpl_value *v);
void sv_done(struct tpl_sv *sv);

/* ================================================================ tokens */

enum tpl_tok {
    TK_EOF = 0,
    TK_TEXT,     /* text outside tags (chomped) */
    TK_SEP,      /* ';' or the end of a tag */
    TK_IDENT,    /* name */
    TK_NUM,      /* number literal */
    TK_SQ,       /* 'single quoted' (raw content) */
    TK_DQ,       /* "double quoted" (raw content) */
    TK_FILENAME, /* unquoted template/block/exception name after INCLUDE & co */
    TK_KW,       /* reserved word; see enum tpl_kw */
    TK_DOT,
    TK_COMMA,
    TK_ASSIGN, /* = or => */
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_LBRACE,
    TK_RBRACE,
    TK_DOLLAR,       /* $ */
    TK_DOLLAR_BRACE, /* ${ */
    TK_PIPE,
    TK_QUESTION,
    TK_COLON,
    TK_RANGE, /* .. */
    TK_PLUS,
    TK_MINUS,
    TK_STAR,
    TK_SLASH,
    TK_PERCENT,
    TK_CAT, /* _ */
    TK_EQ,
    TK_NE,
    TK_LT,
    TK_LE,
    TK_GT,
    TK_GE,
    TK_AND, /* && and */
    TK_OR,  /* || or */
    TK_NOT, /* ! not */
    TK_DIV,
    TK_MOD,
};

enum tpl_kw {
    KW_NONE = 0,
    KW_GET, KW_CALL, KW_SET, KW_DEFAULT, KW_INSERT, KW_INCLUDE, KW_PROCESS, KW_WRAPPER,
    KW_BLOCK, KW_END, KW_USE, KW_PLUGIN, KW_FILTER, KW_MACRO, KW_PERL, KW_RAWPERL, KW_TO,
    KW_STEP, KW_IF, KW_UNLESS, KW_ELSE, KW_ELSIF, KW_FOR, KW_NEXT, KW_WHILE, KW_SWITCH,
    KW_CASE, KW_META, KW_IN, KW_TRY, KW_THROW, KW_CATCH, KW_FINAL, KW_LAST, KW_RETURN,
    KW_STOP, KW_CLEAR, KW_VIEW, KW_DEBUG, KW_TAGS,
};

struct tpl_token {
    enum tpl_tok type;
    enum tpl_kw kw;
    const char *s; /* into the source (TK_TEXT: the chomped text) */
    size_t len;
    uint32_t line, col;
};

struct tpl_lex_opts {
    const char *start_tag, *end_tag;
    bool pre_chomp, post_chomp;
};

struct tpl_tokens {
    struct tpl_token *v;
    size_t n, cap;
    char **owned; /* text copies made by chomping */
    size_t nowned;
};

/*
 * Splits and tokenises src. Token text points into src. Returns 0, or
 * ERR_INVALID with e = "<line>:<col>: message" (the caller adds the name).
 */
int tpl_lex(const char *src, size_t len, const struct tpl_lex_opts *o, struct tpl_tokens *out,
            struct err *e);
/* Tokenises one expression (the inside of ${ … } in a string) at line:col. */
int tpl_lex_expr(const char *s, size_t len, uint32_t line, uint32_t col, struct tpl_tokens *out,
                 struct err *e);
void tpl_tokens_free(struct tpl_tokens *t);
/* Keyword name for messages. */
const char *tpl_kw_name(enum tpl_kw kw);

/* ================================================================ AST */

struct tpl_arena_chunk;
struct tpl_arena {
    struct tpl_arena_chunk *head;
    size_t total;
};
void *tpl_arena_alloc(struct tpl_arena *a, size_t n);
char *tpl_arena_strndup(struct tpl_arena *a, const char *s, size_t n);
void tpl_arena_free(struct tpl_arena *a);

enum tpl_expr_kind {
    EX_LIT,     /* constant: lit */
    EX_STRING,  /* interpolated "…": parts concatenated */
    EX_VAR,     /* dotted variable: segs */
    EX_DOT,     /* postfix access on any expression: base + segs */
    EX_LIST,    /* [ items ] */
    EX_RANGE,   /* [ a .. b ] */
    EX_HASH,    /* { k => v } */
    EX_UNARY,   /* op a */
    EX_BINARY,  /* a op b */
    EX_AND,
    EX_OR,
    EX_TERNARY, /* a ? b : c */
    EX_FILTER,  /* a | filter(args) */
    EX_ASSIGN,  /* ( target = value ) */
    EX_CHAIN,   /* a < b <= c, a == b != c: Perl's chained comparisons */
};

struct tpl_expr;

struct tpl_argl {
    struct tpl_expr **pos;
    size_t npos;
    struct tpl_expr **nkey, **nval; /* named: key expressions and values */
    size_t nnamed;
};

struct tpl_seg {
    const char *name; /* static name (NUL-terminated), or NULL */
    size_t len;
    struct tpl_expr *dyn;  /* $x / ${expr} */
    struct tpl_argl *args; /* NULL: no parentheses */
};

struct tpl_filter_def;

struct tpl_expr {
    enum tpl_expr_kind kind;
    uint32_t line, col;
    union {
        struct tpl_value lit;
        struct {
            struct tpl_expr **parts;
            size_t n;
        } str;
        struct {
            struct tpl_expr *base; /* EX_DOT only */
            struct tpl_seg *segs;
            size_t n;
        } var;
        struct {
            struct tpl_expr **items;
            size_t n;
        } list;
        struct {
            struct tpl_expr **keys, **vals;
            size_t n;
        } hash;
        struct {
            enum tpl_tok op;
            struct tpl_expr *a, *b, *c;
        } op;
        struct {
            struct tpl_expr *in;
            const char *name;
            const struct tpl_filter_def *def; /* NULL: resolved (and reported) at run time */
            struct tpl_argl *args;
        } filter;
        struct {
            struct tpl_expr *target, *value;
        } assign;
        struct {
            struct tpl_expr **operands; /* n + 1 */
            enum tpl_tok *ops;          /* n */
            size_t n;
        } chain;
    } u;
};

enum tpl_node_kind {
    ND_BLOCK,    /* kids */
    ND_TEXT,     /* text */
    ND_GET,      /* expr */
    ND_SET,      /* assigns */
    ND_DEFAULT,  /* assigns */
    ND_CALL,     /* expr */
    ND_IF,       /* expr ? body : alt */
    ND_FOREACH,  /* var IN expr body */
    ND_WHILE,    /* expr body */
    ND_SWITCH,   /* expr, cases */
    ND_INCLUDE,  /* name, assigns */
    ND_PROCESS,  /* name, assigns */
    ND_INSERT,   /* name */
    ND_WRAPPER,  /* name, assigns, body */
    ND_MACRO,    /* var = name, params, body */
    ND_FILTER,   /* filter expr (in = NULL), body */
    ND_CAPTURE,  /* target = output of body */
    ND_NEXT,
    ND_LAST,
    ND_RETURN,
    ND_STOP,
    ND_CLEAR,
    ND_TRY,      /* body, cases (catch), alt (final) */
    ND_THROW,    /* name (type), expr (info), argl */
};

struct tpl_node;

struct tpl_assign {
    struct tpl_expr *target; /* EX_VAR (or an EX_LIT string naming a variable) */
    struct tpl_expr *value;
};

struct tpl_case {
    struct tpl_expr *match; /* SWITCH: NULL = default */
    const char *type;       /* CATCH: NULL = default */
    struct tpl_node *body;
};

/* A template name in INCLUDE & co: static, or an expression. */
struct tpl_name {
    const char *s;
    struct tpl_expr *dyn;
};

struct tpl_node {
    enum tpl_node_kind kind;
    uint32_t line, col;
    struct tpl_node *next; /* sibling in a block */
    struct tpl_node *kids; /* ND_BLOCK */
    struct tpl_node *body, *alt;
    struct tpl_expr *expr;
    const char *text; /* ND_TEXT */
    size_t len;
    const char *var; /* FOREACH variable, MACRO name */
    const char **params;
    size_t nparams;
    struct tpl_assign *assigns;
    size_t nassigns;
    struct tpl_case *cases;
    size_t ncases;
    struct tpl_name name;
    struct tpl_argl *argl; /* THROW extra arguments */
};

struct tpl_blockdef {
    const char *name;
    struct tpl_node *body;
    struct tpl_blockdef *next;
};

/* META name = 'value' of a template (TT2: template.name). */
struct tpl_meta {
    const char *name;
    struct tpl_value val; /* literal */
    struct tpl_meta *next;
};

/* A compiled template (opaque to callers). Immutable once built. */
struct tpl {
    atomic_int refs;
    char *name;
    struct tpl_options opt;
    struct tpl_arena arena;
    struct tpl_node *root;
    struct tpl_blockdef *blocks;
    struct tpl_meta *meta;
    char *src; /* the source, compared by the compile cache */
    size_t src_len;
};

/*
 * Parses tokens into t->root and t->blocks (allocated in t->arena).
 * Returns 0 or ERR_INVALID with e = "<line>:<col>: message".
 */
int tpl_parse(struct tpl *t, const struct tpl_tokens *toks, struct err *e);

/* ================================================================ render */

enum tpl_ctl {
    CTL_NONE = 0,
    CTL_NEXT,
    CTL_LAST,
    CTL_RETURN,
    CTL_STOP,
    CTL_ERROR,
};

struct tpl_scope {
    struct tpl_value vars; /* TPL_HASH */
    struct tpl_scope *parent;
};

struct tpl_frame {
    const struct tpl *t; /* the template whose nodes run (for BLOCK lookup and names) */
    struct tpl_frame *parent;
};

struct tpl_re_cache;

struct tpl_ctx {
    const struct tpl_env *env;
    struct tpl_limits lim;
    uint64_t steps;
    uintptr_t stack_base; /* where the render started: recursion is bounded by stack use */
    struct timespec deadline;
    size_t mem_base;
    unsigned depth;      /* INCLUDE/PROCESS/WRAPPER/macro nesting */
    unsigned loop_depth; /* enclosing loops in the current template */
    struct buf *out;
    size_t out_mark; /* CLEAR truncates the output back to here */
    struct tpl_scope *scope;
    struct tpl_frame *frame;
    bool auto_shell;
    /* position of what is being evaluated, for errors */
    const struct tpl *pos_t;
    uint32_t line, col;
    /* control flow and the pending exception */
    enum tpl_ctl ctl;
    char *exc_type;
    struct tpl_value exc_info;
    bool exc_fatal;
    char exc_where[160]; /* "template <id>:<line>:<col>" */
    /* templates loaded by INCLUDE/PROCESS during this render */
    struct tpl **loaded;
    size_t nloaded;
    struct tpl_re_cache *re;
};

/* Raises a catchable exception of the given type (info printf-formatted). Returns -1. */
int tpl_throw(struct tpl_ctx *cx, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Raises an exception with info as a value (takes info). Returns -1. */
int tpl_throw_value(struct tpl_ctx *cx, const char *type, struct tpl_value info);
/* Raises an uncatchable error (limits, unsupported features). Returns -1. */
int tpl_fatal(struct tpl_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Counts n evaluation steps; checks steps, time and memory. Returns 0 or -1 (raised). */
int tpl_step(struct tpl_ctx *cx, uint64_t n);
/* Checks that a string of len bytes may be built. Returns 0 or -1 (raised). */
int tpl_check_len(struct tpl_ctx *cx, size_t len);
/* Calls a function value with args (returns owned result in *out). */
int tpl_call_value(struct tpl_ctx *cx, const struct tpl_value *fn, const struct tpl_args *args,
                   struct tpl_value *out);
/* Runs t's body in cx (set up by tpl_render); STOP and RETURN end it normally. */
int tpl_eval_root(struct tpl_ctx *cx, const struct tpl *t);
/* Formats the pending exception into e ("template <id>:<l>:<c>: …"), clears it, returns the code. */
int tpl_eval_error(struct tpl_ctx *cx, struct err *e);
/* root.key without arguments, as a dotted access would do (sorting by field, pluck). */
int tpl_member(struct tpl_ctx *cx, const struct tpl_value *root, const char *key, size_t klen,
               struct tpl_value *out);
/* Renders text as a template in the current context (the eval filter). */
int tpl_eval_text(struct tpl_ctx *cx, const char *src, size_t len, struct tpl_value *out);
/* Applies the shell filter's quoting to s, appending to b. */
int tpl_shell_quote(const char *s, size_t len, struct buf *b);

/* ================================================================ registries */

/* A filter: reads in (borrowed), writes *out (owned). Returns 0 or -1 (raised). */
typedef int (*tpl_filter_fn)(struct tpl_ctx *cx, const struct tpl_value *in,
                             const struct tpl_args *args, struct tpl_value *out);

struct tpl_filter_def {
    const char *name;
    tpl_filter_fn fn;
};

/* Looks a filter up by name; NULL when unknown. */
const struct tpl_filter_def *tpl_filter_find(const char *name, size_t len);

/* A virtual method on self (borrowed; lists and hashes may be changed in place). */
typedef int (*tpl_vmethod_fn)(struct tpl_ctx *cx, const struct tpl_value *self,
                              const struct tpl_args *args, struct tpl_value *out);

enum tpl_vm_table { VM_SCALAR, VM_LIST, VM_HASH };

tpl_vmethod_fn tpl_vmethod_find(enum tpl_vm_table table, const char *name, size_t len);

/* ---- text helpers shared by filters and virtual methods (tpl_filters.c) ---- */

enum tpl_case_op { CASE_UPPER, CASE_LOWER, CASE_UCFIRST, CASE_LCFIRST };
int tpl_text_case(const char *s, size_t n, enum tpl_case_op op, struct buf *b);
/* TT's trim (collapse = also squeeze inner whitespace runs to one space). */
int tpl_text_trim(const char *s, size_t n, bool collapse, struct buf *b);
int tpl_text_html(const char *s, size_t n, bool xml, struct buf *b);
/* Number of UTF-8 characters (invalid bytes count one each). */
size_t tpl_utf8_len(const char *s, size_t n);
/* Byte offset of character index ci (clamped to n). */
size_t tpl_utf8_offset(const char *s, size_t n, size_t ci);
/* Makes a string value from a buffer (the buffer is released). */
struct tpl_value tpl_str_from_buf(struct buf *b);

/* ---- regular expressions (Perl syntax translated to POSIX ERE) ---- */

struct tpl_re {
    regex_t rx;
    size_t ngroups;   /* Perl capture groups */
    size_t *map;      /* POSIX group of Perl group g (1-based), index g */
    size_t nposix;    /* POSIX groups */
};

/* Compiles (or fetches from the render's cache) pattern. Returns NULL after raising. */
const struct tpl_re *tpl_re_get(struct tpl_ctx *cx, const char *pat, size_t len);
/*
 * Finds the first match at or after byte `from`. m[0..ngroups] receive the
 * Perl groups (rm_so = -1 when unset). Returns 1 matched, 0 no match.
 */
int tpl_re_exec(const struct tpl_re *re, const char *s, size_t len, size_t from,
                regmatch_t *m, size_t nm);
void tpl_re_cache_free(struct tpl_re_cache *c);
/* Global substitution: replacement literal, or with $1… when dollars is set. */
int tpl_re_replace(struct tpl_ctx *cx, const struct tpl_re *re, const char *s, size_t n,
                   const char *rep, size_t rn, bool dollars, bool global, struct buf *b);

#endif
