/*
 * api_config.c — configuration administration (other.md §2.3): list (R163),
 * create (R164), replace a value (R165), delete a key (R166), read one value
 * (R167), deep-merge a raw JSON body into a value (R168) and remove one
 * top-level sub-key (R169). All routes are admin routes, so the "keys
 * starting with _ only by admins" rule of R164 always holds; such keys are
 * never deleted (R166).
 */
#include "api.h"
#include "resource.h"
#include "../core/config_store.h"
#include "../db/sqlb.h"

/*
 * A new key must pass config_store_check_key(); a value must not become null
 * (the column is NOT NULL and SHM requires a value).
 */
static int config_before_write(struct api_ctx *c, json_t *values, json_t *key, bool create)
{
    struct err e = { 0 };
    json_t *v = json_object_get(values, "value");
    json_t *k = json_object_get(values, "key");
    if (create && !json_is_string(k))
        return api_fail(c, 400, "Field key: expected a string");
    if (create && config_store_check_key(json_string_value(k), &e))
        return api_fail(c, 400, "%s", e.msg);
    if (!create && v && json_is_null(v))
        return api_fail(c, 400, "Field required: value");
    UNUSED(key);
    return 0;
}

static const struct resource config_resource = {
    .m = &config_model,
    .before_write = config_before_write,
};

/* Wraps v (taken) in a one-element array, so an array value stays one element. */
static void set_value_data(struct api_ctx *c, json_t *v)
{
    json_t *arr = json_array();
    json_array_append_new(arr, v);
    api_set_data(c, arr);
}

/*
 * SHM's filter.value is always a LIKE on the whole JSON text, with or without
 * '%' (the generic machinery would read a plain string as "path present"):
 * it is taken out of the filter and compiled here. Other filter keys (key,
 * JSON paths of value) stay with the generic machinery.
 */
static void value_filter(struct api_ctx *c, struct sqlb *where)
{
    json_t *f = json_object_get(c->args, "filter");
    json_t *obj = json_is_string(f) ? json_loadb(json_string_value(f), json_string_length(f), 0, NULL)
                                    : json_deep_copy(f);
    json_t *v = json_object_get(obj, "value");
    if (!json_is_object(obj) || !json_is_string(v)) {
        json_decref(obj);
        return;
    }
    if (where->sql.len)
        sqlb_add(where, " AND ");
    sqlb_add(where, "CAST(value AS TEXT) %s ", db_sql_ilike(c->db));
    sqlb_text(where, json_string_value(v));
    json_object_del(obj, "value");
    json_object_set_new(c->args, "filter", obj);
}

static int api_config_list(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    const char *key = args_str(c->args, "key");
    if (key && *key) {
        sqlb_add(&where, "key = ");
        sqlb_text(&where, key);
    }
    value_filter(c, &where);
    int rc = resource_list(c, &config_resource, &where);
    sqlb_free(&where);
    return rc;
}

/* DELETE /admin/config?key=: a missing key is a 404, a system key a 400. */
static int api_config_delete(struct api_ctx *c)
{
    json_t *key = NULL, *row = NULL;
    int rc = resource_key(c, &config_resource, &key);
    if (rc == 0)
        rc = resource_read(c, &config_resource, key, &row);
    if (rc == 0 && config_store_key_protected(json_string_value(key)))
        rc = api_fail(c, 400, "Keys starting with _ can't be deleted");
    if (rc == 0)
        rc = resource_delete(c, &config_resource, key);
    json_decref(key);
    json_decref(row);
    if (rc == 0)
        api_set_data(c, json_array());
    return rc;
}

/* GET /admin/config/<key>: [value]; [{}] for a missing key, as SHM answers. */
static int api_config_get_value(struct api_ctx *c)
{
    json_t *v = NULL;
    int rc = config_store_get(c->db, args_str(c->args, "key"), &v, &c->err);
    if (rc == ERR_NOT_FOUND) {
        err_clear(&c->err);
        v = json_object();
    } else if (rc) {
        return rc;
    }
    set_value_data(c, v);
    return 0;
}

/* POST /admin/config/<key>: the raw body, a JSON object, deep-merged into the value. */
static int api_config_merge(struct api_ctx *c)
{
    json_t *body = json_object_get(c->args, "POSTDATA");
    json_t *patch = json_is_string(body) ? json_loadb(json_string_value(body),
                                                      json_string_length(body),
                                                      JSON_REJECT_DUPLICATES, NULL)
                                         : NULL;
    json_t *merged = NULL;
    if (!json_is_object(patch)) {
        json_decref(patch);
        return api_fail(c, 400, "The body must be a JSON object");
    }
    int rc = config_store_merge_into(c->db, args_str(c->args, "key"), patch, &merged, &c->err);
    json_decref(patch);
    if (rc == 0)
        set_value_data(c, merged);
    return rc;
}

/* DELETE /admin/config/<key>?value=<sub>: removes one top-level sub-key. */
static int api_config_remove_subkey(struct api_ctx *c)
{
    const char *sub = args_str(c->args, "value");
    json_t *v = NULL;
    if (!sub)
        return api_fail(c, 400, "Field value: expected a string");
    int rc = config_store_remove_subkey(c->db, args_str(c->args, "key"), sub, &v, &c->err);
    if (rc == 0)
        set_value_data(c, v);
    return rc;
}

#define PATH "/admin/config"
#define SPLAT "/admin/config/*"

static const struct route routes[] = {
    { .method = "GET", .path = PATH, .auth = AUTH_ADMIN, .handler = api_config_list,
      .tag = "config", .summary = "List config rows {key, value} (argument key; filter key, value)" },
    /* R163 */
    { .method = "PUT", .path = PATH, .auth = AUTH_ADMIN, .handler = api_resource_create,
      .tag = "config", .summary = "Create a config key {key, value}",
      .data = &config_resource }, /* R164 */
    { .method = "POST", .path = PATH, .auth = AUTH_ADMIN, .handler = api_resource_update,
      .tag = "config", .summary = "Replace the value of a config key",
      .data = &config_resource }, /* R165 */
    { .method = "DELETE", .path = PATH, .auth = AUTH_ADMIN, .required = "key",
      .handler = api_config_delete, .tag = "config",
      .summary = "Delete a config key (not keys starting with _)" }, /* R166 */
    { .method = "GET", .path = SPLAT, .auth = AUTH_ADMIN, .handler = api_config_get_value,
      .splat_to = "key", .tag = "config", .summary = "The value of a config key" }, /* R167 */
    { .method = "POST", .path = SPLAT, .auth = AUTH_ADMIN, .handler = api_config_merge,
      .flags = RF_RAW_BODY, .splat_to = "key", .tag = "config",
      .summary = "Deep-merge a JSON object body into the value of a config key" }, /* R168 */
    { .method = "DELETE", .path = SPLAT, .auth = AUTH_ADMIN, .required = "value",
      .handler = api_config_remove_subkey, .splat_to = "key", .tag = "config",
      .summary = "Remove one top-level sub-key (argument value) of a config value" }, /* R169 */
};

const struct route_table api_config_routes = ROUTE_TABLE(routes);
