/*
 * router.h — the route table type and matching.
 *
 * One static table of routes (src/api/routes.c) drives dispatch and the
 * OpenAPI documents. A path ending in '*' matches any non-empty tail, which
 * the dispatcher stores under the route's splat_to argument (default "id").
 * Exact paths win over splat paths; among splat paths the longest prefix
 * wins. A path with no route for the method is a 404, like an unknown path.
 */
#ifndef BILLD_ROUTER_H
#define BILLD_ROUTER_H

#include "../common.h"

enum auth_level {
    AUTH_NONE = 0, /* anonymous; SHM's skip_check_auth */
    AUTH_USER,     /* any authenticated, unblocked user */
    AUTH_ADMIN,    /* users.gid = 1 */
};

enum route_flags {
    RF_RAW_BODY = 1 << 0,   /* body not parsed (SHM's skip_auto_parse_json) */
    RF_LARGE_BODY = 1 << 1, /* body limit max_body_large (16 MiB) instead of 1 MiB */
    RF_BARE_JSON = 1 << 2,  /* default format json: data printed without envelope */
    RF_PLAIN = 1 << 3,      /* default format plain */
    RF_NO_TX = 1 << 4,      /* handler runs outside a request transaction */
    RF_HIDDEN = 1 << 5,     /* left out of the OpenAPI documents */
};

struct api_ctx;

struct route {
    const char *method;   /* "GET", "POST", "PUT", "DELETE", or "*" for any */
    const char *path;     /* e.g. "/user/service" or "/storage/manage/\*" */
    enum auth_level auth;
    const char *required; /* comma-separated required arguments, or NULL */
    int (*handler)(struct api_ctx *c);
    unsigned flags;       /* enum route_flags */
    const char *splat_to; /* argument receiving the '*' tail; NULL = "id" */
    const char *ratelimit; /* rate-limit bucket checked before the handler, or NULL */
    const char *tag;      /* OpenAPI tag */
    const char *summary;  /* OpenAPI summary */
    const void *data;     /* handler data, e.g. the resource of a generic handler */
};

/* The routes of one module (api_<resource>.c exports one). */
struct route_table {
    const struct route *routes;
    size_t count;
};

#define ROUTE_TABLE(arr) { (arr), ARRAY_SIZE(arr) }

/*
 * Finds the route for method and path in the tables. On a splat match
 * *splat points into path at the tail. Returns NULL when nothing matches.
 */
const struct route *router_match(const struct route_table *const *tables, size_t ntables,
                                 const char *method, const char *path, const char **splat);

#endif
