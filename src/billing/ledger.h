/*
 * ledger.h — the only way a user's balance or bonus changes (DECISIONS D7).
 *
 * ledger_adjust() updates users.balance / users.bonus and appends a ledger
 * row describing the change, in the caller's transaction: both happen or
 * neither does. ledger_check() recomputes every balance and bonus from the
 * ledger and reports users whose stored totals differ (`billd check`).
 */
#ifndef BILLD_LEDGER_H
#define BILLD_LEDGER_H

#include "../db/db.h"

/*
 * Adds money_delta to the balance and bonus_delta to the bonus of user_id and
 * records the change with its kind ("payment", "withdraw", "admin", ...), an
 * optional reference (table and row id, ref_table may be NULL) and an
 * optional comment. Must run inside a write transaction. Returns 0,
 * ERR_NOT_FOUND (no such user) or a DB error.
 */
int ledger_adjust(struct db *db, int64_t user_id, int64_t money_delta, int64_t bonus_delta,
                  const char *kind, const char *ref_table, int64_t ref_id, const char *comment,
                  struct err *e);

/*
 * Compares every user's balance and bonus with the sums of their ledger rows.
 * *mismatches receives the number of users that differ; each is logged at
 * error level. Returns 0 or a DB error.
 */
int ledger_check(struct db *db, int64_t *mismatches, struct err *e);

#endif
