/*
 * config_store.c — the config table: model, reads, deep merge and the
 * sub-key writes of the admin API (config_store.h).
 */
#include "config_store.h"
#include "../util/buf.h"

#define CONFIG_KEY_MAX 32

static const struct field config_fields[] = {
    { "key", FT_TEXT, FF_KEY | FF_REQUIRED, "ключ", CONFIG_KEY_MAX, NULL },
    { "value", FT_JSON, FF_REQUIRED, "значение", 0, NULL },
};

const struct model config_model = {
    .name = "Config",
    .table = "config",
    .key = "key",
    .fields = config_fields,
    .nfields = ARRAY_SIZE(config_fields),
};

/* Reads key's value, with a row lock on PostgreSQL when lock is set. */
static int read_value(struct db *db, const char *key, bool lock, json_t **out, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_TEXT(key) };
    char *sql = xasprintf("SELECT value FROM config WHERE key = $1%s",
                          lock ? db_sql_for_update(db) : "");
    int rc = db_query(db, sql, p, 1, &r, e);
    free(sql);
    if (rc)
        return rc;
    if (db_result_rows(r) < 1) {
        db_result_free(r);
        return err_set(e, ERR_NOT_FOUND, "config key %s not found", key);
    }
    *out = json_loadb(db_result_text(r, 0, 0), db_result_len(r, 0, 0), JSON_DECODE_ANY, NULL);
    db_result_free(r);
    if (!*out)
        return err_set(e, ERR_INTERNAL, "config key %s holds invalid JSON", key);
    return 0;
}

int config_store_get(struct db *db, const char *key, json_t **out, struct err *e)
{
    return read_value(db, key, false, out, e);
}

json_t *config_store_lookup(struct db *db, const char *key, const char *dotted_path)
{
    struct err e;
    json_t *root = NULL;
    if (config_store_get(db, key, &root, &e))
        return NULL;
    json_t *cur = root;
    char *path = xstrdup(dotted_path ? dotted_path : "");
    for (char *seg = path, *next; cur && seg && *seg; seg = next) {
        next = strchr(seg, '.');
        if (next)
            *next++ = '\0';
        cur = json_object_get(cur, seg);
    }
    free(path);
    json_incref(cur);
    json_decref(root);
    return cur;
}

bool config_store_key_protected(const char *key)
{
    return key && key[0] == '_';
}

int config_store_check_key(const char *key, struct err *e)
{
    size_t chars = 0;
    if (!key || !*key)
        return err_set(e, ERR_INVALID, "Field required: key");
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return err_set(e, ERR_INVALID, "Field key: must not contain control characters");
        if ((*p & 0xC0) != 0x80)
            chars++;
    }
    if (chars > CONFIG_KEY_MAX)
        return err_set(e, ERR_INVALID, "Field key: longer than %d characters", CONFIG_KEY_MAX);
    return 0;
}

/* Merges the object patch into the object dst in place (rules in config_store.h). */
static void merge_object(json_t *dst, json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(dst, k);
        } else if (json_is_object(v) && json_object_size(v) == 0) {
            json_object_set_new(dst, k, json_object());
        } else if (json_is_object(v)) {
            json_t *cur = json_object_get(dst, k);
            if (!json_is_object(cur)) {
                cur = json_object();
                json_object_set_new(dst, k, cur);
            }
            merge_object(cur, v);
        } else {
            json_object_set_new(dst, k, json_deep_copy(v));
        }
    }
}

json_t *config_store_merge(const json_t *base, const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(base) ? json_deep_copy(base) : json_object();
    merge_object(out, (json_t *)patch); /* only read: jansson's iterators take non-const */
    return out;
}

/* Stores value under the existing key. */
static int write_value(struct db *db, const char *key, const json_t *value, struct err *e)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    struct db_value p[] = { DB_TEXT(key), DB_TEXT(text) };
    int rc = db_exec(db, "UPDATE config SET value = $2 WHERE key = $1", p, 2, NULL, e);
    free(text);
    return rc;
}

/* read_value for an update: a missing key is the API's 404. */
static int read_for_update(struct db *db, const char *key, json_t **out, struct err *e)
{
    int rc = read_value(db, key, true, out, e);
    if (rc == ERR_NOT_FOUND)
        return err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    return rc;
}

int config_store_merge_into(struct db *db, const char *key, const json_t *patch, json_t **out,
                            struct err *e)
{
    json_t *cur = NULL;
    int rc = read_for_update(db, key, &cur, e);
    if (rc)
        return rc;
    json_t *merged = config_store_merge(cur, patch);
    json_decref(cur);
    rc = write_value(db, key, merged, e);
    if (rc) {
        json_decref(merged);
        return rc;
    }
    *out = merged;
    return 0;
}

int config_store_remove_subkey(struct db *db, const char *key, const char *sub, json_t **out,
                               struct err *e)
{
    json_t *cur = NULL;
    int rc = read_for_update(db, key, &cur, e);
    if (rc)
        return rc;
    if (!json_is_object(cur)) {
        json_decref(cur);
        return err_set_status(e, ERR_INVALID, 400, "The value of %.64s is not an object", key);
    }
    json_object_del(cur, sub);
    rc = write_value(db, key, cur, e);
    if (rc) {
        json_decref(cur);
        return rc;
    }
    *out = cur;
    return 0;
}

bool config_flag_on(const json_t *v)
{
    if (json_is_string(v))
        return json_string_length(v) && strcmp(json_string_value(v), "0") != 0;
    return json_is_true(v) || (json_is_number(v) && json_number_value(v) != 0);
}
