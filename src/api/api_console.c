/*
 * api_console.c — the pipeline console: /shm/admin/console.cgi and its live
 * stream (not written yet: empty route tables).
 */
#include "api.h"

const struct route_table api_console_routes = { NULL, 0 };
const struct route_table api_console_legacy_routes = { NULL, 0 };
const struct route_table api_transport_routes = { NULL, 0 };
