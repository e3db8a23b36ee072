/*
 * api_template.c — placeholder while the module is being written (issue 3).
 */
#include "api.h"

const struct route_table api_template_routes = { NULL, 0 };
