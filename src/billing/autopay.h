/*
 * autopay.h — the saved recurring payment methods of a user (billing.md
 * §21): entries users.settings.pay_systems.<ps> holding a payment_id whose
 * config pay_systems.<ps>.allow_recurring is on. Lists them (names only,
 * never the saved tokens) and deletes one or all of them. Used by
 * GET/DELETE /user/autopayment (api_payment.c, R55/R56) and by the
 * template members has_autopayment, list_autopayments, delete_autopayment
 * and make_autopayment (obj_user_admin.c).
 */
#ifndef BILLD_AUTOPAY_H
#define BILLD_AUTOPAY_H

#include "../db/db.h"

#include <jansson.h>

/*
 * The saved recurring methods in settings (a users.settings object, may be
 * NULL) as a new object {ps: saved entry}; empty when there are none.
 */
json_t *autopay_saved(struct db *db, const json_t *settings);

/*
 * The saved recurring methods of user_id as a new array of
 * {pay_system, name} (name: config pay_systems.<ps>.name, else the key), by
 * pay_system. ERR_NOT_FOUND when the user does not exist.
 */
int autopay_list(struct db *db, int64_t user_id, json_t **out, struct err *e);

/*
 * Removes the saved recurring method of pay system ps (NULL: every one) from
 * users.settings.pay_systems of user_id; other entries stay. *removed (may
 * be NULL) receives how many were removed; nothing is written when none.
 * Runs in the caller's transaction when one is open, else in its own.
 */
int autopay_delete(struct db *db, int64_t user_id, const char *ps, int64_t *removed,
                   struct err *e);

#endif
