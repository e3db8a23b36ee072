/*
 * spool.c — the spool table (spool.md §4–§6): creating tasks.
 */
#include "spool.h"

#include "../db/db.h"
#include "../util/timeutil.h"

int spool_add(struct db *db, const struct spool_new *t, int64_t *id, struct err *e)
{
    json_t *settings = t->settings ? json_deep_copy(t->settings) : json_object();
    if (t->usi)
        json_object_set_new(settings, "user_service_id", json_integer(t->usi));
    char *ev = json_dumps(t->event, JSON_COMPACT | JSON_SORT_KEYS);
    char *st = json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS);
    const char *status = t->status ? t->status : t->delayed > 0 ? "DELAYED" : "NEW";
    int64_t now = time_now();
    struct db_value p[] = { DB_INT(t->user_id), t->usi ? DB_INT(t->usi) : DB_NULL, DB_TEXT(ev),
                            DB_INT(t->prio ? t->prio : 100), DB_TEXT(status), DB_INT(now),
                            t->delayed > 0 ? DB_INT(now) : DB_NULL, DB_INT(t->delayed),
                            DB_TEXT(st) };
    struct db_result *res = NULL;
    int rc = db_query(db,
                      "INSERT INTO spool (user_id, user_service_id, event, prio, status, created,"
                      " executed, delayed, settings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                      " RETURNING id",
                      p, 9, &res, e);
    if (rc == 0 && id)
        *id = db_result_int(res, 0, 0);
    db_result_free(res);
    free(ev);
    free(st);
    json_decref(settings);
    return rc;
}
