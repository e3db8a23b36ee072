/*
 * config_store.h — the `config` table: key → JSON value (other.md §2).
 *
 * Reads for the rest of billd (company info, registration switches, …) and
 * the writes behind the admin API (api_config.c): whole values are replaced
 * through the model-driven handlers, POST /admin/config/<key> deep-merges a
 * patch (config_store_merge), DELETE /admin/config/<key>?value= removes one
 * top-level sub-key. Keys starting with "_" (e.g. `_shm`) are system keys:
 * they are never deleted.
 */
#ifndef BILLD_CONFIG_STORE_H
#define BILLD_CONFIG_STORE_H

#include "../db/model.h"

#include <jansson.h>

/* Columns of `config`: key (≤ 32 characters), value (any JSON but null). */
extern const struct model config_model;

/* Reads the value of key into *out (new reference). ERR_NOT_FOUND if absent. */
int config_store_get(struct db *db, const char *key, json_t **out, struct err *e);
/*
 * Reads the value at a dotted path below key ("billing", "allow_user_register_api")
 * as a new reference, or NULL when absent. DB errors also give NULL (logged).
 */
json_t *config_store_lookup(struct db *db, const char *key, const char *dotted_path);

/* SHM's truth of a config flag: true, a non-zero number, a non-empty string other than "0". */
bool config_flag_on(const json_t *v);

/* True for system keys (starting with "_"), which are never deleted. */
bool config_store_key_protected(const char *key);
/*
 * Checks a new key: 1–32 characters, no control characters. Returns 0 or
 * ERR_INVALID with "Field key: ..." in e.
 */
int config_store_check_key(const char *key, struct err *e);

/*
 * Deep merge (pure): returns a new value, base and patch are not changed.
 *   - patch not an object: the result is a copy of patch (replaces the value);
 *   - otherwise the result starts as a copy of base (a base that is not an
 *     object counts as {}) and, for each key of patch:
 *       null              → the key is removed;
 *       {} (empty object) → the key is set to {} (a reset, not a no-op);
 *       non-empty object  → merged recursively into the key's object (a key
 *                           that is absent or not an object starts as {});
 *       anything else     → replaces the key (arrays are replaced, not merged).
 * So a top-level {} patch changes nothing.
 */
json_t *config_store_merge(const json_t *base, const json_t *patch);

/*
 * Deep-merges patch into the stored value of key (row locked on PostgreSQL)
 * and stores the result; *out receives the new value (new reference).
 * ERR_NOT_FOUND (status 404, "Object not found. Check the ID.") when the key
 * does not exist.
 */
int config_store_merge_into(struct db *db, const char *key, const json_t *patch, json_t **out,
                            struct err *e);
/*
 * Removes the top-level sub-key `sub` of the stored value of key (no change
 * when it is absent) and stores the result; *out receives the new value.
 * ERR_NOT_FOUND (404) when key does not exist, ERR_INVALID (400) when its
 * value is not an object.
 */
int config_store_remove_subkey(struct db *db, const char *key, const char *sub, json_t **out,
                               struct err *e);

#endif
