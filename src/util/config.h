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
    size_t max_body;          /* bytes, 1 MiB */
    size_t max_body_large;    /* bytes, 16 MiB (storage, templates) */
    size_t header_memory;     /* per-connection memory for headers, 64 KiB */
};

/*
 * Reads env_file (may be NULL; a missing named file is an error) into the
 * environment without overriding existing variables, then fills c from the
 * environment and sets TZ for the process. Returns 0 or ERR_INVALID with the
 * message in e. Free with config_free().
 */
int config_load(struct config *c, const char *env_file, struct err *e);
void config_free(struct config *c);
/* Parses "host:port" or ":port" or "port" into c->listen_host/listen_port. */
int config_parse_listen(struct config *c, const char *s, struct err *e);

#endif
