/*
 * api_service.c — the service catalogue: one service for users (R62), the
 * admin list/create/update/soft delete (R80–R83), child services (R86, R87)
 * and the category list (R114).
 *
 * Create, update and delete are the generic resource handlers; the
 * before_write hook adds the service rules (flags, period, config, `next`,
 * children on create) and drops `children` from updates, which SHM never
 * lets POST /admin/service change.
 */
#include "api.h"
#include "resource.h"
#include "../core/service.h"
#include "../db/sqlb.h"
#include "../util/strutil.h"

/* A positive id from a JSON integer or digit string; 0 when it is not one. */
static int64_t json_id(const json_t *v)
{
    int64_t n = 0;
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? json_integer_value(v) : 0;
    if (json_is_string(v) && parse_i64z(json_string_value(v), 1, INT64_MAX, &n) == 0)
        return n;
    return 0;
}

/* The positive id in argument name (present: checked by the route or caller). */
static int arg_id(struct api_ctx *c, const char *name, int64_t *out)
{
    *out = json_id(json_object_get(c->args, name));
    if (*out == 0)
        return api_fail(c, 400, "Field %s: must be a positive integer", name);
    return 0;
}

static int service_before_write(struct api_ctx *c, json_t *values, json_t *key, bool create)
{
    json_t *children, *list = NULL;
    UNUSED(key);
    int rc = service_values_check(values, create, &c->err);
    if (rc == 0)
        rc = service_check_next(c->db, json_object_get(values, "next"), &c->err);
    if (rc || !create) {
        json_object_del(values, "children"); /* R82: updates never change children */
        return rc;
    }
    children = json_object_get(values, "children");
    if (!children || json_is_null(children))
        return 0;
    rc = service_children_prepare(c->db, json_id(json_object_get(values, "service_id")),
                                  children, &list, &c->err);
    if (rc == 0)
        json_object_set_new(values, "children", list);
    return rc;
}

static const struct resource service_resource = {
    .m = &service_model,
    .soft_delete = "deleted",
    .before_write = service_before_write,
};

/* The arguments POST /admin/service/children accepts (the whitelist for "Unknown field"). */
static const struct field children_arg_fields[] = {
    { "service_id", FT_INT, FF_KEY, "id услуги", 0, NULL },
    { "children", FT_JSON, 0, "[{service_id, qnt}] или [service_id, …]", 0, NULL },
};

static const struct model children_arg_model = {
    .name = "ServiceChildren",
    .table = "services",
    .key = "service_id",
    .fields = children_arg_fields,
    .nfields = ARRAY_SIZE(children_arg_fields),
};

static const struct resource children_arg_resource = { .m = &children_arg_model };

/* True when the request's filter names key (the filter may be a JSON string). */
static bool filter_has(struct api_ctx *c, const char *key)
{
    json_t *f = json_object_get(c->args, "filter");
    json_t *parsed = json_is_string(f) ? json_loads(json_string_value(f), 0, NULL) : NULL;
    bool has = json_object_get(parsed ? parsed : f, key) != NULL;
    json_decref(parsed);
    return has;
}

/* Restricts the admin list to the children of the service named by `parent`. */
static int parent_scope(struct api_ctx *c, struct sqlb *where)
{
    int64_t parent;
    json_t *list = NULL, *v;
    size_t i;
    int rc = arg_id(c, "parent", &parent);
    if (rc == 0)
        rc = service_children_get(c->db, parent, &list, &c->err);
    if (rc)
        return rc;
    if (json_array_size(list) == 0)
        sqlb_add(where, "1 = 0");
    json_array_foreach(list, i, v) {
        sqlb_add(where, "%s", i ? ", " : "service_id IN (");
        sqlb_int(where, json_integer_value(json_object_get(v, "service_id")));
    }
    if (json_array_size(list))
        sqlb_add(where, ")");
    json_decref(list);
    return 0;
}

/*
 * SHM's list_for_api: `service_id` shows that one service (deleted or not),
 * `parent` the children of a service, otherwise deleted services are hidden
 * unless the filter names `deleted` (api.md §9.8).
 */
static int admin_scope(struct api_ctx *c, struct sqlb *where)
{
    int64_t id;
    if (!args_missing(c->args, "service_id")) {
        int rc = arg_id(c, "service_id", &id);
        if (rc)
            return rc;
        sqlb_add(where, "service_id = ");
        sqlb_int(where, id);
        return 0;
    }
    if (!args_missing(c->args, "parent"))
        return parent_scope(c, where);
    if (!filter_has(c, "deleted"))
        sqlb_add(where, "deleted = 0");
    return 0;
}

static int api_admin_service_list(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    int rc = admin_scope(c, &where);
    if (rc == 0)
        rc = api_list(c, &service_model, "services", &where);
    sqlb_free(&where);
    return rc;
}

/* R62: one catalogue service; deleted services are never shown here. */
static int api_service_get(struct api_ctx *c)
{
    struct sqlb where;
    int64_t id;
    int rc = arg_id(c, "service_id", &id);
    if (rc)
        return rc;
    sqlb_init(&where);
    sqlb_add(&where, "deleted = 0 AND service_id = ");
    sqlb_int(&where, id);
    rc = api_list(c, &service_model, "services", &where);
    sqlb_free(&where);
    return rc;
}

static int api_admin_service_children(struct api_ctx *c)
{
    int64_t id;
    json_t *list = NULL;
    int rc = arg_id(c, "service_id", &id);
    if (rc == 0)
        rc = service_children_list(c->db, id, &list, &c->err);
    if (rc == 0)
        api_set_data(c, list);
    return rc;
}

static int api_admin_service_children_set(struct api_ctx *c)
{
    int64_t id;
    json_t *values = NULL, *list = NULL;
    int rc = resource_values(c, &children_arg_resource, false, &values);
    json_decref(values);
    if (rc == 0)
        rc = arg_id(c, "service_id", &id);
    if (rc == 0)
        rc = service_children_set(c->db, id, json_object_get(c->args, "children"), &list,
                                  &c->err);
    if (rc == 0)
        api_set_data(c, list);
    return rc;
}

static int api_admin_service_categories(struct api_ctx *c)
{
    json_t *list = NULL;
    int rc = service_categories(c->db, &list, &c->err);
    if (rc == 0)
        api_set_data(c, list);
    return rc;
}

#define R(m, p, a, req, h, tag, sum, d) { m, p, a, req, h, 0, NULL, NULL, tag, sum, d }

static const struct route routes[] = {
    R("GET", "/service", AUTH_USER, "service_id", api_service_get, "service",
      "One catalogue service (hidden fields removed for users)", NULL),             /* R62 */
    R("GET", "/admin/service", AUTH_ADMIN, NULL, api_admin_service_list, "admin",
      "List services (deleted ones only when filtered by deleted)", NULL),          /* R80 */
    R("PUT", "/admin/service", AUTH_ADMIN, NULL, api_resource_create, "admin",
      "Create a service (service_id may be given)", &service_resource),             /* R81 */
    R("POST", "/admin/service", AUTH_ADMIN, "service_id", api_resource_update, "admin",
      "Update a service (children are changed only through /admin/service/children)",
      &service_resource),                                                            /* R82 */
    R("DELETE", "/admin/service", AUTH_ADMIN, "service_id", api_resource_delete, "admin",
      "Delete a service (soft: deleted = 1)", &service_resource),                   /* R83 */
    R("GET", "/admin/service/children", AUTH_ADMIN, "service_id",
      api_admin_service_children, "admin",
      "List the child services of a service with their qnt", NULL),                 /* R86 */
    R("POST", "/admin/service/children", AUTH_ADMIN, "service_id,children",
      api_admin_service_children_set, "admin",
      "Replace the children of a service: [{service_id, qnt}] or [service_id, …]",
      NULL),                                                                         /* R87 */
    R("GET", "/admin/user/service/categories", AUTH_ADMIN, NULL,
      api_admin_service_categories, "admin",
      "Distinct categories of the services that are not deleted", NULL),            /* R114 */
};

const struct route_table api_service_routes = ROUTE_TABLE(routes);
