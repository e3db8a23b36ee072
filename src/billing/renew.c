/*
 * renew.c — the renewal pass over due user services (see renew.h).
 */
#include "renew.h"
#include "bcache.h"
#include "usvc.h"
#include "../util/log.h"

/*
 * Reads up to limit due usi greater than after into ids; returns how many. The first
 * chunk is read through the due index (status, expire): the usual pass finds few
 * services due and reads just those. That index is not in id order, so each read
 * sorts every service still due; once a chunk came back full (a mass renewal), the
 * next ones walk the table in id order from after instead (`status || ''` keeps the
 * engines off the due index), so a pass reads the table once instead of sorting
 * N / chunk times what is left (10^6 due: ≈ 5·10^7 rows). Same rows either way.
 */
static int next_due(struct db *db, int64_t now, int64_t after, int limit, bool by_id,
                    int64_t *ids, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(now), DB_INT(after), DB_INT(limit) };
    const char *sql = by_id ? "SELECT user_service_id FROM user_services"
                              " WHERE user_service_id > $2 AND (status || '') = 'ACTIVE'"
                              " AND auto_bill = 1 AND expire IS NOT NULL AND expire <= $1"
                              " ORDER BY user_service_id LIMIT $3"
                            : "SELECT user_service_id FROM user_services"
                              " WHERE status = 'ACTIVE' AND auto_bill = 1 AND expire IS NOT NULL"
                              " AND expire <= $1 AND user_service_id > $2"
                              " ORDER BY user_service_id LIMIT $3";
    int rc = db_query(db, sql, p, 3, &r, e);
    if (rc)
        return rc;
    int n = db_result_rows(r);
    for (int i = 0; i < n; i++)
        ids[i] = db_result_int(r, i, 0);
    db_result_free(r);
    return n;
}

/* A service touched without error: counted when it was due. */
static void count_due(struct renew_stats *st, bool due)
{
    if (due) {
        st->due++;
        st->touched++;
    }
}

/*
 * Touches one service inside a savepoint if it is still due (the chunk of ids
 * was read before the batch's transaction). The service may already have been
 * renewed as part of its parent's tree in this batch: it is then not due.
 */
static int touch_one(struct db *db, struct bcache *c, int64_t usi, int64_t now,
                     struct renew_stats *st, struct err *e)
{
    struct err te = { 0 };
    bool due = false;
    int rc = db_exec(db, "SAVEPOINT renew_one", NULL, 0, NULL, e);
    if (rc)
        return rc;
    if (usvc_touch_if_due(db, c, usi, now, &due, &te) == 0) {
        count_due(st, due);
        return db_exec(db, "RELEASE SAVEPOINT renew_one", NULL, 0, NULL, e);
    }
    st->due++;
    st->failed++;
    log_warn("renewal failed", "usi=%lld err=%d msg=\"%.*s\"", (long long)usi, te.code,
             (int)strcspn(te.msg, "\""), te.msg);
    rc = db_exec(db, "ROLLBACK TO SAVEPOINT renew_one", NULL, 0, NULL, e);
    return rc ? rc : db_exec(db, "RELEASE SAVEPOINT renew_one", NULL, 0, NULL, e);
}

/*
 * One attempt at the n services of ids (those still due) in one transaction.
 * Services, the strategy, the discounts and the events bindings are read once
 * per attempt (bcache.h): the transaction holds SQLite's write lock, so nobody
 * changes them meanwhile. Guarded, every service gets a savepoint (touch_one).
 * Unguarded, none does — two statements and the savepoint journal less per
 * service — and the first touch that fails rolls the whole batch back and sets
 * *redo, so that the caller runs it again guarded.
 */
static int batch_attempt(struct db *db, int64_t now, const int64_t *ids, int n, bool guarded,
                         struct renew_stats *part, bool *redo, struct err *e)
{
    struct err te = { 0 };
    bool due = false;
    struct bcache *c = bcache_new();
    memset(part, 0, sizeof(*part));
    *redo = false;
    int rc = db_begin(db, true, e);
    for (int i = 0; rc == 0 && !*redo && i < n; i++) {
        if (guarded)
            rc = touch_one(db, c, ids[i], now, part, e);
        else if (usvc_touch_if_due(db, c, ids[i], now, &due, &te) == 0)
            count_due(part, due);
        else
            *redo = true;
    }
    bcache_free(c);
    if (rc == 0 && !*redo)
        return db_commit(db, e);
    db_rollback(db);
    return rc;
}

/*
 * The n services of ids in one transaction: without savepoints, and again with
 * one per service when a touch failed, so a failing service is rolled back
 * alone and the others are renewed exactly as they would have been.
 */
static int renew_batch(struct db *db, int64_t now, const int64_t *ids, int n,
                       struct renew_stats *st, struct err *e)
{
    struct renew_stats part;
    bool redo = false;
    int rc = batch_attempt(db, now, ids, n, false, &part, &redo, e);
    if (rc == 0 && redo)
        rc = batch_attempt(db, now, ids, n, true, &part, &redo, e);
    if (rc == 0) {
        st->due += part.due;
        st->touched += part.touched;
        st->failed += part.failed;
    }
    return rc;
}

/*
 * The due ids are read RENEW_CHUNK at a time outside the batch transactions: each read
 * sorts what is still due (the due index is not in id order), so reading per batch made a
 * pass quadratic in the number of due services (docs/benchmarks.md).
 */
int renew_due_chunked(struct db *db, int64_t now, int batch, int chunk, struct renew_stats *st,
                      struct err *e)
{
    int64_t last = 0;
    int n;
    if (chunk <= 0)
        chunk = RENEW_CHUNK;
    int64_t *ids = xcalloc((size_t)chunk, sizeof(*ids));
    memset(st, 0, sizeof(*st));
    if (batch <= 0)
        batch = RENEW_BATCH;
    do {
        n = next_due(db, now, last, chunk, last > 0, ids, e);
        for (int i = 0; n > 0 && i < n; i += batch) {
            int rc = renew_batch(db, now, ids + i, n - i < batch ? n - i : batch, st, e);
            if (rc) {
                free(ids);
                return rc;
            }
        }
        if (n > 0)
            last = ids[n - 1];
    } while (n == chunk);
    free(ids);
    if (n < 0)
        return n;
    log_info("renewal pass", "due=%lld touched=%lld failed=%lld", (long long)st->due,
             (long long)st->touched, (long long)st->failed);
    return 0;
}

int renew_due(struct db *db, int64_t now, int batch, struct renew_stats *st, struct err *e)
{
    return renew_due_chunked(db, now, batch, 0, st, e);
}
