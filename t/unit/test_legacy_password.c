/*
 * test_legacy_password.c — unit tests of SHM's password schemes in
 * src/core/password.c (api.md §4.4, DECISIONS D17): the legacy
 * sha1_hex(login . "--" . password) and "$7$" PBKDF2-HMAC-SHA512 hashes,
 * scheme detection, malformed and hostile stored values, and that both are
 * flagged for re-hashing to argon2id.
 *
 * The vectors were computed independently with Perl (Digest::SHA's sha1_hex
 * and a PBKDF2 loop over hmac_sha512, as SHM's Core::User::Passwd does) and
 * cross-checked with `openssl kdf … PBKDF2`.
 */
#include "common.h"
#include "core/password.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

/* SHM's seed users (data-model.md §6.2). */
#define ADMIN_SHA1 "0df78fa86a30eca0a918fdd21a94e238133ce7ab"
#define DANUK_SHA1 "d8923baf143645690cc89db46e4611fb1066e1f0"

/* PBKDF2-HMAC-SHA512, 100 000 iterations, 32-byte key (SHM's make_password). */
#define DANUK_PBKDF2 "$7$100000$000102030405060708090a0b0c0d0e0f$" \
                     "66efa3c7984b0f45c38e9006c45cbb9e3b5c05040034991a03124613d91a019f"
#define ADMIN_PBKDF2 "$7$100000$5f1c9e0d2a7b4c3e8f6a1b2c3d4e5f60$" \
                     "2abbec4b7ee1ea97f6a85d8777dc5fc19d47f1b806b8e283a4853389c5218a1f"
#define UTF8_PBKDF2 "$7$100000$0123456789abcdef0123456789abcdef$" \
                    "8f1407b32c214fd43e0ca30908ec1e8da9ee1ebeee3ee8f5e4b8b47b8c84c1f0"

static int group_setup(void **state)
{
    UNUSED(state);
    return password_init();
}

static void test_sha1_seed_users(void **state)
{
    UNUSED(state);
    assert_true(password_verify_login(ADMIN_SHA1, "admin", "admin"));
    assert_true(password_verify_login(DANUK_SHA1, "danuk", "danuk"));
    /* SHM lower-cases the login before salting with it */
    assert_true(password_verify_login(ADMIN_SHA1, "ADMIN", "admin"));
    assert_true(password_verify_login(ADMIN_SHA1, "Admin", "admin"));
    /* wrong password, wrong login, password case matters */
    assert_false(password_verify_login(ADMIN_SHA1, "admin", "Admin"));
    assert_false(password_verify_login(ADMIN_SHA1, "admin", "admin "));
    assert_false(password_verify_login(ADMIN_SHA1, "danuk", "admin"));
    assert_false(password_verify_login(DANUK_SHA1, "admin", "danuk"));
    assert_false(password_verify_login(ADMIN_SHA1, "admin", ""));
    /* the salt needs the login: without one the scheme never matches */
    assert_false(password_verify_login(ADMIN_SHA1, NULL, "admin"));
    assert_false(password_verify(ADMIN_SHA1, "admin"));
}

static void test_sha1_bytes(void **state)
{
    UNUSED(state);
    /* UTF-8 passwords are hashed as bytes; "--" and ":" inside are plain data */
    assert_true(password_verify_login("6ec209f63d48de6246d44d43499689fbff063923", "user",
                                      "пароль"));
    assert_true(password_verify_login("416ea824c4e9e354a4a3c3ce842f36dd432c0dea", "ya", ""));
    assert_true(password_verify_login("4dfe67a61a792333b8858f928be8117b932b6a05", "a:b", "c--d"));
    /* the scheme cannot tell where the login ends (one more reason to upgrade it, D17) */
    assert_true(password_verify_login("4dfe67a61a792333b8858f928be8117b932b6a05", "a:b--c", "d"));
    assert_false(password_verify_login("4dfe67a61a792333b8858f928be8117b932b6a05", "a:b-", "c--d"));
}

static void test_pbkdf2(void **state)
{
    UNUSED(state);
    assert_true(password_verify_login(DANUK_PBKDF2, "danuk", "danuk"));
    assert_true(password_verify(ADMIN_PBKDF2, "admin")); /* no login needed */
    assert_true(password_verify_login(UTF8_PBKDF2, "anyone", "пароль"));
    assert_false(password_verify(DANUK_PBKDF2, "Danuk"));
    assert_false(password_verify(ADMIN_PBKDF2, "danuk"));
    assert_false(password_verify(ADMIN_PBKDF2, ""));
    /* the iteration count, salt length and password length come from the hash */
    assert_true(password_verify("$7$1$a1b2c3d4e5f60718$"
                                "dc92a99af16ae6da2e58bac2201a8ae1f104cdfc0ea6e5c7a7e5b6ec39762ef8",
                                "correct horse battery staple"));
    assert_true(password_verify("$7$2$ff$"
                                "94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f",
                                "x"));
    assert_true(password_verify("$7$1000$00112233445566778899aabbccddeeff$"
                                "874fa6e07a5e35789e1d2861a7784e58e515582d43a98cb3c7b2efb0360d291c",
                                ""));
    /* same key with another iteration count or salt: no match */
    assert_false(password_verify("$7$3$ff$"
                                 "94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f",
                                 "x"));
    assert_false(password_verify("$7$2$fe$"
                                 "94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f",
                                 "x"));
}

static void test_malformed_never_match(void **state)
{
    UNUSED(state);
    static const char *const bad[] = {
        "",
        "$7$",
        "$7$100000$$66efa3c7984b0f45c38e9006c45cbb9e3b5c05040034991a03124613d91a019f",
        "$7$100000$000102030405060708090a0b0c0d0e0f$",
        "$7$$000102030405060708090a0b0c0d0e0f$66efa3c7984b0f45c38e9006c45cbb9e3b5c05040034991a03124613d91a019f",
        "$7$-1$ff$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f",
        "$7$0$ff$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f",
        /* upper-case hex, odd salt, short or long key, extra field, trailing newline */
        "$7$2$FF$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f",
        "$7$2$f$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f",
        "$7$2$ff$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c637",
        "$7$2$ff$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f00",
        "$7$2$ff$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f$",
        "$7$2$ff$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f\n",
        /* more iterations than allowed (a stored hash must not stall a worker) */
        "$7$1000001$ff$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f",
        "$7$99999999999999999999$ff$94cb5a7a20174df181c9993342e3cd5e5cd151c1c7ef096da76c81a976c6371f",
        /* SHA-1: upper case, 39 or 41 digits, non-hex */
        "0DF78FA86A30ECA0A918FDD21A94E238133CE7AB",
        "0df78fa86a30eca0a918fdd21a94e238133ce7a",
        "0df78fa86a30eca0a918fdd21a94e238133ce7ab0",
        "0df78fa86a30eca0a918fdd21a94e238133ce7ag",
        " 0df78fa86a30eca0a918fdd21a94e238133ce7ab",
        /* plain text passwords are no hash */
        "admin",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_false(password_verify_login(bad[i], "admin", "admin"));
        assert_false(password_verify_login(bad[i], "admin", "x"));
        assert_false(password_verify_login(bad[i], "admin", ""));
        assert_int_not_equal(password_scheme_of(bad[i]), PASSWORD_SCHEME_SHM_SHA1);
    }
    assert_false(password_verify_login(NULL, "admin", "admin"));
    assert_false(password_verify_login(ADMIN_SHA1, "admin", NULL));
    /* an over-long password never verifies (and is not hashed) */
    char *pw = xmalloc(PASSWORD_MAX_LENGTH + 2);
    memset(pw, 'a', PASSWORD_MAX_LENGTH + 1);
    pw[PASSWORD_MAX_LENGTH + 1] = '\0';
    assert_false(password_verify_login(ADMIN_SHA1, "admin", pw));
    assert_false(password_verify(ADMIN_PBKDF2, pw));
    free(pw);
}

static void test_scheme_of(void **state)
{
    char h[PASSWORD_HASH_MAX];
    UNUSED(state);
    assert_int_equal(password_scheme_of(NULL), PASSWORD_SCHEME_NONE);
    assert_int_equal(password_scheme_of(""), PASSWORD_SCHEME_NONE);
    assert_int_equal(password_scheme_of("admin"), PASSWORD_SCHEME_NONE);
    assert_int_equal(password_scheme_of(ADMIN_SHA1), PASSWORD_SCHEME_SHM_SHA1);
    assert_int_equal(password_scheme_of(DANUK_PBKDF2), PASSWORD_SCHEME_SHM_PBKDF2);
    /* scrypt's $7$ (another format with the same prefix) is not SHM's */
    assert_int_equal(password_scheme_of("$7$C6..../....SodiumChloride$"
                                        "kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D"),
                     PASSWORD_SCHEME_NONE);
    assert_int_equal(password_hash("a new password", h), 0);
    assert_int_equal(password_scheme_of(h), PASSWORD_SCHEME_ARGON2ID);
    /* billd's own hashes still verify through the login-aware entry point */
    assert_true(password_verify_login(h, "whoever", "a new password"));
    assert_true(password_verify_login(h, NULL, "a new password"));
    assert_false(password_verify_login(h, "whoever", "a new passwor"));
}

static void test_rehash_flag(void **state)
{
    UNUSED(state);
    /* SHM's schemes are upgraded to argon2id at the next successful login (D17) */
    assert_true(password_needs_rehash(ADMIN_SHA1));
    assert_true(password_needs_rehash(DANUK_PBKDF2));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_seed_users),
        cmocka_unit_test(test_sha1_bytes),
        cmocka_unit_test(test_pbkdf2),
        cmocka_unit_test(test_malformed_never_match),
        cmocka_unit_test(test_scheme_of),
        cmocka_unit_test(test_rehash_flag),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
