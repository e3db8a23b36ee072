/*
 * password.c — argon2id hashing with a process-wide concurrency limit, and
 * verification of SHM's PBKDF2-HMAC-SHA512 and SHA-1 hashes (password.h).
 */
#include "password.h"
#include "../util/strutil.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <semaphore.h>

static sem_t hash_slots;

static bool str_has_prefix_argon(const char *s)
{
    return strncmp(s, "$argon2id$", 10) == 0;
}
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_now(void)
{
    if (sodium_init() < 0 || sem_init(&hash_slots, 0, PASSWORD_MAX_CONCURRENT) != 0)
        init_rc = ERR_INTERNAL;
}

int password_init(void)
{
    pthread_once(&init_once, init_now);
    return init_rc;
}

int password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
    size_t n = strlen(pw);
    if (n > PASSWORD_MAX_LENGTH)
        return ERR_INVALID;
    password_init();
    sem_wait(&hash_slots);
    int rc = crypto_pwhash_str(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sem_post(&hash_slots);
    return rc == 0 ? 0 : ERR_NOMEM;
}

/* SHM's $7$ key length and the longest salt accepted (SHM uses 16 bytes). */
#define SHM_PBKDF2_KEY_LEN 32
#define SHM_PBKDF2_MAX_SALT 256

static bool all_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return n > 0;
}

/*
 * Splits "$7$<iterations>$<salt hex>$<key hex>" (the shape of SHM's regex
 * ^\$7\$(\d+)\$([0-9a-f]+)\$([0-9a-f]+)$). Returns false for anything else.
 */
static bool shm_pbkdf2_parse(const char *stored, int64_t *iter, const char **salt,
                             size_t *salt_len, const char **key, size_t *key_len)
{
    if (strncmp(stored, "$7$", 3) != 0)
        return false;
    const char *p = stored + 3;
    const char *d1 = strchr(p, '$');
    if (!d1 || d1 == p || d1 - p > 10)
        return false;
    for (const char *q = p; q < d1; q++)
        if (*q < '0' || *q > '9')
            return false;
    const char *d2 = strchr(d1 + 1, '$');
    if (!d2 || parse_i64(p, (size_t)(d1 - p), 0, INT64_MAX, iter))
        return false;
    *salt = d1 + 1;
    *salt_len = (size_t)(d2 - *salt);
    *key = d2 + 1;
    *key_len = strlen(*key);
    return all_lower_hex(*salt, *salt_len) && all_lower_hex(*key, *key_len);
}

enum password_scheme password_scheme_of(const char *stored)
{
    int64_t iter;
    const char *salt, *key;
    size_t salt_len, key_len;
    if (!stored || !*stored)
        return PASSWORD_SCHEME_NONE;
    if (str_has_prefix_argon(stored))
        return PASSWORD_SCHEME_ARGON2ID;
    if (shm_pbkdf2_parse(stored, &iter, &salt, &salt_len, &key, &key_len))
        return PASSWORD_SCHEME_SHM_PBKDF2;
    if (strlen(stored) == 40 && all_lower_hex(stored, 40))
        return PASSWORD_SCHEME_SHM_SHA1;
    return PASSWORD_SCHEME_NONE;
}

static bool verify_argon2id(const char *stored, const char *pw)
{
    password_init();
    sem_wait(&hash_slots);
    int rc = crypto_pwhash_str_verify(stored, pw, strlen(pw));
    sem_post(&hash_slots);
    return rc == 0;
}

/* Decodes n hex digits (n even, checked lower-case hex) into out. */
static void hex_decode(const char *hex, size_t n, unsigned char *out)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        int hi = hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10;
        int lo = hex[i + 1] <= '9' ? hex[i + 1] - '0' : hex[i + 1] - 'a' + 10;
        out[i / 2] = (unsigned char)(hi * 16 + lo);
    }
}

/* SHM's $7$: PBKDF2-HMAC-SHA512(pw, salt, iterations, 32 bytes) == key. */
static bool verify_shm_pbkdf2(const char *stored, const char *pw)
{
    int64_t iter;
    const char *salt_hex, *key_hex;
    size_t salt_len, key_len;
    unsigned char salt[SHM_PBKDF2_MAX_SALT], want[SHM_PBKDF2_KEY_LEN], got[SHM_PBKDF2_KEY_LEN];
    if (!shm_pbkdf2_parse(stored, &iter, &salt_hex, &salt_len, &key_hex, &key_len) ||
        iter < 1 || iter > PASSWORD_PBKDF2_MAX_ITERATIONS || salt_len % 2 != 0 ||
        salt_len / 2 > sizeof(salt) || key_len != 2 * SHM_PBKDF2_KEY_LEN)
        return false;
    hex_decode(salt_hex, salt_len, salt);
    hex_decode(key_hex, key_len, want);
    if (PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)(salt_len / 2), (int)iter, EVP_sha512(),
                          (int)sizeof(got), got) != 1)
        return false;
    bool ok = CRYPTO_memcmp(got, want, sizeof(got)) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    return ok;
}

/* SHM's legacy scheme: sha1_hex(lc(login) . "--" . pw) == stored. */
static bool verify_shm_sha1(const char *stored, const char *login, const char *pw)
{
    unsigned char md[EVP_MAX_MD_SIZE], want[20];
    unsigned int mdlen = 0;
    size_t llen = strlen(login), plen = strlen(pw);
    char *salted = xmalloc(llen + 2 + plen + 1);
    for (size_t i = 0; i < llen; i++) /* Perl's lc on bytes: ASCII letters only */
        salted[i] = login[i] >= 'A' && login[i] <= 'Z' ? (char)(login[i] + 32) : login[i];
    memcpy(salted + llen, "--", 2);
    memcpy(salted + llen + 2, pw, plen + 1);
    bool ok = EVP_Digest(salted, llen + 2 + plen, md, &mdlen, EVP_sha1(), NULL) == 1 &&
              mdlen == sizeof(want);
    OPENSSL_cleanse(salted, llen + 2 + plen);
    free(salted);
    hex_decode(stored, 40, want);
    return ok && CRYPTO_memcmp(md, want, sizeof(want)) == 0;
}

bool password_verify_login(const char *stored, const char *login, const char *pw)
{
    if (!stored || !pw || strlen(pw) > PASSWORD_MAX_LENGTH)
        return false;
    switch (password_scheme_of(stored)) {
    case PASSWORD_SCHEME_ARGON2ID:
        return verify_argon2id(stored, pw);
    case PASSWORD_SCHEME_SHM_PBKDF2:
        return verify_shm_pbkdf2(stored, pw);
    case PASSWORD_SCHEME_SHM_SHA1:
        return login && strlen(login) <= PASSWORD_MAX_LENGTH && verify_shm_sha1(stored, login, pw);
    default:
        return false;
    }
}

bool password_verify(const char *stored, const char *pw)
{
    return password_verify_login(stored, NULL, pw);
}

bool password_needs_rehash(const char *stored)
{
    if (!stored || !str_has_prefix_argon(stored))
        return true;
    return crypto_pwhash_str_needs_rehash(stored, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}

void random_alnum(char *out, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    password_init();
    for (size_t i = 0; i + 1 < len; i++)
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    if (len)
        out[len - 1] = '\0';
}

void password_generate(char *out, size_t len)
{
    random_alnum(out, len);
}
