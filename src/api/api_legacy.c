/*
 * api_legacy.c — the CGI endpoints SHM clients still call outside /shm/v1
 * (api.md §12): /shm/user/auth.cgi (L1), /shm/user/logout.cgi (L2) and
 * /shm/healthcheck.cgi (L4). Their bodies carry "msg" rather than "error".
 */
#include "api.h"
#include "render.h"
#include "../core/session.h"
#include "../core/user.h"
#include "../util/timeutil.h"

#define COOKIE_MAX_AGE (31 * 86400)

static int api_legacy_healthcheck(struct api_ctx *c)
{
    c->out = API_OUT_CUSTOM;
    c->resp->status = 204;
    http_response_body(c->resp, xstrdup(""), 0, "text/plain; charset=utf8");
    return 0;
}

static void reply_json(struct api_ctx *c, int status, json_t *body, const char *msg_header)
{
    char *s = render_json(body);
    c->out = API_OUT_CUSTOM;
    c->resp->status = status;
    http_response_body(c->resp, s, strlen(s), "application/json; charset=utf-8");
    if (msg_header)
        http_response_header(c->resp, "Msg", msg_header);
    json_decref(body);
}

static int api_legacy_auth(struct api_ctx *c)
{
    char token[SESSION_TOKEN_LEN + 1];
    int64_t id;
    const char *login = args_str(c->args, "login");
    const char *pw = args_str(c->args, "password");
    if (!login || !*login || !pw || !*pw)
        return api_fail_msg(c, 400, "Login or password is empty");
    int rc = api_password_login(c, login, pw, &id);
    if (rc) {
        c->err_msg_key = true;
        return rc;
    }
    struct user_auth a = { 0 };
    rc = user_find_by_id(c->db, id, &a, &c->err);
    bool admin = a.admin;
    user_auth_free(&a);
    if (rc)
        return rc;
    if (args_true(c->args, "admin") && !admin)
        return api_fail_msg(c, 403, "Permission denied");
    rc = session_create(c->db, id, NULL, token, &c->err);
    if (rc == 0)
        rc = user_touch_login(c->db, id, time_now(), &c->err);
    if (rc)
        return rc;
    reply_json(c, 200, json_pack("{s:s,s:s,s:i,s:I}", "msg", "Successfully", "session_id", token,
                                 "status", 200, "user_id", (json_int_t)id), NULL);
    char *cookie = xasprintf("session_id=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax", token,
                             COOKIE_MAX_AGE);
    http_response_header(c->resp, "Set-Cookie", cookie);
    free(cookie);
    return 0;
}

static int api_legacy_logout(struct api_ctx *c)
{
    const char *token = http_cookie(c->req, "session_id");
    if (token) {
        int rc = session_delete(c->db, token, &c->err);
        if (rc)
            return rc;
    }
    reply_json(c, 200, json_pack("{s:s,s:i}", "msg", "Logout sucessfully", "status", 0),
               "Logout sucessfully");
    http_response_header(c->resp, "Set-Cookie",
                         "session_id=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    return 0;
}

#define R(m, p, a, req, h, fl, tag, sum) { m, p, a, req, h, fl, NULL, NULL, tag, sum, NULL }

/* Paths are absolute: these live outside /shm/v1 (api.md §12). */
static const struct route routes[] = {

    R("POST", "/shm/user/auth.cgi", AUTH_NONE, NULL, api_legacy_auth, RF_NO_TX | RF_HIDDEN,
      "legacy", "Log in and set the session cookie"),                                    /* L1 */
    R("*", "/shm/user/logout.cgi", AUTH_NONE, NULL, api_legacy_logout, RF_NO_TX | RF_HIDDEN,
      "legacy", "Delete the session of the cookie"),                                     /* L2 */
    R("GET", "/shm/healthcheck.cgi", AUTH_NONE, NULL, api_legacy_healthcheck,
      RF_NO_TX | RF_HIDDEN, "legacy", "Container health check"),                         /* L4 */
};

const struct route_table api_legacy_routes = ROUTE_TABLE(routes);
