/*
 * tpl_parse.c — recursive-descent parser from tokens (tpl_lex.c) to the AST
 * (tpl_int.h), allocated in the compiled template's arena.
 *
 * Grammar (templates.md §2): a block is a sequence of text and statements,
 * each statement ends with ';' or the end of its tag. Statements are the
 * block directives (IF/UNLESS/ELSIF/ELSE, FOREACH/FOR, WHILE, SWITCH/CASE,
 * BLOCK, MACRO, FILTER, TRY/CATCH/FINAL, WRAPPER, each closed by END) and
 * atoms (GET, CALL, SET, DEFAULT, INSERT, INCLUDE, PROCESS, THROW, RETURN,
 * STOP, CLEAR, NEXT, LAST, assignments, captures `x = BLOCK … END`, bare
 * expressions), optionally followed by postfix IF/UNLESS/FOREACH/WHILE/
 * FILTER/WRAPPER. Expression precedence is Perl's, which TT2 inherits by
 * compiling to Perl: ?: < || < && < == != < < <= > >= < + - _ < * / % mod <
 * div < unary ! - < postfix `.`, calls; comparisons chain (Perl 5.32+).
 * Filters (`| f`) apply to a whole expression. PERL/RAWPERL are refused here (D6).
 *
 * Nesting is capped (MAX_NEST) so hostile input cannot exhaust the stack.
 */
#include "../common.h"
#include "tpl_int.h"

#include <errno.h>

#define MAX_NEST 150

/* ---------------------------------------------------------------- arena */

struct tpl_arena_chunk {
    struct tpl_arena_chunk *next;
    size_t used, size;
    max_align_t data[];
};

void *tpl_arena_alloc(struct tpl_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct tpl_arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > 16384 ? n : 16384;
        c = xmalloc(sizeof(*c) + size);
        c->next = a->head;
        c->used = 0;
        c->size = size;
        a->head = c;
        a->total += size;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *tpl_arena_strndup(struct tpl_arena *a, const char *s, size_t n)
{
    char *p = tpl_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void tpl_arena_free(struct tpl_arena *a)
{
    struct tpl_arena_chunk *c = a->head;
    while (c) {
        struct tpl_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}

/* ---------------------------------------------------------------- parser state */

struct parser {
    struct tpl *t;
    const struct tpl_token *tok;
    size_t n, i;
    struct err *e;
    int nest;
    char bpath[512]; /* enclosing BLOCK names, "a/b" */
};

/* A growable array of pointers, copied into the arena when done. */
struct vec {
    void **v;
    size_t n, cap;
};

static void vec_push(struct vec *v, void *x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->v = xrealloc(v->v, v->cap * sizeof(void *));
    }
    v->v[v->n++] = x;
}

static void *vec_finish(struct parser *p, struct vec *v, size_t *n)
{
    *n = v->n;
    void **a = v->n ? tpl_arena_alloc(&p->t->arena, v->n * sizeof(void *)) : NULL;
    if (v->n)
        memcpy(a, v->v, v->n * sizeof(void *));
    free(v->v);
    memset(v, 0, sizeof(*v));
    return a;
}

static void vec_free(struct vec *v)
{
    free(v->v);
    memset(v, 0, sizeof(*v));
}

static const struct tpl_token *peek(struct parser *p)
{
    return &p->tok[p->i < p->n ? p->i : p->n - 1];
}

static const struct tpl_token *peek_at(struct parser *p, size_t k)
{
    size_t j = p->i + k;
    return &p->tok[j < p->n ? j : p->n - 1];
}

static const struct tpl_token *next(struct parser *p)
{
    const struct tpl_token *t = peek(p);
    if (p->i < p->n - 1)
        p->i++;
    return t;
}

static bool is_tok(struct parser *p, enum tpl_tok type)
{
    return peek(p)->type == type;
}

static bool is_kw(struct parser *p, enum tpl_kw kw)
{
    return peek(p)->type == TK_KW && peek(p)->kw == kw;
}

static bool accept(struct parser *p, enum tpl_tok type)
{
    if (!is_tok(p, type))
        return false;
    next(p);
    return true;
}

static bool accept_kw(struct parser *p, enum tpl_kw kw)
{
    if (!is_kw(p, kw))
        return false;
    next(p);
    return true;
}

/* ---------------------------------------------------------------- errors */

static int perr(struct parser *p, const struct tpl_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, const struct tpl_token *t, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->e->code == ERR_OK)
        err_set(p->e, ERR_INVALID, "%u:%u: parse error - %s", t->line, t->col, msg);
    return ERR_INVALID;
}

/* "unexpected …" for the current token. */
static int unexpected(struct parser *p)
{
    const struct tpl_token *t = peek(p);
    switch (t->type) {
    case TK_EOF:
        return perr(p, t, "unexpected end of template");
    case TK_SEP:
        return perr(p, t, t->len ? "unexpected ';'" : "unexpected end of directive");
    case TK_TEXT:
        return perr(p, t, "unexpected text");
    case TK_SQ:
    case TK_DQ:
        return perr(p, t, "unexpected string '%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
    default:
        return perr(p, t, "unexpected token '%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
    }
}

static bool expect(struct parser *p, enum tpl_tok type)
{
    if (accept(p, type))
        return true;
    unexpected(p);
    return false;
}

static bool enter(struct parser *p)
{
    if (++p->nest > MAX_NEST) {
        perr(p, peek(p), "nesting too deep (more than %d levels)", MAX_NEST);
        return false;
    }
    return true;
}

static void leave(struct parser *p)
{
    p->nest--;
}

/* ---------------------------------------------------------------- constructors */

static struct tpl_expr *mkexpr(struct parser *p, enum tpl_expr_kind kind, const struct tpl_token *t)
{
    struct tpl_expr *x = tpl_arena_alloc(&p->t->arena, sizeof(*x));
    x->kind = kind;
    x->line = t->line;
    x->col = t->col;
    return x;
}

static struct tpl_node *mknode(struct parser *p, enum tpl_node_kind kind, const struct tpl_token *t)
{
    struct tpl_node *n = tpl_arena_alloc(&p->t->arena, sizeof(*n));
    n->kind = kind;
    n->line = t->line;
    n->col = t->col;
    return n;
}

static struct tpl_value lit_str(struct parser *p, const char *s, size_t n)
{
    struct tpl_value v = {.type = TPL_STR};
    v.u.s = tpl_str_init_static(tpl_arena_alloc(&p->t->arena, tpl_str_static_size(n)), s, n);
    return v;
}

static struct tpl_expr *mklit_str(struct parser *p, const struct tpl_token *t, const char *s,
                                  size_t n)
{
    struct tpl_expr *x = mkexpr(p, EX_LIT, t);
    x->u.lit = lit_str(p, s, n);
    return x;
}

/* ---------------------------------------------------------------- literals */

static struct tpl_expr *parse_number(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct tpl_expr *x = mkexpr(p, EX_LIT, t);
    char tmp[64];
    if (t->len >= sizeof(tmp)) {
        perr(p, t, "number too long");
        return NULL;
    }
    memcpy(tmp, t->s, t->len);
    tmp[t->len] = '\0';
    if (memchr(tmp, '.', t->len)) {
        x->u.lit = tpl_num(strtod(tmp, NULL));
        return x;
    }
    int base = (t->len > 1 && tmp[0] == '0') ? 8 : 10; /* Perl reads 010 as octal */
    if (base == 8 && strspn(tmp, "01234567") != t->len) {
        perr(p, t, "illegal octal digit in '%s'", tmp);
        return NULL;
    }
    errno = 0;
    long long v = strtoll(tmp, NULL, base);
    x->u.lit = errno ? tpl_num(strtod(tmp, NULL)) : tpl_int(v);
    return x;
}

/* Unescapes a single-quoted string: only \' and \\ are escapes. */
static struct tpl_expr *parse_squote(struct parser *p)
{
    const struct tpl_token *t = next(p);
    char *s = tpl_arena_alloc(&p->t->arena, t->len + 1);
    size_t n = 0;
    for (size_t i = 0; i < t->len; i++) {
        if (t->s[i] == '\\' && i + 1 < t->len && (t->s[i + 1] == '\'' || t->s[i + 1] == '\\'))
            i++;
        s[n++] = t->s[i];
    }
    return mklit_str(p, t, s, n);
}

/* Moves a line/column position over n bytes of s. */
static void advance_pos(uint32_t *line, uint32_t *col, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)s[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static struct tpl_expr *parse_expr(struct parser *p);
static struct tpl_expr *parse_expr_filtered(struct parser *p);

/* Parses "${ expr }" text (tokenised separately) into an expression. */
static struct tpl_expr *parse_embedded(struct parser *p, const char *s, size_t n, uint32_t line,
                                       uint32_t col)
{
    struct tpl_tokens toks = {0};
    if (tpl_lex_expr(s, n, line, col, &toks, p->e)) {
        tpl_tokens_free(&toks);
        return NULL;
    }
    struct parser sub = {.t = p->t, .tok = toks.v, .n = toks.n, .e = p->e, .nest = p->nest};
    struct tpl_expr *x = NULL;
    if (is_tok(&sub, TK_EOF))
        perr(&sub, peek(&sub), "empty ${} in string");
    else if ((x = parse_expr_filtered(&sub)) && !is_tok(&sub, TK_EOF)) {
        unexpected(&sub);
        x = NULL;
    }
    tpl_tokens_free(&toks);
    return x;
}

/* A "$a.b.0" path inside a string: segments from the dotted words. */
static struct tpl_expr *interp_path(struct parser *p, const struct tpl_token *t, const char *s,
                                    size_t n, uint32_t line, uint32_t col)
{
    struct tpl_expr *x = mkexpr(p, EX_VAR, t);
    x->line = line;
    x->col = col;
    size_t nseg = 1;
    for (size_t i = 0; i < n; i++)
        nseg += s[i] == '.';
    x->u.var.segs = tpl_arena_alloc(&p->t->arena, nseg * sizeof(struct tpl_seg));
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        if (i > start) {
            struct tpl_seg *sg = &x->u.var.segs[k++];
            sg->name = tpl_arena_strndup(&p->t->arena, s + start, i - start);
            sg->len = i - start;
        }
        start = i + 1;
    }
    x->u.var.n = k;
    return x;
}

static void str_flush(struct parser *p, struct vec *parts, const struct tpl_token *t,
                      struct buf *lit)
{
    if (!lit->len)
        return;
    vec_push(parts, mklit_str(p, t, lit->data, lit->len));
    buf_reset(lit);
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* One "$…" interpolation at s[i] (the '$'); returns the index after it, or 0 on error. */
static size_t parse_interp(struct parser *p, const struct tpl_token *t, size_t i,
                           struct vec *parts, struct buf *lit)
{
    const char *s = t->s;
    size_t n = t->len;
    uint32_t line = t->line, col = t->col + 1;
    advance_pos(&line, &col, s, i);
    if (i + 1 < n && s[i + 1] == '{') {
        const char *close = memchr(s + i + 2, '}', n - i - 2);
        if (!close) {
            perr(p, t, "missing '}' after '${' in string");
            return 0;
        }
        str_flush(p, parts, t, lit);
        struct tpl_expr *x = parse_embedded(p, s + i + 2, (size_t)(close - s) - i - 2, line,
                                            col + 2);
        if (!x)
            return 0;
        vec_push(parts, x);
        return (size_t)(close - s) + 1;
    }
    size_t j = i + 1;
    while (j < n && (is_word_char(s[j]) || s[j] == '.'))
        j++;
    size_t end = j;
    while (end > i + 1 && s[end - 1] == '.') /* "costs $price." keeps the dot as text */
        end--;
    if (end == i + 1) {
        buf_putc(lit, '$');
        return i + 1;
    }
    str_flush(p, parts, t, lit);
    vec_push(parts, interp_path(p, t, s + i + 1, end - i - 1, line, col));
    return end;
}

/* A double-quoted string: escapes \n \t \r \$ \\ \", and $var / ${expr}. */
static struct tpl_expr *parse_dquote(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct vec parts = {0};
    struct buf lit;
    buf_init(&lit, 0);
    const char *s = t->s;
    for (size_t i = 0; i < t->len;) {
        if (s[i] == '\\' && i + 1 < t->len) {
            char c = s[i + 1];
            buf_putc(&lit, c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c);
            i += 2;
        } else if (s[i] == '$') {
            if (!(i = parse_interp(p, t, i, &parts, &lit))) {
                vec_free(&parts);
                buf_free(&lit);
                return NULL;
            }
        } else {
            buf_putc(&lit, s[i++]);
        }
    }
    struct tpl_expr *x;
    if (!parts.n) {
        x = mklit_str(p, t, lit.data, lit.len);
        vec_free(&parts);
    } else {
        str_flush(p, &parts, t, &lit);
        x = mkexpr(p, EX_STRING, t);
        x->u.str.parts = vec_finish(p, &parts, &x->u.str.n);
    }
    buf_free(&lit);
    return x;
}

/* ---------------------------------------------------------------- arguments */

/* True when the tokens at the cursor are `key =` (named argument / hash pair). */
static bool at_named(struct parser *p)
{
    const struct tpl_token *t = peek(p);
    switch (t->type) {
    case TK_IDENT:
    case TK_KW:
    case TK_AND:
    case TK_OR:
    case TK_NOT:
    case TK_DIV:
    case TK_MOD:
    case TK_SQ:
    case TK_DQ:
    case TK_NUM:
        return peek_at(p, 1)->type == TK_ASSIGN;
    case TK_DOLLAR:
        return peek_at(p, 1)->type == TK_IDENT && peek_at(p, 2)->type == TK_ASSIGN;
    default:
        return false;
    }
}

static struct tpl_expr *parse_var(struct parser *p);

/* The key of a named argument or hash pair (at_named() was true). */
static struct tpl_expr *parse_key(struct parser *p)
{
    const struct tpl_token *t = peek(p);
    if (t->type == TK_SQ)
        return parse_squote(p);
    if (t->type == TK_DQ)
        return parse_dquote(p);
    if (t->type == TK_DOLLAR) { /* $k = …: the key is the value of k */
        next(p);
        return parse_var(p);
    }
    next(p);
    return mklit_str(p, t, t->s, t->len);
}

static struct tpl_argl *parse_args(struct parser *p)
{
    struct vec pos = {0}, keys = {0}, vals = {0};
    struct tpl_argl *a = tpl_arena_alloc(&p->t->arena, sizeof(*a));
    next(p); /* ( */
    while (!is_tok(p, TK_RPAREN)) {
        if (accept(p, TK_COMMA))
            continue;
        if (at_named(p)) {
            struct tpl_expr *k = parse_key(p), *v = NULL;
            if (k && expect(p, TK_ASSIGN))
                v = parse_expr(p);
            if (!v)
                goto fail;
            vec_push(&keys, k);
            vec_push(&vals, v);
        } else {
            struct tpl_expr *x = parse_expr(p);
            if (!x)
                goto fail;
            vec_push(&pos, x);
        }
    }
    next(p);
    a->pos = vec_finish(p, &pos, &a->npos);
    a->nkey = vec_finish(p, &keys, &a->nnamed);
    a->nval = vec_finish(p, &vals, &a->nnamed);
    return a;
fail:
    vec_free(&pos);
    vec_free(&keys);
    vec_free(&vals);
    return NULL;
}

/* ---------------------------------------------------------------- variables */

/* One segment: name, number, $var or ${expr}, with optional (args). */
static bool parse_seg(struct parser *p, struct tpl_seg *sg, bool first)
{
    const struct tpl_token *t = peek(p);
    if (t->type == TK_IDENT || (!first && (t->type == TK_NUM || t->type == TK_KW ||
                                           t->type == TK_AND || t->type == TK_OR ||
                                           t->type == TK_NOT || t->type == TK_DIV ||
                                           t->type == TK_MOD))) {
        next(p);
        sg->name = tpl_arena_strndup(&p->t->arena, t->s, t->len);
        sg->len = t->len;
    } else if (!first && t->type == TK_MINUS && peek_at(p, 1)->type == TK_NUM) {
        next(p); /* list.-1 */
        const struct tpl_token *num = next(p);
        char *nm = tpl_arena_alloc(&p->t->arena, num->len + 2);
        nm[0] = '-';
        memcpy(nm + 1, num->s, num->len);
        sg->name = nm;
        sg->len = num->len + 1;
    } else if (t->type == TK_DOLLAR) {
        next(p);
        if (!is_tok(p, TK_IDENT)) {
            unexpected(p);
            return false;
        }
        struct tpl_expr *x = mkexpr(p, EX_VAR, peek(p));
        x->u.var.segs = tpl_arena_alloc(&p->t->arena, sizeof(struct tpl_seg));
        x->u.var.n = 1;
        const struct tpl_token *id = next(p);
        x->u.var.segs[0].name = tpl_arena_strndup(&p->t->arena, id->s, id->len);
        x->u.var.segs[0].len = id->len;
        sg->dyn = x;
    } else if (t->type == TK_DOLLAR_BRACE) {
        next(p);
        if (!(sg->dyn = parse_expr(p)) || !expect(p, TK_RBRACE))
            return false;
    } else {
        unexpected(p);
        return false;
    }
    if (is_tok(p, TK_LPAREN) && !(sg->args = parse_args(p)))
        return false;
    return true;
}

/* Segments after a base: `.name(args)` … */
static bool parse_segs(struct parser *p, struct vec *segs)
{
    while (is_tok(p, TK_DOT)) {
        next(p);
        struct tpl_seg *sg = tpl_arena_alloc(&p->t->arena, sizeof(*sg));
        if (!parse_seg(p, sg, false))
            return false;
        vec_push(segs, sg);
    }
    return true;
}

static void segs_to_array(struct parser *p, struct vec *segs, struct tpl_expr *x)
{
    x->u.var.n = segs->n;
    x->u.var.segs = tpl_arena_alloc(&p->t->arena, (segs->n ? segs->n : 1) * sizeof(struct tpl_seg));
    for (size_t i = 0; i < segs->n; i++)
        x->u.var.segs[i] = *(struct tpl_seg *)segs->v[i];
    vec_free(segs);
}

static struct tpl_expr *parse_var(struct parser *p)
{
    struct tpl_expr *x = mkexpr(p, EX_VAR, peek(p));
    struct vec segs = {0};
    struct tpl_seg *first = tpl_arena_alloc(&p->t->arena, sizeof(*first));
    vec_push(&segs, first);
    if (!parse_seg(p, first, true) || !parse_segs(p, &segs)) {
        vec_free(&segs);
        return NULL;
    }
    segs_to_array(p, &segs, x);
    return x;
}

/* ---------------------------------------------------------------- expressions */

static struct tpl_expr *parse_list(struct parser *p)
{
    const struct tpl_token *t = next(p); /* [ */
    struct vec items = {0};
    while (!is_tok(p, TK_RBRACKET)) {
        if (accept(p, TK_COMMA))
            continue;
        struct tpl_expr *x = parse_expr(p);
        if (!x) {
            vec_free(&items);
            return NULL;
        }
        if (items.n == 0 && accept(p, TK_RANGE)) {
            struct tpl_expr *r = mkexpr(p, EX_RANGE, t);
            r->u.op.a = x;
            if (!(r->u.op.b = parse_expr(p)) || !expect(p, TK_RBRACKET))
                return NULL;
            return r;
        }
        vec_push(&items, x);
    }
    next(p);
    struct tpl_expr *l = mkexpr(p, EX_LIST, t);
    l->u.list.items = vec_finish(p, &items, &l->u.list.n);
    return l;
}

static struct tpl_expr *parse_hash(struct parser *p)
{
    const struct tpl_token *t = next(p); /* { */
    struct vec keys = {0}, vals = {0};
    while (!is_tok(p, TK_RBRACE)) {
        if (accept(p, TK_COMMA))
            continue;
        struct tpl_expr *k = NULL, *v = NULL;
        if (at_named(p) || is_tok(p, TK_DOLLAR_BRACE)) {
            if (is_tok(p, TK_DOLLAR_BRACE)) {
                next(p);
                k = parse_expr(p);
                if (k && !expect(p, TK_RBRACE))
                    k = NULL;
            } else {
                k = parse_key(p);
            }
            if (k && expect(p, TK_ASSIGN))
                v = parse_expr(p);
        } else {
            unexpected(p);
        }
        if (!v) {
            vec_free(&keys);
            vec_free(&vals);
            return NULL;
        }
        vec_push(&keys, k);
        vec_push(&vals, v);
    }
    next(p);
    struct tpl_expr *h = mkexpr(p, EX_HASH, t);
    h->u.hash.keys = vec_finish(p, &keys, &h->u.hash.n);
    h->u.hash.vals = vec_finish(p, &vals, &h->u.hash.n);
    return h;
}

static bool is_lvalue(const struct tpl_expr *x)
{
    return x->kind == EX_VAR || (x->kind == EX_LIT && x->u.lit.type == TPL_STR);
}

static struct tpl_expr *parse_paren(struct parser *p)
{
    const struct tpl_token *t = next(p); /* ( */
    struct tpl_expr *x = parse_expr_filtered(p);
    if (!x)
        return NULL;
    if (is_tok(p, TK_ASSIGN)) {
        if (!is_lvalue(x)) {
            perr(p, peek(p), "cannot assign to this expression");
            return NULL;
        }
        next(p);
        struct tpl_expr *a = mkexpr(p, EX_ASSIGN, t);
        a->u.assign.target = x;
        if (!(a->u.assign.value = parse_expr_filtered(p)))
            return NULL;
        x = a;
    }
    return expect(p, TK_RPAREN) ? x : NULL;
}

static struct tpl_expr *parse_primary(struct parser *p)
{
    switch (peek(p)->type) {
    case TK_NUM:
        return parse_number(p);
    case TK_SQ:
        return parse_squote(p);
    case TK_DQ:
        return parse_dquote(p);
    case TK_LBRACKET:
        return parse_list(p);
    case TK_LBRACE:
        return parse_hash(p);
    case TK_LPAREN:
        return parse_paren(p);
    case TK_IDENT:
    case TK_DOLLAR:
    case TK_DOLLAR_BRACE:
        return parse_var(p);
    default:
        unexpected(p);
        return NULL;
    }
}

/* Postfix `.member` on a non-variable term: "abc".length, [1,2].size, (x).y. */
static struct tpl_expr *parse_postfix(struct parser *p)
{
    struct tpl_expr *x = parse_primary(p);
    if (!x || x->kind == EX_VAR || !is_tok(p, TK_DOT))
        return x;
    struct tpl_expr *d = mkexpr(p, EX_DOT, peek(p));
    d->u.var.base = x;
    struct vec segs = {0};
    if (!parse_segs(p, &segs)) {
        vec_free(&segs);
        return NULL;
    }
    segs_to_array(p, &segs, d);
    return d;
}

static struct tpl_expr *parse_unary(struct parser *p)
{
    const struct tpl_token *t = peek(p);
    if (!enter(p))
        return NULL;
    struct tpl_expr *x;
    if (t->type == TK_NOT || t->type == TK_MINUS) {
        next(p);
        x = mkexpr(p, EX_UNARY, t);
        x->u.op.op = t->type;
        if (!(x->u.op.a = parse_unary(p)))
            x = NULL;
    } else if (t->type == TK_PLUS) {
        next(p);
        x = parse_unary(p);
    } else {
        x = parse_postfix(p);
    }
    leave(p);
    return x;
}

typedef struct tpl_expr *(*parse_fn)(struct parser *p);

/* One left-associative binary level: operands from `sub`, operators in ops. */
static struct tpl_expr *parse_level(struct parser *p, parse_fn sub, const enum tpl_tok *ops,
                                    size_t nops, enum tpl_expr_kind kind)
{
    struct tpl_expr *l = sub(p);
    while (l) {
        const struct tpl_token *t = peek(p);
        size_t k = 0;
        while (k < nops && ops[k] != t->type)
            k++;
        if (k == nops)
            break;
        next(p);
        struct tpl_expr *r = sub(p);
        if (!r)
            return NULL;
        struct tpl_expr *b = mkexpr(p, kind, t);
        b->u.op.op = t->type;
        b->u.op.a = l;
        b->u.op.b = r;
        l = b;
    }
    return l;
}

static struct tpl_expr *parse_div(struct parser *p)
{
    static const enum tpl_tok ops[] = {TK_DIV};
    return parse_level(p, parse_unary, ops, ARRAY_SIZE(ops), EX_BINARY);
}

static struct tpl_expr *parse_mul(struct parser *p)
{
    static const enum tpl_tok ops[] = {TK_STAR, TK_SLASH, TK_PERCENT, TK_MOD};
    return parse_level(p, parse_div, ops, ARRAY_SIZE(ops), EX_BINARY);
}

static struct tpl_expr *parse_add(struct parser *p)
{
    static const enum tpl_tok ops[] = {TK_PLUS, TK_MINUS, TK_CAT};
    return parse_level(p, parse_mul, ops, ARRAY_SIZE(ops), EX_BINARY);
}

static bool tok_in(enum tpl_tok t, const enum tpl_tok *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i] == t)
            return true;
    return false;
}

/* Comparisons chain as in Perl 5.32+: a < b <= c is a < b && b <= c. */
static struct tpl_expr *parse_chain(struct parser *p, parse_fn sub, const enum tpl_tok *ops,
                                    size_t nops)
{
    struct tpl_expr *first = sub(p);
    if (!first || !tok_in(peek(p)->type, ops, nops))
        return first;
    struct vec operands = {0}, optoks = {0};
    const struct tpl_token *t0 = peek(p);
    vec_push(&operands, first);
    while (tok_in(peek(p)->type, ops, nops)) {
        vec_push(&optoks, (void *)next(p));
        struct tpl_expr *x = sub(p);
        if (!x) {
            vec_free(&operands);
            vec_free(&optoks);
            return NULL;
        }
        vec_push(&operands, x);
    }
    struct tpl_expr *c;
    if (optoks.n == 1) {
        c = mkexpr(p, EX_BINARY, optoks.v[0]);
        c->u.op.op = ((const struct tpl_token *)optoks.v[0])->type;
        c->u.op.a = operands.v[0];
        c->u.op.b = operands.v[1];
    } else {
        c = mkexpr(p, EX_CHAIN, t0);
        c->u.chain.ops = tpl_arena_alloc(&p->t->arena, optoks.n * sizeof(enum tpl_tok));
        for (size_t i = 0; i < optoks.n; i++)
            c->u.chain.ops[i] = ((const struct tpl_token *)optoks.v[i])->type;
        size_t n;
        c->u.chain.operands = vec_finish(p, &operands, &n);
        c->u.chain.n = n - 1;
    }
    vec_free(&operands);
    vec_free(&optoks);
    return c;
}

static struct tpl_expr *parse_rel(struct parser *p)
{
    static const enum tpl_tok ops[] = {TK_LT, TK_LE, TK_GT, TK_GE};
    return parse_chain(p, parse_add, ops, ARRAY_SIZE(ops));
}

static struct tpl_expr *parse_eq(struct parser *p)
{
    static const enum tpl_tok ops[] = {TK_EQ, TK_NE};
    return parse_chain(p, parse_rel, ops, ARRAY_SIZE(ops));
}

static struct tpl_expr *parse_and(struct parser *p)
{
    static const enum tpl_tok ops[] = {TK_AND};
    return parse_level(p, parse_eq, ops, ARRAY_SIZE(ops), EX_AND);
}

static struct tpl_expr *parse_or(struct parser *p)
{
    static const enum tpl_tok ops[] = {TK_OR};
    return parse_level(p, parse_and, ops, ARRAY_SIZE(ops), EX_OR);
}

static struct tpl_expr *parse_expr(struct parser *p)
{
    if (!enter(p))
        return NULL;
    struct tpl_expr *c = parse_or(p);
    if (c && is_tok(p, TK_QUESTION)) {
        struct tpl_expr *x = mkexpr(p, EX_TERNARY, next(p));
        x->u.op.a = c;
        if (!(x->u.op.b = parse_expr(p)) || !expect(p, TK_COLON) || !(x->u.op.c = parse_expr(p)))
            c = NULL;
        else
            c = x;
    }
    leave(p);
    return c;
}

static bool word_eq(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* `name` or `name(args)` after `|` / FILTER. */
static bool parse_filter_ref(struct parser *p, struct tpl_expr *f)
{
    const struct tpl_token *t = peek(p);
    if (t->type != TK_IDENT && t->type != TK_KW) { /* `| perl` lexes as a keyword */
        unexpected(p);
        return false;
    }
    next(p);
    f->u.filter.name = tpl_arena_strndup(&p->t->arena, t->s, t->len);
    f->u.filter.def = tpl_filter_find(t->s, t->len);
    if (word_eq(t->s, t->len, "perl") || word_eq(t->s, t->len, "evalperl")) {
        perr(p, t, "Perl blocks are not supported (line %u)", t->line);
        return false;
    }
    if (is_tok(p, TK_LPAREN) && !(f->u.filter.args = parse_args(p)))
        return false;
    return true;
}

static struct tpl_expr *parse_expr_filtered(struct parser *p)
{
    struct tpl_expr *x = parse_expr(p);
    while (x && (is_tok(p, TK_PIPE) || is_kw(p, KW_FILTER))) {
        struct tpl_expr *f = mkexpr(p, EX_FILTER, next(p));
        f->u.filter.in = x;
        x = parse_filter_ref(p, f) ? f : NULL;
    }
    return x;
}

/* ---------------------------------------------------------------- names (INCLUDE & co) */

static bool parse_name(struct parser *p, struct tpl_name *nm)
{
    const struct tpl_token *t = peek(p);
    switch (t->type) {
    case TK_FILENAME:
    case TK_IDENT:
    case TK_NUM:
        next(p);
        nm->s = tpl_arena_strndup(&p->t->arena, t->s, t->len);
        return true;
    case TK_SQ:
    case TK_DQ: {
        struct tpl_expr *x = t->type == TK_SQ ? parse_squote(p) : parse_dquote(p);
        if (!x)
            return false;
        if (x->kind == EX_LIT)
            nm->s = x->u.lit.u.s->data;
        else
            nm->dyn = x;
        return true;
    }
    case TK_DOLLAR:
    case TK_DOLLAR_BRACE: {
        struct tpl_seg sg = {0};
        if (!parse_seg(p, &sg, true))
            return false;
        nm->dyn = sg.dyn;
        return true;
    }
    default:
        unexpected(p);
        return false;
    }
}

/* Can the token start an expression (for argument lists without parentheses)? */
static bool starts_expr(const struct tpl_token *t)
{
    switch (t->type) {
    case TK_IDENT:
    case TK_NUM:
    case TK_SQ:
    case TK_DQ:
    case TK_LBRACKET:
    case TK_LBRACE:
    case TK_LPAREN:
    case TK_DOLLAR:
    case TK_DOLLAR_BRACE:
    case TK_NOT:
    case TK_MINUS:
        return true;
    default:
        return false;
    }
}

static struct tpl_expr *parse_target(struct parser *p);

/* `a = 1, b.c = 2` after a name; positional arguments are accepted and ignored. */
static bool parse_name_assigns(struct parser *p, struct tpl_node *n)
{
    struct vec targets = {0}, values = {0};
    bool paren = accept(p, TK_LPAREN), closed = false;
    for (;;) {
        if (accept(p, TK_COMMA))
            continue;
        if (paren && accept(p, TK_RPAREN)) {
            closed = true;
            break;
        }
        if (!starts_expr(peek(p)))
            break;
        struct tpl_expr *x = parse_expr(p);
        if (!x)
            goto fail;
        if (!accept(p, TK_ASSIGN))
            continue;
        if (!is_lvalue(x)) {
            perr(p, peek(p), "cannot assign to this expression");
            goto fail;
        }
        struct tpl_expr *v = parse_expr(p);
        if (!v)
            goto fail;
        vec_push(&targets, x);
        vec_push(&values, v);
    }
    if (paren && !closed) {
        unexpected(p);
        goto fail;
    }
    n->nassigns = targets.n;
    n->assigns = tpl_arena_alloc(&p->t->arena, (targets.n ? targets.n : 1) * sizeof(*n->assigns));
    for (size_t i = 0; i < targets.n; i++) {
        n->assigns[i].target = targets.v[i];
        n->assigns[i].value = values.v[i];
    }
    vec_free(&targets);
    vec_free(&values);
    return true;
fail:
    vec_free(&targets);
    vec_free(&values);
    return false;
}

/* ---------------------------------------------------------------- statements */

static struct tpl_node *parse_statement(struct parser *p);
static struct tpl_node *parse_block(struct parser *p);

/* Marker for statements that produce no node (BLOCK definitions). */
static struct tpl_node empty_node;

/* Body of a block directive: `;` block, then one of the terminators. */
static struct tpl_node *parse_body(struct parser *p)
{
    if (!is_tok(p, TK_SEP)) {
        unexpected(p);
        return NULL;
    }
    return parse_block(p);
}

static bool expect_end(struct parser *p, const struct tpl_token *opener)
{
    if (accept_kw(p, KW_END))
        return true;
    if (is_tok(p, TK_EOF))
        perr(p, peek(p), "missing END for %s at %u:%u", tpl_kw_name(opener->kw), opener->line,
             opener->col);
    else
        unexpected(p);
    return false;
}

static struct tpl_node *parse_if(struct parser *p)
{
    const struct tpl_token *t = next(p); /* IF / UNLESS / ELSIF */
    struct tpl_node *n = mknode(p, ND_IF, t);
    struct tpl_expr *c = parse_expr(p);
    if (!c)
        return NULL;
    if (t->kw == KW_UNLESS) {
        n->expr = mkexpr(p, EX_UNARY, t);
        n->expr->u.op.op = TK_NOT;
        n->expr->u.op.a = c;
    } else {
        n->expr = c;
    }
    if (!(n->body = parse_body(p)))
        return NULL;
    if (t->kw != KW_UNLESS && is_kw(p, KW_ELSIF))
        return (n->alt = parse_if(p)) ? n : NULL; /* the last ELSIF consumes END */
    if (accept_kw(p, KW_ELSE) && !(n->alt = parse_body(p)))
        return NULL;
    return expect_end(p, t) ? n : NULL;
}

static struct tpl_node *parse_foreach(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct tpl_node *n = mknode(p, ND_FOREACH, t);
    if (is_tok(p, TK_IDENT) &&
        ((peek_at(p, 1)->type == TK_KW && peek_at(p, 1)->kw == KW_IN) ||
         peek_at(p, 1)->type == TK_ASSIGN)) {
        const struct tpl_token *v = next(p);
        n->var = tpl_arena_strndup(&p->t->arena, v->s, v->len);
        next(p);
    }
    if (!(n->expr = parse_expr(p)) || !(n->body = parse_body(p)))
        return NULL;
    return expect_end(p, t) ? n : NULL;
}

static struct tpl_node *parse_while(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct tpl_node *n = mknode(p, ND_WHILE, t);
    if (!(n->expr = parse_expr(p)) || !(n->body = parse_body(p)))
        return NULL;
    return expect_end(p, t) ? n : NULL;
}

static struct tpl_node *parse_switch(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct tpl_node *n = mknode(p, ND_SWITCH, t);
    if (!(n->expr = parse_expr(p)) || !parse_body(p)) /* text before the first CASE is dropped */
        return NULL;
    struct vec cases = {0};
    while (accept_kw(p, KW_CASE)) {
        struct tpl_case *c = tpl_arena_alloc(&p->t->arena, sizeof(*c));
        if (!accept_kw(p, KW_DEFAULT) && !is_tok(p, TK_SEP) && !(c->match = parse_expr(p)))
            goto fail;
        if (!(c->body = parse_body(p)))
            goto fail;
        vec_push(&cases, c);
    }
    if (!expect_end(p, t))
        goto fail;
    n->ncases = cases.n;
    n->cases = tpl_arena_alloc(&p->t->arena, (cases.n ? cases.n : 1) * sizeof(*n->cases));
    for (size_t i = 0; i < cases.n; i++)
        n->cases[i] = *(struct tpl_case *)cases.v[i];
    vec_free(&cases);
    return n;
fail:
    vec_free(&cases);
    return NULL;
}

static struct tpl_node *parse_try(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct tpl_node *n = mknode(p, ND_TRY, t);
    if (!(n->body = parse_body(p)))
        return NULL;
    struct vec cases = {0};
    while (accept_kw(p, KW_CATCH)) {
        struct tpl_case *c = tpl_arena_alloc(&p->t->arena, sizeof(*c));
        struct tpl_name nm = {0};
        if (!is_tok(p, TK_SEP) && !accept_kw(p, KW_DEFAULT)) {
            if (!parse_name(p, &nm) || nm.dyn) {
                if (nm.dyn)
                    perr(p, peek(p), "CATCH needs a literal exception type");
                goto fail;
            }
            if (strcasecmp(nm.s, "DEFAULT") != 0)
                c->type = nm.s;
        }
        if (!(c->body = parse_body(p)))
            goto fail;
        vec_push(&cases, c);
    }
    if (accept_kw(p, KW_FINAL) && !(n->alt = parse_body(p)))
        goto fail;
    if (!expect_end(p, t))
        goto fail;
    n->ncases = cases.n;
    n->cases = tpl_arena_alloc(&p->t->arena, (cases.n ? cases.n : 1) * sizeof(*n->cases));
    for (size_t i = 0; i < cases.n; i++)
        n->cases[i] = *(struct tpl_case *)cases.v[i];
    vec_free(&cases);
    return n;
fail:
    vec_free(&cases);
    return NULL;
}

/* BLOCK name … END (defined at compile time) or an anonymous BLOCK … END. */
static struct tpl_node *parse_blockdef(struct parser *p)
{
    const struct tpl_token *t = next(p);
    if (is_tok(p, TK_SEP)) {
        struct tpl_node *b = parse_body(p);
        return b && expect_end(p, t) ? b : NULL;
    }
    struct tpl_name nm = {0};
    if (!parse_name(p, &nm))
        return NULL;
    if (nm.dyn) {
        perr(p, t, "BLOCK needs a literal name");
        return NULL;
    }
    size_t saved = strlen(p->bpath);
    int w = snprintf(p->bpath + saved, sizeof(p->bpath) - saved, "%s%s", saved ? "/" : "", nm.s);
    if (w < 0 || (size_t)w >= sizeof(p->bpath) - saved) {
        perr(p, t, "BLOCK name too long");
        return NULL;
    }
    struct tpl_blockdef *d = tpl_arena_alloc(&p->t->arena, sizeof(*d));
    d->name = tpl_arena_strndup(&p->t->arena, p->bpath, strlen(p->bpath));
    d->body = parse_body(p);
    p->bpath[saved] = '\0';
    if (!d->body || !expect_end(p, t))
        return NULL;
    d->next = p->t->blocks;
    p->t->blocks = d;
    return &empty_node;
}

static struct tpl_node *parse_macro(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct tpl_node *n = mknode(p, ND_MACRO, t);
    if (!is_tok(p, TK_IDENT)) {
        unexpected(p);
        return NULL;
    }
    const struct tpl_token *nm = next(p);
    n->var = tpl_arena_strndup(&p->t->arena, nm->s, nm->len);
    if (accept(p, TK_LPAREN)) {
        struct vec params = {0};
        while (!accept(p, TK_RPAREN)) {
            if (accept(p, TK_COMMA))
                continue;
            if (!is_tok(p, TK_IDENT)) {
                vec_free(&params);
                unexpected(p);
                return NULL;
            }
            const struct tpl_token *a = next(p);
            vec_push(&params, tpl_arena_strndup(&p->t->arena, a->s, a->len));
        }
        n->params = vec_finish(p, &params, &n->nparams);
    }
    n->body = parse_statement(p);
    if (n->body == &empty_node) {
        perr(p, t, "a MACRO body cannot define a named BLOCK");
        return NULL;
    }
    return n->body ? n : NULL;
}

static struct tpl_node *parse_filter_block(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct tpl_node *n = mknode(p, ND_FILTER, t);
    n->expr = mkexpr(p, EX_FILTER, t);
    if (!parse_filter_ref(p, n->expr) || !(n->body = parse_body(p)))
        return NULL;
    return expect_end(p, t) ? n : NULL;
}

static struct tpl_node *parse_wrapper(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct tpl_node *n = mknode(p, ND_WRAPPER, t);
    if (!parse_name(p, &n->name) || !parse_name_assigns(p, n) || !(n->body = parse_body(p)))
        return NULL;
    return expect_end(p, t) ? n : NULL;
}

/* META a = 'x' b = 2: literal metadata, visible as template.a. */
static struct tpl_node *parse_meta(struct parser *p)
{
    next(p);
    while (!is_tok(p, TK_SEP) && !is_tok(p, TK_EOF)) {
        if (accept(p, TK_COMMA))
            continue;
        const struct tpl_token *k = peek(p);
        if (k->type != TK_IDENT || peek_at(p, 1)->type != TK_ASSIGN) {
            unexpected(p);
            return NULL;
        }
        next(p);
        next(p);
        struct tpl_expr *v = NULL;
        if (is_tok(p, TK_SQ))
            v = parse_squote(p);
        else if (is_tok(p, TK_DQ))
            v = parse_dquote(p);
        else if (is_tok(p, TK_NUM))
            v = parse_number(p);
        if (!v || v->kind != EX_LIT) {
            if (v || p->e->code == ERR_OK)
                perr(p, k, "META values must be literals");
            return NULL;
        }
        struct tpl_meta *m = tpl_arena_alloc(&p->t->arena, sizeof(*m));
        m->name = tpl_arena_strndup(&p->t->arena, k->s, k->len);
        m->val = v->u.lit;
        m->next = p->t->meta;
        p->t->meta = m;
    }
    return &empty_node;
}

/* An assignment target: a variable or a quoted variable name. */
static struct tpl_expr *parse_target(struct parser *p)
{
    const struct tpl_token *t = peek(p);
    if (t->type == TK_SQ)
        return parse_squote(p);
    if (t->type == TK_DQ)
        return parse_dquote(p);
    if (t->type == TK_IDENT || t->type == TK_DOLLAR || t->type == TK_DOLLAR_BRACE)
        return parse_var(p);
    unexpected(p);
    return NULL;
}

static bool starts_capture(struct parser *p)
{
    if (!is_tok(p, TK_KW))
        return false;
    switch (peek(p)->kw) {
    case KW_BLOCK:
    case KW_IF:
    case KW_UNLESS:
    case KW_FOR:
    case KW_WHILE:
    case KW_SWITCH:
    case KW_INCLUDE:
    case KW_PROCESS:
    case KW_INSERT:
    case KW_WRAPPER:
    case KW_FILTER:
    case KW_TRY:
        return true;
    default:
        return false;
    }
}

/* `a = 1 b.c = 2, d = x | f` (first target already parsed), or a capture. */
static struct tpl_node *parse_setlist(struct parser *p, const struct tpl_token *t,
                                      enum tpl_node_kind kind, struct tpl_expr *target)
{
    struct vec targets = {0}, values = {0};
    for (;;) {
        if (!is_lvalue(target)) {
            perr(p, peek(p), "cannot assign to this expression");
            goto fail;
        }
        if (!expect(p, TK_ASSIGN))
            goto fail;
        if (kind == ND_SET && !targets.n && starts_capture(p)) {
            struct tpl_node *c = mknode(p, ND_CAPTURE, t);
            c->expr = target;
            c->body = parse_statement(p);
            return c->body && c->body != &empty_node ? c : NULL;
        }
        struct tpl_expr *v = parse_expr_filtered(p);
        if (!v)
            goto fail;
        vec_push(&targets, target);
        vec_push(&values, v);
        while (accept(p, TK_COMMA))
            ;
        const struct tpl_token *k = peek(p);
        if (k->type != TK_IDENT && k->type != TK_DOLLAR && k->type != TK_DOLLAR_BRACE &&
            k->type != TK_SQ && k->type != TK_DQ)
            break;
        if (!(target = parse_target(p)))
            goto fail;
    }
    struct tpl_node *n = mknode(p, kind, t);
    n->nassigns = targets.n;
    n->assigns = tpl_arena_alloc(&p->t->arena, targets.n * sizeof(*n->assigns));
    for (size_t i = 0; i < targets.n; i++) {
        n->assigns[i].target = targets.v[i];
        n->assigns[i].value = values.v[i];
    }
    vec_free(&targets);
    vec_free(&values);
    return n;
fail:
    vec_free(&targets);
    vec_free(&values);
    return NULL;
}

static struct tpl_node *parse_include(struct parser *p, enum tpl_node_kind kind)
{
    const struct tpl_token *t = next(p);
    struct tpl_node *n = mknode(p, kind, t);
    if (!parse_name(p, &n->name))
        return NULL;
    if (kind != ND_INSERT && !parse_name_assigns(p, n))
        return NULL;
    return n;
}

static struct tpl_node *parse_throw(struct parser *p)
{
    const struct tpl_token *t = next(p);
    struct tpl_node *n = mknode(p, ND_THROW, t);
    if (!parse_name(p, &n->name))
        return NULL;
    struct vec pos = {0}, keys = {0}, vals = {0};
    while (starts_expr(peek(p)) || is_tok(p, TK_COMMA)) {
        if (accept(p, TK_COMMA))
            continue;
        if (at_named(p)) {
            struct tpl_expr *k = parse_key(p), *v = NULL;
            if (k && expect(p, TK_ASSIGN))
                v = parse_expr(p);
            if (!v)
                goto fail;
            vec_push(&keys, k);
            vec_push(&vals, v);
        } else {
            struct tpl_expr *x = parse_expr(p);
            if (!x)
                goto fail;
            vec_push(&pos, x);
        }
    }
    n->argl = tpl_arena_alloc(&p->t->arena, sizeof(*n->argl));
    n->argl->pos = vec_finish(p, &pos, &n->argl->npos);
    n->argl->nkey = vec_finish(p, &keys, &n->argl->nnamed);
    n->argl->nval = vec_finish(p, &vals, &n->argl->nnamed);
    return n;
fail:
    vec_free(&pos);
    vec_free(&keys);
    vec_free(&vals);
    return NULL;
}

static struct tpl_node *simple_node(struct parser *p, enum tpl_node_kind kind)
{
    return mknode(p, kind, next(p));
}

static struct tpl_node *expr_node(struct parser *p, enum tpl_node_kind kind)
{
    struct tpl_node *n = mknode(p, kind, next(p));
    return (n->expr = parse_expr_filtered(p)) ? n : NULL;
}

/* GET/SET/… and bare expressions or assignments. */
static struct tpl_node *parse_atom(struct parser *p)
{
    const struct tpl_token *t = peek(p);
    if (t->type == TK_KW) {
        switch (t->kw) {
        case KW_GET:
            return expr_node(p, ND_GET);
        case KW_CALL:
            return expr_node(p, ND_CALL);
        case KW_SET:
        case KW_DEFAULT: {
            next(p);
            struct tpl_expr *target = parse_target(p);
            return target ? parse_setlist(p, t, t->kw == KW_SET ? ND_SET : ND_DEFAULT, target)
                          : NULL;
        }
        case KW_INSERT:
            return parse_include(p, ND_INSERT);
        case KW_INCLUDE:
            return parse_include(p, ND_INCLUDE);
        case KW_PROCESS:
            return parse_include(p, ND_PROCESS);
        case KW_THROW:
            return parse_throw(p);
        case KW_RETURN:
            return simple_node(p, ND_RETURN);
        case KW_STOP:
            return simple_node(p, ND_STOP);
        case KW_CLEAR:
            return simple_node(p, ND_CLEAR);
        case KW_NEXT:
            return simple_node(p, ND_NEXT);
        case KW_LAST:
            return simple_node(p, ND_LAST);
        default:
            unexpected(p);
            return NULL;
        }
    }
    struct tpl_expr *x = parse_expr(p);
    if (!x)
        return NULL;
    if (is_tok(p, TK_ASSIGN))
        return parse_setlist(p, t, ND_SET, x);
    while (x && (is_tok(p, TK_PIPE) || is_kw(p, KW_FILTER))) {
        struct tpl_expr *f = mkexpr(p, EX_FILTER, next(p));
        f->u.filter.in = x;
        x = parse_filter_ref(p, f) ? f : NULL;
    }
    if (!x)
        return NULL;
    struct tpl_node *n = mknode(p, ND_GET, t);
    n->expr = x;
    return n;
}

/* Postfix IF/UNLESS/FOREACH/WHILE/FILTER/WRAPPER applied to a statement. */
static struct tpl_node *parse_postfix_stmt(struct parser *p, struct tpl_node *body)
{
    while (body) {
        const struct tpl_token *t = peek(p);
        struct tpl_node *n;
        if (t->type == TK_PIPE || (t->type == TK_KW && t->kw == KW_FILTER)) {
            n = mknode(p, ND_FILTER, next(p));
            n->expr = mkexpr(p, EX_FILTER, t);
            if (!parse_filter_ref(p, n->expr))
                return NULL;
        } else if (t->type != TK_KW) {
            break;
        } else if (t->kw == KW_IF || t->kw == KW_UNLESS) {
            n = mknode(p, ND_IF, next(p));
            struct tpl_expr *c = parse_expr(p);
            if (!c)
                return NULL;
            n->expr = c;
            if (t->kw == KW_UNLESS) {
                n->expr = mkexpr(p, EX_UNARY, t);
                n->expr->u.op.op = TK_NOT;
                n->expr->u.op.a = c;
            }
        } else if (t->kw == KW_FOR) {
            n = mknode(p, ND_FOREACH, next(p));
            if (is_tok(p, TK_IDENT) &&
                ((peek_at(p, 1)->type == TK_KW && peek_at(p, 1)->kw == KW_IN) ||
                 peek_at(p, 1)->type == TK_ASSIGN)) {
                const struct tpl_token *v = next(p);
                n->var = tpl_arena_strndup(&p->t->arena, v->s, v->len);
                next(p);
            }
            if (!(n->expr = parse_expr(p)))
                return NULL;
        } else if (t->kw == KW_WHILE) {
            n = mknode(p, ND_WHILE, next(p));
            if (!(n->expr = parse_expr(p)))
                return NULL;
        } else if (t->kw == KW_WRAPPER) {
            n = mknode(p, ND_WRAPPER, next(p));
            if (!parse_name(p, &n->name) || !parse_name_assigns(p, n))
                return NULL;
        } else {
            break;
        }
        n->body = body;
        body = n;
    }
    return body;
}

static struct tpl_node *parse_statement(struct parser *p)
{
    const struct tpl_token *t = peek(p);
    if (!enter(p))
        return NULL;
    struct tpl_node *n = NULL;
    if (t->type != TK_KW) {
        n = parse_postfix_stmt(p, parse_atom(p));
        leave(p);
        return n;
    }
    switch (t->kw) {
    case KW_IF:
    case KW_UNLESS:
        n = parse_if(p);
        break;
    case KW_FOR:
        n = parse_foreach(p);
        break;
    case KW_WHILE:
        n = parse_while(p);
        break;
    case KW_SWITCH:
        n = parse_switch(p);
        break;
    case KW_BLOCK:
        n = parse_blockdef(p);
        break;
    case KW_MACRO:
        n = parse_macro(p);
        break;
    case KW_FILTER:
        n = parse_filter_block(p);
        break;
    case KW_TRY:
        n = parse_try(p);
        break;
    case KW_WRAPPER:
        n = parse_wrapper(p);
        break;
    case KW_PERL:
    case KW_RAWPERL:
        perr(p, t, "Perl blocks are not supported (line %u)", t->line);
        break;
    case KW_META:
        n = parse_meta(p);
        break;
    case KW_USE:
    case KW_PLUGIN:
    case KW_VIEW:
    case KW_DEBUG:
    case KW_TAGS:
        perr(p, t, "%s is not supported", tpl_kw_name(t->kw));
        break;
    default:
        n = parse_postfix_stmt(p, parse_atom(p));
        break;
    }
    leave(p);
    return n;
}

static bool is_terminator(const struct tpl_token *t)
{
    if (t->type == TK_EOF)
        return true;
    if (t->type != TK_KW)
        return false;
    switch (t->kw) {
    case KW_END:
    case KW_ELSE:
    case KW_ELSIF:
    case KW_CASE:
    case KW_CATCH:
    case KW_FINAL:
        return true;
    default:
        return false;
    }
}

/* Text and statements up to a terminator (END, ELSE, … or the end). */
static struct tpl_node *parse_block(struct parser *p)
{
    struct tpl_node *b = mknode(p, ND_BLOCK, peek(p));
    struct tpl_node **tail = &b->kids;
    for (;;) {
        const struct tpl_token *t = peek(p);
        if (is_terminator(t))
            return b;
        if (t->type == TK_SEP) {
            next(p);
            continue;
        }
        struct tpl_node *n;
        if (t->type == TK_TEXT) {
            next(p);
            n = mknode(p, ND_TEXT, t);
            n->text = tpl_arena_strndup(&p->t->arena, t->s, t->len);
            n->len = t->len;
        } else {
            n = parse_statement(p);
            if (!n)
                return NULL;
            if (!is_tok(p, TK_SEP) && !is_tok(p, TK_EOF)) {
                unexpected(p);
                return NULL;
            }
            if (n == &empty_node)
                continue;
        }
        *tail = n;
        tail = &n->next;
    }
}

int tpl_parse(struct tpl *t, const struct tpl_tokens *toks, struct err *e)
{
    struct parser p = {.t = t, .tok = toks->v, .n = toks->n, .e = e};
    err_clear(e);
    t->root = parse_block(&p);
    if (t->root && !is_tok(&p, TK_EOF)) {
        const struct tpl_token *k = peek(&p);
        perr(&p, k, "unexpected %s", tpl_kw_name(k->kw));
        t->root = NULL;
    }
    if (!t->root && e->code == ERR_OK)
        err_set(e, ERR_INVALID, "1:1: parse error - invalid template");
    return t->root ? 0 : ERR_INVALID;
}
