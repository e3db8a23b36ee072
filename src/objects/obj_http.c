/*
 * obj_http.c — `http` (templates.md §7.10, transports.md §2.5): blocking
 * HTTP(S) requests from templates through src/transport/http_client.h.
 *
 *   http.get/post/put/delete/patch/options/head(url, content = …,
 *       headers = {…}, content_type = …, timeout = seconds, full_response = 1)
 *
 * Arguments may be named or key/value pairs after the URL. A hash or list
 * content is sent as JSON (content_type application/json by default), or
 * form-encoded when content_type says x-www-form-urlencoded; for GET and
 * HEAD a hash is appended to the URL as a query string instead. The result
 * is the decoded JSON body when the response is JSON, else the text; with
 * full_response it is {http_code, http_status_line, http_headers, body}.
 * A request that gets no response (refused, timeout) is undefined, or with
 * full_response {http_code: 500, http_status_line: "500 <reason>", body}.
 * Each request is bounded by its timeout (default 10 s, at most
 * HTTP_OBJ_TIMEOUT_MAX_MS), and the render's own wall-clock limit still
 * applies (render.c).
 */
#include "objects_int.h"

#include "../transport/http_client.h"

#include <strings.h>

#define HTTP_OBJ_TIMEOUT_MAX_MS 25000L

/* The request body and its content type from the content argument (owned body). */
static char *request_body(const struct tpl_args *a, const char *method, char **ctype,
                          char **url)
{
    const struct tpl_value *content = tpl_args_kv(a, "content");
    if (!content || !tpl_value_defined(content))
        return NULL;
    if (content->type != TPL_HASH && content->type != TPL_LIST)
        return obj_arg_str(a, (size_t)-1, "content");
    json_t *j = obj_arg_json(content);
    char *body = NULL;
    bool bodyless = !strcasecmp(method, "GET") || !strcasecmp(method, "HEAD");
    bool form = *ctype && strcasestr(*ctype, "x-www-form-urlencoded");
    if (bodyless && json_is_object(j)) {
        char *q = http_form_encode(j);
        char *u = http_url_add_query(*url, q);
        free(*url);
        *url = u;
        free(q);
    } else if (form) {
        body = http_form_encode(j);
    } else {
        body = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (!*ctype)
            *ctype = xstrdup("application/json");
    }
    json_decref(j);
    return body;
}

/* The response as the template sees it (returns owned). */
static struct tpl_value response_value(const struct http_client_resp *rs, bool full)
{
    json_t *j = http_client_resp_is_json(rs)
                    ? json_loadb(rs->body.data, rs->body.len, JSON_DECODE_ANY, NULL)
                    : NULL;
    struct tpl_value body = j ? obj_from_json(j) : tpl_str(rs->body.data, rs->body.len);
    json_decref(j);
    if (!full)
        return body;
    struct tpl_value v = tpl_hash_new();
    tpl_hash_set(&v, "http_code", 9, tpl_int(rs->code));
    tpl_hash_set(&v, "http_status_line", 16, tpl_cstr(rs->status_line ? rs->status_line : ""));
    tpl_hash_set(&v, "http_headers", 12, obj_from_json(rs->headers));
    tpl_hash_set(&v, "body", 4, body);
    return v;
}

static int do_request(const char *method, const struct tpl_args *a, struct tpl_value *out,
                      struct err *e)
{
    char *url = obj_arg_str(a, 0, NULL);
    if (!url)
        return err_set(e, ERR_INVALID, "http.%s: no URL", method);
    struct tpl_args rest = *a; /* key/value pairs follow the URL */
    rest.pos++;
    rest.npos--;
    a = &rest;
    char *ctype = obj_arg_str(a, (size_t)-1, "content_type");
    char *body = request_body(a, method, &ctype, &url);
    json_t *headers = obj_arg_json(tpl_args_kv(a, "headers"));
    int64_t timeout = 10, full = 0;
    obj_arg_int(a, (size_t)-1, "timeout", &timeout);
    obj_arg_int(a, (size_t)-1, "full_response", &full);
    long ms = timeout > 0 ? (long)timeout * 1000 : HTTP_CLIENT_TIMEOUT_MS;
    struct http_client_req rq = {
        .method = method, .url = url, .headers = json_is_object(headers) ? headers : NULL,
        .body = body, .body_len = body ? strlen(body) : 0, .content_type = ctype,
        .timeout_ms = ms > HTTP_OBJ_TIMEOUT_MAX_MS ? HTTP_OBJ_TIMEOUT_MAX_MS : ms,
    };
    struct http_client_resp rs;
    struct err he = { 0 };
    int rc = http_client_request(&rq, &rs, &he);
    if (rc == ERR_INVALID) {
        err_set(e, ERR_INVALID, "http.%s: %s", method, he.msg);
    } else if (rc) {
        rc = 0;
        if (full) {
            *out = tpl_hash_new();
            char line[300];
            snprintf(line, sizeof(line), "500 %s", he.msg);
            tpl_hash_set(out, "http_code", 9, tpl_int(500));
            tpl_hash_set(out, "http_status_line", 16, tpl_cstr(line));
            tpl_hash_set(out, "http_headers", 12, tpl_hash_new());
            tpl_hash_set(out, "body", 4, tpl_cstr(he.msg));
        }
    } else {
        *out = response_value(&rs, full != 0);
    }
    http_client_resp_release(&rs);
    json_decref(headers);
    free(body);
    free(ctype);
    free(url);
    return rc;
}

#define METHOD(fname, verb)                                                                   \
    static int fname(struct obj *o, struct render_ctx *r, const struct tpl_args *a,           \
                     struct tpl_value *out, struct err *e)                                    \
    {                                                                                         \
        UNUSED(o);                                                                            \
        UNUSED(r);                                                                            \
        return do_request(verb, a, out, e);                                                   \
    }
METHOD(m_get, "GET")
METHOD(m_post, "POST")
METHOD(m_put, "PUT")
METHOD(m_delete, "DELETE")
METHOD(m_patch, "PATCH")
METHOD(m_options, "OPTIONS")
METHOD(m_head, "HEAD")

static const struct obj_method http_methods[] = {
    { "get", m_get },         { "post", m_post },   { "put", m_put },   { "delete", m_delete },
    { "patch", m_patch },     { "options", m_options }, { "head", m_head }, { NULL, NULL },
};

const struct obj_kind obj_http_kind = { "Core::Transport::Http", http_methods, NULL };

void obj_http_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "http", 4, obj_new(&obj_http_kind, 0, r->user_id, NULL));
}
