/*
 * obj_service.c — `service` / `service(id)` (templates.md §7.3): a catalogue
 * service's columns, `id(N)`, `price_list`/`api_price_list` (the current
 * user's orderable price list, billing.md §8.2), `categories`,
 * `convert_name(name, settings)` and `children`; `cost_composite`,
 * `settings`/`config`, `no_auto_renew`, `list_for_api`/`items`; ordering
 * for the current user (`create_for_api`, `reg`: the path of us.create);
 * the current user's usage (`is_ever_used`, `is_currently_used`,
 * `was_previously_used`) and own rows of the service (`us`, `wd` /
 * `withdraw`); `set_settings` (admin renders only). The catalogue is
 * readable by every render with a current user.
 */
#include "obj_us_int.h"

#include "../billing/pricelist.h"
#include "../billing/usvc.h"
#include "../billing/withdraw.h"
#include "../core/money.h"
#include "../core/service.h"

static json_t *service_load(struct render_ctx *r, const struct obj *o)
{
    if (!o->id)
        return NULL;
    json_t *row = obj_row(r, &service_model, "SELECT * FROM services WHERE service_id = $1",
                          o->id);
    if (row)
        json_object_set_new(row, "id", json_integer(o->id));
    return row;
}

static struct tpl_value service_value(struct render_ctx *r, int64_t id)
{
    struct obj probe = { .kind = &obj_service_kind, .id = id };
    json_t *row = id > 0 ? service_load(r, &probe) : NULL;
    if (!row)
        return tpl_undef();
    json_decref(row);
    return obj_new(&obj_service_kind, id, r->user_id, NULL);
}

static int m_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                struct tpl_value *out, struct err *e)
{
    UNUSED(e);
    return obj_id_member(o, r, a, service_value, out);
}

/* price_list / api_price_list(category = mask): rows in ascending id order. */
static int m_price_list(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    if (!r->user_id)
        return TPL_DECLINED;
    char *cat = obj_arg_str(a, (size_t)-1, "category");
    json_t *list = NULL;
    int rc = pricelist_build(r->db, r->user_id, cat, &list, e);
    free(cat);
    if (rc)
        return rc;
    *out = tpl_value_perl_list(obj_from_json(list));
    json_decref(list);
    return 0;
}

static int m_categories(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    json_t *list = NULL;
    int rc = service_categories(r->db, &list, e);
    if (rc)
        return rc;
    *out = tpl_value_perl_list(obj_from_json(list));
    json_decref(list);
    return 0;
}

static int m_convert_name(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(r);
    UNUSED(e);
    char *name = obj_arg_str(a, 0, "name");
    json_t *settings = obj_arg_json(tpl_args_at(a, 1));
    if (!name) {
        json_decref(settings);
        return TPL_DECLINED;
    }
    char *conv = usvc_name(name, settings);
    *out = tpl_cstr(conv);
    free(conv);
    free(name);
    json_decref(settings);
    return 0;
}

static int m_children(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    if (!o->id)
        return TPL_DECLINED;
    json_t *list = NULL;
    int rc = service_children_list(r->db, o->id, &list, e);
    if (rc)
        return rc;
    *out = tpl_value_perl_list(obj_from_json(list));
    json_decref(list);
    return 0;
}

/* cost_composite: the cost plus the children's composite costs times their qnt (§8.2). */
static int m_cost_composite(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                            struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    int64_t cost = 0;
    if (!o->id)
        return TPL_DECLINED;
    int rc = pricelist_composite_cost(r->db, o->id, &cost, e);
    if (rc)
        return rc;
    json_t *j = money_to_json(cost);
    *out = obj_from_json(j);
    json_decref(j);
    return 0;
}

/* The config column of o as a new object ({} when unset). */
static json_t *config_of(struct render_ctx *r, const struct obj *o)
{
    json_t *row = service_load(r, o);
    json_t *c = json_object_get(row, "config");
    json_t *out = json_is_object(c) ? json_incref(c) : json_object();
    json_decref(row);
    return out;
}

/* settings / config: the service's config hash. */
static int m_config(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    if (!o->id)
        return TPL_DECLINED;
    json_t *c = config_of(r, o);
    *out = obj_from_json(c);
    json_decref(c);
    return 0;
}

/* no_auto_renew: config.no_auto_renew, else 0. */
static int m_no_auto_renew(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    if (!o->id)
        return TPL_DECLINED;
    json_t *c = config_of(r, o);
    json_t *v = json_object_get(c, "no_auto_renew");
    *out = v && !json_is_null(v) ? obj_from_json(v) : tpl_int(0);
    json_decref(c);
    return 0;
}

/* set_settings({…}): deep-merges into config (admin renders only). Answers the service. */
static int m_set_settings(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    if (!o->id)
        return TPL_DECLINED;
    if (!r->admin)
        return obj_refuse(e, "service.set_settings", false);
    json_t *patch = obj_arg_hash(a);
    bool own = false;
    int rc = patch ? obj_tx_begin(r, &own, e)
                   : err_set(e, ERR_INVALID, "set_settings: expected a hash");
    if (rc == 0)
        rc = obj_tx_end(r, own, obj_json_merge(r, &service_model, "config", o->id, patch, NULL, e),
                        e);
    json_decref(patch);
    if (rc == 0)
        *out = obj_new(o->kind, o->id, o->user_id, NULL);
    return rc;
}

/* create_for_api / reg(service_id = N, …): us.create for the current user; answers the us. */
static int m_reg(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                 struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    int64_t usi = 0;
    int rc = obj_us_order(r, r->user_id, a, &usi, e);
    if (rc == 0)
        *out = obj_us_value(r, usi);
    return rc;
}

/* The current user's user services of this service, filtered by status (id order). */
static json_t *own_us(struct render_ctx *r, const struct obj *o, const char *status_cond)
{
    char sql[192];
    snprintf(sql, sizeof(sql), "SELECT * FROM user_services WHERE user_id = $1 AND "
             "service_id = $2%s ORDER BY user_service_id", status_cond);
    struct db_value p[] = { DB_INT(r->user_id), DB_INT(o->id) };
    return obj_rows(r, &usvc_model, sql, p, 2);
}

/* 1 when the current user has a service row matching status_cond, else 0. */
static int usage(struct obj *o, struct render_ctx *r, struct tpl_value *out, const char *cond)
{
    if (!o->id || !r->user_id)
        return TPL_DECLINED;
    json_t *rows = own_us(r, o, cond);
    *out = tpl_int(json_array_size(rows) > 0);
    json_decref(rows);
    return 0;
}

static int m_is_ever_used(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return usage(o, r, out, "");
}

static int m_is_currently_used(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                               struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return usage(o, r, out, " AND status <> 'REMOVED'");
}

static int m_was_previously_used(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                                 struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return usage(o, r, out, " AND status = 'REMOVED'");
}

/* Consumes rows and answers them as objects of kind k keyed by column key, of user_id. */
static struct tpl_value objects_of(json_t *rows, const struct obj_kind *k, const char *key,
                                   int64_t user_id)
{
    struct tpl_value list = tpl_list_new();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        tpl_list_push(&list, obj_new(k, json_integer_value(json_object_get(row, key)), user_id,
                                     NULL));
    json_decref(rows);
    return list;
}

/* us: the current user's user services of this service (objects, REMOVED ones too). */
static int m_us(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    if (!o->id || !r->user_id)
        return TPL_DECLINED;
    *out = objects_of(own_us(r, o, ""), &obj_us_kind, "user_service_id", r->user_id);
    return 0;
}

/* wd / withdraw: the current user's withdraws of this service (objects, id order). */
static int m_wd(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    if (!o->id || !r->user_id)
        return TPL_DECLINED;
    struct db_value p[] = { DB_INT(r->user_id), DB_INT(o->id) };
    json_t *rows = obj_rows(r, &withdraw_model,
                            "SELECT * FROM withdraw_history WHERE user_id = $1 AND "
                            "service_id = $2 ORDER BY withdraw_id", p, 2);
    *out = objects_of(rows, &obj_wd_kind, "withdraw_id", r->user_id);
    return 0;
}

/* The non-deleted services in id order (a new array). */
static json_t *catalogue(struct render_ctx *r)
{
    return obj_rows(r, &service_model,
                    "SELECT * FROM services WHERE deleted = 0 ORDER BY service_id", NULL, 0);
}

/* list_for_api: the catalogue rows (not deleted). */
static int m_list_for_api(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    UNUSED(e);
    json_t *rows = catalogue(r);
    *out = tpl_value_perl_list(obj_from_json(rows));
    json_decref(rows);
    return 0;
}

/* items: the catalogue as service objects. */
static int m_items(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    UNUSED(e);
    *out = objects_of(catalogue(r), &obj_service_kind, "service_id", r->user_id);
    return 0;
}

static const struct obj_method service_methods[] = {
    { "cost_composite", m_cost_composite },
    { "settings", m_config },
    { "config", m_config },
    { "no_auto_renew", m_no_auto_renew },
    { "set_settings", m_set_settings },
    { "create_for_api", m_reg },
    { "reg", m_reg },
    { "is_ever_used", m_is_ever_used },
    { "is_currently_used", m_is_currently_used },
    { "was_previously_used", m_was_previously_used },
    { "us", m_us },
    { "wd", m_wd },
    { "withdraw", m_wd },
    { "list_for_api", m_list_for_api },
    { "items", m_items },
    { "id", m_id },
    { "price_list", m_price_list },
    { "api_price_list", m_price_list },
    { "categories", m_categories },
    { "convert_name", m_convert_name },
    { "children", m_children },
    { "subservices", m_children },
    { NULL, NULL },
};

const struct obj_kind obj_service_kind = { "Core::Service", service_methods, service_load };

/* `service` (the catalogue) / `service(id)`. */
static int fn_service(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(self);
    UNUSED(e);
    struct render_ctx *r = obj_ctx(cx);
    int64_t id;
    if (obj_arg_int(a, 0, NULL, &id))
        *out = service_value(r, id);
    else
        *out = obj_new(&obj_service_kind, 0, r->user_id, NULL);
    return 0;
}

void obj_service_bind(struct tpl_value *vars, struct render_ctx *r)
{
    UNUSED(r);
    obj_bind_func(vars, "service", fn_service);
    obj_bind_func(vars, "services", fn_service);
}
