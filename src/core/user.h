/*
 * user.h — accounts (table users; data-model.md §3.1).
 *
 * Owns the users model (columns, hidden and user-writable fields), login
 * rules (lower-cased, [A-Za-z0-9_@.-]+, matched against login or login2),
 * password storage, blocking and deletion. Balance and bonus change only
 * through ledger_adjust() (DECISIONS D7).
 */
#ifndef BILLD_USER_H
#define BILLD_USER_H

#include "../db/model.h"

#include <jansson.h>

extern const struct model user_model;

#define USER_ADMIN_GID 1

/* What authentication needs to know about a user. */
struct user_auth {
    int64_t user_id;
    bool admin;
    bool blocked;
    char *password; /* owned stored hash, or NULL */
};

/* Releases the strings of a. */
void user_auth_free(struct user_auth *a);
/* Loads the user whose login or login2 equals login (lower-cased here). ERR_NOT_FOUND if none. */
int user_find_by_login(struct db *db, const char *login, struct user_auth *out, struct err *e);
/* Loads user_id. ERR_NOT_FOUND if none. */
int user_find_by_id(struct db *db, int64_t user_id, struct user_auth *out, struct err *e);
/* Sets last_login = now. */
int user_touch_login(struct db *db, int64_t user_id, int64_t now, struct err *e);

/* Reads one user as JSON (hidden fields only for admin). ERR_NOT_FOUND if none. */
int user_read(struct db *db, int64_t user_id, bool admin, json_t **out, struct err *e);

/*
 * Validates and lower-cases login in place. Returns 0 or ERR_INVALID with a
 * message.
 */
int user_check_login(char *login, struct err *e);
/* Checks the password policy (length min_len..PASSWORD_MAX_LENGTH). */
int user_check_password(const char *pw, int min_len, struct err *e);

/*
 * Creates a user with login and password (hashed here). `fields` (may be
 * NULL) holds further columns to set (admin creation); unknown keys are
 * ignored. Returns 0 and the new id, ERR_CONFLICT (409 "Login already in
 * use") or ERR_INVALID.
 */
int user_create(struct db *db, const char *login, const char *password, int min_len,
                json_t *fields, int64_t *new_id, struct err *e);
/*
 * Updates user_id from the keys of args: for non-admins only the fields
 * flagged FF_USER_WRITE, for admins every column but the key, password and
 * created. balance and bonus go through the ledger; blocking deletes the
 * user's sessions. Returns 0, ERR_NOT_FOUND, ERR_INVALID or ERR_CONFLICT.
 */
int user_update(struct db *db, int64_t user_id, json_t *args, bool admin, struct err *e);
/* Sets a new password (hashed) and deletes all of the user's sessions. */
int user_set_password(struct db *db, int64_t user_id, const char *password, int min_len,
                      struct err *e);
/*
 * Deletes a user. Refuses admins, a non-zero balance or bonus, and existing
 * user services unless force. With force, a remaining balance/bonus is
 * written off through the ledger and the user's services, storage and
 * profiles go too; payments, withdraws, bonus history and the ledger stay as
 * the audit trail. Returns 0, ERR_NOT_FOUND or ERR_INVALID.
 */
int user_delete(struct db *db, int64_t user_id, bool force, struct err *e);

/*
 * First-run bootstrap: when no user exists yet, creates user 1 `admin`
 * (gid 1) with `password`, or with a generated one written to generated
 * (if generated_len > 0) when password is NULL. *created tells whether it
 * happened. Returns 0 or an error.
 */
int user_bootstrap_admin(struct db *db, const char *password, char *generated,
                         size_t generated_len, bool *created, struct err *e);

#endif
