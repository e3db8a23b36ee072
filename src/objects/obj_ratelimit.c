/*
 * obj_ratelimit.c — misc.ip_rate_limit(key, "N/seconds") (templates.md
 * §7.14): a per-client-IP limiter for public templates over the process's
 * rate-limit counters (core/ratelimit.c, bucket "tpl:<key>"): each call
 * within the limit counts and answers 0; once N calls of this IP were
 * counted in the current window of `seconds` (a fixed window from the first
 * call), the call answers 1 and is not counted. A template refuses with
 *
 *     {{ IF misc.ip_rate_limit('register', '5/3600') }}{{ report.add_error('Too many requests') }}{{ END }}
 *
 * A render without a client IP (spool tasks, tests) is never limited. The
 * counters are per process (on several nodes each counts on its own) and
 * keys longer than 40 bytes are cut. A malformed limit fails the render.
 */
#include "objects_int.h"

#include "../core/ratelimit.h"
#include "../util/strutil.h"
#include "../util/timeutil.h"

#define RL_KEY_MAX 40
#define RL_WINDOW_MAX (86400 * 31)

/* Parses "N/seconds" into *n and *secs. Returns 0 or ERR_INVALID. */
static int parse_limit(const char *s, int64_t *n, int64_t *secs, struct err *e)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    char num[24];
    if (slash && (size_t)(slash - s) < sizeof(num)) {
        memcpy(num, s, (size_t)(slash - s));
        num[slash - s] = '\0';
        if (parse_i64z(num, 1, 1000000, n) == 0 &&
            parse_i64z(slash + 1, 1, RL_WINDOW_MAX, secs) == 0)
            return 0;
    }
    return err_set(e, ERR_INVALID,
                   "misc.ip_rate_limit: the limit must be \"N/seconds\" (N >= 1, 1 to %d s)",
                   RL_WINDOW_MAX);
}

int obj_misc_ip_rate_limit(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    char *key = obj_arg_str(a, 0, "key"), *spec = obj_arg_str(a, 1, "limit");
    int64_t n = 0, secs = 0;
    int rc = parse_limit(spec, &n, &secs, e);
    if (rc == 0) {
        char bucket[8 + RL_KEY_MAX];
        snprintf(bucket, sizeof(bucket), "tpl:%.*s", RL_KEY_MAX, key ? key : "");
        bool limited = false;
        if (r->client_ip && *r->client_ip) {
            int64_t now = time_now();
            limited = ratelimit_count(bucket, r->client_ip, now) >= n;
            if (!limited)
                ratelimit_hit(bucket, r->client_ip, (int)secs, now);
        }
        *out = tpl_int(limited);
    }
    free(key), free(spec);
    return rc;
}
