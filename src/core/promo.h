/*
 * promo.h — promo codes (table promo_codes; other.md §4, data-model.md
 * §3.20): generation as PUT /admin/promo, and the checks and bookkeeping of
 * applying a code. Rendering the code's template is the caller's
 * (src/api/api_promo.c), inside the same transaction, so a failed render
 * leaves the code unused.
 *
 * A code is its creator's row (id, user_id = creator, template_id,
 * settings, expire). A non-reusable code is marked used/used_by when
 * applied; a reusable code gets a usage row (id, user_id = the user who
 * applied it), created after the creator's row, and its settings.quantity
 * (when set) goes down by one.
 */
#ifndef BILLD_PROMO_H
#define BILLD_PROMO_H

#include "../db/model.h"

#include <jansson.h>

#define PROMO_CODE_MAX 32
#define PROMO_COUNT_MAX 1000

extern const struct model promo_model;

/* SELECT list of promo_model over table alias p, e.g. "SELECT " PROMO_SELECT " FROM promo_codes p". */
#define PROMO_SELECT "p.id, p.user_id, p.template_id, p.created, p.used, p.used_by, p.settings, p.expire"
/* The condition that p is a creator's row (no earlier row of the same code). */
#define PROMO_CREATOR_ROW                                                                     \
    "NOT EXISTS (SELECT 1 FROM promo_codes q WHERE q.id = p.id AND (q.created < p.created "  \
    "OR (q.created = p.created AND q.user_id < p.user_id)))"

/*
 * Creates codes for user_id from args (an object: template_id, count = 1,
 * length = 10, prefix, reusable = 0, code, expire (local date), quantity,
 * status = 1, public, any custom keys; every key but template_id, expire and
 * code is kept in settings). *codes gets a new array of the codes. Returns
 * 0, ERR_INVALID (with the field), ERR_CONFLICT (code exists) or a DB error.
 */
int promo_generate(struct db *db, int64_t user_id, const json_t *args, int64_t now,
                   json_t **codes, struct err *e);

/*
 * The creator's row of code (converted with promo_model, admin view) into
 * *row (owned). Returns 0, ERR_NOT_FOUND or a DB error.
 */
int promo_find(struct db *db, const char *code, json_t **row, struct err *e);

/*
 * Applies code for user_id at now: checks that it exists, is active
 * (settings.status is not 0), has not expired, has uses left and was not
 * used (by this user, for a reusable code), then records the use. *row gets
 * the creator's row (owned) for the template. Returns 0, ERR_NOT_FOUND or
 * ERR_INVALID (the message says why) or a DB error.
 */
int promo_apply(struct db *db, const char *code, int64_t user_id, int64_t now, json_t **row,
                struct err *e);

/*
 * Updates the creator's row of code from args: template_id (must exist),
 * settings (an object, replacing the stored one), expire (a local date; ""
 * or null clears it). Returns 0, ERR_NOT_FOUND, ERR_INVALID or a DB error.
 */
int promo_update(struct db *db, const char *code, const json_t *args, struct err *e);

/* Deletes code with its usage rows. Returns 0, ERR_NOT_FOUND or a DB error. */
int promo_delete(struct db *db, const char *code, struct err *e);

#endif
