/*
 * service.h — the service catalogue (table services; data-model.md §3.2).
 *
 * Owns the services model (columns, hidden fields, limits) and the rules the
 * model cannot express: billing flags are 0 or 1, a period is a positive
 * M.DDHH value, `config` is a JSON object kept as given, and `children` is a
 * list of {service_id, qnt} that names existing, non-deleted services, never
 * the service itself, and never closes a cycle in the catalogue graph.
 *
 * SHM's legacy children form — a plain list of ids — is read everywhere and
 * normalised to {service_id, qnt: 1} when written. Services are deleted
 * softly (deleted = 1); ids are never reused.
 */
#ifndef BILLD_SERVICE_H
#define BILLD_SERVICE_H

#include "../db/model.h"
#include "../util/buf.h"

#include <jansson.h>

extern const struct model service_model;

/* Most entries a children list may hold. */
#define SERVICE_MAX_CHILDREN 256
/* Largest quantity of one child service. */
#define SERVICE_MAX_QNT 1000000

/*
 * Checks a period value (JSON number or string, M.DDHH) and returns its
 * scaled form (period.h) in *scaled. Refuses what period_from_json() refuses
 * and a zero period. Returns 0 or ERR_INVALID with "Field period: ..." in e.
 */
int service_period_check(const json_t *v, int64_t *scaled, struct err *e);

/*
 * Checks a billing flag value of field name: 0 or 1 as a number, boolean or
 * string. null is accepted when nullable. Returns 0 and a new reference to
 * the normalised value (json integer 0/1, or null) in *out, or ERR_INVALID
 * with "Field <name>: must be 0 or 1" in e.
 */
int service_flag_check(const char *name, const json_t *v, bool nullable, json_t **out,
                       struct err *e);

/*
 * Checks and normalises, in place, the column values of a create or update
 * (values already passed model_check_value): name not empty, cost and period
 * not null, period > 0, flags 0/1, config an object (a string holding a JSON
 * object is decoded), a positive service_id on create. `children` is left
 * alone (see service_children_normalize). Returns 0 or ERR_INVALID.
 */
int service_values_check(json_t *values, bool create, struct err *e);

/*
 * Normalises a children list given by a client into a new array of
 * {service_id, qnt} in *out (owned). in is an array (or a string holding
 * one) whose entries are service ids (legacy form: numbers or digit strings)
 * or objects with service_id and an optional qnt (default 1; other keys are
 * dropped). qnt must be a positive number up to SERVICE_MAX_QNT. Entries
 * naming self_id (0 = none) are dropped. Order and repeats are kept.
 * Returns 0 or ERR_INVALID with "Field children...: ..." in e.
 */
int service_children_normalize(const json_t *in, int64_t self_id, json_t **out, struct err *e);

/*
 * Reads a stored children value (any form, NULL or invalid) leniently:
 * returns a new array of {service_id, qnt}, skipping entries without a valid
 * service id; a missing or bad qnt reads as 1 (SHM's `qnt || 1`).
 */
json_t *service_children_read(const json_t *stored);

/* One service of the catalogue graph: its id, deleted flag and child ids. */
struct service_node {
    int64_t id;
    bool deleted;
    int64_t *children; /* owned */
    size_t nchildren;
};

/* The catalogue as a graph service → child services, sorted by id. */
struct service_graph {
    struct service_node *nodes; /* owned, ascending id */
    size_t n, cap;
};

void service_graph_init(struct service_graph *g);
void service_graph_free(struct service_graph *g);
/*
 * Adds the node id, or replaces its children and deleted flag, reading
 * children leniently (any stored form; NULL = none).
 */
void service_graph_set(struct service_graph *g, int64_t id, const json_t *children, bool deleted);
/* The node id, or NULL (borrowed; valid until the next service_graph_set). */
const struct service_node *service_graph_get(const struct service_graph *g, int64_t id);
/*
 * True when a cycle is reachable from start (start = 0: from any node). The
 * cycle is written to path (if not NULL) as "a -> b -> a". Children naming
 * unknown services are ignored.
 */
bool service_graph_find_cycle(const struct service_graph *g, int64_t start, struct buf *path);
/*
 * Loads every service (deleted ones too) into g, locking the rows on
 * PostgreSQL (FOR UPDATE) so that concurrent children edits are serialised.
 */
int service_graph_load(struct db *db, struct service_graph *g, struct err *e);

/*
 * Validates a children list for service self_id (0 while creating without
 * an id) against the database: normalises it (service_children_normalize),
 * then requires every child to exist and not be deleted, and refuses a
 * cycle through self_id. Returns 0 and the normalised array in *out (owned),
 * or ERR_INVALID.
 */
int service_children_prepare(struct db *db, int64_t self_id, const json_t *in, json_t **out,
                             struct err *e);
/*
 * Replaces the children of service id with in (see service_children_prepare)
 * and returns the stored list in *out (owned). ERR_NOT_FOUND (404 "Object not
 * found. Check the ID.") when the service does not exist.
 */
int service_children_set(struct db *db, int64_t id, const json_t *in, json_t **out,
                         struct err *e);
/*
 * Lists the children of service id in their stored order: each entry is the
 * child's row (all columns) with the entry's service_id and qnt; an entry
 * whose service no longer exists is just {service_id, qnt}. Returns 0 and a
 * new array in *out, or ERR_NOT_FOUND (404).
 */
int service_children_list(struct db *db, int64_t id, json_t **out, struct err *e);
/* The stored children of id as normalised entries (new array), or ERR_NOT_FOUND (404). */
int service_children_get(struct db *db, int64_t id, json_t **out, struct err *e);
/*
 * Checks a `next` value: 0 or null (renew as the same service), or the id of
 * an existing, non-deleted service. Returns 0 or ERR_INVALID.
 */
int service_check_next(struct db *db, const json_t *next, struct err *e);
/*
 * The distinct, non-empty categories of non-deleted services, sorted
 * bytewise, as a new array of strings in *out.
 */
int service_categories(struct db *db, json_t **out, struct err *e);

#endif
