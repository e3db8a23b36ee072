/*
 * api_server.c — placeholder while the module is being written (issue 3).
 */
#include "api.h"

const struct route_table api_server_routes = { NULL, 0 };
