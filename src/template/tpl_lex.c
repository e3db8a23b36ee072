/*
 * tpl_lex.c — splits a template into text and directives and tokenises the
 * directives (templates.md §2.1), following TT2's Template::Parser:
 *
 *   - a directive runs from the start tag to the *first* end tag after it
 *     (a `}}` inside a quoted string ends it too, as in TT2); a start tag
 *     without an end tag is plain text;
 *   - `{{#` makes the whole tag a comment (no pre-chomp for it);
 *   - chomp flags `-` `=` `~` `+` after the start tag / before the end tag;
 *     PRE_CHOMP and POST_CHOMP defaults come from the options;
 *   - keywords are case-insensitive (ANYCASE), except right after a dot
 *     (`loop.last`), and `and or not div mod` are operators.
 *
 * Output: a flat token array where each directive ends with TK_SEP (as does
 * `;`), so the parser sees text and statements in one stream.
 */
#include "../common.h"
#include "tpl_int.h"

enum chomp { CHOMP_NONE = 0, CHOMP_ONE, CHOMP_COLLAPSE, CHOMP_GREEDY };

struct lexer {
    const char *src;
    size_t len;
    /* line/column cursor: advanced monotonically */
    size_t cur_off;
    uint32_t cur_line, cur_col;
    struct tpl_tokens *out;
    struct err *e;
    char **owned; /* text copies made by chomping */
    size_t nowned;
};

/* ---------------------------------------------------------------- positions */

static void cursor_seek(struct lexer *lx, size_t off)
{
    while (lx->cur_off < off) {
        unsigned char c = (unsigned char)lx->src[lx->cur_off++];
        if (c == '\n') {
            lx->cur_line++;
            lx->cur_col = 1;
        } else if ((c & 0xC0) != 0x80) {
            lx->cur_col++;
        }
    }
}

static struct tpl_token *tok_push(struct lexer *lx, enum tpl_tok type, const char *s, size_t n,
                                  size_t off)
{
    struct tpl_tokens *t = lx->out;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
    }
    cursor_seek(lx, off);
    struct tpl_token *k = &t->v[t->n++];
    k->type = type;
    k->kw = KW_NONE;
    k->s = s;
    k->len = n;
    k->line = lx->cur_line;
    k->col = lx->cur_col;
    return k;
}

static int lex_error(struct lexer *lx, size_t off, const char *msg, char c)
{
    cursor_seek(lx, off);
    if (c)
        return err_set(lx->e, ERR_INVALID, "%u:%u: parse error - %s '%c'", lx->cur_line,
                       lx->cur_col, msg, c);
    return err_set(lx->e, ERR_INVALID, "%u:%u: parse error - %s", lx->cur_line, lx->cur_col, msg);
}

/* ---------------------------------------------------------------- keywords */

static const struct {
    const char *name;
    enum tpl_kw kw;
} keywords[] = {
    {"GET", KW_GET},         {"CALL", KW_CALL},       {"SET", KW_SET},
    {"DEFAULT", KW_DEFAULT}, {"INSERT", KW_INSERT},   {"INCLUDE", KW_INCLUDE},
    {"PROCESS", KW_PROCESS}, {"WRAPPER", KW_WRAPPER}, {"BLOCK", KW_BLOCK},
    {"END", KW_END},         {"USE", KW_USE},         {"PLUGIN", KW_PLUGIN},
    {"FILTER", KW_FILTER},   {"MACRO", KW_MACRO},     {"PERL", KW_PERL},
    {"RAWPERL", KW_RAWPERL}, {"TO", KW_TO},           {"STEP", KW_STEP},
    {"IF", KW_IF},           {"UNLESS", KW_UNLESS},   {"ELSE", KW_ELSE},
    {"ELSIF", KW_ELSIF},     {"FOR", KW_FOR},         {"FOREACH", KW_FOR},
    {"NEXT", KW_NEXT},       {"WHILE", KW_WHILE},     {"SWITCH", KW_SWITCH},
    {"CASE", KW_CASE},       {"META", KW_META},       {"IN", KW_IN},
    {"TRY", KW_TRY},         {"THROW", KW_THROW},     {"CATCH", KW_CATCH},
    {"FINAL", KW_FINAL},     {"LAST", KW_LAST},       {"BREAK", KW_LAST},
    {"RETURN", KW_RETURN},   {"STOP", KW_STOP},       {"CLEAR", KW_CLEAR},
    {"VIEW", KW_VIEW},       {"DEBUG", KW_DEBUG},     {"TAGS", KW_TAGS},
};

const char *tpl_kw_name(enum tpl_kw kw)
{
    for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
        if (keywords[i].kw == kw)
            return keywords[i].name;
    return "?";
}

static bool word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* Classifies a word: operator, keyword or identifier. */
static void classify_word(struct tpl_token *k, bool after_dot)
{
    const char *s = k->s;
    size_t n = k->len;
    if (n == 1 && s[0] == '_') {
        k->type = TK_CAT;
        return;
    }
    if (after_dot)
        return;
    static const struct {
        const char *w;
        enum tpl_tok t;
    } ops[] = {{"and", TK_AND}, {"or", TK_OR}, {"not", TK_NOT}, {"div", TK_DIV}, {"mod", TK_MOD}};
    for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
        if (word_is(s, n, ops[i].w)) {
            k->type = ops[i].t;
            return;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
        if (word_is(s, n, keywords[i].name)) {
            k->type = TK_KW;
            k->kw = keywords[i].kw;
            return;
        }
    }
}

/* Keywords followed by a template/block/exception name. */
static bool takes_filename(const struct tpl_tokens *t)
{
    if (!t->n || t->v[t->n - 1].type != TK_KW)
        return false;
    switch (t->v[t->n - 1].kw) {
    case KW_INCLUDE:
    case KW_PROCESS:
    case KW_INSERT:
    case KW_WRAPPER:
    case KW_BLOCK:
    case KW_THROW:
    case KW_CATCH:
        return true;
    default:
        return false;
    }
}

/* ---------------------------------------------------------------- directive tokens */

static bool is_word_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_word(char c)
{
    return is_word_start(c) || (c >= '0' && c <= '9');
}

static bool is_filename_char(char c)
{
    return is_word(c) || c == '.' || c == '/' || c == ':';
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Scans a quoted string starting at d[i] (the quote). Returns its end (after the quote). */
static int lex_quote(struct lexer *lx, const char *d, size_t n, size_t i, size_t *end)
{
    char q = d[i];
    size_t j = i + 1;
    while (j < n && d[j] != q) {
        if (d[j] == '\\' && j + 1 < n && (d[j + 1] == '\\' || d[j + 1] == q))
            j++;
        j++;
    }
    if (j >= n)
        return lex_error(lx, (size_t)(d + i - lx->src), "unterminated string", 0);
    tok_push(lx, q == '\'' ? TK_SQ : TK_DQ, d + i + 1, j - i - 1, (size_t)(d + i - lx->src));
    *end = j + 1;
    return 0;
}

static size_t lex_number(struct lexer *lx, const char *d, size_t n, size_t i, bool after_dot)
{
    size_t j = i;
    while (j < n && d[j] >= '0' && d[j] <= '9')
        j++;
    if (!after_dot && j + 1 < n && d[j] == '.' && d[j + 1] >= '0' && d[j + 1] <= '9') {
        j++;
        while (j < n && d[j] >= '0' && d[j] <= '9')
            j++;
    }
    tok_push(lx, TK_NUM, d + i, j - i, (size_t)(d + i - lx->src));
    return j;
}

struct punct {
    const char *s;
    enum tpl_tok t;
};

static const struct punct puncts[] = {
    {"=>", TK_ASSIGN}, {"==", TK_EQ},     {"!=", TK_NE},       {"<=", TK_LE},
    {">=", TK_GE},     {"&&", TK_AND},    {"||", TK_OR},       {"..", TK_RANGE},
    {"${", TK_DOLLAR_BRACE},
    {"=", TK_ASSIGN},  {"!", TK_NOT},     {"<", TK_LT},        {">", TK_GT},
    {"|", TK_PIPE},    {".", TK_DOT},     {"(", TK_LPAREN},    {")", TK_RPAREN},
    {"[", TK_LBRACKET}, {"]", TK_RBRACKET}, {"{", TK_LBRACE},  {"}", TK_RBRACE},
    {",", TK_COMMA},   {";", TK_SEP},     {":", TK_COLON},     {"?", TK_QUESTION},
    {"+", TK_PLUS},    {"-", TK_MINUS},   {"*", TK_STAR},      {"/", TK_SLASH},
    {"%", TK_PERCENT}, {"$", TK_DOLLAR},
};

static int lex_punct(struct lexer *lx, const char *d, size_t n, size_t i, size_t *end)
{
    for (size_t p = 0; p < ARRAY_SIZE(puncts); p++) {
        size_t pl = strlen(puncts[p].s);
        if (i + pl <= n && memcmp(d + i, puncts[p].s, pl) == 0) {
            tok_push(lx, puncts[p].t, d + i, pl, (size_t)(d + i - lx->src));
            *end = i + pl;
            return 0;
        }
    }
    return lex_error(lx, (size_t)(d + i - lx->src), "unexpected character", d[i]);
}

/* Tokenises the directive text d[0..n). */
static int lex_directive(struct lexer *lx, const char *d, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char c = d[i];
        struct tpl_tokens *t = lx->out;
        bool after_dot = t->n && t->v[t->n - 1].type == TK_DOT;
        if (is_ws(c)) {
            i++;
        } else if (c == '#') {
            while (i < n && d[i] != '\n')
                i++;
        } else if (c == '\'' || c == '"') {
            if (lex_quote(lx, d, n, i, &i))
                return ERR_INVALID;
        } else if (takes_filename(t) && (is_word(c) || c == '/')) {
            size_t j = i;
            while (j < n && is_filename_char(d[j]))
                j++;
            tok_push(lx, TK_FILENAME, d + i, j - i, (size_t)(d + i - lx->src));
            i = j;
        } else if (c >= '0' && c <= '9') {
            i = lex_number(lx, d, n, i, after_dot);
        } else if (is_word_start(c)) {
            size_t j = i;
            while (j < n && is_word(d[j]))
                j++;
            struct tpl_token *k = tok_push(lx, TK_IDENT, d + i, j - i, (size_t)(d + i - lx->src));
            classify_word(k, after_dot);
            i = j;
        } else if (lex_punct(lx, d, n, i, &i)) {
            return ERR_INVALID;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- chomping */

static bool is_hspace(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static enum chomp chomp_flag(char c)
{
    switch (c) {
    case '-':
        return CHOMP_ONE;
    case '=':
        return CHOMP_COLLAPSE;
    case '~':
        return CHOMP_GREEDY;
    default:
        return CHOMP_NONE;
    }
}

static bool is_flag(char c)
{
    return c == '-' || c == '=' || c == '~' || c == '+';
}

/* A piece of text: into the source, or into a copy the lexer owns. */
struct piece {
    const char *p;
    size_t n;
};

static char *lex_own(struct lexer *lx, size_t n)
{
    lx->owned = xrealloc(lx->owned, (lx->nowned + 1) * sizeof(char *));
    return lx->owned[lx->nowned++] = xmalloc(n + 1);
}

/* Applies a pre-chomp to the text before a directive. */
static void chomp_pre(struct lexer *lx, struct piece *pre, enum chomp how)
{
    size_t n = pre->n, k = n;
    if (!n || how == CHOMP_NONE)
        return;
    if (how == CHOMP_ONE) {
        while (k > 0 && is_hspace(pre->p[k - 1]))
            k--;
        if (k == 0)
            pre->n = 0;
        else if (pre->p[k - 1] == '\n')
            pre->n = k - 1 - (k >= 2 && pre->p[k - 2] == '\r' ? 1 : 0);
        return;
    }
    while (k > 0 && is_ws(pre->p[k - 1]))
        k--;
    if (k == n)
        return;
    if (how == CHOMP_GREEDY) {
        pre->n = k;
        return;
    }
    char *c = lex_own(lx, k + 1);
    memcpy(c, pre->p, k);
    c[k] = ' ';
    pre->p = c;
    pre->n = k + 1;
}

/* Applies a post-chomp to the text after a directive: returns the bytes to skip. */
static size_t chomp_post(const char *s, size_t n, enum chomp how, bool *lead_space)
{
    size_t i = 0;
    *lead_space = false;
    if (how == CHOMP_ONE) {
        while (i < n && is_hspace(s[i]))
            i++;
        return i < n && s[i] == '\n' ? i + 1 : 0;
    }
    if (how == CHOMP_NONE)
        return 0;
    while (i < n && is_ws(s[i]))
        i++;
    *lead_space = how == CHOMP_COLLAPSE && i > 0;
    return i;
}

static void emit_text(struct lexer *lx, struct piece pre, size_t off)
{
    if (pre.n)
        tok_push(lx, TK_TEXT, pre.p, pre.n, off);
}

/* Text before a directive, with a leading space left by a collapse post-chomp. */
static struct piece text_piece(struct lexer *lx, const char *p, size_t n, bool lead_space)
{
    struct piece pc = {p, n};
    if (!lead_space)
        return pc;
    char *c = lex_own(lx, n + 1);
    c[0] = ' ';
    memcpy(c + 1, p, n);
    pc.p = c;
    pc.n = n + 1;
    return pc;
}

/* ---------------------------------------------------------------- splitting */

/* Handles one tag body d[0..n): returns the post-chomp to apply after it. */
static int lex_tag(struct lexer *lx, const struct tpl_lex_opts *o, struct piece *pre,
                   const char *d, size_t n, enum chomp *post)
{
    enum chomp pc = o->post_chomp ? CHOMP_ONE : CHOMP_NONE;
    if (n && d[0] == '#') {
        /* comment: only an end chomp flag is honoured */
        if (is_flag(d[n - 1]))
            pc = chomp_flag(d[n - 1]);
        *post = pc;
        return 0;
    }
    size_t b = 0, e = n;
    enum chomp pre_how = o->pre_chomp ? CHOMP_ONE : CHOMP_NONE;
    if (b < e && is_flag(d[b]))
        pre_how = chomp_flag(d[b++]);
    chomp_pre(lx, pre, pre_how);
    while (e > b && is_ws(d[e - 1]))
        e--;
    if (e > b && is_flag(d[e - 1])) {
        pc = chomp_flag(d[--e]);
        while (e > b && is_ws(d[e - 1]))
            e--;
    }
    *post = pc;
    return lex_directive(lx, d + b, e - b);
}

int tpl_lex(const char *src, size_t len, const struct tpl_lex_opts *o, struct tpl_tokens *out,
            struct err *e)
{
    struct lexer lx = {.src = src, .len = len, .cur_line = 1, .cur_col = 1, .out = out, .e = e};
    size_t sl = strlen(o->start_tag), el = strlen(o->end_tag);
    size_t pos = 0;
    bool lead_space = false;
    int rc = 0;
    for (;;) {
        const char *st = memmem(src + pos, len - pos, o->start_tag, sl);
        const char *en = st ? memmem(st + sl, len - (size_t)(st + sl - src), o->end_tag, el) : NULL;
        if (!st || !en) {
            emit_text(&lx, text_piece(&lx, src + pos, len - pos, lead_space), pos);
            break;
        }
        struct piece pre = text_piece(&lx, src + pos, (size_t)(st - src) - pos, lead_space);
        cursor_seek(&lx, pos);
        uint32_t tline = lx.cur_line, tcol = lx.cur_col;
        size_t ntok = out->n;
        enum chomp post;
        if ((rc = lex_tag(&lx, o, &pre, st + sl, (size_t)(en - st) - sl, &post)))
            break;
        size_t ndir = out->n - ntok;
        if (pre.n) {
            /* the text goes before the tag's tokens (its chomping depended on them) */
            tok_push(&lx, TK_TEXT, pre.p, pre.n, (size_t)(en - src));
            memmove(&out->v[ntok + 1], &out->v[ntok], ndir * sizeof(struct tpl_token));
            struct tpl_token *text = &out->v[ntok];
            text->type = TK_TEXT;
            text->kw = KW_NONE;
            text->s = pre.p;
            text->len = pre.n;
            text->line = tline;
            text->col = tcol;
        }
        if (ndir)
            tok_push(&lx, TK_SEP, en, 0, (size_t)(en - src));
        pos = (size_t)(en - src) + el;
        pos += chomp_post(src + pos, len - pos, post, &lead_space);
    }
    if (!rc)
        tok_push(&lx, TK_EOF, src + len, 0, len);
    /* chomped copies live as long as the tokens */
    for (size_t i = 0; i < lx.nowned; i++) {
        out->owned = xrealloc(out->owned, (out->nowned + 1) * sizeof(char *));
        out->owned[out->nowned++] = lx.owned[i];
    }
    free(lx.owned);
    return rc;
}

int tpl_lex_expr(const char *s, size_t len, uint32_t line, uint32_t col, struct tpl_tokens *out,
                 struct err *e)
{
    struct lexer lx = {.src = s, .len = len, .cur_line = line, .cur_col = col, .out = out, .e = e};
    int rc = lex_directive(&lx, s, len);
    if (!rc)
        tok_push(&lx, TK_EOF, s + len, 0, len);
    return rc;
}

void tpl_tokens_free(struct tpl_tokens *t)
{
    for (size_t i = 0; i < t->nowned; i++)
        free(t->owned[i]);
    free(t->owned);
    free(t->v);
    memset(t, 0, sizeof(*t));
}
