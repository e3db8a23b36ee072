/*
 * tpl_filters.c — the filter registry (templates.md §5, D19 `shell`) and the
 * text machinery filters share with the virtual methods: UTF-8 aware case
 * mapping, trimming, HTML escaping, and regular expressions.
 *
 * Regular expressions: templates are written with Perl regexes; billd has
 * no PCRE, so patterns are translated to POSIX extended syntax and run by
 * glibc's matcher (no backtracking, so no ReDoS) under a C.UTF-8 locale.
 * Supported: literals, . (not newline), classes (\d \w \s and ranges, with
 * non-ASCII ranges expanded), anchors ^ $ \A \z \b \B, groups, (?:…),
 * named groups, alternation, * + ? {n,m} (lazy and possessive suffixes are
 * read as greedy), (?i) (?s) (?m) at the start, escapes \n \t \r \f \e \xHH
 * \x{…}. Refused with an error: back-references, look-around, inline flags
 * elsewhere, \D \W \S inside classes, and repetition counts whose product
 * exceeds 10 000 (memory blow-up guard).
 */
#include "../common.h"
#include "tpl_int.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <wctype.h>

/* ================================================================ locale */

static locale_t utf8_loc;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
    utf8_loc = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
    if (!utf8_loc)
        utf8_loc = newlocale(LC_ALL_MASK, "C.utf8", (locale_t)0);
}

static locale_t utf8_locale(void)
{
    pthread_once(&utf8_once, utf8_init);
    return utf8_loc;
}

/* ================================================================ UTF-8 */

/* Decodes one character at s[0..n); returns its length (invalid bytes: 1, cp = -1). */
static size_t utf8_decode(const char *s, size_t n, int32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char c = p[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 1) {
        *cp = c;
        return 1;
    }
    if (!len || len > n) {
        *cp = -1;
        return 1;
    }
    int32_t v = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3F);
    }
    static const int32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    *cp = v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ? -1 : v;
    return *cp < 0 ? 1 : len;
}

static size_t utf8_encode(int32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t tpl_utf8_len(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; count++) {
        int32_t cp;
        i += utf8_decode(s + i, n - i, &cp);
    }
    return count;
}

size_t tpl_utf8_offset(const char *s, size_t n, size_t ci)
{
    size_t i = 0;
    while (ci-- > 0 && i < n) {
        int32_t cp;
        i += utf8_decode(s + i, n - i, &cp);
    }
    return i;
}

/* ================================================================ text helpers */

static int32_t map_case(int32_t cp, bool upper)
{
    locale_t l = utf8_locale();
    if (cp < 0)
        return cp;
    if (cp < 0x80 || !l)
        return cp < 0x80 ? (upper ? (cp >= 'a' && cp <= 'z' ? cp - 32 : cp)
                                  : (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp))
                         : cp;
    return (int32_t)(upper ? towupper_l((wint_t)cp, l) : towlower_l((wint_t)cp, l));
}

int tpl_text_case(const char *s, size_t n, enum tpl_case_op op, struct buf *b)
{
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        bool change = op == CASE_UPPER || op == CASE_LOWER || i == 0;
        bool upper = op == CASE_UPPER || op == CASE_UCFIRST;
        int32_t m = change ? map_case(cp, upper) : cp;
        char enc[4];
        int rc = (m == cp || m < 0) ? buf_append(b, s + i, len)
                                    : buf_append(b, enc, utf8_encode(m, enc));
        if (rc)
            return rc;
        i += len;
    }
    return 0;
}

static bool perl_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int tpl_text_trim(const char *s, size_t n, bool collapse, struct buf *b)
{
    size_t i = 0, j = n;
    while (i < j && perl_space(s[i]))
        i++;
    while (j > i && perl_space(s[j - 1]))
        j--;
    if (!collapse)
        return buf_append(b, s + i, j - i);
    for (size_t k = i; k < j; k++) {
        if (!perl_space(s[k])) {
            if (buf_putc(b, s[k]))
                return ERR_LIMIT;
        } else if (!perl_space(s[k - 1])) {
            if (buf_putc(b, ' '))
                return ERR_LIMIT;
        }
    }
    return 0;
}

int tpl_text_html(const char *s, size_t n, bool xml, struct buf *b)
{
    for (size_t i = 0; i < n; i++) {
        const char *r = NULL;
        switch (s[i]) {
        case '&':
            r = "&amp;";
            break;
        case '<':
            r = "&lt;";
            break;
        case '>':
            r = "&gt;";
            break;
        case '"':
            r = "&quot;";
            break;
        case '\'':
            r = xml ? "&apos;" : NULL;
            break;
        default:
            break;
        }
        if (r ? buf_puts(b, r) : buf_putc(b, s[i]))
            return ERR_LIMIT;
    }
    return 0;
}

int tpl_shell_quote(const char *s, size_t n, struct buf *b)
{
    if (buf_putc(b, '\''))
        return ERR_LIMIT;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\'' ? buf_puts(b, "'\\''") : buf_putc(b, s[i]))
            return ERR_LIMIT;
    return buf_putc(b, '\'');
}

/* ================================================================ regex translation */

struct re_tr {
    const char *p;
    size_t n, i;
    struct buf out;
    size_t nposix, nperl;
    size_t *map, mapcap;
    int cflags;
    bool dotall;
    /* size of the compiled program, estimated: glibc copies a subexpression for
       every X+ and X{n,m}, so nested repetition grows it exponentially */
    double cur, last;
    double stack[2 * 32];
    int depth;
    const char *err;
};

#define RE_MAX_SIZE 20000.0

/* A plain atom (character, class, escape) was emitted. */
static bool re_atom(struct re_tr *t)
{
    t->last = 1;
    t->cur += 1;
    return true;
}

static bool re_special(char c)
{
    return strchr(".[]()*+?{}|^$\\", c) != NULL;
}

static void re_lit(struct re_tr *t, char c)
{
    if (re_special(c))
        buf_putc(&t->out, '\\');
    buf_putc(&t->out, c);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* \xHH or \x{HHHH} at t->i (after the x): returns the code point or -1. */
static int32_t re_hex(struct re_tr *t)
{
    int32_t v = 0;
    if (t->i < t->n && t->p[t->i] == '{') {
        size_t j = t->i + 1;
        while (j < t->n && hexval(t->p[j]) >= 0 && v <= 0x10FFFF)
            v = v * 16 + hexval(t->p[j++]);
        if (j >= t->n || t->p[j] != '}' || v > 0x10FFFF)
            return -1;
        t->i = j + 1;
        return v;
    }
    for (int k = 0; k < 2 && t->i < t->n && hexval(t->p[t->i]) >= 0; k++)
        v = v * 16 + hexval(t->p[t->i++]);
    return v;
}

/* A simple escape shared by classes and the outside: returns the char or -1. */
static int32_t re_simple_escape(struct re_tr *t, char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case 'f':
        return '\f';
    case 'e':
        return 27;
    case 'a':
        return 7;
    case '0':
        return 0;
    case 'x':
        return re_hex(t);
    default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9'))
            return -1;
        return (unsigned char)c;
    }
}

/* Appends a code point as UTF-8 (escaped when special outside a class). */
static void re_put_cp(struct re_tr *t, int32_t cp, bool in_class)
{
    char enc[4];
    size_t len = utf8_encode(cp, enc);
    if (!in_class && len == 1)
        re_lit(t, enc[0]);
    else
        buf_append(&t->out, enc, len);
}

/* A class being built: ']' first, '^' not first, '-' last (POSIX rules). */
struct re_class {
    struct buf body;
    bool rbracket, caret, dash;
};

static void class_cp(struct re_class *c, int32_t cp)
{
    char enc[4];
    if (cp == ']')
        c->rbracket = true;
    else if (cp == '^')
        c->caret = true;
    else if (cp == '-')
        c->dash = true;
    else
        buf_append(&c->body, enc, utf8_encode(cp, enc));
}

static bool class_range(struct re_tr *t, struct re_class *c, int32_t lo, int32_t hi)
{
    if (hi < lo) {
        t->err = "invalid range in character class";
        return false;
    }
    if (hi < 0x80 && lo != ']' && lo != '^' && lo != '-' && hi != ']' && hi != '^' && hi != '-') {
        buf_printf(&c->body, "%c-%c", (char)lo, (char)hi);
        return true;
    }
    if (hi - lo > 1024) {
        t->err = "character range too large";
        return false;
    }
    for (int32_t cp = lo; cp <= hi; cp++) /* glibc refuses non-ASCII ranges: list them */
        class_cp(c, cp);
    return true;
}

/* One class member at t->i; *cp = the char for a possible range, -1 for a class. */
static bool class_item(struct re_tr *t, struct re_class *c, int32_t *cp)
{
    const char *p = t->p;
    *cp = -1;
    if (p[t->i] == '[' && t->i + 1 < t->n && p[t->i + 1] == ':') {
        const char *end = strstr(p + t->i, ":]");
        if (!end || (size_t)(end - p) >= t->n) {
            t->err = "unterminated POSIX class";
            return false;
        }
        buf_append(&c->body, p + t->i, (size_t)(end - p) + 2 - t->i);
        t->i = (size_t)(end - p) + 2;
        return true;
    }
    if (p[t->i] == '\\' && t->i + 1 < t->n) {
        char e = p[t->i + 1];
        t->i += 2;
        if (e == 'd' || e == 'w' || e == 's') {
            buf_puts(&c->body, e == 'd' ? "0-9" : e == 'w' ? "[:alnum:]_" : "[:space:]");
            return true;
        }
        if ((*cp = re_simple_escape(t, e)) < 0) {
            t->err = "unsupported escape in character class";
            return false;
        }
        return true;
    }
    t->i += utf8_decode(p + t->i, t->n - t->i, cp);
    if (*cp < 0)
        *cp = (unsigned char)p[t->i - 1];
    return true;
}

static bool re_class(struct re_tr *t)
{
    struct re_class c = {0};
    buf_init(&c.body, 0);
    bool neg = false, ok = true;
    t->i++; /* [ */
    if (t->i < t->n && t->p[t->i] == '^') {
        neg = true;
        t->i++;
    }
    bool first = true;
    while (ok && t->i < t->n && (t->p[t->i] != ']' || first)) {
        first = false;
        int32_t lo;
        if (!(ok = class_item(t, &c, &lo)))
            break;
        if (lo >= 0 && t->i + 1 < t->n && t->p[t->i] == '-' && t->p[t->i + 1] != ']') {
            t->i++;
            int32_t hi;
            if ((ok = class_item(t, &c, &hi)) && hi < 0) {
                t->err = "invalid range in character class";
                ok = false;
            }
            ok = ok && class_range(t, &c, lo, hi);
        } else if (lo >= 0) {
            class_cp(&c, lo);
        }
    }
    if (ok && t->i >= t->n) {
        t->err = "unterminated character class";
        ok = false;
    }
    if (ok) {
        t->i++; /* ] */
        if (!neg && !c.body.len && !c.rbracket && !c.dash && c.caret)
            buf_puts(&t->out, "\\^");
        else
            buf_printf(&t->out, "[%s%s%s%s%s]", neg ? "^" : "", c.rbracket ? "]" : "", c.body.data,
                       c.caret ? "^" : "", c.dash ? "-" : "");
    }
    buf_free(&c.body);
    return ok;
}

/* A {n}, {n,} or {n,m} quantifier at t->i? Sets the end and the maximum count. */
static bool re_interval(const struct re_tr *t, size_t *end, double *max)
{
    size_t j = t->i + 1;
    double lo = 0, hi;
    size_t d = 0;
    while (j < t->n && t->p[j] >= '0' && t->p[j] <= '9' && d < 6)
        lo = lo * 10 + (t->p[j++] - '0'), d++;
    if (!d)
        return false;
    hi = lo;
    if (j < t->n && t->p[j] == ',') {
        j++;
        hi = 255;
        d = 0;
        double h = 0;
        while (j < t->n && t->p[j] >= '0' && t->p[j] <= '9' && d < 6)
            h = h * 10 + (t->p[j++] - '0'), d++;
        if (d)
            hi = h;
    }
    if (j >= t->n || t->p[j] != '}')
        return false;
    *end = j + 1;
    *max = hi > lo ? hi : lo;
    return true;
}

static bool re_group(struct re_tr *t)
{
    const char *p = t->p;
    t->i++; /* ( */
    bool capture = true;
    if (t->i < t->n && p[t->i] == '?') {
        if (t->i + 1 < t->n && p[t->i + 1] == ':') {
            capture = false;
            t->i += 2;
        } else if (t->i + 2 < t->n && (p[t->i + 1] == '<' || p[t->i + 1] == 'P' ||
                                       p[t->i + 1] == '\'') &&
                   p[t->i + 2] != '=' && p[t->i + 2] != '!') {
            size_t j = t->i + 1;
            while (j < t->n && p[j] != '>' && !(j > t->i + 1 && p[j] == '\''))
                j++;
            if (j >= t->n) {
                t->err = "unterminated group name";
                return false;
            }
            t->i = j + 1; /* named group: captured, name ignored */
        } else {
            t->err = "look-around and inline flags are not supported";
            return false;
        }
    }
    if (t->depth == 32) {
        t->err = "groups nested too deeply";
        return false;
    }
    t->stack[2 * t->depth] = t->cur;
    t->stack[2 * t->depth + 1] = t->last;
    t->depth++;
    t->cur = t->last = 0;
    t->nposix++;
    if (capture) {
        if (t->nperl + 2 > t->mapcap) {
            t->mapcap = t->mapcap ? t->mapcap * 2 : 8;
            t->map = xrealloc(t->map, t->mapcap * sizeof(size_t));
        }
        t->map[++t->nperl] = t->nposix;
    }
    buf_putc(&t->out, '(');
    return true;
}

static bool re_escape(struct re_tr *t)
{
    if (t->i + 1 >= t->n) {
        t->err = "trailing backslash";
        return false;
    }
    char c = t->p[t->i + 1];
    t->i += 2;
    switch (c) {
    case 'd':
        buf_puts(&t->out, "[0-9]");
        return true;
    case 'D':
        buf_puts(&t->out, "[^0-9]");
        return true;
    case 'w':
    case 'W':
    case 's':
    case 'S':
    case 'b':
    case 'B':
        buf_putc(&t->out, '\\');
        buf_putc(&t->out, c);
        return true;
    case 'A':
        buf_putc(&t->out, '^');
        return true;
    case 'z':
    case 'Z':
        buf_putc(&t->out, '$');
        return true;
    default:
        break;
    }
    if (c >= '1' && c <= '9') {
        t->err = "back-references are not supported";
        return false;
    }
    int32_t cp = re_simple_escape(t, c);
    if (cp < 0) {
        t->err = "unsupported escape";
        return false;
    }
    re_put_cp(t, cp, false);
    return true;
}

/* Quantifier at t->i: copies it, drops a lazy/possessive suffix. */
static bool re_quantifier(struct re_tr *t)
{
    char c = t->p[t->i];
    size_t end = t->i + 1;
    double max = c == '?' ? 1 : 255;
    if (c == '{' && !re_interval(t, &end, &max)) {
        buf_puts(&t->out, "\\{"); /* a literal brace, as Perl reads it */
        t->i++;
        return true;
    }
    buf_append(&t->out, t->p + t->i, end - t->i);
    t->i = end;
    double factor = c == '+' ? 2 : c == '{' ? (max > 1 ? max : 1) : 1;
    if (max > 1000) {
        t->err = "repetition count too large";
        return false;
    }
    t->cur += t->last * (factor - 1);
    t->last *= factor;
    if (t->cur > RE_MAX_SIZE) {
        t->err = "repetitions nested too deeply";
        return false;
    }
    if (t->i < t->n && (t->p[t->i] == '?' || t->p[t->i] == '+'))
        t->i++; /* lazy or possessive: read as greedy */
    if (t->i < t->n && strchr("*+?", t->p[t->i])) {
        t->err = "nested quantifiers";
        return false;
    }
    return true;
}

/* Leading (?i) (?s) (?m) (?x is refused). */
static void re_flags(struct re_tr *t)
{
    while (t->i + 3 < t->n && t->p[t->i] == '(' && t->p[t->i + 1] == '?') {
        size_t j = t->i + 2;
        while (j < t->n && strchr("ism", t->p[j]))
            j++;
        if (j == t->i + 2 || j >= t->n || t->p[j] != ')')
            return;
        for (size_t k = t->i + 2; k < j; k++) {
            if (t->p[k] == 'i')
                t->cflags |= REG_ICASE;
            else if (t->p[k] == 's')
                t->dotall = true;
            else
                t->cflags |= REG_NEWLINE;
        }
        t->i = j + 1;
    }
}

/* A closing parenthesis: the group's size becomes the last atom's. */
static bool re_group_end(struct re_tr *t)
{
    if (!t->depth) {
        t->err = "unmatched )";
        return false;
    }
    double size = t->cur;
    t->depth--;
    t->cur = t->stack[2 * t->depth] + size;
    t->last = size;
    buf_putc(&t->out, ')');
    t->i++;
    return true;
}

/* Everything else outside classes: . } | and literal characters. */
static bool re_plain(struct re_tr *t, char c)
{
    t->i++;
    if (c == '.') {
        buf_puts(&t->out, t->dotall ? "(.|\n)" : "[^\n]");
        t->nposix += t->dotall;
    } else if (c == '}') {
        buf_puts(&t->out, "\\}");
    } else {
        buf_putc(&t->out, c);
        if (c == '|') {
            t->last = 0;
            return true;
        }
    }
    return re_atom(t);
}

static bool re_translate(struct re_tr *t)
{
    re_flags(t);
    while (t->i < t->n) {
        char c = t->p[t->i];
        bool ok;
        if (c == '\\')
            ok = re_escape(t) && re_atom(t);
        else if (c == '[')
            ok = re_class(t) && re_atom(t);
        else if (c == '(')
            ok = re_group(t);
        else if (c == ')')
            ok = re_group_end(t);
        else if (c == '*' || c == '+' || c == '?' || c == '{')
            ok = re_quantifier(t);
        else
            ok = re_plain(t, c);
        if (!ok)
            return false;
    }
    return true;
}

/* ================================================================ regex cache */

#define RE_CACHE 32

struct tpl_re_cache {
    struct {
        char *pat;
        size_t len;
        struct tpl_re *re;
    } e[RE_CACHE];
    size_t next;
};

static void re_free(struct tpl_re *re)
{
    if (!re)
        return;
    regfree(&re->rx);
    free(re->map);
    free(re);
}

void tpl_re_cache_free(struct tpl_re_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < RE_CACHE; i++) {
        free(c->e[i].pat);
        re_free(c->e[i].re);
    }
    free(c);
}

static struct tpl_re *re_compile(struct tpl_ctx *cx, const char *pat, size_t len)
{
    if (len > 4096) {
        tpl_throw(cx, "undef", "regex too long (%zu bytes)", len);
        return NULL;
    }
    struct re_tr t = {.p = pat, .n = len, .cflags = REG_EXTENDED};
    buf_init(&t.out, 0);
    struct tpl_re *re = NULL;
    if (re_translate(&t)) {
        re = xcalloc(1, sizeof(*re));
        locale_t l = utf8_locale(), old = l ? uselocale(l) : (locale_t)0;
        int rc = regcomp(&re->rx, t.out.data, t.cflags);
        if (l)
            uselocale(old);
        if (rc) {
            char msg[128];
            regerror(rc, &re->rx, msg, sizeof(msg));
            tpl_throw(cx, "undef", "invalid regex '%.*s': %s", (int)(len > 60 ? 60 : len), pat,
                      msg);
            free(re);
            re = NULL;
        } else {
            re->ngroups = t.nperl;
            re->nposix = t.nposix;
            re->map = t.map;
            t.map = NULL;
        }
    } else {
        tpl_throw(cx, "undef", "invalid regex '%.*s': %s", (int)(len > 60 ? 60 : len), pat, t.err);
    }
    free(t.map);
    buf_free(&t.out);
    return re;
}

const struct tpl_re *tpl_re_get(struct tpl_ctx *cx, const char *pat, size_t len)
{
    if (!cx->re)
        cx->re = xcalloc(1, sizeof(*cx->re));
    struct tpl_re_cache *c = cx->re;
    for (size_t i = 0; i < RE_CACHE; i++)
        if (c->e[i].re && c->e[i].len == len && memcmp(c->e[i].pat, pat, len) == 0)
            return c->e[i].re;
    struct tpl_re *re = re_compile(cx, pat, len);
    if (!re)
        return NULL;
    size_t k = c->next++ % RE_CACHE;
    free(c->e[k].pat);
    re_free(c->e[k].re);
    c->e[k].pat = xstrndup(pat, len);
    c->e[k].len = len;
    c->e[k].re = re;
    return re;
}

int tpl_re_exec(const struct tpl_re *re, const char *s, size_t len, size_t from, regmatch_t *m,
                size_t nm)
{
    size_t np = re->nposix + 1;
    regmatch_t small[16], *pm = np <= 16 ? small : xcalloc(np, sizeof(*pm));
    pm[0].rm_so = (regoff_t)from;
    pm[0].rm_eo = (regoff_t)len;
    locale_t l = utf8_locale(), old = l ? uselocale(l) : (locale_t)0;
    int rc = regexec(&re->rx, s, np, pm, REG_STARTEND | (from ? REG_NOTBOL : 0));
    if (l)
        uselocale(old);
    if (rc == 0) {
        for (size_t g = 0; g < nm; g++) {
            if (g == 0)
                m[g] = pm[0];
            else if (g <= re->ngroups)
                m[g] = pm[re->map[g]];
            else
                m[g].rm_so = m[g].rm_eo = -1;
        }
    }
    if (pm != small)
        free(pm);
    return rc == 0;
}

/* Expands $1… and \$ \\ in a replacement (TT2's text_replace). */
static int expand_dollars(const char *s, const regmatch_t *m, size_t ngroups, const char *rep,
                          size_t rn, struct buf *b)
{
    for (size_t i = 0; i < rn; i++) {
        if (rep[i] == '\\' && i + 1 < rn && (rep[i + 1] == '\\' || rep[i + 1] == '$')) {
            if (buf_putc(b, rep[++i]))
                return ERR_LIMIT;
        } else if (rep[i] == '$' && i + 1 < rn && rep[i + 1] >= '0' && rep[i + 1] <= '9') {
            size_t g = 0;
            while (i + 1 < rn && rep[i + 1] >= '0' && rep[i + 1] <= '9' && g < 1000)
                g = g * 10 + (size_t)(rep[++i] - '0');
            if (g >= 1 && g <= ngroups && m[g].rm_so >= 0 &&
                buf_append(b, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so)))
                return ERR_LIMIT;
        } else if (buf_putc(b, rep[i])) {
            return ERR_LIMIT;
        }
    }
    return 0;
}

int tpl_re_replace(struct tpl_ctx *cx, const struct tpl_re *re, const char *s, size_t n,
                   const char *rep, size_t rn, bool dollars, bool global, struct buf *b)
{
    regmatch_t m[10];
    size_t pos = 0;
    while (pos <= n && tpl_re_exec(re, s, n, pos, m, 10)) {
        size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
        if (tpl_step(cx, 1))
            return -1;
        if (buf_append(b, s + pos, so - pos) ||
            (dollars ? expand_dollars(s, m, re->ngroups, rep, rn, b) : buf_append(b, rep, rn)))
            return tpl_check_len(cx, SIZE_MAX);
        pos = eo;
        if (eo == so) { /* an empty match: step over one character */
            if (so >= n) {
                pos = n + 1;
                break;
            }
            int32_t cp;
            size_t cl = utf8_decode(s + so, n - so, &cp);
            if (buf_append(b, s + so, cl))
                return tpl_check_len(cx, SIZE_MAX);
            pos = so + cl;
        }
        if (!global)
            break;
    }
    if (pos <= n && buf_append(b, s + pos, n - pos))
        return tpl_check_len(cx, SIZE_MAX);
    return 0;
}

/* ================================================================ filters */

/* Output buffer for a filter: capped by the output limit. */
static void fbuf(struct tpl_ctx *cx, struct buf *b)
{
    buf_init(b, cx->lim.max_output);
}

static int fdone(struct tpl_ctx *cx, struct buf *b, int rc, struct tpl_value *out)
{
    if (rc) {
        buf_free(b);
        return cx->ctl == CTL_ERROR ? -1 : tpl_check_len(cx, SIZE_MAX);
    }
    *out = tpl_str_from_buf(b);
    return 0;
}

static const char *arg_str(const struct tpl_args *a, size_t i, struct tpl_sv *sv, bool *def)
{
    const struct tpl_value *v = tpl_args_at(a, i);
    *def = v && v->type != TPL_UNDEF;
    sv_get(sv, v ? v : &(struct tpl_value){.type = TPL_UNDEF});
    return sv->p;
}

static int f_html(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                  struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    UNUSED(a);
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = tpl_text_html(sv.p, sv.n, false, &b);
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

static int f_xml(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                 struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    UNUSED(a);
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = tpl_text_html(sv.p, sv.n, true, &b);
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

/* HTML::Entities names for U+00A0..U+00FF. */
static const char *const latin1_names[96] = {
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave",
    "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve",
    "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml",
    "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig",
    "ccedil", "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth",
    "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave",
    "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
};

static int entity(int32_t cp, struct buf *b)
{
    switch (cp) {
    case '&':
        return buf_puts(b, "&amp;");
    case '<':
        return buf_puts(b, "&lt;");
    case '>':
        return buf_puts(b, "&gt;");
    case '"':
        return buf_puts(b, "&quot;");
    case '\'':
        return buf_puts(b, "&#39;");
    default:
        break;
    }
    if (cp >= 0xA0 && cp <= 0xFF)
        return buf_printf(b, "&%s;", latin1_names[cp - 0xA0]);
    return buf_printf(b, "&#x%X;", (unsigned)cp);
}

static int f_html_entity(struct tpl_ctx *cx, const struct tpl_value *in,
                         const struct tpl_args *a, struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    UNUSED(a);
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = 0;
    for (size_t i = 0; i < sv.n && !rc;) {
        int32_t cp;
        size_t len = utf8_decode(sv.p + i, sv.n - i, &cp);
        bool plain = cp >= 0 && ((cp >= 0x20 && cp < 0x7F && !strchr("&<>\"'", (int)cp)) ||
                                 cp == '\n' || cp == '\r' || cp == '\t');
        rc = plain || cp < 0 ? buf_append(&b, sv.p + i, len) : entity(cp, &b);
        i += len;
    }
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

/* Counts a run of 2+ line breaks (\r?\n) at s[i]; returns its length or 0. */
static size_t para_break(const char *s, size_t n, size_t i, size_t *last_nl_len)
{
    size_t j = i, count = 0;
    while (j < n) {
        size_t k = j + (s[j] == '\r' ? 1 : 0);
        if (k >= n || s[k] != '\n')
            break;
        *last_nl_len = k + 1 - j;
        j = k + 1;
        count++;
    }
    return count >= 2 ? j - i : 0;
}

static int f_html_para(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                       struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    UNUSED(a);
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = buf_puts(&b, "<p>\n");
    for (size_t i = 0; i < sv.n && !rc;) {
        size_t nl, brk = para_break(sv.p, sv.n, i, &nl);
        if (brk && i + brk < sv.n) {
            rc = buf_puts(&b, "\n</p>\n\n<p>\n");
            i += brk;
        } else if (brk) {
            i += brk; /* Perl's split drops trailing empty fields */
        } else {
            rc = buf_putc(&b, sv.p[i++]);
        }
    }
    if (!rc)
        rc = buf_puts(&b, "</p>\n");
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

static int f_html_para_break(struct tpl_ctx *cx, const struct tpl_value *in,
                             const struct tpl_args *a, struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    UNUSED(a);
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = 0;
    for (size_t i = 0; i < sv.n && !rc;) {
        size_t nl = 0, brk = para_break(sv.p, sv.n, i, &nl);
        if (brk) {
            const char *eol = sv.p + i + brk - nl;
            rc = buf_append(&b, eol, nl) || buf_puts(&b, "<br />") || buf_append(&b, eol, nl) ||
                 buf_puts(&b, "<br />") || buf_append(&b, eol, nl);
            i += brk;
        } else {
            rc = buf_putc(&b, sv.p[i++]);
        }
    }
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

static int f_html_line_break(struct tpl_ctx *cx, const struct tpl_value *in,
                             const struct tpl_args *a, struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    UNUSED(a);
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = 0;
    for (size_t i = 0; i < sv.n && !rc; i++) {
        bool crlf = sv.p[i] == '\r' && i + 1 < sv.n && sv.p[i + 1] == '\n';
        if (crlf || sv.p[i] == '\n') {
            rc = buf_puts(&b, "<br />") || buf_append(&b, sv.p + i, crlf ? 2 : 1);
            i += crlf;
        } else {
            rc = buf_putc(&b, sv.p[i]);
        }
    }
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

static int uri_encode(struct tpl_ctx *cx, const struct tpl_value *in, const char *keep,
                      struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = 0;
    for (size_t i = 0; i < sv.n && !rc; i++) {
        unsigned char c = (unsigned char)sv.p[i];
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     (c && strchr(keep, c));
        rc = plain ? buf_putc(&b, (char)c) : buf_printf(&b, "%%%02X", c);
    }
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

static int f_uri(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                 struct tpl_value *out)
{
    UNUSED(a);
    return uri_encode(cx, in, "-._~", out);
}

static int f_url(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                 struct tpl_value *out)
{
    UNUSED(a);
    return uri_encode(cx, in, "-._~:/?#[]@!$&'()*+,;=", out);
}

static int case_filter(struct tpl_ctx *cx, const struct tpl_value *in, enum tpl_case_op op,
                       struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = tpl_text_case(sv.p, sv.n, op, &b);
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

static int f_upper(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                   struct tpl_value *out)
{
    UNUSED(a);
    return case_filter(cx, in, CASE_UPPER, out);
}

static int f_lower(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                   struct tpl_value *out)
{
    UNUSED(a);
    return case_filter(cx, in, CASE_LOWER, out);
}

static int f_ucfirst(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                     struct tpl_value *out)
{
    UNUSED(a);
    return case_filter(cx, in, CASE_UCFIRST, out);
}

static int f_lcfirst(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                     struct tpl_value *out)
{
    UNUSED(a);
    return case_filter(cx, in, CASE_LCFIRST, out);
}

static int trim_filter(struct tpl_ctx *cx, const struct tpl_value *in, bool collapse,
                       struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = tpl_text_trim(sv.p, sv.n, collapse, &b);
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

static int f_trim(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(a);
    return trim_filter(cx, in, false, out);
}

static int f_collapse(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                      struct tpl_value *out)
{
    UNUSED(a);
    return trim_filter(cx, in, true, out);
}

static int f_null(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                  struct tpl_value *out)
{
    UNUSED(cx);
    UNUSED(in);
    UNUSED(a);
    *out = tpl_str("", 0);
    return 0;
}

/* Integer argument i (default when absent or empty). */
static int64_t arg_int(const struct tpl_args *a, size_t i, int64_t dflt)
{
    const struct tpl_value *v = tpl_args_at(a, i);
    if (!v || v->type == TPL_UNDEF || (v->type == TPL_STR && !v->u.s->len))
        return dflt;
    double d = tpl_value_double(v);
    if (isnan(d))
        return 0;
    return d > 1e15 ? (int64_t)1e15 : d < -1e15 ? (int64_t)-1e15 : (int64_t)d;
}

static int f_truncate(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                      struct tpl_value *out)
{
    struct tpl_sv sv, sa;
    bool has_add;
    int64_t len = arg_int(a, 0, 32);
    const char *add = arg_str(a, 1, &sa, &has_add);
    size_t addn = has_add ? sa.n : 3;
    if (!has_add)
        add = "...";
    size_t laddc = tpl_utf8_len(add, addn);
    if (len < 0)
        len = 0;
    if ((size_t)len < laddc) {
        addn = tpl_utf8_offset(add, addn, (size_t)len);
        laddc = (size_t)len;
    }
    sv_get(&sv, in);
    if (tpl_utf8_len(sv.p, sv.n) <= (size_t)len) {
        *out = tpl_str(sv.p, sv.n);
    } else {
        size_t keep = tpl_utf8_offset(sv.p, sv.n, (size_t)len - laddc);
        *out = tpl_str_new(keep + addn);
        memcpy(out->u.s->data, sv.p, keep);
        memcpy(out->u.s->data + keep, add, addn);
    }
    sv_done(&sv);
    sv_done(&sa);
    return 0;
}

static int f_repeat(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                    struct tpl_value *out)
{
    struct tpl_sv sv;
    int64_t n = arg_int(a, 0, 1);
    sv_get(&sv, in);
    int rc = 0;
    if (n <= 0 || !sv.n) {
        *out = tpl_str("", 0);
    } else if (!(rc = tpl_check_len(cx, (uint64_t)n > SIZE_MAX / sv.n ? SIZE_MAX
                                                                       : (size_t)n * sv.n))) {
        struct buf b;
        fbuf(cx, &b);
        for (int64_t i = 0; i < n && !rc; i++)
            rc = buf_append(&b, sv.p, sv.n);
        rc = fdone(cx, &b, rc, out);
    }
    sv_done(&sv);
    return rc;
}

static int regex_filter(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                        bool with_rep, struct tpl_value *out)
{
    struct tpl_sv sv, sp, sr;
    bool def;
    const char *pat = arg_str(a, 0, &sp, &def);
    const char *rep = arg_str(a, 1, &sr, &def);
    size_t rn = with_rep ? sr.n : 0;
    const struct tpl_re *re = tpl_re_get(cx, pat, sp.n);
    int rc = -1;
    if (re) {
        struct buf b;
        sv_get(&sv, in);
        fbuf(cx, &b);
        rc = tpl_re_replace(cx, re, sv.p, sv.n, rep, rn, false, true, &b);
        rc = fdone(cx, &b, rc, out);
        sv_done(&sv);
    }
    sv_done(&sp);
    sv_done(&sr);
    return rc;
}

static int f_replace(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                     struct tpl_value *out)
{
    return regex_filter(cx, in, a, true, out);
}

static int f_remove(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                    struct tpl_value *out)
{
    return regex_filter(cx, in, a, false, out);
}

/* ---- format: Perl sprintf with the line as the only argument ---- */

/* Parses one conversion at f[i] ('%'); fills spec and returns its length, 0 if unsupported. */
static size_t format_spec(const char *f, size_t n, size_t i, char *spec, char *conv, long *width,
                          long *prec, bool *left)
{
    size_t j = i + 1, k = 0;
    spec[k++] = '%';
    *width = 0;
    *prec = -1;
    *left = false;
    while (j < n && strchr("-+ 0#", f[j])) {
        *left |= f[j] == '-';
        spec[k++] = f[j++];
    }
    size_t d = 0;
    while (j < n && f[j] >= '0' && f[j] <= '9' && d < 4) {
        *width = *width * 10 + (f[j] - '0');
        spec[k++] = f[j++];
        d++;
    }
    if (j < n && f[j] == '.') {
        spec[k++] = f[j++];
        *prec = 0;
        d = 0;
        while (j < n && f[j] >= '0' && f[j] <= '9' && d < 4) {
            *prec = *prec * 10 + (f[j] - '0');
            spec[k++] = f[j++];
            d++;
        }
    }
    if (j >= n || !strchr("sdiuoxXeEfFgGc", f[j]))
        return 0;
    *conv = f[j];
    spec[k] = '\0';
    return j + 1 - i;
}

/* %s by characters: precision truncates, width pads. */
static int format_str(const char *s, size_t n, long width, long prec, bool left, struct buf *b)
{
    size_t chars = tpl_utf8_len(s, n);
    if (prec >= 0 && (size_t)prec < chars) {
        n = tpl_utf8_offset(s, n, (size_t)prec);
        chars = (size_t)prec;
    }
    size_t pad = (size_t)width > chars ? (size_t)width - chars : 0;
    for (size_t i = 0; !left && i < pad; i++)
        if (buf_putc(b, ' '))
            return ERR_LIMIT;
    if (buf_append(b, s, n))
        return ERR_LIMIT;
    for (size_t i = 0; left && i < pad; i++)
        if (buf_putc(b, ' '))
            return ERR_LIMIT;
    return 0;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int format_num(const char *spec, char conv, const struct tpl_value *v, struct buf *b)
{
    char full[40];
    double d = v ? tpl_value_double(v) : 0;
    if (strchr("eEfFgG", conv)) {
        snprintf(full, sizeof(full), "%s%c", spec, conv);
        return buf_printf(b, full, d);
    }
    long long i = isfinite(d) && d < 9.2e18 && d > -9.2e18 ? (long long)d : 0;
    if (conv == 'c') {
        char enc[4];
        return i >= 0 && i <= 0x10FFFF ? buf_append(b, enc, utf8_encode((int32_t)i, enc)) : 0;
    }
    bool is_unsigned = strchr("uoxX", conv) != NULL;
    snprintf(full, sizeof(full), "%sll%c", spec, is_unsigned ? conv : 'd');
    return is_unsigned ? buf_printf(b, full, (unsigned long long)i) : buf_printf(b, full, i);
}
#pragma GCC diagnostic pop

static int format_line(const char *f, size_t fn, const struct tpl_value *arg, struct buf *b)
{
    bool used = false;
    for (size_t i = 0; i < fn;) {
        if (f[i] != '%') {
            if (buf_putc(b, f[i++]))
                return ERR_LIMIT;
            continue;
        }
        if (i + 1 < fn && f[i + 1] == '%') {
            if (buf_putc(b, '%'))
                return ERR_LIMIT;
            i += 2;
            continue;
        }
        char spec[24], conv;
        long width, prec;
        bool left;
        size_t len = format_spec(f, fn, i, spec, &conv, &width, &prec, &left);
        if (!len) { /* unsupported: printed as written, like Perl's "%z" */
            if (buf_putc(b, f[i++]))
                return ERR_LIMIT;
            continue;
        }
        const struct tpl_value *v = used ? NULL : arg;
        used = true;
        int rc;
        if (conv == 's') {
            struct tpl_sv sv;
            sv_get(&sv, v ? v : &(struct tpl_value){.type = TPL_UNDEF});
            rc = format_str(sv.p, sv.n, width, prec, left, b);
            sv_done(&sv);
        } else {
            rc = format_num(spec, conv, v, b);
        }
        if (rc)
            return ERR_LIMIT;
        i += len;
    }
    return 0;
}

static int f_format(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                    struct tpl_value *out)
{
    struct tpl_sv sv, sf;
    bool def;
    const char *fmt = arg_str(a, 0, &sf, &def);
    size_t fn = def ? sf.n : 2;
    if (!def)
        fmt = "%s";
    struct buf b;
    fbuf(cx, &b);
    sv_get(&sv, in);
    int rc = 0;
    bool first = true;
    /* Perl: join("\n", map { sprintf } split(/\n/, $text)) — trailing empty lines vanish */
    size_t end = sv.n;
    while (end > 0 && sv.p[end - 1] == '\n')
        end--;
    for (size_t i = 0; i < end && !rc;) {
        const char *nl = memchr(sv.p + i, '\n', end - i);
        size_t ln = nl ? (size_t)(nl - sv.p) - i : end - i;
        struct tpl_value line = tpl_str(sv.p + i, ln);
        rc = (!first && buf_putc(&b, '\n')) || format_line(fmt, fn, &line, &b);
        tpl_value_drop(&line);
        first = false;
        i += ln + 1;
        if ((rc = rc || tpl_step(cx, 1)))
            break;
    }
    sv_done(&sv);
    sv_done(&sf);
    return fdone(cx, &b, rc, out);
}

static int f_indent(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                    struct tpl_value *out)
{
    struct tpl_sv sv, sp;
    bool def;
    const char *pad = arg_str(a, 0, &sp, &def);
    struct buf padb, b;
    buf_init(&padb, cx->lim.max_output);
    int rc = 0;
    if (!def) {
        rc = buf_puts(&padb, "    ");
    } else if (sp.n && strspn(pad, "0123456789") == sp.n) {
        int64_t w = arg_int(a, 0, 4);
        for (int64_t i = 0; i < w && !rc; i++)
            rc = buf_putc(&padb, ' ');
    } else {
        rc = buf_append(&padb, pad, sp.n);
    }
    fbuf(cx, &b);
    sv_get(&sv, in);
    for (size_t i = 0; i < sv.n && !rc; i++) {
        if (i == 0 || sv.p[i - 1] == '\n')
            rc = buf_append(&b, padb.data, padb.len);
        rc = rc || buf_putc(&b, sv.p[i]);
    }
    sv_done(&sv);
    sv_done(&sp);
    buf_free(&padb);
    return fdone(cx, &b, rc, out);
}

static int f_shell(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                   struct tpl_value *out)
{
    struct tpl_sv sv;
    struct buf b;
    UNUSED(a);
    sv_get(&sv, in);
    fbuf(cx, &b);
    int rc = tpl_shell_quote(sv.p, sv.n, &b);
    sv_done(&sv);
    return fdone(cx, &b, rc, out);
}

static int f_json(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                  struct tpl_value *out)
{
    json_t *j;
    struct err e = {0};
    UNUSED(a);
    if (tpl_value_to_json(in, &j, &e))
        return tpl_throw(cx, "filter", "json: %s", e.msg);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                JSON_REAL_PRECISION(15));
    json_decref(j);
    if (!s)
        return tpl_throw(cx, "filter", "json: cannot encode");
    size_t n = strlen(s);
    int rc = tpl_check_len(cx, n);
    if (!rc)
        *out = tpl_str(s, n);
    free(s);
    return rc;
}

static int f_eval(struct tpl_ctx *cx, const struct tpl_value *in, const struct tpl_args *a,
                  struct tpl_value *out)
{
    struct tpl_sv sv;
    UNUSED(a);
    sv_get(&sv, in);
    int rc = tpl_eval_text(cx, sv.p, sv.n, out);
    sv_done(&sv);
    return rc;
}

/* Sorted by name for bsearch. */
static const struct tpl_filter_def filters[] = {
    {"collapse", f_collapse},
    {"eval", f_eval},
    {"evaltt", f_eval},
    {"format", f_format},
    {"html", f_html},
    {"html_break", f_html_para_break},
    {"html_entity", f_html_entity},
    {"html_line_break", f_html_line_break},
    {"html_para", f_html_para},
    {"html_para_break", f_html_para_break},
    {"indent", f_indent},
    {"json", f_json},
    {"lcfirst", f_lcfirst},
    {"lower", f_lower},
    {"null", f_null},
    {"remove", f_remove},
    {"repeat", f_repeat},
    {"replace", f_replace},
    {"shell", f_shell},
    {"trim", f_trim},
    {"truncate", f_truncate},
    {"ucfirst", f_ucfirst},
    {"upper", f_upper},
    {"uri", f_uri},
    {"url", f_url},
    {"xml", f_xml},
};

const struct tpl_filter_def *tpl_filter_find(const char *name, size_t len)
{
    size_t lo = 0, hi = ARRAY_SIZE(filters);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(filters[mid].name, name, len);
        if (c == 0 && filters[mid].name[len] != '\0')
            c = 1;
        if (c == 0)
            return &filters[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
