/*
 * test_identity.c — unit tests of src/core/identity.c and of the secret-key
 * part of src/util/config.c: the envelope (round trip, wrong key, the old
 * key during rotation, tampering, plain rows imported from SHM), key parsing
 * and fingerprints against fixture keys made once with ssh-keygen (the
 * expected values are what `ssh-keygen -l -E MD5 -f` and `ssh-keygen -l -f`
 * printed for them), generation of every type with re-import, the values the
 * API writes, and on a real database (SQLite, plus PostgreSQL when
 * BILLD_TEST_PG_URL is set) identity_private_key, identity_count_users and
 * identity_rekey_all.
 */
#include "common.h"
#include "core/identity.h"
#include "db/db.h"
#include "db/migrate.h"
#include "util/config.h"
#include "util/log.h"
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

/* ssh-keygen -t ed25519 -N "" -C "billd test fixture" */
static const char fx_ed25519[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACAMkXEEfYC1OKR+QdIMdACrBAouIOzNqz0KGXOcFJbMhwAAAJg58SlFOfEp\n"
    "RQAAAAtzc2gtZWQyNTUxOQAAACAMkXEEfYC1OKR+QdIMdACrBAouIOzNqz0KGXOcFJbMhw\n"
    "AAAEBZ+QppyqSXItGRGK3Svnxr3TayN/nBfJEp9xfQoCY16wyRcQR9gLU4pH5B0gx0AKsE\n"
    "Ci4g7M2rPQoZc5wUlsyHAAAAEmJpbGxkIHRlc3QgZml4dHVyZQECAw==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";
static const char fx_ed25519_pub[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAyRcQR9gLU4pH5B0gx0AKsECi4g7M2rPQoZc5wUlsyH";
static const char fx_ed25519_md5[] = "MD5:bb:4b:91:a3:cb:29:15:a5:37:f3:98:b9:23:31:52:df";
static const char fx_ed25519_sha256[] = "SHA256:fY0hQoD8b2dN0hKfmyPx7zJhtcLoDBz05OjTQQox5gU";

/* ssh-keygen -t rsa -b 2048 -m PEM -N "" -C "rsa fixture" */
static const char fx_rsa_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAyg7sFmGcSaZz7tfWPTLL2devKhnzweYsn7xKtLMuGn/Zzgmj\n"
    "Ki8wZdrgPiGWVbaCfj3GCl6wnUUSdW++/vqo0rtTVaeF1TbrdWgkPkWFImDto/eX\n"
    "ZfFQ4oOUc5mi+XiFpv020j0O8LjBNZJvcSuVGiYBgvJercIo6aV2H70BAEv5p2a0\n"
    "fVAIMR9FIJqDuLX1gASQjrDbBsZJS8VzrtOuHuld7Wk6vURpl1gAaCF08NT3dmlf\n"
    "0yVlwygRcVRCXDWjIQmWkTybuZM1tO3QWgQYsvp3Chl5/UuC/Icomhyqq3EwJHV9\n"
    "IfmLu7PfqqIJCm++VnAceaYEOWVSCd96TFBpawIDAQABAoIBADJ8CPvMlqaGOsgt\n"
    "0F8JDorWy3K6+j7zmims+4Nrk3TWhd5nZQeYs8B3L/kGHlA7Ih6Vo6Iap4kb5XFH\n"
    "ItMFYOIKINexXAx6RNlYVFnkt89vpWCG76JuaVW3J4O8ms43ETm4YZak39NAbjHK\n"
    "7SI7D+1xGoaTtRk3/k3mY/2pFRNz9mGzWp8HJ3RxAfrZoMbTRfGuFO+trV6PXPZW\n"
    "Ok9qMid/+T+mcAgxtUq9W1s7jfKfegUjnm4dRIu7E9ESXSdCN9Eb4RDnX8CFbLjQ\n"
    "63b2jwfTdVaKKSlFPNscJCzyNZHBWH6bUiCe1JMkzSMgZYLmvBdfU3kw99kbndYi\n"
    "quMjbxkCgYEA7Y0zYw1l8GHRMF2ns814Jf2AEdZWIWYJXyJ9Im9/QRHd9vUDsuDn\n"
    "jBjY6rK7Up/1LJCyOOgF1k2eYyMgjOAMdJKzCUjWpQtMU40UBB4BATsRmSCmnSLn\n"
    "nxYscIupyI7I23Cm11leYksVSuAIHEkcNZcA1LZI2eZ5FmEvyivW2HkCgYEA2cAS\n"
    "/1ozxNCabGiG9Wb9+vUnaHABiDJznTEOthu7HgSHoGpttli8Xbm9SI6Wus7MyYEL\n"
    "py864N+g75FK8giojSkSvIRHF3mQWhawrwIkaHBjy4C5UoIhMX57T8CdymtIV3Rn\n"
    "+ZtImmd9uMo7vDjuTcA/u1Jyo1qVgwJE+DHy4AMCgYA8Sh7ln8vkc179MHfUmWxJ\n"
    "8Aml/UkE1vm/7Gfn6nZYlGlKOSsEJjJ+CvxarJwAP1qhQeQJr1Fz72Uocgzb1C01\n"
    "FNpdm9/mKXToq6CN3vOQVWaE/5VpwicY6C7FLZ0cqqhtkSy28RaUScwQocVNMHz5\n"
    "WOa8FbttmiHXPTk8zV2MuQKBgQDHzh+ggDyQlHmekCuGcwMKjHmks2I0f1bnHmTJ\n"
    "ZZjFapKo9//EGph9yDmPoodc0vXG0MrIleYJAirCqSeD/73qCY5PvXEecUWr5LYr\n"
    "YGPYEYkA6xUiSJX8vHqaK7yeSOMQnJfryjlMtTn/nlJB3FuOrKHOWVEn467dj++J\n"
    "bwvV0QKBgEjPICBQShaZuOggBjJ1pK6pXq/diA13SuMkA4v+sOhynJktdhWLYqtt\n"
    "vs+5c/lUMygsvKuwZO/7/fzPXIncEW0JPVCXYnV7VzvNnULokVZbZ33EN2jw3gpF\n"
    "LDt6alp6+nm5qCxKPB02bvahW0jRII+b3q+eTUPu3R+Y3o3LDNbJ\n"
    "-----END RSA PRIVATE KEY-----\n";
static const char fx_rsa_md5[] = "MD5:86:38:f3:72:d0:22:a3:23:39:f6:ba:53:0c:ff:3e:89";
static const char fx_rsa_sha256[] = "SHA256:UmkNvhz9sxycm1U/9pzU9O98yEvaDlZ4rVogVfL0uHk";

/* ssh-keygen -t ed25519 -N "secret-pass": encrypted, must be refused without prompting */
static const char fx_encrypted[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABDwCBcv4c\n"
    "onEYFIS5vmeDLaAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIBJhbjJIKhNqu+Ma\n"
    "03mh/NvuIS8OF6H6Ad4PXFW8dwRQAAAAkLQO5l+Ip+t9vEvKe5JtrbHJ4Wldhtm1f0KrEA\n"
    "EfIAArhLwwMgcjzC0NN43MQUWZtG2oCFKJHbPxPlxV5DD1MuHZwbehEhg6QDgqvxpuQJH0\n"
    "VH+vwDkihsaTgWfz0FTEW/6593zppLMZwHOe3y1hkxwcLKxXOgbkvTQ+EV2zbrNlBaLtKs\n"
    "qbSF1mngauEKFpbg==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* ssh-keygen -t rsa -b 1024 -m PEM -N "secret-pass": OpenSSL would prompt on a terminal */
static const char fx_encrypted_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "Proc-Type: 4,ENCRYPTED\n"
    "DEK-Info: AES-128-CBC,14A4F22747FED981D636194D1CBD2EFA\n"
    "\n"
    "yZgo3oXGPGSgTr4KLJueibjCUPuNGDPdBKKRl++fqkpHFSRj1UGSrPvJFYb5vts3\n"
    "YtqmmuW8+F1f3/2ZmOHQNVEnQGEirz5UD+Buza7oBqMR7wbAChsq0m6WLPVs9+lG\n"
    "YUp8EeQ8sFHfwVr8tDHSI758SIQlDppv9zv2rUJExfx5lD2GR3+JDaDSrl9XIKDv\n"
    "L/hcwjP2Itx+oEVx8qNH6hc2hHf4jV/76HYGV5tPOiwtA4FuZ5eu2Du6oW5UFFKN\n"
    "I4HLoK0jYx79hTqfCCVBdgBswLG9kt3g2IFem5s3NJDgLDxOLfZbuo49UTL2Mcjh\n"
    "8679ndHnEBTapMO9wILkM9vPMVw1Y8xV0OnnzDGBqn/3jO8LuK4ktOw4Bmg+Cg+Y\n"
    "CNOOILh8y8/pUuaHOTOmFyvmFb1c1Gz/HhdhF4OHUcDBc4fTICorpCBdpDHw+8Zi\n"
    "BILd1KxJqp14VdP6OQ/D0g3lA4NOc4pifKFh97Tl4Ql2xJch3fwG/Q7DkUXx7hFq\n"
    "OrZ/Zfo5gsoafpH7Q/pIL+6VR8IrvDAGnnwJKoyLphStqd+gn6dUyF8UGFyfHFN1\n"
    "25obyO6jsWIErQwqhHC0Bor/GhBttHa6FZlzXZLLLginrdfgs2RZcq8jHpMlTFnD\n"
    "IT4fGV0W0QRYLGfiyZUMTCvH1KrNqO1AbPrMEJCYPiN8VKYdfX0KyYdSB6nIBwva\n"
    "qxKPH+1roHdHTXN1pI92B5HT2N/nxtajQ+GOkil9JpJdTNqk9dxfhRBNxfTNYepV\n"
    "X/hMOLKzeK5iQ1Yx9y4Qm/MIf9Gky6+nPjxrXtRsrKo=\n"
    "-----END RSA PRIVATE KEY-----\n";

static const char key_a_hex[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char key_b_hex[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

#define OK(call)                                                                              \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != 0)                                                                         \
            fail_msg("%s:%d: %s = %d: %s", __FILE__, __LINE__, #call, rc_, e.msg);            \
    } while (0)

/* Asserts that call fails with code want and a message containing text. */
#define FAILS(want, text, call)                                                               \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != (want) || !strstr(e.msg, (text)))                                          \
            fail_msg("%s:%d: %s = %d (%s), want %d with \"%s\"", __FILE__, __LINE__, #call,   \
                     rc_, e.msg, (want), (text));                                             \
    } while (0)

static void set_key(unsigned char *out, const char *hex)
{
    size_t n = 0;
    assert_int_equal(sodium_hex2bin(out, CONFIG_SECRET_KEY_LEN, hex, strlen(hex), NULL, &n, NULL),
                     0);
    assert_int_equal(n, CONFIG_SECRET_KEY_LEN);
}

/* A configuration with current key cur and (when not NULL) old key old. */
static struct config cfg_with(const char *cur, const char *old)
{
    struct config c;
    memset(&c, 0, sizeof(c));
    set_key(c.secret_key, cur);
    if (old) {
        set_key(c.secret_key_old, old);
        c.secret_key_old_set = true;
    }
    return c;
}

/* ---- the envelope ---- */

static void test_seal_open(void **state)
{
    struct config c = cfg_with(key_a_hex, NULL);
    struct err e = { 0 };
    char id[9], prefix[32];
    char *s1 = NULL, *s2 = NULL, *plain = NULL;
    UNUSED(state);
    identity_key_id(&c, false, id);
    assert_int_equal(strlen(id), 8);
    assert_int_equal(strspn(id, "0123456789abcdef"), 8);
    OK(identity_seal(&c, fx_ed25519, &s1, &e));
    OK(identity_seal(&c, fx_ed25519, &s2, &e));
    snprintf(prefix, sizeof(prefix), "sbx1:%s:", id);
    assert_true(strncmp(s1, prefix, strlen(prefix)) == 0);
    assert_string_not_equal(s1, s2); /* a fresh nonce every time */
    assert_null(strstr(s1, "PRIVATE KEY"));
    OK(identity_open(&c, s1, &plain, &e));
    assert_string_equal(plain, fx_ed25519);
    identity_secret_free(plain);
    OK(identity_open(&c, s2, &plain, &e));
    assert_string_equal(plain, fx_ed25519);
    identity_secret_free(plain);
    free(s1);
    free(s2);
    identity_secret_free(NULL);
}

static void test_key_ids(void **state)
{
    struct config a = cfg_with(key_a_hex, key_b_hex), b = cfg_with(key_b_hex, NULL);
    char ida[9], idb[9], idold[9];
    UNUSED(state);
    identity_key_id(&a, false, ida);
    identity_key_id(&b, false, idb);
    identity_key_id(&a, true, idold);
    assert_string_not_equal(ida, idb);
    assert_string_equal(idold, idb);
}

static void test_wrong_key(void **state)
{
    struct config a = cfg_with(key_a_hex, NULL), b = cfg_with(key_b_hex, NULL);
    struct err e = { 0 };
    char *sealed = NULL, *plain = NULL, id[9];
    UNUSED(state);
    OK(identity_seal(&a, "secret text", &sealed, &e));
    identity_key_id(&a, false, id);
    FAILS(ERR_INVALID, "encrypted with an unknown key", identity_open(&b, sealed, &plain, &e));
    assert_non_null(strstr(e.msg, id));
    assert_null(plain);
    /* the right key id but another key (forged id): authentication fails */
    char idb[9];
    identity_key_id(&b, false, idb);
    memcpy(sealed + 5, idb, 8);
    FAILS(ERR_INVALID, "cannot be decrypted", identity_open(&b, sealed, &plain, &e));
    assert_null(plain);
    free(sealed);
}

static void test_old_key(void **state)
{
    struct config before = cfg_with(key_a_hex, NULL);
    struct config rotating = cfg_with(key_b_hex, key_a_hex);
    struct config after = cfg_with(key_b_hex, NULL);
    struct err e = { 0 };
    char *old_env = NULL, *new_env = NULL, *plain = NULL;
    UNUSED(state);
    OK(identity_seal(&before, "key text", &old_env, &e));
    OK(identity_open(&rotating, old_env, &plain, &e));
    assert_string_equal(plain, "key text");
    identity_secret_free(plain);
    OK(identity_seal(&rotating, "key text", &new_env, &e)); /* always under the current key */
    OK(identity_open(&after, new_env, &plain, &e));
    assert_string_equal(plain, "key text");
    identity_secret_free(plain);
    plain = NULL;
    FAILS(ERR_INVALID, "unknown key", identity_open(&after, old_env, &plain, &e));
    free(old_env);
    free(new_env);
}

static void test_tampered(void **state)
{
    struct config c = cfg_with(key_a_hex, NULL);
    struct err e = { 0 };
    char *sealed = NULL, *plain = NULL;
    UNUSED(state);
    OK(identity_seal(&c, "some private key text", &sealed, &e));
    size_t n = strlen(sealed);
    char *t = xstrdup(sealed);
    t[n - 8] = t[n - 8] == 'A' ? 'B' : 'A'; /* one ciphertext bit pattern changed */
    FAILS(ERR_INVALID, "cannot be decrypted", identity_open(&c, t, &plain, &e));
    free(t);
    t = xstrdup(sealed);
    t[20] = t[20] == 'A' ? 'B' : 'A'; /* the nonce */
    FAILS(ERR_INVALID, "cannot be decrypted", identity_open(&c, t, &plain, &e));
    free(t);
    t = xstrndup(sealed, n - 4); /* truncated */
    FAILS(ERR_INVALID, "", identity_open(&c, t, &plain, &e));
    free(t);
    t = xstrndup(sealed, 5 + 8 + 1 + 20); /* shorter than nonce + MAC */
    FAILS(ERR_INVALID, "not a valid envelope", identity_open(&c, t, &plain, &e));
    free(t);
    t = xstrdup(sealed);
    t[n - 10] = '*'; /* not base64 */
    FAILS(ERR_INVALID, "not a valid envelope", identity_open(&c, t, &plain, &e));
    free(t);
    FAILS(ERR_INVALID, "not a valid envelope", identity_open(&c, "sbx1:abc", &plain, &e));
    FAILS(ERR_INVALID, "not a valid envelope", identity_open(&c, "sbx1:0011223344:x", &plain, &e));
    FAILS(ERR_INVALID, "not a valid envelope", identity_open(&c, "garbage", &plain, &e));
    FAILS(ERR_INVALID, "not a valid envelope", identity_open(&c, "", &plain, &e));
    assert_null(plain);
    free(sealed);
}

static void test_plain_legacy(void **state)
{
    struct config c = cfg_with(key_a_hex, NULL);
    struct err e = { 0 };
    char *plain = NULL;
    UNUSED(state);
    OK(identity_open(&c, fx_rsa_pem, &plain, &e)); /* a row imported from SHM */
    assert_string_equal(plain, fx_rsa_pem);
    identity_secret_free(plain);
}

/* ---- parsing, fingerprints, generation ---- */

static void test_describe_fixtures(void **state)
{
    struct identity_pub p;
    struct err e = { 0 };
    UNUSED(state);
    OK(identity_describe(fx_ed25519, "billd test fixture", &p, &e));
    assert_string_equal(p.type, "ssh-ed25519");
    assert_string_equal(p.fingerprint, fx_ed25519_md5);
    assert_string_equal(p.fingerprint_sha256, fx_ed25519_sha256);
    char *want = xasprintf("%s billd test fixture", fx_ed25519_pub);
    assert_string_equal(p.public_key, want);
    free(want);
    identity_pub_free(&p);
    OK(identity_describe(fx_ed25519, NULL, &p, &e));
    assert_string_equal(p.public_key, fx_ed25519_pub); /* no comment, no trailing space */
    identity_pub_free(&p);
    OK(identity_describe(fx_ed25519, "two\nlines\t", &p, &e));
    assert_non_null(strstr(p.public_key, " two_lines_"));
    identity_pub_free(&p);
    OK(identity_describe(fx_rsa_pem, "", &p, &e));
    assert_string_equal(p.type, "ssh-rsa");
    assert_string_equal(p.fingerprint, fx_rsa_md5);
    assert_string_equal(p.fingerprint_sha256, fx_rsa_sha256);
    assert_true(strncmp(p.public_key, "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDKDuwWYZxJ", 48) == 0);
    identity_pub_free(&p);
}

static void test_describe_invalid(void **state)
{
    struct identity_pub p;
    struct err e = { 0 };
    const char *bad[] = { "", "garbage", fx_encrypted, fx_encrypted_pem,
                          "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
                          fx_ed25519_pub };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        FAILS(ERR_INVALID, "Field private_key: not a valid unencrypted OpenSSH or PEM private key",
              identity_describe(bad[i], "x", &p, &e));
        assert_null(p.public_key);
    }
    char *huge = xmalloc(IDENTITY_MAX_KEY_LEN + 2);
    memset(huge, 'A', IDENTITY_MAX_KEY_LEN + 1);
    huge[IDENTITY_MAX_KEY_LEN + 1] = '\0';
    FAILS(ERR_INVALID, "Field private_key: longer than", identity_describe(huge, "x", &p, &e));
    free(huge);
}

/* Generates a key of type/bits and checks format, comment and that it imports again. */
static void check_generated(const char *type, int bits, const char *want_type)
{
    struct identity_pair p;
    struct identity_pub again;
    struct err e = { 0 };
    OK(identity_generate(type, bits, IDENTITY_GENERATED_COMMENT, &p, &e));
    assert_true(strncmp(p.private_key, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36) == 0);
    assert_non_null(strstr(p.private_key, "\n-----END OPENSSH PRIVATE KEY-----\n"));
    assert_string_equal(p.pub.type, want_type);
    assert_true(strncmp(p.pub.public_key, want_type, strlen(want_type)) == 0);
    const char *tail = p.pub.public_key + strlen(p.pub.public_key) - strlen(" Generated by billd");
    assert_string_equal(tail, " Generated by billd");
    assert_true(strncmp(p.pub.fingerprint, "MD5:", 4) == 0);
    assert_int_equal(strlen(p.pub.fingerprint), 4 + 16 * 3 - 1);
    assert_true(strncmp(p.pub.fingerprint_sha256, "SHA256:", 7) == 0);
    OK(identity_describe(p.private_key, IDENTITY_GENERATED_COMMENT, &again, &e));
    assert_string_equal(again.public_key, p.pub.public_key);
    assert_string_equal(again.fingerprint, p.pub.fingerprint);
    identity_pub_free(&again);
    identity_pair_free(&p);
    assert_null(p.private_key);
}

static void test_generate(void **state)
{
    UNUSED(state);
    check_generated(NULL, 0, "ssh-ed25519");
    check_generated("", 0, "ssh-ed25519");
    check_generated("ed25519", 0, "ssh-ed25519");
    check_generated("rsa", 2048, "ssh-rsa");
    check_generated("ecdsa", 0, "ecdsa-sha2-nistp256");
    check_generated("ecdsa", 384, "ecdsa-sha2-nistp384");
    check_generated("ecdsa", 521, "ecdsa-sha2-nistp521");
}

static void test_generate_rsa_default(void **state)
{
    struct identity_pair p;
    struct err e = { 0 };
    UNUSED(state);
    OK(identity_generate("rsa", 0, "c", &p, &e));
    /* 3072 bits: a 384-byte modulus, 544 base64 characters in the public key */
    assert_int_equal(strlen(p.pub.public_key), strlen("ssh-rsa ") + 544 + strlen(" c"));
    identity_pair_free(&p);
}

static void test_generate_errors(void **state)
{
    struct identity_pair p;
    struct err e = { 0 };
    UNUSED(state);
    FAILS(ERR_INVALID, "dsa keys are not supported", identity_generate("dsa", 0, "c", &p, &e));
    FAILS(ERR_INVALID, "Field type: must be one of ed25519|rsa|ecdsa",
          identity_generate("rsa1", 0, "c", &p, &e));
    FAILS(ERR_INVALID, "Field bits: RSA keys have 2048 to 8192 bits",
          identity_generate("rsa", 1024, "c", &p, &e));
    FAILS(ERR_INVALID, "Field bits: ECDSA keys have 256, 384 or 521 bits",
          identity_generate("ecdsa", 512, "c", &p, &e));
    assert_null(p.private_key);
}

/* ---- the values the API writes ---- */

static void test_prepare_create(void **state)
{
    struct config c = cfg_with(key_a_hex, NULL);
    struct err e = { 0 };
    char *plain = NULL;
    UNUSED(state);
    json_t *v = json_pack("{s:s, s:s, s:s, s:s}", "name", "deploy", "private_key", fx_ed25519,
                          "public_key", "forged", "fingerprint", "forged");
    OK(identity_prepare(NULL, &c, v, 0, &e));
    const char *stored = json_string_value(json_object_get(v, "private_key"));
    assert_true(strncmp(stored, "sbx1:", 5) == 0);
    OK(identity_open(&c, stored, &plain, &e));
    assert_string_equal(plain, fx_ed25519);
    identity_secret_free(plain);
    char *want = xasprintf("%s deploy", fx_ed25519_pub);
    assert_string_equal(json_string_value(json_object_get(v, "public_key")), want);
    free(want);
    assert_string_equal(json_string_value(json_object_get(v, "fingerprint")), fx_ed25519_md5);
    assert_string_equal(json_string_value(json_object_get(v, "fingerprint_sha256")),
                        fx_ed25519_sha256);
    json_decref(v);

    v = json_pack("{s:s, s:s}", "name", "bad", "private_key", "not a key");
    FAILS(ERR_INVALID, "Field private_key: not a valid", identity_prepare(NULL, &c, v, 0, &e));
    json_decref(v);
    v = json_pack("{s:s, s:i}", "name", "bad", "private_key", 5);
    FAILS(ERR_INVALID, "Field private_key: expected a string",
          identity_prepare(NULL, &c, v, 0, &e));
    json_decref(v);
    v = json_pack("{s:s, s:s}", "name", "", "private_key", fx_ed25519);
    FAILS(ERR_INVALID, "Field name: must be a non-empty string",
          identity_prepare(NULL, &c, v, 0, &e));
    json_decref(v);
    v = json_pack("{s:s}", "public_key", "x"); /* derived columns alone: nothing to write */
    OK(identity_prepare(NULL, &c, v, 0, &e));
    assert_int_equal(json_object_size(v), 0);
    json_decref(v);
}

/* ---- the secret key configuration ---- */

static const char *const key_vars[] = { "BILLD_SECRET_KEY", "BILLD_SECRET_KEY_FILE",
                                        "BILLD_SECRET_KEY_OLD" };

static void unset_key_vars(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(key_vars); i++)
        unsetenv(key_vars[i]);
}

/* config_load must fail with a message containing text. */
static void config_refuses(const char *text)
{
    struct config c;
    struct err e = { 0 };
    FAILS(ERR_INVALID, text, config_load(&c, NULL, &e));
    config_free(&c);
}

static void test_config_env_keys(void **state)
{
    struct config c, want = cfg_with(key_a_hex, key_b_hex);
    struct err e = { 0 };
    UNUSED(state);
    unset_key_vars();
    setenv("BILLD_SECRET_KEY", key_a_hex, 1);
    setenv("BILLD_SECRET_KEY_OLD", key_b_hex, 1);
    OK(config_load(&c, NULL, &e));
    assert_memory_equal(c.secret_key, want.secret_key, CONFIG_SECRET_KEY_LEN);
    assert_true(c.secret_key_old_set);
    assert_memory_equal(c.secret_key_old, want.secret_key_old, CONFIG_SECRET_KEY_LEN);
    assert_string_equal(c.secret_key_source, "BILLD_SECRET_KEY");
    config_free(&c);
    setenv("BILLD_SECRET_KEY_OLD", "abc", 1);
    config_refuses("BILLD_SECRET_KEY_OLD must be 64 hexadecimal digits");
    unsetenv("BILLD_SECRET_KEY_OLD");
    setenv("BILLD_SECRET_KEY", "00112233", 1);
    config_refuses("BILLD_SECRET_KEY must be 64 hexadecimal digits");
    char bad[65];
    snprintf(bad, sizeof(bad), "%.63sg", key_a_hex);
    setenv("BILLD_SECRET_KEY", bad, 1);
    config_refuses("BILLD_SECRET_KEY must be 64 hexadecimal digits");
    setenv("BILLD_SECRET_KEY", key_a_hex, 1);
    setenv("BILLD_SECRET_KEY_FILE", "/nonexistent", 1);
    config_refuses("set only one of BILLD_SECRET_KEY and BILLD_SECRET_KEY_FILE");
    unset_key_vars();
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config_key_files(void **state)
{
    struct config c, c2, want = cfg_with(key_b_hex, NULL);
    struct err e = { 0 };
    struct stat st;
    char dir[64], cwd[512], path[128];
    UNUSED(state);
    unset_key_vars();
    snprintf(dir, sizeof(dir), "/tmp/billd_test_identity.XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);

    /* neither set, no file: var/secret.key is created (0600 in a 0700 directory) and reused */
    OK(config_load(&c, NULL, &e));
    assert_string_equal(c.secret_key_source, CONFIG_SECRET_KEY_DEFAULT_FILE);
    assert_int_equal(stat(CONFIG_SECRET_KEY_DEFAULT_FILE, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65); /* 64 hex digits and a newline */
    assert_int_equal(stat("var", &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    OK(config_load(&c2, NULL, &e));
    assert_memory_equal(c.secret_key, c2.secret_key, CONFIG_SECRET_KEY_LEN);
    config_free(&c);
    config_free(&c2);

    /* BILLD_SECRET_KEY_FILE: surrounding white space is fine, anything else is not */
    snprintf(path, sizeof(path), "%s/k.hex", dir);
    char *text = xasprintf("  %s\n\n", key_b_hex);
    write_file(path, text);
    free(text);
    setenv("BILLD_SECRET_KEY_FILE", path, 1);
    OK(config_load(&c, NULL, &e));
    assert_memory_equal(c.secret_key, want.secret_key, CONFIG_SECRET_KEY_LEN);
    assert_string_equal(c.secret_key_source, path);
    config_free(&c);
    text = xasprintf("%s extra\n", key_b_hex);
    write_file(path, text);
    free(text);
    config_refuses("must hold 64 hexadecimal digits");
    write_file(path, "short\n");
    config_refuses("must hold 64 hexadecimal digits");
    unlink(path);
    config_refuses("No such file or directory"); /* an explicit file is never created */

    /* a broken default file stops start-up too */
    unsetenv("BILLD_SECRET_KEY_FILE");
    write_file(CONFIG_SECRET_KEY_DEFAULT_FILE, "nonsense\n");
    config_refuses("secret key file var/secret.key must hold 64 hexadecimal digits");

    unlink(CONFIG_SECRET_KEY_DEFAULT_FILE);
    rmdir("var");
    assert_int_equal(chdir(cwd), 0);
    rmdir(dir);
    unset_key_vars();
}

/* ---- database cases ---- */

struct backend {
    const char *name;
    char url[512];
    struct db *db;
};

static struct backend g_lite = { .name = "sqlite" };
static struct backend g_pg = { .name = "pg" };
static char g_lite_path[128];
static struct db *g_pg_admin;
static char g_pg_dbname[64];

static struct db *db_of(void **state)
{
    return ((struct backend *)*state)->db;
}

static void sql(struct db *db, const char *text)
{
    struct err e = { 0 };
    if (db_exec_script(db, text, &e))
        fail_msg("%s: %s", text, e.msg);
}

/* Inserts an identity whose private_key column holds stored; returns nothing. */
static void insert_identity(struct db *db, int64_t id, const char *stored)
{
    struct err e = { 0 };
    struct db_value p[] = { DB_INT(id), DB_TEXT(stored) };
    OK(db_exec(db, "INSERT INTO identities (id, name, private_key) VALUES ($1, 'k', $2)", p, 2,
               NULL, &e));
}

/* The private_key column of identity id (owned). */
static char *stored_key(struct db *db, int64_t id)
{
    struct err e = { 0 };
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(id) };
    OK(db_query(db, "SELECT private_key FROM identities WHERE id = $1", p, 1, &r, &e));
    assert_int_equal(db_result_rows(r), 1);
    char *s = xstrdup(db_result_text(r, 0, 0));
    db_result_free(r);
    return s;
}

static int pg_setup(const char *admin_url)
{
    struct err e = { 0 };
    char text[160];
    if (db_open(admin_url, &g_pg_admin, &e))
        return fprintf(stderr, "# cannot open %s: %s\n", admin_url, e.msg), -1;
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "billd_test_identity_%ld", (long)getpid());
    snprintf(text, sizeof(text), "DROP DATABASE IF EXISTS %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, text, &e))
        return -1;
    snprintf(text, sizeof(text), "CREATE DATABASE %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, text, &e))
        return fprintf(stderr, "# %s: %s\n", text, e.msg), -1;
    if (testdb_pg_url(admin_url, g_pg_dbname, g_pg.url, sizeof(g_pg.url)) ||
        db_open(g_pg.url, &g_pg.db, &e))
        return fprintf(stderr, "# cannot open %s: %s\n", g_pg.url, e.msg), -1;
    return 0;
}

static int group_setup(void **state)
{
    struct err e = { 0 };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    UNUSED(state);
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    if (sodium_init() < 0)
        return -1;
    setenv("TZ", "UTC", 1);
    snprintf(g_lite_path, sizeof(g_lite_path), "/tmp/billd_test_identity_%ld.db",
             (long)getpid());
    testdb_lite_remove(g_lite_path);
    snprintf(g_lite.url, sizeof(g_lite.url), "sqlite://%s", g_lite_path);
    if (db_open(g_lite.url, &g_lite.db, &e) || migrate_run(g_lite.db, NULL, &e))
        return fprintf(stderr, "# sqlite: %s\n", e.msg), -1;
    if (!pg || !*pg)
        return 0;
    if (pg_setup(pg) || migrate_run(g_pg.db, NULL, &e))
        return fprintf(stderr, "# pg: %s\n", e.msg), -1;
    return 0;
}

static int group_teardown(void **state)
{
    struct err e = { 0 };
    char text[160];
    UNUSED(state);
    db_close(g_lite.db);
    testdb_lite_remove(g_lite_path);
    db_close(g_pg.db);
    if (g_pg_admin) {
        snprintf(text, sizeof(text), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_pg_dbname);
        if (db_exec_script(g_pg_admin, text, &e))
            fprintf(stderr, "# %s: %s\n", text, e.msg);
        db_close(g_pg_admin);
    }
    return 0;
}

static int clean(void **state)
{
    sql(db_of(state), "DELETE FROM identities; DELETE FROM servers");
    return 0;
}

static void test_db_private_key(void **state)
{
    struct db *db = db_of(state);
    struct config c = cfg_with(key_a_hex, NULL), other = cfg_with(key_b_hex, NULL);
    struct err e = { 0 };
    char *sealed = NULL, *pem = NULL;
    bool exists = true;
    OK(identity_seal(&c, fx_ed25519, &sealed, &e));
    insert_identity(db, 1, sealed);
    free(sealed);
    OK(identity_private_key(db, &c, 1, &pem, &e));
    assert_string_equal(pem, fx_ed25519);
    identity_secret_free(pem);
    pem = NULL;
    FAILS(ERR_NOT_FOUND, "Identity 2 not found", identity_private_key(db, &c, 2, &pem, &e));
    FAILS(ERR_INVALID, "unknown key", identity_private_key(db, &other, 1, &pem, &e));
    assert_null(pem);
    OK(identity_exists(db, 1, &exists, &e));
    assert_true(exists);
    OK(identity_exists(db, 2, &exists, &e));
    assert_false(exists);
}

static void test_db_prepare_update(void **state)
{
    struct db *db = db_of(state);
    struct config c = cfg_with(key_a_hex, NULL);
    struct err e = { 0 };
    insert_identity(db, 3, "x");
    sql(db, "UPDATE identities SET name = 'stored name', public_key = 'ssh-ed25519 AAAA old'"
            " WHERE id = 3");
    /* only the name: the public key's comment follows it */
    json_t *v = json_pack("{s:s}", "name", "new name");
    OK(identity_prepare(db, &c, v, 3, &e));
    assert_string_equal(json_string_value(json_object_get(v, "public_key")),
                        "ssh-ed25519 AAAA new name");
    json_decref(v);
    /* a new key without a name: the stored name is the comment */
    v = json_pack("{s:s}", "private_key", fx_ed25519);
    OK(identity_prepare(db, &c, v, 3, &e));
    char *want = xasprintf("%s stored name", fx_ed25519_pub);
    assert_string_equal(json_string_value(json_object_get(v, "public_key")), want);
    free(want);
    json_decref(v);
    v = json_pack("{s:n}", "name");
    FAILS(ERR_INVALID, "Field name: must be a non-empty string",
          identity_prepare(db, &c, v, 3, &e));
    json_decref(v);
}

static void test_db_count_users(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    int64_t n = -1;
    insert_identity(db, 5, "x");
    sql(db, "INSERT INTO servers (server_id, transport, settings) VALUES"
            " (1, 'ssh', '{\"key_id\":5}'), (2, 'ssh', '{\"key_id\":\"5\"}'),"
            " (3, 'ssh', '{\"key_id\":55}'), (4, 'ssh', NULL)");
    OK(identity_count_users(db, 5, &n, &e));
    assert_int_equal(n, 2);
    OK(identity_count_users(db, 6, &n, &e));
    assert_int_equal(n, 0);
}

static void test_db_rekey(void **state)
{
    struct db *db = db_of(state);
    struct config before = cfg_with(key_a_hex, NULL), rotating = cfg_with(key_b_hex, key_a_hex);
    struct config after = cfg_with(key_b_hex, NULL), unrelated = cfg_with(key_b_hex, NULL);
    struct err e = { 0 };
    char *s = NULL, *pem = NULL, cur[9], prefix[20];
    int64_t changed = -1;
    OK(identity_seal(&before, fx_ed25519, &s, &e));
    insert_identity(db, 1, s);
    free(s);
    OK(identity_seal(&after, fx_rsa_pem, &s, &e));
    insert_identity(db, 2, s); /* already under the new key: left alone */
    char *untouched = s;
    insert_identity(db, 3, fx_rsa_pem); /* plain, imported from SHM */

    /* without the old key the rotation cannot open row 1: nothing changes */
    FAILS(ERR_INVALID, "identity 1: ", identity_rekey_all(db, &unrelated, &changed, &e));
    assert_int_equal(changed, 0);
    s = stored_key(db, 3);
    assert_string_equal(s, fx_rsa_pem);
    free(s);

    OK(identity_rekey_all(db, &rotating, &changed, &e));
    assert_int_equal(changed, 2);
    identity_key_id(&after, false, cur);
    snprintf(prefix, sizeof(prefix), "sbx1:%s:", cur);
    for (int64_t id = 1; id <= 3; id++) {
        s = stored_key(db, id);
        assert_true(strncmp(s, prefix, strlen(prefix)) == 0);
        if (id == 2)
            assert_string_equal(s, untouched);
        free(s);
        OK(identity_private_key(db, &after, id, &pem, &e));
        assert_string_equal(pem, id == 1 ? fx_ed25519 : fx_rsa_pem);
        identity_secret_free(pem);
    }
    free(untouched);
    OK(identity_rekey_all(db, &after, &changed, &e)); /* nothing left to do */
    assert_int_equal(changed, 0);

    /* inside the caller's transaction */
    struct err e2 = { 0 };
    OK(db_begin(db, true, &e2));
    OK(identity_rekey_all(db, &after, NULL, &e));
    assert_true(db_in_tx(db));
    OK(db_commit(db, &e2));
}

static const struct {
    const char *name;
    void (*fn)(void **state);
} db_cases[] = {
    { "private_key", test_db_private_key },
    { "prepare_update", test_db_prepare_update },
    { "count_users", test_db_count_users },
    { "rekey", test_db_rekey },
};

static const struct CMUnitTest pure_cases[] = {
    cmocka_unit_test(test_seal_open),         cmocka_unit_test(test_key_ids),
    cmocka_unit_test(test_wrong_key),         cmocka_unit_test(test_old_key),
    cmocka_unit_test(test_tampered),          cmocka_unit_test(test_plain_legacy),
    cmocka_unit_test(test_describe_fixtures), cmocka_unit_test(test_describe_invalid),
    cmocka_unit_test(test_generate),          cmocka_unit_test(test_generate_rsa_default),
    cmocka_unit_test(test_generate_errors),   cmocka_unit_test(test_prepare_create),
    cmocka_unit_test(test_config_env_keys),   cmocka_unit_test(test_config_key_files),
};

#define NDB ARRAY_SIZE(db_cases)

int main(void)
{
    static struct CMUnitTest all[ARRAY_SIZE(pure_cases) + 2 * NDB];
    static char names[2 * NDB][64];
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0, k = 0;
    if (nb == 1)
        fprintf(stderr, "# test_identity: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
    for (size_t i = 0; i < ARRAY_SIZE(pure_cases); i++)
        all[n++] = pure_cases[i];
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < NDB; i++, k++) {
            snprintf(names[k], sizeof(names[k]), "%s_%s", backends[b]->name, db_cases[i].name);
            all[n++] = (struct CMUnitTest){
                .name = names[k],
                .test_func = db_cases[i].fn,
                .setup_func = clean,
                .initial_state = backends[b],
            };
        }
    }
    return _cmocka_run_group_tests("test_identity", all, n, group_setup, group_teardown);
}
