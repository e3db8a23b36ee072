/*
 * render.c — envelopes, error bodies, formats and common headers (render.h).
 */
#include "render.h"
#include "../util/jsonout.h"
#include "../util/timeutil.h"

#include <strings.h>

#define CT_JSON "application/json; charset=utf-8"
#define CT_PLAIN "text/plain; charset=utf-8"

char *render_json(const json_t *v)
{
    return jsonout_dumps(v, 15); /* = json_dumps(v, COMPACT | SORT_KEYS | ENCODE_ANY | precision 15) */
}

static void set_json_body(struct api_ctx *c, int status, json_t *v)
{
    char *s = render_json(v);
    c->resp->status = status;
    http_response_body(c->resp, s, strlen(s), CT_JSON);
}

static void add_cors(struct api_ctx *c)
{
    const char *origin = http_header(c->req, "Origin");
    if (!origin)
        return;
    http_response_header(c->resp, "Access-Control-Allow-Origin", origin);
    http_response_header(c->resp, "Access-Control-Allow-Credentials", "true");
    http_response_header(c->resp, "Vary", "Origin");
}

void render_preflight(struct api_ctx *c)
{
    c->resp->status = 204;
    http_response_body(c->resp, xstrdup(""), 0, CT_PLAIN);
    add_cors(c);
    http_response_header(c->resp, "Access-Control-Allow-Headers",
                         "Origin, X-Requested-With, Content-Type, Accept, Authorization, "
                         "session-id, login, password");
    http_response_header(c->resp, "Access-Control-Allow-Methods",
                         "GET, POST, PUT, DELETE, OPTIONS, HEAD");
}

void render_not_found(struct api_ctx *c, bool in_api)
{
    if (in_api) {
        render_response(c);
        return;
    }
    char *body = xasprintf("Not Found: %s\n", c->req->path);
    c->resp->status = 404;
    http_response_body(c->resp, body, strlen(body), "text/plain; charset=utf8");
    add_cors(c);
}

static int status_of(const struct api_ctx *c)
{
    if (c->err.status)
        return c->err.status;
    switch (c->err.code) {
    case ERR_INVALID: return 400;
    case ERR_AUTH: return 401;
    case ERR_DENIED: return 403;
    case ERR_NOT_FOUND: return 404;
    case ERR_BUSY: return 408;
    case ERR_CONFLICT: return 409;
    case ERR_LIMIT: return 413;
    case ERR_IO: return 503;
    default: return 500;
    }
}

static void render_error(struct api_ctx *c)
{
    int status = status_of(c);
    const char *msg = c->err.msg[0] ? c->err.msg : "Internal error";
    if (status >= 500 && status != 503)
        msg = "Internal Server Error"; /* details are in the log, not for clients */
    json_t *o = json_object();
    json_object_set_new(o, c->err_msg_key ? "msg" : "error", json_string(msg));
    json_object_set_new(o, "status", json_integer(status));
    if (status == 429)
        json_object_set_new(o, "ip", json_string(c->req->client_ip));
    set_json_body(c, status, o);
    json_decref(o);
    if (c->err_header)
        http_response_header(c->resp, "Error", msg);
}

/* The envelope's limit/offset echo for GETs that are not generic lists. */
static json_t *echo_arg(struct api_ctx *c, const char *key, json_int_t def)
{
    json_t *v = json_object_get(c->args, key);
    return v ? json_incref(v) : json_integer(def);
}

static void render_envelope(struct api_ctx *c)
{
    char date[64];
    json_t *o = json_object();
    time_format_ctime(time_now(), date, sizeof(date));
    json_object_set_new(o, "TZ", json_string(c->cfg->tz));
    json_object_set_new(o, "date", json_string(date));
    json_object_set(o, "data", c->data ? c->data : json_array());
    json_object_set_new(o, "status", json_integer(200));
    if (strcmp(c->req->method, "GET") == 0) {
        if (c->is_list) {
            json_object_set_new(o, "items", json_integer(c->items));
            json_object_set(o, "limit", c->page.limit_echo);
            json_object_set(o, "offset", c->page.offset_echo);
            if (c->page.filter_echo)
                json_object_set(o, "filter", c->page.filter_echo);
        } else {
            json_object_set_new(o, "items", json_integer((json_int_t)json_array_size(c->data)));
            json_object_set_new(o, "limit", echo_arg(c, "limit", 25));
            json_object_set_new(o, "offset", echo_arg(c, "offset", 0));
        }
    }
    set_json_body(c, 200, o);
    json_decref(o);
}

/* Concatenates data elements: strings as they are, anything else as JSON text. */
static void render_bare(struct api_ctx *c, const char *ctype)
{
    struct buf b;
    size_t i;
    json_t *v;
    buf_init(&b, 0);
    json_array_foreach(c->data, i, v) {
        if (json_is_string(v)) {
            buf_append(&b, json_string_value(v), json_string_length(v));
        } else if (!json_is_null(v)) {
            char *s = render_json(v);
            buf_puts(&b, s);
            free(s);
        }
    }
    size_t len;
    char *body = buf_detach(&b, &len);
    /* the status stays as the handler set it: 200, or a template's report.status(N) */
    http_response_body(c->resp, body, len, ctype);
}

static void render_format(struct api_ctx *c)
{
    const char *fmt = args_str(c->args, "format");
    if (!fmt && (c->route->flags & RF_BARE_JSON))
        fmt = "json";
    if (!fmt && (c->route->flags & RF_PLAIN))
        fmt = "plain";
    if (fmt && strcasecmp(fmt, "json") == 0)
        render_bare(c, CT_JSON);
    else if (fmt && strcasecmp(fmt, "plain") == 0)
        render_bare(c, CT_PLAIN);
    else if (fmt && strcasecmp(fmt, "html") == 0)
        render_bare(c, "text/html; charset=utf-8");
    else if (fmt && strcasecmp(fmt, "other") == 0) {
        render_bare(c, "application/octet-stream");
        const char *fn = args_str(c->args, "filename");
        if (fn) {
            char *cd = xasprintf("attachment; filename=\"%.*s\"", (int)strcspn(fn, "\"\\"), fn);
            http_response_header(c->resp, "Content-Disposition", cd);
            free(cd);
        }
    } else
        render_envelope(c);
}

void render_response(struct api_ctx *c)
{
    if (c->out == API_OUT_CUSTOM && !c->err.code) {
        add_cors(c);
        return;
    }
    if (c->err.code || c->err.status)
        render_error(c);
    else if (c->out == API_OUT_BARE)
        render_bare(c, c->route && (c->route->flags & RF_PLAIN) ? CT_PLAIN : CT_JSON);
    else
        render_format(c);
    add_cors(c);
}
