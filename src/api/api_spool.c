/*
 * api_spool.c — the spool admin routes (api.md, spool.md §10) (not written yet: an empty route table).
 */
#include "api.h"

const struct route_table api_spool_routes = { NULL, 0 };
