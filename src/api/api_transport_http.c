/*
 * api_transport_http.c — the HTTP test peer and the mail test route (not written yet: an empty route table).
 */
#include "api.h"

const struct route_table api_transport_http_routes = { NULL, 0 };
