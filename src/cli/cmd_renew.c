/*
 * cmd_renew.c — `billd renew`: one renewal pass over every due user service
 * (src/billing/renew.h), for cron-less operation, recovery and tests. The
 * scheduler inside `billd serve` will call the same function.
 */
#include "cli.h"
#include "../billing/renew.h"
#include "../util/strutil.h"
#include "../util/timeutil.h"

int cmd_renew(int argc, char **argv)
{
    struct config cfg;
    struct db *db;
    struct err e = { 0 };
    struct renew_stats st;
    int64_t batch = 0, chunk = 0;
    if (cli_wants_help(argc, argv)) {
        printf("usage: billd renew [--batch N] [--chunk M] [--now 'YYYY-MM-DD HH:MM:SS']"
               " [--env-file FILE]\n\n"
               "Renews every ACTIVE, auto-billed user service whose expire has passed, N\n"
               "services per transaction (default %d). Safe to interrupt and re-run.\n"
               "--chunk reads the due services M at a time (default %d).\n"
               "--now (only with BILLD_TEST_CLOCK=1) renews as of that local time.\n",
               RENEW_BATCH, RENEW_CHUNK);
        return 0;
    }
    if (cli_load_config(&argc, argv, &cfg))
        return 1;
    int64_t now = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--batch") == 0 && parse_i64z(argv[i + 1], 1, 100000, &batch) == 0)
            continue;
        if (strcmp(argv[i], "--chunk") == 0 && parse_i64z(argv[i + 1], 1, 1000000, &chunk) == 0)
            continue;
        if (strcmp(argv[i], "--now") == 0 && cfg.test_clock &&
            time_parse_local(argv[i + 1], &now) == 0)
            continue;
        fprintf(stderr, "billd renew: bad option '%s'\n", argv[i]);
        config_free(&cfg);
        return 2;
    }
    if (argc % 2 == 0) {
        fprintf(stderr, "billd renew: unexpected argument '%s'\n", argv[argc - 1]);
        config_free(&cfg);
        return 2;
    }
    if (now)
        time_freeze(now);
    argc = 1;
    if (argc > 1) {
        fprintf(stderr, "billd renew: unexpected argument '%s'\n", argv[1]);
        config_free(&cfg);
        return 2;
    }
    int rc = cli_open_migrated(&cfg, &db);
    if (rc) {
        config_free(&cfg);
        return rc;
    }
    rc = renew_due_chunked(db, time_now(), (int)batch, (int)chunk, &st, &e);
    if (rc)
        fprintf(stderr, "billd renew: %s\n", e.msg);
    else
        printf("renewal pass: %lld due, %lld renewed or processed, %lld failed\n",
               (long long)st.due, (long long)st.touched, (long long)st.failed);
    db_close(db);
    config_free(&cfg);
    return rc ? 1 : 0;
}
