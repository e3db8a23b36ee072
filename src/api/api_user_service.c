/*
 * api_user_service.c — placeholder while the module is being written (issue 4).
 */
#include "api.h"

const struct route_table api_user_service_routes = { NULL, 0 };
