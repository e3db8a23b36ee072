/*
 * session.c — session tokens stored hashed (see session.h).
 */
#include "session.h"
#include "password.h"
#include "../util/timeutil.h"

static void token_hash(const char *token, char out[crypto_hash_sha256_BYTES * 2 + 1])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, crypto_hash_sha256_BYTES * 2 + 1, d, sizeof(d));
}

static bool token_well_formed(const char *t)
{
    size_t n = strlen(t);
    if (n < 16 || n > 128)
        return false;
    for (; *t; t++) {
        char c = *t;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

int session_create(struct db *db, int64_t user_id, const char *settings_json,
                   char out[SESSION_TOKEN_LEN + 1], struct err *e)
{
    char id[crypto_hash_sha256_BYTES * 2 + 1];
    int64_t now = time_now();
    random_alnum(out, SESSION_TOKEN_LEN + 1);
    token_hash(out, id);
    struct db_value p[] = { DB_TEXT(id), DB_INT(user_id), DB_INT(now), DB_TEXT(settings_json) };
    return db_exec(db,
                   "INSERT INTO sessions (id, user_id, created, updated, settings)"
                   " VALUES ($1, $2, $3, $3, $4)",
                   p, 4, NULL, e);
}

int session_lookup(struct db *db, const char *token, int64_t now, int64_t *user_id,
                   struct err *e)
{
    char id[crypto_hash_sha256_BYTES * 2 + 1];
    struct db_result *r = NULL;
    if (!token_well_formed(token))
        return err_set(e, ERR_NOT_FOUND, "Not authorized");
    token_hash(token, id);
    struct db_value p[] = { DB_TEXT(id), DB_INT(now) };
    int rc = db_query(db, "SELECT user_id, updated FROM sessions WHERE id = $1", p, 1, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) != 1 || db_result_int(r, 0, 1) < now - SESSION_IDLE_MAX) {
        db_result_free(r);
        return err_set(e, ERR_NOT_FOUND, "Not authorized");
    }
    *user_id = db_result_int(r, 0, 0);
    bool stale = db_result_int(r, 0, 1) < now - SESSION_TOUCH_EVERY;
    db_result_free(r);
    if (stale)
        rc = db_exec(db, "UPDATE sessions SET updated = $2 WHERE id = $1", p, 2, NULL, e);
    return rc;
}

int session_delete(struct db *db, const char *token, struct err *e)
{
    char id[crypto_hash_sha256_BYTES * 2 + 1];
    token_hash(token, id);
    struct db_value p[] = { DB_TEXT(id) };
    return db_exec(db, "DELETE FROM sessions WHERE id = $1", p, 1, NULL, e);
}

int session_delete_user(struct db *db, int64_t user_id, struct err *e)
{
    struct db_value p[] = { DB_INT(user_id) };
    return db_exec(db, "DELETE FROM sessions WHERE user_id = $1", p, 1, NULL, e);
}
