/*
 * router.c — route matching over a static table (see router.h).
 */
#include "router.h"

static bool method_ok(const struct route *r, const char *method)
{
    return strcmp(r->method, "*") == 0 || strcmp(r->method, method) == 0;
}

/*
 * Returns the exact match of one table, or NULL after updating the best
 * splat candidate seen so far (*best, *best_len).
 */
static const struct route *match_one(const struct route_table *t, const char *method,
                                     const char *path, const struct route **best,
                                     size_t *best_len)
{
    for (size_t i = 0; i < t->count; i++) {
        const struct route *r = &t->routes[i];
        if (!method_ok(r, method))
            continue;
        size_t len = strlen(r->path);
        if (len && r->path[len - 1] == '*') {
            size_t pre = len - 1;
            if (strncmp(path, r->path, pre) == 0 && path[pre] != '\0' &&
                (!*best || pre > *best_len)) {
                *best = r;
                *best_len = pre;
            }
        } else if (strcmp(path, r->path) == 0) {
            return r;
        }
    }
    return NULL;
}

const struct route *router_match(const struct route_table *const *tables, size_t ntables,
                                 const char *method, const char *path, const char **splat)
{
    const struct route *best = NULL;
    size_t best_len = 0;
    *splat = NULL;
    for (size_t t = 0; t < ntables; t++) {
        const struct route *r = match_one(tables[t], method, path, &best, &best_len);
        if (r)
            return r;
    }
    if (best)
        *splat = path + best_len;
    return best;
}

