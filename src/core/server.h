/*
 * server.h — servers and server groups (tables servers and servers_groups;
 * data-model.md §3.11–3.12) and the choice of a server within a group
 * (spool.md §7, DECISIONS D25).
 *
 * Invariants kept by the checks below (the API calls them before writing):
 * servers.server_gid names an existing group or is NULL; settings is a JSON
 * object (or NULL) whose key_id names an existing identity and whose
 * max_services is a non-negative integer, when present (numeric strings are
 * stored as integers; every other key is kept verbatim); enabled is 0 or 1.
 * Groups 1 (LOCAL) and 2 (mail) are never deleted, nor a group that still
 * has servers or events, nor a server still used by live user services.
 *
 * Selection: eligible servers are the enabled servers of the group whose
 * services_count is below settings.max_services (when set). `random` draws
 * one weighted by servers.weight (NULL counts as the default 100; weight 0
 * is never drawn unless every eligible server has weight 0, then the draw is
 * uniform); `by-one` takes the highest services_count and `evenly` the
 * lowest, ties going to the lowest server_id. The choice itself
 * (server_choose) is pure so it can be tested with a seeded generator.
 */
#ifndef BILLD_SERVER_H
#define BILLD_SERVER_H

#include "../db/model.h"

#include <jansson.h>

extern const struct model server_model;
extern const struct model server_group_model;

/* The transports a server or group may name. */
#define SERVER_TRANSPORTS "ssh|http|mail|local|telegram"
/* The weight of a server whose weight is NULL (the column default). */
#define SERVER_DEFAULT_WEIGHT 100
/* Weights above this count as this much (keeps the weighted sum far from overflow). */
#define SERVER_MAX_WEIGHT ((int64_t)1 << 32)

enum server_group_type {
    SERVER_GROUP_RANDOM = 0, /* weighted random (D25) */
    SERVER_GROUP_BY_ONE,     /* fill one server before the next */
    SERVER_GROUP_EVENLY,     /* the least loaded server */
};

/* Parses "random", "by-one" or "evenly". Returns 0 or ERR_INVALID. */
int server_group_type_parse(const char *s, enum server_group_type *out);

/* One server as the selection sees it. */
struct server_candidate {
    int64_t server_id;
    int64_t weight;         /* negative counts as 0 */
    int64_t services_count;
    int64_t max_services;   /* < 0: no limit */
    bool enabled;
};

/*
 * A random number source: returns uniformly distributed 64-bit values.
 * server_rng_system() reads the system CSPRNG (libsodium); ctx is unused.
 */
uint64_t server_rng_system(void *ctx);

/*
 * Chooses among the n candidates by type (see the header comment) and
 * writes the chosen server_id. rng (with rng_ctx) is used by
 * SERVER_GROUP_RANDOM only; NULL means server_rng_system. Returns 0 or
 * ERR_NOT_FOUND when no candidate is eligible.
 */
int server_choose(enum server_group_type type, const struct server_candidate *cand, size_t n,
                  uint64_t (*rng)(void *), void *rng_ctx, int64_t *server_id);

/*
 * Chooses a server of group group_id from the database (the spool calls this
 * for events with a server_gid). rng as for server_choose. Returns 0 and
 * *server_id, or ERR_NOT_FOUND with SHM's message in e: "The server group
 * does not exist" or "Can't found servers for group" (spool.md §5.3 uses
 * them as the STUCK reasons), or a database error.
 */
int server_select(struct db *db, int64_t group_id, uint64_t (*rng)(void *), void *rng_ctx,
                  int64_t *server_id, struct err *e);

/*
 * Adds delta to services_count of server_id, never going below 0 (the spool:
 * +1 when a service is first bound to the server, -1 when it is REMOVED).
 * Returns 0, ERR_NOT_FOUND or a database error.
 */
int server_services_count_add(struct db *db, int64_t server_id, int64_t delta, struct err *e);

/*
 * Checks the column values of a server insert or update (an object of
 * column → JSON value, already type-checked against server_model):
 * server_gid, enabled, not-null columns and settings (normalising key_id and
 * max_services). Returns 0 or ERR_INVALID with a "Field x: …" message.
 */
int server_check_values(struct db *db, json_t *values, struct err *e);
/* The same for a server group: not-null columns and a settings object. */
int server_group_check_values(json_t *values, struct err *e);

/*
 * Refuses (ERR_INVALID with a message) to delete a server still used by user
 * services that are not REMOVED or named by an event's settings.server_id.
 */
int server_check_delete(struct db *db, int64_t server_id, struct err *e);
/* Refuses to delete groups 1 and 2, and groups that still have servers or events. */
int server_group_check_delete(struct db *db, int64_t group_id, struct err *e);

#endif
