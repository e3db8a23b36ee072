/*
 * obj_task.c — `task` (the spool task being executed) and `spool`
 * (templates.md §7.15): task.id/token/attempt/event/settings/name, and
 * task.answer(status = SUCCESS|FAIL|STUCK, other keys…), which sets
 * render_ctx.answer for the Local transport (transports.md §4); spool.add
 * queues a task for the current user in the caller's transaction;
 * spool.id(N), spool.list_for_api, user.spool and us.spool read the
 * user's own tasks (D11). In a task, spool.status / event / settings read
 * the running task's row. spool.delete(N) / spool.id(N).delete and
 * spool.history.clean(days = 30) are for admin renders and tasks only.
 */
#include "objects_int.h"

#include "../db/model.h"
#include "../spool/spool.h"
#include "../util/timeutil.h"

/* The task as the template sees it. */
static json_t *task_load(struct render_ctx *r, const struct obj *o)
{
    UNUSED(o);
    const struct spool_task *t = r->task;
    if (!t)
        return NULL;
    json_t *v = json_pack("{s:I,s:I,s:I,s:i,s:s,s:s}", "id", (json_int_t)t->id, "user_id",
                          (json_int_t)t->user_id, "server_id", (json_int_t)t->server_id,
                          "attempt", t->attempt, "token", t->token ? t->token : "", "name",
                          t->name ? t->name : "");
    json_object_set_new(v, "event", t->event ? json_deep_copy(t->event) : json_object());
    json_object_set_new(v, "settings", t->settings ? json_deep_copy(t->settings) : json_object());
    if (t->usi)
        json_object_set_new(v, "user_service_id", json_integer(t->usi));
    return v;
}

/*
 * task.answer(...): the keys given (later calls add to and override earlier
 * ones). An undefined status is stored as "" (STUCK, transports.md §4).
 */
static int task_answer(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(out);
    UNUSED(e);
    if (!r->answer)
        r->answer = json_object();
    json_t *kv = obj_args_object(a);
    json_t *st = json_object_get(kv, "status");
    if (st && json_is_null(st))
        json_object_set_new(kv, "status", json_string(""));
    else if (!st && (tpl_args_kv(a, "status") || (a->named && tpl_hash_get(a->named, "status", 6))))
        json_object_set_new(kv, "status", json_string(""));
    json_object_update(r->answer, kv);
    json_decref(kv);
    return 0;
}

static const struct obj_method task_methods[] = {
    { "answer", task_answer },
    { NULL, NULL },
};

const struct obj_kind obj_task_kind = { "Core::Task", task_methods, task_load };

/*
 * spool.add(event = {…}, settings = {…}, prio = N, delayed = S): a task for
 * the current user. Inside a task the new one inherits event.task_id.
 * Returns the new task id.
 */
static int spool_add_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    if (!r->user_id)
        return err_set(e, ERR_DENIED, "spool.add: no current user");
    json_t *event = obj_arg_json(tpl_args_kv(a, "event"));
    json_t *settings = obj_arg_json(tpl_args_kv(a, "settings"));
    if (!json_is_object(event)) {
        json_decref(event);
        event = json_object();
    }
    if (!json_is_object(settings)) {
        json_decref(settings);
        settings = json_object();
    }
    if (r->task && !json_object_get(event, "task_id"))
        json_object_set_new(event, "task_id", json_integer(r->task->id));
    int64_t prio = 0, delayed = 0, usi = 0;
    obj_arg_int(a, (size_t)-1, "prio", &prio);
    obj_arg_int(a, (size_t)-1, "delayed", &delayed);
    json_t *jusi = json_object_get(settings, "user_service_id");
    if (json_is_integer(jusi))
        usi = json_integer_value(jusi);
    struct spool_new t = { .user_id = r->user_id, .usi = usi, .event = event,
                           .settings = settings, .prio = (int)prio, .delayed = delayed };
    int64_t id = 0;
    int rc = spool_add(r->db, &t, &id, e);
    json_decref(event);
    json_decref(settings);
    if (rc)
        return rc;
    *out = tpl_int(id);
    return 0;
}

static int spool_id_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e);
static int spool_list_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e);

static int spool_status_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e);
static int spool_event_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e);
static int spool_settings_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                            struct tpl_value *out, struct err *e);
static int spool_delete_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e);
static int spool_history_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e);

static const struct obj_method spool_methods[] = {
    { "add", spool_add_m },
    { "id", spool_id_m },
    { "list_for_api", spool_list_m },
    { "items", spool_list_m },
    { "status", spool_status_m },
    { "event", spool_event_m },
    { "settings", spool_settings_m },
    { "delete", spool_delete_m },
    { "history", spool_history_m },
    { NULL, NULL },
};

/* ---- spool rows: spool.id(N), spool.list_for_api, user.spool, us.spool ---- */

static const struct field spool_fields[] = {
    { "id", FT_INT, FF_KEY, NULL, 0, NULL },
    { "user_id", FT_INT, 0, NULL, 0, NULL },
    { "user_service_id", FT_INT, 0, NULL, 0, NULL },
    { "event", FT_JSON, 0, NULL, 0, NULL },
    { "prio", FT_INT, 0, NULL, 0, NULL },
    { "status", FT_TEXT, 0, NULL, 0, NULL },
    { "created", FT_DATE, 0, NULL, 0, NULL },
    { "executed", FT_DATE, 0, NULL, 0, NULL },
    { "delayed", FT_INT, 0, NULL, 0, NULL },
    { "settings", FT_JSON, 0, NULL, 0, NULL },
    { "response", FT_JSON, 0, NULL, 0, NULL },
};

/* How templates see spool rows (the columns of data-model.md's spool table). */
static const struct model spool_row_model = {
    "SpoolTask", "spool", "id", spool_fields, ARRAY_SIZE(spool_fields),
};

#define SPOOL_COLS "id, user_id, user_service_id, event, prio, status, created, executed, " \
                   "delayed, settings, response"

static json_t *spool_row_load(struct render_ctx *r, const struct obj *o)
{
    json_t *row = obj_row(r, &spool_row_model, "SELECT " SPOOL_COLS " FROM spool WHERE id = $1",
                          o->id);
    if (row && !obj_may_see(r, json_integer_value(json_object_get(row, "user_id")))) {
        json_decref(row);
        row = NULL;
    }
    return row;
}

/*
 * Deletes task id when the render may (admin or task) and sees it; the
 * running task cannot delete itself. Answers 1; undefined for a task the
 * render cannot see.
 */
static int delete_task(struct render_ctx *r, int64_t id, struct tpl_value *out, struct err *e)
{
    if (!obj_privileged(r))
        return obj_refuse(e, "spool.delete", true);
    struct obj probe = { .id = id };
    json_t *row = spool_row_load(r, &probe);
    if (!row)
        return TPL_DECLINED;
    json_decref(row);
    if (r->task && r->task->id == id)
        return err_set(e, ERR_INVALID, "spool.delete: the running task cannot delete itself");
    bool own;
    int rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, spool_delete(r->db, id, e), e);
    if (rc == 0)
        *out = tpl_int(1);
    return rc;
}

static int row_delete_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    return delete_task(r, o->id, out, e);
}

static const struct obj_method spool_row_methods[] = {
    { "delete", row_delete_m },
    { NULL, NULL },
};

static const struct obj_kind spool_row_kind = { "Core::Spool", spool_row_methods,
                                                spool_row_load };

/* The tasks of user_id (of usi when not 0) in id order, as a new array. */
static json_t *spool_rows(struct render_ctx *r, int64_t user_id, int64_t usi)
{
    struct db_value p[] = { DB_INT(user_id), DB_INT(usi) };
    return obj_rows(r, &spool_row_model,
                    usi ? "SELECT " SPOOL_COLS " FROM spool WHERE user_id = $1 AND "
                          "user_service_id = $2 ORDER BY id"
                        : "SELECT " SPOOL_COLS " FROM spool WHERE user_id = $1 ORDER BY id",
                    p, usi ? 2 : 1);
}

struct tpl_value obj_spool_list(struct render_ctx *r, int64_t user_id, int64_t usi)
{
    if (!obj_may_see(r, user_id))
        return tpl_list_new();
    json_t *rows = spool_rows(r, user_id, usi);
    struct tpl_value v = obj_from_json(rows);
    json_decref(rows);
    return v;
}

static int spool_id_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(e);
    int64_t id;
    if (!obj_arg_int(a, 0, NULL, &id))
        return TPL_DECLINED;
    struct obj probe = { .kind = &spool_row_kind, .id = id };
    json_t *row = spool_row_load(r, &probe);
    *out = row ? obj_new(&spool_row_kind, id, r->user_id, NULL) : tpl_undef();
    json_decref(row);
    return 0;
}

static int spool_list_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    UNUSED(e);
    *out = obj_spool_list(r, r->user_id, 0);
    return 0;
}

/* spool.delete(N) / spool.delete(id = N). */
static int spool_delete_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    int64_t id = 0;
    if (!obj_arg_int(a, 0, "id", &id) || id <= 0)
        return err_set(e, ERR_INVALID, "spool.delete: which task? spool.delete(id)");
    return delete_task(r, id, out, e);
}

/* A column of the running task's row (spool.status, spool.event, spool.settings). */
static int current_col(struct render_ctx *r, const char *col, struct tpl_value *out)
{
    struct obj probe = { .id = r->task ? r->task->id : 0 };
    json_t *row = probe.id ? spool_row_load(r, &probe) : NULL;
    if (!row)
        return TPL_DECLINED;
    *out = obj_from_json(json_object_get(row, col));
    json_decref(row);
    return 0;
}

static int spool_status_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    UNUSED(e);
    return current_col(r, "status", out);
}

static int spool_event_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    UNUSED(e);
    return current_col(r, "event", out);
}

static int spool_settings_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                            struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    UNUSED(e);
    return current_col(r, "settings", out);
}

/* ---- spool.history ---- */

#define HISTORY_DAYS_MAX 36500

/*
 * spool.history.clean(days = 30): deletes the execution history (and console
 * logs) older than days, of every user; admin renders and tasks only.
 * days <= 0 deletes nothing. Answers the number of history rows deleted.
 */
static int history_clean_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    int64_t days = 30, n = 0;
    if (!obj_privileged(r))
        return obj_refuse(e, "spool.history.clean", true);
    obj_arg_int(a, 0, "days", &days);
    if (days > HISTORY_DAYS_MAX)
        return err_set(e, ERR_INVALID, "spool.history.clean: days must be at most %d",
                       HISTORY_DAYS_MAX);
    bool own;
    int rc = days > 0 ? obj_tx_begin(r, &own, e) : 0;
    if (rc == 0 && days > 0)
        rc = obj_tx_end(r, own, spool_history_clean(r->db, time_now() - days * 86400, &n, NULL, e),
                        e);
    if (rc == 0)
        *out = tpl_int(n);
    return rc;
}

static const struct obj_method history_methods[] = {
    { "clean", history_clean_m },
    { NULL, NULL },
};

static const struct obj_kind spool_history_kind = { "Core::SpoolHistory", history_methods, NULL };

static int spool_history_m(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(a);
    UNUSED(e);
    *out = obj_new(&spool_history_kind, 0, r->user_id, NULL);
    return 0;
}

const struct obj_kind obj_spool_kind = { "Core::Spool", spool_methods, NULL };

void obj_task_bind(struct tpl_value *vars, struct render_ctx *r)
{
    if (r->task)
        tpl_hash_set(vars, "task", 4, obj_new(&obj_task_kind, r->task->id, r->user_id, NULL));
    tpl_hash_set(vars, "spool", 5, obj_new(&obj_spool_kind, 0, r->user_id, NULL));
    tpl_hash_set(vars, "SUCCESS", 7, tpl_int(1));
    tpl_hash_set(vars, "FAIL", 4, tpl_int(0));
    tpl_hash_set(vars, "STUCK", 5, tpl_cstr(""));
}
