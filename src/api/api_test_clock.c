/*
 * api_test_clock.c — the test clock (DECISIONS D5): GET/POST /admin/test/clock.
 * The routes exist only with BILLD_TEST_CLOCK=1 (otherwise they answer 404
 * like any unknown route) and only for admins. time_now() (util/timeutil.c)
 * is the clock they freeze, for the whole process.
 */
#include "api.h"
#include "../util/log.h"
#include "../util/timeutil.h"

/* The clock routes exist only with BILLD_TEST_CLOCK=1 (else 404 as if absent); admins only. */
static int clock_gate(struct api_ctx *c)
{
    if (!c->cfg->test_clock)
        return api_fail(c, 404, "Method not found");
    int rc = api_authenticate(c);
    if (rc)
        return rc;
    if (!c->auth_admin)
        return api_fail(c, 403, "Permission denied");
    return 0;
}

static int clock_reply(struct api_ctx *c)
{
    char now[32];
    time_format_local(time_now(), now, sizeof(now));
    api_set_data(c, json_pack("{s:s,s:b}", "now", now, "frozen", time_frozen()));
    return 0;
}

static int api_test_clock_get(struct api_ctx *c)
{
    int rc = clock_gate(c);
    return rc ? rc : clock_reply(c);
}

/* {"now": "YYYY-MM-DD HH:MM:SS"} (local time) freezes the clock there; null (or "") frees it. */
static int api_test_clock_set(struct api_ctx *c)
{
    int64_t t;
    int rc = clock_gate(c);
    if (rc)
        return rc;
    json_t *v = json_object_get(c->args, "now");
    if (!v)
        return api_fail(c, 400, "Field required: now");
    if (args_missing(c->args, "now")) {
        time_unfreeze();
        log_info("test clock released", NULL);
        return clock_reply(c);
    }
    if (!json_is_string(v) || time_parse_local(json_string_value(v), &t))
        return api_fail(c, 400, "Field now: expected a date YYYY-MM-DD HH:MM:SS or null");
    time_freeze(t);
    log_info("test clock frozen", "now=%lld", (long long)t);
    return clock_reply(c);
}

#define R(m, p, a, req, h, fl, tag, sum) { m, p, a, req, h, fl, NULL, NULL, tag, sum, NULL }

static const struct route routes[] = {
    R("GET", "/admin/test/clock", AUTH_NONE, NULL, api_test_clock_get, RF_NO_TX | RF_HIDDEN,
      "admin", "Test clock: current time and whether it is frozen"),
    R("POST", "/admin/test/clock", AUTH_NONE, NULL, api_test_clock_set, RF_NO_TX | RF_HIDDEN,
      "admin", "Test clock: freeze at a local time, or null for the real clock"),
};

const struct route_table api_test_clock_routes = ROUTE_TABLE(routes);
