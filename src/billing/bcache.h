/*
 * bcache.h — what a run of the billing engine reads again and again but never
 * writes: catalogue services (struct bill_service), the billing strategy
 * (config billing.type), the period discounts (table `discounts`) and the
 * `events` bindings with the spool events made of them. The renewal pass (renew.c)
 * keeps one cache per batch transaction, so on SQLite (BEGIN IMMEDIATE: no
 * other writer) every answer is exactly what the database holds; nothing is
 * global and nothing outlives the transaction it was filled in.
 *
 * Every function takes a NULL cache and then reads the database directly, so
 * callers pass through whatever cache they were given.
 */
#ifndef BILLD_BCACHE_H
#define BILLD_BCACHE_H

#include "withdraw.h"

struct bcache;

/* An empty cache (owned; free with bcache_free). */
struct bcache *bcache_new(void);
void bcache_free(struct bcache *c);

/*
 * bill_service_load through the cache: *out is the caller's own copy (free
 * with bill_service_free; its config and children are shared read-only
 * references). Misses and errors are not cached.
 */
int bcache_service(struct bcache *c, struct db *db, int64_t id, struct bill_service *out,
                   struct err *e);

/* withdraw_strategy(db), read once per cache. */
enum calc_strategy bcache_strategy(struct bcache *c, struct db *db);

/* withdraw_period_discount(db, months, out, e), each months value read once per cache. */
int bcache_period_discount(struct bcache *c, struct db *db, int64_t months, int64_t *out,
                           struct err *e);

/*
 * The spool event of events row `row` (one of the rows bcache_events answered,
 * compared by address), prepared once per cache from make(row), the event JSON to
 * queue for it. NULL without a cache: the caller prepares it itself.
 */
struct spool_event;
const struct spool_event *bcache_spool_event(struct bcache *c, const json_t *row,
                                             json_t *(*make)(const json_t *row));

/* event_find(db, name, category, out, e) with the events rows read once per cache. */
int bcache_events(struct bcache *c, struct db *db, const char *name, const char *category,
                  json_t **out, struct err *e);

#endif
