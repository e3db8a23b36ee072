/*
 * config_store.h — the `config` table: key → JSON value (other.md §2).
 * This issue needs reads only (company info, registration switches); the
 * admin API with deep merge comes with the catalogue issue.
 */
#ifndef BILLD_CONFIG_STORE_H
#define BILLD_CONFIG_STORE_H

#include "../db/db.h"

#include <jansson.h>

/* Reads the value of key into *out (new reference). ERR_NOT_FOUND if absent. */
int config_store_get(struct db *db, const char *key, json_t **out, struct err *e);
/*
 * Reads the value at a dotted path below key ("billing", "allow_user_register_api")
 * as a new reference, or NULL when absent. DB errors also give NULL (logged).
 */
json_t *config_store_lookup(struct db *db, const char *key, const char *dotted_path);

#endif
