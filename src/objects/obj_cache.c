/*
 * obj_cache.c — `cache` (templates.md §7.17), SHM's Redis cache over the
 * database (core/cache.c): one namespace shared by every template.
 *
 *   cache.get(key)                 the text stored, undefined when absent or expired
 *   cache.get_json(key)            the same decoded from JSON (undefined when it is not JSON)
 *   cache.set(key, value, ttl)     stores value for ttl seconds (default 3600, 0 = for ever);
 *                                  a hash or list is stored as canonical JSON; returns "OK"
 *   cache.set_json(…)              the same as set
 *   cache.increment(key, ttl)      adds one (from 0) and returns the new value; the expiry
 *                                  is reset to ttl seconds every time (absent or 0 = 3600)
 *   cache.delete(key), delete_json(key)   removes the key, returning its value (undefined
 *                                  when there was none)
 *
 * An empty key gives undefined, as in SHM; a negative ttl, a key over 255
 * bytes, a value over 1 MiB or incrementing a non-integer fails the render.
 */
#include "objects_int.h"

#include "../core/cache.h"
#include "../util/timeutil.h"

#define CACHE_TTL_DEFAULT 3600

/* The key argument (owned), or NULL when it is missing or empty. */
static char *key_arg(const struct tpl_args *a)
{
    char *k = obj_arg_str(a, 0, "key");
    if (k && !*k) {
        free(k);
        k = NULL;
    }
    return k;
}

static int ttl_check(int64_t ttl, struct err *e)
{
    if (ttl < 0 || ttl > (int64_t)1 << 40)
        return err_set(e, ERR_INVALID, "cache: ttl must be 0 (no expiry) or seconds");
    return 0;
}

/* Unix second of expiry for the ttl argument at i (absent: dflt; 0: never, returns 0). */
static int expires_arg(const struct tpl_args *a, size_t i, int64_t dflt, int64_t *expires,
                       struct err *e)
{
    int64_t ttl = dflt;
    obj_arg_int(a, i, "ttl", &ttl);
    *expires = ttl ? time_now() + ttl : 0;
    return ttl_check(ttl, e);
}

/* The value argument as the text stored: strings and numbers printed, structures as JSON. */
static char *value_text(const struct tpl_args *a)
{
    const struct tpl_value *v = tpl_args_kv(a, "value");
    if (!v)
        v = tpl_args_at(a, 1);
    if (v && (v->type == TPL_HASH || v->type == TPL_LIST)) {
        json_t *j = obj_arg_json(v);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        return s ? s : xstrdup("");
    }
    char *s = obj_arg_str(a, 1, "value");
    return s ? s : xstrdup("");
}

/* *out = the text, decoded from JSON when json (undefined when it is not JSON). */
static void put_value(struct tpl_value *out, const char *text, bool json)
{
    if (!json) {
        *out = tpl_cstr(text);
        return;
    }
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    *out = j ? obj_from_json(j) : tpl_undef();
    json_decref(j);
}

/* get (del false) or delete (del true) key; undefined when there was no live value. */
static int read_common(struct render_ctx *r, const struct tpl_args *a, bool del, bool json,
                       struct tpl_value *out, struct err *e)
{
    char *key = key_arg(a), *val = NULL;
    int rc = !key  ? ERR_NOT_FOUND
             : del ? cache_delete(r->db, key, time_now(), &val, e)
                   : cache_get(r->db, key, time_now(), &val, e);
    if (rc == 0)
        put_value(out, val, json);
    else if (rc == ERR_NOT_FOUND)
        *out = tpl_undef(), rc = 0;
    free(key), free(val);
    return rc;
}

static int m_set(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                 struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    char *key = key_arg(a);
    int64_t expires = 0;
    int rc = key ? expires_arg(a, 2, CACHE_TTL_DEFAULT, &expires, e) : 0;
    if (!key || rc) {
        free(key);
        *out = tpl_undef();
        return rc;
    }
    char *val = value_text(a);
    bool own;
    rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, cache_set(r->db, key, val, expires, time_now(), e), e);
    if (rc == 0)
        *out = tpl_cstr("OK");
    free(key), free(val);
    return rc;
}

static int m_increment(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    char *key = key_arg(a);
    int64_t ttl = 0, n = 0;
    obj_arg_int(a, 1, "ttl", &ttl); /* SHM: `shift || 3600`, so 0 is the default too */
    int rc = ttl_check(ttl, e);
    bool own;
    if (rc == 0 && key && (rc = obj_tx_begin(r, &own, e)) == 0) {
        int64_t expires = time_now() + (ttl ? ttl : CACHE_TTL_DEFAULT);
        rc = obj_tx_end(r, own, cache_incr(r->db, key, expires, time_now(), &n, e), e);
    }
    *out = rc == 0 && key ? tpl_int(n) : tpl_undef();
    free(key);
    return rc;
}

#define CACHE_FN(fname, call)                                                                 \
    static int fname(struct obj *o, struct render_ctx *r, const struct tpl_args *a,           \
                     struct tpl_value *out, struct err *e)                                    \
    {                                                                                         \
        UNUSED(o);                                                                            \
        return call;                                                                          \
    }
CACHE_FN(m_get, read_common(r, a, false, false, out, e))
CACHE_FN(m_get_json, read_common(r, a, false, true, out, e))
CACHE_FN(m_delete, read_common(r, a, true, false, out, e))
CACHE_FN(m_delete_json, read_common(r, a, true, true, out, e))

static const struct obj_method cache_methods[] = {
    { "get", m_get },           { "get_json", m_get_json },       { "set", m_set },
    { "set_json", m_set },      { "increment", m_increment },     { "delete", m_delete },
    { "delete_json", m_delete_json }, { NULL, NULL },
};

static const struct obj_kind obj_cache_kind = { "Core::System::Cache", cache_methods, NULL };

void obj_cache_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "cache", 5, obj_new(&obj_cache_kind, 0, r->user_id, NULL));
}
