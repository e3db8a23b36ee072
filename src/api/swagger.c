/*
 * swagger.c — OpenAPI 3 documents generated from the route table (api.md
 * §13): one path item per route path, one operation per method, required
 * arguments as parameters, splat tails as path parameters, and the models
 * as component schemas.
 */
#include "api.h"
#include "../core/config_store.h"
#include "../core/event.h"
#include "../core/identity.h"
#include "../core/server.h"
#include "../core/service.h"
#include "../core/storage.h"
#include "../core/user.h"
#include "version.h"

#include <ctype.h>

static const struct model *const schema_models[] = {
    &user_model, &service_model, &server_model, &server_group_model, &identity_model,
    &event_model, &config_model, &storage_model,
};

/* "/storage/manage/\*" → "/storage/manage/{name}" (owned). */
static char *openapi_path(const struct route *r)
{
    size_t n = strlen(r->path);
    if (n && r->path[n - 1] == '*')
        return xasprintf("%.*s{%s}", (int)(n - 1), r->path, r->splat_to ? r->splat_to : "id");
    return xstrdup(r->path);
}

static json_t *parameters_of(const struct route *r)
{
    json_t *params = json_array();
    size_t n = strlen(r->path);
    if (n && r->path[n - 1] == '*')
        json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name",
                                                r->splat_to ? r->splat_to : "id", "in", "path",
                                                "required", 1, "schema", "type", "string"));
    for (const char *p = r->required; p && *p;) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in",
                                                "query", "required", 1, "schema", "type",
                                                "string"));
        p += len + (p[len] == ',');
    }
    return params;
}

static json_t *operation_of(const struct route *r)
{
    json_t *op = json_pack("{s:[s],s:s,s:o,s:{s:{s:s}}}", "tags", r->tag ? r->tag : "api",
                           "summary", r->summary ? r->summary : "", "parameters",
                           parameters_of(r), "responses", "200", "description", "OK");
    if (r->auth == AUTH_NONE)
        json_object_set_new(op, "security", json_array());
    return op;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static json_t *schema_of(const struct model *m)
{
    json_t *props = json_object();
    for (size_t i = 0; i < m->nfields; i++) {
        const struct field *f = &m->fields[i];
        if (f->flags & FF_NOLIST)
            continue; /* never returned (e.g. private keys, blob data) */
        const char *type = f->type == FT_INT ? "integer"
                           : f->type == FT_MONEY || f->type == FT_REAL || f->type == FT_PERIOD
                                 ? "number"
                           : f->type == FT_JSON ? "object" : "string";
        json_t *p = json_pack("{s:s}", "type", type);
        if (f->title)
            json_object_set_new(p, "title", json_string(f->title));
        if (f->type == FT_DATE)
            json_object_set_new(p, "format", json_string("date-time"));
        json_object_set_new(props, f->name, p);
    }
    return json_pack("{s:s,s:o}", "type", "object", "properties", props);
}

static json_t *components(void)
{
    json_t *schemas = json_object();
    for (size_t i = 0; i < ARRAY_SIZE(schema_models); i++)
        json_object_set_new(schemas, schema_models[i]->name, schema_of(schema_models[i]));
    json_t *sec = json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:s},s:{s:s,s:s,s:s}}",
                            "basicAuth", "type", "http", "scheme", "basic",
                            "sessionAuth", "type", "apiKey", "in", "header", "name", "session-id",
                            "cookieAuth", "type", "apiKey", "in", "cookie", "name", "session_id");
    return json_pack("{s:o,s:o}", "schemas", schemas, "securitySchemes", sec);
}

static void add_route(json_t *paths, const struct route *r)
{
    char *path = openapi_path(r);
    json_t *item = json_object_get(paths, path);
    if (!item) {
        item = json_object();
        json_object_set_new(paths, path, item);
    }
    char method[16];
    snprintf(method, sizeof(method), "%s", r->method);
    lower(method);
    json_object_set_new(item, method, operation_of(r));
    free(path);
}

static void add_table(json_t *paths, const struct route_table *t, bool admin)
{
    for (size_t i = 0; i < t->count; i++) {
        const struct route *r = &t->routes[i];
        if (!(r->flags & RF_HIDDEN) && (r->auth != AUTH_ADMIN || admin))
            add_route(paths, r);
    }
}

json_t *api_openapi(bool admin)
{
    json_t *paths = json_object();
    for (size_t t = 0; t < api_tables_count; t++)
        add_table(paths, api_tables[t], admin);
    return json_pack("{s:s,s:{s:s,s:s},s:[{s:s}],s:o,s:o,s:[{s:[]},{s:[]},{s:[]}]}",
                     "openapi", "3.0.4", "info", "title",
                     admin ? "billd API (admin)" : "billd API", "version", BILLD_VERSION,
                     "servers", "url", "/shm/v1", "paths", paths, "components", components(),
                     "security", "basicAuth", "cookieAuth", "sessionAuth");
}
