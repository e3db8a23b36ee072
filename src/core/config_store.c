/*
 * config_store.c — reads of the config table (config_store.h).
 */
#include "config_store.h"

int config_store_get(struct db *db, const char *key, json_t **out, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_TEXT(key) };
    int rc = db_query(db, "SELECT value FROM config WHERE key = $1", p, 1, &r, e);
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
