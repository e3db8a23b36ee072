/*
 * test_password.c — unit tests of src/core/password.c: argon2id hash and
 * verify round trip, wrong and over-long passwords, stored hashes that must
 * never match (NULL, empty, other schemes, truncated), password_needs_rehash,
 * and the random token/password generators (length, alphabet, uniqueness).
 * Each argon2 hash costs ~0.1 s, so the test computes three.
 */
#include "common.h"
#include "core/password.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static char g_hash[PASSWORD_HASH_MAX];

static int group_setup(void **state)
{
    UNUSED(state);
    if (password_init() != 0)
        return -1;
    /* one hash shared by the tests that only read it */
    return password_hash("correct horse battery staple", g_hash) == 0 ? 0 : -1;
}

static void test_init_idempotent(void **state)
{
    UNUSED(state);
    assert_int_equal(password_init(), 0);
    assert_int_equal(password_init(), 0);
}

static void test_hash_format(void **state)
{
    UNUSED(state);
    assert_true(strncmp(g_hash, "$argon2id$", 10) == 0);
    assert_true(strlen(g_hash) < PASSWORD_HASH_MAX);
    assert_null(strstr(g_hash, "correct horse"));
    assert_false(password_needs_rehash(g_hash));
}

static void test_verify(void **state)
{
    UNUSED(state);
    assert_true(password_verify(g_hash, "correct horse battery staple"));
    assert_false(password_verify(g_hash, "correct horse battery stapler"));
    assert_false(password_verify(g_hash, "Correct horse battery staple"));
    assert_false(password_verify(g_hash, ""));
}

static void test_salted(void **state)
{
    char h[PASSWORD_HASH_MAX];
    UNUSED(state);
    /* same password, fresh salt: a different string that verifies the same */
    assert_int_equal(password_hash("correct horse battery staple", h), 0);
    assert_string_not_equal(h, g_hash);
    assert_true(password_verify(h, "correct horse battery staple"));
    assert_false(password_verify(h, "wrong"));
}

static void test_too_long(void **state)
{
    char h[PASSWORD_HASH_MAX];
    char *pw = xmalloc(PASSWORD_MAX_LENGTH + 2);
    UNUSED(state);
    memset(pw, 'a', PASSWORD_MAX_LENGTH + 1);
    pw[PASSWORD_MAX_LENGTH + 1] = '\0';
    /* refused before hashing, and an over-long candidate never verifies */
    assert_int_equal(password_hash(pw, h), ERR_INVALID);
    assert_false(password_verify(g_hash, pw));
    free(pw);
}

static void test_stored_never_matches(void **state)
{
    UNUSED(state);
    assert_false(password_verify(NULL, "x"));
    assert_false(password_verify(NULL, ""));
    assert_false(password_verify("", ""));
    assert_false(password_verify("", "x"));
    /* SHM's scrypt ($7$) and bare SHA-1 of "password" come with the importer later */
    assert_false(password_verify("$7$C6..../....SodiumChloride$"
                                 "kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D",
                                 "pleaseletmein"));
    assert_false(password_verify("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "password"));
    /* argon2i (not id), a truncated argon2id string, the scheme prefix alone */
    assert_false(password_verify("$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
                                 "wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
                                 "password"));
    char truncated[PASSWORD_HASH_MAX];
    snprintf(truncated, sizeof(truncated), "%.*s", (int)strlen(g_hash) - 5, g_hash);
    assert_false(password_verify(truncated, "correct horse battery staple"));
    assert_false(password_verify("$argon2id$", "correct horse battery staple"));
    /* the stored hash with one character of the digest changed */
    char tampered[PASSWORD_HASH_MAX];
    snprintf(tampered, sizeof(tampered), "%s", g_hash);
    size_t mid = strlen(tampered) - 10; /* inside the digest, not its padding bits */
    tampered[mid] = tampered[mid] == 'A' ? 'B' : 'A';
    assert_false(password_verify(tampered, "correct horse battery staple"));
}

static void test_needs_rehash(void **state)
{
    char weak[crypto_pwhash_STRBYTES];
    UNUSED(state);
    assert_true(password_needs_rehash(NULL));
    assert_true(password_needs_rehash(""));
    assert_true(password_needs_rehash("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"));
    assert_true(password_needs_rehash("$7$C6..../....SodiumChloride$x"));
    /* a valid argon2id hash with weaker parameters: still verifies, but is rehashed */
    assert_int_equal(crypto_pwhash_str(weak, "pw", 2, crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    assert_true(strncmp(weak, "$argon2id$", 10) == 0);
    assert_true(password_needs_rehash(weak));
    assert_true(password_verify(weak, "pw"));
    assert_false(password_verify(weak, "pW"));
    assert_false(password_needs_rehash(g_hash));
}

static bool all_alnum(const char *s)
{
    for (; *s; s++)
        if (!strchr(alnum, *s))
            return false;
    return true;
}

static void test_random_alnum(void **state)
{
    char a[44], b[44], one[1] = { 'X' }, two[2] = { 'X', 'X' };
    UNUSED(state);
    memset(a, 'X', sizeof(a));
    random_alnum(a, sizeof(a));
    assert_int_equal(strlen(a), 43);
    assert_true(all_alnum(a));
    random_alnum(b, sizeof(b));
    assert_int_equal(strlen(b), 43);
    assert_string_not_equal(a, b);

    random_alnum(one, 1);
    assert_int_equal(one[0], '\0');
    random_alnum(two, 2);
    assert_int_equal(strlen(two), 1);
    assert_non_null(strchr(alnum, two[0]));
    two[0] = 'Q';
    random_alnum(two, 0); /* writes nothing */
    assert_int_equal(two[0], 'Q');

    /* 20000 draws cover all 62 symbols and nothing else */
    enum { N = 20001 };
    char *big = xmalloc(N);
    random_alnum(big, N);
    assert_int_equal(strlen(big), N - 1);
    int seen[256] = { 0 };
    for (size_t i = 0; i + 1 < N; i++)
        seen[(unsigned char)big[i]]++;
    int distinct = 0;
    for (int c = 0; c < 256; c++) {
        if (!seen[c])
            continue;
        distinct++;
        assert_non_null(strchr(alnum, c));
        /* expectation 322 per symbol; far outside [150, 550] means a skewed generator */
        assert_in_range(seen[c], 150, 550);
    }
    assert_int_equal(distinct, 62);
    free(big);
}

static void test_password_generate(void **state)
{
    char p1[21], p2[21];
    UNUSED(state);
    password_generate(p1, sizeof(p1));
    password_generate(p2, sizeof(p2));
    assert_int_equal(strlen(p1), 20);
    assert_int_equal(strlen(p2), 20);
    assert_true(all_alnum(p1));
    assert_true(all_alnum(p2));
    assert_string_not_equal(p1, p2);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_idempotent),
        cmocka_unit_test(test_hash_format),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_salted),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_stored_never_matches),
        cmocka_unit_test(test_needs_rehash),
        cmocka_unit_test(test_random_alnum),
        cmocka_unit_test(test_password_generate),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
