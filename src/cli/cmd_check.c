/*
 * cmd_check.c — `billd check`: recompute balances and bonuses from the
 * ledger (DECISIONS D7); exit 1 on any mismatch.
 */
#include "cli.h"
#include "../billing/ledger.h"

int cmd_check(int argc, char **argv)
{
    struct config cfg;
    struct db *db;
    struct err e = { 0 };
    int64_t bad = 0;
    if (cli_wants_help(argc, argv)) {
        printf("usage: billd check [--env-file FILE]\n\n"
               "Compares every user's balance and bonus with the sum of the ledger and\n"
               "exits with status 1 when any differ (each difference is logged).\n");
        return 0;
    }
    if (cli_load_config(&argc, argv, &cfg))
        return 1;
    if (db_open(cfg.database_url, &db, &e)) {
        fprintf(stderr, "billd check: cannot open the database: %s\n", e.msg);
        config_free(&cfg);
        return 1;
    }
    int rc = ledger_check(db, &bad, &e);
    db_close(db);
    config_free(&cfg);
    if (rc) {
        fprintf(stderr, "billd check: %s\n", e.msg);
        return 1;
    }
    printf("ledger check: %lld mismatching user(s)\n", (long long)bad);
    return bad ? 1 : 0;
}
