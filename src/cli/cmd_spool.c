/*
 * cmd_spool.c — `billd spool [--once]`: spool workers without the API (D4),
 * for extra worker nodes on PostgreSQL, cron and tests. Runs until SIGINT or
 * SIGTERM (workers finish their current task), or with --once until nothing
 * is due and no worker is busy.
 */
#include "cli.h"
#include "../spool/spool.h"
#include "../util/log.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

/* Waits for SIGINT/SIGTERM, or (once) for the pool to finish. */
static void wait_end(struct spool_pool *pool, bool once, const sigset_t *set)
{
    struct timespec tick = { 0, 200 * 1000000L };
    for (;;) {
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig > 0) {
            log_info("spool: shutting down", "signal=%d", sig);
            return;
        }
        if (once && spool_pool_done(pool))
            return;
    }
}

static int run(const struct config *cfg, bool once)
{
    struct spool_pool *pool = NULL;
    struct err e = { 0 };
    int workers = 0;
    sigset_t set;
    if (spool_workers_env(2, &workers, &e)) {
        fprintf(stderr, "billd spool: invalid configuration: %s\n", e.msg);
        return 1;
    }
    if (workers < 1)
        workers = 1;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the threads start */
    signal(SIGPIPE, SIG_IGN);
    if (spool_pool_start(cfg, workers, once, &pool, &e)) {
        fprintf(stderr, "billd spool: %s\n", e.msg);
        return 1;
    }
    wait_end(pool, once, &set);
    spool_pool_stop(pool);
    return 0;
}

int cmd_spool(int argc, char **argv)
{
    struct config cfg;
    struct db *db;
    bool once = false;
    if (cli_wants_help(argc, argv)) {
        printf("usage: billd spool [--once] [--env-file FILE]\n\n"
               "Runs SPOOL_WORKERS spool workers (default 2) on DATABASE_URL without the\n"
               "API, until SIGINT/SIGTERM. --once: process everything that is due, then\n"
               "exit. Several nodes may share a PostgreSQL database (each needs its own\n"
               "BILLD_NODE_ID, default the host name); on SQLite run one spool process.\n");
        return 0;
    }
    if (cli_load_config(&argc, argv, &cfg))
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            once = true;
            continue;
        }
        fprintf(stderr, "billd spool: unexpected argument '%s'\n", argv[i]);
        config_free(&cfg);
        return 2;
    }
    int rc = cli_open_migrated(&cfg, &db);
    if (rc == 0) {
        db_close(db);
        rc = run(&cfg, once);
    }
    config_free(&cfg);
    return rc;
}
