/*
 * cache.c — the shared template cache (cache.h): one row per key in table
 * cache, expired rows invisible and swept by writes.
 */
#include "cache.h"

#include "../db/db.h"
#include "../util/strutil.h"

#define LIVE "(expires IS NULL OR expires > $2)"

static int check_key(const char *key, struct err *e)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > CACHE_KEY_MAX)
        return err_set(e, ERR_INVALID, "cache: the key must be 1 to %d bytes", CACHE_KEY_MAX);
    return 0;
}

static struct db_value expires_value(int64_t expires)
{
    return expires ? DB_INT(expires) : DB_NULL;
}

/* Before a write of key: checks it and removes the rows expired at now. */
static int prepare_write(struct db *db, const char *key, int64_t now, struct err *e)
{
    struct db_value p[] = { DB_INT(now) };
    int rc = check_key(key, e);
    return rc ? rc : db_exec(db, "DELETE FROM cache WHERE expires <= $1", p, 1, NULL, e);
}

int cache_get(struct db *db, const char *key, int64_t now, char **value, struct err *e)
{
    int rc = check_key(key, e);
    struct db_result *res = NULL;
    struct db_value p[] = { DB_TEXT(key), DB_INT(now) };
    if (rc == 0)
        rc = db_query(db, "SELECT value FROM cache WHERE key = $1 AND " LIVE, p, 2, &res, e);
    if (rc == 0 && db_result_rows(res) == 0)
        rc = ERR_NOT_FOUND;
    if (rc == 0)
        *value = xstrdup(db_result_text(res, 0, 0));
    db_result_free(res);
    return rc;
}

int cache_set(struct db *db, const char *key, const char *value, int64_t expires, int64_t now,
              struct err *e)
{
    struct db_value p[] = { DB_TEXT(key), DB_TEXT(value), expires_value(expires) };
    int rc = strlen(value) > CACHE_VALUE_MAX
                 ? err_set(e, ERR_INVALID, "cache: the value is over %zu bytes", CACHE_VALUE_MAX)
                 : prepare_write(db, key, now, e);
    if (rc == 0)
        rc = db_exec(db,
                     "INSERT INTO cache (key, value, expires) VALUES ($1, $2, $3) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                     "expires = excluded.expires",
                     p, 3, NULL, e);
    return rc;
}

int cache_incr(struct db *db, const char *key, int64_t expires, int64_t now, int64_t *out,
               struct err *e)
{
    char *cur = NULL;
    int64_t n = 0;
    int rc = cache_get(db, key, now, &cur, e);
    if (rc == 0 && parse_i64z(cur, INT64_MIN, INT64_MAX - 1, &n))
        rc = err_set(e, ERR_INVALID, "cache.increment: the value of %s is not an integer", key);
    else if (rc == ERR_NOT_FOUND)
        rc = 0;
    free(cur);
    if (rc == 0)
        rc = prepare_write(db, key, now, e);
    /* one statement, so concurrent increments of a live key all count */
    struct db_value p[] = { DB_TEXT(key), DB_INT(now), expires_value(expires) };
    if (rc == 0)
        rc = db_query_int(db,
                          "INSERT INTO cache (key, value, expires) VALUES ($1, '1', $3) "
                          "ON CONFLICT (key) DO UPDATE SET value = CASE WHEN "
                          "cache.expires IS NOT NULL AND cache.expires <= $2 THEN '1' "
                          "ELSE CAST(CAST(cache.value AS BIGINT) + 1 AS TEXT) END, "
                          "expires = $3 RETURNING CAST(value AS BIGINT)",
                          p, 3, out, e);
    return rc;
}

int cache_delete(struct db *db, const char *key, int64_t now, char **old, struct err *e)
{
    char *cur = NULL;
    int rc = cache_get(db, key, now, &cur, e);
    struct db_value p[] = { DB_TEXT(key) };
    if (rc == 0 || rc == ERR_NOT_FOUND) {
        int drc = db_exec(db, "DELETE FROM cache WHERE key = $1", p, 1, NULL, e);
        rc = drc ? drc : rc;
    }
    if (rc == 0 && old)
        *old = cur;
    else
        free(cur);
    return rc;
}
