/*
 * session.h — login sessions (table sessions; api.md §4.5, DECISIONS D18).
 *
 * A session token is 43 random characters of [A-Za-z0-9] (about 256 bits).
 * Only its SHA-256 (hex) is stored as sessions.id, so a database dump holds
 * no usable session. `updated` is refreshed at most every 3 minutes on use;
 * sessions idle for 3 days are removed by the cleanup job (a later issue).
 * Sessions are written outside the request transaction, as SHM's MyISAM
 * table was (data-model.md §1.6).
 */
#ifndef BILLD_SESSION_H
#define BILLD_SESSION_H

#include "../db/db.h"

#define SESSION_TOKEN_LEN 43
#define SESSION_TOUCH_EVERY 180
#define SESSION_IDLE_MAX (3 * 86400)

/*
 * Creates a session for user_id (settings_json may be NULL) and writes the
 * token to out (SESSION_TOKEN_LEN + 1 bytes). Returns 0 or a DB error.
 */
int session_create(struct db *db, int64_t user_id, const char *settings_json,
                   char out[SESSION_TOKEN_LEN + 1], struct err *e);
/*
 * Resolves a token to its user; refreshes `updated` when older than
 * SESSION_TOUCH_EVERY. Returns 0, ERR_NOT_FOUND (unknown or idle too long)
 * or a DB error.
 */
int session_lookup(struct db *db, const char *token, int64_t now, int64_t *user_id,
                   struct err *e);
/* Deletes the session of token (no error if absent). */
int session_delete(struct db *db, const char *token, struct err *e);
/* Deletes every session of user_id. */
int session_delete_user(struct db *db, int64_t user_id, struct err *e);

#endif
