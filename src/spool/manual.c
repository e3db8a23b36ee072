/*
 * manual.c — the admin's manual actions on a task (spool.md §6.3): success,
 * pause, resume, retry. Each clears a claim in flight (the running execution
 * then only completes its history row) and runs in the caller's transaction.
 * Also deleting one task and cleaning the history (the templates' spool.delete
 * and spool.history.clean, the periodic cleanup job).
 */
#include "spool_int.h"

#include "../billing/usvc.h"
#include "../db/db.h"
#include "../util/timeutil.h"

#define CLEAR_CLAIM "claimed_by = NULL, claimed_until = NULL, usi_lock = NULL"

/* `success`: a history row, then delete the task or re-arm it when periodic. */
static int manual_success(struct db *db, int64_t id, const json_t *args, struct err *e)
{
    int64_t now = time_now();
    struct db_value p[] = { DB_INT(id), DB_INT(now) };
    int rc = db_exec(db,
                     "INSERT INTO spool_history (spool_id, user_id, user_service_id, response,"
                     " event, prio, status, created, executed, delayed, settings, token, attempt)"
                     " SELECT id, user_id, user_service_id, '{\"manual\":\"success\"}', event, prio,"
                     " 'SUCCESS', $2, $2, delayed, settings, token, attempts FROM spool"
                     " WHERE id = $1",
                     p, 2, NULL, e);
    json_t *ev = spool_row_json(db, "SELECT event FROM spool WHERE id = $1", id, "event");
    int64_t period = spool_event_period(json_object_get(ev, "event"));
    json_decref(ev);
    if (rc == 0 && period) {
        struct db_value u[] = { DB_INT(period), DB_INT(now), DB_INT(id) };
        rc = db_exec(db,
                     "UPDATE spool SET status = 'DELAYED', delayed = $1, executed = $2,"
                     " attempts = 0, fails = 0, retries = 0, " CLEAR_CLAIM " WHERE id = $3",
                     u, 3, NULL, e);
    } else if (rc == 0) {
        rc = db_exec(db, "DELETE FROM spool WHERE id = $1", p, 1, NULL, e);
    }
    /* the admin may apply the task's event to its us (set_status_by_event) */
    const char *name = json_string_value(json_object_get(json_object_get(args, "event"), "name"));
    json_t *usi = json_object_get(json_object_get(args, "settings"), "user_service_id");
    if (rc == 0 && name && json_is_integer(usi) && usvc_event_target(name)) {
        rc = usvc_task_done(db, json_integer_value(usi), name, e);
        if (rc == ERR_NOT_FOUND)
            rc = err_set_status(e, ERR_NOT_FOUND, 404, "User service not found");
    }
    return rc;
}

int spool_manual(struct db *db, int64_t id, const char *action, const json_t *args,
                 struct err *e)
{
    struct db_value p[] = { DB_INT(id) };
    int64_t n = 0;
    bool known = !strcmp(action, "success") || !strcmp(action, "pause") ||
                 !strcmp(action, "resume") || !strcmp(action, "retry");
    if (!known)
        return err_set_status(e, ERR_INVALID, 400, "unknown action");
    int rc = db_query_int(db, "SELECT count(*) FROM spool WHERE id = $1", p, 1, &n, e);
    if (rc == 0 && n == 0)
        return err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    if (rc)
        return rc;
    if (!strcmp(action, "success"))
        return manual_success(db, id, args, e);
    if (!strcmp(action, "pause"))
        return db_exec(db, "UPDATE spool SET status = 'PAUSED', " CLEAR_CLAIM " WHERE id = $1", p,
                       1, NULL, e);
    /* resume and retry: run now (also a periodic Jobs task under the test clock) */
    return db_exec(db,
                   "UPDATE spool SET status = 'NEW', delayed = 0, manual = 1, fails = 0,"
                   " retries = 0, " CLEAR_CLAIM " WHERE id = $1",
                   p, 1, NULL, e);
}

int spool_delete(struct db *db, int64_t id, struct err *e)
{
    struct db_value p[] = { DB_INT(id) };
    int64_t n = 0;
    int rc = db_exec(db, "DELETE FROM spool WHERE id = $1", p, 1, &n, e);
    if (rc == 0 && n == 0)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    return rc;
}

int spool_history_clean(struct db *db, int64_t before, int64_t *history, int64_t *console,
                        struct err *e)
{
    struct db_value p[] = { DB_INT(before) };
    int64_t n1 = 0, n2 = 0;
    int rc = db_exec(db, "DELETE FROM spool_history WHERE created < $1", p, 1, &n1, e);
    if (rc == 0)
        rc = db_exec(db, "DELETE FROM console WHERE start < $1", p, 1, &n2, e);
    if (history)
        *history = n1;
    if (console)
        *console = n2;
    return rc;
}
