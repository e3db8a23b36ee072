/*
 * recash.h — recash (billing.md §15.4), the admin/template helper that
 * rebuilds a user's balance and bonus from their histories:
 * balance = Σ pays_history.money − Σ total of the paid withdraws,
 * bonus = Σ bonus_history.bonus (which already holds the bonus parts of
 * withdraws). The difference to the stored values is applied through
 * ledger_adjust() (kind "recash"), so `billd check` stays clean (D7).
 */
#ifndef BILLD_RECASH_H
#define BILLD_RECASH_H

#include "../db/db.h"

#include <jansson.h>

/*
 * Recomputes and stores the balance and bonus of user_id inside the
 * caller's write transaction. *out (may be NULL) receives a new object
 * {"before":{"balance","bonus"}, "after":{…}, "delta":{…}} with money as
 * JSON numbers, as SHM's recash returns it. Returns 0, ERR_NOT_FOUND (404,
 * no such user) or a database error.
 */
int recash_user(struct db *db, int64_t user_id, json_t **out, struct err *e);

#endif
