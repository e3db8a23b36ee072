/*
 * api_system.c — system routes: health checks (R1, L4), company info (R7),
 * version (R79), the OpenAPI documents (R26, R27) and the HTTP echo used by
 * transport tests (R3–R6).
 */
#include "api.h"
#include "../core/config_store.h"
#include "../db/migrate.h"
#include "version.h"

int api_healthcheck(struct api_ctx *c)
{
    if (db_ping(c->db, &c->err))
        return api_fail_msg(c, 503, "Can't connect to DB");
    api_set_data(c, json_pack("{s:s}", "result", "SUCCESS"));
    return 0;
}

int api_legacy_healthcheck(struct api_ctx *c)
{
    c->out = API_OUT_CUSTOM;
    c->resp->status = 204;
    http_response_body(c->resp, xstrdup(""), 0, "text/plain; charset=utf8");
    return 0;
}

int api_company(struct api_ctx *c)
{
    json_t *v = NULL;
    int rc = config_store_get(c->db, "company", &v, &c->err);
    if (rc == ERR_NOT_FOUND)
        v = json_object();
    else if (rc)
        return rc;
    api_set_data(c, v);
    return 0;
}

int api_version(struct api_ctx *c)
{
    int64_t schema = 0;
    int rc = migrate_current(c->db, &schema, &c->err);
    if (rc)
        return rc;
    api_set_data(c, json_pack("{s:s,s:s,s:I}", "name", "billd", "version", BILLD_VERSION,
                              "schema", (json_int_t)schema));
    return 0;
}

int api_swagger(struct api_ctx *c)
{
    api_set_data(c, api_openapi(false));
    return 0;
}

int api_swagger_admin(struct api_ctx *c)
{
    api_set_data(c, api_openapi(true));
    return 0;
}

int api_test_echo(struct api_ctx *c)
{
    json_t *payload = json_deep_copy(c->args);
    api_set_data(c, json_pack("{s:o,s:s}", "payload", payload, "method", c->req->method));
    return 0;
}
