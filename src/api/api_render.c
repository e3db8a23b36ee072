/*
 * api_render.c — rendering stored templates over HTTP (templates.md §8,
 * api.md R16/R17, R63/R64):
 *
 *   GET/POST /template/<id>  as the caller (an admin's user_id argument
 *                            selects the user: the admin render-for-user
 *                            test); refused for non-admins when the
 *                            template's settings.deny_for_http_user is set;
 *   GET/POST /public/<id>    anonymously (D12: user 0, user_id ignored),
 *                            only when settings.allow_public is set;
 *                            settings.no_parse answers the raw text.
 *
 * Request arguments are not template variables (§6.2): the template sees
 * them as request.params (re-parsed with JSON auto-parsing, §6.3) and
 * request.headers (`tpl` is the template itself); `usi` binds `us` and must name the caller's own user
 * service unless the caller is an admin (D11, else 404); anonymous renders
 * ignore it. The answer is the
 * rendered text as plain text, or in the requested format: json, html,
 * other (src/api/render.c), qrcode (SVG) and qrcode_png (PNG). A template
 * that called report.add_error(msg) answers 400 with msg; otherwise
 * report.status(N) and report.headers({…}) set the answer's status and add
 * its headers.
 */
#include "api.h"
#include "../objects/qr.h"
#include "../objects/render.h"
#include "../util/buf.h"

#include <strings.h>

#define NOT_FOUND_MSG "Template not found"
#define RENDER_OUT_MAX ((size_t)16 << 20)

/* The headers request.headers shows, with their CGI names. */
static const char *const shown_headers[][2] = {
    { "Content-Type", "CONTENT_TYPE" },     { "Content-Length", "CONTENT_LENGTH" },
    { "User-Agent", "HTTP_USER_AGENT" },    { "Host", "HTTP_HOST" },
    { "Origin", "HTTP_ORIGIN" },            { "Referer", "HTTP_REFERER" },
    { "Accept", "HTTP_ACCEPT" },            { "Accept-Language", "HTTP_ACCEPT_LANGUAGE" },
    { "X-Real-IP", "HTTP_X_REAL_IP" },      { "X-Forwarded-For", "HTTP_X_FORWARDED_FOR" },
};

/* A stored template: its text (owned) and settings (owned object or NULL). */
struct stored_tpl {
    char *data;
    size_t len;
    json_t *settings;
};

static void stored_tpl_free(struct stored_tpl *t)
{
    free(t->data);
    json_decref(t->settings);
}

/* Loads template id. Returns 0 or an error set on c (400 Template not found). */
static int load_template(struct api_ctx *c, const char *id, struct stored_tpl *out)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_TEXT(id) };
    int rc = db_query(c->db, "SELECT data, settings FROM templates WHERE id = $1", p, 1, &res,
                      &c->err);
    if (rc == 0 && db_result_rows(res) == 0)
        rc = api_fail(c, 400, NOT_FOUND_MSG);
    if (rc == 0) {
        const char *d = db_result_text(res, 0, 0), *s = db_result_text(res, 0, 1);
        out->len = d ? db_result_len(res, 0, 0) : 0;
        out->data = xstrndup(d ? d : "", out->len);
        out->settings = s ? json_loads(s, 0, NULL) : NULL;
        if (!json_is_object(out->settings)) {
            json_decref(out->settings);
            out->settings = NULL;
        }
    }
    db_result_free(res);
    return rc;
}

static bool setting_true(const json_t *settings, const char *key)
{
    json_t *v = json_object_get(settings, key);
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_string(v))
        return json_string_length(v) && strcmp(json_string_value(v), "0") != 0;
    return true;
}

/* {params, headers} of the current request (templates.md §6.3). */
static json_t *request_var(struct api_ctx *c)
{
    json_t *params = NULL;
    struct err e = { 0 };
    if (args_parse(c->req, false, &params, &e) || !json_is_object(params)) {
        json_decref(params);
        params = json_deep_copy(c->args);
    }
    json_object_del(params, "id");
    if (c->splat && json_is_string(json_object_get(c->args, "id")))
        json_object_set(params, "id", json_object_get(c->args, "id"));
    json_t *headers = json_object();
    for (size_t i = 0; i < ARRAY_SIZE(shown_headers); i++) {
        const char *v = http_header(c->req, shown_headers[i][0]);
        if (v)
            json_object_set_new(headers, shown_headers[i][1], json_string(v));
    }
    json_object_set_new(headers, "REQUEST_METHOD", json_string(c->req->method));
    json_object_set_new(headers, "REMOTE_ADDR", json_string(c->req->client_ip));
    return json_pack("{s:o,s:o}", "params", params, "headers", headers);
}

/* The `usi` argument: 0 when absent; a user's must be their own (D11, else 404). */
static int usi_arg(struct api_ctx *c, bool admin, int64_t *usi)
{
    *usi = 0;
    if (args_missing(c->args, "usi"))
        return 0;
    if (args_i64(c->args, "usi", usi) || *usi <= 0)
        return api_fail(c, 400, "Field usi: expected a positive integer");
    if (admin)
        return 0;
    int64_t owner = 0;
    struct db_value p[] = { DB_INT(*usi) };
    struct err e = { 0 };
    int rc = db_query_int(c->db, "SELECT user_id FROM user_services WHERE user_service_id = $1",
                          p, 1, &owner, &e);
    if (rc == ERR_NOT_FOUND || (rc == 0 && owner != c->user_id))
        return api_fail(c, 404, "Object not found. Check the ID.");
    if (rc)
        c->err = e;
    return rc;
}

/* Answers text as a QR image (format qrcode: SVG, qrcode_png: PNG). */
static int answer_qr(struct api_ctx *c, const char *text, size_t len, bool png)
{
    char *body = NULL;
    size_t n = 0;
    int rc = png ? qr_png(text, len, (unsigned char **)&body, &n, &c->err)
                 : qr_svg(text, len, &body, &n, &c->err);
    if (rc)
        return rc;
    c->out = API_OUT_CUSTOM;
    c->resp->status = 200;
    http_response_body(c->resp, body, n, png ? "image/png" : "image/svg+xml");
    return 0;
}

/* Sets the answer: the text in the requested format. */
static int answer(struct api_ctx *c, const char *text, size_t len)
{
    const char *fmt = args_str(c->args, "format");
    if (fmt && !strcasecmp(fmt, "qrcode_png"))
        return answer_qr(c, text, len, true);
    if (fmt && !strcasecmp(fmt, "qrcode"))
        return answer_qr(c, text, len, false);
    api_set_data(c, json_stringn_nocheck(text, len));
    return 0;
}

/* A successful answer takes the template's report.status(N) and report.headers({…}). */
static void apply_report(struct api_ctx *c, const struct render_ctx *r)
{
    const char *k;
    json_t *v;
    json_object_foreach(r->report_headers, k, v)
        http_response_header(c->resp, k, json_string_value(v));
    if (r->report_status)
        c->resp->status = r->report_status;
}

/* Renders t for the caller with request.* and usi. */
static int render_for(struct api_ctx *c, const char *id, const struct stored_tpl *t,
                      int64_t user_id, bool admin)
{
    int64_t usi = 0;
    int rc = user_id ? usi_arg(c, admin, &usi) : 0; /* anonymous: no services to bind */
    if (rc)
        return rc;
    json_t *vars = json_pack("{s:o}", "request", request_var(c));
    struct render_ctx r = { .db = c->db, .cfg = c->cfg, .user_id = user_id, .admin = admin,
                            .usi = usi, .vars = vars, .client_ip = c->req->client_ip };
    struct buf out;
    buf_init(&out, RENDER_OUT_MAX);
    struct err e = { 0 };
    rc = render_text(&r, id, t->data, t->len, &out, &e);
    if (rc)
        rc = api_fail(c, 400, "Template render error: %s", e.msg);
    else if (r.report_error)
        rc = api_fail(c, 400, "%s", r.report_error);
    else if ((rc = answer(c, out.data, out.len)) == 0)
        apply_report(c, &r);
    buf_free(&out);
    render_ctx_release(&r);
    json_decref(vars);
    return rc;
}

/* The template id of the route (the splat). */
static const char *route_id(struct api_ctx *c)
{
    const char *id = args_str(c->args, "id");
    return id && *id ? id : c->splat;
}

/* GET/POST /template/<id> (R63, R64). */
static int h_template(struct api_ctx *c)
{
    const char *id = route_id(c);
    struct stored_tpl t = { 0 };
    if (!id || !*id)
        return api_fail(c, 400, NOT_FOUND_MSG);
    int rc = load_template(c, id, &t);
    bool admin = c->auth_admin;
    if (rc == 0 && !admin && setting_true(t.settings, "deny_for_http_user"))
        rc = api_fail(c, 400, "Template is not allowed for http use by user");
    if (rc == 0)
        rc = render_for(c, id, &t, c->user_id, admin);
    stored_tpl_free(&t);
    return rc;
}

/* GET/POST /public/<id> (R16, R17): anonymous (D12). */
static int h_public(struct api_ctx *c)
{
    const char *id = route_id(c);
    struct stored_tpl t = { 0 };
    if (!id || !*id)
        return api_fail(c, 400, NOT_FOUND_MSG);
    int rc = load_template(c, id, &t);
    if (rc == 0 && !setting_true(t.settings, "allow_public"))
        rc = api_fail(c, 400, NOT_FOUND_MSG);
    if (rc == 0 && setting_true(t.settings, "no_parse"))
        rc = answer(c, t.data, t.len);
    else if (rc == 0)
        rc = render_for(c, id, &t, 0, false);
    stored_tpl_free(&t);
    return rc;
}

static const struct route routes[] = {
    { "GET", "/template/*", AUTH_USER, NULL, h_template, RF_PLAIN, "id", NULL, "Template",
      "Render a template for the caller" },
    { "POST", "/template/*", AUTH_USER, NULL, h_template,
      RF_PLAIN | RF_RAW_BODY | RF_LARGE_BODY, "id", NULL, "Template",
      "Render a template for the caller (body as request.params)" },
    { "GET", "/public/*", AUTH_NONE, NULL, h_public, RF_PLAIN, "id", NULL, "Template",
      "Render a public template anonymously" },
    { "POST", "/public/*", AUTH_NONE, NULL, h_public, RF_PLAIN | RF_RAW_BODY | RF_LARGE_BODY,
      "id", NULL, "Template", "Render a public template anonymously" },
};

const struct route_table api_render_routes = ROUTE_TABLE(routes);
