/*
 * api_render.c — template rendering routes under /template/ and /public/ (templates.md, api.md)
 */
#include "api.h"

const struct route_table api_render_routes = { NULL, 0 };
