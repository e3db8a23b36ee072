/*
 * renew.c — the renewal pass over due user services (see renew.h).
 */
#include "renew.h"
#include "usvc.h"
#include "../util/log.h"

/* Reads up to limit due usi greater than after into ids; returns how many. */
static int next_due(struct db *db, int64_t now, int64_t after, int limit, int64_t *ids,
                    struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(now), DB_INT(after), DB_INT(limit) };
    int rc = db_query(db,
                      "SELECT user_service_id FROM user_services"
                      " WHERE status = 'ACTIVE' AND auto_bill = 1 AND expire IS NOT NULL"
                      " AND expire <= $1 AND user_service_id > $2"
                      " ORDER BY user_service_id LIMIT $3",
                      p, 3, &r, e);
    if (rc)
        return rc;
    int n = db_result_rows(r);
    for (int i = 0; i < n; i++)
        ids[i] = db_result_int(r, i, 0);
    db_result_free(r);
    return n;
}

/*
 * Touches one service inside a savepoint. The service may already have been
 * renewed as part of its parent's tree in this batch: touch then finds it
 * not expired and does nothing.
 */
static int touch_one(struct db *db, int64_t usi, struct renew_stats *st, struct err *e)
{
    struct err te = { 0 };
    int rc = db_exec(db, "SAVEPOINT renew_one", NULL, 0, NULL, e);
    if (rc)
        return rc;
    if (usvc_touch(db, usi, NULL, &te) == 0) {
        st->touched++;
        return db_exec(db, "RELEASE SAVEPOINT renew_one", NULL, 0, NULL, e);
    }
    st->failed++;
    log_warn("renewal failed", "usi=%lld err=%d msg=\"%.*s\"", (long long)usi, te.code,
             (int)strcspn(te.msg, "\""), te.msg);
    rc = db_exec(db, "ROLLBACK TO SAVEPOINT renew_one", NULL, 0, NULL, e);
    return rc ? rc : db_exec(db, "RELEASE SAVEPOINT renew_one", NULL, 0, NULL, e);
}

/* One batch in one transaction; *last advances to the highest usi seen. */
static int renew_batch(struct db *db, int64_t now, int batch, int64_t *last, int *seen,
                       struct renew_stats *st, struct err *e)
{
    int64_t *ids = xcalloc((size_t)batch, sizeof(*ids));
    int rc = db_begin(db, true, e);
    int n = rc ? rc : next_due(db, now, *last, batch, ids, e);
    if (n < 0) {
        free(ids);
        db_rollback(db);
        return n;
    }
    rc = 0;
    for (int i = 0; rc == 0 && i < n; i++)
        rc = touch_one(db, ids[i], st, e);
    if (rc == 0)
        rc = db_commit(db, e);
    else
        db_rollback(db);
    if (rc == 0 && n > 0) {
        *last = ids[n - 1];
        st->due += n;
    }
    *seen = n;
    free(ids);
    return rc;
}

int renew_due(struct db *db, int64_t now, int batch, struct renew_stats *st, struct err *e)
{
    int64_t last = 0;
    int seen = 0;
    memset(st, 0, sizeof(*st));
    if (batch <= 0)
        batch = RENEW_BATCH;
    do {
        int rc = renew_batch(db, now, batch, &last, &seen, st, e);
        if (rc)
            return rc;
    } while (seen == batch);
    log_info("renewal pass", "due=%lld touched=%lld failed=%lld", (long long)st->due,
             (long long)st->touched, (long long)st->failed);
    return 0;
}
