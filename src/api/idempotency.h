/*
 * idempotency.h — the Idempotency-Key header of writing API calls
 * (DECISIONS D8, Stripe semantics; table idempotency_keys, migration 0006).
 *
 * It applies to POST, PUT and DELETE under /shm/v1 by an authenticated
 * caller that sends `Idempotency-Key: <1–255 printable ASCII characters>`
 * (otherwise 400), except dry_run and Test requests, which bypass it and
 * store nothing. Keys belong to the calling user (not to the user an admin
 * acts for). The request is identified by its method, path and a SHA-256 of
 * its arguments (without session_id) and, for raw-body routes, its body.
 *
 *   - First use: inside the request transaction a row (user, key, method,
 *     path, hash) is inserted, the handler runs and, when it succeeds, the
 *     response it produces (status, content type, body) is stored in that
 *     row before COMMIT — both commit together or neither does. When the
 *     handler fails, the transaction rolls back with the row: nothing is
 *     stored and a retry runs again (the failed call changed nothing).
 *   - Same key, same request: the stored response is replayed without
 *     running the handler, with the header `Idempotent-Replayed: true`.
 *   - Same key, other method, path or arguments: 422 {"error":
 *     "Idempotency-Key reused with a different request","status":422}.
 *   - Concurrent requests with one key never both run: on PostgreSQL the
 *     second insert waits for the first transaction on the unique
 *     (user_id, idem_key) index, on SQLite the second BEGIN IMMEDIATE waits
 *     for the write lock; the second then replays the first's committed
 *     response (or runs itself when the first rolled back). A stored row
 *     without a response (cannot be committed by this code) answers 409.
 *
 * Rows are kept IDEMPOTENCY_TTL seconds at least; idempotency_cleanup()
 * removes older ones (the scheduler will call it).
 */
#ifndef BILLD_IDEMPOTENCY_H
#define BILLD_IDEMPOTENCY_H

#include "api.h"

/* How long a stored response is kept at least: 24 hours. */
#define IDEMPOTENCY_TTL (24 * 3600)
/* Longest key accepted. */
#define IDEMPOTENCY_KEY_MAX 255

/*
 * Runs c's route handler inside the open request transaction, honouring the
 * Idempotency-Key header as described above (without the header, or when it
 * does not apply, this is just the handler). Returns the handler's result,
 * 0 after a replay (c->resp filled, c->out = API_OUT_CUSTOM), or an error
 * set on c (400 bad key, 409, 422, database errors).
 */
int idempotency_run(struct api_ctx *c);

/* True when key is 1–255 printable ASCII characters (0x20–0x7e). */
bool idempotency_key_valid(const char *key);

/*
 * Deletes the stored responses created before now - IDEMPOTENCY_TTL.
 * *deleted (may be NULL) receives how many. Returns 0 or a database error.
 */
int idempotency_cleanup(struct db *db, int64_t now, int64_t *deleted, struct err *e);

#endif
