/*
 * model.c — field metadata lookups and row → JSON conversion (see model.h).
 */
#include "model.h"
#include "../core/money.h"
#include "../core/period.h"
#include "../util/buf.h"
#include "../util/strutil.h"
#include "../util/timeutil.h"

const struct field *model_field(const struct model *m, const char *name)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (strcmp(m->fields[i].name, name) == 0)
            return &m->fields[i];
    return NULL;
}

json_t *model_cell_to_json(enum field_type t, const struct db_result *r, int row, int col)
{
    const char *s = db_result_text(r, row, col);
    size_t len = db_result_len(r, row, col);
    if (!s)
        return json_null();
    switch (t) {
    case FT_INT: {
        int64_t v;
        if (parse_i64(s, len, INT64_MIN, INT64_MAX, &v) == 0)
            return json_integer(v);
        return json_stringn(s, len);
    }
    case FT_MONEY:
        return money_to_json(db_result_int(r, row, col));
    case FT_REAL: {
        char *end;
        double d = strtod(s, &end);
        if (end == s)
            return json_stringn(s, len);
        if (d == (double)(int64_t)d && d < 9e15 && d > -9e15)
            return json_integer((json_int_t)d);
        return json_real(d);
    }
    case FT_DATE: {
        int64_t v;
        char out[32];
        if (parse_i64(s, len, INT64_MIN, INT64_MAX, &v) != 0)
            return json_stringn(s, len);
        time_format_local(v, out, sizeof(out));
        return json_string(out);
    }
    case FT_PERIOD:
        return period_to_json(db_result_int(r, row, col));
    case FT_JSON: {
        json_t *j = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        return j ? j : json_stringn(s, len);
    }
    case FT_BLOB:
    case FT_TEXT:
    default: {
        json_t *j = json_stringn(s, len);
        return j ? j : json_null(); /* invalid UTF-8 → null rather than crash */
    }
    }
}

json_t *model_row_to_json(const struct model *m, const struct db_result *r, int row, bool admin)
{
    json_t *o = json_object();
    for (int c = 0; c < db_result_cols(r); c++) {
        const char *name = db_result_colname(r, c);
        const struct field *f = model_field(m, name);
        if (f && (f->flags & FF_HIDDEN) && !admin)
            continue;
        json_object_set_new(o, name, model_cell_to_json(f ? f->type : FT_TEXT, r, row, c));
    }
    return o;
}

void model_select_list(const struct model *m, struct buf *out)
{
    bool first = true;
    for (size_t i = 0; i < m->nfields; i++) {
        if (m->fields[i].flags & FF_NOLIST)
            continue;
        if (!first)
            buf_puts(out, ", ");
        buf_puts(out, m->fields[i].name);
        first = false;
    }
}

#include "sqlb.h"

static int bind_int(const struct field *f, json_t *v, struct sqlb *b, struct err *e)
{
    int64_t n;
    if (json_is_integer(v))
        n = json_integer_value(v);
    else if (json_is_true(v) || json_is_false(v))
        n = json_is_true(v);
    else if (!json_is_string(v) || parse_i64(json_string_value(v), json_string_length(v),
                                             INT64_MIN, INT64_MAX, &n))
        return err_set(e, ERR_INVALID, "Field %s: expected an integer", f->name);
    sqlb_int(b, n);
    return 0;
}

static int bind_text(const struct field *f, json_t *v, struct sqlb *b, struct err *e)
{
    char num[64];
    if (json_is_string(v)) {
        sqlb_param(b, (struct db_value){ .type = DBT_TEXT, .s = json_string_value(v),
                                         .len = json_string_length(v) });
        return 0;
    }
    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        sqlb_text(b, num);
        return 0;
    }
    if (json_is_real(v)) {
        snprintf(num, sizeof(num), "%.15g", json_real_value(v));
        sqlb_text(b, num);
        return 0;
    }
    return err_set(e, ERR_INVALID, "Field %s: expected a string", f->name);
}

int model_bind_value(const struct field *f, json_t *v, struct sqlb *b, struct err *e)
{
    int64_t n;
    if (json_is_null(v)) {
        sqlb_param(b, DB_NULL);
        return 0;
    }
    switch (f->type) {
    case FT_INT:
        return bind_int(f, v, b, e);
    case FT_MONEY:
        if (money_from_json(v, &n))
            return err_set(e, ERR_INVALID, "Field %s: expected an amount with at most 2 decimals",
                           f->name);
        sqlb_int(b, n);
        return 0;
    case FT_PERIOD:
        if (period_from_json(v, &n))
            return err_set(e, ERR_INVALID, "Field %s: expected a period M.DDHH", f->name);
        sqlb_int(b, n);
        return 0;
    case FT_DATE:
        if (!json_is_string(v) || time_parse_local(json_string_value(v), &n))
            return err_set(e, ERR_INVALID, "Field %s: expected a date YYYY-MM-DD HH:MM:SS",
                           f->name);
        sqlb_int(b, n);
        return 0;
    case FT_JSON: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if (!s)
            return err_set(e, ERR_INVALID, "Field %s: not encodable as JSON", f->name);
        sqlb_text(b, s);
        free(s);
        return 0;
    }
    default:
        return bind_text(f, v, b, e);
    }
}

/* Number of UTF-8 code points in s[0..len). */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static bool in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        size_t len = strcspn(p, "|");
        if (len == n && strncmp(p, v, n) == 0)
            return true;
        p += len + (p[len] == '|');
    }
    return false;
}

static bool is_negative(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) < 0;
    if (json_is_real(v))
        return json_real_value(v) < 0;
    return json_is_string(v) && json_string_value(v)[0] == '-';
}

int model_check_value(const struct field *f, json_t *v, struct err *e)
{
    struct sqlb scratch;
    sqlb_init(&scratch);
    int rc = model_bind_value(f, v, &scratch, e);
    sqlb_free(&scratch);
    if (rc || json_is_null(v))
        return rc;
    if ((f->flags & FF_NONNEG) && is_negative(v))
        return err_set(e, ERR_INVALID, "Field %s: must not be negative", f->name);
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    if (f->max_len && utf8_chars(s, json_string_length(v)) > f->max_len)
        return err_set(e, ERR_INVALID, "Field %s: longer than %u characters", f->name, f->max_len);
    if (f->choices && !in_choices(f->choices, s))
        return err_set(e, ERR_INVALID, "Field %s: must be one of %s", f->name, f->choices);
    return 0;
}
