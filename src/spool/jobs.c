/*
 * jobs.c — the method tasks of the spool (spool.md §2.3, §9; see jobs.h):
 * a table of (kind, method) → function. Each function opens its own short
 * write transactions on the worker's connection.
 */
#include "jobs.h"
#include "spool_int.h"

#include "../billing/forecast.h"
#include "../billing/renew.h"
#include "../billing/usvc.h"
#include "../core/config_store.h"
#include "../core/period.h"
#include "../db/db.h"
#include "../util/log.h"
#include "../util/timeutil.h"

typedef enum task_result (*job_fn)(const struct task_ctx *x, json_t **data);

static enum task_result fail_err(json_t **data, const struct err *e)
{
    *data = json_pack("{s:s}", "error", e->msg[0] ? e->msg : "database error");
    return TASK_FAIL;
}

/* Integer ids of the first column of a query (owned array). */
static int query_ids(struct db *db, const char *sql, const struct db_value *p, int n,
                     json_t **out, struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(db, sql, p, n, &r, e);
    *out = json_array();
    for (int i = 0; rc == 0 && i < db_result_rows(r); i++)
        json_array_append_new(*out, json_integer(db_result_int(r, i, 0)));
    db_result_free(r);
    return rc;
}

/* ---- UserService.activate_services (§2.3) ---- */

static int activate_tx(struct db *db, int64_t user_id, bool *progress, json_t **done,
                       struct err *e)
{
    struct db_value p[] = { DB_INT(user_id) };
    int64_t n = 0;
    int rc = db_query_int(db,
                          "SELECT count(*) FROM user_services WHERE user_id = $1"
                          " AND status = 'PROGRESS'",
                          p, 1, &n, e);
    *progress = rc == 0 && n > 0;
    if (rc || *progress)
        return rc;
    char sql[256];
    /* top-level services only: a touch processes the children of its service (billing.md §11) */
    snprintf(sql, sizeof(sql),
             "SELECT user_service_id FROM user_services WHERE user_id = $1 AND auto_bill = 1"
             " AND status IN ('BLOCK', 'NOT PAID') AND parent IS NULL ORDER BY user_service_id%s",
             db_sql_for_update(db));
    rc = query_ids(db, sql, p, 1, done, e);
    size_t i;
    json_t *v;
    json_array_foreach(*done, i, v) {
        if (rc)
            break;
        rc = usvc_touch(db, json_integer_value(v), USVC_PROLONGATE, e);
    }
    return rc;
}

static enum task_result activate_services(const struct task_ctx *x, json_t **data)
{
    struct err e = { 0 };
    bool progress = false;
    json_t *done = NULL;
    int rc = db_begin(x->db, true, &e);
    if (rc == 0)
        rc = activate_tx(x->db, x->task->user_id, &progress, &done, &e);
    if (rc == 0 && !progress)
        rc = db_commit(x->db, &e);
    else
        db_rollback(x->db);
    if (rc) {
        json_decref(done);
        return fail_err(data, &e);
    }
    if (progress) {
        json_decref(done);
        *data = json_pack("{s:s}", "error",
                          "Некоторые услуги в статусе PROGRESS. Повторите попытку позже");
        return TASK_FAIL;
    }
    *data = json_pack("{s:o}", "touched", done);
    return TASK_SUCCESS;
}

/* ---- Jobs.job_prolongate (§9.1): the renewal pass of billd (renew_due) ---- */

static enum task_result job_prolongate(const struct task_ctx *x, json_t **data)
{
    struct err e = { 0 };
    struct renew_stats st = { 0 };
    if (renew_due(x->db, time_now(), 0, &st, &e))
        return fail_err(data, &e);
    *data = json_pack("{s:s,s:I,s:I}", "msg", "Done", "affected_count", (json_int_t)st.touched,
                      "failed", (json_int_t)st.failed);
    return TASK_SUCCESS;
}

/* Jobs.job_prolongate_event: one service (tasks queued by SHM before an import). */
static enum task_result job_prolongate_event(const struct task_ctx *x, json_t **data)
{
    struct err e = { 0 };
    int64_t usi = x->task->usi;
    if (!usi) {
        *data = json_pack("{s:s}", "error", "user_service_id required");
        return TASK_STUCK;
    }
    int rc = db_begin(x->db, true, &e);
    if (rc == 0)
        rc = usvc_touch(x->db, usi, USVC_PROLONGATE, &e);
    if (rc == 0)
        rc = db_commit(x->db, &e);
    else
        db_rollback(x->db);
    if (rc)
        return fail_err(data, &e);
    *data = json_pack("{s:s}", "msg", "Done");
    return TASK_SUCCESS;
}

/* ---- Jobs.job_cleanup (§9.2) ---- */

/* billing.cleanup.<path> in days, or def. */
static int64_t cleanup_days(struct db *db, const char *path, int64_t def)
{
    json_t *v = config_store_lookup(db, "billing", path);
    int64_t d = def;
    if (json_is_integer(v))
        d = json_integer_value(v);
    else if (json_is_string(v))
        d = strtoll(json_string_value(v), NULL, 10);
    json_decref(v);
    return d;
}

/* Deletes (REMOVE flow) each service of ids, one transaction each; returns how many. */
static int64_t delete_services(struct db *db, const json_t *ids)
{
    size_t i;
    json_t *v;
    int64_t n = 0;
    json_array_foreach(ids, i, v) {
        struct err e = { 0 };
        int rc = db_begin(db, true, &e);
        if (rc == 0)
            rc = usvc_delete(db, json_integer_value(v), false, &e);
        if (rc == 0 && (rc = db_commit(db, &e)) == 0)
            n++;
        if (rc) {
            db_rollback(db);
            log_warn("cleanup: delete failed", "usi=%lld err=%d", (long long)json_integer_value(v),
                     rc);
        }
    }
    return n;
}

static int cleanup_rows(struct db *db, int64_t now, json_t *out, struct err *e)
{
    int64_t days = cleanup_days(db, "cleanup.SpoolHistory", 30), n1 = 0, n2 = 0, n3 = 0;
    int rc = 0;
    if (days > 0)
        rc = spool_history_clean(db, now - days * 86400, &n1, &n2, e);
    struct db_value s[] = { DB_INT(now - 3 * 86400) };
    if (rc == 0)
        rc = db_exec(db, "DELETE FROM sessions WHERE updated < $1", s, 1, &n3, e);
    json_object_set_new(out, "spool_history", json_integer(n1));
    json_object_set_new(out, "console", json_integer(n2));
    json_object_set_new(out, "sessions", json_integer(n3));
    return rc;
}

static enum task_result job_cleanup(const struct task_ctx *x, json_t **data)
{
    struct err e = { 0 };
    int64_t now = time_now();
    int64_t block = cleanup_days(x->db, "cleanup.USObject.block", 10);
    int64_t wait = cleanup_days(x->db, "cleanup.USObject.wait_for_pay", 10);
    json_t *ids = NULL;
    struct db_value p[] = { DB_INT(now - block * 86400), DB_INT(block), DB_INT(now - wait * 86400),
                            DB_INT(wait) };
    int rc = query_ids(x->db,
                       "SELECT user_service_id FROM user_services WHERE parent IS NULL"
                       " AND auto_bill = 1 AND ((status = 'BLOCK' AND $2 > 0 AND expire < $1)"
                       " OR (status = 'NOT PAID' AND $4 > 0 AND created < $3))"
                       " ORDER BY user_service_id",
                       p, 4, &ids, &e);
    if (rc) {
        json_decref(ids);
        return fail_err(data, &e);
    }
    int64_t removed = delete_services(x->db, ids);
    json_decref(ids);
    *data = json_pack("{s:s,s:I}", "msg", "Done", "services", (json_int_t)removed);
    rc = db_begin(x->db, true, &e);
    if (rc == 0)
        rc = cleanup_rows(x->db, now, *data, &e);
    if (rc == 0)
        rc = db_commit(x->db, &e);
    else
        db_rollback(x->db);
    if (rc) {
        json_decref(*data);
        return fail_err(data, &e);
    }
    return TASK_SUCCESS;
}

/* ---- Jobs.job_make_forecasts (§9.3) ---- */

static int64_t int_setting(const json_t *s, const char *key, int64_t def)
{
    const json_t *v = json_object_get(s, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v) && *json_string_value(v))
        return strtoll(json_string_value(v), NULL, 10);
    return def;
}

/* True when users.settings.forecast.last_check_date + check_period is still ahead of now. */
static bool throttled(const json_t *user_settings, const char *check_period, int64_t now)
{
    if (!check_period || !*check_period)
        return false;
    const char *last = json_string_value(
        json_object_get(json_object_get(user_settings, "forecast"), "last_check_date"));
    int64_t t = 0;
    if (!last || time_parse_local(last, &t))
        return false;
    return period_add_to_date(t, check_period) > now;
}

/* Queues FORECAST for uid and stores forecast.last_check_date in its settings. */
static int forecast_user(struct db *db, int64_t uid, json_t *user_settings, int64_t now,
                         struct err *e)
{
    json_t *settings = json_object();
    int rc = spool_user_event(db, uid, "FORECAST", NULL, settings, e);
    json_decref(settings);
    json_t *us = json_is_object(user_settings) ? json_deep_copy(user_settings) : json_object();
    json_t *fc = json_object_get(us, "forecast");
    if (!json_is_object(fc)) {
        fc = json_object();
        json_object_set_new(us, "forecast", fc);
    }
    char when[32];
    time_format_local(now, when, sizeof(when));
    json_object_set_new(fc, "last_check_date", json_string(when));
    char *s = json_dumps(us, JSON_COMPACT | JSON_SORT_KEYS);
    struct db_value p[] = { DB_TEXT(s), DB_INT(uid) };
    if (rc == 0)
        rc = db_exec(db, "UPDATE users SET settings = $1 WHERE user_id = $2", p, 2, NULL, e);
    free(s);
    json_decref(us);
    return rc;
}

static int forecasts_tx(struct db *db, const json_t *ts, json_t *matches, struct err *e)
{
    struct forecast_opts o = { .days = (int)int_setting(ts, "days", 3),
                               .blocked = int_setting(ts, "blocked", 0) != 0 };
    const char *check = json_string_value(json_object_get(ts, "check_period"));
    int64_t now = time_now();
    struct db_result *r = NULL;
    int rc = db_query(db, "SELECT user_id, settings FROM users WHERE block = 0 ORDER BY user_id",
                      NULL, 0, &r, e);
    for (int i = 0; rc == 0 && i < db_result_rows(r); i++) {
        int64_t uid = db_result_int(r, i, 0);
        const char *st = db_result_text(r, i, 1);
        json_t *us = st ? json_loads(st, 0, NULL) : NULL, *fc = NULL;
        if (!throttled(us, check, now) && (rc = forecast_build(db, uid, &o, now, &fc, e)) == 0) {
            json_t *total = json_object_get(fc, "total");
            double t = json_is_number(total) ? json_number_value(total)
                     : json_is_string(total) ? strtod(json_string_value(total), NULL) : 0;
            if (t > 0 && (rc = forecast_user(db, uid, us, now, e)) == 0)
                json_array_append_new(matches, json_integer(uid));
        }
        json_decref(fc);
        json_decref(us);
    }
    db_result_free(r);
    return rc;
}

static enum task_result job_make_forecasts(const struct task_ctx *x, json_t **data)
{
    struct err e = { 0 };
    json_t *matches = json_array();
    int rc = db_begin(x->db, true, &e);
    if (rc == 0)
        rc = forecasts_tx(x->db, x->task->settings, matches, &e);
    if (rc == 0)
        rc = db_commit(x->db, &e);
    else
        db_rollback(x->db);
    if (rc) {
        json_decref(matches);
        return fail_err(data, &e);
    }
    *data = json_pack("{s:s,s:o}", "msg", "Done", "user_matches", matches);
    return TASK_SUCCESS;
}

/* Jobs.job_make_forecast_event: the per-user FORECAST event (tasks queued by SHM). */
static enum task_result job_make_forecast_event(const struct task_ctx *x, json_t **data)
{
    struct err e = { 0 };
    json_t *settings = json_object();
    int rc = db_begin(x->db, true, &e);
    if (rc == 0)
        rc = spool_user_event(x->db, x->task->user_id, "FORECAST", NULL, settings, &e);
    if (rc == 0)
        rc = db_commit(x->db, &e);
    else
        db_rollback(x->db);
    json_decref(settings);
    if (rc)
        return fail_err(data, &e);
    *data = json_pack("{s:s}", "msg", "Done");
    return TASK_SUCCESS;
}

/* ---- Jobs.job_users (§9.4): one TASK per user ---- */

static int users_tx(const struct task_ctx *x, json_t **out, struct err *e)
{
    const struct spool_task *t = x->task;
    int64_t only = int_setting(t->settings, "user_id", 0);
    struct db_value p[] = { DB_INT(only) };
    int rc = query_ids(x->db, "SELECT user_id FROM users WHERE ($1 = 0 OR user_id = $1)"
                              " ORDER BY user_id", p, 1, out, e);
    json_t *ids = *out;
    json_t *ev = json_object();
    json_object_set_new(ev, "name", json_string("TASK"));
    const char *keys[] = { "title", "server_gid", "settings" };
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
        if (json_object_get(t->event, keys[k]))
            json_object_set(ev, keys[k], json_object_get(t->event, keys[k]));
    json_t *st = json_deep_copy(t->settings);
    json_object_del(st, "user_id");
    json_object_del(st, "prio");
    struct spool_new n = { .event = ev, .settings = st,
                           .prio = (int)int_setting(t->settings, "prio", 0) };
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        if (rc)
            break;
        n.user_id = json_integer_value(v);
        rc = spool_add(x->db, &n, NULL, e);
    }
    json_decref(ev);
    json_decref(st);
    return rc;
}

static enum task_result job_users(const struct task_ctx *x, json_t **data)
{
    struct err e = { 0 };
    json_t *ids = NULL;
    int rc = db_begin(x->db, true, &e);
    if (rc == 0)
        rc = users_tx(x, &ids, &e);
    if (rc == 0)
        rc = db_commit(x->db, &e);
    else
        db_rollback(x->db);
    size_t n = json_array_size(ids);
    json_decref(ids);
    if (rc)
        return fail_err(data, &e);
    *data = json_pack("{s:s,s:I}", "msg", "Done", "tasks", (json_int_t)n);
    return TASK_SUCCESS;
}

static const struct {
    const char *kind; /* NULL = any kind */
    const char *method;
    job_fn fn;
} jobs[] = {
    { "UserService", "activate_services", activate_services },
    { NULL, "job_prolongate", job_prolongate },
    { NULL, "job_prolongate_event", job_prolongate_event },
    { NULL, "job_cleanup", job_cleanup },
    { NULL, "job_make_forecasts", job_make_forecasts },
    { NULL, "job_make_forecast_event", job_make_forecast_event },
    { NULL, "job_users", job_users },
};

enum task_result jobs_run(const struct task_ctx *x, json_t **data)
{
    const char *kind = json_string_value(json_object_get(x->task->event, "kind")) ?: "";
    const char *method = json_string_value(json_object_get(x->task->event, "method")) ?: "";
    for (size_t i = 0; i < ARRAY_SIZE(jobs); i++)
        if (!strcmp(jobs[i].method, method) && (!jobs[i].kind || !strcmp(jobs[i].kind, kind)))
            return jobs[i].fn(x, data);
    *data = json_pack("{s:s}", "error", "Method not exists");
    json_object_set_new(*data, "method", json_sprintf("%s.%s", kind, method));
    return TASK_STUCK;
}
