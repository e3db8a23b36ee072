/*
 * obj_core.c — the generic host object of the SHM object model
 * (objects_int.h; templates.md §7.0): method dispatch, column access on the
 * object's row (`obj.<column>`, `get_<column>`, `get`/`pairs`), the D11
 * rights rule and the row, argument and value helpers the families share.
 */
#include "objects_int.h"

#include "../core/config_store.h"
#include "../db/db.h"
#include "../db/model.h"
#include "../util/buf.h"

struct render_ctx *obj_ctx(struct tpl_ctx *cx)
{
    return tpl_ctx_host(cx);
}

bool obj_may_see(const struct render_ctx *r, int64_t user_id)
{
    return r->admin || (user_id && user_id == r->user_id);
}

bool obj_privileged(const struct render_ctx *r)
{
    return r->admin || r->task;
}

int obj_refuse(struct err *e, const char *member, bool task_too)
{
    return err_set_status(e, ERR_DENIED, 403, "%s: permission denied (%s)", member,
                          task_too ? "admin or task only" : "admin only");
}

static obj_method_fn find_method(const struct obj_kind *k, const char *name)
{
    for (const struct obj_method *m = k->methods; m && m->name; m++)
        if (!strcmp(m->name, name))
            return m->fn;
    return NULL;
}

/* `obj.col`, `obj.get_col`, `obj.get` / `obj.pairs` on the object's row. */
static int row_member(struct obj *o, struct render_ctx *r, const char *name,
                      struct tpl_value *out)
{
    if (!o->kind->load)
        return TPL_DECLINED;
    bool whole = !strcmp(name, "get") || !strcmp(name, "pairs");
    const char *col = !strncmp(name, "get_", 4) ? name + 4 : name;
    json_t *row = o->kind->load(r, o);
    if (!row)
        return TPL_DECLINED;
    json_t *v = whole ? row : json_object_get(row, col);
    int rc = TPL_DECLINED;
    if (v) {
        *out = obj_from_json(v);
        rc = 0;
    }
    json_decref(row);
    return rc;
}

static int obj_call(void *self, struct tpl_ctx *cx, const char *name, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    struct obj *o = self;
    struct render_ctx *r = obj_ctx(cx);
    if (!r)
        return TPL_DECLINED;
    obj_method_fn fn = find_method(o->kind, name);
    if (fn)
        return fn(o, r, a, out, e);
    if (!strcmp(name, "reload")) {
        *out = obj_new(o->kind, o->id, o->user_id, o->key);
        return 0;
    }
    return row_member(o, r, name, out);
}

static int obj_to_string(void *self, struct buf *out)
{
    struct obj *o = self;
    return buf_puts(out, o->kind->type_name);
}

static void obj_free(void *self)
{
    struct obj *o = self;
    free(o->key);
    free(o);
}

static const struct tpl_object_ops obj_ops = {
    .type_name = "Object",
    .call = obj_call,
    .to_string = obj_to_string,
    .free = obj_free,
};

struct tpl_value obj_new(const struct obj_kind *k, int64_t id, int64_t user_id, const char *key)
{
    struct obj *o = xcalloc(1, sizeof(*o));
    o->kind = k;
    o->id = id;
    o->user_id = user_id;
    o->key = key ? xstrdup(key) : NULL;
    return tpl_object_new(&obj_ops, o);
}

int obj_tx_begin(struct render_ctx *r, bool *own, struct err *e)
{
    *own = !db_in_tx(r->db);
    return *own ? db_begin(r->db, true, e) : 0;
}

int obj_tx_end(struct render_ctx *r, bool own, int rc, struct err *e)
{
    if (!own)
        return rc;
    if (rc == 0)
        return db_commit(r->db, e);
    db_rollback(r->db);
    return rc;
}

json_t *obj_row(struct render_ctx *r, const struct model *m, const char *sql, int64_t id)
{
    struct db_value p[] = { DB_INT(id) };
    json_t *rows = obj_rows(r, m, sql, p, 1);
    json_t *row = json_array_size(rows) ? json_incref(json_array_get(rows, 0)) : NULL;
    json_decref(rows);
    return row;
}

json_t *obj_rows(struct render_ctx *r, const struct model *m, const char *sql,
                 const struct db_value *p, int np)
{
    struct db_result *res = NULL;
    struct err e = { 0 };
    json_t *out = json_array();
    if (db_query(r->db, sql, p, np, &res, &e) == 0)
        for (int i = 0; i < db_result_rows(res); i++)
            json_array_append_new(out, model_row_to_json(m, res, i, true));
    db_result_free(res);
    return out;
}

struct tpl_value obj_from_json(const json_t *j)
{
    return tpl_value_from_json(j);
}

/* Named argument key, then SHM's key/value reading, then positional i. */
static const struct tpl_value *arg_lookup(const struct tpl_args *a, size_t i, const char *key)
{
    const struct tpl_value *v = key ? tpl_args_kv(a, key) : NULL;
    if (!v && i != (size_t)-1)
        v = tpl_args_at(a, i);
    return v;
}

bool obj_arg_int(const struct tpl_args *a, size_t i, const char *key, int64_t *out)
{
    const struct tpl_value *v = arg_lookup(a, i, key);
    if (!v || !tpl_value_defined(v) || v->type == TPL_HASH || v->type == TPL_LIST)
        return false;
    bool is_int;
    int64_t iv;
    double d;
    tpl_value_number(v, &is_int, &iv, &d);
    *out = is_int ? iv : (int64_t)d;
    return true;
}

json_t *obj_key_json(const struct obj *o)
{
    json_t *s = o->key ? json_loads(o->key, 0, NULL) : NULL;
    if (!json_is_object(s)) {
        json_decref(s);
        s = json_object();
    }
    return s;
}

char *obj_arg_str(const struct tpl_args *a, size_t i, const char *key)
{
    const struct tpl_value *v = arg_lookup(a, i, key);
    if (!v || !tpl_value_defined(v))
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    tpl_value_print(v, &b);
    return buf_detach(&b, NULL);
}

json_t *obj_args_object(const struct tpl_args *a)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < a->npos; i++) {
        const struct tpl_value *v = &a->pos[i];
        if (v->type == TPL_HASH) {
            json_t *h = obj_arg_json(v);
            json_object_update(obj, h);
            json_decref(h);
        } else if (i + 1 < a->npos && v->type == TPL_STR) {
            json_t *val = obj_arg_json(&a->pos[i + 1]);
            json_object_set_new(obj, tpl_str_data(v, NULL), val ? val : json_null());
            i++;
        }
    }
    if (a->named) {
        json_t *h = obj_arg_json(a->named);
        json_object_update(obj, h);
        json_decref(h);
    }
    return obj;
}

json_t *obj_arg_json(const struct tpl_value *v)
{
    json_t *j = NULL;
    if (!v || !tpl_value_defined(v))
        return NULL;
    if (tpl_value_to_json(v, &j, NULL))
        return NULL;
    return j;
}

void obj_bind_func(struct tpl_value *vars, const char *name, tpl_func_fn fn)
{
    tpl_hash_set(vars, name, strlen(name), tpl_func_new(fn, NULL, NULL));
}

json_t *obj_arg_hash(const struct tpl_args *a)
{
    json_t *h = obj_arg_json(tpl_args_at(a, 0));
    if (!json_is_object(h)) {
        json_decref(h);
        h = obj_arg_json(a->named);
    }
    if (!json_is_object(h)) {
        json_decref(h);
        h = NULL;
    }
    return h;
}

int obj_json_merge(struct render_ctx *r, const struct model *m, const char *col, int64_t id,
                   const json_t *patch, obj_values_check check, struct err *e)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s = $1", col, m->table, m->key);
    json_t *row = obj_row(r, m, sql, id);
    if (!row)
        return err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    json_t *cur = json_object_get(row, col);
    json_t *values = json_object();
    json_object_set_new(values, col, config_store_merge(json_is_object(cur) ? cur : NULL, patch));
    int rc = check ? check(r->db, values, e) : 0;
    char *text =
        rc ? NULL : json_dumps(json_object_get(values, col), JSON_COMPACT | JSON_SORT_KEYS);
    struct db_value p[] = { DB_INT(id), DB_TEXT(text) };
    snprintf(sql, sizeof(sql), "UPDATE %s SET %s = $2 WHERE %s = $1", m->table, col, m->key);
    if (rc == 0)
        rc = db_exec(r->db, sql, p, 2, NULL, e);
    free(text);
    json_decref(values);
    json_decref(row);
    return rc;
}

int obj_id_member(const struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value (*value)(struct render_ctx *r, int64_t id),
                  struct tpl_value *out)
{
    int64_t id;
    if (obj_arg_int(a, 0, NULL, &id))
        *out = value(r, id);
    else if (o->id)
        *out = tpl_int(o->id);
    else
        return TPL_DECLINED;
    return 0;
}
