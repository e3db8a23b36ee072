/*
 * forecast.h — what the user will have to pay soon (billing.md §16):
 * the services expiring before a horizon, each with its next withdraw
 * priced as the renewal will price it (queued withdraw, next service or the
 * grandfathered price), bonuses taken from a running pool, the balance or
 * debt (`dept`, sic) applied to the total.
 */
#ifndef BILLD_FORECAST_H
#define BILLD_FORECAST_H

#include "../db/db.h"

#include <jansson.h>

struct forecast_opts {
    int days;            /* default 3 */
    bool consider_today; /* horizon from the start of today instead of tomorrow */
    bool blocked;        /* also BLOCK services */
};

/*
 * The forecast of user_id at time now as a new object {balance, bonuses,
 * items, total[, dept]} (§16.2). Returns 0 or an error.
 */
int forecast_build(struct db *db, int64_t user_id, const struct forecast_opts *o, int64_t now,
                   json_t **out, struct err *e);

#endif
