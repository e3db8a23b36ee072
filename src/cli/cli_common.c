/*
 * cli_common.c — start-up steps shared by the subcommands (cli.h).
 */
#include "cli.h"
#include "../core/password.h"
#include "../core/user.h"
#include "../db/migrate.h"

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

int cli_load_config(int *argc, char **argv, struct config *cfg)
{
    const char *env_file = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--env-file") == 0 && i + 1 < *argc) {
            env_file = argv[++i];
        } else if (strncmp(argv[i], "--env-file=", 11) == 0) {
            env_file = argv[i] + 11;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    struct err e = { 0 };
    if (config_load(cfg, env_file, &e)) {
        fprintf(stderr, "billd: invalid configuration: %s\n", e.msg);
        config_free(cfg);
        return 1;
    }
    log_set_level(cfg->log_level);
    if (password_init()) {
        fprintf(stderr, "billd: cannot initialise libsodium\n");
        config_free(cfg);
        return 1;
    }
    return 0;
}

int cli_open_migrated(const struct config *cfg, struct db **out)
{
    struct err e = { 0 };
    struct db *db;
    char generated[21];
    bool created = false;
    int applied = 0;
    if (db_open(cfg->database_url, &db, &e)) {
        fprintf(stderr, "billd: cannot open the database: %s\n", e.msg);
        return 1;
    }
    if (migrate_run(db, &applied, &e) ||
        user_bootstrap_admin(db, cfg->admin_password, generated, sizeof(generated), &created, &e)) {
        fprintf(stderr, "billd: cannot prepare the database: %s\n", e.msg);
        db_close(db);
        return 1;
    }
    if (applied)
        printf("database migrated to schema version %d\n", migrate_latest());
    if (created && cfg->admin_password)
        printf("first run: created admin user 'admin' with the password from BILLD_ADMIN_PASSWORD\n");
    else if (created)
        printf("first run: created admin user 'admin' with password: %s\n"
               "           (shown once; change it with 'billd user passwd admin')\n",
               generated);
    fflush(stdout);
    *out = db;
    return 0;
}
