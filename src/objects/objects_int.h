/*
 * objects_int.h — the machinery shared by the SHM object model files
 * (src/objects/obj_*.c; templates.md §7): one generic host object (struct
 * obj) whose kind supplies its methods and its row, the rights rule of
 * DECISIONS D11, and small helpers for arguments and values.
 *
 * An object holds no data: every access re-reads its row through the
 * render's connection (render_ctx.db, inside the caller's transaction), so a
 * template that writes (us.gen_store_pass, us.set_settings) and then reads
 * sees its own change. The render context is taken from the template call
 * (tpl_ctx_host), never stored in an object.
 *
 * Rights: a render acts as render_ctx.user_id; objects of other users are
 * reachable only when render_ctx.admin is set (obj_may_see). A denied or
 * missing object is undefined in the template ("gets nothing"), never an
 * error that would reveal its existence.
 */
#ifndef BILLD_OBJECTS_INT_H
#define BILLD_OBJECTS_INT_H

#include "render.h"
#include "../template/tpl.h"

struct obj;
struct db_result;
struct db_value;
struct model;

/* A method of an object kind. Same return convention as struct tpl_object_ops.call. */
typedef int (*obj_method_fn)(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                             struct tpl_value *out, struct err *e);

struct obj_method {
    const char *name;
    obj_method_fn fn;
};

/* One object family (user, us, service, wd, …). */
struct obj_kind {
    const char *type_name;            /* SHM's class name, printed for {{ obj }} */
    const struct obj_method *methods; /* terminated by { NULL, NULL } */
    /*
     * The object's row as a new JSON object, or NULL when there is none (or
     * the caller may not see it). May be NULL for objects without a row.
     */
    json_t *(*load)(struct render_ctx *r, const struct obj *o);
};

struct obj {
    const struct obj_kind *kind;
    int64_t id;      /* the row key; 0 = no row (a collection, a helper) */
    int64_t user_id; /* the user the object is scoped to */
    char *key;       /* a text key (owned, may be NULL) */
};

/* A new object value (returns owned). key is copied (may be NULL). */
struct tpl_value obj_new(const struct obj_kind *k, int64_t id, int64_t user_id, const char *key);
/* The render context of a template call. */
struct render_ctx *obj_ctx(struct tpl_ctx *cx);

/* D11: true when the render may reach the data of user_id. */
bool obj_may_see(const struct render_ctx *r, int64_t user_id);

/*
 * True for the renders that may do what SHM leaves to admins and to the
 * spool's own templates: an admin render or a spool task (the task's user
 * is the current user; obj_may_see still scopes the rows).
 */
bool obj_privileged(const struct render_ctx *r);
/*
 * The template error of a write a plain user's render may not do:
 * ERR_DENIED (403) "<member>: permission denied (admin only)", or "(admin
 * or task only)" when task_too. Returns ERR_DENIED.
 */
int obj_refuse(struct err *e, const char *member, bool task_too);

/* ---- writes ---- */

/*
 * Starts a write transaction when none is open (spool renders run outside
 * one), so a member that writes several rows is atomic; *own tells whether
 * it did. obj_tx_end commits it when rc is 0, else rolls it back, and
 * returns rc (or the commit error). Inside the caller's transaction both do
 * nothing.
 */
int obj_tx_begin(struct render_ctx *r, bool *own, struct err *e);
int obj_tx_end(struct render_ctx *r, bool own, int rc, struct err *e);

/* ---- rows ---- */

/*
 * The first row of sql with one integer parameter, converted with model m
 * (hidden fields included), or NULL when there is no row. Returns owned.
 */
json_t *obj_row(struct render_ctx *r, const struct model *m, const char *sql, int64_t id);
/* Every row of sql with params, converted with m, as a new array. */
json_t *obj_rows(struct render_ctx *r, const struct model *m, const char *sql,
                 const struct db_value *p, int np);
/* A JSON value as a template value; money and other numbers keep their printed form. */
struct tpl_value obj_from_json(const json_t *j);

/* ---- arguments ---- */

/* Integer argument: the positional one at i, else the key/value key (NULL = none). */
bool obj_arg_int(const struct tpl_args *a, size_t i, const char *key, int64_t *out);
/* String argument, as above; *out is owned (free). Numbers are printed. */
char *obj_arg_str(const struct tpl_args *a, size_t i, const char *key);
/* The settings an object keeps as JSON text in o->key (setup-style objects): a new object, {} when none. */
json_t *obj_key_json(const struct obj *o);
/* Every key/value argument (named, positional hashes, positional pairs) as a new object. */
json_t *obj_args_object(const struct tpl_args *a);
/* A template value as JSON (owned; undefined → NULL). */
json_t *obj_arg_json(const struct tpl_value *v);
/* The hash argument of f({…}) or f(key = v, …) as a new object, or NULL when none. */
json_t *obj_arg_hash(const struct tpl_args *a);

/* Checks (and may normalise) column values before obj_json_merge writes them. */
typedef int (*obj_values_check)(struct db *db, json_t *values, struct err *e);
/*
 * Deep-merges patch (config_store_merge) into the JSON column col of the
 * row id of m's table (col and m are code constants, never input), checks
 * the result with check (may be NULL) as {col: merged}, and stores it.
 * Returns 0, ERR_NOT_FOUND (404) or the check's error; nothing is written
 * on error.
 */
int obj_json_merge(struct render_ctx *r, const struct model *m, const char *col, int64_t id,
                   const json_t *patch, obj_values_check check, struct err *e);

/* ---- object kinds and top-level names, one file each ---- */

extern const struct obj_kind obj_user_kind, obj_user_services_kind, obj_user_pays_kind,
    obj_user_wd_kind, obj_user_bonus_kind, obj_us_kind, obj_service_kind, obj_wd_kind,
    obj_pay_kind, obj_bonus_kind, obj_server_kind, obj_config_kind, obj_storage_kind,
    obj_misc_kind, obj_task_kind, obj_spool_kind, obj_http_kind, obj_tpl_kind, obj_report_kind,
    obj_ssh_kind, obj_sg_kind, obj_servers_kind, obj_logger_kind,
    obj_mail_kind, obj_s3_kind, obj_promo_kind;

/* Binds the top-level names of each family into vars (a TPL_HASH). */
void obj_user_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_us_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_service_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_money_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_server_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_config_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_storage_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_misc_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_task_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_http_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_ssh_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_mail_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_s3_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_cache_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_currency_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_profile_bind(struct tpl_value *vars, struct render_ctx *r);
void obj_promo_bind(struct tpl_value *vars, struct render_ctx *r);
/* The filter-value functions (isNull, gt(v), …). */
void obj_filter_bind(struct tpl_value *vars, struct render_ctx *r);
/*
 * Appends " AND alias.col <op> $n" for every key of filter (an object built
 * from filter(...) arguments) to sql, binding values into p[*np..cap).
 * Columns must be fields of m. Returns 0 or ERR_INVALID with a message.
 */
struct buf;
int obj_filter_sql(const struct model *m, const char *alias, const json_t *filter,
                   struct buf *sql, struct db_value *p, int *np, int cap, struct err *e);
/* ---- table-backed collections (obj_coll.c, templates.md §7.0) ---- */

/* A per-user table: rows of `table alias` WHERE alias.user_id = the collection's user. */
struct obj_coll {
    const struct model *m;            /* columns, filterable fields, key (item ids) */
    const char *table, *alias;        /* code constants */
    const struct obj_kind *item_kind; /* the object items() returns per row */
};
/* The modifiers kept in o->key: a new {where, order[, limit, offset]}. */
json_t *obj_coll_mods(const struct obj *o);
/* obj_coll_mods plus items' where = {…}, limit and offset arguments. */
json_t *obj_coll_items_mods(const struct obj *o, const struct tpl_args *a);
/* filter(key = value, …), limit(n, offset), sort(col, …), rsort(col, …): modified copies. */
int obj_coll_filter(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e);
int obj_coll_limit(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e);
int obj_coll_sort(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e);
int obj_coll_rsort(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e);
/*
 * Runs sql (a SELECT … WHERE … over m's table as alias, with np ≤ 8 values p)
 * after appending mods' conditions, ORDER BY (default: m's key) and
 * LIMIT/OFFSET. Returns the rows (new array), or NULL with e set for a bad
 * filter or sort column.
 */
json_t *obj_coll_query(struct render_ctx *r, const struct model *m, const char *alias,
                       struct buf *sql, struct db_value *p, int np, const json_t *mods,
                       struct err *e);
/*
 * The rows of c for o's user under o's modifiers, plus items' where / limit /
 * offset arguments a (may be NULL): a new array, or NULL with e set.
 */
json_t *obj_coll_rows(struct obj *o, struct render_ctx *r, const struct obj_coll *c,
                      const struct tpl_args *a, struct err *e);
/* list_for_api: the rows of c for o's user under o's modifiers (a Perl list). */
int obj_coll_list(struct obj *o, struct render_ctx *r, const struct obj_coll *c,
                  struct tpl_value *out, struct err *e);
/* items(where = {…}, limit, offset): c->item_kind objects of those rows. */
int obj_coll_items(struct obj *o, struct render_ctx *r, const struct obj_coll *c,
                   const struct tpl_args *a, struct tpl_value *out, struct err *e);

/* `tpl` (the template being rendered, named name) and `report`. */
void obj_tpl_bind(struct tpl_value *vars, struct render_ctx *r, const char *name);

/* Helpers shared between families. */
/* The user service usi as an object value when visible, else undefined. */
struct tpl_value obj_us_value(struct render_ctx *r, int64_t usi);
/* The user object of user_id when visible, else undefined. */
struct tpl_value obj_user_value(struct render_ctx *r, int64_t user_id);
/* The spool rows of user_id (of user service usi when not 0) as a list, [] when not visible. */
struct tpl_value obj_spool_list(struct render_ctx *r, int64_t user_id, int64_t usi);
/* Deep-merges patch into the settings of user service usi. Returns 0 or an error. */
int obj_us_merge_settings(struct render_ctx *r, int64_t usi, const json_t *patch,
                          struct err *e);
/* misc members defined outside obj_misc.c, one file per concept (templates.md §7.14). */
int obj_misc_format_time_diff(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                              struct tpl_value *out, struct err *e); /* obj_misc_time.c */
int obj_misc_encrypt_aes256_gcm_base64(struct obj *o, struct render_ctx *r,
                                       const struct tpl_args *a, struct tpl_value *out,
                                       struct err *e); /* obj_crypto.c */
int obj_misc_sort_by_keys(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e); /* obj_misc_list.c */
int obj_misc_get_random_value(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                              struct tpl_value *out, struct err *e); /* obj_misc_list.c */
int obj_misc_qrencode(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e); /* obj_misc_qr.c */
int obj_misc_ip_rate_limit(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e); /* obj_ratelimit.c */
/* The Russian text of the time between Unix times target and now (owned; obj_misc_time.c). */
char *obj_format_time_diff(int64_t target, int64_t now);
/*
 * AES-256-GCM of len bytes pt with aad into out: iv(12) ‖ ciphertext(len) ‖
 * tag(16). Returns 0 or ERR_INTERNAL (obj_crypto.c).
 */
int obj_aes256gcm_seal(const unsigned char key[32], const unsigned char iv[12],
                       const unsigned char *aad, size_t aadlen, const unsigned char *pt,
                       size_t len, unsigned char *out);

/*
 * The generic `id` member (templates.md §7.0): id(N) is value(r, N) (the
 * object of the same kind when visible, else undefined), plain `id` the
 * object's key; declines for an unbound object.
 */
int obj_id_member(const struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value (*value)(struct render_ctx *r, int64_t id),
                  struct tpl_value *out);
/* Sets a top-level name to a host function without state. */
void obj_bind_func(struct tpl_value *vars, const char *name, tpl_func_fn fn);

#endif
