/*
 * obj_storage.c — `storage` (templates.md §7.8), always bound to the
 * current user's namespace (src/core/storage.c): save(name, data) (create or
 * replace; hashes and lists are stored as JSON), load(name) (the raw text),
 * read(name = …) (JSON entries decoded), del(name) / delete(name), and
 * list_for_api (names and dates). Anonymous renders have no storage.
 */
#include "objects_int.h"

#include "../core/storage.h"
#include "../db/db.h"
#include "../util/timeutil.h"

static int need_user(struct render_ctx *r, struct err *e)
{
    return r->user_id ? 0 : err_set(e, ERR_DENIED, "storage: no current user");
}

/* save(name, data): data as text, or as JSON when it is a hash or list. */
static int m_save(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    if (need_user(r, e))
        return ERR_DENIED;
    char *name = obj_arg_str(a, 0, "name");
    const struct tpl_value *data = tpl_args_at(a, 1);
    if (!data)
        data = tpl_args_kv(a, "data");
    int rc = name ? storage_check_name(name, e) : err_set(e, ERR_INVALID, "storage.save: no name");
    char *text = NULL;
    bool json = data && (data->type == TPL_HASH || data->type == TPL_LIST);
    if (rc == 0 && json) {
        json_t *j = obj_arg_json(data);
        text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        json_decref(j);
    } else if (rc == 0) {
        text = obj_arg_str(a, 1, "data");
    }
    if (rc == 0) {
        struct storage_write w = { .user_id = r->user_id, .name = name, .data = text,
                                   .len = text ? strlen(text) : 0, .has_data = true,
                                   .json = json };
        bool own;
        rc = obj_tx_begin(r, &own, e);
        if (rc == 0) {
            int wrc = storage_replace(r->db, &w, e);
            if (wrc == ERR_NOT_FOUND)
                wrc = storage_create(r->db, &w, time_now(), e);
            rc = obj_tx_end(r, own, wrc, e);
        }
    }
    if (rc == 0)
        *out = tpl_cstr(text ? text : "");
    free(text);
    free(name);
    return rc;
}

/* The entry name of user; 0 with *it filled, TPL_DECLINED when absent. */
static int read_entry(struct render_ctx *r, const struct tpl_args *a, struct storage_item *it,
                      struct err *e)
{
    if (need_user(r, e))
        return ERR_DENIED;
    char *name = obj_arg_str(a, 0, "name");
    int rc = name ? storage_read(r->db, r->user_id, name, it, e) : ERR_NOT_FOUND;
    free(name);
    if (rc == ERR_NOT_FOUND) {
        err_clear(e);
        return TPL_DECLINED;
    }
    return rc;
}

static int m_load(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    struct storage_item it = { 0 };
    int rc = read_entry(r, a, &it, e);
    if (rc == 0)
        *out = tpl_str(it.data, it.len);
    storage_item_release(&it);
    return rc;
}

static int m_read(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    struct storage_item it = { 0 };
    int rc = read_entry(r, a, &it, e);
    if (rc == 0) {
        json_t *j = it.json ? json_loadb(it.data, it.len, JSON_DECODE_ANY, NULL) : NULL;
        *out = j ? obj_from_json(j) : tpl_str(it.data, it.len);
        json_decref(j);
    }
    storage_item_release(&it);
    return rc;
}

static int m_del(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                 struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    if (need_user(r, e))
        return ERR_DENIED;
    char *name = obj_arg_str(a, 0, "name");
    int rc = name ? storage_delete(r->db, r->user_id, name, e) : ERR_NOT_FOUND;
    free(name);
    if (rc == ERR_NOT_FOUND) {
        err_clear(e);
        *out = tpl_int(0);
        return 0;
    }
    if (rc == 0)
        *out = tpl_int(1);
    return rc;
}

static int m_list(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    if (need_user(r, e))
        return ERR_DENIED;
    struct db_value p[] = { DB_INT(r->user_id) };
    json_t *rows = obj_rows(r, &storage_model,
                            "SELECT name, user_service_id, created, settings FROM storage "
                            "WHERE user_id = $1 ORDER BY name", p, 1);
    *out = tpl_value_perl_list(obj_from_json(rows));
    json_decref(rows);
    return 0;
}

static const struct obj_method storage_methods[] = {
    { "save", m_save },
    { "add", m_save },
    { "replace", m_save },
    { "load", m_load },
    { "read", m_read },
    { "del", m_del },
    { "delete", m_del },
    { "list_for_api", m_list },
    { NULL, NULL },
};

const struct obj_kind obj_storage_kind = { "Core::Storage", storage_methods, NULL };

void obj_storage_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "storage", 7, obj_new(&obj_storage_kind, 0, r->user_id, NULL));
}
