/*
 * pricelist.h — the services a user may order and their prices
 * (billing.md §8.2, GET /service/order): composite costs, the personal
 * discount, bonuses under limit_bonus_percent, order_only_once hiding.
 * Also the orderability check of creating a service (§9 step 1, D16).
 *
 * Candidates: when config billing.price_list_template_id names a template,
 * the non-deleted services whose ids that template renders as a JSON array,
 * in that order (rendered as the user, with `category` and `filter` as
 * variables); otherwise the services with allow_to_order = 1 and
 * deleted = 0 matching category (LIKE) and filter (api.md §9.6 rules on the
 * services columns), in ascending id order. A price list computed while the
 * price-list template itself is being rendered (a template calling
 * service.price_list) uses the second form, so the template cannot recurse.
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
 * mask. pricelist_query() without a filter.
 */
int pricelist_build(struct db *db, int64_t user_id, const char *category, json_t **out,
                    struct err *e);

/* The request-side selection of a price list; every field may be NULL. */
struct pricelist_opts {
    const char *category; /* LIKE mask on services.category */
    const json_t *filter; /* a JSON object, or a string holding one (borrowed) */
};

/*
 * The price list of user_id for the selection o (see above) as a new array
 * in *out. Returns 0; ERR_INVALID (400) for a malformed filter or a template
 * whose output is not a JSON array of service ids; the render's error when
 * the configured template is missing or fails. *out is NULL after a failure.
 */
int pricelist_query(struct db *db, int64_t user_id, const struct pricelist_opts *o,
                    json_t **out, struct err *e);

/* True when service_id is in the price list of user_id (no category filter). */
int pricelist_orderable(struct db *db, int64_t user_id, int64_t service_id, bool *yes,
                        struct err *e);

#endif
