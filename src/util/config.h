/*
 * config.h — process configuration from the environment (SHM's variable
 * names where they exist), optionally pre-filled from a KEY=VALUE env-file.
 *
 * Variables set in the real environment win over the env-file. Every value
 * is validated at start-up; config_load() fails with one clear message.
 */
#ifndef BILLD_CONFIG_H
#define BILLD_CONFIG_H

#include "../common.h"
#include "log.h"

/* Bytes of the identity encryption key (crypto_secretbox_KEYBYTES). */
#define CONFIG_SECRET_KEY_LEN 32
/* The key file used when neither BILLD_SECRET_KEY nor BILLD_SECRET_KEY_FILE is set. */
#define CONFIG_SECRET_KEY_DEFAULT_FILE "var/secret.key"

struct config {
    char *database_url;       /* DATABASE_URL, default sqlite://var/billd.db */
    char listen_host[64];     /* LISTEN host part, default 127.0.0.1 */
    int listen_port;          /* LISTEN port part, default 8080 */
    char tz[64];              /* TZ, default UTC */
    int workers;              /* WORKERS_COUNT: HTTP pool threads, 2..256, default 4 */
    enum log_level log_level; /* LOG_LEVEL, default info */
    char *admin_password;     /* BILLD_ADMIN_PASSWORD or NULL */
    char *trusted_ips;        /* TRUSTED_IPS: comma list exempt from rate limits, or NULL */
    int max_connections;      /* MAX_CONNECTIONS, default 1024 */
    int max_connections_per_ip; /* MAX_CONNECTIONS_PER_IP, default 512 */
    int idle_timeout;         /* IDLE_TIMEOUT seconds, default 30 */
    int min_password_length;  /* MIN_PASSWORD_LENGTH, default 8 (D17) */
    bool test_clock;          /* BILLD_TEST_CLOCK=1: the test clock routes exist (D5); default 0 */
    size_t max_body;          /* bytes, 1 MiB */
    size_t max_body_large;    /* bytes, 16 MiB (storage, templates) */
    size_t header_memory;     /* per-connection memory for headers, 64 KiB */
    /*
     * Identity encryption (docs/identity-keys.md): the key that seals SSH
     * private keys at rest, from BILLD_SECRET_KEY (64 hex digits) or the file
     * BILLD_SECRET_KEY_FILE (default var/secret.key, created with a random key
     * when neither is set and it does not exist). BILLD_SECRET_KEY_OLD is the
     * previous key during a rotation. config_free() wipes them.
     */
    unsigned char secret_key[CONFIG_SECRET_KEY_LEN];
    char *secret_key_source;  /* "BILLD_SECRET_KEY" or the key file's path (messages) */
    bool secret_key_old_set;  /* BILLD_SECRET_KEY_OLD was given */
    unsigned char secret_key_old[CONFIG_SECRET_KEY_LEN];
};

/*
 * Reads env_file (may be NULL; a missing named file is an error) into the
 * environment without overriding existing variables, then fills c from the
 * environment and sets TZ for the process. Loads the identity encryption
 * keys, creating CONFIG_SECRET_KEY_DEFAULT_FILE (mode 0600, its directory
 * 0700) when no key is configured and that file does not exist yet. Returns 0
 * or ERR_INVALID with the message in e. Free with config_free().
 */
int config_load(struct config *c, const char *env_file, struct err *e);
void config_free(struct config *c);
/* Parses "host:port" or ":port" or "port" into c->listen_host/listen_port. */
int config_parse_listen(struct config *c, const char *s, struct err *e);

#endif
