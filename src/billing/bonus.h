/*
 * bonus.h — bonus credits and debits (billing.md §18 partner rewards, §19
 * bonuses; table bonus_history, data-model.md §3.6).
 *
 * bonus_history is SHM's bonus log and users.bonus its running total. Every
 * change of users.bonus made here goes through ledger_adjust() in the
 * caller's transaction (DECISIONS D7), so after any function of this module
 * the three agree: users.bonus = sum of the user's ledger bonus = sum of the
 * user's bonus_history rows written since the ledger began.
 *
 * Amounts are int64 minor units. A partner reward is money × percent / 100
 * computed exactly in decimal and rounded half away from zero to the cent —
 * what MySQL does when SHM stores its double result in a decimal(10,2)
 * column.
 */
#ifndef BILLD_BONUS_H
#define BILLD_BONUS_H

#include "../db/model.h"

#include <jansson.h>

/* Columns of bonus_history: id, user_id, date, bonus (money), comment (JSON). */
extern const struct model bonus_model;

/* Largest income percent accepted, in ten-thousandths of a percent (100 %). */
#define BONUS_PERCENT_MAX_E4 INT64_C(1000000)

/*
 * set_bonus (§19): appends a bonus_history row of amount (minor units, not 0)
 * for user_id with comment (borrowed, any JSON value or NULL), adds amount to
 * users.bonus through the ledger (kind "bonus", ref bonus_history id, note as
 * the ledger comment, may be NULL) and, for a positive amount, writes the
 * user's BONUS event task (settings bonus_id). *id (may be NULL) receives the
 * new row id. Returns 0, ERR_INVALID (amount 0), ERR_NOT_FOUND (no such user)
 * or a database error.
 */
int bonus_set(struct db *db, int64_t user_id, int64_t amount, const json_t *comment,
              const char *note, int64_t *id, struct err *e);

/*
 * Parses an income percent — a JSON integer, real or numeric string with at
 * most 4 fraction digits, between 0 and 100 — into ten-thousandths of a
 * percent (20 → 200000, 7.5 → 75000). Returns 0 or ERR_INVALID.
 */
int bonus_parse_percent(const json_t *v, int64_t *out_e4);

/*
 * The partner reward for a payment of money (minor units) at percent_e4:
 * money × percent / 100 rounded half away from zero to the cent (§18).
 */
int64_t bonus_partner_amount(int64_t money, int64_t percent_e4);

/*
 * The income percent that applies to the referrals of partner_id (§18, SHM's
 * income_percent): the partner's settings.partner.income_percent when that
 * key exists (a false value there means 0), else config
 * billing.partner.income_percent, else 0. A value that is not a valid
 * percent counts as 0 and is logged. Returns 0, ERR_NOT_FOUND (no such
 * user) or a database error.
 */
int bonus_income_percent(struct db *db, int64_t partner_id, int64_t *out_e4, struct err *e);

/*
 * Partner reward (§18) for a payment of money by payer_id whose partner is
 * partner_id: when money > 0, the partner exists, is not the payer and the
 * reward is at least one cent, bonus_set() credits it with the comment
 * {"from_user_id", "payment", "percent"}. Returns 0 (also when nothing was
 * due) or a database error.
 */
int bonus_partner_reward(struct db *db, int64_t partner_id, int64_t payer_id, int64_t money,
                         struct err *e);

/*
 * Deletes the bonus_history row id of user_id and reverses its amount:
 * users.bonus -= row.bonus through the ledger (kind "bonus_delete", ref the
 * deleted row), so users.bonus stays the total of the remaining rows and the
 * ledger stays complete (D7). Returns 0, ERR_NOT_FOUND (404, no such row of
 * that user), ERR_INVALID (400, the reversal would make users.bonus
 * negative: the bonus was already spent) or a database error.
 */
int bonus_delete(struct db *db, int64_t user_id, int64_t id, struct err *e);

#endif
