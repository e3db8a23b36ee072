/*
 * api_admin_user.c — user administration: list (R92), create (R93), update
 * (R94), delete (R95), search (R96), set password (R97) and impersonation
 * sessions (R109).
 *
 * The dispatcher has already switched c->user_id to the `user_id` argument
 * (api.md §5.3), so handlers that name one user act on c->user_id.
 */
#include "api.h"
#include "../billing/payment.h"
#include "../core/session.h"
#include "../core/user.h"
#include "../db/sqlb.h"
#include "../util/strutil.h"

static int reply_user(struct api_ctx *c, int64_t user_id)
{
    json_t *row = NULL;
    int rc = user_read(c->db, user_id, true, &row, &c->err);
    if (rc)
        return rc;
    api_set_data(c, row);
    return 0;
}

static int require_user(struct api_ctx *c, int64_t user_id)
{
    struct user_auth a = { 0 };
    int rc = user_find_by_id(c->db, user_id, &a, &c->err);
    user_auth_free(&a);
    if (rc == ERR_NOT_FOUND)
        return api_fail(c, 404, "Object not found. Check the ID.");
    return rc;
}

/* True when the request's filter names key (the filter may be a JSON string). */
static bool filter_has(struct api_ctx *c, const char *key)
{
    json_t *f = json_object_get(c->args, "filter");
    json_t *parsed = json_is_string(f) ? json_loads(json_string_value(f), 0, NULL) : NULL;
    bool has = json_object_get(parsed ? parsed : f, key) != NULL;
    json_decref(parsed);
    return has;
}

/* Admin lists: restricted by `user_id` when given; blocked users hidden unless filtered. */
static void admin_user_scope(struct api_ctx *c, struct sqlb *where)
{
    if (json_object_get(c->args, "user_id") && c->user_id != c->auth_user_id) {
        sqlb_add(where, "user_id = ");
        sqlb_int(where, c->user_id);
    } else if (!filter_has(c, "block") && !filter_has(c, "user_id")) {
        sqlb_add(where, "block = 0");
    }
}

static int api_admin_user_list(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    admin_user_scope(c, &where);
    int rc = api_list(c, &user_model, "users", &where);
    sqlb_free(&where);
    return rc;
}

static int api_admin_user_search(struct api_ctx *c)
{
    struct sqlb where;
    const char *text = args_str(c->args, "text");
    char *t = text ? xstrdup(text) : NULL;
    sqlb_init(&where);
    if (t) {
        char *s = t, *end;
        while (*s == ' ' || *s == '\t')
            s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*s) {
            char *pat = xasprintf("%%%s%%", s);
            const char *like = db_sql_ilike(c->db);
            int n = sqlb_bind(&where, DB_TEXT(pat));
            sqlb_add(&where,
                     "(login %s $%d OR login2 %s $%d OR full_name %s $%d OR phone %s $%d"
                     " OR CAST(settings AS TEXT) %s $%d",
                     like, n, like, n, like, n, like, n, like, n);
            int64_t id;
            if (parse_i64z(s, 1, INT64_MAX, &id) == 0) {
                sqlb_add(&where, " OR user_id = ");
                sqlb_int(&where, id);
            }
            sqlb_add(&where, ")");
            free(pat);
        }
    }
    if (where.sql.len == 0)
        admin_user_scope(c, &where);
    int rc = api_list(c, &user_model, "users", &where);
    sqlb_free(&where);
    free(t);
    return rc;
}

static int api_admin_user_create(struct api_ctx *c)
{
    int64_t id;
    const char *login = args_str(c->args, "login");
    const char *pw = args_str(c->args, "password");
    if (!login || !pw)
        return api_fail(c, 400, "login and password must be strings");
    int rc = user_create(c->db, login, pw, c->cfg->min_password_length, c->args, &id, &c->err);
    return rc ? rc : reply_user(c, id);
}

/* R94; a raised credit or perm_credit emits CREDIT (re-activation, billing.md §20). */
static int api_admin_user_update(struct api_ctx *c)
{
    struct credit_state before;
    int rc = require_user(c, c->user_id);
    if (rc == 0)
        rc = payment_credit_read(c->db, c->user_id, &before, &c->err);
    if (rc == 0)
        rc = user_update(c->db, c->user_id, c->args, true, &c->err);
    if (rc == 0)
        rc = payment_credit_changed(c->db, c->user_id, &before, &c->err);
    return rc ? rc : reply_user(c, c->user_id);
}

static int api_admin_user_delete(struct api_ctx *c)
{
    int rc = require_user(c, c->user_id);
    if (rc == 0)
        rc = user_delete(c->db, c->user_id, args_true(c->args, "force"), &c->err);
    if (rc)
        return rc;
    api_set_data(c, json_array());
    return 0;
}

static int api_admin_user_passwd(struct api_ctx *c)
{
    const char *pw = args_str(c->args, "password");
    if (!pw)
        return api_fail(c, 400, "password must be a string");
    int rc = require_user(c, c->user_id);
    if (rc == 0)
        rc = user_set_password(c->db, c->user_id, pw, c->cfg->min_password_length, &c->err);
    return rc ? rc : reply_user(c, c->user_id);
}

static int api_admin_user_session(struct api_ctx *c)
{
    char token[SESSION_TOKEN_LEN + 1];
    int rc = require_user(c, c->user_id);
    if (rc == 0)
        rc = session_create(c->db, c->user_id, NULL, token, &c->err);
    if (rc)
        return rc;
    api_set_data(c, json_pack("{s:s}", "id", token));
    return 0;
}

#define R(m, p, a, req, h, fl, tag, sum) { m, p, a, req, h, fl, NULL, NULL, tag, sum, NULL }

static const struct route routes[] = {
    R("GET", "/admin/user", AUTH_ADMIN, NULL, api_admin_user_list, 0, "admin",
      "List users (blocked users only when filtered by block)"),                        /* R92 */
    R("PUT", "/admin/user", AUTH_ADMIN, "login,password", api_admin_user_create, 0, "admin",
      "Create a user"),                                                                  /* R93 */
    R("POST", "/admin/user", AUTH_ADMIN, "user_id", api_admin_user_update, 0, "admin",
      "Update a user"),                                                                  /* R94 */
    R("DELETE", "/admin/user", AUTH_ADMIN, "user_id", api_admin_user_delete, 0, "admin",
      "Delete a user (not admins; force=1 for users with money or services)"),         /* R95 */
    R("GET", "/admin/user/search", AUTH_ADMIN, NULL, api_admin_user_search, 0, "admin",
      "Search users by login, name, phone, settings or id"),                            /* R96 */
    R("POST", "/admin/user/passwd", AUTH_ADMIN, "user_id,password", api_admin_user_passwd, 0,
      "admin", "Set a user's password; ends the user's sessions"),                      /* R97 */
    R("PUT", "/admin/user/session", AUTH_ADMIN, "user_id", api_admin_user_session,
      RF_BARE_JSON, "admin", "Create a session for a user"),                             /* R109 */
};

const struct route_table api_admin_user_routes = ROUTE_TABLE(routes);
