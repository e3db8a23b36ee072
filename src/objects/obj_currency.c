/*
 * obj_currency.c — `currency` (templates.md §7.17, other.md §14.4):
 * currency.convert(from = …, to = …, amount = …) as SHM's
 * Core::Cloud::Currency, with the rates in billd's own config key
 * `currencies` instead of SHM Cloud (billd ships conversion without the
 * cloud): an object keyed by upper-case code, each
 * {value[, addition_type, addition_value]} as the cloud's list, e.g.
 * {"USD": {"value": 90, "addition_type": "percent", "addition_value": 2}}.
 *
 * A rate is the number of RUB in one unit; RUB is always 1. The effective
 * rate is value, or with addition_type fixed → addition_value, numeric →
 * value + addition_value, percent → value × (1 + addition_value / 100).
 * from/to default to the system currency (config billing.currency, RUB);
 * the amount goes through RUB and is rounded to two places: up when
 * converting from the system currency, down when converting to it, half-up
 * otherwise. An unknown currency or a missing amount gives undefined.
 * currency.get(code) is the code's row, currency.get_value(code) its
 * effective rate.
 */
#include "objects_int.h"

#include "../core/config_store.h"
#include "../core/money.h"

#include <ctype.h>
#include <math.h>

/* The upper-cased string argument (owned), or NULL when absent or empty. */
static char *code_arg(const struct tpl_args *a, size_t i, const char *key)
{
    char *s = obj_arg_str(a, i, key);
    for (char *p = s; p && *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (s && !*s) {
        free(s);
        s = NULL;
    }
    return s;
}

/* The system currency (owned). */
static char *system_currency(struct render_ctx *r)
{
    json_t *c = config_store_lookup(r->db, "billing", "currency");
    char *s = xstrdup(json_is_string(c) && json_string_length(c) ? json_string_value(c) : "RUB");
    json_decref(c);
    for (char *p = s; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return s;
}

/* The effective RUB rate of code into *rate; false when unknown. */
static bool effective_rate(struct render_ctx *r, const char *code, double *rate)
{
    if (!strcmp(code, "RUB")) {
        *rate = 1;
        return true;
    }
    json_t *row = config_store_lookup(r->db, "currencies", code);
    json_t *v = json_object_get(row, "value"), *type = json_object_get(row, "addition_type");
    json_t *add = json_object_get(row, "addition_value");
    bool ok = json_is_number(v);
    double base = ok ? json_number_value(v) : 0, x = json_number_value(add);
    const char *t = json_string_value(type);
    *rate = base;
    if (ok && t && json_is_number(add)) {
        if (!strcmp(t, "fixed"))
            *rate = x;
        else if (!strcmp(t, "numeric"))
            *rate = base + x;
        else if (!strcmp(t, "percent"))
            *rate = base + base * (x / 100);
    }
    json_decref(row);
    return ok && *rate > 0;
}

static int put_minor(struct tpl_value *out, int64_t minor)
{
    json_t *j = money_to_json(minor);
    *out = obj_from_json(j);
    json_decref(j);
    return 0;
}

static int m_convert(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(e);
    char *sys = system_currency(r), *from = code_arg(a, (size_t)-1, "from");
    char *to = code_arg(a, (size_t)-1, "to");
    const char *f = from ? from : sys, *t = to ? to : sys;
    const struct tpl_value *amt = tpl_args_kv(a, "amount");
    bool ok = amt && tpl_value_defined(amt);
    double fr = 0, tr = 0, x = ok ? tpl_value_double(amt) : 0;
    ok = ok && isfinite(x) && fabs(x) <= 1e13;
    *out = tpl_undef();
    if (ok && !strcmp(f, t))
        put_minor(out, money_round(x));
    else if (ok && effective_rate(r, f, &fr) && effective_rate(r, t, &tr))
        put_minor(out, !strcmp(f, sys)   ? money_round_up(x * fr / tr)
                       : !strcmp(t, sys) ? money_round_down(x * fr / tr)
                                         : money_round(x * fr / tr));
    free(sys), free(from), free(to);
    return 0;
}

static int m_get(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                 struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(e);
    char *code = code_arg(a, 0, "currency");
    json_t *row = code ? config_store_lookup(r->db, "currencies", code) : NULL;
    *out = row ? obj_from_json(row) : tpl_undef();
    json_decref(row);
    free(code);
    return 0;
}

static int m_get_value(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(e);
    char *code = code_arg(a, 0, "currency");
    double rate;
    *out = code && effective_rate(r, code, &rate) ? tpl_num(rate) : tpl_undef();
    free(code);
    return 0;
}

static const struct obj_method currency_methods[] = {
    { "convert", m_convert },
    { "get", m_get },
    { "get_value", m_get_value },
    { NULL, NULL },
};

static const struct obj_kind obj_currency_kind = { "Core::Cloud::Currency", currency_methods,
                                                   NULL };

void obj_currency_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "currency", 8, obj_new(&obj_currency_kind, 0, r->user_id, NULL));
}
