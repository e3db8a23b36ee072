/*
 * router.c — route matching over a static table (see router.h).
 */
#include "router.h"

static bool method_ok(const struct route *r, const char *method)
{
    return strcmp(r->method, "*") == 0 || strcmp(r->method, method) == 0;
}

const struct route *router_match(const struct route *table, size_t n, const char *method,
                                 const char *path, const char **splat)
{
    const struct route *best = NULL;
    size_t best_len = 0;
    *splat = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct route *r = &table[i];
        if (!method_ok(r, method))
            continue;
        size_t len = strlen(r->path);
        if (len && r->path[len - 1] == '*') {
            size_t pre = len - 1;
            if (strncmp(path, r->path, pre) == 0 && path[pre] != '\0' && pre >= best_len) {
                best = r;
                best_len = pre;
            }
        } else if (strcmp(path, r->path) == 0) {
            *splat = NULL;
            return r;
        }
    }
    if (best)
        *splat = path + best_len;
    return best;
}
