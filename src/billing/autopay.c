/*
 * autopay.c — lists and deletes the saved recurring payment methods of a
 * user (billing.md §21): users.settings.pay_systems.<ps> entries with a
 * payment_id whose config pay_systems.<ps>.allow_recurring is on.
 */
#include "autopay.h"

#include "../core/config_store.h"
#include "../core/user.h"

json_t *autopay_saved(struct db *db, const json_t *settings)
{
    json_t *conf = config_store_lookup(db, "pay_systems", NULL);
    json_t *saved = json_object_get(settings, "pay_systems");
    json_t *out = json_object();
    const char *k;
    json_t *m;
    json_object_foreach(json_is_object(saved) ? saved : NULL, k, m) {
        json_t *allow = json_object_get(json_object_get(conf, k), "allow_recurring");
        if (config_flag_on(allow) && json_object_get(m, "payment_id"))
            json_object_set(out, k, m);
    }
    json_decref(conf);
    return out;
}

/* users.settings of user_id (new reference) through *out. */
static int settings_of(struct db *db, int64_t user_id, json_t **out, struct err *e)
{
    json_t *row = NULL;
    int rc = user_read(db, user_id, true, &row, e);
    if (rc)
        return rc;
    *out = json_deep_copy(json_object_get(row, "settings"));
    if (!*out)
        *out = json_object();
    json_decref(row);
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int autopay_list(struct db *db, int64_t user_id, json_t **out, struct err *e)
{
    json_t *settings = NULL;
    int rc = settings_of(db, user_id, &settings, e);
    if (rc)
        return rc;
    json_t *m = autopay_saved(db, settings);
    json_t *conf = config_store_lookup(db, "pay_systems", NULL);
    const char **keys = xcalloc(json_object_size(m) + 1, sizeof(*keys));
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
        keys[n++] = k;
    qsort(keys, n, sizeof(*keys), cmp_key); /* PostgreSQL's jsonb reorders the keys */
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *name = json_object_get(json_object_get(conf, keys[i]), "name");
        json_array_append_new(list, json_pack("{s:s,s:o}", "pay_system", keys[i], "name",
                                              json_is_string(name) ? json_incref(name)
                                                                   : json_string(keys[i])));
    }
    free(keys);
    json_decref(conf);
    json_decref(m);
    json_decref(settings);
    *out = list;
    return 0;
}

/* Stores settings as users.settings of user_id, in a transaction of its own if none is open. */
static int store_settings(struct db *db, int64_t user_id, json_t *settings, struct err *e)
{
    bool own = !db_in_tx(db);
    int rc = own ? db_begin(db, true, e) : 0;
    json_t *fields = json_pack("{s:O}", "settings", settings);
    if (rc == 0)
        rc = user_update(db, user_id, fields, true, e);
    json_decref(fields);
    if (!own)
        return rc;
    if (rc == 0)
        return db_commit(db, e);
    db_rollback(db);
    return rc;
}

int autopay_delete(struct db *db, int64_t user_id, const char *ps, int64_t *removed,
                   struct err *e)
{
    json_t *settings = NULL;
    int rc = settings_of(db, user_id, &settings, e);
    if (rc)
        return rc;
    json_t *m = autopay_saved(db, settings);
    json_t *saved = json_object_get(settings, "pay_systems");
    int64_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
        if (!ps || !strcmp(ps, k))
            n += json_object_del(saved, k) == 0;
    if (n > 0)
        rc = store_settings(db, user_id, settings, e);
    if (rc == 0 && removed)
        *removed = n;
    json_decref(m);
    json_decref(settings);
    return rc;
}
