/*
 * cmd_template.c — `billd template` (not written yet).
 */
#include "cli.h"

int cmd_template(int argc, char **argv)
{
    UNUSED(argc);
    UNUSED(argv);
    fprintf(stderr, "billd template: not implemented yet\n");
    return 2;
}
