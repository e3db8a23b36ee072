/*
 * obj_config.c — `config` (templates.md §7.16): every key of the config
 * store as `config.<key>.<field>`.
 *
 * What a render may read: system keys (starting with "_") never. Spool task
 * renders and admin renders see every other key as stored (their templates
 * are the operator's provisioning code, which may need API credentials).
 * Renders a client triggers (/template, /public) see values with secrets
 * removed: object members named token, secret, password, passwd, or ending
 * in _token, _secret, _password, _key, at any depth (D13's spirit: a client
 * never receives provider secrets).
 */
#include "objects_int.h"

#include "../db/db.h"

static bool secret_name(const char *k)
{
    static const char *const exact[] = { "token", "secret", "password", "passwd", "key" };
    static const char *const suffix[] = { "_token", "_secret", "_password", "_key", "_passwd" };
    size_t n = strlen(k);
    for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
        if (!strcmp(k, exact[i]))
            return true;
    for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
        size_t m = strlen(suffix[i]);
        if (n >= m && !strcmp(k + n - m, suffix[i]))
            return true;
    }
    return false;
}

/* Removes secret members from v in place (objects and arrays, any depth). */
static void redact(json_t *v, int depth)
{
    if (depth > 64)
        return;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x) {
            if (secret_name(k))
                json_object_del(v, k);
            else
                redact(x, depth + 1);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
            redact(x, depth + 1);
    }
}

static json_t *config_load(struct render_ctx *r, const struct obj *o)
{
    UNUSED(o);
    struct db_result *res = NULL;
    struct err e = { 0 };
    json_t *all = json_object();
    bool full = r->admin || r->task;
    if (db_query(r->db, "SELECT key, value FROM config ORDER BY key", NULL, 0, &res, &e) == 0)
        for (int i = 0; i < db_result_rows(res); i++) {
            const char *k = db_result_text(res, i, 0), *v = db_result_text(res, i, 1);
            if (!k || k[0] == '_' || !v)
                continue;
            json_t *jv = json_loads(v, JSON_DECODE_ANY, NULL);
            if (!jv)
                continue;
            if (!full)
                redact(jv, 0);
            json_object_set_new(all, k, jv);
        }
    db_result_free(res);
    return all;
}

static const struct obj_method config_methods[] = {
    { NULL, NULL },
};

const struct obj_kind obj_config_kind = { "Core::Config", config_methods, config_load };

void obj_config_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "config", 6, obj_new(&obj_config_kind, 0, r->user_id, NULL));
}
