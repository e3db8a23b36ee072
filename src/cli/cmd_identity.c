/*
 * cmd_identity.c — `billd identity rekey`: re-encrypt every stored SSH
 * private key with the current key (docs/identity-keys.md, rotation).
 */
#include "cli.h"
#include "../core/identity.h"

int cmd_identity(int argc, char **argv)
{
    struct config cfg;
    struct db *db;
    struct err e = { 0 };
    int64_t changed = 0;
    if (cli_wants_help(argc, argv) || argc < 2 || strcmp(argv[1], "rekey") != 0) {
        FILE *out = cli_wants_help(argc, argv) ? stdout : stderr;
        fprintf(out, "usage: billd identity rekey [--env-file FILE]\n\n"
                     "Re-encrypts every SSH identity with BILLD_SECRET_KEY; rows made with the\n"
                     "previous key are read with BILLD_SECRET_KEY_OLD (see docs/identity-keys.md).\n");
        return cli_wants_help(argc, argv) ? 0 : 2;
    }
    if (cli_load_config(&argc, argv, &cfg))
        return 1;
    int rc = cli_open_migrated(&cfg, &db);
    if (rc) {
        config_free(&cfg);
        return rc;
    }
    rc = identity_rekey_all(db, &cfg, &changed, &e);
    if (rc)
        fprintf(stderr, "billd identity rekey: %s\n", e.msg);
    else
        printf("re-encrypted %lld identit%s\n", (long long)changed, changed == 1 ? "y" : "ies");
    db_close(db);
    config_free(&cfg);
    return rc ? 1 : 0;
}
