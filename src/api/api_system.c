/*
 * api_system.c — system routes: health check (R1), company info (R7),
 * version (R79), the OpenAPI documents (R26, R27) and the HTTP echo used by
 * transport tests (R3–R6).
 */
#include "api.h"
#include "../core/config_store.h"
#include "../db/migrate.h"
#include "version.h"

static int api_healthcheck(struct api_ctx *c)
{
    if (db_ping(c->db, &c->err))
        return api_fail_msg(c, 503, "Can't connect to DB");
    api_set_data(c, json_pack("{s:s}", "result", "SUCCESS"));
    return 0;
}

static int api_company(struct api_ctx *c)
{
    json_t *v = NULL;
    int rc = config_store_get(c->db, "company", &v, &c->err);
    if (rc == ERR_NOT_FOUND) {
        err_clear(&c->err); /* a missing key is not an error here */
        v = json_object();
    } else if (rc)
        return rc;
    api_set_data(c, v);
    return 0;
}

static int api_version(struct api_ctx *c)
{
    int64_t schema = 0;
    int rc = migrate_current(c->db, &schema, &c->err);
    if (rc)
        return rc;
    api_set_data(c, json_pack("{s:s,s:s,s:I}", "name", "billd", "version", BILLD_VERSION,
                              "schema", (json_int_t)schema));
    return 0;
}

static int api_swagger(struct api_ctx *c)
{
    api_set_data(c, api_openapi(false));
    return 0;
}

static int api_swagger_admin(struct api_ctx *c)
{
    api_set_data(c, api_openapi(true));
    return 0;
}

static int api_test_echo(struct api_ctx *c)
{
    json_t *payload = json_deep_copy(c->args);
    api_set_data(c, json_pack("{s:o,s:s}", "payload", payload, "method", c->req->method));
    return 0;
}

#define R(m, p, a, req, h, fl, tag, sum) { m, p, a, req, h, fl, NULL, NULL, tag, sum, NULL }

static const struct route routes[] = {
    R("GET", "/healthcheck", AUTH_NONE, NULL, api_healthcheck, RF_NO_TX, "system",
      "Health check: SUCCESS, or 503 when the database is unreachable"),                 /* R1 */
    R("GET", "/test/http/echo", AUTH_NONE, NULL, api_test_echo, 0, "system", "Echo (GET)"),
    R("POST", "/test/http/echo", AUTH_NONE, NULL, api_test_echo, 0, "system", "Echo (POST)"),
    R("PUT", "/test/http/echo", AUTH_NONE, NULL, api_test_echo, 0, "system", "Echo (PUT)"),
    R("DELETE", "/test/http/echo", AUTH_NONE, NULL, api_test_echo, 0, "system", "Echo (DELETE)"),
    R("GET", "/company", AUTH_NONE, NULL, api_company, 0, "system", "Company information"), /* R7 */
    R("GET", "/swagger.json", AUTH_NONE, NULL, api_swagger, RF_BARE_JSON | RF_NO_TX, "system",
      "OpenAPI document of the user routes"),                                           /* R26 */
    R("GET", "/swagger_admin.json", AUTH_NONE, NULL, api_swagger_admin, RF_BARE_JSON | RF_NO_TX,
      "system", "OpenAPI document including admin routes"),                              /* R27 */
    R("GET", "/admin/system/version", AUTH_ADMIN, NULL, api_version, RF_BARE_JSON, "admin",
      "Version information"),                                                            /* R79 */
};

const struct route_table api_system_routes = ROUTE_TABLE(routes);
