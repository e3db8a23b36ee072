/*
 * api_spool.c — the spool admin routes (api.md R141–R147, spool.md §6.3,
 * §10): list, create, edit and delete tasks, counts per status, the
 * execution history and the manual actions. Rows are shown in SHM's shape
 * (the bookkeeping columns of migration 0007 stay internal, except token,
 * attempt and node in the history). GET /admin/user/service/spool (R124)
 * lives in api_user_service.c.
 */
#include "api.h"
#include "resource.h"
#include "../spool/spool.h"
#include "../util/buf.h"

#define SPOOL_STATUSES "NEW|SUCCESS|FAIL|DELAYED|STUCK|PAUSED"

static const struct field spool_fields[] = {
    { "id", FT_INT, FF_KEY, "id задачи" },
    { "user_id", FT_INT, 0, "id пользователя" },
    { "user_service_id", FT_INT, 0, "не используется (usi в settings)" },
    { "response", FT_JSON, 0, "результат" },
    { "event", FT_JSON, FF_REQUIRED, "копия события" },
    { "prio", FT_INT, 0, "приоритет" },
    { "status", FT_TEXT, 0, "статус", 8, SPOOL_STATUSES },
    { "created", FT_DATE, 0, "создана" },
    { "executed", FT_DATE, 0, "выполнена" },
    { "delayed", FT_INT, FF_NONNEG, "задержка, с" },
    { "settings", FT_JSON, 0, "настройки задачи" },
};

static const struct model spool_model = { "SpoolTask", "spool", "id", spool_fields,
                                          ARRAY_SIZE(spool_fields) };

static const struct field history_fields[] = {
    { "id", FT_INT, FF_KEY, "id" },
    { "spool_id", FT_INT, 0, "id задачи" },
    { "user_id", FT_INT, 0, "id пользователя" },
    { "user_service_id", FT_INT, 0, "не используется" },
    { "response", FT_JSON, 0, "результат, response.spool = {node, pid, started, finished, duration}" },
    { "event", FT_JSON, 0, "копия события" },
    { "prio", FT_INT, 0, "приоритет" },
    { "status", FT_TEXT, 0, "статус", 8 },
    { "created", FT_DATE, 0, "начало выполнения" },
    { "executed", FT_DATE, 0, "окончание" },
    { "delayed", FT_INT, 0, "задержка, с" },
    { "settings", FT_JSON, 0, "настройки задачи" },
    { "token", FT_TEXT, 0, "токен идемпотентности (D9)" },
    { "attempt", FT_INT, 0, "номер попытки (D9)" },
    { "node", FT_TEXT, 0, "узел" },
};

static const struct model history_model = { "SpoolHistory", "spool_history", "id",
                                            history_fields, ARRAY_SIZE(history_fields) };

static const struct resource spool_resource = { &spool_model, NULL, NULL, NULL, NULL };

static int api_spool_list(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    int rc = api_list(c, &spool_model, "spool", &where);
    sqlb_free(&where);
    return rc;
}

static int api_spool_history(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    int rc = api_list(c, &history_model, "spool_history", &where);
    sqlb_free(&where);
    return rc;
}

/* Sets the response to task id in the model's shape (404 when gone). */
static int reply_task(struct api_ctx *c, int64_t id)
{
    struct buf sql;
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(id) };
    buf_init(&sql, 0);
    buf_puts(&sql, "SELECT ");
    model_select_list(&spool_model, &sql);
    buf_puts(&sql, " FROM spool WHERE id = $1");
    int rc = db_query(c->db, sql.data, p, 1, &r, &c->err);
    buf_free(&sql);
    if (rc == 0 && db_result_rows(r) == 0)
        rc = api_fail(c, 404, "Object not found. Check the ID.");
    if (rc == 0)
        api_set_data(c, model_row_to_json(&spool_model, r, 0, true));
    db_result_free(r);
    return rc;
}

/* A JSON value given as text is decoded (the admin console sends JSON columns as strings). */
static json_t *as_json(json_t *v)
{
    if (json_is_string(v)) {
        json_t *d = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
        return d ? d : json_incref(v);
    }
    return json_incref(v);
}

static int64_t int_of(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

/* R142: a task created by hand (spool.md §4.2), for the current user unless user_id names one. */
static int api_spool_create(struct api_ctx *c)
{
    json_t *values = NULL;
    int rc = resource_values(c, &spool_resource, true, &values);
    if (rc)
        return rc;
    json_t *event = as_json(json_object_get(values, "event"));
    json_t *settings = as_json(json_object_get(values, "settings"));
    if (!json_is_object(event))
        rc = api_fail(c, 400, "Field event: expected a JSON object");
    else if (settings && !json_is_null(settings) && !json_is_object(settings))
        rc = api_fail(c, 400, "Field settings: expected a JSON object");
    int64_t id = 0;
    struct spool_new t = {
        .user_id = json_object_get(values, "user_id") ? int_of(json_object_get(values, "user_id"))
                                                      : c->user_id,
        .usi = int_of(json_object_get(settings, "user_service_id")),
        .event = event,
        .settings = settings,
        .prio = (int)int_of(json_object_get(values, "prio")),
        .delayed = int_of(json_object_get(values, "delayed")),
        .status = json_string_value(json_object_get(values, "status")),
    };
    /* spool_add takes prio 0 for the model default 100: an explicit 0 is written after */
    if (rc == 0 && (rc = spool_add(c->db, &t, &id, &c->err)) == 0 &&
        json_object_get(values, "prio") && int_of(json_object_get(values, "prio")) == 0) {
        struct db_value p[] = { DB_INT(id) };
        rc = db_exec(c->db, "UPDATE spool SET prio = 0 WHERE id = $1", p, 1, NULL, &c->err);
    }
    json_decref(event);
    json_decref(settings);
    json_decref(values);
    return rc ? rc : reply_task(c, id);
}

/* R143: edit a task; a claim in flight is dropped (its result only reaches the history). */
static int api_spool_update(struct api_ctx *c)
{
    json_t *values = NULL, *key = NULL, *row = NULL;
    int rc = resource_key(c, &spool_resource, &key);
    if (rc == 0)
        rc = resource_values(c, &spool_resource, false, &values);
    if (rc == 0)
        rc = resource_update(c, &spool_resource, key, values, &row);
    int64_t id = int_of(key);
    /* the user_service_id column follows settings.user_service_id (the per-us rules use it) */
    json_t *st = json_object_get(row, "settings");
    int64_t usi = json_is_object(st) ? int_of(json_object_get(st, "user_service_id")) : 0;
    struct db_value p[] = { DB_INT(id), usi ? DB_INT(usi) : DB_NULL };
    if (rc == 0)
        rc = db_exec(c->db,
                     "UPDATE spool SET claimed_by = NULL, claimed_until = NULL, usi_lock = NULL,"
                     " user_service_id = $2 WHERE id = $1",
                     p, 2, NULL, &c->err);
    json_decref(values);
    json_decref(key);
    json_decref(row);
    if (rc == 0)
        spool_note_change();
    return rc ? rc : reply_task(c, id);
}

/* R145: [{cnt, status}] */
static int api_spool_statuses(struct api_ctx *c)
{
    struct db_result *r = NULL;
    int rc = db_query(c->db,
                      "SELECT count(*) AS cnt, status FROM spool GROUP BY status ORDER BY status",
                      NULL, 0, &r, &c->err);
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (int i = 0; i < db_result_rows(r); i++)
        json_array_append_new(arr, json_pack("{s:I,s:s}", "cnt", (json_int_t)db_result_int(r, i, 0),
                                             "status", db_result_text(r, i, 1)));
    db_result_free(r);
    api_set_data(c, arr);
    return 0;
}

/* R147: POST /admin/spool/manual/<action> with id. */
static int api_spool_manual(struct api_ctx *c)
{
    int64_t id = 0;
    const char *action = json_string_value(json_object_get(c->args, "action"));
    if (args_i64(c->args, "id", &id))
        return api_fail(c, 400, "Field id: expected an integer");
    int rc = spool_manual(c->db, id, action ? action : "", c->args, &c->err);
    if (rc)
        return rc;
    spool_note_change();
    json_t *row = NULL;
    struct db_value p[] = { DB_INT(id) };
    struct db_result *r = NULL;
    if ((rc = db_query(c->db, "SELECT status FROM spool WHERE id = $1", p, 1, &r, &c->err)))
        return rc;
    row = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "action", action, "status",
                    db_result_rows(r) ? db_result_text(r, 0, 0) : "SUCCESS");
    db_result_free(r);
    api_set_data(c, row);
    return 0;
}

#define R(m, p, a, req, h, fl, st, tag, sum, d) { m, p, a, req, h, fl, st, NULL, tag, sum, d }

static const struct route routes[] = {
    R("GET", "/admin/spool", AUTH_ADMIN, NULL, api_spool_list, 0, NULL, "admin",
      "Spool tasks (R141)", NULL),
    R("PUT", "/admin/spool", AUTH_ADMIN, "event", api_spool_create, 0, NULL, "admin",
      "Create a spool task (R142)", NULL),
    R("POST", "/admin/spool", AUTH_ADMIN, "id", api_spool_update, 0, NULL, "admin",
      "Edit a spool task (R143)", NULL),
    R("DELETE", "/admin/spool", AUTH_ADMIN, "id", api_resource_delete, 0, NULL, "admin",
      "Delete a spool task (R144)", &spool_resource),
    R("GET", "/admin/spool/statuses", AUTH_ADMIN, NULL, api_spool_statuses, 0, NULL, "admin",
      "Spool task counts per status (R145)", NULL),
    R("GET", "/admin/spool/history", AUTH_ADMIN, NULL, api_spool_history, 0, NULL, "admin",
      "Spool execution history (R146)", NULL),
    R("POST", "/admin/spool/manual/*", AUTH_ADMIN, "id", api_spool_manual, 0, "action", "admin",
      "Manual action on a task: success, pause, resume, retry (R147)", NULL),
};

const struct route_table api_spool_routes = ROUTE_TABLE(routes);
