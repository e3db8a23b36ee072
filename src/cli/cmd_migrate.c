/*
 * cmd_migrate.c — `billd migrate`: apply pending migrations and create the
 * first admin on an empty database.
 */
#include "cli.h"

int cmd_migrate(int argc, char **argv)
{
    struct config cfg;
    struct db *db;
    if (cli_wants_help(argc, argv)) {
        printf("usage: billd migrate [--env-file FILE]\n\n"
               "Creates or upgrades the schema of DATABASE_URL. On an empty database it\n"
               "also creates user 'admin' with BILLD_ADMIN_PASSWORD or a generated password,\n"
               "printed once.\n");
        return 0;
    }
    if (cli_load_config(&argc, argv, &cfg))
        return 1;
    if (argc > 1) {
        fprintf(stderr, "billd migrate: unexpected argument '%s'\n", argv[1]);
        config_free(&cfg);
        return 2;
    }
    int rc = cli_open_migrated(&cfg, &db);
    if (rc == 0) {
        printf("database is up to date\n");
        db_close(db);
    }
    config_free(&cfg);
    return rc;
}
