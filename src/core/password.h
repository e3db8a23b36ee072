/*
 * password.h — password hashing (argon2id via libsodium, DECISIONS D17).
 *
 * Hashing is deliberately slow (~0.1 s, 64 MiB), so at most
 * PASSWORD_MAX_CONCURRENT hashes run at once in the process: a login flood
 * queues instead of taking 64 MiB per request.
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
/*
 * Checks pw against a stored hash. Unknown schemes (SHM's $7$ and SHA-1 come
 * with the importer) and NULL/empty hashes never match.
 */
bool password_verify(const char *stored, const char *pw);
/* True when stored should be re-hashed with the current parameters. */
bool password_needs_rehash(const char *stored);
/* Writes a random password of len-1 characters from [A-Za-z0-9] plus NUL. */
void password_generate(char *out, size_t len);
/* Writes len-1 uniformly random characters of [A-Za-z0-9] plus NUL (tokens). */
void random_alnum(char *out, size_t len);

#endif
