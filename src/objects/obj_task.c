/*
 * obj_task.c — `task` (the spool task being executed) and `spool`
 * (templates.md §7.15): task.id/token/attempt/event/settings/name, and
 * task.answer(status = SUCCESS|FAIL|STUCK, other keys…), which sets
 * render_ctx.answer for the Local transport (transports.md §4); spool.add
 * queues a task for the current user in the caller's transaction.
 */
#include "objects_int.h"

#include "../spool/spool.h"

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

static const struct obj_method spool_methods[] = {
    { "add", spool_add_m },
    { NULL, NULL },
};

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
