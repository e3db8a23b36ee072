/*
 * api.h — the SHM-compatible API: request context, dispatch and helpers
 * shared by the handlers (api_*.c).
 *
 * Life of a request (api.c): route match → argument map → authentication
 * (api_auth.c, outside the transaction, like SHM's autocommit session
 * table) → admin and blocked checks → admin `user_id` switch → required
 * arguments → rate limit → BEGIN → handler → COMMIT (ROLLBACK on error,
 * dry_run or the Test header) → response in the requested format.
 *
 * A handler reads c->args, uses c->db inside the request transaction and
 * either sets c->data (an array for the envelope) or returns an error set
 * with api_fail(). It never writes the HTTP response itself unless it sets
 * c->out = API_OUT_CUSTOM.
 */
#ifndef BILLD_API_H
#define BILLD_API_H

#include "../db/db.h"
#include "../db/list.h"
#include "../http/args.h"
#include "../http/http.h"
#include "../http/router.h"
#include "../util/config.h"

#include <jansson.h>

enum api_out {
    API_OUT_DEFAULT = 0, /* envelope, or the route's/request's format */
    API_OUT_BARE,        /* data elements printed without an envelope (format json) */
    API_OUT_CUSTOM,      /* the handler filled c->resp itself */
};

struct api_ctx {
    struct http_request *req;
    struct http_response *resp;
    const struct route *route;
    const struct config *cfg;
    struct db *db;
    json_t *args;              /* owned argument map */
    const char *splat;         /* the '*' tail, also in args[splat_to] */

    int64_t auth_user_id;      /* the real caller; 0 = anonymous */
    bool auth_admin;           /* the real caller is an admin */
    int64_t user_id;           /* the current user (an admin may act for another) */
    const char *session_token; /* the session used, if any (borrowed) */
    bool password_login;       /* authenticated by login/password on this request */

    json_t *data;              /* owned result array */
    bool is_list;              /* data came from api_list(): items/limit/offset from page */
    int64_t items;
    struct list_page page;
    enum api_out out;

    struct err err;
    bool err_msg_key;          /* error body uses "msg" instead of "error" */
    bool err_header;           /* also send the message as an `Error` header */
};

/* Creates the HTTP callbacks for the server; cfg must outlive the server. */
void api_http_app(const struct config *cfg, struct http_app *out);
/* Closes the calling thread's database connection (thread exit). */
void api_thread_done(void);

/* Sets an error with an explicit HTTP status; returns err code for `return api_fail(...)`. */
int api_fail(struct api_ctx *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like api_fail, but the body carries the message under "msg" (SHM's session errors). */
int api_fail_msg(struct api_ctx *c, int status, const char *msg);
/* Takes obj (an object is wrapped in an array) as the response data. */
void api_set_data(struct api_ctx *c, json_t *obj);
/*
 * Runs the generic list machinery on model m over `from` with the caller's
 * conditions in where (may be empty), and sets data/items/page. Rows are
 * rendered with hidden fields when the caller is an admin. Returns 0 or an
 * error already set on c.
 */
int api_list(struct api_ctx *c, const struct model *m, const char *from, struct sqlb *where);
/*
 * Rate limits by client address (api.md §10): api_ratelimit_hit() counts one
 * action in bucket for a window of ttl seconds, api_ratelimited() tells whether
 * the bucket is used up. Exempt addresses (private ranges, TRUSTED_IPS) are
 * never counted.
 */
void api_ratelimit_hit(struct api_ctx *c, const char *bucket, int ttl);
bool api_ratelimited(struct api_ctx *c, const char *bucket);
/* True when the current request comes from an admin on an /admin/ route or as admin. */
bool api_caller_admin(const struct api_ctx *c);

/* The route tables (routes.c) and the table of each module. */
extern const struct route_table *const api_tables[];
extern const size_t api_tables_count;
extern const struct route_table *const legacy_tables[];
extern const size_t legacy_tables_count;
extern const struct route_table api_system_routes, api_user_routes, api_admin_user_routes,
    api_legacy_routes, api_service_routes, api_server_routes, api_event_routes,
    api_template_routes, api_config_routes, api_storage_routes, api_payment_routes, api_test_clock_routes,
    api_user_service_routes, api_spool_routes, api_console_routes, api_console_legacy_routes,
    api_transport_routes, api_transport_http_routes, api_transport_http_legacy_routes,
    api_render_routes, api_promo_routes;

/* api_auth.c: resolves the caller of c (sets auth_user_id/auth_admin/user_id) or fails. */
int api_authenticate(struct api_ctx *c);
/* api_auth.c: password login shared by /user/auth, auth.cgi, Basic and headers. */
int api_password_login(struct api_ctx *c, const char *login, const char *password,
                       int64_t *user_id);

/* swagger.c: the OpenAPI 3 document of the routes (admin routes only when admin). */
json_t *api_openapi(bool admin);

#endif
