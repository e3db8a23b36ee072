/*
 * cache.h — the shared key/value cache with expiry (table cache, migration
 * 0008) behind the templates' `cache` object (templates.md §7.17), where
 * SHM uses Redis.
 *
 * One namespace for every template and user. A key whose `expires` second
 * has come (expires <= now) is gone: reads do not see it, writes replace it
 * and remove expired rows as they go. `now` is passed in (time_now(), the
 * test clock in tests). Keys are 1 to CACHE_KEY_MAX bytes, values text of
 * at most CACHE_VALUE_MAX bytes (callers store structures as JSON).
 */
#ifndef BILLD_CACHE_H
#define BILLD_CACHE_H

#include "../common.h"

struct db;

#define CACHE_KEY_MAX 255
#define CACHE_VALUE_MAX ((size_t)1 << 20)

/* The live value of key into *value (owned). Returns 0, ERR_NOT_FOUND or a DB error. */
int cache_get(struct db *db, const char *key, int64_t now, char **value, struct err *e);
/*
 * Stores value under key until expires (Unix second, 0 = never). Returns 0,
 * ERR_INVALID (key or value size) or a DB error.
 */
int cache_set(struct db *db, const char *key, const char *value, int64_t expires, int64_t now,
              struct err *e);
/*
 * Adds one to the integer under key (a missing or expired key counts from 0)
 * and sets its expiry to expires; *out gets the new value. Returns 0,
 * ERR_INVALID when the stored value is not an integer, or a DB error.
 */
int cache_incr(struct db *db, const char *key, int64_t expires, int64_t now, int64_t *out,
               struct err *e);
/*
 * Removes key; *old (may be NULL) gets the live value it had (owned).
 * Returns 0, ERR_NOT_FOUND when there was no live value, or a DB error.
 */
int cache_delete(struct db *db, const char *key, int64_t now, char **old, struct err *e);

#endif
