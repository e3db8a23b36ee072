/*
 * api_event.c — event bindings (spool.md §3): list (R88), create (R89),
 * update (R90) and delete (R91) of the `events` table under
 * /admin/service/event. The model-driven handlers do the work; the hook
 * below adds the checks of event_check_values() (server group exists,
 * settings shape, default kind).
 */
#include "api.h"
#include "resource.h"
#include "../core/event.h"
#include "../db/sqlb.h"

static int event_before_write(struct api_ctx *c, json_t *values, json_t *key, bool create)
{
    struct err e = { 0 };
    UNUSED(key);
    int rc = event_check_values(c->db, values, create, &e);
    if (rc == ERR_INVALID)
        return api_fail(c, 400, "%s", e.msg);
    if (rc)
        c->err = e;
    return rc;
}

static const struct resource event_resource = {
    .m = &event_model,
    .before_write = event_before_write,
};

/* Appends "col = $n" for the list argument col (SHM's list_for_api takes id and kind). */
static int where_arg(struct api_ctx *c, struct sqlb *where, const char *col)
{
    json_t *v = json_object_get(c->args, col);
    struct err e;
    if (args_missing(c->args, col))
        return 0;
    if (where->sql.len)
        sqlb_add(where, " AND ");
    sqlb_add(where, "%s = ", col);
    if (model_bind_value(model_field(&event_model, col), v, where, &e))
        return api_fail(c, 400, "%s", e.msg);
    return 0;
}

static int api_event_list(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    int rc = where_arg(c, &where, "id");
    if (rc == 0)
        rc = where_arg(c, &where, "kind");
    if (rc == 0)
        rc = resource_list(c, &event_resource, &where);
    sqlb_free(&where);
    return rc;
}

#define PATH "/admin/service/event"

static const struct route routes[] = {
    { .method = "GET", .path = PATH, .auth = AUTH_ADMIN, .handler = api_event_list,
      .tag = "events", .summary = "List event bindings (arguments id, kind; filter)" }, /* R88 */
    { .method = "PUT", .path = PATH, .auth = AUTH_ADMIN, .handler = api_resource_create,
      .tag = "events", .summary = "Create an event binding", .data = &event_resource }, /* R89 */
    { .method = "POST", .path = PATH, .auth = AUTH_ADMIN, .handler = api_resource_update,
      .tag = "events", .summary = "Update an event binding (key id)",
      .data = &event_resource }, /* R90 */
    { .method = "DELETE", .path = PATH, .auth = AUTH_ADMIN, .required = "id",
      .handler = api_resource_delete, .tag = "events", .summary = "Delete an event binding",
      .data = &event_resource }, /* R91 */
};

const struct route_table api_event_routes = ROUTE_TABLE(routes);
