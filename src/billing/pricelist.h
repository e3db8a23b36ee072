/*
 * pricelist.h — the services a user may order and their prices
 * (billing.md §8.2, GET /service/order): composite costs, the personal
 * discount, bonuses under limit_bonus_percent, order_only_once hiding.
 * Also the orderability check of creating a service (§9 step 1, D16).
 */
#ifndef BILLD_PRICELIST_H
#define BILLD_PRICELIST_H

#include "../db/db.h"

#include <jansson.h>

/*
 * The composite cost of service id (§8.2): its cost, plus the composite cost
 * of each child times the child's qnt. Depth-capped. Returns 0 or an error.
 */
int pricelist_composite_cost(struct db *db, int64_t id, int64_t *out, struct err *e);

/*
 * The price list of user_id as a new array of service objects (hidden
 * fields removed) with cost, discount, cost_discount, real_cost, cost_bonus,
 * real_cost_with_bonuses and partial_renew. category (NULL = any) is a LIKE
 * mask. Services in ascending id order.
 */
int pricelist_build(struct db *db, int64_t user_id, const char *category, json_t **out,
                    struct err *e);

/* True when service_id is in the price list of user_id (no category filter). */
int pricelist_orderable(struct db *db, int64_t user_id, int64_t service_id, bool *yes,
                        struct err *e);

#endif
