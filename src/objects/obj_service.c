/*
 * obj_service.c — `service` / `service(id)` (templates.md §7.3): a catalogue
 * service's columns, `id(N)`, `price_list`/`api_price_list` (the current
 * user's orderable price list, billing.md §8.2), `categories`,
 * `convert_name(name, settings)` and `children`. The catalogue is readable
 * by every render with a current user.
 */
#include "objects_int.h"

#include "../billing/pricelist.h"
#include "../billing/usvc.h"
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
    int64_t id;
    if (obj_arg_int(a, 0, NULL, &id))
        *out = service_value(r, id);
    else if (o->id)
        *out = tpl_int(o->id);
    else
        return TPL_DECLINED;
    return 0;
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

static const struct obj_method service_methods[] = {
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
