/*
 * password.c — argon2id hashing with a process-wide concurrency limit (password.h).
 */
#include "password.h"

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

bool password_verify(const char *stored, const char *pw)
{
    if (!stored || !pw || !str_has_prefix_argon(stored) || strlen(pw) > PASSWORD_MAX_LENGTH)
        return false;
    password_init();
    sem_wait(&hash_slots);
    int rc = crypto_pwhash_str_verify(stored, pw, strlen(pw));
    sem_post(&hash_slots);
    return rc == 0;
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
