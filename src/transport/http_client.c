/*
 * http_client.c — two things built on libcurl's easy interface:
 *
 *   1. http_client_request() (http_client.h): one blocking HTTP(S) request,
 *      used here and by the template `http` object;
 *   2. the http transport (transports.md §2): renders the server's URL and
 *      the task's template, sends the request outside any transaction and
 *      maps the answer to SUCCESS / FAIL / STUCK (D9: 4xx is permanent).
 */
#include "http_client.h"
#include "transport.h"
#include "tsettings.h"

#include "../core/storage.h"
#include "../db/db.h"
#include "../objects/render.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* 1. The client                                                            */
/* ------------------------------------------------------------------------ */

#define HEADERS_MAX ((size_t)256 << 10) /* all response header lines together */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_client_global_init(void)
{
    pthread_once(&g_curl_once, curl_init_once);
}

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                                       "HEAD" };

/* Standard reason phrases for status lines that came without one (HTTP/2). */
static const char *reason_phrase(long code)
{
    static const struct { long code; const char *text; } reasons[] = {
        { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
        { 301, "Moved Permanently" }, { 302, "Found" }, { 304, "Not Modified" },
        { 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
        { 404, "Not Found" }, { 405, "Method Not Allowed" }, { 409, "Conflict" },
        { 422, "Unprocessable Entity" }, { 429, "Too Many Requests" },
        { 500, "Internal Server Error" }, { 502, "Bad Gateway" },
        { 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
        if (reasons[i].code == code)
            return reasons[i].text;
    return "";
}

/* State shared with the callbacks of one transfer. */
struct xfer {
    struct http_client_resp *rs;
    size_t header_bytes;
    bool too_large;
};

/* "HTTP/1.1 404 Not Found" → code 404, status line "404 Not Found". */
static void take_status_line(struct http_client_resp *rs, const char *line, size_t n)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%.*s", (int)(n < sizeof(tmp) ? n : sizeof(tmp) - 1), line);
    char *sp = strchr(tmp, ' ');
    char *end = NULL;
    long code = sp ? strtol(sp + 1, &end, 10) : 0;
    const char *reason = end ? end + strspn(end, " ") : "";
    if (!*reason)
        reason = reason_phrase(code);
    free(rs->status_line);
    rs->status_line = *reason ? xasprintf("%ld %s", code, reason) : xasprintf("%ld", code);
    rs->code = code;
    json_object_clear(rs->headers); /* a new response (after 100 Continue, a proxy CONNECT) */
}

/* "Name: value" → headers[name] (repeats joined with ", "). */
static void take_header(struct http_client_resp *rs, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line)
        return;
    char *name = xstrndup(line, (size_t)(colon - line));
    const char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    char *value = xstrndup(v, (size_t)(end - v));
    json_t *old = json_object_get(rs->headers, name);
    if (json_is_string(old)) {
        char *joined = xasprintf("%s, %s", json_string_value(old), value);
        json_object_set_new(rs->headers, name, json_string(joined));
        free(joined);
    } else {
        json_object_set_new(rs->headers, name, json_stringn(value, strlen(value)));
    }
    free(name);
    free(value);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nmemb, n = len;
    x->header_bytes += len;
    if (x->header_bytes > HEADERS_MAX) {
        x->too_large = true;
        return 0;
    }
    while (n && (p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    if (n >= 5 && !strncmp(p, "HTTP/", 5))
        take_status_line(x->rs, p, n);
    else if (n)
        take_header(x->rs, p, n);
    return len;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    if (buf_append(&x->rs->body, p, size * nmemb)) {
        x->too_large = true;
        return 0;
    }
    return size * nmemb;
}

/* Writes the upper-case method of rq into out. Returns 0 or ERR_INVALID. */
static int request_method(const struct http_client_req *rq, char out[8], struct err *e)
{
    const char *m = rq->method && *rq->method ? rq->method : "GET";
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
        if (!strcasecmp(methods[i], m)) {
            snprintf(out, 8, "%s", methods[i]);
            return 0;
        }
    return err_set(e, ERR_INVALID, "unknown method `%.20s`", m);
}

static bool header_name_valid(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return false;
    return true;
}

/* Appends "Name: value" for one header of rq->headers. Returns 0 or ERR_INVALID. */
static int header_add(struct curl_slist **list, const char *name, const json_t *v, struct err *e)
{
    char *value;
    if (json_is_string(v))
        value = xstrdup(json_string_value(v));
    else if (json_is_integer(v))
        value = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        value = xasprintf("%.17g", json_real_value(v));
    else
        return err_set(e, ERR_INVALID, "Header %.64s: must be a string", name);
    int rc = 0;
    if (!header_name_valid(name) || strpbrk(value, "\r\n"))
        rc = err_set(e, ERR_INVALID, "Header %.64s: invalid name or value", name);
    else {
        char *line = *value ? xasprintf("%s: %s", name, value) : xasprintf("%s;", name);
        *list = curl_slist_append(*list, line);
        free(line);
    }
    free(value);
    return rc;
}

/* True when the object headers (may be NULL) names name, case-insensitively. */
static bool headers_have(const json_t *headers, const char *name)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)headers, k, v)
        if (!strcasecmp(k, name))
            return true;
    return false;
}

/*
 * The request header list (owned; curl_slist_free_all): no Expect, the
 * Content-Type of rq (a Content-Type among rq->headers wins, as LWP lets
 * later headers win), then rq->headers. Returns 0 or ERR_INVALID.
 */
static int request_headers(const struct http_client_req *rq, struct curl_slist **out,
                           struct err *e)
{
    const char *name;
    const json_t *v;
    if (rq->headers && !json_is_object(rq->headers))
        return err_set(e, ERR_INVALID, "Headers: must be an object");
    if (rq->content_type && strpbrk(rq->content_type, "\r\n"))
        return err_set(e, ERR_INVALID, "Invalid content type");
    /* a signed request carries no removal lines: curl 7.88 would sign them as empty headers */
    struct curl_slist *list = rq->aws_sigv4 ? NULL : curl_slist_append(NULL, "Expect:");
    if (!headers_have(rq->headers, "Content-Type") && (!rq->aws_sigv4 || rq->content_type)) {
        char *ct = rq->content_type && *rq->content_type
                       ? xasprintf("Content-Type: %s", rq->content_type)
                       : xstrdup("Content-Type:");
        list = curl_slist_append(list, ct);
        free(ct);
    }
    json_object_foreach((json_t *)rq->headers, name, v) {
        int rc = header_add(&list, name, v, e);
        if (rc) {
            curl_slist_free_all(list);
            return rc;
        }
    }
    *out = list;
    return 0;
}

static bool url_scheme_ok(const char *url)
{
    return url && (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8));
}

/*
 * libcurl reads http_proxy only in lower case for http:// URLs (a CGI
 * safety rule); transports.md §2.3 honours HTTP_PROXY too. Returns the proxy
 * to set explicitly, or NULL to let libcurl read the environment (it still
 * applies NO_PROXY/no_proxy to an explicit proxy).
 */
static const char *upper_http_proxy(const char *url)
{
    if (strncasecmp(url, "http://", 7))
        return NULL;
    const char *lower = getenv("http_proxy");
    const char *upper = getenv("HTTP_PROXY");
    return (!lower || !*lower) && upper && *upper ? upper : NULL;
}

/* Sets the options of one transfer on c. */
static void easy_setup(CURL *c, const struct http_client_req *rq, const char *method,
                       struct curl_slist *hdrs, struct xfer *x, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_URL, rq->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, HTTP_CLIENT_USER_AGENT);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms
                                                               : HTTP_CLIENT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, rq->insecure ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, rq->insecure ? 0L : 2L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->rs->body.max);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (rq->username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, rq->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, rq->password ? rq->password : "");
    }
    if (rq->aws_sigv4)
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
    if (!rq->body && (!strcmp(method, "GET") || !strcmp(method, "HEAD"))) {
        /* as LWP::UserAgent: redirects are followed for GET and HEAD only */
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)HTTP_CLIENT_MAX_REDIRECTS);
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    const char *proxy = upper_http_proxy(rq->url);
    if (proxy)
        curl_easy_setopt(c, CURLOPT_PROXY, proxy);
    if (rq->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
        if (strcmp(method, "POST"))
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
}

/* Maps the outcome of curl_easy_perform to our status and message. */
static int transfer_status(CURLcode cc, const struct xfer *x, const char *errbuf, struct err *e)
{
    const char *msg = *errbuf ? errbuf : curl_easy_strerror(cc);
    if (cc == CURLE_OK)
        return 0;
    if (x->too_large || cc == CURLE_FILESIZE_EXCEEDED)
        return err_set(e, ERR_LIMIT, "Response larger than %zu bytes", x->rs->body.max);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return err_set(e, ERR_TIMEOUT, "%s", msg);
    if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT)
        return err_set(e, ERR_INVALID, "%s", msg);
    return err_set(e, ERR_IO, "%s", msg);
}

static void response_init(struct http_client_resp *rs, size_t max)
{
    memset(rs, 0, sizeof(*rs));
    rs->status_line = xstrdup("");
    rs->headers = json_object();
    buf_init(&rs->body, max);
}

int http_client_request(const struct http_client_req *rq, struct http_client_resp *rs,
                        struct err *e)
{
    char method[8], errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    struct xfer x = { .rs = rs };
    response_init(rs, rq->max_body ? rq->max_body : HTTP_CLIENT_BODY_MAX);
    if (!url_scheme_ok(rq->url))
        return err_set(e, ERR_INVALID, "Unsupported URL: %.200s", rq->url ? rq->url : "");
    int rc = request_method(rq, method, e);
    if (rc == 0)
        rc = request_headers(rq, &hdrs, e);
    if (rc)
        return rc;
    http_client_global_init();
    CURL *c = curl_easy_init();
    if (!c) {
        curl_slist_free_all(hdrs);
        return err_set(e, ERR_INTERNAL, "curl_easy_init failed");
    }
    easy_setup(c, rq, method, hdrs, &x, errbuf);
    rc = transfer_status(curl_easy_perform(c), &x, errbuf, e);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    if (rc) {
        rs->code = 0;
        free(rs->status_line);
        rs->status_line = xstrdup("");
        buf_reset(&rs->body);
    }
    return rc;
}

void http_client_resp_release(struct http_client_resp *rs)
{
    free(rs->status_line);
    rs->status_line = NULL;
    json_decref(rs->headers);
    rs->headers = NULL;
    if (rs->body.data)
        buf_free(&rs->body);
    memset(&rs->body, 0, sizeof(rs->body));
    rs->code = 0;
}

const char *http_client_resp_header(const struct http_client_resp *rs, const char *name)
{
    const char *k;
    json_t *v;
    json_object_foreach(rs->headers, k, v)
        if (!strcasecmp(k, name))
            return json_string_value(v);
    return NULL;
}

bool http_client_resp_is_json(const struct http_client_resp *rs)
{
    const char *ct = http_client_resp_header(rs, "Content-Type");
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ')
        n--;
    return (n == 16 && !strncasecmp(ct, "application/json", 16)) ||
           (n > 5 && !strncasecmp(ct + n - 5, "+json", 5));
}

/* Appends s percent-encoded (RFC 3986 unreserved characters kept). */
static void form_escape(struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || strchr("-._~", c))
            buf_putc(b, (char)c);
        else
            buf_printf(b, "%%%02X", c);
    }
}

/* Appends the text of a scalar (objects and arrays JSON-encoded, null empty). */
static void form_value(struct buf *b, const json_t *v)
{
    char *s = NULL;
    if (json_is_string(v))
        form_escape(b, json_string_value(v), json_string_length(v));
    else if (json_is_true(v) || json_is_false(v))
        buf_putc(b, json_is_true(v) ? '1' : '0');
    else if (!json_is_null(v) && (s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)))
        form_escape(b, s, strlen(s));
    free(s);
}

static void form_pair(struct buf *b, const char *key, const json_t *v)
{
    if (b->len)
        buf_putc(b, '&');
    form_escape(b, key, strlen(key));
    buf_putc(b, '=');
    form_value(b, v);
}

char *http_form_encode(const json_t *obj)
{
    struct buf b;
    const char *key;
    json_t *v;
    buf_init(&b, 0);
    json_object_foreach((json_t *)obj, key, v) {
        size_t i;
        json_t *item;
        if (!json_is_array(v))
            form_pair(&b, key, v);
        else
            json_array_foreach(v, i, item)
                form_pair(&b, key, item);
    }
    return buf_detach(&b, NULL);
}

char *http_url_add_query(const char *url, const char *query)
{
    size_t base = strcspn(url, "#");
    while (*query == '?' || *query == '&')
        query++;
    if (!*query)
        return xstrdup(url);
    const char *q = memchr(url, '?', base);
    char last = base ? url[base - 1] : '\0';
    const char *sep = !q ? "?" : (last == '?' || last == '&') ? "" : "&";
    return xasprintf("%.*s%s%s%s", (int)base, url, sep, query, url + base);
}

/* ------------------------------------------------------------------------ */
/* 2. The http transport (transports.md §2)                                 */
/* ------------------------------------------------------------------------ */

#define HTTP_DEFAULT_CONTENT_TYPE "application/json; charset=utf-8"

static enum task_result stuck(json_t **response, const char *msg)
{
    *response = json_object();
    json_object_set_new(*response, "error", tset_textz(msg));
    return TASK_STUCK;
}

/* Number of UTF-8 characters in s[0..n) (bytes that are not continuation bytes). */
static size_t utf8_length(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* The decoded JSON body, or "*NOT_JSON* Length: N" (SHM's response field). */
static json_t *response_field(const struct http_client_resp *rs)
{
    if (http_client_resp_is_json(rs)) {
        json_t *j = json_loadb(rs->body.data, rs->body.len, JSON_DECODE_ANY, NULL);
        if (j)
            return j;
    }
    char s[64];
    snprintf(s, sizeof(s), "*NOT_JSON* Length: %zu", utf8_length(rs->body.data, rs->body.len));
    return json_string(s);
}

/* Everything one http task needs, prepared before the request. */
struct http_job {
    json_t *settings;  /* merged: server < template < event */
    struct buf body;   /* rendered template */
    struct buf url;    /* rendered servers.host */
    char method[8];    /* lower case, as shown in the response */
};

static void job_release(struct http_job *j)
{
    json_decref(j->settings);
    buf_free(&j->body);
    buf_free(&j->url);
}

/* The template of the task (event < task < server settings order of §2.1), or "". */
static const char *task_template_id(const struct spool_task *t)
{
    const json_t *srv_settings = t->server ? json_object_get(t->server, "settings") : NULL;
    const char *id = tset_str(json_object_get(t->event, "settings"), "template_id");
    if (!id)
        id = tset_str(t->settings, "template_id");
    if (!id)
        id = tset_str(srv_settings, "template_id");
    return id ? id : "";
}

/* Renders body and URL and merges the settings. STUCK reasons go into *why. */
static int job_prepare(const struct task_ctx *x, struct http_job *j, char *why, size_t whylen)
{
    const struct spool_task *t = x->task;
    struct render_ctx r = { .db = x->db, .cfg = x->cfg, .user_id = t->user_id, .usi = t->usi,
                            .task = t };
    struct err e = { 0 };
    json_t *tsettings = NULL;
    const char *tid = task_template_id(t);
    const char *host = json_string_value(json_object_get(t->server, "host"));
    int rc = render_template(&r, tid, &j->body, &tsettings, &e);
    if (rc == ERR_NOT_FOUND)
        snprintf(why, whylen, "template with id `%s` not found", tid);
    else if (rc)
        snprintf(why, whylen, "template `%s`: %s", tid, e.msg);
    if (rc == 0 && host && *host && (rc = render_text(&r, "server.host", host, strlen(host),
                                                      &j->url, &e)))
        snprintf(why, whylen, "URL template: %s", e.msg);
    render_ctx_release(&r);
    j->settings = json_object();
    tset_merge(j->settings, json_object_get(t->server, "settings"));
    tset_merge(j->settings, tsettings);
    tset_merge(j->settings, json_object_get(t->event, "settings"));
    json_decref(tsettings);
    if (rc)
        return rc;
    if (j->url.len == 0) {
        snprintf(why, whylen, "not configure `URL`");
        return ERR_INVALID;
    }
    const char *m = tset_str(j->settings, "method");
    snprintf(j->method, sizeof(j->method), "%s", m ? m : "post");
    for (char *p = j->method; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    static const char *const ok[] = { "get", "post", "put", "delete", "patch", "options" };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
        if (!strcmp(ok[i], j->method) && (!m || strlen(m) < sizeof(j->method)))
            return 0;
    snprintf(why, whylen, "unknown method `%.40s`", m);
    return ERR_INVALID;
}

/* GET: the body, as a query string (or a JSON object form-encoded), goes into the URL. */
static char *get_url(const struct http_job *j)
{
    const char *b = j->body.data;
    b += strspn(b, " \t\r\n");
    json_t *obj = *b == '{' ? json_loads(b, 0, NULL) : NULL;
    char *q = json_is_object(obj) ? http_form_encode(obj) : xstrdup(b);
    size_t n = strlen(q);
    while (n && strchr(" \t\r\n", q[n - 1]))
        q[--n] = '\0';
    char *url = http_url_add_query(j->url.data, q);
    free(q);
    json_decref(obj);
    return url;
}

/* The request part of the response (SHM's request_args). Returns a new object. */
static json_t *request_info(const struct http_job *j, const char *content_type, long timeout_ms,
                            bool verify)
{
    const json_t *h = json_object_get(j->settings, "headers");
    json_t *o = json_object();
    json_object_set_new(o, "url", tset_text(j->url.data, j->url.len));
    json_object_set_new(o, "method", json_string(j->method));
    json_object_set_new(o, "content_type", tset_textz(content_type));
    json_object_set_new(o, "content", tset_text(j->body.data, j->body.len));
    json_object_set_new(o, "headers", json_is_object(h) ? json_deep_copy(h) : json_object());
    json_object_set_new(o, "verify_hostname", json_integer(verify));
    json_object_set_new(o, "timeout", json_real((double)timeout_ms / 1000));
    return o;
}

/*
 * Saves the response body as the task user's storage entry name (linked to
 * the task's user service), replacing an existing one, in one short
 * transaction. Returns 0 or an error.
 */
static int save_response(struct db *db, const struct spool_task *t, const char *name,
                         const struct http_client_resp *rs, struct err *e)
{
    bool json = http_client_resp_is_json(rs) && storage_json_valid(rs->body.data, rs->body.len);
    struct storage_write w = { .user_id = t->user_id, .name = name, .data = rs->body.data,
                               .len = rs->body.len, .has_data = true, .json = json,
                               .user_service_id = t->usi, .has_service = t->usi != 0 };
    int rc = db_begin(db, true, e);
    if (rc)
        return rc;
    rc = storage_replace(db, &w, e);
    if (rc == ERR_NOT_FOUND)
        rc = storage_create(db, &w, time_now(), e);
    if (rc == 0)
        rc = db_commit(db, e);
    if (rc)
        db_rollback(db);
    return rc;
}

/* Builds the result from a response (or the failure of the request). */
static enum task_result http_result(const struct task_ctx *x, const struct http_job *j,
                                    const struct http_client_resp *rs, int req_rc,
                                    const struct err *req_err, json_t *info, json_t **response)
{
    long code = req_rc ? 500 : rs->code;
    char *line = req_rc ? xasprintf("500 %s", req_err->msg) : xstrdup(rs->status_line);
    json_t *out = json_object();
    json_object_set_new(out, "request", info);
    json_object_set_new(out, "response",
                        req_rc ? json_string("*NOT_JSON* Length: 0") : response_field(rs));
    json_object_set_new(out, "status", json_pack("{s:I,s:o}", "code", (json_int_t)code,
                                                 "line", tset_textz(line)));
    enum task_result res = TASK_SUCCESS;
    const char *key = tset_str(j->settings, "storage_save_key");
    if (code >= 200 && code < 300) {
        struct err e = { 0 };
        json_object_set_new(out, "message", json_string("successful"));
        if (key && save_response(x->db, x->task, key, rs, &e)) {
            char *msg = xasprintf("storage_save_key: %s", e.msg);
            json_object_set_new(out, "error", tset_textz(msg));
            free(msg);
            res = TASK_FAIL;
        }
    } else {
        json_object_set_new(out, "error", tset_textz(line));
        res = code >= 500 ? TASK_FAIL : TASK_SUCCESS;
    }
    free(line);
    *response = out;
    return res;
}

/*
 * The request headers: the settings' headers plus X-Billd-Task-Token and
 * X-Billd-Attempt (D9: the remote side can recognise a retried task), unless
 * the settings set those names themselves. Returns a new object.
 */
static json_t *task_headers(const struct spool_task *t, const json_t *configured)
{
    json_t *h = json_is_object(configured) ? json_deep_copy(configured) : json_object();
    const char *k;
    json_t *v;
    bool has_token = false, has_attempt = false;
    json_object_foreach(h, k, v) {
        has_token |= !strcasecmp(k, "X-Billd-Task-Token");
        has_attempt |= !strcasecmp(k, "X-Billd-Attempt");
    }
    if (t->token && *t->token && !has_token)
        json_object_set_new(h, "X-Billd-Task-Token", tset_textz(t->token));
    if (t->attempt > 0 && !has_attempt)
        json_object_set_new(h, "X-Billd-Attempt", json_integer(t->attempt));
    return h;
}

static enum task_result http_send(const struct task_ctx *x, json_t **response)
{
    const struct spool_task *t = x->task;
    struct http_job j = { 0 };
    char why[300] = "";
    struct err e = { 0 };
    if (!t->server)
        return stuck(response, "Server not exists");
    buf_init(&j.body, (size_t)16 << 20);
    buf_init(&j.url, 8192);
    if (job_prepare(x, &j, why, sizeof(why))) {
        job_release(&j);
        return stuck(response, why);
    }
    const char *key = tset_str(j.settings, "storage_save_key");
    if (key && storage_check_name(key, &e)) {
        job_release(&j);
        snprintf(why, sizeof(why), "storage_save_key: %s", e.msg);
        return stuck(response, why);
    }
    const char *ct = tset_str(j.settings, "content_type");
    bool verify = tset_true(json_object_get(j.settings, "verify_hostname"), true);
    long timeout = tset_seconds_ms(json_object_get(j.settings, "timeout"), HTTP_CLIENT_TIMEOUT_MS, 86400);
    json_t *hdrs = task_headers(t, json_object_get(j.settings, "headers"));
    bool get = !strcmp(j.method, "get");
    char *url = get ? get_url(&j) : xstrdup(j.url.data);
    struct http_client_req rq = {
        .method = j.method, .url = url, .headers = hdrs,
        .body = get ? NULL : j.body.data, .body_len = get ? 0 : j.body.len,
        .content_type = ct ? ct : HTTP_DEFAULT_CONTENT_TYPE, .timeout_ms = timeout,
        .insecure = !verify,
    };
    struct http_client_resp rs;
    int rc = http_client_request(&rq, &rs, &e);
    json_decref(hdrs);
    if (rc == ERR_INVALID) { /* the settings cannot make a request: no retry helps */
        http_client_resp_release(&rs);
        free(url);
        job_release(&j);
        return stuck(response, e.msg);
    }
    if (rc)
        log_info("http transport: request failed", "task=%lld code=%d", (long long)t->id, rc);
    json_t *info = request_info(&j, rq.content_type, timeout, verify);
    enum task_result res = http_result(x, &j, &rs, rc, &e, info, response);
    http_client_resp_release(&rs);
    free(url);
    job_release(&j);
    return res;
}

const struct transport transport_http = { "http", http_send };
