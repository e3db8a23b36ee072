/*
 * api_template.c — the template store (templates.md §3, api.md §11.10):
 * list (R148), create (R149), update (R150) and delete (R151) under
 * /admin/template, and the same on one template named in the path
 * /admin/template/<id> (R152–R155), where GET answers the raw source text
 * (not rendered) and PUT/POST take the raw request body as the text.
 *
 * The text comes from the `data` argument when it is given and not empty,
 * else from the raw body (SHM: `data || PUTDATA`/`POSTDATA`); it must be valid
 * UTF-8 without NUL characters and may be up to 16 MiB (RF_LARGE_BODY).
 * `settings` must be a JSON object (or null); a string holding a JSON object
 * (a query or form argument) is decoded. Its keys (subject, allow_public,
 * deny_for_http_user, no_parse, telegram, transport options …) are kept as
 * they are. PUT/POST answer the stored object as JSON text with
 * Content-Type text/plain (route format plain, golden 47).
 */
#include "api.h"
#include "resource.h"

#include <strings.h>

#define TEMPLATE_ID_MAX 32

static const struct field template_fields[] = {
    { "id", FT_TEXT, FF_KEY | FF_REQUIRED, "имя шаблона", TEMPLATE_ID_MAX, NULL },
    { "data", FT_TEXT, 0, "шаблон", 0, NULL },
    { "settings", FT_JSON, 0, "настройки", 0, NULL },
};

static const struct model template_model = {
    .name = "Template",
    .table = "templates",
    .key = "id",
    .fields = template_fields,
    .nfields = ARRAY_SIZE(template_fields),
};

static const struct resource template_resource = {
    .m = &template_model,
};

/*
 * A new id: control characters are refused, and so are empty path segments
 * ("/a", "a/", "a//b"), which /admin/template/<id> could not address.
 */
static int check_id(struct api_ctx *c, json_t *v)
{
    const char *id = json_string_value(v);
    if (!id)
        return api_fail(c, 400, "Field id: expected a string");
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return api_fail(c, 400, "Field id: must not contain control characters");
    size_t n = strlen(id);
    if (n == 0)
        return api_fail(c, 400, "Field required: id");
    if (n != json_string_length(v))
        return api_fail(c, 400, "Field id: must not contain control characters");
    if (id[0] == '/' || id[n - 1] == '/' || strstr(id, "//"))
        return api_fail(c, 400, "Field id: must not have empty path segments");
    return 0;
}

/* settings: null, or an object; a string must hold a JSON object. */
static int normalise_settings(struct api_ctx *c, json_t *values)
{
    json_t *v = json_object_get(values, "settings");
    if (!v || json_is_null(v) || json_is_object(v))
        return 0;
    json_t *d = json_is_string(v)
                    ? json_loadb(json_string_value(v), json_string_length(v), 0, NULL)
                    : NULL;
    if (!json_is_object(d)) {
        json_decref(d);
        return api_fail(c, 400, "Field settings: must be a JSON object");
    }
    json_object_set_new(values, "settings", d);
    return 0;
}

static bool content_type_is(const struct api_ctx *c, const char *type)
{
    const char *ct = http_header(c->req, "Content-Type");
    return ct && strncasecmp(ct, type, strlen(type)) == 0;
}

/*
 * The raw body is in the arguments under rawkey unless it was parsed (JSON or
 * form body on a route that parses bodies) or was not valid UTF-8, which the
 * argument parser leaves out: that case is refused here.
 */
static int check_raw_body(struct api_ctx *c, const char *rawkey)
{
    bool parsed = !(c->route->flags & RF_RAW_BODY) &&
                  (content_type_is(c, "application/json") ||
                   content_type_is(c, "application/x-www-form-urlencoded"));
    if (c->req->body.len == 0 || parsed || json_object_get(c->args, rawkey))
        return 0;
    return api_fail(c, 400, "Field data: must be valid UTF-8");
}

/* data: the `data` argument when given and not empty, else the raw body. */
static int take_data(struct api_ctx *c, json_t *values, const char *rawkey)
{
    json_t *data = json_object_get(values, "data");
    json_t *raw = json_object_get(c->args, rawkey);
    int rc = check_raw_body(c, rawkey);
    if (rc)
        return rc;
    if ((!data || (json_is_string(data) && json_string_length(data) == 0)) && json_is_string(raw))
        json_object_set(values, "data", raw);
    data = json_object_get(values, "data");
    if (json_is_string(data) && strlen(json_string_value(data)) != json_string_length(data))
        return api_fail(c, 400, "Field data: must not contain NUL characters");
    return 0;
}

/* Collects and checks the values of a create or an update. */
static int template_values(struct api_ctx *c, bool create, json_t **out)
{
    const char *rawkey = strcmp(c->req->method, "PUT") == 0 ? "PUTDATA" : "POSTDATA";
    json_t *values = NULL;
    int rc = resource_values(c, &template_resource, create, &values);
    if (rc == 0 && create)
        rc = check_id(c, json_object_get(values, "id"));
    if (rc == 0)
        rc = take_data(c, values, rawkey);
    if (rc == 0)
        rc = normalise_settings(c, values);
    if (rc) {
        json_decref(values);
        return rc;
    }
    *out = values;
    return 0;
}

static int api_template_create(struct api_ctx *c)
{
    json_t *values = NULL, *row = NULL;
    int rc = template_values(c, true, &values);
    if (rc == 0)
        rc = resource_insert(c, &template_resource, values, &row);
    json_decref(values);
    if (rc == 0)
        api_set_data(c, row);
    return rc;
}

static int api_template_update(struct api_ctx *c)
{
    json_t *key = NULL, *values = NULL, *row = NULL;
    int rc = resource_key(c, &template_resource, &key);
    if (rc == 0)
        rc = template_values(c, false, &values);
    if (rc == 0)
        rc = resource_update(c, &template_resource, key, values, &row);
    json_decref(key);
    json_decref(values);
    if (rc == 0)
        api_set_data(c, row);
    return rc;
}

/* GET /admin/template/<id>: the stored text as it is ("" when it has none). */
static int api_template_source(struct api_ctx *c)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_TEXT(args_str(c->args, "id")) };
    int rc = db_query(c->db, "SELECT data FROM templates WHERE id = $1", p, 1, &r, &c->err);
    if (rc)
        return rc;
    if (db_result_rows(r) < 1) {
        db_result_free(r);
        return api_fail(c, 400, "Template not found");
    }
    const char *s = db_result_text(r, 0, 0);
    json_t *text = json_stringn(s ? s : "", s ? db_result_len(r, 0, 0) : 0);
    db_result_free(r);
    if (!text)
        return api_fail(c, 500, "template %s: stored text is not UTF-8", args_str(c->args, "id"));
    api_set_data(c, text);
    return 0;
}

#define PATH "/admin/template"
#define SPLAT "/admin/template/*"
#define TPL(m, p, req, h, fl, sum)                                                            \
    { .method = m, .path = p, .auth = AUTH_ADMIN, .required = req, .handler = h,            \
      .flags = RF_LARGE_BODY | (fl), .tag = "templates", .summary = sum,                    \
      .data = &template_resource }

static const struct route routes[] = {
    TPL("GET", PATH, NULL, api_resource_list, 0, "List templates {id, data, settings}"), /* R148 */
    TPL("PUT", PATH, NULL, api_template_create, RF_PLAIN,
        "Create a template (data from `data` or the raw body)"),                       /* R149 */
    TPL("POST", PATH, NULL, api_template_update, RF_PLAIN, "Update a template (key id)"), /* R150 */
    TPL("DELETE", PATH, "id", api_resource_delete, 0, "Delete a template"),              /* R151 */
    TPL("GET", SPLAT, NULL, api_template_source, RF_PLAIN,
        "The raw source of a template (not rendered)"),                                 /* R152 */
    TPL("PUT", SPLAT, NULL, api_template_create, RF_PLAIN | RF_RAW_BODY,
        "Create a template from the raw body"),                                         /* R153 */
    TPL("POST", SPLAT, NULL, api_template_update, RF_PLAIN | RF_RAW_BODY,
        "Replace the text (raw body) and/or settings of a template"),                   /* R154 */
    TPL("DELETE", SPLAT, NULL, api_resource_delete, 0, "Delete a template"),             /* R155 */
};

const struct route_table api_template_routes = ROUTE_TABLE(routes);
