/*
 * resource.h — SHM's default table handlers (api.md §6.1) driven by a model:
 * GET lists (the generic list machinery), PUT creates, POST updates and
 * DELETE deletes one row named by its key argument.
 *
 * Writes are validated before any SQL runs: only model fields are accepted
 * (other keys give 400 "Unknown field: <name>", except the request-control
 * arguments listed in resource.c), each value must convert to its field's
 * type and respect max_len / choices / FF_NONNEG, and FF_REQUIRED fields must
 * be present on create. A resource may add its own checks in before_write.
 *
 * A route uses a resource by pointing its `data` at a struct resource and its
 * handler at one of the api_resource_*() functions, or by calling the
 * resource_*() building blocks from its own handler.
 */
#ifndef BILLD_RESOURCE_H
#define BILLD_RESOURCE_H

#include "api.h"

struct resource {
    const struct model *m;
    /* column of the owning user: non-admins see and change only their rows; NULL = none */
    const char *owner;
    /* column set to 1 by DELETE instead of removing the row (soft delete), or NULL */
    const char *soft_delete;
    /*
     * Optional: checks or normalises values (an owned object of column → JSON
     * value) before an insert (create) or update; may add or remove keys.
     * key is NULL on create. Returns 0 or an error set with api_fail().
     */
    int (*before_write)(struct api_ctx *c, json_t *values, json_t *key, bool create);
    /* Optional: runs after a successful delete of key (inside the transaction). */
    int (*after_delete)(struct api_ctx *c, json_t *key);
};

/*
 * Collects and validates the writable values of c->args into *out (owned).
 * On update the key is not part of the values. Returns 0 or an error set on c.
 */
int resource_values(struct api_ctx *c, const struct resource *r, bool create, json_t **out);
/* The key argument of the request (new reference): 400 "`key` not present" when absent. */
int resource_key(struct api_ctx *c, const struct resource *r, json_t **out);
/*
 * Inserts values and returns the stored row as JSON in *row (owned). A
 * duplicate key gives 400 "Can't add a new object. Perhaps it already exists?".
 */
int resource_insert(struct api_ctx *c, const struct resource *r, json_t *values, json_t **row);
/* Updates the row named by key; 404 "Object not found. Check the ID." when absent. */
int resource_update(struct api_ctx *c, const struct resource *r, json_t *key, json_t *values,
                    json_t **row);
/* Reads the row named by key (owner-scoped for non-admins); 404 when absent. */
int resource_read(struct api_ctx *c, const struct resource *r, json_t *key, json_t **row);
/* Deletes (or soft-deletes) the row named by key; 404 when absent. */
int resource_delete(struct api_ctx *c, const struct resource *r, json_t *key);
/* Lists rows with the generic machinery; where may hold the caller's own conditions. */
int resource_list(struct api_ctx *c, const struct resource *r, struct sqlb *where);

/* Ready-made route handlers using c->route->data as the resource. */
int api_resource_list(struct api_ctx *c);
int api_resource_create(struct api_ctx *c);
int api_resource_update(struct api_ctx *c);
int api_resource_delete(struct api_ctx *c);

#endif
