/*
 * resource.c — the model-driven default handlers (see resource.h).
 */
#include "resource.h"
#include "../db/sqlb.h"

/* Request-control arguments that are never taken as column values. */
static const char *const control_args[] = {
    "dry_run", "format", "filename", "session_id", "filter", "limit", "offset",
    "sort_field", "sort_direction", "fields", "start", "stop", "field", "POSTDATA", "PUTDATA",
};

static bool is_control(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(control_args); i++)
        if (strcmp(key, control_args[i]) == 0)
            return true;
    return false;
}

static const struct field *key_field(const struct resource *r)
{
    return model_field(r->m, r->m->key);
}

/* Decides whether key/value of the args belongs in the values: 1 take, 0 skip, <0 error. */
static int classify(struct api_ctx *c, const struct resource *r, const char *key, json_t *v,
                    bool create, const struct field **fout)
{
    const struct field *f = model_field(r->m, key);
    struct err e;
    if (!f) {
        if (is_control(key) || (strcmp(key, "user_id") == 0 && c->auth_admin) ||
            strcmp(key, r->m->key) == 0)
            return 0;
        return api_fail(c, 400, "Unknown field: %.64s", key);
    }
    if ((f->flags & FF_KEY) && !create)
        return 0;
    if (create && f->type != FT_TEXT && json_is_string(v) && json_string_length(v) == 0)
        return 0; /* SHM: an empty value on insert means "use the default" */
    if (r->owner && strcmp(key, r->owner) == 0)
        return 0; /* ownership comes from the current user, never from input */
    if (model_check_value(f, v, &e))
        return api_fail(c, 400, "%s", e.msg);
    *fout = f;
    return 1;
}

static int check_required(struct api_ctx *c, const struct resource *r, json_t *values)
{
    for (size_t i = 0; i < r->m->nfields; i++) {
        const struct field *f = &r->m->fields[i];
        json_t *v = json_object_get(values, f->name);
        if ((f->flags & FF_REQUIRED) && (!v || json_is_null(v) ||
                                         (json_is_string(v) && json_string_length(v) == 0)))
            return api_fail(c, 400, "Field required: %s", f->name);
    }
    return 0;
}

int resource_values(struct api_ctx *c, const struct resource *r, bool create, json_t **out)
{
    json_t *values = json_object();
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(c->args, key, v) {
        const struct field *f = NULL;
        rc = classify(c, r, key, v, create, &f);
        if (rc < 0)
            break;
        if (rc == 1)
            json_object_set(values, f->name, v);
        rc = 0;
    }
    if (rc == 0 && r->owner && create)
        json_object_set_new(values, r->owner, json_integer(c->user_id));
    if (rc == 0 && create)
        rc = check_required(c, r, values);
    if (rc) {
        json_decref(values);
        return rc;
    }
    *out = values;
    return 0;
}

int resource_key(struct api_ctx *c, const struct resource *r, json_t **out)
{
    json_t *v = json_object_get(c->args, r->m->key);
    struct err e;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return api_fail(c, 400, "`%s` not present", r->m->key);
    if (model_check_value(key_field(r), v, &e))
        return api_fail(c, 400, "%s", e.msg);
    *out = json_incref(v);
    return 0;
}

static void returning(const struct resource *r, struct sqlb *b)
{
    sqlb_add(b, " RETURNING ");
    model_select_list(r->m, &b->sql);
}

/*
 * True when rows are restricted to the current user: always for non-admins,
 * and for admins acting for a user with `user_id`.
 */
static bool owner_scoped(const struct api_ctx *c, const struct resource *r)
{
    return r->owner && (!c->auth_admin || c->user_id != c->auth_user_id);
}

/* Appends "key = $n" and, for non-admins of an owned resource, the owner condition. */
static int where_key(struct api_ctx *c, const struct resource *r, json_t *key, struct sqlb *b)
{
    struct err e;
    sqlb_add(b, " WHERE %s = ", r->m->key);
    if (model_bind_value(key_field(r), key, b, &e))
        return api_fail(c, 400, "%s", e.msg);
    if (owner_scoped(c, r)) {
        sqlb_add(b, " AND %s = ", r->owner);
        sqlb_int(b, c->user_id);
    }
    return 0;
}

/* Runs b and converts its single returned row; 404 when no row came back. */
static int one_row(struct api_ctx *c, const struct resource *r, struct sqlb *b, json_t **row)
{
    struct db_result *res = NULL;
    int rc = db_query(c->db, b->sql.data, b->params, b->n, &res, &c->err);
    if (rc == ERR_CONFLICT) {
        c->err.code = ERR_INVALID;
        return api_fail(c, 400, "Can't add a new object. Perhaps it already exists?");
    }
    if (rc)
        return rc;
    if (db_result_rows(res) < 1)
        rc = api_fail(c, 404, "Object not found. Check the ID.");
    else if (row)
        *row = model_row_to_json(r->m, res, 0, c->auth_admin);
    db_result_free(res);
    return rc;
}

/* Appends the values as "$1, $2" (insert) or "a = $1, b = $2" (assignments). */
static int bind_values(struct api_ctx *c, const struct resource *r, json_t *values,
                       struct sqlb *b, bool assignments)
{
    const char *key;
    json_t *v;
    struct err e;
    int n = 0;
    json_object_foreach(values, key, v) {
        const struct field *f = model_field(r->m, key);
        if (!f)
            return api_fail(c, 500, "resource %s: %s is not a field", r->m->table, key);
        sqlb_add(b, "%s", n++ ? ", " : "");
        if (assignments)
            sqlb_add(b, "%s = ", f->name);
        if (model_bind_value(f, v, b, &e))
            return api_fail(c, 400, "%s", e.msg);
    }
    return 0;
}

int resource_insert(struct api_ctx *c, const struct resource *r, json_t *values, json_t **row)
{
    struct sqlb b;
    const char *key;
    json_t *v;
    int rc, n = 0;
    if (r->before_write && (rc = r->before_write(c, values, NULL, true)))
        return rc;
    sqlb_init(&b);
    if (json_object_size(values) == 0) {
        sqlb_add(&b, "INSERT INTO %s DEFAULT VALUES", r->m->table);
    } else {
        sqlb_add(&b, "INSERT INTO %s (", r->m->table);
        json_object_foreach(values, key, v)
            sqlb_add(&b, "%s%s", n++ ? ", " : "", key);
        sqlb_add(&b, ") VALUES (");
        rc = bind_values(c, r, values, &b, false);
        sqlb_add(&b, ")");
        if (rc) {
            sqlb_free(&b);
            return rc;
        }
    }
    returning(r, &b);
    rc = one_row(c, r, &b, row);
    sqlb_free(&b);
    if (rc == 0 && json_is_integer(json_object_get(values, r->m->key)))
        rc = db_sync_sequence(c->db, r->m->table, r->m->key, &c->err);
    return rc;
}

int resource_update(struct api_ctx *c, const struct resource *r, json_t *key, json_t *values,
                    json_t **row)
{
    struct sqlb b;
    int rc;
    if (json_object_size(values) == 0)
        return resource_read(c, r, key, row);
    if (r->before_write && (rc = r->before_write(c, values, key, false)))
        return rc;
    if (json_object_size(values) == 0)
        return resource_read(c, r, key, row);
    sqlb_init(&b);
    sqlb_add(&b, "UPDATE %s SET ", r->m->table);
    rc = bind_values(c, r, values, &b, true);
    if (rc == 0)
        rc = where_key(c, r, key, &b);
    if (rc == 0) {
        returning(r, &b);
        rc = one_row(c, r, &b, row);
    }
    sqlb_free(&b);
    return rc;
}

int resource_read(struct api_ctx *c, const struct resource *r, json_t *key, json_t **row)
{
    struct sqlb b;
    sqlb_init(&b);
    sqlb_add(&b, "SELECT ");
    model_select_list(r->m, &b.sql);
    sqlb_add(&b, " FROM %s", r->m->table);
    int rc = where_key(c, r, key, &b);
    if (rc == 0)
        rc = one_row(c, r, &b, row);
    sqlb_free(&b);
    return rc;
}

int resource_delete(struct api_ctx *c, const struct resource *r, json_t *key)
{
    struct sqlb b;
    int64_t changed = 0;
    sqlb_init(&b);
    if (r->soft_delete)
        sqlb_add(&b, "UPDATE %s SET %s = 1", r->m->table, r->soft_delete);
    else
        sqlb_add(&b, "DELETE FROM %s", r->m->table);
    int rc = where_key(c, r, key, &b);
    if (rc == 0)
        rc = db_exec(c->db, b.sql.data, b.params, b.n, &changed, &c->err);
    sqlb_free(&b);
    if (rc == 0 && changed == 0)
        rc = api_fail(c, 404, "Object not found. Check the ID.");
    if (rc == 0 && r->after_delete)
        rc = r->after_delete(c, key);
    return rc;
}

int resource_list(struct api_ctx *c, const struct resource *r, struct sqlb *where)
{
    if (owner_scoped(c, r)) {
        if (where->sql.len)
            sqlb_add(where, " AND ");
        sqlb_add(where, "%s = ", r->owner);
        sqlb_int(where, c->user_id);
    }
    return api_list(c, r->m, r->m->table, where);
}

int api_resource_list(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    int rc = resource_list(c, c->route->data, &where);
    sqlb_free(&where);
    return rc;
}

int api_resource_create(struct api_ctx *c)
{
    const struct resource *r = c->route->data;
    json_t *values = NULL, *row = NULL;
    int rc = resource_values(c, r, true, &values);
    if (rc == 0)
        rc = resource_insert(c, r, values, &row);
    json_decref(values);
    if (rc == 0)
        api_set_data(c, row);
    return rc;
}

int api_resource_update(struct api_ctx *c)
{
    const struct resource *r = c->route->data;
    json_t *key = NULL, *values = NULL, *row = NULL;
    int rc = resource_key(c, r, &key);
    if (rc == 0)
        rc = resource_values(c, r, false, &values);
    if (rc == 0)
        rc = resource_update(c, r, key, values, &row);
    json_decref(key);
    json_decref(values);
    if (rc == 0)
        api_set_data(c, row);
    return rc;
}

int api_resource_delete(struct api_ctx *c)
{
    const struct resource *r = c->route->data;
    json_t *key = NULL;
    int rc = resource_key(c, r, &key);
    if (rc == 0)
        rc = resource_delete(c, r, key);
    json_decref(key);
    if (rc == 0)
        api_set_data(c, json_array());
    return rc;
}
