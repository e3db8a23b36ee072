/*
 * api_config.c — placeholder while the module is being written (issue 3).
 */
#include "api.h"

const struct route_table api_config_routes = { NULL, 0 };
