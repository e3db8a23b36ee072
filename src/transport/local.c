/*
 * local.c — the local transport (transports.md §4): renders a stored
 * template as the task's user with `us`, `task`, `server`, `event_name` and
 * the constants SUCCESS (1), FAIL (0) and STUCK (""); the outcome is what the
 * template passed to task.answer(status = …) — none means SUCCESS, an empty
 * status STUCK — and a render error is a FAIL. The response is
 * {result: <rendered text>, …answer keys}.
 */
#include "transport.h"

#include "../objects/render.h"
#include "../util/buf.h"

#include <strings.h>

/* Rendered output kept in the response (bytes). */
#define LOCAL_MAX_OUTPUT (1u << 20)

static const char *string_at(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* event.settings.template_id → task settings.template_id → server.settings.template_id. */
static const char *template_of(const struct spool_task *t)
{
    const char *id = string_at(json_object_get(t->event, "settings"), "template_id");
    if (!id)
        id = string_at(t->settings, "template_id");
    if (!id && t->server)
        id = string_at(json_object_get(t->server, "settings"), "template_id");
    return id;
}

/* The outcome a task.answer status names (1/"1"/true/"SUCCESS", 0/"0"/false/"FAIL", ""/null). */
static enum task_result answer_result(const json_t *answer)
{
    const json_t *st = json_object_get(answer, "status");
    if (!st)
        return TASK_SUCCESS;
    if (json_is_null(st))
        return TASK_STUCK;
    if (json_is_true(st))
        return TASK_SUCCESS;
    if (json_is_false(st))
        return TASK_FAIL;
    if (json_is_number(st))
        return json_number_value(st) != 0 ? TASK_SUCCESS : TASK_FAIL;
    const char *s = json_string_value(st);
    if (!s || !*s || !strcasecmp(s, "STUCK"))
        return TASK_STUCK;
    if (!strcmp(s, "0") || !strcasecmp(s, "FAIL"))
        return TASK_FAIL;
    if (!strcasecmp(s, "DELAYED"))
        return TASK_DELAYED;
    return TASK_SUCCESS;
}

static enum task_result send_task(const struct task_ctx *x, json_t **response)
{
    const struct spool_task *t = x->task;
    const char *id = template_of(t);
    if (!id) {
        *response = json_pack("{s:s}", "error", "Template not defined");
        return TASK_STUCK;
    }
    json_t *vars = json_pack("{s:i,s:i,s:s}", "SUCCESS", 1, "FAIL", 0, "STUCK", "");
    struct render_ctx r = { .db = x->db, .cfg = x->cfg, .user_id = t->user_id, .usi = t->usi,
                            .task = t, .vars = vars };
    struct buf out;
    struct err e = { 0 };
    buf_init(&out, LOCAL_MAX_OUTPUT);
    int rc = render_template(&r, id, &out, NULL, &e);
    enum task_result res;
    if (rc) {
        *response = json_pack("{s:s,s:s}", "error", e.msg, "template_id", id);
        res = TASK_FAIL;
    } else {
        *response = json_object();
        json_object_set_new(*response, "result", json_stringn(out.len ? out.data : "", out.len));
        if (json_is_object(r.answer))
            json_object_update(*response, r.answer);
        res = answer_result(r.answer);
        if (res == TASK_STUCK && !json_object_get(*response, "error"))
            json_object_set_new(*response, "error", json_string("task.answer: empty status"));
    }
    render_ctx_release(&r);
    buf_free(&out);
    json_decref(vars);
    return res;
}

const struct transport transport_local = { "local", send_task };
