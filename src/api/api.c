/*
 * api.c — dispatch of one request through the SHM-compatible API (api.h):
 * path mapping, route matching, arguments, authentication and authorization,
 * required arguments, rate limits, the request transaction and the hand-off
 * to rendering (render.c).
 */
#include "api.h"
#include "../spool/spool.h"
#include "idempotency.h"
#include "render.h"
#include "../core/ratelimit.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <pthread.h>
#include <stdarg.h>

#define API_PREFIX "/shm/v1"

static _Thread_local struct db *thread_db;

struct req_state {
    const struct route *route;
    const char *splat;
    const char *route_path; /* path relative to /shm/v1, or the full legacy path */
    bool in_api;
};

void api_thread_done(void)
{
    db_close(thread_db);
    thread_db = NULL;
}

static pthread_key_t db_key;
static pthread_once_t db_key_once = PTHREAD_ONCE_INIT;

static void close_thread_db(void *p)
{
    db_close(p);
}

static void make_db_key(void)
{
    pthread_key_create(&db_key, close_thread_db);
}

/* The calling thread's connection, opened on first use (one per pool thread). */
static struct db *thread_connection(const struct config *cfg, struct err *e)
{
    if (thread_db)
        return thread_db;
    pthread_once(&db_key_once, make_db_key);
    if (db_open(cfg->database_url, &thread_db, e))
        return NULL;
    pthread_setspecific(db_key, thread_db);
    return thread_db;
}

int api_fail(struct api_ctx *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->err.status = status;
    vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
    va_end(ap);
    if (c->err.code == 0)
        c->err.code = status >= 500 ? ERR_INTERNAL : ERR_INVALID;
    return c->err.code;
}

int api_fail_msg(struct api_ctx *c, int status, const char *msg)
{
    c->err_msg_key = true;
    return api_fail(c, status, "%s", msg);
}

void api_set_data(struct api_ctx *c, json_t *obj)
{
    json_decref(c->data);
    if (json_is_array(obj)) {
        c->data = obj;
    } else {
        c->data = json_array();
        json_array_append_new(c->data, obj);
    }
}

bool api_caller_admin(const struct api_ctx *c)
{
    return c->auth_admin;
}

static void on_headers(struct http_request *req, void *ctx)
{
    const struct config *cfg = ctx;
    struct req_state *st = xcalloc(1, sizeof(*st));
    req->app = st;
    if (strncmp(req->path, API_PREFIX, strlen(API_PREFIX)) == 0 &&
        (req->path[strlen(API_PREFIX)] == '/' || req->path[strlen(API_PREFIX)] == '\0')) {
        st->in_api = true;
        st->route_path = req->path[strlen(API_PREFIX)] ? req->path + strlen(API_PREFIX) : "/";
        st->route = router_match(api_tables, api_tables_count, req->method, st->route_path,
                                 &st->splat);
    } else {
        st->route_path = req->path;
        st->route = router_match(legacy_tables, legacy_tables_count, req->method, req->path,
                                 &st->splat);
    }
    if (st->route && (st->route->flags & RF_LARGE_BODY))
        req->body_max = cfg->max_body_large;
}

static void on_done(struct http_request *req, void *ctx)
{
    UNUSED(ctx);
    free(req->app);
    req->app = NULL;
}

static int check_required(struct api_ctx *c)
{
    const char *req = c->route->required;
    while (req && *req) {
        size_t n = strcspn(req, ",");
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)n, req);
        if (args_missing(c->args, name))
            return api_fail(c, 400, "Field required: %s", name);
        req += n + (req[n] == ',');
    }
    return 0;
}

void api_ratelimit_hit(struct api_ctx *c, const char *bucket, int ttl)
{
    if (!ratelimit_exempt(c->req->client_ip, c->cfg->trusted_ips))
        ratelimit_hit(bucket, c->req->client_ip, ttl, time_now());
}

bool api_ratelimited(struct api_ctx *c, const char *bucket)
{
    return !ratelimit_exempt(c->req->client_ip, c->cfg->trusted_ips) &&
           ratelimit_count(bucket, c->req->client_ip, time_now()) >= RATELIMIT_MAX;
}

static int check_ratelimit(struct api_ctx *c)
{
    if (!c->route->ratelimit || !api_ratelimited(c, c->route->ratelimit))
        return 0;
    c->err.code = ERR_LIMIT;
    return api_fail(c, 429, "429 Too Many Requests");
}

/* Admins may act for another user with `user_id`; for others the argument is dropped. */
static void switch_user(struct api_ctx *c)
{
    int64_t id;
    if (!c->auth_user_id)
        return;
    if (!c->auth_admin) {
        json_object_del(c->args, "user_id");
        return;
    }
    if (args_i64(c->args, "user_id", &id) == 0 && id > 0)
        c->user_id = id;
}

static int authorize(struct api_ctx *c)
{
    if (c->route->auth == AUTH_NONE)
        return 0;
    int rc = api_authenticate(c);
    if (rc)
        return rc;
    if (c->route->auth == AUTH_ADMIN && !c->auth_admin)
        return api_fail(c, 403, "Permission denied");
    switch_user(c);
    return 0;
}

static int run_in_transaction(struct api_ctx *c)
{
    bool write = strcmp(c->req->method, "GET") != 0;
    int rc = db_begin(c->db, write, &c->err);
    if (rc == ERR_IO && db_ping(c->db, &c->err) == 0)
        rc = db_begin(c->db, write, &c->err);
    if (rc) {
        if (rc == ERR_IO)
            return api_fail_msg(c, 503, "Can't connect to DB");
        return rc;
    }
    rc = idempotency_run(c); /* the handler, honouring an Idempotency-Key header (D8) */
    bool keep = rc == 0 && !args_true(c->args, "dry_run") && !http_header(c->req, "Test");
    if (keep && db_commit(c->db, &c->err)) {
        rc = c->err.code;
        if (rc == ERR_BUSY)
            api_fail(c, 408, "The service is locked. Try again later.");
    } else if (keep) {
        spool_committed(); /* wake the spool workers if the request queued tasks */
    } else {
        db_rollback(c->db);
    }
    return rc;
}

static void store_splat(struct api_ctx *c)
{
    if (!c->splat)
        return;
    const char *name = c->route->splat_to ? c->route->splat_to : "id";
    json_t *v = json_string(c->splat);
    if (v)
        json_object_set_new(c->args, name, v);
}

static int dispatch(struct api_ctx *c)
{
    struct err e = { 0 };
    int rc = args_parse(c->req, c->route->flags & RF_RAW_BODY, &c->args, &e);
    if (rc)
        return api_fail(c, 400, "%s", e.msg);
    store_splat(c);
    c->db = thread_connection(c->cfg, &c->err);
    if (!c->db)
        return api_fail_msg(c, 503, "Can't connect to DB");
    if ((rc = authorize(c)) || (rc = check_required(c)) || (rc = check_ratelimit(c)))
        return rc;
    if (c->route->flags & RF_NO_TX)
        return c->route->handler(c);
    return run_in_transaction(c);
}

static void on_request(struct http_request *req, struct http_response *resp, void *ctx)
{
    struct req_state *st = req->app;
    struct api_ctx c = { .req = req, .resp = resp, .cfg = ctx };
    c.route = st->route;
    c.splat = st->splat;
    if (strcmp(req->method, "OPTIONS") == 0 && st->in_api) {
        render_preflight(&c);
        return;
    }
    if (!c.route) {
        if (st->in_api)
            api_fail(&c, 404, "Method not found");
        render_not_found(&c, st->in_api);
    } else {
        dispatch(&c);
        render_response(&c);
    }
    json_decref(c.args);
    json_decref(c.data);
    if (c.is_list)
        list_page_free(&c.page);
}

void api_http_app(const struct config *cfg, struct http_app *out)
{
    out->on_headers = on_headers;
    out->on_request = on_request;
    out->on_done = on_done;
    out->ctx = (void *)cfg;
}

int api_list(struct api_ctx *c, const struct model *m, const char *from, struct sqlb *where)
{
    struct db_result *rows = NULL;
    c->is_list = true;
    struct err e = { 0 };
    int rc = list_compile(c->db, m, c->args, c->auth_admin, where, &c->page, &e);
    if (rc)
        return api_fail(c, 400, "%s", e.msg);
    rc = list_run(c->db, from, where, &c->page, &rows, &c->items, &c->err);
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (int i = 0; i < db_result_rows(rows); i++)
        json_array_append_new(arr, model_row_to_json(m, rows, i, c->auth_admin));
    db_result_free(rows);
    api_set_data(c, arr);
    return 0;
}
