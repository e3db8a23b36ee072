/*
 * routes.c — the list of route tables. Each api_<resource>.c owns the rows of
 * its routes (method, path, auth, required arguments, handler, flags); adding
 * a resource means adding its table here. The same rows drive dispatch and
 * the OpenAPI documents (swagger.c). Route ids in the modules' comments are
 * those of spec/api.md §11 and §12.
 */
#include "api.h"

const struct route_table *const api_tables[] = {
    &api_system_routes,
    &api_user_routes,
    &api_admin_user_routes,
    &api_service_routes,
    &api_server_routes,
    &api_event_routes,
    &api_template_routes,
    &api_config_routes,
    &api_storage_routes,
    &api_payment_routes,
    &api_test_clock_routes,
    &api_user_service_routes,
    &api_spool_routes,
    &api_console_routes,
    &api_transport_routes,
    &api_transport_http_routes,
    &api_render_routes,
    &api_promo_routes,
};
const size_t api_tables_count = ARRAY_SIZE(api_tables);

const struct route_table *const legacy_tables[] = {
    &api_legacy_routes,
    &api_console_legacy_routes,
    &api_transport_http_legacy_routes,
};
const size_t legacy_tables_count = ARRAY_SIZE(legacy_tables);
