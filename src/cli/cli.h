/*
 * cli.h — the `billd` subcommands (git-style dispatch in main.c).
 *
 * Each subcommand takes argc/argv starting at its own name, answers --help
 * itself, and returns the process exit status (0 success, 1 failure,
 * 2 usage error).
 */
#ifndef BILLD_CLI_H
#define BILLD_CLI_H

#include "../common.h"
#include "../db/db.h"
#include "../util/config.h"

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_identity(int argc, char **argv);
int cmd_import_shm(int argc, char **argv);
int cmd_renew(int argc, char **argv);
int cmd_spool(int argc, char **argv);
int cmd_template(int argc, char **argv);

/*
 * Shared start-up: parses the common option --env-file FILE out of argv
 * (compacting argv), loads the configuration and sets the log level.
 * Prints one clear message and returns non-zero on invalid configuration.
 */
int cli_load_config(int *argc, char **argv, struct config *cfg);
/* Opens the database of cfg, applies migrations and creates the first admin (printing its password). */
int cli_open_migrated(const struct config *cfg, struct db **out);
/* True if argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);

#endif
