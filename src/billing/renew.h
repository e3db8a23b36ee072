/*
 * renew.h — the renewal pass: touch every user service that is due (the
 * job_prolongate of SHM, billing.md §12; issue 4 item 10).
 *
 * A service is due when it is ACTIVE, auto_bill = 1 and expire <= now. Due
 * services are taken in ascending id order and touched (§11.1) in batches:
 * one transaction per batch, so a crash loses at most the uncommitted batch —
 * which the next pass renews, never twice, because a committed renewal moved
 * its expire past now. A batch runs without savepoints; when a touch fails
 * the batch is rolled back and run again with a savepoint per service, so the
 * failing service is rolled back alone (and logged) and the others are
 * renewed as if it had not been there. Services, the strategy, discounts and
 * events bindings are read once per batch (bcache.h).
 */
#ifndef BILLD_RENEW_H
#define BILLD_RENEW_H

#include "../db/db.h"

/* ≈ 30 ms of SQLite write lock per batch at ~30 µs a renewal (docs/benchmarks.md). */
#define RENEW_BATCH 1000

struct renew_stats {
    int64_t due;      /* services found due */
    int64_t touched;  /* touched without error */
    int64_t failed;   /* touch failed and was rolled back */
};

/*
 * Renews everything due at now, batch services per transaction (0 =
 * RENEW_BATCH). Must be called outside a transaction. Returns 0 or a
 * database error (a failing service is not an error of the pass).
 */
int renew_due(struct db *db, int64_t now, int batch, struct renew_stats *st, struct err *e);

/* Due services are read this many at a time (renew.c, next_due). */
#define RENEW_CHUNK 10000

/* renew_due reading the due ids chunk at a time (0 = RENEW_CHUNK; `billd renew --chunk`). */
int renew_due_chunked(struct db *db, int64_t now, int batch, int chunk, struct renew_stats *st,
                      struct err *e);

#endif
