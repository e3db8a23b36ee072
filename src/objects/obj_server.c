/*
 * obj_server.c — `server` / `server(id)` (templates.md §7.7). Without an
 * argument `server` is the render's server (the task's, or the one the
 * caller bound) as a plain hash, so `server.host` and `server.settings.x`
 * read it directly; `server(id)` is the servers row id with settings
 * decoded; server(id).group / .groups its group (one: servers.server_gid)
 * as an object / a list. Servers are readable by renders with a current
 * user, and so are `sg(id)` (a server group: columns, get_servers, list_for_api) and
 * `servers` (list_for_api, servers_by_group_id(N), list_by_transport(t)).
 * The bound server is an object too when its row has a server_id, so the
 * writing members work on it: set_settings and set('services_count', N) on
 * servers, set_settings on groups — admin renders and spool tasks only.
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

/* The group of server o (its server_gid) as an object, or undefined. */
static struct tpl_value group_of(struct render_ctx *r, struct obj *o)
{
    json_t *row = server_load(r, o);
    int64_t gid = json_integer_value(json_object_get(row, "server_gid"));
    json_decref(row);
    return gid ? obj_new(&obj_sg_kind, gid, o->user_id, NULL) : tpl_undef();
}

static int m_group(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    *out = group_of(r, o);
    return 0;
}

/*
 * groups: the list of groups the server belongs to — a server has one
 * server_gid (data-model.md §2), so [group] or [] when it has none.
 */
static int m_groups(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    struct tpl_value g = group_of(r, o);
    *out = tpl_list_new();
    if (g.type != TPL_UNDEF)
        tpl_list_push(out, g);
    return 0;
}

/* The check of server_group_check_values with obj_json_merge's signature. */
static int group_check(struct db *db, json_t *values, struct err *e)
{
    UNUSED(db);
    return server_group_check_values(values, e);
}

/* Deep-merges the hash argument into the settings of row o of m (admin/task only). */
static int merge_settings(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          const struct model *m, obj_values_check check, const char *member,
                          struct err *e)
{
    if (!obj_privileged(r))
        return obj_refuse(e, member, true);
    json_t *patch = obj_arg_hash(a);
    bool own = false;
    int rc = patch ? obj_tx_begin(r, &own, e)
                   : err_set(e, ERR_INVALID, "%s: expected a hash", member);
    if (rc == 0)
        rc = obj_tx_end(r, own, obj_json_merge(r, m, "settings", o->id, patch, check, e), e);
    json_decref(patch);
    return rc;
}

static int m_server_set_settings(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                                 struct tpl_value *out, struct err *e)
{
    if (!o->id)
        return TPL_DECLINED;
    int rc = merge_settings(o, r, a, &server_model, server_check_values, "server.set_settings",
                            e);
    if (rc == 0)
        *out = obj_new(o->kind, o->id, o->user_id, NULL);
    return rc;
}

static int op_services_count(struct render_ctx *r, struct obj *o, int64_t want, struct err *e)
{
    json_t *row = server_load(r, o);
    int64_t cur = json_integer_value(json_object_get(row, "services_count"));
    json_decref(row);
    return server_services_count_add(r->db, o->id, want - cur, e);
}

/*
 * set('services_count', N) / set(services_count = N): the only column a
 * template may set on a server (admin renders and tasks). Answers 1.
 */
static int m_server_set(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    if (!o->id)
        return TPL_DECLINED;
    if (!obj_privileged(r))
        return obj_refuse(e, "server.set", true);
    json_t *args = obj_args_object(a);
    json_t *v = json_object_get(args, "services_count");
    int rc = 0;
    if (json_object_size(args) != 1 || !v)
        rc = err_set(e, ERR_INVALID, "server.set: only services_count may be set");
    else if (!json_is_integer(v) || json_integer_value(v) < 0)
        rc = err_set(e, ERR_INVALID, "server.set: services_count must be a non-negative integer");
    bool own = false;
    if (rc == 0 && (rc = obj_tx_begin(r, &own, e)) == 0)
        rc = obj_tx_end(r, own, op_services_count(r, o, json_integer_value(v), e), e);
    json_decref(args);
    if (rc == 0)
        *out = tpl_int(1);
    return rc;
}

static int m_list_all(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e);
static int m_by_group(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e);
static int m_by_transport(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e);

static const struct obj_method server_methods[] = {
    { "group", m_group },
    { "groups", m_groups },
    { "set_settings", m_server_set_settings },
    { "set", m_server_set },
    { "list_for_api", m_list_all },
    { "servers_by_group_id", m_by_group },
    { "list_by_transport", m_by_transport },
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
    json_t *sid = json_object_get(bound, "server_id");
    if (json_is_integer(sid) && json_integer_value(sid) > 0 && (r->user_id || r->admin))
        *out = obj_new(&obj_server_kind, json_integer_value(sid), r->user_id, NULL);
    else
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

static int m_sg_set_settings(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                             struct tpl_value *out, struct err *e)
{
    if (!o->id)
        return TPL_DECLINED;
    int rc = merge_settings(o, r, a, &server_group_model, group_check, "sg.set_settings", e);
    if (rc == 0)
        *out = obj_new(o->kind, o->id, o->user_id, NULL);
    return rc;
}

/* sg.list_for_api: every server group (renders with a user). */
static int m_sg_list(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    UNUSED(e);
    if (!r->user_id && !r->admin)
        return TPL_DECLINED;
    json_t *rows = obj_rows(r, &server_group_model,
                            "SELECT * FROM servers_groups ORDER BY group_id", NULL, 0);
    *out = obj_from_json(rows);
    json_decref(rows);
    return 0;
}

/* Group id as an object when visible, else undefined. */
static struct tpl_value sg_value(struct render_ctx *r, int64_t id)
{
    struct obj probe = { .kind = &obj_sg_kind, .id = id };
    json_t *row = sg_load(r, &probe);
    struct tpl_value v = row ? obj_new(&obj_sg_kind, id, r->user_id, NULL) : tpl_undef();
    json_decref(row);
    return v;
}

/* sg.id(N): group N; sg.id: this group's id. */
static int m_sg_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(e);
    return obj_id_member(o, r, a, sg_value, out);
}

static const struct obj_method sg_methods[] = {
    { "get_servers", m_get_servers },
    { "set_settings", m_sg_set_settings },
    { "list_for_api", m_sg_list },
    { "id", m_sg_id },
    { NULL, NULL },
};

const struct obj_kind obj_sg_kind = { "Core::ServerGroups", sg_methods, sg_load };

/* `sg` (unbound: sg.list_for_api) / `sg(id)`. */
static int fn_sg(void *self, struct tpl_ctx *cx, const struct tpl_args *a, struct tpl_value *out,
                 struct err *e)
{
    UNUSED(self);
    UNUSED(e);
    struct render_ctx *r = obj_ctx(cx);
    int64_t id;
    *out = obj_arg_int(a, 0, NULL, &id) ? sg_value(r, id)
                                         : obj_new(&obj_sg_kind, 0, r->user_id, NULL);
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
