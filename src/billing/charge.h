/*
 * charge.h — paying a withdraw (billing.md §7): available bonuses with
 * limit_bonus_percent (§7.2), composite roots (§7.3), the insufficient-funds
 * rule with credit, can_overdraft and the service's pay_in_credit (§7.4,
 * DECISIONS D20), and the charge itself (§7.5) through ledger_adjust() plus
 * a bonus_history row {"withdraw_id": N} for the bonus part.
 */
#ifndef BILLD_CHARGE_H
#define BILLD_CHARGE_H

#include "withdraw.h"

/* The money state of a user that a charge depends on. */
struct charge_user {
    int64_t balance, bonus, credit;
    bool can_overdraft;
};

/*
 * Reads balance, bonus, credit and can_overdraft of user_id, locking the row
 * on PostgreSQL (FOR UPDATE) so that concurrent charges of one user are
 * serialised. ERR_NOT_FOUND when absent.
 */
int charge_user_load(struct db *db, int64_t user_id, struct charge_user *out, struct err *e);
/* The same without a lock, for read-only uses (price list, forecast). */
int charge_user_read(struct db *db, int64_t user_id, struct charge_user *out, struct err *e);

/*
 * calc_available_bonuses (§7.2): the part of user_bonus usable for a
 * withdraw of total under the service config (limit_bonus_percent).
 */
int64_t charge_available_bonuses(const json_t *service_config, int64_t user_bonus, int64_t total);

/*
 * True when amount cannot be paid (§7.4): amount > 0, balance + credit +
 * available < amount, no can_overdraft and the service is not pay_in_credit.
 */
bool charge_insufficient(const struct charge_user *u, int64_t available, int64_t amount,
                         bool pay_in_credit);

/*
 * Charges withdraw w (not yet paid) of a service with config cfg at time
 * now (§7.5): bonus part, money part, ledger and bonus history, then writes
 * w (bonus, total, withdraw_date). No funds check. Returns 0 or an error.
 */
int charge_apply(struct db *db, struct wd *w, const json_t *cfg, int64_t now, struct err *e);

/*
 * Pays the current withdraw of user service usi if the funds allow (§7.1–§7.5),
 * including the composite rules (§7.3). *paid is true when the us has no
 * withdraw, its withdraw was already paid, or it was paid now.
 */
int charge_pay_us(struct db *db, int64_t usi, int64_t now, bool *paid, struct err *e);

/* What the caller of charge_pay_us_cached already holds, so that it is not read again. */
struct charge_known {
    bool has_row;          /* the four fields are the us row as it now stands */
    int64_t withdraw_id, parent, service_id, user_id;
    const struct wd *wd;   /* a withdraw row just read or written, or NULL */
};

/*
 * The same, reading services through cache c (may be NULL, bcache.h) and taking
 * from known (may be NULL) the us row and, when it is the us's current withdraw,
 * known->wd instead of reading them. When out is not NULL it receives the
 * current withdraw as it now stands in the database (withdraw_id 0 when the us
 * has none).
 */
struct bcache;
int charge_pay_us_cached(struct db *db, struct bcache *c, int64_t usi, int64_t now,
                         const struct charge_known *known, bool *paid, struct wd *out,
                         struct err *e);

/*
 * Money back for early termination of withdraw withdraw_id at date
 * (billing.md §14): nothing for an unpaid, ended or later-created withdraw
 * or a service with config no_money_back; the whole withdraw with
 * allow_return_full_wd; otherwise the unused part, the used part priced
 * with the withdraw's discount and quantity (DECISIONS D21). Credits go
 * through the ledger (kind "refund") and bonus_history. *refunded (may be
 * NULL) receives the money part returned.
 */
int charge_money_back(struct db *db, enum calc_strategy st, int64_t withdraw_id, int64_t date,
                      int64_t now, int64_t *refunded, struct err *e);

/* The values an admin may set on a withdraw (billing.md §15.3); has_* tell which are given. */
struct wd_edit {
    bool has_cost, has_months, has_discount, has_qnt, has_bonus;
    int64_t cost, months, discount, bonus;
    double qnt;
};

/*
 * Admin withdraw edit (§15.3) of withdraw w (already loaded) of user
 * service usi whose current withdraw is cur_id, status and expire as given:
 * 400 "This item cannot be edited because it is from the past" for an
 * older withdraw of a us with an expire; recomputes with calc_withdraw,
 * keeps withdraw_date, moves end_date (and *new_expire, 0 = unchanged) only
 * for the current withdraw of an ACTIVE us, settles a changed money part of
 * a paid withdraw and a changed bonus through the ledger (bonus history
 * "changed withdraw N by admin"). The caller touches the us afterwards.
 */
int charge_withdraw_edit(struct db *db, enum calc_strategy st, struct wd *w, int64_t cur_id,
                         const char *status, int64_t expire, const struct wd_edit *ed,
                         int64_t now, int64_t *new_expire, struct err *e);

#endif
