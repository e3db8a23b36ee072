/*
 * obj_filter.c — collection filters of the object model (templates.md
 * §7.0 `filter(key = value, …)`, §7.13 filter-value functions; api.md
 * §9.7): the top-level functions isNull, isNotNull, isEmpty, isNotEmpty,
 * lt/gt/le/ge/eq/ne(v), between(a, b), isPositive, isNegative,
 * isNonNegative, isNonPositive, null, true, false, and the translation of a
 * filter object into SQL conditions.
 *
 * A filter-value function returns a hash {"-op": name[, "v": x, "v2": y]}
 * that obj_filter_sql() recognises; a list means IN, anything else "=".
 * Column names come from the model (the whitelist, D26); values are bound.
 */
#include "objects_int.h"

#include "../core/money.h"
#include "../db/model.h"
#include "../util/buf.h"
#include "../util/strutil.h"
#include "../util/timeutil.h"

/* Binds v converted to field f's storage type. Returns 0 or ERR_INVALID. */
static int bind_value(const struct field *f, const json_t *v, struct db_value *out,
                      struct err *e)
{
    int64_t i = 0;
    switch (f->type) {
    case FT_TEXT:
        if (!json_is_string(v))
            return err_set(e, ERR_INVALID, "filter %s: expected a string", f->name);
        *out = DB_TEXT(json_string_value(v));
        return 0;
    case FT_MONEY:
        if (money_from_json(v, &i))
            return err_set(e, ERR_INVALID, "filter %s: expected an amount", f->name);
        break;
    case FT_DATE:
        if (json_is_string(v) ? time_parse_local(json_string_value(v), &i) != 0
                              : !json_is_integer(v))
            return err_set(e, ERR_INVALID, "filter %s: expected a date", f->name);
        if (json_is_integer(v))
            i = json_integer_value(v);
        break;
    case FT_INT:
        if (json_is_integer(v))
            i = json_integer_value(v);
        else if (!json_is_string(v) || parse_i64z(json_string_value(v), INT64_MIN, INT64_MAX, &i))
            return err_set(e, ERR_INVALID, "filter %s: expected an integer", f->name);
        break;
    default:
        return err_set(e, ERR_INVALID, "filter %s: not filterable", f->name);
    }
    *out = DB_INT(i);
    return 0;
}

/* One condition: left + column + right, then the values as $n (" AND " between two). */
struct op_sql {
    const char *op;
    const char *left, *right;
    int nvals;
};

static const struct op_sql ops[] = {
    { "isnull", "", " IS NULL", 0 },
    { "notnull", "", " IS NOT NULL", 0 },
    { "empty", "COALESCE(CAST(", " AS TEXT), '') = ''", 0 },
    { "notempty", "COALESCE(CAST(", " AS TEXT), '') <> ''", 0 },
    { "true", "", " = 1", 0 },
    { "false", "", " = 0", 0 },
    { "pos", "", " > 0", 0 },
    { "neg", "", " < 0", 0 },
    { "nonneg", "", " >= 0", 0 },
    { "nonpos", "", " <= 0", 0 },
    { "lt", "", " < ", 1 },
    { "gt", "", " > ", 1 },
    { "le", "", " <= ", 1 },
    { "ge", "", " >= ", 1 },
    { "eq", "", " = ", 1 },
    { "ne", "", " <> ", 1 },
    { "between", "", " BETWEEN ", 2 },
};

int obj_filter_sql(const struct model *m, const char *alias, const json_t *filter,
                   struct buf *sql, struct db_value *p, int *np, int cap, struct err *e)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)filter, k, v) {
        const struct field *f = model_field(m, k);
        if (!f || (f->flags & FF_NOFILTER))
            return err_set(e, ERR_INVALID, "filter: unknown field %s", k);
        char col[96];
        snprintf(col, sizeof(col), "%s.%s", alias, f->name);
        const char *op = json_string_value(json_object_get(v, "-op"));
        if (op) {
            size_t i;
            for (i = 0; i < ARRAY_SIZE(ops) && strcmp(ops[i].op, op); i++)
                ;
            if (i == ARRAY_SIZE(ops) || *np + ops[i].nvals > cap)
                return err_set(e, ERR_INVALID, "filter %s: bad condition", k);
            for (int j = 0; j < ops[i].nvals; j++)
                if (bind_value(f, json_object_get(v, j ? "v2" : "v"), &p[*np + j], e))
                    return ERR_INVALID;
            buf_printf(sql, " AND %s%s%s", ops[i].left, col, ops[i].right);
            for (int j = 0; j < ops[i].nvals; j++)
                buf_printf(sql, "%s$%d", j ? " AND " : "", *np + j + 1);
            *np += ops[i].nvals;
        } else if (json_is_array(v)) {
            size_t i;
            json_t *x;
            if (*np + (int)json_array_size(v) > cap)
                return err_set(e, ERR_INVALID, "filter %s: too many values", k);
            buf_printf(sql, " AND %s IN (", col);
            if (json_array_size(v) == 0)
                buf_puts(sql, "NULL");
            json_array_foreach(v, i, x) {
                if (bind_value(f, x, &p[*np], e))
                    return ERR_INVALID;
                buf_printf(sql, "%s$%d", i ? ", " : "", ++*np);
            }
            buf_putc(sql, ')');
        } else if (json_is_null(v)) {
            buf_printf(sql, " AND %s IS NULL", col);
        } else {
            if (*np >= cap || bind_value(f, v, &p[*np], e))
                return err_set(e, ERR_INVALID, "filter %s: bad value", k);
            buf_printf(sql, " AND %s = $%d", col, ++*np);
        }
    }
    return 0;
}

/* ---- filter-value functions ---- */

static struct tpl_value special(const char *op, const struct tpl_args *a, int nvals)
{
    struct tpl_value h = tpl_hash_new();
    tpl_hash_set(&h, "-op", 3, tpl_cstr(op));
    for (int i = 0; i < nvals; i++) {
        const struct tpl_value *v = tpl_args_at(a, (size_t)i);
        tpl_hash_set(&h, i ? "v2" : "v", i ? 2 : 1, v ? tpl_value_ref(v) : tpl_undef());
    }
    return h;
}

#define SPECIAL(fname, op, nvals)                                                             \
    static int fname(void *self, struct tpl_ctx *cx, const struct tpl_args *a,                \
                     struct tpl_value *out, struct err *e)                                    \
    {                                                                                         \
        UNUSED(self), UNUSED(cx), UNUSED(e);                                                  \
        *out = special(op, a, nvals);                                                         \
        return 0;                                                                             \
    }
SPECIAL(f_is_null, "isnull", 0)
SPECIAL(f_not_null, "notnull", 0)
SPECIAL(f_empty, "empty", 0)
SPECIAL(f_not_empty, "notempty", 0)
SPECIAL(f_true, "true", 0)
SPECIAL(f_false, "false", 0)
SPECIAL(f_pos, "pos", 0)
SPECIAL(f_neg, "neg", 0)
SPECIAL(f_nonneg, "nonneg", 0)
SPECIAL(f_nonpos, "nonpos", 0)
SPECIAL(f_lt, "lt", 1)
SPECIAL(f_gt, "gt", 1)
SPECIAL(f_le, "le", 1)
SPECIAL(f_ge, "ge", 1)
SPECIAL(f_eq, "eq", 1)
SPECIAL(f_ne, "ne", 1)
SPECIAL(f_between, "between", 2)

void obj_filter_bind(struct tpl_value *vars, struct render_ctx *r)
{
    UNUSED(r);
    static const struct {
        const char *name;
        tpl_func_fn fn;
    } fns[] = {
        { "isNull", f_is_null },       { "null", f_is_null },       { "isNotNull", f_not_null },
        { "isEmpty", f_empty },        { "isNotEmpty", f_not_empty }, { "true", f_true },
        { "false", f_false },          { "isPositive", f_pos },     { "isNegative", f_neg },
        { "isNonNegative", f_nonneg }, { "isNonPositive", f_nonpos }, { "lt", f_lt },
        { "gt", f_gt },                { "le", f_le },              { "ge", f_ge },
        { "eq", f_eq },                { "ne", f_ne },              { "between", f_between },
    };
    for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
        obj_bind_func(vars, fns[i].name, fns[i].fn);
}
