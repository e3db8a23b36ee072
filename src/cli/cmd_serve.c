/*
 * cmd_serve.c — `billd serve`: migrate, then run the HTTP API and the spool
 * workers (SPOOL_WORKERS, default 2, 0 = none; D4) until SIGINT or SIGTERM,
 * then stop cleanly (workers finish their task, pool threads close their
 * connections).
 */
#include "cli.h"
#include "../api/api.h"
#include "../spool/spool.h"
#include "../util/log.h"

#include <signal.h>

static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int serve(const struct config *cfg)
{
    struct http_server *srv;
    struct spool_pool *spool = NULL;
    struct http_app app;
    struct err e = { 0 };
    sigset_t set;
    int sig = 0;
    int spool_workers = 0;
    if (spool_workers_env(2, &spool_workers, &e)) {
        fprintf(stderr, "billd serve: invalid configuration: %s\n", e.msg);
        return 1;
    }
    block_signals(&set); /* before any thread starts, so all inherit the mask */
    struct http_options opt = {
        .host = cfg->listen_host,
        .port = cfg->listen_port,
        .threads = cfg->workers,
        .max_connections = cfg->max_connections,
        .max_connections_per_ip = cfg->max_connections_per_ip,
        .idle_timeout = cfg->idle_timeout,
        .header_memory = cfg->header_memory,
        .max_body = cfg->max_body,
    };
    api_http_app(cfg, &app);
    if (http_start(&opt, &app, &srv, &e)) {
        fprintf(stderr, "billd serve: %s\n", e.msg);
        return 1;
    }
    if (spool_workers > 0 && spool_pool_start(cfg, spool_workers, false, &spool, &e)) {
        fprintf(stderr, "billd serve: spool: %s\n", e.msg);
        http_stop(srv);
        return 1;
    }
    bool v6 = strchr(cfg->listen_host, ':') != NULL;
    char host[80];
    snprintf(host, sizeof(host), "%s%s%s", v6 ? "[" : "", cfg->listen_host, v6 ? "]" : "");
    printf("billd listening on http://%s:%d/shm/v1/ (health: /shm/v1/healthcheck)\n", host,
           http_port(srv));
    fflush(stdout);
    log_info("listening", "host=%s port=%d workers=%d tz=%s", cfg->listen_host, http_port(srv),
             cfg->workers, cfg->tz);
    sigwait(&set, &sig);
    log_info("shutting down", "signal=%d", sig);
    spool_pool_stop(spool);
    http_stop(srv);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    struct config cfg;
    struct db *db;
    if (cli_wants_help(argc, argv)) {
        printf("usage: billd serve [--env-file FILE]\n\n"
               "Migrates DATABASE_URL, then serves the API on LISTEN (default\n"
               "127.0.0.1:8080) with WORKERS_COUNT threads and runs SPOOL_WORKERS\n"
               "spool workers (default 2, 0 = none) until SIGINT/SIGTERM.\n");
        return 0;
    }
    if (cli_load_config(&argc, argv, &cfg))
        return 1;
    if (argc > 1) {
        fprintf(stderr, "billd serve: unexpected argument '%s'\n", argv[1]);
        config_free(&cfg);
        return 2;
    }
    int rc = cli_open_migrated(&cfg, &db);
    if (rc == 0) {
        db_close(db);
        rc = serve(&cfg);
    }
    config_free(&cfg);
    return rc;
}
