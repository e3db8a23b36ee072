/*
 * obj_profile.c — `profile` (templates.md §7.17; table profiles,
 * data-model.md §3.19): the current user's profiles, free-form JSON data
 * (name, e-mail, phone, postal data …).
 *
 *   profile.items / profile.list_for_api   the user's profiles (objects / rows), oldest first;
 *                                          filter / sort / rsort / limit as on every
 *                                          collection (obj_coll.c; data is not filterable)
 *   profile.id(N)                          profile N (undefined unless it is the user's, D11)
 *   profile.add({…}) / add(data = {…})     a new profile of the user with that data
 *   p.id, p.user_id, p.data, p.created, p.get   the row;  p.set_data({…}) replaces the data,
 *   p.delete                               removes it
 *
 * An anonymous render (user 0) has no profiles and cannot add one.
 */
#include "objects_int.h"

#include "../db/db.h"
#include "../db/model.h"
#include "../util/timeutil.h"

static const struct field profile_fields[] = {
    { "id", FT_INT, FF_KEY, NULL, 0, NULL },
    { "user_id", FT_INT, 0, NULL, 0, NULL },
    { "data", FT_JSON, 0, NULL, 0, NULL },
    { "created", FT_DATE, 0, NULL, 0, NULL },
};

static const struct model profile_model = {
    .name = "Profile",
    .table = "profiles",
    .key = "id",
    .fields = profile_fields,
    .nfields = ARRAY_SIZE(profile_fields),
};

#define PROFILE_COLS "SELECT id, user_id, data, created FROM profiles "

static const struct obj_kind profile_row_kind;

/* The row of profile o->id when the render may see it, else NULL. */
static json_t *profile_load(struct render_ctx *r, const struct obj *o)
{
    json_t *row = obj_row(r, &profile_model, PROFILE_COLS "WHERE id = $1", o->id);
    json_t *uid = json_object_get(row, "user_id");
    if (row && !obj_may_see(r, json_integer_value(uid))) {
        json_decref(row);
        row = NULL;
    }
    return row;
}

static const struct obj_coll profiles_coll = { &profile_model, "profiles", "pr",
                                                &profile_row_kind };

/* items(where = {…}, limit, offset): profile objects; none for an anonymous render. */
static int m_items(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    if (!o->user_id) {
        *out = tpl_list_new();
        return 0;
    }
    return obj_coll_items(o, r, &profiles_coll, a, out, e);
}

static int m_list(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    json_t *rows = o->user_id ? obj_coll_rows(o, r, &profiles_coll, NULL, e) : json_array();
    if (!rows)
        return ERR_INVALID;
    *out = obj_from_json(rows);
    json_decref(rows);
    return 0;
}

static int m_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                struct tpl_value *out, struct err *e)
{
    UNUSED(e);
    int64_t id;
    if (!obj_arg_int(a, 0, "id", &id)) {
        *out = o->id ? tpl_int(o->id) : tpl_undef();
        return 0;
    }
    struct obj probe = { .kind = &profile_row_kind, .id = id };
    json_t *row = profile_load(r, &probe);
    *out = row ? obj_new(&profile_row_kind, id, json_integer_value(json_object_get(row, "user_id")),
                         NULL)
               : tpl_undef();
    json_decref(row);
    return 0;
}

/* The data argument: the hash at 0, or data = {…}; NULL when it is not a hash. */
static char *data_arg(const struct tpl_args *a)
{
    const struct tpl_value *v = tpl_args_kv(a, "data");
    if (!v)
        v = tpl_args_at(a, 0);
    json_t *j = v && v->type == TPL_HASH ? obj_arg_json(v) : NULL;
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return s;
}

static int m_add(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                 struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    char *data = data_arg(a);
    int64_t id = 0;
    int rc = 0;
    if (!r->user_id)
        rc = err_set(e, ERR_DENIED, "profile.add: no user");
    else if (!data)
        rc = err_set(e, ERR_INVALID, "profile.add: the data must be a hash");
    struct db_value p[] = { DB_INT(r->user_id), DB_TEXT(data), DB_INT(time_now()) };
    if (rc == 0)
        rc = db_query_int(r->db, "INSERT INTO profiles (user_id, data, created) "
                                 "VALUES ($1, $2, $3) RETURNING id",
                          p, 3, &id, e);
    if (rc == 0)
        *out = obj_new(&profile_row_kind, id, r->user_id, NULL);
    free(data);
    return rc;
}

static const struct obj_method profiles_methods[] = {
    { "items", m_items },         { "list_for_api", m_list }, { "id", m_id },
    { "add", m_add },             { "filter", obj_coll_filter }, { "limit", obj_coll_limit },
    { "sort", obj_coll_sort },    { "rsort", obj_coll_rsort },   { NULL, NULL },
};

static const struct obj_kind profiles_kind = { "Core::Profile", profiles_methods, NULL };

/* Runs sql with (id) on a visible profile; undefined (nothing done) when it is not. */
static int row_write(struct obj *o, struct render_ctx *r, const char *sql, const char *data,
                     struct tpl_value *out, struct err *e)
{
    json_t *row = profile_load(r, o);
    struct db_value p[] = { DB_INT(o->id), DB_TEXT(data) };
    int rc = row ? db_exec(r->db, sql, p, data ? 2 : 1, NULL, e) : 0;
    *out = row && rc == 0 ? tpl_int(1) : tpl_undef();
    json_decref(row);
    return rc;
}

static int m_set_data(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    char *data = data_arg(a);
    int rc = data ? row_write(o, r, "UPDATE profiles SET data = $2 WHERE id = $1", data, out, e)
                  : err_set(e, ERR_INVALID, "profile.set_data: the data must be a hash");
    free(data);
    return rc;
}

static int m_delete(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    return row_write(o, r, "DELETE FROM profiles WHERE id = $1", NULL, out, e);
}

static const struct obj_method profile_row_methods[] = {
    { "set_data", m_set_data }, { "delete", m_delete }, { NULL, NULL },
};

static const struct obj_kind profile_row_kind = { "Core::Profile", profile_row_methods,
                                                  profile_load };

void obj_profile_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "profile", 7, obj_new(&profiles_kind, 0, r->user_id, NULL));
}
