/*
 * obj_money.c — one withdraw, payment or bonus row (templates.md §7.4–§7.6):
 * `wd(id)`, `pay(id)`, `bonus(id)` and the objects the user and us members
 * return. Columns come from the owning modules' models (money as decimals,
 * dates as local strings); a row of another user is undefined unless the
 * render is an admin's (D11). In a task, `pay` and `bonus` default to the
 * task's settings pay_id / bonus_id.
 *
 * The collection members on any of them (wd.last, wd.list_for_api,
 * pay.last, pay.forecast, bonus.list_for_api, …) are those of the owner's
 * user collections (user.wd, user.pays, user.bonus in obj_user.c), called
 * for the row's owner — the current user for an unbound object. wd.next and
 * wd.sum are here.
 */
#include "objects_int.h"

#include "../billing/bonus.h"
#include "../billing/payment.h"
#include "../billing/withdraw.h"
#include "../core/money.h"
#include "../db/db.h"

/* The row of sql for o->id when it belongs to a user the render may see. */
static json_t *owned_row(struct render_ctx *r, const struct obj *o, const struct model *m,
                         const char *sql)
{
    json_t *row = obj_row(r, m, sql, o->id);
    if (row && !obj_may_see(r, json_integer_value(json_object_get(row, "user_id")))) {
        json_decref(row);
        row = NULL;
    }
    if (row)
        json_object_set_new(row, "id", json_integer(o->id));
    return row;
}

static json_t *wd_load(struct render_ctx *r, const struct obj *o)
{
    return owned_row(r, o, &withdraw_model,
                     "SELECT * FROM withdraw_history WHERE withdraw_id = $1");
}

static json_t *pay_load(struct render_ctx *r, const struct obj *o)
{
    return owned_row(r, o, &pay_model, "SELECT * FROM pays_history WHERE id = $1");
}

static json_t *bonus_load(struct render_ctx *r, const struct obj *o)
{
    json_t *row = owned_row(r, o, &bonus_model, "SELECT * FROM bonus_history WHERE id = $1");
    if (row)
        json_object_set(row, "amount", json_object_get(row, "bonus"));
    return row;
}

/* An object of kind k for id when its row is visible, else undefined. */
static struct tpl_value value_of(struct render_ctx *r, const struct obj_kind *k, int64_t id)
{
    if (id == 0) /* unbound: no columns, but `pay.id(N)` works */
        return obj_new(k, 0, r->user_id, NULL);
    struct obj probe = { .kind = k, .id = id };
    json_t *row = id > 0 ? k->load(r, &probe) : NULL;
    if (!row)
        return tpl_undef();
    int64_t uid = json_integer_value(json_object_get(row, "user_id"));
    json_decref(row);
    return obj_new(k, id, uid, NULL);
}

static int m_wd_paid(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    json_t *row = wd_load(r, o);
    if (!row)
        return TPL_DECLINED;
    json_t *d = json_object_get(row, "withdraw_date");
    *out = tpl_int(d && !json_is_null(d));
    json_decref(row);
    return 0;
}

static int m_wd_unpaid(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    int rc = m_wd_paid(o, r, a, out, e);
    if (rc == 0)
        out->u.i = !out->u.i;
    return rc;
}

static int m_wd_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(e);
    int64_t id;
    if (obj_arg_int(a, 0, NULL, &id))
        *out = value_of(r, o->kind, id);
    else
        *out = tpl_int(o->id);
    return 0;
}

/* Calls member name of the user collection kind k for the owner of o. */
static int delegate(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e, const struct obj_kind *k,
                    const char *name)
{
    struct obj c = { .kind = k, .user_id = o->user_id };
    for (const struct obj_method *m = k->methods; m && m->name; m++)
        if (!strcmp(m->name, name))
            return m->fn(&c, r, a, out, e);
    return TPL_DECLINED;
}

#define DELEGATE(fname, kind, name)                                                           \
    static int fname(struct obj *o, struct render_ctx *r, const struct tpl_args *a,           \
                     struct tpl_value *out, struct err *e)                                    \
    {                                                                                         \
        return delegate(o, r, a, out, e, &kind, name);                                        \
    }
DELEGATE(m_wd_last, obj_user_wd_kind, "last")
DELEGATE(m_wd_list, obj_user_wd_kind, "list_for_api")
DELEGATE(m_pay_last, obj_user_pays_kind, "last")
DELEGATE(m_pay_list, obj_user_pays_kind, "list_for_api")
DELEGATE(m_pay_items, obj_user_pays_kind, "items")
DELEGATE(m_pay_forecast, obj_user_pays_kind, "forecast")
DELEGATE(m_pay_paysystems, obj_user_pays_kind, "paysystems")
DELEGATE(m_bonus_list, obj_user_bonus_kind, "list_for_api")

/* wd.next: the next (prepaid) withdraw of the same user service, or undefined. */
static int m_wd_next(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    json_t *row = wd_load(r, o);
    if (!row)
        return TPL_DECLINED;
    struct db_value p[] = { DB_INT(json_integer_value(json_object_get(row, "user_service_id"))),
                            DB_INT(o->id) };
    int64_t next = 0;
    int rc = db_query_int(r->db, "SELECT min(withdraw_id) FROM withdraw_history WHERE "
                          "user_service_id = $1 AND withdraw_id > $2", p, 2, &next, e);
    json_decref(row);
    if (rc && rc != ERR_NOT_FOUND)
        return rc;
    err_clear(e);
    *out = next ? value_of(r, &obj_wd_kind, next) : tpl_undef();
    return 0;
}

/* wd.sum: the total of the owner's paid withdraws (money charged for services). */
static int m_wd_sum(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    struct db_value p[] = { DB_INT(o->user_id) };
    int64_t sum = 0;
    if (!o->user_id)
        return TPL_DECLINED;
    int rc = db_query_int(r->db, "SELECT COALESCE(sum(total), 0) FROM withdraw_history WHERE "
                          "user_id = $1 AND withdraw_date IS NOT NULL", p, 1, &sum, e);
    if (rc)
        return rc;
    json_t *j = money_to_json(sum);
    *out = obj_from_json(j);
    json_decref(j);
    return 0;
}

static const struct obj_method wd_methods[] = {
    { "id", m_wd_id },
    { "paid", m_wd_paid },
    { "unpaid", m_wd_unpaid },
    { "last", m_wd_last },
    { "list_for_api", m_wd_list },
    { "next", m_wd_next },
    { "sum", m_wd_sum },
    { NULL, NULL },
};

static const struct obj_method pay_methods[] = {
    { "id", m_wd_id },
    { "last", m_pay_last },
    { "list_for_api", m_pay_list },
    { "items", m_pay_items },
    { "forecast", m_pay_forecast },
    { "paysystems", m_pay_paysystems },
    { NULL, NULL },
};

static const struct obj_method bonus_methods[] = {
    { "id", m_wd_id },
    { "list_for_api", m_bonus_list },
    { NULL, NULL },
};

const struct obj_kind obj_wd_kind = { "Core::Withdraw", wd_methods, wd_load };
const struct obj_kind obj_pay_kind = { "Core::Pay", pay_methods, pay_load };
const struct obj_kind obj_bonus_kind = { "Core::Bonus", bonus_methods, bonus_load };

/* The id argument, else the integer key of the task's settings (0 = none). */
static int64_t id_or_task(struct render_ctx *r, const struct tpl_args *a, const char *task_key)
{
    int64_t id = 0;
    if (obj_arg_int(a, 0, NULL, &id))
        return id;
    if (task_key && r->task && r->task->settings) {
        json_t *v = json_object_get(r->task->settings, task_key);
        if (json_is_integer(v))
            return json_integer_value(v);
        if (json_is_string(v))
            return strtoll(json_string_value(v), NULL, 10);
    }
    return 0;
}

static int fn_wd(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                 struct tpl_value *out, struct err *e)
{
    UNUSED(self);
    UNUSED(e);
    struct render_ctx *r = obj_ctx(cx);
    *out = value_of(r, &obj_wd_kind, id_or_task(r, a, NULL));
    return 0;
}

static int fn_pay(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(self);
    UNUSED(e);
    struct render_ctx *r = obj_ctx(cx);
    *out = value_of(r, &obj_pay_kind, id_or_task(r, a, "pay_id"));
    return 0;
}

static int fn_bonus(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(self);
    UNUSED(e);
    struct render_ctx *r = obj_ctx(cx);
    *out = value_of(r, &obj_bonus_kind, id_or_task(r, a, "bonus_id"));
    return 0;
}

void obj_money_bind(struct tpl_value *vars, struct render_ctx *r)
{
    UNUSED(r);
    obj_bind_func(vars, "wd", fn_wd);
    obj_bind_func(vars, "pay", fn_pay);
    obj_bind_func(vars, "bonus", fn_bonus);
}
