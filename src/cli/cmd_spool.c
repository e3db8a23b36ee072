/*
 * cmd_spool.c — `billd spool` (not written yet).
 */
#include "cli.h"

int cmd_spool(int argc, char **argv)
{
    UNUSED(argc);
    UNUSED(argv);
    fprintf(stderr, "billd spool: not implemented yet\n");
    return 2;
}
