/*
 * credcache.h — an in-memory cache of recently verified passwords.
 *
 * Scripts and bots send Basic or login/password headers on every request;
 * running argon2 each time would cost ~0.1 s per request. After a successful
 * verification the pair (login, password, stored hash) is remembered as a
 * keyed BLAKE2b digest (the key is random per process, so the cache holds
 * nothing an attacker could use offline) for CREDCACHE_TTL seconds.
 *
 * The stored hash is part of the digest, so a password change anywhere (on
 * any node) makes old entries unreachable at once; blocking is checked on
 * the user row by the caller on every request. credcache_forget_all() exists
 * for tests and for operators.
 */
#ifndef BILLD_CREDCACHE_H
#define BILLD_CREDCACHE_H

#include "../common.h"

#define CREDCACHE_TTL 60
#define CREDCACHE_SLOTS 4096

/* True if (login, pw, stored_hash) was verified less than CREDCACHE_TTL seconds ago. */
bool credcache_check(const char *login, const char *pw, const char *stored_hash, int64_t now);
/* Remembers a successful verification made at now. */
void credcache_store(const char *login, const char *pw, const char *stored_hash, int64_t now);
/* Drops every entry. */
void credcache_forget_all(void);

#endif
