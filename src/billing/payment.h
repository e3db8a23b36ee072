/*
 * payment.h — payments (billing.md §17; table pays_history, data-model.md
 * §3.5) and the user events they and bonuses fire (spool.md §2.2).
 *
 * Every payment channel (admin API, Telegram, pay-system programs) goes
 * through payment_add(), inside the caller's write transaction:
 *
 *   1. a non-empty uniq_key already used by the user (also by a payment
 *      that was deleted since) returns that payment unchanged: no balance
 *      change, no event (DECISIONS D8). The insert is
 *      INSERT … ON CONFLICT (user_id, uniq_key) DO NOTHING, so concurrent
 *      duplicates on PostgreSQL wait for the first and then find its row;
 *      SQLite serialises writers (BEGIN IMMEDIATE);
 *   2. the row is inserted (a scalar comment is stored as {"comment": …});
 *   3. balance += money through the ledger (kind "payment", D7);
 *   4. the partner's reward (§18, bonus.h) when money > 0;
 *   5. the PAYMENT user event (settings pay_id), and RECEIPT when config
 *      pay_systems.srv_customlab_nalog.enabled and money > 0.
 *
 * Deleting a payment (payment_delete) removes the row only, as SHM does: the
 * balance is not changed and the payment's ledger row stays, so the ledger
 * still explains the balance. The row is kept in pays_history_deleted,
 * which keeps its uniq_key taken.
 */
#ifndef BILLD_PAYMENT_H
#define BILLD_PAYMENT_H

#include "../db/model.h"

#include <jansson.h>

/* Columns of pays_history; comment and uniq_key are hidden from users. */
extern const struct model pay_model;

/* What a payment is made of. Pointers are borrowed for the call. */
struct payment_input {
    int64_t user_id;
    int64_t money;             /* minor units; negative = refund, 0 = cancellation */
    const char *pay_system_id; /* at most 32 characters, or NULL */
    const json_t *comment;     /* any JSON or NULL; "" counts as NULL */
    const char *uniq_key;      /* at most 255 characters; NULL or "" = no idempotency */
};

/*
 * Applies a payment as described above. *row receives the payment (new or
 * existing) as pay_model renders it for admins; *created (may be NULL) tells
 * whether it is new. Returns 0, ERR_INVALID (with a "Field …" message: money
 * beyond MONEY_MAX, a pay_system_id or uniq_key too long), ERR_NOT_FOUND
 * (404, no such user) or a database error.
 */
int payment_add(struct db *db, const struct payment_input *in, json_t **row, bool *created,
                struct err *e);

/*
 * Deletes payment id of user_id (R104): the row moves to
 * pays_history_deleted (with the time and deleted_by), the balance and the
 * ledger are not touched. Returns 0, ERR_NOT_FOUND (404) or a database error.
 */
int payment_delete(struct db *db, int64_t user_id, int64_t id, int64_t deleted_by,
                   struct err *e);

/* The user events with a built-in action (spool.md §2.2). */
enum user_event {
    USER_EVENT_PAYMENT, /* settings pay_id: UserService.activate_services */
    USER_EVENT_BONUS,   /* settings bonus_id: UserService.activate_services */
    USER_EVENT_RECEIPT, /* settings pay_id: Cloud::Jobs.make_receipt */
    USER_EVENT_CREDIT,  /* settings credit: UserService.activate_services */
};

/*
 * Writes the built-in task of user event ev for user_id into the spool, in
 * the caller's transaction: status NEW, prio 100, event {kind, method, name,
 * title}, settings {<pay_id|bonus_id>: ref_id}, and one task per `events`
 * row of the same name. Returns 0 or a database error.
 */
int payment_user_event(struct db *db, int64_t user_id, enum user_event ev, int64_t ref_id,
                       struct err *e);

/* A user's credit and perm_credit flag, read before a change (payment_credit_changed). */
struct credit_state {
    int64_t credit;
    bool perm;
};
int payment_credit_read(struct db *db, int64_t user_id, struct credit_state *s, struct err *e);
/*
 * After credit or perm_credit of user_id may have changed from before: the
 * CREDIT user event (billing.md §20, spool.md §2.2) when the credit is now
 * above zero and differs, or perm_credit was switched on. Its built-in task
 * (settings {credit}) re-activates blocked services. Returns 0 or a
 * database error.
 */
int payment_credit_changed(struct db *db, int64_t user_id, const struct credit_state *before,
                           struct err *e);

#endif
