/*
 * obj_coll.c — the modifiers every table-backed collection of the object
 * model shares (templates.md §7.0): filter(key = value, …), limit(n,
 * offset), sort(col, …) / rsort(col, …), items(where = {…}, limit, offset)
 * and list_for_api, and the SQL they add to a collection's query.
 *
 * A collection object keeps its modifiers as JSON text in o->key:
 * {where: {…filter…}, order: [[col, "asc"|"desc"], …], limit, offset}.
 * Each modifier returns a modified copy, so `c.filter(…)` never changes c.
 * Columns are checked against the collection's model (the whitelist, D26);
 * values are bound (obj_filter_sql).
 */
#include "objects_int.h"

#include "../db/model.h"
#include "../util/buf.h"

/* Values one filter(...) may bind. */
#define FILTER_MAX_VALUES 64
/* Largest limit a collection accepts. */
#define COLL_LIMIT_MAX 100000

json_t *obj_coll_mods(const struct obj *o)
{
    json_t *f = o->key ? json_loads(o->key, 0, NULL) : NULL;
    if (!json_is_object(f)) {
        json_decref(f);
        f = json_object();
    }
    if (!json_is_object(json_object_get(f, "where")))
        json_object_set_new(f, "where", json_object());
    if (!json_is_array(json_object_get(f, "order")))
        json_object_set_new(f, "order", json_array());
    return f;
}

/* A copy of collection o with modifiers mods (borrowed). */
static struct tpl_value with_mods(const struct obj *o, const json_t *mods)
{
    char *key = json_dumps(mods, JSON_COMPACT | JSON_SORT_KEYS);
    struct tpl_value v = obj_new(o->kind, o->id, o->user_id, key);
    free(key);
    return v;
}

int obj_coll_filter(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(r);
    UNUSED(e);
    json_t *m = obj_coll_mods(o);
    json_t *add = obj_args_object(a);
    json_object_update(json_object_get(m, "where"), add);
    *out = with_mods(o, m);
    json_decref(add);
    json_decref(m);
    return 0;
}

int obj_coll_limit(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(r);
    UNUSED(e);
    json_t *m = obj_coll_mods(o);
    int64_t n = 0, off = 0;
    if (obj_arg_int(a, 0, "limit", &n) && n >= 0)
        json_object_set_new(m, "limit", json_integer(n > COLL_LIMIT_MAX ? COLL_LIMIT_MAX : n));
    if (obj_arg_int(a, 1, "offset", &off) && off >= 0)
        json_object_set_new(m, "offset", json_integer(off));
    *out = with_mods(o, m);
    json_decref(m);
    return 0;
}

/* sort / rsort: a copy ordered by those columns (checked when listed). */
static int sort_by(struct obj *o, const struct tpl_args *a, const char *dir,
                   struct tpl_value *out)
{
    json_t *m = obj_coll_mods(o);
    json_t *order = json_object_get(m, "order");
    json_array_clear(order);
    for (size_t i = 0; i < a->npos; i++) {
        char *col = obj_arg_str(a, i, NULL);
        if (col)
            json_array_append_new(order, json_pack("[s,s]", col, dir));
        free(col);
    }
    *out = with_mods(o, m);
    json_decref(m);
    return 0;
}

int obj_coll_sort(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(r);
    UNUSED(e);
    return sort_by(o, a, "asc", out);
}

int obj_coll_rsort(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(r);
    UNUSED(e);
    return sort_by(o, a, "desc", out);
}

json_t *obj_coll_items_mods(const struct obj *o, const struct tpl_args *a)
{
    json_t *mods = obj_coll_mods(o);
    json_t *where = obj_arg_json(tpl_args_kv(a, "where"));
    if (json_is_object(where))
        json_object_update(json_object_get(mods, "where"), where);
    json_decref(where);
    int64_t n;
    if (obj_arg_int(a, (size_t)-1, "limit", &n) && n >= 0)
        json_object_set_new(mods, "limit", json_integer(n > COLL_LIMIT_MAX ? COLL_LIMIT_MAX : n));
    if (obj_arg_int(a, (size_t)-1, "offset", &n) && n >= 0)
        json_object_set_new(mods, "offset", json_integer(n));
    return mods;
}

/* ORDER BY (default: the key ascending) and LIMIT/OFFSET of mods. */
static int order_and_limit(const struct model *m, const char *alias, const json_t *mods,
                           struct buf *sql, struct err *e)
{
    json_t *order = json_object_get(mods, "order");
    size_t i;
    json_t *it;
    buf_puts(sql, " ORDER BY ");
    json_array_foreach(order, i, it) {
        const char *col = json_string_value(json_array_get(it, 0));
        const struct field *f = col ? model_field(m, col) : NULL;
        if (!f || (f->flags & FF_NOFILTER))
            return err_set(e, ERR_INVALID, "sort: unknown field %s", col ? col : "");
        const char *dir = json_string_value(json_array_get(it, 1));
        bool desc = dir && !strcmp(dir, "desc");
        /* NULLs first ascending, last descending on both engines (as MySQL does) */
        buf_printf(sql, "(%s.%s IS NULL) %s, %s.%s%s, ", alias, f->name, desc ? "ASC" : "DESC",
                   alias, f->name, desc ? " DESC" : "");
    }
    buf_printf(sql, "%s.%s", alias, m->key);
    int64_t limit = json_integer_value(json_object_get(mods, "limit"));
    int64_t offset = json_integer_value(json_object_get(mods, "offset"));
    if (limit > 0)
        buf_printf(sql, " LIMIT %lld", (long long)limit);
    if (offset > 0)
        buf_printf(sql, "%s OFFSET %lld", limit > 0 ? "" : " LIMIT 1000000000",
                   (long long)offset); /* SQLite needs a LIMIT before OFFSET */
    return 0;
}

json_t *obj_coll_query(struct render_ctx *r, const struct model *m, const char *alias,
                       struct buf *sql, struct db_value *p, int np, const json_t *mods,
                       struct err *e)
{
    struct db_value all[8 + FILTER_MAX_VALUES];
    if (np > 8)
        return err_set(e, ERR_INTERNAL, "collection: too many base values"), NULL;
    memcpy(all, p, sizeof(*p) * (size_t)np);
    json_t *where = json_object_get(mods, "where");
    if ((where && obj_filter_sql(m, alias, where, sql, all, &np, (int)ARRAY_SIZE(all), e)) ||
        order_and_limit(m, alias, mods, sql, e))
        return NULL;
    return obj_rows(r, m, sql->data, all, np);
}

json_t *obj_coll_rows(struct obj *o, struct render_ctx *r, const struct obj_coll *c,
                      const struct tpl_args *a, struct err *e)
{
    json_t *mods = a ? obj_coll_items_mods(o, a) : obj_coll_mods(o);
    struct buf sql;
    buf_init(&sql, 0);
    buf_printf(&sql, "SELECT %s.* FROM %s %s WHERE %s.user_id = $1", c->alias, c->table,
               c->alias, c->alias);
    struct db_value p[] = { DB_INT(o->user_id) };
    json_t *rows = obj_coll_query(r, c->m, c->alias, &sql, p, 1, mods, e);
    buf_free(&sql);
    json_decref(mods);
    return rows;
}

int obj_coll_list(struct obj *o, struct render_ctx *r, const struct obj_coll *c,
                  struct tpl_value *out, struct err *e)
{
    json_t *rows = obj_coll_rows(o, r, c, NULL, e);
    if (!rows)
        return ERR_INVALID;
    *out = tpl_value_perl_list(obj_from_json(rows));
    json_decref(rows);
    return 0;
}

int obj_coll_items(struct obj *o, struct render_ctx *r, const struct obj_coll *c,
                   const struct tpl_args *a, struct tpl_value *out, struct err *e)
{
    json_t *rows = obj_coll_rows(o, r, c, a, e);
    if (!rows)
        return ERR_INVALID;
    *out = tpl_list_new();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        tpl_list_push(out, obj_new(c->item_kind,
                                   json_integer_value(json_object_get(row, c->m->key)),
                                   o->user_id, NULL));
    json_decref(rows);
    return 0;
}
