/*
 * mysql_dump.c — streaming MySQL dump parser (see mysql_dump.h).
 *
 * Three layers: a reader (a refillable window over a FILE* or a memory
 * buffer, counting lines), a lexer of the few token shapes dumps use
 * (whitespace and comments, words, `quoted` names, string and number
 * literals), and a statement loop that understands INSERT/REPLACE, CREATE
 * TABLE, DELIMITER and the transaction statements and skips the rest up to
 * the current delimiter.
 */
#include "mysql_dump.h"
#include "../util/buf.h"

#include <ctype.h>
#include <stdarg.h>

#define WINDOW 65536
#define DELIM_MAX 15

/* ---- reader ---- */

struct reader {
    FILE *f;             /* NULL for a memory buffer */
    unsigned char *buf;  /* the window; owned when f != NULL */
    size_t pos, len, cap;
    bool eof;            /* nothing beyond buf[len] */
    bool io_error;
    long line;
};

/* Makes at least need bytes available from pos, unless the input ends first. */
static void rd_fill(struct reader *r, size_t need)
{
    if (r->eof || r->len - r->pos >= need)
        return;
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    while (r->len < need && !r->eof) {
        size_t n = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
        r->len += n;
        if (n == 0) {
            r->io_error = ferror(r->f) != 0;
            r->eof = true;
        }
    }
}

/* The byte k positions ahead (k < DELIM_MAX + 4), or -1 at end of input. */
static inline int rd_peek(struct reader *r, size_t k)
{
    if (r->pos + k >= r->len)
        rd_fill(r, k + 1);
    return r->pos + k < r->len ? r->buf[r->pos + k] : -1;
}

static inline int rd_next(struct reader *r)
{
    int c = rd_peek(r, 0);
    if (c >= 0) {
        r->pos++;
        if (c == '\n')
            r->line++;
    }
    return c;
}

/* ---- parser state ---- */

/* Where a value of the current row lives in p->row. */
struct slot {
    enum mysql_value_type type;
    bool binary;
    size_t off, len;
};

struct parser {
    struct reader rd;
    const struct mysql_dump_handler *h;
    struct mysql_dump_stats *stats;
    struct err *e;
    char delim[DELIM_MAX + 1];
    size_t delim_len;
    struct buf word;      /* the last word or name read */
    struct buf row;       /* decoded values of the current row */
    struct slot *slots;
    size_t nslots, slots_cap;
    struct mysql_value *values;
    char *table;          /* table of the current INSERT / CREATE TABLE */
    const char *what;     /* "INSERT INTO", "REPLACE INTO", "CREATE TABLE" while in one */
    char **names;         /* column names of the current statement */
    size_t nnames;
    long stmt_line;
    long tx_line;         /* line of an open BEGIN / START TRANSACTION, 0 = none */
    bool dump_header;     /* a "-- MySQL dump" / "-- MariaDB dump" header was seen */
    bool dump_completed;  /* its "-- Dump completed" trailer was seen */
    bool first_comment_seen;
    bool no_backslash;    /* SQL_MODE has NO_BACKSLASH_ESCAPES: '\\' is an ordinary byte */
    struct buf code;      /* text of a versioned comment or SET statement (SQL_MODE check) */
};

static int perr(struct parser *p, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, long line, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->table && p->what)
        return err_set(p->e, ERR_INVALID, "line %ld: %s `%.64s` (line %ld): %s", line, p->what,
                       p->table, p->stmt_line, msg);
    return err_set(p->e, ERR_INVALID, "line %ld: %s", line, msg);
}

/* End of input where more was due: `what` names the construct that started on line since. */
static int eof_error(struct parser *p, const char *what, long since)
{
    if (p->rd.io_error)
        return err_set(p->e, ERR_IO, "line %ld: read error", p->rd.line);
    return perr(p, p->rd.line, "unexpected end of input %s that starts on line %ld"
                               " (truncated dump?)", what, since);
}

/* True if s starts with prefix, ignoring ASCII case. */
static bool starts_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void free_names(struct parser *p)
{
    for (size_t i = 0; i < p->nnames; i++)
        free(p->names[i]);
    free(p->names);
    p->names = NULL;
    p->nnames = 0;
    free(p->table);
    p->table = NULL;
    p->what = NULL;
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Bytes that make up unquoted names and keywords (UTF-8 bytes included, as MySQL). */
static bool is_word_char(int c)
{
    return c >= 0 && (isalnum(c) || c == '_' || c == '$' || c >= 0x80);
}

static bool word_is(const struct parser *p, const char *kw)
{
    return strcasecmp(p->word.data, kw) == 0;
}

/* ---- SQL_MODE ---- */

/* Longest text kept of a versioned comment or SET statement; the rest is not checked. */
#define CODE_MAX 4096

/* True if needle occurs in s[0..n), ignoring ASCII case. */
static bool contains_ci(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(s + i, needle, k) == 0)
            return true;
    return false;
}

/*
 * Notes the SQL_MODE assignments in p->code (a SET statement, or the text of
 * a versioned comment such as mysqldump's "40101 SET SQL_MODE=…"): with
 * NO_BACKSLASH_ESCAPES a backslash in a string is an ordinary byte; any other
 * value, @OLD_SQL_MODE included, turns the escapes back on. @sql_mode (a user
 * variable) and OLD_SQL_MODE are not the mode.
 */
static void note_sql_mode(struct parser *p)
{
    const char *s = p->code.data;
    for (const char *m = s; (m = strcasestr(m, "SQL_MODE")) != NULL; m += 8) {
        bool user_var = m > s && m[-1] == '@' && (m - 1 == s || m[-2] != '@');
        if (user_var || (m > s && is_word_char((unsigned char)m[-1])))
            continue;
        const char *v = m + 8;
        while (is_space(*v))
            v++;
        if (*v == ':')
            v++;
        if (*v != '=')
            continue;
        for (v++; is_space(*v);)
            v++;
        size_t n = *v == '\'' || *v == '"' ? strcspn(v + 1, *v == '\'' ? "'" : "\"") + 1
                                           : strcspn(v, ",");
        p->no_backslash = contains_ci(v, n, "NO_BACKSLASH_ESCAPES");
    }
}

/* ---- comments and whitespace ---- */

/* Skips a "-- " or "#" comment to the end of its line, noting mysqldump's header and trailer. */
static void skip_line_comment(struct parser *p)
{
    char head[24];
    size_t n = 0;
    int c;
    while ((c = rd_peek(&p->rd, 0)) >= 0 && c != '\n') {
        if (n + 1 < sizeof(head))
            head[n++] = (char)c;
        rd_next(&p->rd);
    }
    head[n] = '\0';
    if (!p->first_comment_seen && (starts_ci(head, "-- MySQL dump") ||
                                   starts_ci(head, "-- MariaDB dump")))
        p->dump_header = true;
    if (starts_ci(head, "-- Dump completed"))
        p->dump_completed = true;
    p->first_comment_seen = true;
}

/*
 * Skips a block comment. A versioned one is code MySQL runs; mysqldump sets
 * SQL_MODE in one ("40101 SET … SQL_MODE='…'"), so its text is checked.
 */
static int skip_block_comment(struct parser *p)
{
    long start = p->rd.line;
    bool versioned = rd_peek(&p->rd, 2) == '!';
    rd_next(&p->rd);
    rd_next(&p->rd);
    buf_reset(&p->code);
    for (;;) {
        int c = rd_next(&p->rd);
        if (c < 0)
            return eof_error(p, "in a comment", start);
        if (c == '*' && rd_peek(&p->rd, 0) == '/') {
            rd_next(&p->rd);
            if (versioned)
                note_sql_mode(p);
            return 0;
        }
        if (versioned && p->code.len < CODE_MAX)
            (void)buf_putc(&p->code, (char)c);
    }
}

/* Skips whitespace and comments. */
static int skip_ws(struct parser *p)
{
    for (;;) {
        int c = rd_peek(&p->rd, 0);
        if (is_space(c)) {
            rd_next(&p->rd);
        } else if (c == '#') {
            skip_line_comment(p);
        } else if (c == '-' && rd_peek(&p->rd, 1) == '-' &&
                   (rd_peek(&p->rd, 2) < 0 || rd_peek(&p->rd, 2) <= ' ')) {
            skip_line_comment(p);
        } else if (c == '/' && rd_peek(&p->rd, 1) == '*') {
            int rc = skip_block_comment(p);
            if (rc)
                return rc;
        } else {
            return 0;
        }
    }
}

static bool at_delim(struct parser *p)
{
    for (size_t i = 0; i < p->delim_len; i++)
        if (rd_peek(&p->rd, i) != (unsigned char)p->delim[i])
            return false;
    return true;
}

static void eat_delim(struct parser *p)
{
    for (size_t i = 0; i < p->delim_len; i++)
        rd_next(&p->rd);
}

/* ---- names and words ---- */

/* Reads an unquoted word into p->word (empty when the next byte is no word byte). */
static int read_word(struct parser *p)
{
    buf_reset(&p->word);
    while (is_word_char(rd_peek(&p->rd, 0))) {
        if (buf_putc(&p->word, (char)rd_next(&p->rd)) || p->word.len > MYSQL_DUMP_MAX_IDENT)
            return perr(p, p->rd.line, "name longer than %d bytes", MYSQL_DUMP_MAX_IDENT);
    }
    return 0;
}

/* Reads a `quoted` name (`` is a backquote) into p->word. */
static int read_quoted_name(struct parser *p)
{
    long start = p->rd.line;
    buf_reset(&p->word);
    rd_next(&p->rd);
    for (;;) {
        int c = rd_next(&p->rd);
        if (c < 0)
            return eof_error(p, "in a `quoted` name", start);
        if (c == '`') {
            if (rd_peek(&p->rd, 0) != '`')
                break;
            rd_next(&p->rd);
        }
        if (buf_putc(&p->word, (char)c) || p->word.len > MYSQL_DUMP_MAX_IDENT)
            return perr(p, p->rd.line, "name longer than %d bytes", MYSQL_DUMP_MAX_IDENT);
    }
    if (p->word.len == 0 || memchr(p->word.data, '\0', p->word.len))
        return perr(p, start, "empty or invalid `quoted` name");
    return 0;
}

/* Reads a name, quoted or not, into p->word; *quoted (may be NULL) tells which. */
static int read_name(struct parser *p, bool *quoted)
{
    int rc = skip_ws(p);
    if (rc)
        return rc;
    bool q = rd_peek(&p->rd, 0) == '`';
    if (quoted)
        *quoted = q;
    if (q)
        return read_quoted_name(p);
    rc = read_word(p);
    if (rc == 0 && p->word.len == 0)
        return rd_peek(&p->rd, 0) < 0 ? eof_error(p, "in the statement", p->stmt_line)
                                       : perr(p, p->rd.line, "expected a name");
    return rc;
}

/* Reads a possibly qualified table name (db.table) and keeps the last part in p->table. */
static int read_table_name(struct parser *p)
{
    int rc = read_name(p, NULL);
    while (rc == 0) {
        free(p->table);
        p->table = xstrndup(p->word.data, p->word.len);
        if ((rc = skip_ws(p)) || rd_peek(&p->rd, 0) != '.')
            break;
        rd_next(&p->rd);
        rc = read_name(p, NULL);
    }
    return rc;
}

static int add_name(struct parser *p)
{
    if (p->nnames >= MYSQL_DUMP_MAX_COLUMNS)
        return perr(p, p->rd.line, "more than %d columns", MYSQL_DUMP_MAX_COLUMNS);
    p->names = xrealloc(p->names, (p->nnames + 1) * sizeof(*p->names));
    p->names[p->nnames++] = xstrndup(p->word.data, p->word.len);
    return 0;
}

/* ---- skipping ---- */

/* Skips a quoted string or name whose opening quote is the next byte, copying it to copy (may be NULL). */
static int skip_quoted(struct parser *p, struct buf *copy)
{
    long start = p->rd.line;
    int q = rd_next(&p->rd), c = q;
    for (;;) {
        if (copy && copy->len < CODE_MAX)
            (void)buf_putc(copy, (char)c);
        c = rd_next(&p->rd);
        if (c < 0)
            return eof_error(p, q == '`' ? "in a `quoted` name" : "in a string", start);
        if (c == '\\' && q != '`' && !p->no_backslash) {
            if (rd_next(&p->rd) < 0)
                return eof_error(p, "in a string", start);
        } else if (c == q) {
            if (rd_peek(&p->rd, 0) != q) {
                if (copy && copy->len < CODE_MAX)
                    (void)buf_putc(copy, (char)c);
                return 0;
            }
            rd_next(&p->rd);
        }
    }
}

/* Skips the rest of the current statement, through its delimiter. */
static int skip_statement(struct parser *p)
{
    for (;;) {
        int rc = skip_ws(p);
        if (rc)
            return rc;
        int c = rd_peek(&p->rd, 0);
        if (c < 0)
            return eof_error(p, "in a statement without its closing delimiter", p->stmt_line);
        if (at_delim(p)) {
            eat_delim(p);
            return 0;
        }
        if (c == '\'' || c == '"' || c == '`') {
            if ((rc = skip_quoted(p, NULL)))
                return rc;
        } else {
            rd_next(&p->rd);
        }
    }
}

/* ---- values ---- */

static int add_slot(struct parser *p, enum mysql_value_type type, bool binary, size_t off)
{
    if (p->nslots >= MYSQL_DUMP_MAX_COLUMNS)
        return perr(p, p->rd.line, "a row with more than %d values", MYSQL_DUMP_MAX_COLUMNS);
    if (p->nslots == p->slots_cap) {
        p->slots_cap = p->slots_cap ? p->slots_cap * 2 : 32;
        p->slots = xrealloc(p->slots, p->slots_cap * sizeof(*p->slots));
    }
    size_t len = type == MYSQL_NUMBER || type == MYSQL_STRING ? p->row.len - off : 0;
    if (len > MYSQL_DUMP_MAX_VALUE)
        return perr(p, p->rd.line, "a value longer than %u bytes", MYSQL_DUMP_MAX_VALUE);
    p->slots[p->nslots++] = (struct slot){ .type = type, .binary = binary, .off = off, .len = len };
    /* NUL-terminate the value for callers that want C strings */
    if (buf_putc(&p->row, '\0'))
        return perr(p, p->rd.line, "a row longer than %u bytes", MYSQL_DUMP_MAX_ROW);
    return 0;
}

static int row_full(struct parser *p)
{
    return perr(p, p->rd.line, "a row longer than %u bytes", MYSQL_DUMP_MAX_ROW);
}

static char unescape(int c)
{
    switch (c) {
    case '0': return '\0';
    case 'b': return '\b';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'Z': return '\032';
    default: return (char)c; /* \' \" \\ and any other character stand for themselves */
    }
}

/* Appends the body of one quoted literal (opening quote next) to p->row. */
static int read_string_body(struct parser *p)
{
    struct reader *r = &p->rd;
    long start = r->line;
    int q = rd_next(r);
    for (;;) {
        if (r->pos >= r->len)
            rd_fill(r, 1);
        if (r->pos >= r->len)
            return eof_error(p, "in a string", start);
        /* copy the run of ordinary bytes in one go */
        size_t from = r->pos;
        while (r->pos < r->len && r->buf[r->pos] != q &&
               (r->buf[r->pos] != '\\' || p->no_backslash) && r->buf[r->pos] != '\n')
            r->pos++;
        if (buf_append(&p->row, r->buf + from, r->pos - from))
            return row_full(p);
        if (r->pos >= r->len)
            continue;
        int c = rd_next(r);
        int rc = 0;
        if (c == '\\' && !p->no_backslash) {
            int d = rd_next(r);
            if (d < 0)
                return eof_error(p, "in a string", start);
            if (d == '%' || d == '_') /* MySQL keeps \% and \_ outside LIKE patterns */
                rc = buf_putc(&p->row, '\\');
            if (rc == 0)
                rc = buf_putc(&p->row, unescape(d));
        } else if (c == q) {
            if (rd_peek(r, 0) != q)
                return 0;
            rd_next(r);
            rc = buf_putc(&p->row, (char)q);
        } else {
            rc = buf_putc(&p->row, (char)c); /* a newline */
        }
        if (rc)
            return row_full(p);
    }
}

/* A string literal and the literals adjacent to it ('a' 'b' is 'ab'). */
static int read_string(struct parser *p, bool binary)
{
    size_t off = p->row.len;
    int rc;
    do {
        if ((rc = read_string_body(p)) || (rc = skip_ws(p)))
            return rc;
        if (p->row.len - off > MYSQL_DUMP_MAX_VALUE)
            return perr(p, p->rd.line, "a value longer than %u bytes", MYSQL_DUMP_MAX_VALUE);
    } while (rd_peek(&p->rd, 0) == '\'' || rd_peek(&p->rd, 0) == '"');
    return add_slot(p, MYSQL_STRING, binary, off);
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Reads hex digits up to a byte that is none (closing is the quote of X'…',
 * or 0 for 0x…) and appends the bytes; an odd count gets a leading zero.
 */
static int read_hex(struct parser *p, int closing)
{
    struct buf digits;
    long start = p->rd.line;
    int rc = 0;
    buf_init(&digits, (size_t)MYSQL_DUMP_MAX_VALUE * 2);
    while (hex_value(rd_peek(&p->rd, 0)) >= 0)
        if (buf_putc(&digits, (char)rd_next(&p->rd))) {
            rc = perr(p, start, "a value longer than %u bytes", MYSQL_DUMP_MAX_VALUE);
            goto out;
        }
    if (closing && rd_next(&p->rd) != closing) {
        rc = rd_peek(&p->rd, 0) < 0 ? eof_error(p, "in a hex literal", start)
                                    : perr(p, start, "invalid hex literal");
        goto out;
    }
    if (!closing && is_word_char(rd_peek(&p->rd, 0))) {
        rc = perr(p, start, "invalid hex literal");
        goto out;
    }
    size_t off = p->row.len, i = 0;
    if (digits.len % 2)
        rc = buf_putc(&p->row, (char)hex_value(digits.data[i++]));
    for (; rc == 0 && i < digits.len; i += 2)
        rc = buf_putc(&p->row, (char)(hex_value(digits.data[i]) * 16 + hex_value(digits.data[i + 1])));
    rc = rc ? row_full(p) : add_slot(p, MYSQL_STRING, true, off);
out:
    buf_free(&digits);
    return rc;
}

/* Reads 0/1 digits up to closing (b'…') or a non-digit (0b…) as an unsigned number. */
static int read_bits(struct parser *p, int closing)
{
    long start = p->rd.line;
    uint64_t v = 0;
    int n = 0;
    while (rd_peek(&p->rd, 0) == '0' || rd_peek(&p->rd, 0) == '1') {
        if (++n > 64)
            return perr(p, start, "bit literal wider than 64 bits");
        v = v << 1 | (uint64_t)(rd_next(&p->rd) - '0');
    }
    if ((closing && rd_next(&p->rd) != closing) || (!closing && is_word_char(rd_peek(&p->rd, 0))))
        return rd_peek(&p->rd, 0) < 0 ? eof_error(p, "in a bit literal", start)
                                      : perr(p, start, "invalid bit literal");
    size_t off = p->row.len;
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    if (buf_puts(&p->row, num))
        return row_full(p);
    return add_slot(p, MYSQL_NUMBER, false, off);
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Appends digits to p->row; returns how many. */
static size_t take_digits(struct parser *p, int *rc)
{
    size_t n = 0;
    while (*rc == 0 && is_digit(rd_peek(&p->rd, 0))) {
        if (buf_putc(&p->row, (char)rd_next(&p->rd)))
            *rc = row_full(p);
        n++;
    }
    return n;
}

/* A number: [-]digits[.digits][e[+-]digits], or 0x…/0b… after no sign. */
static int read_number(struct parser *p)
{
    long start = p->rd.line;
    size_t off = p->row.len;
    int rc = 0, c = rd_peek(&p->rd, 0);
    bool negative = false;
    if (c == '-' || c == '+') {
        negative = c == '-';
        rd_next(&p->rd);
        if ((rc = skip_ws(p)))
            return rc;
    } else if (c == '0' && (rd_peek(&p->rd, 1) == 'x' || rd_peek(&p->rd, 1) == 'X') &&
               hex_value(rd_peek(&p->rd, 2)) >= 0) {
        rd_next(&p->rd);
        rd_next(&p->rd);
        return read_hex(p, 0);
    } else if (c == '0' && (rd_peek(&p->rd, 1) == 'b' || rd_peek(&p->rd, 1) == 'B') &&
               (rd_peek(&p->rd, 2) == '0' || rd_peek(&p->rd, 2) == '1')) {
        rd_next(&p->rd);
        rd_next(&p->rd);
        return read_bits(p, 0);
    }
    if (negative && buf_putc(&p->row, '-'))
        return row_full(p);
    size_t digits = take_digits(p, &rc);
    if (rc == 0 && rd_peek(&p->rd, 0) == '.') {
        rd_next(&p->rd);
        if (buf_putc(&p->row, '.'))
            return row_full(p);
        digits += take_digits(p, &rc);
    }
    if (rc)
        return rc;
    if (digits == 0)
        return perr(p, start, "expected a number");
    c = rd_peek(&p->rd, 0);
    if (c == 'e' || c == 'E') {
        int d = rd_peek(&p->rd, 1);
        if (!is_digit(d) && !((d == '-' || d == '+') && is_digit(rd_peek(&p->rd, 2))))
            return perr(p, start, "invalid number");
        if (buf_putc(&p->row, (char)rd_next(&p->rd)) ||
            (!is_digit(rd_peek(&p->rd, 0)) && buf_putc(&p->row, (char)rd_next(&p->rd))))
            return row_full(p);
        take_digits(p, &rc);
        if (rc)
            return rc;
    }
    if (is_word_char(rd_peek(&p->rd, 0)) || rd_peek(&p->rd, 0) == '.')
        return perr(p, start, "invalid number");
    return add_slot(p, MYSQL_NUMBER, false, off);
}

/* After NOW / CURRENT_TIMESTAMP …: an optional "( [precision] )". */
static int read_now(struct parser *p)
{
    int rc = skip_ws(p);
    if (rc == 0 && rd_peek(&p->rd, 0) == '(') {
        rd_next(&p->rd);
        if ((rc = skip_ws(p)))
            return rc;
        while (is_digit(rd_peek(&p->rd, 0)))
            rd_next(&p->rd);
        if ((rc = skip_ws(p)))
            return rc;
        if (rd_next(&p->rd) != ')')
            return perr(p, p->rd.line, "expected ')' after %s(", p->word.data);
    }
    return rc ? rc : add_slot(p, MYSQL_NOW, false, p->row.len);
}

static bool is_now_word(const struct parser *p)
{
    static const char *const words[] = { "NOW", "CURRENT_TIMESTAMP", "LOCALTIME",
                                         "LOCALTIMESTAMP", "SYSDATE" };
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (word_is(p, words[i]))
            return true;
    return false;
}

/* A value that starts with a word: keywords, X'…', B'…', N'…', _charset '…'. */
static int read_word_value(struct parser *p)
{
    long start = p->rd.line;
    int rc = read_word(p);
    if (rc)
        return rc;
    int next = rd_peek(&p->rd, 0);
    if (p->word.len == 1 && next == '\'') {
        char k = (char)toupper((unsigned char)p->word.data[0]);
        if (k == 'X') {
            rd_next(&p->rd);
            return read_hex(p, '\'');
        }
        if (k == 'B') {
            rd_next(&p->rd);
            return read_bits(p, '\'');
        }
        if (k == 'N')
            return read_string(p, false);
    }
    if (word_is(p, "NULL"))
        return add_slot(p, MYSQL_NULL, false, p->row.len);
    if (word_is(p, "DEFAULT"))
        return add_slot(p, MYSQL_DEFAULT, false, p->row.len);
    if (word_is(p, "TRUE") || word_is(p, "FALSE")) {
        size_t off = p->row.len;
        if (buf_putc(&p->row, word_is(p, "TRUE") ? '1' : '0'))
            return row_full(p);
        return add_slot(p, MYSQL_NUMBER, false, off);
    }
    if (is_now_word(p))
        return read_now(p);
    if (p->word.data[0] == '_' && p->word.len > 1) { /* charset introducer */
        bool binary = word_is(p, "_binary");
        if ((rc = skip_ws(p)))
            return rc;
        next = rd_peek(&p->rd, 0);
        if (next == '\'' || next == '"')
            return read_string(p, binary);
        if (next == '0' && (rd_peek(&p->rd, 1) == 'x' || rd_peek(&p->rd, 1) == 'X')) {
            rd_next(&p->rd);
            rd_next(&p->rd);
            return read_hex(p, 0);
        }
        if ((next == 'x' || next == 'X') && rd_peek(&p->rd, 1) == '\'') {
            rd_next(&p->rd);
            rd_next(&p->rd);
            return read_hex(p, '\'');
        }
    }
    return perr(p, start, "unsupported value \"%.40s\" (a dump holds literals, NULL, DEFAULT or NOW())",
                p->word.data);
}

static int read_value(struct parser *p)
{
    int rc = skip_ws(p);
    if (rc)
        return rc;
    int c = rd_peek(&p->rd, 0);
    if (c == '\'' || c == '"')
        return read_string(p, false);
    if (c == '-' || c == '+' || c == '.' || is_digit(c))
        return read_number(p);
    if (is_word_char(c))
        return read_word_value(p);
    if (c < 0)
        return eof_error(p, "in the statement", p->stmt_line);
    return perr(p, p->rd.line, "unexpected character '%c' where a value was expected",
                isprint(c) ? c : '?');
}

/* ---- INSERT ---- */

static void emit_values(struct parser *p)
{
    p->values = xrealloc(p->values, (p->nslots ? p->nslots : 1) * sizeof(*p->values));
    for (size_t i = 0; i < p->nslots; i++) {
        const struct slot *s = &p->slots[i];
        bool has_data = s->type == MYSQL_NUMBER || s->type == MYSQL_STRING;
        p->values[i] = (struct mysql_value){ .type = s->type, .binary = s->binary,
                                             .data = has_data ? p->row.data + s->off : NULL,
                                             .len = s->len };
    }
}

/* Reads "( value, … )" and hands the row over. */
static int read_row(struct parser *p, enum mysql_insert_kind kind, size_t row_no)
{
    long line = p->rd.line;
    int rc;
    buf_reset(&p->row);
    p->nslots = 0;
    rd_next(&p->rd); /* '(' */
    if ((rc = skip_ws(p)))
        return rc;
    if (rd_peek(&p->rd, 0) == ')') {
        rd_next(&p->rd);
    } else {
        for (;;) {
            if ((rc = read_value(p)) || (rc = skip_ws(p)))
                return rc;
            int c = rd_next(&p->rd);
            if (c == ')')
                break;
            if (c < 0)
                return eof_error(p, "in a row", line);
            if (c != ',')
                return perr(p, p->rd.line, "expected ',' or ')' after a value, got '%c'",
                            isprint(c) ? c : '?');
        }
    }
    p->stats->rows++;
    if (!p->h->on_row)
        return 0;
    emit_values(p);
    struct mysql_row r = {
        .table = p->table, .kind = kind,
        .columns = (const char *const *)p->names, .ncolumns = p->nnames,
        .values = p->values, .nvalues = p->nslots,
        .statement = p->stats->inserts, .row = row_no,
        .statement_line = p->stmt_line, .line = line,
    };
    return p->h->on_row(p->h->ctx, &r, p->e);
}

/* The optional "(col, …)" list of an INSERT. */
static int read_column_list(struct parser *p)
{
    int rc = skip_ws(p);
    if (rc || rd_peek(&p->rd, 0) != '(')
        return rc;
    rd_next(&p->rd);
    for (;;) {
        if ((rc = read_name(p, NULL)) || (rc = add_name(p)) || (rc = skip_ws(p)))
            return rc;
        int c = rd_next(&p->rd);
        if (c == ')')
            return 0;
        if (c < 0)
            return eof_error(p, "in a column list", p->stmt_line);
        if (c != ',')
            return perr(p, p->rd.line, "expected ',' or ')' in the column list");
    }
}

/* INSERT [LOW_PRIORITY|DELAYED|HIGH_PRIORITY] [IGNORE] [INTO] t [(cols)] VALUES (…), … */
static int parse_insert(struct parser *p, enum mysql_insert_kind kind)
{
    int rc;
    bool quoted;
    p->stats->inserts++;
    for (;;) {
        if ((rc = read_name(p, &quoted)))
            return rc;
        if (!quoted && (word_is(p, "LOW_PRIORITY") || word_is(p, "DELAYED") ||
                        word_is(p, "HIGH_PRIORITY") || word_is(p, "INTO")))
            continue;
        if (!quoted && word_is(p, "IGNORE")) {
            kind = MYSQL_INSERT_IGNORE;
            continue;
        }
        break;
    }
    p->table = xstrndup(p->word.data, p->word.len);
    p->what = kind == MYSQL_INSERT_REPLACE ? "REPLACE INTO" : "INSERT INTO";
    if ((rc = skip_ws(p)))
        return rc;
    if (rd_peek(&p->rd, 0) == '.') { /* db.table */
        rd_next(&p->rd);
        if ((rc = read_table_name(p)))
            return rc;
    }
    if ((rc = read_column_list(p)) || (rc = read_name(p, &quoted)))
        return rc;
    if (quoted || !(word_is(p, "VALUES") || word_is(p, "VALUE")))
        return perr(p, p->rd.line, "only INSERT … VALUES is supported, not \"%.20s\"",
                    p->word.data);
    for (size_t row_no = 1;; row_no++) {
        if ((rc = skip_ws(p)))
            return rc;
        if (rd_peek(&p->rd, 0) != '(')
            return rd_peek(&p->rd, 0) < 0 ? eof_error(p, "in the statement", p->stmt_line)
                                          : perr(p, p->rd.line, "expected '(' starting a row");
        if ((rc = read_row(p, kind, row_no)) || (rc = skip_ws(p)))
            return rc;
        if (rd_peek(&p->rd, 0) == ',') {
            rd_next(&p->rd);
            continue;
        }
        if (at_delim(p)) {
            eat_delim(p);
            return 0;
        }
        if (rd_peek(&p->rd, 0) < 0)
            return eof_error(p, "after the last row: no closing delimiter for the statement",
                             p->stmt_line);
        if ((rc = read_word(p)) == 0 && word_is(p, "ON"))
            return perr(p, p->rd.line, "INSERT … ON DUPLICATE KEY UPDATE is not supported");
        return rc ? rc : perr(p, p->rd.line, "expected ',' or \"%s\" after a row", p->delim);
    }
}

/* ---- CREATE TABLE ---- */

static bool is_constraint_word(const struct parser *p)
{
    static const char *const words[] = { "PRIMARY", "UNIQUE", "KEY", "INDEX", "FOREIGN",
                                         "CONSTRAINT", "FULLTEXT", "SPATIAL", "CHECK",
                                         "PERIOD" };
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (word_is(p, words[i]))
            return true;
    return false;
}

/* Skips the rest of one column or key definition; *closed is set at the table's ')'. */
static int skip_definition(struct parser *p, bool *closed)
{
    int depth = 0, rc;
    for (;;) {
        if ((rc = skip_ws(p)))
            return rc;
        int c = rd_peek(&p->rd, 0);
        if (c < 0)
            return eof_error(p, "in CREATE TABLE", p->stmt_line);
        if (c == '\'' || c == '"' || c == '`') {
            if ((rc = skip_quoted(p, NULL)))
                return rc;
            continue;
        }
        rd_next(&p->rd);
        if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (depth-- == 0) {
                *closed = true;
                return 0;
            }
        } else if (c == ',' && depth == 0) {
            return 0;
        }
    }
}

/* The table options after "( … )", up to the delimiter: AUTO_INCREMENT=N is kept, the rest skipped. */
static int read_table_options(struct parser *p, int64_t *auto_increment)
{
    for (;;) {
        int rc = skip_ws(p);
        if (rc)
            return rc;
        int c = rd_peek(&p->rd, 0);
        if (c < 0 || at_delim(p))
            return 0;
        if (c == '\'' || c == '"' || c == '`') {
            if ((rc = skip_quoted(p, NULL)))
                return rc;
            continue;
        }
        if (!is_word_char(c)) {
            rd_next(&p->rd);
            continue;
        }
        if ((rc = read_word(p)))
            return rc;
        if (!word_is(p, "AUTO_INCREMENT"))
            continue;
        if ((rc = skip_ws(p)))
            return rc;
        if (rd_peek(&p->rd, 0) == '=') {
            rd_next(&p->rd);
            if ((rc = skip_ws(p)))
                return rc;
        }
        int64_t n = 0;
        if (!is_digit(rd_peek(&p->rd, 0)))
            return perr(p, p->rd.line, "AUTO_INCREMENT without a number");
        while (is_digit(rd_peek(&p->rd, 0))) {
            int d = rd_next(&p->rd) - '0';
            if (n > (INT64_MAX - d) / 10)
                return perr(p, p->rd.line, "AUTO_INCREMENT out of range");
            n = n * 10 + d;
        }
        *auto_increment = n;
    }
}

/* The "( definitions )" of CREATE TABLE: collects the column names. */
static int read_definitions(struct parser *p)
{
    bool closed = false, quoted;
    int rc;
    rd_next(&p->rd); /* '(' */
    while (!closed) {
        if ((rc = skip_ws(p)))
            return rc;
        int c = rd_peek(&p->rd, 0);
        if (c == ')') {
            rd_next(&p->rd);
            break;
        }
        if (c == '`' || is_word_char(c)) {
            if ((rc = read_name(p, &quoted)))
                return rc;
            if ((quoted || !is_constraint_word(p)) && (rc = add_name(p)))
                return rc;
        }
        if ((rc = skip_definition(p, &closed)))
            return rc;
    }
    int64_t auto_increment = 0;
    if ((rc = read_table_options(p, &auto_increment)))
        return rc;
    if (p->h->on_table) {
        struct mysql_table t = { .name = p->table, .columns = (const char *const *)p->names,
                                 .ncolumns = p->nnames, .auto_increment = auto_increment,
                                 .line = p->stmt_line };
        if ((rc = p->h->on_table(p->h->ctx, &t, p->e)))
            return rc;
    }
    return skip_statement(p);
}

/* CREATE [TEMPORARY] TABLE [IF NOT EXISTS] t ( … ) …; other CREATEs are skipped. */
static int parse_create(struct parser *p)
{
    int rc;
    bool quoted;
    if ((rc = skip_ws(p)) || (rc = read_word(p)))
        return rc;
    if (word_is(p, "TEMPORARY") && ((rc = skip_ws(p)) || (rc = read_word(p))))
        return rc;
    if (!word_is(p, "TABLE"))
        return skip_statement(p);
    if ((rc = read_name(p, &quoted)))
        return rc;
    if (!quoted && word_is(p, "IF")) { /* IF NOT EXISTS */
        if ((rc = read_name(p, NULL)) || (rc = read_name(p, NULL)) || (rc = read_name(p, NULL)))
            return rc;
    }
    p->table = xstrndup(p->word.data, p->word.len);
    p->what = "CREATE TABLE";
    if ((rc = skip_ws(p)))
        return rc;
    if (rd_peek(&p->rd, 0) == '.') {
        rd_next(&p->rd);
        if ((rc = read_table_name(p)) || (rc = skip_ws(p)))
            return rc;
    }
    if (rd_peek(&p->rd, 0) != '(') /* CREATE TABLE … LIKE / AS SELECT */
        return skip_statement(p);
    return read_definitions(p);
}

/* ---- other statements ---- */

/* DELIMITER <string>: a client command that lasts to the end of its line. */
static int parse_delimiter(struct parser *p)
{
    char d[DELIM_MAX + 1];
    size_t n = 0;
    while (rd_peek(&p->rd, 0) == ' ' || rd_peek(&p->rd, 0) == '\t')
        rd_next(&p->rd);
    while (rd_peek(&p->rd, 0) >= 0 && !is_space(rd_peek(&p->rd, 0))) {
        if (n == DELIM_MAX)
            return perr(p, p->rd.line, "DELIMITER longer than %d bytes", DELIM_MAX);
        d[n++] = (char)rd_next(&p->rd);
    }
    if (n == 0)
        return perr(p, p->rd.line, "DELIMITER without a delimiter");
    while (rd_peek(&p->rd, 0) >= 0 && rd_peek(&p->rd, 0) != '\n')
        rd_next(&p->rd);
    memcpy(p->delim, d, n);
    p->delim[n] = '\0';
    p->delim_len = n;
    return 0;
}

/* SET …: nothing to import, but an SQL_MODE it sets changes how strings read. */
static int parse_set(struct parser *p)
{
    buf_reset(&p->code);
    for (;;) {
        int rc = skip_ws(p);
        if (rc)
            return rc;
        int c = rd_peek(&p->rd, 0);
        if (c < 0)
            return eof_error(p, "in a statement without its closing delimiter", p->stmt_line);
        if (at_delim(p)) {
            eat_delim(p);
            note_sql_mode(p);
            return 0;
        }
        if (p->code.len < CODE_MAX)
            (void)buf_putc(&p->code, ' ');
        if (c == '\'' || c == '"' || c == '`') {
            if ((rc = skip_quoted(p, &p->code)))
                return rc;
            continue;
        }
        do {
            if (p->code.len < CODE_MAX)
                (void)buf_putc(&p->code, (char)c);
            rd_next(&p->rd);
            c = rd_peek(&p->rd, 0);
        } while (c >= 0 && !is_space(c) && c != '\'' && c != '"' && c != '`' && !at_delim(p) &&
                 !(c == '/' && rd_peek(&p->rd, 1) == '*'));
    }
}

/* BEGIN, START TRANSACTION, COMMIT, ROLLBACK: tracked to notice a truncated dump. */
static int parse_transaction(struct parser *p, bool *handled)
{
    *handled = true;
    if (word_is(p, "BEGIN") || word_is(p, "START")) {
        if (p->tx_line == 0)
            p->tx_line = p->stmt_line;
    } else if (word_is(p, "COMMIT")) {
        p->tx_line = 0;
    } else if (word_is(p, "ROLLBACK")) {
        return perr(p, p->stmt_line, "the dump rolls back its own transaction; refusing to guess"
                                     " what it meant to keep");
    } else {
        *handled = false;
        return 0;
    }
    return skip_statement(p);
}

static int parse_statement(struct parser *p)
{
    int rc, c = rd_peek(&p->rd, 0);
    bool handled;
    p->stmt_line = p->rd.line;
    p->stats->statements++;
    if (!is_word_char(c))
        return skip_statement(p);
    if ((rc = read_word(p)))
        return rc;
    if (word_is(p, "INSERT"))
        return parse_insert(p, MYSQL_INSERT_PLAIN);
    if (word_is(p, "REPLACE"))
        return parse_insert(p, MYSQL_INSERT_REPLACE);
    if (word_is(p, "CREATE"))
        return parse_create(p);
    if (word_is(p, "DELIMITER"))
        return parse_delimiter(p);
    if (word_is(p, "SET"))
        return parse_set(p);
    rc = parse_transaction(p, &handled);
    return handled || rc ? rc : skip_statement(p);
}

/* After the last statement: a dump that ends inside its own transaction or without mysqldump's trailer was cut short. */
static int check_complete(struct parser *p)
{
    if (p->rd.io_error)
        return err_set(p->e, ERR_IO, "line %ld: read error", p->rd.line);
    if (p->tx_line)
        return perr(p, p->rd.line, "unexpected end of input: the transaction begun on line %ld"
                                   " is never committed (truncated dump?)", p->tx_line);
    if (p->dump_header && !p->dump_completed)
        return perr(p, p->rd.line, "unexpected end of input: the mysqldump header has no"
                                   " \"-- Dump completed\" trailer (truncated dump?)");
    return 0;
}

static int parse_all(struct parser *p)
{
    for (;;) {
        int rc = skip_ws(p);
        if (rc)
            return rc;
        if (rd_peek(&p->rd, 0) < 0)
            return check_complete(p);
        if (at_delim(p)) {
            eat_delim(p);
            continue;
        }
        rc = parse_statement(p);
        free_names(p);
        if (rc)
            return rc;
    }
}

static int run(struct parser *p, const struct mysql_dump_handler *h,
               struct mysql_dump_stats *stats, struct err *e)
{
    static const struct mysql_dump_handler none = { 0 };
    struct mysql_dump_stats local;
    p->h = h ? h : &none;
    p->stats = stats ? stats : &local;
    memset(p->stats, 0, sizeof(*p->stats));
    p->e = e;
    p->delim[0] = ';';
    p->delim_len = 1;
    p->rd.line = 1;
    buf_init(&p->word, MYSQL_DUMP_MAX_IDENT + 2);
    buf_init(&p->row, MYSQL_DUMP_MAX_ROW);
    buf_init(&p->code, CODE_MAX + 1);
    int rc = parse_all(p);
    p->stats->lines = p->rd.line;
    free_names(p);
    buf_free(&p->word);
    buf_free(&p->row);
    buf_free(&p->code);
    free(p->slots);
    free(p->values);
    return rc;
}

int mysql_dump_parse_file(FILE *f, const struct mysql_dump_handler *h,
                          struct mysql_dump_stats *stats, struct err *e)
{
    struct parser p = { 0 };
    p.rd.f = f;
    p.rd.cap = WINDOW;
    p.rd.buf = xmalloc(WINDOW);
    int rc = run(&p, h, stats, e);
    free(p.rd.buf);
    return rc;
}

int mysql_dump_parse_buffer(const char *data, size_t len, const struct mysql_dump_handler *h,
                            struct mysql_dump_stats *stats, struct err *e)
{
    struct parser p = { 0 };
    p.rd.buf = (unsigned char *)(uintptr_t)data; /* read only: no refill without a FILE */
    p.rd.len = p.rd.cap = len;
    p.rd.eof = true;
    return run(&p, h, stats, e);
}
