/*
 * credcache.c — verified-credential cache (see credcache.h): a fixed table of
 * digests, indexed by the digest itself, guarded by one mutex.
 */
#include "credcache.h"

#include <pthread.h>
#include <sodium.h>

struct slot {
    unsigned char digest[crypto_generichash_BYTES];
    int64_t expires;
};

static struct slot slots[CREDCACHE_SLOTS];
static unsigned char cache_key[crypto_generichash_KEYBYTES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void make_key(void)
{
    if (sodium_init() < 0)
        abort();
    randombytes_buf(cache_key, sizeof(cache_key));
}

static void digest_of(const char *login, const char *pw, const char *stored,
                      unsigned char out[crypto_generichash_BYTES])
{
    crypto_generichash_state st;
    pthread_once(&key_once, make_key);
    crypto_generichash_init(&st, cache_key, sizeof(cache_key), crypto_generichash_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)login, strlen(login) + 1);
    crypto_generichash_update(&st, (const unsigned char *)pw, strlen(pw) + 1);
    crypto_generichash_update(&st, (const unsigned char *)stored, strlen(stored) + 1);
    crypto_generichash_final(&st, out, crypto_generichash_BYTES);
}

static struct slot *slot_for(const unsigned char *d)
{
    uint32_t idx;
    memcpy(&idx, d, sizeof(idx));
    return &slots[idx % CREDCACHE_SLOTS];
}

bool credcache_check(const char *login, const char *pw, const char *stored_hash, int64_t now)
{
    unsigned char d[crypto_generichash_BYTES];
    if (!stored_hash)
        return false;
    digest_of(login, pw, stored_hash, d);
    pthread_mutex_lock(&lock);
    struct slot *s = slot_for(d);
    bool hit = s->expires > now && sodium_memcmp(s->digest, d, sizeof(d)) == 0;
    pthread_mutex_unlock(&lock);
    return hit;
}

void credcache_store(const char *login, const char *pw, const char *stored_hash, int64_t now)
{
    unsigned char d[crypto_generichash_BYTES];
    if (!stored_hash)
        return;
    digest_of(login, pw, stored_hash, d);
    pthread_mutex_lock(&lock);
    struct slot *s = slot_for(d);
    memcpy(s->digest, d, sizeof(d));
    s->expires = now + CREDCACHE_TTL;
    pthread_mutex_unlock(&lock);
}

void credcache_forget_all(void)
{
    pthread_mutex_lock(&lock);
    memset(slots, 0, sizeof(slots));
    pthread_mutex_unlock(&lock);
}
