/*
 * password.h — password hashing (argon2id via libsodium, DECISIONS D17).
 *
 * Hashing is deliberately slow (~0.1 s, 64 MiB), so at most
 * PASSWORD_MAX_CONCURRENT hashes run at once in the process: a login flood
 * queues instead of taking 64 MiB per request.
 *
 * billd only writes argon2id, but verifies the two schemes of a database
 * imported from SHM (api.md §4.4) until their owners log in once and get an
 * argon2id hash (password_needs_rehash() is true for them):
 *   - "$7$<iterations>$<salt hex>$<key hex>": PBKDF2-HMAC-SHA512 of the
 *     password, 32-byte key (SHM uses 100 000 iterations and a 16-byte salt);
 *   - 40 lower-case hex digits: SHA-1 of "<login>--<password>" (the login
 *     lower-cased, as SHM salts it).
 * Comparisons of derived values are constant-time.
 */
#ifndef BILLD_PASSWORD_H
#define BILLD_PASSWORD_H

#include "../common.h"

#include <sodium.h>

#define PASSWORD_HASH_MAX crypto_pwhash_STRBYTES
#define PASSWORD_MAX_CONCURRENT 2
#define PASSWORD_MAX_LENGTH 1024

/* Initialises libsodium and the concurrency limit; call once at start-up. Returns 0 or ERR_INTERNAL. */
int password_init(void);
/* Hashes pw into out ("$argon2id$..."). Returns 0 or ERR_INVALID (too long) / ERR_NOMEM. */
int password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);
/* The schemes a stored hash may use. */
enum password_scheme {
    PASSWORD_SCHEME_NONE = 0, /* NULL, empty or unknown: never matches */
    PASSWORD_SCHEME_ARGON2ID, /* "$argon2id$…" (billd) */
    PASSWORD_SCHEME_SHM_PBKDF2, /* "$7$<iterations>$<salt hex>$<key hex>" (SHM) */
    PASSWORD_SCHEME_SHM_SHA1, /* 40 lower-case hex digits (SHM's legacy scheme) */
};
/* Most PBKDF2 iterations a stored $7$ hash may ask for (10x SHM's); more never match. */
#define PASSWORD_PBKDF2_MAX_ITERATIONS 1000000

/* The scheme of a stored hash, judged by its shape only. */
enum password_scheme password_scheme_of(const char *stored);
/*
 * Checks pw against a stored hash of any scheme above. login is needed only
 * by SHM's SHA-1 scheme (it is the salt; lower-cased here); with a NULL login
 * such hashes never match. NULL/empty/unknown hashes never match.
 */
bool password_verify_login(const char *stored, const char *login, const char *pw);
/* password_verify_login() without a login: argon2id and $7$ hashes only. */
bool password_verify(const char *stored, const char *pw);
/* True when stored should be re-hashed with the current parameters. */
bool password_needs_rehash(const char *stored);
/* Writes a random password of len-1 characters from [A-Za-z0-9] plus NUL. */
void password_generate(char *out, size_t len);
/* Writes len-1 uniformly random characters of [A-Za-z0-9] plus NUL (tokens). */
void random_alnum(char *out, size_t len);

#endif
