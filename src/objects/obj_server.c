/*
 * obj_server.c — `server` / `server(id)` (templates.md §7.7). Without an
 * argument `server` is the render's server (the task's, or the one the
 * caller bound) as a plain hash, so `server.host` and `server.settings.x`
 * read it directly; `server(id)` is the servers row id with settings
 * decoded. Servers are readable by renders with a current user.
 */
#include "objects_int.h"

#include "../core/server.h"

static json_t *server_load(struct render_ctx *r, const struct obj *o)
{
    if (!r->user_id && !r->admin)
        return NULL;
    json_t *row = obj_row(r, &server_model, "SELECT * FROM servers WHERE server_id = $1", o->id);
    if (row) {
        json_object_set_new(row, "id", json_integer(o->id));
        if (!json_is_object(json_object_get(row, "settings")))
            json_object_set_new(row, "settings", json_object());
    }
    return row;
}

static const struct obj_method server_methods[] = {
    { NULL, NULL },
};

const struct obj_kind obj_server_kind = { "Core::Server", server_methods, server_load };

static int fn_server(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(self);
    UNUSED(e);
    struct render_ctx *r = obj_ctx(cx);
    int64_t id;
    if (obj_arg_int(a, 0, NULL, &id)) {
        struct obj probe = { .kind = &obj_server_kind, .id = id };
        json_t *row = server_load(r, &probe);
        *out = row ? obj_new(&obj_server_kind, id, r->user_id, NULL) : tpl_undef();
        json_decref(row);
        return 0;
    }
    const json_t *bound = r->server ? r->server : r->task ? r->task->server : NULL;
    *out = bound ? tpl_value_from_json(bound) : tpl_undef();
    return 0;
}

void obj_server_bind(struct tpl_value *vars, struct render_ctx *r)
{
    UNUSED(r);
    obj_bind_func(vars, "server", fn_server);
}
