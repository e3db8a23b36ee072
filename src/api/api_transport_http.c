/*
 * api_transport_http.c — billd's own HTTP peer for transport tests and the
 * admin mail test:
 *
 *   GET/POST/PUT/DELETE /test/http/echo (R3–R6): answers the request's
 *     argument map and method, [{"payload": <args>, "method": "POST"}]
 *     (a JSON body is the payload; a text body is payload.POSTDATA/PUTDATA);
 *   POST /admin/transport/mail/test (R140; a 500 in SHM) and SHM's working
 *     /shm/admin/mail_test.cgi (L8, which the admin SPA calls with the server
 *     form): queue a test e-mail to the current user through the mail server
 *     server_id; `settings` (an object or its JSON text) overrides subject,
 *     message, to, … of the event.
 */
#include "api.h"

#include "../db/db.h"
#include "../spool/spool.h"

static int api_http_echo(struct api_ctx *c)
{
    json_t *payload = json_deep_copy(c->args);
    api_set_data(c, json_pack("{s:o,s:s}", "payload", payload ? payload : json_object(),
                              "method", c->req->method));
    return 0;
}

/* The settings argument as an object (a JSON text in form arguments). New reference or NULL. */
static json_t *settings_arg(struct api_ctx *c)
{
    json_t *v = json_object_get(c->args, "settings");
    if (!v || json_is_null(v))
        return json_object();
    if (json_is_object(v))
        return json_incref(v);
    json_t *o = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
    if (json_is_object(o))
        return o;
    json_decref(o);
    return NULL;
}

static int api_mail_test(struct api_ctx *c)
{
    int64_t server_id = 0, n = 0, id = 0;
    struct err *e = &c->err;
    if (args_i64(c->args, "server_id", &server_id) || server_id <= 0)
        return api_fail(c, 400, "Field server_id: expected a positive integer");
    struct db_value p[] = { DB_INT(server_id) };
    int rc = db_query_int(c->db, "SELECT count(*) FROM servers WHERE server_id = $1", p, 1, &n,
                          e);
    if (rc)
        return rc;
    if (n == 0)
        return api_fail(c, 400, "Server not exists: %lld", (long long)server_id);
    json_t *over = settings_arg(c);
    if (!over)
        return api_fail(c, 400, "Field settings: expected an object");
    json_t *event = json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "title", "test mail", "name", "SYSTEM",
                              "settings", "transport", "mail", "subject",
                              "This is test subject from SHM", "message",
                              "This is test message from SHM");
    json_object_update(json_object_get(event, "settings"), over);
    json_t *settings = json_pack("{s:I}", "server_id", (json_int_t)server_id);
    struct spool_new t = { .user_id = c->user_id, .event = event, .settings = settings };
    rc = spool_add(c->db, &t, &id, e);
    if (rc == 0)
        api_set_data(c, json_pack("{s:I,s:O,s:O}", "id", (json_int_t)id, "event", event,
                                  "settings", settings));
    json_decref(over);
    json_decref(event);
    json_decref(settings);
    return rc;
}

#define R(m, p, a, req, h, fl, tag, sum) { m, p, a, req, h, fl, NULL, NULL, tag, sum, NULL }

static const struct route routes[] = {
    R("GET", "/test/http/echo", AUTH_NONE, NULL, api_http_echo, RF_NO_TX, "test",
      "Echo of the arguments and method (HTTP transport tests)"),                    /* R3 */
    R("POST", "/test/http/echo", AUTH_NONE, NULL, api_http_echo, RF_NO_TX, "test",
      "Echo: a JSON body is the payload, a text body payload.POSTDATA"),             /* R4 */
    R("PUT", "/test/http/echo", AUTH_NONE, NULL, api_http_echo, RF_NO_TX, "test",
      "Echo of the arguments and method"),                                           /* R5 */
    R("DELETE", "/test/http/echo", AUTH_NONE, NULL, api_http_echo, RF_NO_TX, "test",
      "Echo of the arguments and method"),                                           /* R6 */
    R("POST", "/admin/transport/mail/test", AUTH_ADMIN, "server_id", api_mail_test, 0, "admin",
      "Queue a test e-mail to the current user through mail server server_id"),     /* R140 */
};

/* L8: the admin SPA's "TEST MAIL" posts the server form here (api.md §12). */
static const struct route legacy_routes[] = {
    R("*", "/shm/admin/mail_test.cgi", AUTH_ADMIN, "server_id", api_mail_test, RF_HIDDEN, "admin",
      "Queue a test e-mail (SHM's admin/mail_test.cgi)"),                            /* L8 */
};

const struct route_table api_transport_http_routes = ROUTE_TABLE(routes);
const struct route_table api_transport_http_legacy_routes = ROUTE_TABLE(legacy_routes);
