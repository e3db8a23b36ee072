/*
 * api_service.c — placeholder while the module is being written (issue 3).
 */
#include "api.h"

const struct route_table api_service_routes = { NULL, 0 };
