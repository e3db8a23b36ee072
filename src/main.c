/*
 * main.c — `billd <command> [options]`: the subcommand table and dispatch.
 * Adding a command means a row here, a cmd_<name>.c under src/cli/, and a
 * line in the README.
 */
#include "common.h"
#include "cli/cli.h"
#include "version.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int cmd_version(int argc, char **argv)
{
    UNUSED(argc);
    UNUSED(argv);
    printf("billd %s\n", BILLD_VERSION);
    return 0;
}

static const struct command commands[] = {
    { "serve", cmd_serve, "run the API server (migrates the database first)" },
    { "migrate", cmd_migrate, "create or upgrade the database schema" },
    { "user", cmd_user, "manage users: user add LOGIN, user passwd LOGIN" },
    { "check", cmd_check, "verify balances and bonuses against the ledger" },
    { "renew", cmd_renew, "renew every due user service now (safe to re-run)" },
    { "identity", cmd_identity, "identity rekey: re-encrypt SSH keys with the current key" },
    { "import-shm", cmd_import_shm, "import an SHM database from its MySQL dump" },
    { "spool", cmd_spool, "run spool workers only (extra nodes on PostgreSQL)" },
    { "template", cmd_template, "template check FILE|ID: parse a template, report errors" },
    { "version", cmd_version, "print the version" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: billd <command> [--env-file FILE] [options]\n\ncommands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'billd <command> --help' for the options of a command.\n"
                 "Configuration comes from the environment (see docs/configuration.md).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(0, NULL);
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "billd: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
