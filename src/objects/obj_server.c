/*
 * obj_server.c — `server` / `server(id)` (templates.md §7.7). Without an
 * argument `server` is the render's server (the task's, or the one the
 * caller bound) as a plain hash, so `server.host` and `server.settings.x`
 * read it directly; `server(id)` is the servers row id with settings
 * decoded. Servers are readable by renders with a current user, and so
 * are `sg(id)` (a server group: columns, get_servers) and `servers`
 * (list_for_api, servers_by_group_id(N), list_by_transport(t)).
 */
#include "objects_int.h"

#include "../core/server.h"
#include "../db/db.h"

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

/* Every server row of sql (one optional parameter p), or an empty list. */
static struct tpl_value server_list(struct render_ctx *r, const char *sql, const struct db_value *p,
                                    int np)
{
    if (!r->user_id && !r->admin)
        return tpl_list_new();
    json_t *rows = obj_rows(r, &server_model, sql, p, np);
    struct tpl_value v = obj_from_json(rows);
    json_decref(rows);
    return v;
}

static int m_group(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    json_t *row = server_load(r, o);
    int64_t gid = json_integer_value(json_object_get(row, "server_gid"));
    json_decref(row);
    *out = gid ? obj_new(&obj_sg_kind, gid, o->user_id, NULL) : tpl_undef();
    return 0;
}

static const struct obj_method server_methods[] = {
    { "group", m_group },
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

/* ---- sg: server groups ---- */

static json_t *sg_load(struct render_ctx *r, const struct obj *o)
{
    if (!r->user_id && !r->admin)
        return NULL;
    json_t *row = obj_row(r, &server_group_model,
                          "SELECT * FROM servers_groups WHERE group_id = $1", o->id);
    if (row)
        json_object_set_new(row, "id", json_integer(o->id));
    return row;
}

static int m_get_servers(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    struct db_value p[] = { DB_INT(o->id) };
    *out = server_list(r, "SELECT * FROM servers WHERE server_gid = $1 ORDER BY server_id", p, 1);
    return 0;
}

static const struct obj_method sg_methods[] = {
    { "get_servers", m_get_servers },
    { NULL, NULL },
};

const struct obj_kind obj_sg_kind = { "Core::ServerGroups", sg_methods, sg_load };

static int fn_sg(void *self, struct tpl_ctx *cx, const struct tpl_args *a, struct tpl_value *out,
                 struct err *e)
{
    UNUSED(self);
    UNUSED(e);
    struct render_ctx *r = obj_ctx(cx);
    int64_t id;
    if (!obj_arg_int(a, 0, NULL, &id))
        return TPL_DECLINED;
    struct obj probe = { .kind = &obj_sg_kind, .id = id };
    json_t *row = sg_load(r, &probe);
    *out = row ? obj_new(&obj_sg_kind, id, r->user_id, NULL) : tpl_undef();
    json_decref(row);
    return 0;
}

/* ---- servers: the collection ---- */

static int m_list_all(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    UNUSED(e);
    *out = server_list(r, "SELECT * FROM servers ORDER BY server_id", NULL, 0);
    return 0;
}

static int m_by_group(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    int64_t gid;
    if (!obj_arg_int(a, 0, "group_id", &gid))
        return TPL_DECLINED;
    struct obj g = { .kind = &obj_sg_kind, .id = gid, .user_id = o->user_id };
    return m_get_servers(&g, r, a, out, e);
}

static int m_by_transport(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(e);
    char *t = obj_arg_str(a, 0, "transport");
    struct db_value p[] = { DB_TEXT(t ? t : "") };
    *out = server_list(r, "SELECT * FROM servers WHERE transport = $1 ORDER BY server_id", p, 1);
    free(t);
    return 0;
}

static const struct obj_method servers_methods[] = {
    { "list_for_api", m_list_all },
    { "items", m_list_all },
    { "servers_by_group_id", m_by_group },
    { "list_by_transport", m_by_transport },
    { NULL, NULL },
};

const struct obj_kind obj_servers_kind = { "Core::Server", servers_methods, NULL };

void obj_server_bind(struct tpl_value *vars, struct render_ctx *r)
{
    obj_bind_func(vars, "server", fn_server);
    obj_bind_func(vars, "sg", fn_sg);
    tpl_hash_set(vars, "servers", 7, obj_new(&obj_servers_kind, 0, r->user_id, NULL));
}
