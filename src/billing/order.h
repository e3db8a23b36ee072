/*
 * order.h — the checks of ordering a service for a user (billing.md §9
 * steps 1–2), shared by PUT /service/order, PUT /admin/service/order and the
 * template members us.create, service.create_for_api and service.reg: the
 * service must exist and not be deleted; for a non-admin it must be in the
 * user's price list (D16); and the de-duplication options that return an
 * existing user service instead of creating one. The creation itself is
 * usvc_create().
 */
#ifndef BILLD_ORDER_H
#define BILLD_ORDER_H

#include "../db/db.h"

/*
 * Checks that service_id may be ordered by user_id: ERR_NOT_FOUND (404
 * "Service not found") when it does not exist or is deleted; with
 * check_orderable, ERR_DENIED (403 "The service is prohibited for
 * registration") when it is not in the user's price list. Returns 0 or an
 * error.
 */
int order_check(struct db *db, int64_t user_id, int64_t service_id, bool check_orderable,
                struct err *e);

/* The de-duplication options of an order (§9 step 2); all off = none. */
struct order_dedup {
    bool exists;          /* check_exists: a top-level us of the same service */
    bool unpaid;          /* check_exists_unpaid: the same, NOT PAID only */
    const char *category; /* check_category: a us whose service category matches (LIKE) */
};

/*
 * The first (lowest id) non-REMOVED user service of user_id that d names,
 * or *usi = 0 when there is none or d asks for nothing (a category takes
 * precedence over exists/unpaid). Returns 0 or a database error.
 */
int order_find_existing(struct db *db, int64_t user_id, int64_t service_id,
                        const struct order_dedup *d, int64_t *usi, struct err *e);

#endif
