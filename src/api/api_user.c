/*
 * api_user.c — the caller's own account: registration (R9), password login
 * (R10), logout, reading and updating the own row (R28, R29), and changing
 * the own password (R30).
 */
#include "api.h"
#include "../core/config_store.h"
#include "../core/session.h"
#include "../core/user.h"
#include "../spool/spool.h"
#include "../util/timeutil.h"

#define REGISTER_BUCKET "user-register"
#define REGISTER_WINDOW 3600

static int reply_user(struct api_ctx *c, int64_t user_id, bool admin)
{
    json_t *row = NULL;
    int rc = user_read(c->db, user_id, admin, &row, &c->err);
    if (rc)
        return rc;
    api_set_data(c, row);
    return 0;
}

static bool registration_allowed(struct api_ctx *c)
{
    json_t *v = config_store_lookup(c->db, "billing", "allow_user_register_api");
    bool off = v && ((json_is_integer(v) && json_integer_value(v) == 0) || json_is_false(v) ||
                     (json_is_string(v) && strcmp(json_string_value(v), "0") == 0));
    json_decref(v);
    return !off;
}

/* Integer value of the cookie `name` in the Cookie header, or 0. */
static int64_t cookie_id(const struct http_request *req, const char *name)
{
    const char *h = http_header(req, "Cookie");
    size_t n = strlen(name);
    while (h && *h) {
        h += strspn(h, " ;");
        if (strncmp(h, name, n) == 0 && h[n] == '=')
            return strtoll(h + n + 1, NULL, 10);
        h = strchr(h, ';');
    }
    return 0;
}

/*
 * The referrer of a new user (other.md §6): the partner_id argument, else the
 * partner_id cookie. Only an existing user counts; anything else is ignored,
 * as SHM does, so a stale referral link never blocks a registration.
 */
static int64_t registration_partner(struct api_ctx *c)
{
    int64_t id = 0, found = 0;
    if (args_i64(c->args, "partner_id", &id) != 0 || id <= 0)
        id = cookie_id(c->req, "partner_id");
    if (id <= 0)
        return 0;
    struct err e = { 0 };
    struct db_value p[] = { DB_INT(id) };
    if (db_query_int(c->db, "SELECT COUNT(*) FROM users WHERE user_id = $1", p, 1, &found, &e))
        return 0;
    return found ? id : 0;
}

static int api_user_register(struct api_ctx *c)
{
    int64_t id;
    if (!registration_allowed(c))
        return api_fail(c, 403, "Registration of new users is prohibited");
    api_ratelimit_hit(c, REGISTER_BUCKET, REGISTER_WINDOW);
    const char *login = args_str(c->args, "login");
    const char *pw = args_str(c->args, "password");
    if (!login || !pw)
        return api_fail(c, 400, "login and password must be strings");
    json_t *fields = json_pack("{s:{s:s}}", "settings", "ip", c->req->client_ip);
    int64_t partner = registration_partner(c);
    if (partner)
        json_object_set_new(fields, "partner_id", json_integer(partner));
    int rc = user_create(c->db, login, pw, c->cfg->min_password_length, fields, &id, &c->err);
    json_decref(fields);
    if (rc == 0) /* tasks for the `events` rows named REGISTERED (spool.md §2.2) */
        rc = spool_user_event(c->db, id, "REGISTERED", NULL, NULL, &c->err);
    return rc ? rc : reply_user(c, id, false);
}

static int start_session(struct api_ctx *c, int64_t user_id, char token[SESSION_TOKEN_LEN + 1])
{
    int rc = session_create(c->db, user_id, NULL, token, &c->err);
    if (rc == 0)
        rc = user_touch_login(c->db, user_id, time_now(), &c->err);
    return rc;
}

static int api_user_auth(struct api_ctx *c)
{
    char token[SESSION_TOKEN_LEN + 1];
    int64_t id;
    const char *login = args_str(c->args, "login");
    const char *pw = args_str(c->args, "password");
    if (!login || !pw)
        return api_fail(c, 400, "login and password must be strings");
    int rc = api_password_login(c, login, pw, &id);
    if (rc == 0)
        rc = start_session(c, id, token);
    if (rc)
        return rc;
    c->err_header = false;
    api_set_data(c, json_pack("{s:s}", "id", token));
    return 0;
}

static int api_user_logout(struct api_ctx *c)
{
    if (c->session_token) {
        int rc = session_delete(c->db, c->session_token, &c->err);
        if (rc)
            return rc;
    }
    api_set_data(c, json_array());
    return 0;
}

static int api_user_get(struct api_ctx *c)
{
    return reply_user(c, c->user_id, c->auth_admin);
}

static int api_user_update(struct api_ctx *c)
{
    int rc = user_update(c->db, c->user_id, c->args, false, &c->err);
    return rc ? rc : reply_user(c, c->user_id, c->auth_admin);
}

/* R31: how many users name the caller as their partner, as SHM: [{"total":N}]. */
static int api_user_referrals(struct api_ctx *c)
{
    int64_t n = 0;
    struct db_value p[] = { DB_INT(c->user_id) };
    int rc = db_query_int(c->db, "SELECT COUNT(*) FROM users WHERE partner_id = $1", p, 1, &n,
                          &c->err);
    if (rc)
        return rc;
    api_set_data(c, json_pack("[{s:I}]", "total", (json_int_t)n));
    return 0;
}

static int api_user_passwd(struct api_ctx *c)
{
    const char *pw = args_str(c->args, "password");
    if (!pw)
        return api_fail(c, 400, "password must be a string");
    int rc = user_set_password(c->db, c->user_id, pw, c->cfg->min_password_length, &c->err);
    return rc ? rc : reply_user(c, c->user_id, c->auth_admin);
}

#define R(m, p, a, req, h, fl, tag, sum) { m, p, a, req, h, fl, NULL, NULL, tag, sum, NULL }

static const struct route routes[] = {

    /* public (api.md §11.1) */
    { "PUT", "/user", AUTH_NONE, "login,password", api_user_register, 0, NULL, "user-register",
      "user", "Register a new user" },                                                  /* R9 */
    { "POST", "/user/auth", AUTH_NONE, "login,password", api_user_auth,
      RF_NO_TX | RF_BARE_JSON, NULL, "user-auth", "user", "Log in; returns a session id" }, /* R10 */

    /* the caller's account (api.md §11.2) */
    R("GET", "/user", AUTH_USER, NULL, api_user_get, 0, "user", "The caller's user row"),  /* R28 */
    R("POST", "/user", AUTH_USER, NULL, api_user_update, 0, "user",
      "Update the caller's full_name and phone"),                                        /* R29 */
    R("GET", "/user/referrals", AUTH_USER, NULL, api_user_referrals, 0, "user",
      "How many users registered with the caller as partner"),                           /* R31 */
    R("POST", "/user/passwd", AUTH_USER, "password", api_user_passwd, 0, "user",
      "Change the caller's password; ends all sessions"),                                /* R30 */
    R("POST", "/user/logout", AUTH_USER, NULL, api_user_logout, 0, "user",
      "End the current session (billd)"),

    /* admin: system and users (api.md §11.5, §11.6) */
};

const struct route_table api_user_routes = ROUTE_TABLE(routes);
