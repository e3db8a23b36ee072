/*
 * list.c — SHM's list arguments (api.md §9) compiled to a struct list_page
 * and parameterised WHERE conditions, and the page and count queries.
 *
 * Invariant (D26): the only text this file writes into SQL is model field
 * names, fixed keywords and $N placeholders. Every input value is a bound
 * parameter; every input name is looked up in the model or rejected.
 */
#include "../common.h"
#include "list.h"
#include "../core/money.h"
#include "../util/strutil.h"
#include "../util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <strings.h>

#define LIST_MAX_PATH 128 /* longest dotted JSON path accepted in a filter */

/* How a filter value is converted before it is bound. */
enum vkind { VK_INT, VK_MONEY, VK_REAL, VK_TEXT, VK_DATE, VK_JSON, VK_BLOB };

/* State of one filter compilation. */
struct fctx {
    const struct db *db;
    const struct model *m;
    struct sqlb *b;
    struct err *e;
    int terms;
    bool admin;
};

/* What a condition compares: a column, its text (cast), or the text at a JSON path. */
struct target {
    const struct field *f;
    enum vkind kind;
    const char *path; /* checked dotted JSON path, or NULL for the column itself */
    bool cast;  /* compare CAST(column AS TEXT) (whole JSON column) */
    bool strip; /* remove '%' from string values (number and key columns) */
};

/* A local time interval [from, to) named by a date value. */
struct span {
    int64_t from, to;
};

struct op {
    const char *name; /* filter key, e.g. "-in" */
    const char *sql;  /* comparison operator for op_cmp */
    int (*fn)(struct fctx *c, const struct target *t, const struct op *op, json_t *v);
    bool neg;         /* the NOT form (-not_like, -not_in) */
};

static int op_cmp(struct fctx *c, const struct target *t, const struct op *op, json_t *v);
static int op_like(struct fctx *c, const struct target *t, const struct op *op, json_t *v);
static int op_in(struct fctx *c, const struct target *t, const struct op *op, json_t *v);
static int op_between(struct fctx *c, const struct target *t, const struct op *op, json_t *v);

static const struct op OPS[] = {
    { "=", "=", op_cmp, false },        { "!=", "<>", op_cmp, false },
    { "<>", "<>", op_cmp, false },      { "<", "<", op_cmp, false },
    { "<=", "<=", op_cmp, false },      { ">", ">", op_cmp, false },
    { ">=", ">=", op_cmp, false },      { "-like", "", op_like, false },
    { "-not_like", "", op_like, true }, { "-in", "", op_in, false },
    { "-not_in", "", op_in, true },     { "-between", "", op_between, false },
};

/* ---- small helpers ---- */

/* Copies up to 40 printable ASCII characters of s, for an error message. */
static const char *safe_name(char *out, size_t outlen, const char *s)
{
    size_t i = 0;
    for (; i < 40 && i + 1 < outlen && s[i]; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[i] = '\0';
    return out;
}

/* True for a value given in the arguments: not absent, null or the empty string. */
static bool given(const json_t *v)
{
    return v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0);
}

static bool is_scalar(const json_t *v)
{
    return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

/* The field named by s[0..n), or NULL. */
static const struct field *field_n(const struct model *m, const char *s, size_t n)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (strlen(m->fields[i].name) == n && memcmp(m->fields[i].name, s, n) == 0)
            return &m->fields[i];
    return NULL;
}

/* The field named s if the caller may use it in filters and sorting, else NULL. */
static const struct field *filterable(const struct model *m, const char *s, bool admin)
{
    const struct field *f = s ? model_field(m, s) : NULL;
    if (f && !admin && (f->flags & FF_HIDDEN))
        return NULL; /* a user cannot probe fields hidden from him */
    return f && !(f->flags & FF_NOFILTER) ? f : NULL;
}

/* ---- limit, offset, sorting, field selection ---- */

/* Parses a JSON integer or a decimal string. Returns 0 or ERR_INVALID. */
static int count_parse(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v))
        return parse_i64(json_string_value(v), json_string_length(v), INT64_MIN, INT64_MAX,
                         out);
    return ERR_INVALID;
}

static int compile_limit(json_t *args, bool admin, struct list_page *page, struct err *e)
{
    json_t *v = json_object_get(args, "limit");
    int64_t n = LIST_DEFAULT_LIMIT;
    if (given(v) && count_parse(v, &n))
        return err_set(e, ERR_INVALID, "limit must be a non-negative integer");
    page->limit_echo = given(v) ? json_incref(v) : json_integer(LIST_DEFAULT_LIMIT);
    if (n < 0 || (n == 0 && !admin))
        n = LIST_DEFAULT_LIMIT;
    if (n > LIST_USER_MAX_LIMIT && !admin)
        n = LIST_USER_MAX_LIMIT;
    page->limit = n;
    return 0;
}

static int compile_offset(json_t *args, struct list_page *page, struct err *e)
{
    json_t *v = json_object_get(args, "offset");
    int64_t n = 0;
    if (given(v) && (count_parse(v, &n) || n < 0))
        return err_set(e, ERR_INVALID, "offset must be a non-negative integer");
    /* echoed as given, except that SHM answers a passed 0 with the number 0 */
    page->offset_echo = given(v) && n != 0 ? json_incref(v) : json_integer(0);
    page->offset = n;
    return 0;
}

static void compile_sort(const struct model *m, json_t *args, bool admin, struct list_page *page)
{
    const struct field *f =
        filterable(m, json_string_value(json_object_get(args, "sort_field")), admin);
    const char *dir = json_string_value(json_object_get(args, "sort_direction"));
    bool asc = dir && strcasecmp(dir, "asc") == 0;
    /* NULLs sort as the smallest value on both engines, as in SHM's MySQL */
    buf_printf(&page->order, " ORDER BY %s %s", f ? f->name : m->key,
               asc ? "ASC NULLS FIRST" : "DESC NULLS LAST");
}

/* Adds the field named by s[0..n) (spaces trimmed) to the column list. */
static int fields_add(const struct model *m, const char *s, size_t n, bool *seen,
                      struct buf *cols, struct err *e)
{
    char name[48];
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return 0;
    const struct field *f = field_n(m, s, n);
    if (!f) {
        char *tmp = xstrndup(s, n);
        err_set(e, ERR_INVALID, "Unknown field: %s", safe_name(name, sizeof(name), tmp));
        free(tmp);
        return ERR_INVALID;
    }
    if ((f->flags & FF_NOLIST) || seen[f - m->fields])
        return 0;
    seen[f - m->fields] = true;
    buf_printf(cols, "%s%s", cols->len ? ", " : "", f->name);
    return 0;
}

static int compile_fields(const struct model *m, json_t *args, struct list_page *page,
                          struct err *e)
{
    json_t *v = json_object_get(args, "fields");
    int rc = 0;
    if (given(v) && !json_is_string(v))
        return err_set(e, ERR_INVALID, "fields must be a comma-separated list of columns");
    if (given(v)) {
        bool *seen = xcalloc(m->nfields, sizeof(bool));
        for (const char *s = json_string_value(v); *s && rc == 0; s += *s == ',') {
            size_t n = strcspn(s, ",");
            rc = fields_add(m, s, n, seen, &page->columns, e);
            s += n;
        }
        free(seen);
    }
    if (rc == 0 && page->columns.len == 0)
        model_select_list(m, &page->columns);
    return rc;
}

/* ---- filter: shared pieces ---- */

static int too_large(struct fctx *c)
{
    return err_set(c->e, ERR_INVALID, "filter too large");
}

static int bad_value(struct fctx *c, const struct target *t)
{
    return err_set(c->e, ERR_INVALID, "Invalid filter value for %s", t->f->name);
}

/* Writes the next placeholder and binds v. */
static int put_param(struct fctx *c, struct db_value v)
{
    return sqlb_param(c->b, v) ? 0 : too_large(c);
}

static int term_add(struct fctx *c)
{
    if (++c->terms > LIST_MAX_TERMS)
        return err_set(c->e, ERR_INVALID, "filter has too many conditions (at most %d)",
                       LIST_MAX_TERMS);
    return 0;
}

static int depth_check(struct fctx *c, int depth)
{
    if (depth > LIST_MAX_DEPTH)
        return err_set(c->e, ERR_INVALID, "filter is nested too deeply (at most %d levels)",
                       LIST_MAX_DEPTH);
    return 0;
}

static bool ident_char(char ch, bool first)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
           (!first && ch >= '0' && ch <= '9');
}

/* Checks a dotted JSON path: identifiers [A-Za-z_][A-Za-z0-9_]* separated by dots. */
static int path_check(struct fctx *c, const char *path)
{
    char name[48];
    bool start = true, ok = strlen(path) <= LIST_MAX_PATH;
    for (const char *p = path; *p && ok; p++) {
        ok = *p == '.' ? !start : ident_char(*p, start);
        start = *p == '.';
    }
    if (ok && !start)
        return 0;
    return err_set(c->e, ERR_INVALID, "Invalid JSON path in filter: %s",
                   safe_name(name, sizeof(name), path));
}

/* Binds the engine form of a dotted path without writing it; *no gets its number. */
static int bind_path(struct fctx *c, const char *dotted, int *no)
{
    char *p = db_json_path(c->db, dotted);
    *no = sqlb_bind(c->b, DB_TEXT(p));
    free(p);
    return *no ? 0 : too_large(c);
}

static struct target target_of(const struct model *m, const struct field *f)
{
    struct target t = { .f = f, .kind = VK_TEXT };
    bool key = (f->flags & FF_KEY) || (m->key && strcmp(f->name, m->key) == 0);
    switch (f->type) {
    case FT_INT: t.kind = VK_INT; break;
    case FT_MONEY: t.kind = VK_MONEY; break;
    case FT_REAL: t.kind = VK_REAL; break;
    case FT_DATE: t.kind = VK_DATE; break;
    case FT_JSON: t.kind = VK_JSON; break;
    case FT_BLOB: t.kind = VK_BLOB; break;
    default: break;
    }
    t.strip = key || t.kind == VK_INT;
    return t;
}

/*
 * Writes the SQL expression a condition on t compares. A JSON path is bound
 * at each use, so no parameter is ever left unreferenced (PostgreSQL rejects
 * those); a parameter overflow is caught by list_compile from sqlb.overflow.
 */
static void target_expr(struct fctx *c, const struct target *t)
{
    if (t->path) {
        char *p = db_json_path(c->db, t->path);
        int no = sqlb_bind(c->b, DB_TEXT(p));
        free(p);
        db_sql_json_text(c->db, &c->b->sql, t->f->name, no);
    } else if (t->cast) {
        sqlb_add(c->b, "CAST(%s AS TEXT)", t->f->name);
    } else {
        sqlb_add(c->b, "%s", t->f->name);
    }
}

/* ---- filter: values ---- */

/* Boolean as text: 1/0, except at a PostgreSQL JSON path, where #>> gives true/false. */
static const char *bool_text(const struct fctx *c, const struct target *t, bool v)
{
    if (t->path && db_engine_of(c->db) == DB_PG)
        return v ? "true" : "false";
    return v ? "1" : "0";
}

/* Writes the text form of a scalar into out. Returns 0 or ERR_INVALID. */
static int scalar_text(const struct fctx *c, const struct target *t, const json_t *v,
                       struct buf *out)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (size_t i = 0; s[i]; i++)
            if (!(t->strip && s[i] == '%'))
                buf_putc(out, s[i]);
    } else if (json_is_integer(v)) {
        buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v) && isfinite(json_real_value(v))) {
        buf_printf(out, "%.15g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        buf_puts(out, bool_text(c, t, json_is_true(v)));
    } else {
        return ERR_INVALID;
    }
    return 0;
}

/* True for decimal number text: [+-]digits[.digits][e[+-]digits]. */
static bool number_ok(const char *s)
{
    char *end;
    if (!isdigit((unsigned char)s[*s == '-' || *s == '+']) || strpbrk(s, "xXnNiI"))
        return false;
    errno = 0;
    double d = strtod(s, &end);
    return *end == '\0' && isfinite(d) && errno != ERANGE;
}

/* Converts v for t's column type and writes it as the next placeholder. */
static int bind_value(struct fctx *c, const struct target *t, const json_t *v)
{
    struct buf s;
    int64_t i = 0;
    int rc;
    if (t->kind == VK_MONEY)
        return money_from_json(v, &i) ? bad_value(c, t) : put_param(c, DB_INT(i));
    if (t->kind == VK_BLOB)
        return err_set(c->e, ERR_INVALID, "%s can only be filtered by null", t->f->name);
    buf_init(&s, 0);
    rc = scalar_text(c, t, v, &s);
    if (rc == 0 && t->kind == VK_INT)
        rc = parse_i64(s.data, s.len, INT64_MIN, INT64_MAX, &i);
    if (rc == 0 && t->kind == VK_REAL && !number_ok(s.data))
        rc = ERR_INVALID;
    if (rc)
        rc = bad_value(c, t);
    else
        rc = put_param(c, t->kind == VK_INT ? DB_INT(i) : DB_TEXT(s.data));
    buf_free(&s);
    return rc;
}

/* ---- filter: dates ---- */

/* Field positions of "YYYY-MM-DD HH:MM:SS" and the prefix lengths naming each unit. */
static const char DATE_PATTERN[] = "dddd-dd-dd dd:dd:dd";
static const size_t UNIT_POS[6] = { 0, 5, 8, 11, 14, 17 };
static const size_t UNIT_LEN[6] = { 4, 7, 10, 13, 16, 19 };
static const int UNIT_MAX[6] = { 9999, 12, 31, 23, 59, 59 };

static int days_in_month(int y, int mo)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mo == 2 && leap ? 29 : days[(mo - 1) % 12];
}

/* Splits a prefix of len characters of DATE_PATTERN into fields (missing ones: start). */
static int civil_parse(const char *s, size_t len, int f[6])
{
    for (size_t i = 0; i < len; i++) {
        char p = DATE_PATTERN[i];
        bool ok = p == 'd' ? isdigit((unsigned char)s[i]) != 0
                           : s[i] == p || (p == ' ' && s[i] == 'T');
        if (!ok)
            return ERR_INVALID;
    }
    for (int k = 0; k < 6; k++) {
        f[k] = k == 1 || k == 2 ? 1 : 0;
        for (size_t i = UNIT_POS[k]; i < len && i < UNIT_POS[k] + (k ? 2 : 4); i++)
            f[k] = (i == UNIT_POS[k] ? 0 : f[k] * 10) + (s[i] - '0');
    }
    return 0;
}

/* Adds one of unit (0 = year … 5 = second) with carry into the larger units. */
static void civil_next(int f[6], int unit)
{
    f[unit]++;
    for (int k = unit; k > 0; k--) {
        int max = k == 2 ? days_in_month(f[0], f[1]) : UNIT_MAX[k];
        if (f[k] <= max)
            break;
        f[k] = k <= 2 ? 1 : 0;
        f[k - 1]++;
    }
}

static int civil_epoch(const int f[6], int64_t *out)
{
    char tmp[48];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d", f[0], f[1], f[2], f[3], f[4],
             f[5]);
    return time_parse_local(tmp, out);
}

/*
 * Parses a date filter value: "YYYY-MM-DD" (that day), a full date-time
 * (that second), or a prefix ending in '%' ("2024-01%": that month).
 */
static int span_parse(const char *s, size_t len, struct span *sp)
{
    bool wild = len > 0 && s[len - 1] == '%';
    size_t n = wild ? len - 1 : len;
    int unit = -1, f[6];
    for (int k = 0; k < 6; k++)
        if (UNIT_LEN[k] == n)
            unit = k;
    if (unit < 0 || (!wild && unit != 2 && unit < 4) || civil_parse(s, n, f))
        return ERR_INVALID;
    if (!wild && unit == 4)
        unit = 5; /* "YYYY-MM-DD HH:MM" is a full date-time at second 0 */
    if (civil_epoch(f, &sp->from))
        return ERR_INVALID;
    civil_next(f, unit);
    return civil_epoch(f, &sp->to);
}

static int date_value(struct fctx *c, const struct target *t, const json_t *v, struct span *sp)
{
    if (!json_is_string(v) || span_parse(json_string_value(v), json_string_length(v), sp))
        return err_set(c->e, ERR_INVALID, "Invalid date in filter for %s", t->f->name);
    return 0;
}

/* Writes "column in [from, to)" (or its negation). */
static int span_cond(struct fctx *c, const struct target *t, const struct span *sp, bool neg)
{
    int rc;
    if (sp->to == sp->from + 1) {
        target_expr(c, t);
        sqlb_add(c->b, neg ? " <> " : " = ");
        return put_param(c, DB_INT(sp->from));
    }
    sqlb_add(c->b, neg ? "NOT (" : "(");
    target_expr(c, t);
    sqlb_add(c->b, " >= ");
    rc = put_param(c, DB_INT(sp->from));
    sqlb_add(c->b, " AND ");
    target_expr(c, t);
    sqlb_add(c->b, " < ");
    if (rc == 0)
        rc = put_param(c, DB_INT(sp->to));
    sqlb_add(c->b, ")");
    return rc;
}

static int date_eq(struct fctx *c, const struct target *t, const json_t *v, bool neg)
{
    struct span sp;
    int rc = date_value(c, t, v, &sp);
    return rc ? rc : span_cond(c, t, &sp, neg);
}

/* Ordering against the interval a value names: "> 2024-01-05" means after that day. */
static int date_cmp(struct fctx *c, const struct target *t, const char *sqlop, const json_t *v)
{
    static const struct { const char *op, *sql; bool to; } map[] = {
        { "<", "<", false }, { ">=", ">=", false }, { ">", ">=", true }, { "<=", "<", true },
    };
    struct span sp;
    int rc = date_value(c, t, v, &sp);
    if (rc)
        return rc;
    if (strcmp(sqlop, "=") == 0 || strcmp(sqlop, "<>") == 0)
        return span_cond(c, t, &sp, sqlop[0] == '<');
    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        if (strcmp(map[i].op, sqlop) == 0) {
            target_expr(c, t);
            sqlb_add(c->b, " %s ", map[i].sql);
            return put_param(c, DB_INT(map[i].to ? sp.to : sp.from));
        }
    }
    return bad_value(c, t);
}

static int date_in(struct fctx *c, const struct target *t, json_t *arr, bool neg)
{
    size_t i;
    json_t *x;
    sqlb_add(c->b, neg ? "NOT (" : "(");
    json_array_foreach(arr, i, x) {
        struct span sp;
        if (i)
            sqlb_add(c->b, " OR ");
        int rc = date_value(c, t, x, &sp);
        if (rc == 0)
            rc = span_cond(c, t, &sp, false);
        if (rc)
            return rc;
    }
    sqlb_add(c->b, ")");
    return 0;
}

static int date_between(struct fctx *c, const struct target *t, const json_t *a,
                        const json_t *b)
{
    struct span lo, hi;
    int rc = date_value(c, t, a, &lo);
    if (rc == 0)
        rc = date_value(c, t, b, &hi);
    if (rc)
        return rc;
    struct span sp = { lo.from, hi.to };
    return span_cond(c, t, &sp, false);
}

/* ---- filter: operators ---- */

static const struct op *op_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(OPS); i++)
        if (strcasecmp(OPS[i].name, name) == 0)
            return &OPS[i];
    return NULL;
}

static int null_cond(struct fctx *c, const struct target *t, bool neg)
{
    target_expr(c, t);
    sqlb_add(c->b, neg ? " IS NOT NULL" : " IS NULL");
    return 0;
}

static int cmp_cond(struct fctx *c, const struct target *t, const char *sqlop, const json_t *v)
{
    target_expr(c, t);
    sqlb_add(c->b, " %s ", sqlop);
    return bind_value(c, t, v);
}

/* LIKE (ILIKE on PostgreSQL) on the column's text; the pattern is bound as given. */
static int like_cond(struct fctx *c, const struct target *t, const json_t *v, bool neg)
{
    if (t->kind == VK_TEXT)
        target_expr(c, t);
    else
        sqlb_add(c->b, "CAST(%s AS TEXT)", t->f->name);
    sqlb_add(c->b, " %s%s ", neg ? "NOT " : "", db_sql_ilike(c->db));
    return put_param(c, DB_TEXT(json_string_value(v)));
}

static int op_cmp(struct fctx *c, const struct target *t, const struct op *op, json_t *v)
{
    if (json_is_null(v) && strcmp(op->sql, "=") != 0 && strcmp(op->sql, "<>") != 0)
        return err_set(c->e, ERR_INVALID, "null can only be compared with = or !=");
    if (json_is_null(v))
        return null_cond(c, t, op->sql[0] == '<');
    if (!is_scalar(v))
        return bad_value(c, t);
    if (t->kind == VK_DATE)
        return date_cmp(c, t, op->sql, v);
    return cmp_cond(c, t, op->sql, v);
}

static int op_like(struct fctx *c, const struct target *t, const struct op *op, json_t *v)
{
    if (!json_is_string(v))
        return err_set(c->e, ERR_INVALID, "%s needs a string", op->name);
    if (t->kind == VK_DATE)
        return date_eq(c, t, v, op->neg);
    if (t->kind == VK_MONEY || t->kind == VK_BLOB)
        return err_set(c->e, ERR_INVALID, "%s cannot be used with %s", op->name, t->f->name);
    return like_cond(c, t, v, op->neg);
}

static int in_values(struct fctx *c, const struct target *t, json_t *arr)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        int rc;
        if (i)
            sqlb_add(c->b, ", ");
        rc = is_scalar(x) ? bind_value(c, t, x) : bad_value(c, t);
        if (rc)
            return rc;
    }
    return 0;
}

static int op_in(struct fctx *c, const struct target *t, const struct op *op, json_t *v)
{
    int rc;
    if (!json_is_array(v))
        return err_set(c->e, ERR_INVALID, "%s needs an array", op->name);
    if (json_array_size(v) > SQLB_MAX_PARAMS)
        return too_large(c);
    if (json_array_size(v) == 0) {
        sqlb_add(c->b, op->neg ? "1=1" : "1=0");
        return 0;
    }
    if (t->kind == VK_DATE)
        return date_in(c, t, v, op->neg);
    target_expr(c, t);
    sqlb_add(c->b, op->neg ? " NOT IN (" : " IN (");
    rc = in_values(c, t, v);
    sqlb_add(c->b, ")");
    return rc;
}

static int op_between(struct fctx *c, const struct target *t, const struct op *op, json_t *v)
{
    json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
    int rc;
    if (!json_is_array(v) || json_array_size(v) != 2 || !is_scalar(a) || !is_scalar(b))
        return err_set(c->e, ERR_INVALID, "%s needs an array of two values", op->name);
    if (t->kind == VK_DATE)
        return date_between(c, t, a, b);
    target_expr(c, t);
    sqlb_add(c->b, " BETWEEN ");
    rc = bind_value(c, t, a);
    sqlb_add(c->b, " AND ");
    return rc ? rc : bind_value(c, t, b);
}

/* ---- filter: structure ---- */

/*
 * Writes "(k1 <joiner> k2 …)" with fn writing the condition of each key of
 * obj ("(1=1)" when empty). Every key counts as one term.
 */
static int group_each(struct fctx *c, json_t *obj, const char *joiner, int depth,
                      int (*fn)(struct fctx *, const void *, const char *, json_t *, int),
                      const void *arg)
{
    const char *key;
    json_t *v;
    bool first = true;
    int rc = depth_check(c, depth);
    if (rc)
        return rc;
    sqlb_add(c->b, "(");
    json_object_foreach(obj, key, v) {
        if (!first)
            sqlb_add(c->b, " %s ", joiner);
        first = false;
        rc = term_add(c);
        if (rc == 0)
            rc = fn(c, arg, key, v, depth);
        if (rc)
            return rc;
    }
    sqlb_add(c->b, first ? "1=1)" : ")");
    return 0;
}

/* One key of an operator map on target arg. */
static int op_key(struct fctx *c, const void *arg, const char *key, json_t *v, int depth)
{
    const struct op *op = op_find(key);
    char name[48];
    UNUSED(depth);
    if (!op)
        return err_set(c->e, ERR_INVALID, "Unknown filter operator: %s",
                       safe_name(name, sizeof(name), key));
    return op->fn(c, arg, op, v);
}

/* One path of a JSON column's filter object: text at the path vs the value. */
static int json_path_cond(struct fctx *c, const struct field *f, const char *path, json_t *v,
                          int depth)
{
    struct target t = { .f = f, .kind = VK_TEXT, .path = path };
    int rc = path_check(c, path);
    if (rc)
        return rc;
    if (json_is_object(v))
        return group_each(c, v, "AND", depth + 1, op_key, &t);
    if (json_is_null(v))
        return null_cond(c, &t, false);
    if (!is_scalar(v))
        return bad_value(c, &t);
    return cmp_cond(c, &t, "=", v);
}

/* One key of a JSON column's filter object: an operator on the whole text, or a path. */
static int json_key(struct fctx *c, const void *arg, const char *key, json_t *v, int depth)
{
    const struct field *f = arg;
    const struct op *op = op_find(key);
    if (op) {
        struct target t = { .f = f, .kind = VK_TEXT, .cast = true };
        return op->fn(c, &t, op, v);
    }
    return json_path_cond(c, f, key, v, depth);
}

/* The path at s is present (or, after '!', absent). */
static int json_present(struct fctx *c, const struct field *f, const char *s)
{
    bool neg = s[0] == '!';
    int no, rc = path_check(c, s + neg);
    if (rc == 0)
        rc = bind_path(c, s + neg, &no);
    if (rc)
        return rc;
    sqlb_add(c->b, neg ? "NOT (" : "(");
    db_sql_json_present(c->db, &c->b->sql, f->name, no);
    sqlb_add(c->b, ")");
    return 0;
}

static int json_column(struct fctx *c, const struct field *f, json_t *v, int depth)
{
    const char *s = json_string_value(v);
    if (json_is_object(v))
        return group_each(c, v, "AND", depth + 1, json_key, f);
    if (!s)
        return err_set(c->e, ERR_INVALID, "Filter value for %s must be an object or a string",
                       f->name);
    if (!strchr(s, '%'))
        return json_present(c, f, s);
    sqlb_add(c->b, "CAST(%s AS TEXT) %s ", f->name, db_sql_ilike(c->db));
    return put_param(c, DB_TEXT(s));
}

static int scalar_cond(struct fctx *c, const struct target *t, const json_t *v)
{
    const char *s = json_string_value(v);
    if (t->kind == VK_DATE)
        return date_eq(c, t, v, false);
    if (t->kind == VK_TEXT && !t->strip && s && strchr(s, '%'))
        return like_cond(c, t, v, false);
    return cmp_cond(c, t, "=", v);
}

static int column_cond(struct fctx *c, const struct field *f, json_t *v, int depth)
{
    struct target t = target_of(c->m, f);
    if (json_is_null(v))
        return null_cond(c, &t, false);
    if (t.kind == VK_JSON)
        return json_column(c, f, v, depth);
    if (json_is_object(v))
        return group_each(c, v, "AND", depth + 1, op_key, &t);
    if (!is_scalar(v))
        return err_set(c->e, ERR_INVALID,
                       "Filter value for %s: arrays are only allowed with -in, -not_in and -between",
                       f->name);
    return scalar_cond(c, &t, v);
}

static int filter_key(struct fctx *c, const void *arg, const char *key, json_t *v, int depth);

static int logic_error(struct fctx *c)
{
    return err_set(c->e, ERR_INVALID, "-or and -and need an object or an array of objects");
}

/* "-or"/"-and": an object (one condition per key) or an array of objects (AND inside). */
static int filter_logic(struct fctx *c, json_t *v, const char *joiner, int depth)
{
    size_t i;
    json_t *x;
    int rc = depth_check(c, depth + 1);
    if (rc)
        return rc;
    if (json_is_object(v))
        return group_each(c, v, joiner, depth + 1, filter_key, NULL);
    if (!json_is_array(v))
        return logic_error(c);
    sqlb_add(c->b, "(");
    json_array_foreach(v, i, x) {
        if (!json_is_object(x))
            return logic_error(c);
        if (i)
            sqlb_add(c->b, " %s ", joiner);
        rc = term_add(c);
        if (rc == 0)
            rc = group_each(c, x, "AND", depth + 1, filter_key, NULL);
        if (rc)
            return rc;
    }
    sqlb_add(c->b, json_array_size(v) ? ")" : "1=1)");
    return 0;
}

/* One key of a filter object: a column or -or/-and. */
static int filter_key(struct fctx *c, const void *arg, const char *key, json_t *v, int depth)
{
    char name[48];
    const struct field *f;
    UNUSED(arg);
    if (strncmp(key, "--", 2) == 0)
        return err_set(c->e, ERR_INVALID, "Invalid filter key: %s",
                       safe_name(name, sizeof(name), key));
    if (strcmp(key, "-or") == 0 || strcmp(key, "-and") == 0)
        return filter_logic(c, v, key[1] == 'o' ? "OR" : "AND", depth);
    f = filterable(c->m, key, c->admin);
    if (!f)
        return err_set(c->e, ERR_INVALID, "Unknown filter field: %s",
                       safe_name(name, sizeof(name), key));
    return column_cond(c, f, v, depth);
}

/* Decodes the filter argument (an object, or a string holding one) into *out (owned). */
static int filter_decode(json_t *args, json_t **out, struct err *e)
{
    json_t *v = json_object_get(args, "filter");
    *out = NULL;
    if (!given(v))
        return 0;
    if (json_is_string(v))
        v = json_loadb(json_string_value(v), json_string_length(v), 0, NULL);
    else
        json_incref(v);
    if (!json_is_object(v)) {
        json_decref(v);
        return err_set(e, ERR_INVALID, "filter must be a JSON object");
    }
    *out = v;
    return 0;
}

static int compile_filter(const struct db *db, const struct model *m, json_t *filter,
                          bool admin, struct sqlb *where, struct err *e)
{
    struct fctx c = { .db = db, .m = m, .b = where, .e = e, .admin = admin };
    if (!filter || json_object_size(filter) == 0)
        return 0;
    if (where->sql.len)
        sqlb_add(where, " AND ");
    return group_each(&c, filter, "AND", 0, filter_key, NULL);
}

/* ---- date range (start/stop/field) ---- */

/* Parses a start/stop bound; a stop given as a bare day extends to 23:59:59. */
static int range_bound(const json_t *v, bool stop, int64_t *out)
{
    char tmp[32];
    const char *s = json_string_value(v);
    if (!s)
        return ERR_INVALID;
    if (stop && strlen(s) == 10) {
        snprintf(tmp, sizeof(tmp), "%s 23:59:59", s);
        s = tmp;
    }
    return time_parse_local(s, out);
}

static int compile_range(const struct model *m, json_t *args, bool admin, struct sqlb *where,
                         struct err *e)
{
    json_t *start = json_object_get(args, "start"), *stop = json_object_get(args, "stop");
    const char *name = json_string_value(json_object_get(args, "field"));
    const struct field *f = filterable(m, name && *name ? name : "date", admin);
    int64_t from, to;
    if (!given(start) || !given(stop) || !f || f->type != FT_DATE)
        return 0; /* SHM ignores an incomplete range or a field that is not a date */
    if (range_bound(start, false, &from) || range_bound(stop, true, &to))
        return err_set(e, ERR_INVALID, "start and stop must be dates (YYYY-MM-DD[ HH:MM:SS])");
    if (where->sql.len)
        sqlb_add(where, " AND ");
    sqlb_add(where, "(%s >= ", f->name);
    sqlb_int(where, from);
    sqlb_add(where, " AND %s <= ", f->name);
    sqlb_int(where, to);
    sqlb_add(where, ")");
    return 0;
}

/* ---- the caller's WHERE ---- */

/* Puts the caller's own expression (the first mark bytes) in parentheses. */
static void where_wrap(struct sqlb *where, size_t mark)
{
    struct buf nb;
    buf_init(&nb, where->sql.max);
    buf_putc(&nb, '(');
    buf_append(&nb, where->sql.data, mark);
    buf_putc(&nb, ')');
    buf_append(&nb, where->sql.data + mark, where->sql.len - mark);
    buf_free(&where->sql);
    where->sql = nb;
}

/* Drops whatever was added after the mark (text and parameters). */
static void where_restore(struct sqlb *where, size_t mark, int mark_n, bool overflow)
{
    where->sql.len = mark;
    where->sql.data[mark] = '\0';
    for (int i = mark_n; i < where->n; i++)
        free(where->owned[i]);
    where->n = mark_n;
    where->overflow = overflow;
}

static void page_init(struct list_page *page)
{
    memset(page, 0, sizeof(*page));
    page->limit = LIST_DEFAULT_LIMIT;
    buf_init(&page->order, 0);
    buf_init(&page->columns, 0);
}

/*
 * Compiles args into page and appends the filter and date-range conditions to
 * where (see list.h). On failure where is left exactly as it was given.
 */
int list_compile(const struct db *db, const struct model *m, json_t *args, bool admin,
                 struct sqlb *where, struct list_page *page, struct err *e)
{
    size_t mark = where->sql.len;
    int mark_n = where->n;
    bool overflow = where->overflow;
    int rc;
    page_init(page);
    rc = compile_limit(args, admin, page, e);
    if (rc == 0)
        rc = compile_offset(args, page, e);
    if (rc == 0) {
        compile_sort(m, args, admin, page);
        rc = compile_fields(m, args, page, e);
    }
    if (rc == 0)
        rc = filter_decode(args, &page->filter_echo, e);
    if (rc == 0)
        rc = compile_filter(db, m, page->filter_echo, admin, where, e);
    if (rc == 0)
        rc = compile_range(m, args, admin, where, e);
    if (rc == 0 && where->overflow)
        rc = err_set(e, ERR_INVALID, "filter too large");
    if (rc)
        where_restore(where, mark, mark_n, overflow);
    else if (mark && where->sql.len > mark)
        where_wrap(where, mark);
    return rc;
}

/* Releases the echoes and buffers of a page filled by list_compile(). */
void list_page_free(struct list_page *page)
{
    json_decref(page->limit_echo);
    json_decref(page->offset_echo);
    json_decref(page->filter_echo);
    page->limit_echo = page->offset_echo = page->filter_echo = NULL;
    buf_free(&page->order);
    buf_free(&page->columns);
}

/* ---- running ---- */

static void where_put(struct buf *sql, const struct sqlb *where)
{
    if (where && where->sql.len)
        buf_printf(sql, " WHERE %s", where->sql.data);
}

static void limit_put(const struct db *db, struct buf *sql, const struct list_page *page)
{
    long long lim = (long long)page->limit, off = (long long)page->offset;
    if (lim > 0)
        buf_printf(sql, " LIMIT %lld OFFSET %lld", lim, off);
    else if (off > 0 && db_engine_of(db) == DB_SQLITE)
        buf_printf(sql, " LIMIT -1 OFFSET %lld", off);
    else if (off > 0)
        buf_printf(sql, " OFFSET %lld", off);
}

/* When the page ended before the limit, the total is known without counting. */
static bool total_known(const struct list_page *page, int nrows, int64_t *total)
{
    if ((page->limit > 0 && nrows >= page->limit) || (nrows == 0 && page->offset > 0))
        return false;
    *total = page->offset + nrows;
    return true;
}

/*
 * Runs the page query into *rows (owned) and the count into *total; the count
 * query is skipped when the page itself shows the total (it ended before the
 * limit). where may be NULL.
 */
int list_run(struct db *db, const char *from, const struct sqlb *where,
             const struct list_page *page, struct db_result **rows, int64_t *total,
             struct err *e)
{
    const struct db_value *params = where ? where->params : NULL;
    int n = where ? where->n : 0, rc;
    struct buf sql;
    *rows = NULL;
    if (where && where->overflow)
        return err_set(e, ERR_INVALID, "filter too large");
    buf_init(&sql, 0);
    buf_printf(&sql, "SELECT %s FROM %s", page->columns.data, from);
    where_put(&sql, where);
    buf_puts(&sql, page->order.data);
    limit_put(db, &sql, page);
    rc = db_query(db, sql.data, params, n, rows, e);
    if (rc == 0 && !total_known(page, db_result_rows(*rows), total)) {
        buf_reset(&sql);
        buf_printf(&sql, "SELECT count(*) FROM %s", from);
        where_put(&sql, where);
        rc = db_query_int(db, sql.data, params, n, total, e);
    }
    if (rc) {
        db_result_free(*rows);
        *rows = NULL;
    }
    buf_free(&sql);
    return rc;
}
