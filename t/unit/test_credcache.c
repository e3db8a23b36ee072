/*
 * test_credcache.c — unit tests of src/core/credcache.c, the cache of
 * verified credentials: a hit after store, TTL expiry through the `now`
 * argument, misses when the stored hash (password changed), the password or
 * the login differ, and credcache_forget_all.
 */
#include "common.h"
#include "core/credcache.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#define T0 INT64_C(1782944753)

static const char *hash_a = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$AAAA";
static const char *hash_b = "$argon2id$v=19$m=65536,t=2,p=1$b3RoZXJzYWx0$BBBB";

static int reset_cache(void **state)
{
    UNUSED(state);
    credcache_forget_all();
    return 0;
}

static void test_store_check(void **state)
{
    UNUSED(state);
    assert_false(credcache_check("alice", "s3cret", hash_a, T0));
    credcache_store("alice", "s3cret", hash_a, T0);
    assert_true(credcache_check("alice", "s3cret", hash_a, T0));
    assert_true(credcache_check("alice", "s3cret", hash_a, T0 + 1));
    /* an earlier clock still sees the entry */
    assert_true(credcache_check("alice", "s3cret", hash_a, T0 - 100));
}

static void test_ttl(void **state)
{
    UNUSED(state);
    credcache_store("alice", "s3cret", hash_a, T0);
    assert_true(credcache_check("alice", "s3cret", hash_a, T0 + CREDCACHE_TTL - 1));
    assert_false(credcache_check("alice", "s3cret", hash_a, T0 + CREDCACHE_TTL));
    assert_false(credcache_check("alice", "s3cret", hash_a, T0 + 3600));
    /* storing again renews the entry from the new time */
    credcache_store("alice", "s3cret", hash_a, T0 + 50);
    assert_true(credcache_check("alice", "s3cret", hash_a, T0 + 50 + CREDCACHE_TTL - 1));
    assert_false(credcache_check("alice", "s3cret", hash_a, T0 + 50 + CREDCACHE_TTL));
}

static void test_misses(void **state)
{
    UNUSED(state);
    credcache_store("alice", "s3cret", hash_a, T0);
    /* the password was changed: the stored hash differs */
    assert_false(credcache_check("alice", "s3cret", hash_b, T0 + 1));
    /* a wrong password, a different login, case matters */
    assert_false(credcache_check("alice", "s3cre", hash_a, T0 + 1));
    assert_false(credcache_check("alice", "s3cret ", hash_a, T0 + 1));
    assert_false(credcache_check("alice", "S3cret", hash_a, T0 + 1));
    assert_false(credcache_check("bob", "s3cret", hash_a, T0 + 1));
    assert_false(credcache_check("Alice", "s3cret", hash_a, T0 + 1));
    /* the parts are delimited: moving characters between them must not collide */
    assert_false(credcache_check("alices", "3cret", hash_a, T0 + 1));
    assert_false(credcache_check("alice", "", hash_a, T0 + 1));
    /* no stored hash never hits, and storing with none does nothing */
    assert_false(credcache_check("alice", "s3cret", NULL, T0 + 1));
    credcache_store("carol", "pw", NULL, T0);
    assert_false(credcache_check("carol", "pw", NULL, T0 + 1));
    /* the original entry is unaffected by all of the above */
    assert_true(credcache_check("alice", "s3cret", hash_a, T0 + 1));
}

static void test_many_entries(void **state)
{
    char login[32];
    int hits = 0;
    UNUSED(state);
    for (int i = 0; i < 50; i++) {
        snprintf(login, sizeof(login), "user%d", i);
        credcache_store(login, "pw", hash_a, T0);
    }
    /*
     * 50 random digests in 4096 slots: a slot collision (about one run in
     * three) evicts an entry, but nothing may ever hit with the wrong password.
     */
    for (int i = 0; i < 50; i++) {
        snprintf(login, sizeof(login), "user%d", i);
        hits += credcache_check(login, "pw", hash_a, T0 + 1);
        assert_false(credcache_check(login, "pw2", hash_a, T0 + 1));
    }
    assert_in_range(hits, 45, 50);
}

static void test_forget_all(void **state)
{
    UNUSED(state);
    credcache_store("alice", "s3cret", hash_a, T0);
    credcache_store("bob", "hunter2", hash_b, T0);
    assert_true(credcache_check("bob", "hunter2", hash_b, T0));
    credcache_forget_all();
    assert_false(credcache_check("alice", "s3cret", hash_a, T0));
    assert_false(credcache_check("bob", "hunter2", hash_b, T0));
    credcache_store("alice", "s3cret", hash_a, T0);
    assert_true(credcache_check("alice", "s3cret", hash_a, T0));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_store_check, reset_cache),
        cmocka_unit_test_setup(test_ttl, reset_cache),
        cmocka_unit_test_setup(test_misses, reset_cache),
        cmocka_unit_test_setup(test_many_entries, reset_cache),
        cmocka_unit_test_setup(test_forget_all, reset_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
