/*
 * routes.c — the route tables. One row per (method, path): adding a route
 * means adding a row here, a handler in api_<resource>.c and a test in
 * t/api/. The same rows generate the OpenAPI documents (swagger.c).
 * Ids in comments are the route ids of spec/api.md §11 and §12.
 */
#include "api.h"

#define R(m, p, a, req, h, fl, tag, sum) { m, p, a, req, h, fl, NULL, NULL, tag, sum }

const struct route api_routes[] = {
    /* public (api.md §11.1) */
    R("GET", "/healthcheck", AUTH_NONE, NULL, api_healthcheck, RF_NO_TX, "system",
      "Health check: SUCCESS, or 503 when the database is unreachable"),                 /* R1 */
    R("GET", "/test/http/echo", AUTH_NONE, NULL, api_test_echo, 0, "system", "Echo (GET)"),
    R("POST", "/test/http/echo", AUTH_NONE, NULL, api_test_echo, 0, "system", "Echo (POST)"),
    R("PUT", "/test/http/echo", AUTH_NONE, NULL, api_test_echo, 0, "system", "Echo (PUT)"),
    R("DELETE", "/test/http/echo", AUTH_NONE, NULL, api_test_echo, 0, "system", "Echo (DELETE)"),
    R("GET", "/company", AUTH_NONE, NULL, api_company, 0, "system", "Company information"), /* R7 */
    { "PUT", "/user", AUTH_NONE, "login,password", api_user_register, 0, NULL, "user-register",
      "user", "Register a new user" },                                                  /* R9 */
    { "POST", "/user/auth", AUTH_NONE, "login,password", api_user_auth,
      RF_NO_TX | RF_BARE_JSON, NULL, "user-auth", "user", "Log in; returns a session id" }, /* R10 */
    R("GET", "/swagger.json", AUTH_NONE, NULL, api_swagger, RF_BARE_JSON | RF_NO_TX, "system",
      "OpenAPI document of the user routes"),                                           /* R26 */
    R("GET", "/swagger_admin.json", AUTH_NONE, NULL, api_swagger_admin, RF_BARE_JSON | RF_NO_TX,
      "system", "OpenAPI document including admin routes"),                              /* R27 */

    /* the caller's account (api.md §11.2) */
    R("GET", "/user", AUTH_USER, NULL, api_user_get, 0, "user", "The caller's user row"),  /* R28 */
    R("POST", "/user", AUTH_USER, NULL, api_user_update, 0, "user",
      "Update the caller's full_name and phone"),                                        /* R29 */
    R("POST", "/user/passwd", AUTH_USER, "password", api_user_passwd, 0, "user",
      "Change the caller's password; ends all sessions"),                                /* R30 */
    R("POST", "/user/logout", AUTH_USER, NULL, api_user_logout, 0, "user",
      "End the current session (billd)"),

    /* admin: system and users (api.md §11.5, §11.6) */
    R("GET", "/admin/system/version", AUTH_ADMIN, NULL, api_version, RF_BARE_JSON, "admin",
      "Version information"),                                                            /* R79 */
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
const size_t api_routes_count = ARRAY_SIZE(api_routes);

/* Endpoints outside /shm/v1 (api.md §12); paths are absolute. */
const struct route legacy_routes[] = {
    R("POST", "/shm/user/auth.cgi", AUTH_NONE, NULL, api_legacy_auth, RF_NO_TX | RF_HIDDEN,
      "legacy", "Log in and set the session cookie"),                                    /* L1 */
    R("*", "/shm/user/logout.cgi", AUTH_NONE, NULL, api_legacy_logout, RF_NO_TX | RF_HIDDEN,
      "legacy", "Delete the session of the cookie"),                                     /* L2 */
    R("GET", "/shm/healthcheck.cgi", AUTH_NONE, NULL, api_legacy_healthcheck,
      RF_NO_TX | RF_HIDDEN, "legacy", "Container health check"),                         /* L4 */
};
const size_t legacy_routes_count = ARRAY_SIZE(legacy_routes);
