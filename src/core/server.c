/*
 * server.c — servers and server groups: models, write checks, delete guards,
 * the services counter and server selection (see server.h).
 */
#include "server.h"
#include "identity.h"
#include "../db/sqlb.h"
#include "../util/log.h"
#include "../util/strutil.h"

#include <sodium.h>

static const struct field server_fields[] = {
    { "server_id", FT_INT, FF_KEY, "id", 0, NULL },
    { "server_gid", FT_INT, 0, "server group", 0, NULL },
    { "name", FT_TEXT, 0, "label", 255, NULL },
    { "transport", FT_TEXT, FF_REQUIRED, "transport", 32, SERVER_TRANSPORTS },
    { "host", FT_TEXT, 0, "ssh user@host, http URL template or smtp host:port", 255, NULL },
    { "ip", FT_TEXT, 0, "IPv4 address (informational)", 15, NULL },
    { "weight", FT_INT, FF_NONNEG, "weight in random groups (default 100)", 0, NULL },
    { "success_count", FT_INT, FF_NONNEG, "successful tasks", 0, NULL },
    { "fail_count", FT_INT, FF_NONNEG, "failed tasks", 0, NULL },
    { "services_count", FT_INT, FF_NONNEG, "user services bound to the server", 0, NULL },
    { "enabled", FT_INT, 0, "1 = selectable, 0 = not", 0, NULL },
    { "settings", FT_JSON, 0, "key_id, port, max_services, template_id, transport options",
      0, NULL },
};

const struct model server_model = {
    .name = "Server",
    .table = "servers",
    .key = "server_id",
    .fields = server_fields,
    .nfields = ARRAY_SIZE(server_fields),
};

static const struct field server_group_fields[] = {
    { "group_id", FT_INT, FF_KEY, "id (1 = LOCAL and 2 = mail are protected)", 0, NULL },
    { "name", FT_TEXT, 0, "label", 255, NULL },
    { "transport", FT_TEXT, 0, "transport of the group (default ssh)", 32, SERVER_TRANSPORTS },
    { "type", FT_TEXT, 0, "server choice (default random)", 16, "random|by-one|evenly" },
    { "settings", FT_JSON, 0, "free", 0, NULL },
};

const struct model server_group_model = {
    .name = "ServerGroup",
    .table = "servers_groups",
    .key = "group_id",
    .fields = server_group_fields,
    .nfields = ARRAY_SIZE(server_group_fields),
};

/* ---- selection ---- */

int server_group_type_parse(const char *s, enum server_group_type *out)
{
    static const char *const names[] = { "random", "by-one", "evenly" };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = (enum server_group_type)i;
            return 0;
        }
    }
    return ERR_INVALID;
}

uint64_t server_rng_system(void *ctx)
{
    uint64_t v;
    UNUSED(ctx);
    randombytes_buf(&v, sizeof(v));
    return v;
}

static bool eligible(const struct server_candidate *c)
{
    return c->enabled && (c->max_services < 0 || c->services_count < c->max_services);
}

static uint64_t weight_of(const struct server_candidate *c)
{
    if (c->weight <= 0)
        return 0;
    return (uint64_t)(c->weight > SERVER_MAX_WEIGHT ? SERVER_MAX_WEIGHT : c->weight);
}

/* A uniform value in [0, n) by rejection sampling (no modulo bias); n > 0. */
static uint64_t rng_below(uint64_t n, uint64_t (*rng)(void *), void *ctx)
{
    uint64_t threshold = (0 - n) % n; /* 2^64 mod n: values below it are over-represented */
    uint64_t r;
    do
        r = rng(ctx);
    while (r < threshold);
    return r % n;
}

/* Weighted draw among the eligible candidates; uniform when all their weights are 0. */
static int choose_random(const struct server_candidate *cand, size_t n, uint64_t (*rng)(void *),
                         void *ctx, int64_t *server_id)
{
    uint64_t total = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (eligible(&cand[i])) {
            total += weight_of(&cand[i]);
            count++;
        }
    }
    if (count == 0)
        return ERR_NOT_FOUND;
    bool uniform = total == 0;
    uint64_t r = rng_below(uniform ? count : total, rng, ctx);
    for (size_t i = 0; i < n; i++) {
        if (!eligible(&cand[i]))
            continue;
        uint64_t w = uniform ? 1 : weight_of(&cand[i]);
        if (r < w) {
            *server_id = cand[i].server_id;
            return 0;
        }
        r -= w;
    }
    return ERR_NOT_FOUND; /* not reached: r < the sum of the weights */
}

/* True when a is a better pick than b: by services_count (highest or lowest), then lowest id. */
static bool better(const struct server_candidate *a, const struct server_candidate *b,
                   bool highest)
{
    if (a->services_count != b->services_count)
        return highest ? a->services_count > b->services_count
                       : a->services_count < b->services_count;
    return a->server_id < b->server_id;
}

static int choose_by_count(const struct server_candidate *cand, size_t n, bool highest,
                           int64_t *server_id)
{
    const struct server_candidate *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (eligible(&cand[i]) && (!best || better(&cand[i], best, highest)))
            best = &cand[i];
    if (!best)
        return ERR_NOT_FOUND;
    *server_id = best->server_id;
    return 0;
}

int server_choose(enum server_group_type type, const struct server_candidate *cand, size_t n,
                  uint64_t (*rng)(void *), void *rng_ctx, int64_t *server_id)
{
    switch (type) {
    case SERVER_GROUP_BY_ONE:
        return choose_by_count(cand, n, true, server_id);
    case SERVER_GROUP_EVENLY:
        return choose_by_count(cand, n, false, server_id);
    case SERVER_GROUP_RANDOM:
    default:
        return choose_random(cand, n, rng ? rng : server_rng_system, rng_ctx, server_id);
    }
}

/* settings.max_services of a stored settings text, or -1 when absent or not a count. */
static int64_t max_services_of(const char *settings)
{
    json_t *s = settings ? json_loads(settings, 0, NULL) : NULL;
    json_t *v = json_object_get(s, "max_services");
    int64_t n = -1;
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        n = json_integer_value(v);
    else if (json_is_string(v) && parse_i64z(json_string_value(v), 0, INT64_MAX, &n))
        n = -1;
    json_decref(s);
    return n;
}

static int group_type(struct db *db, int64_t group_id, enum server_group_type *type,
                      struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(group_id) };
    int rc = db_query(db, "SELECT type FROM servers_groups WHERE group_id = $1", p, 1, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) < 1) {
        db_result_free(r);
        return err_set(e, ERR_NOT_FOUND, "The server group does not exist");
    }
    const char *t = db_result_text(r, 0, 0);
    if (server_group_type_parse(t, type)) {
        log_warn("unknown server group type; choosing at random", "group_id=%lld type=%s",
                 (long long)group_id, t ? t : "NULL");
        *type = SERVER_GROUP_RANDOM;
    }
    db_result_free(r);
    return 0;
}

/* The servers of group_id as candidates (owned array in *out, count in *n). */
static int load_candidates(struct db *db, int64_t group_id, struct server_candidate **out,
                           size_t *n, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(group_id) };
    int rc = db_query(db,
                      "SELECT server_id, weight, services_count, enabled, settings FROM servers"
                      " WHERE server_gid = $1 ORDER BY server_id",
                      p, 1, &r, e);
    if (rc)
        return rc;
    *n = (size_t)db_result_rows(r);
    *out = xcalloc(*n ? *n : 1, sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        struct server_candidate *c = &(*out)[i];
        c->server_id = db_result_int(r, (int)i, 0);
        c->weight = db_result_is_null(r, (int)i, 1) ? SERVER_DEFAULT_WEIGHT
                                                    : db_result_int(r, (int)i, 1);
        c->services_count = db_result_int(r, (int)i, 2);
        c->enabled = db_result_int(r, (int)i, 3) != 0;
        c->max_services = max_services_of(db_result_text(r, (int)i, 4));
    }
    db_result_free(r);
    return 0;
}

int server_select(struct db *db, int64_t group_id, uint64_t (*rng)(void *), void *rng_ctx,
                  int64_t *server_id, struct err *e)
{
    enum server_group_type type;
    struct server_candidate *cand = NULL;
    size_t n = 0;
    int rc = group_type(db, group_id, &type, e);
    if (rc == 0)
        rc = load_candidates(db, group_id, &cand, &n, e);
    if (rc == 0 && server_choose(type, cand, n, rng, rng_ctx, server_id))
        rc = err_set(e, ERR_NOT_FOUND, "Can't found servers for group");
    free(cand);
    return rc;
}

int server_services_count_add(struct db *db, int64_t server_id, int64_t delta, struct err *e)
{
    int64_t changed = 0;
    struct db_value p[] = { DB_INT(server_id), DB_INT(delta) };
    int rc = db_exec(db,
                     "UPDATE servers SET services_count = CASE WHEN services_count + $2 < 0"
                     " THEN 0 ELSE services_count + $2 END WHERE server_id = $1",
                     p, 2, &changed, e);
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_NOT_FOUND, "Server %lld not found", (long long)server_id);
    return rc;
}

/* ---- write checks ---- */

/* An integer from a JSON integer or a decimal string in [min, max]. Returns 0 or -1. */
static int json_int(json_t *v, int64_t min, int64_t max, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out >= min && *out <= max ? 0 : -1;
    }
    if (json_is_string(v))
        return parse_i64z(json_string_value(v), min, max, out) ? -1 : 0;
    return -1;
}

static int check_not_null(json_t *values, const char *const *cols, size_t n, struct err *e)
{
    for (size_t i = 0; i < n; i++)
        if (json_is_null(json_object_get(values, cols[i])))
            return err_set(e, ERR_INVALID, "Field %s: must not be null", cols[i]);
    return 0;
}

static int check_group_exists(struct db *db, json_t *gid, struct err *e)
{
    int64_t id, n = 0;
    if (!gid || json_is_null(gid))
        return 0;
    if (json_int(gid, INT64_MIN, INT64_MAX, &id))
        return err_set(e, ERR_INVALID, "Field server_gid: expected an integer");
    struct db_value p[] = { DB_INT(id) };
    int rc = db_query_int(db, "SELECT count(*) FROM servers_groups WHERE group_id = $1", p, 1, &n,
                          e);
    if (rc == 0 && n == 0)
        rc = err_set(e, ERR_INVALID, "Field server_gid: server group %lld does not exist",
                     (long long)id);
    return rc;
}

static int check_enabled(json_t *v, struct err *e)
{
    int64_t n;
    if (!v)
        return 0;
    if (json_is_true(v) || json_is_false(v) || (json_int(v, 0, 1, &n) == 0))
        return 0;
    return err_set(e, ERR_INVALID, "Field enabled: must be 0 or 1");
}

/* settings.key_id: an existing identity; a numeric string is stored as an integer. */
static int check_key_id(struct db *db, json_t *settings, struct err *e)
{
    json_t *v = json_object_get(settings, "key_id");
    int64_t id;
    bool exists = false;
    if (!v || json_is_null(v))
        return 0;
    if (json_int(v, 1, INT64_MAX, &id))
        return err_set(e, ERR_INVALID, "Field settings.key_id: expected an identity id");
    int rc = identity_exists(db, id, &exists, e);
    if (rc)
        return rc;
    if (!exists)
        return err_set(e, ERR_INVALID, "Field settings.key_id: identity %lld does not exist",
                       (long long)id);
    json_object_set_new(settings, "key_id", json_integer(id));
    return 0;
}

/* settings.max_services: a non-negative integer (a numeric string is stored as an integer). */
static int check_max_services(json_t *settings, struct err *e)
{
    json_t *v = json_object_get(settings, "max_services");
    int64_t n;
    if (!v || json_is_null(v))
        return 0;
    if (json_int(v, 0, INT64_MAX, &n))
        return err_set(e, ERR_INVALID,
                       "Field settings.max_services: must be a non-negative integer");
    json_object_set_new(settings, "max_services", json_integer(n));
    return 0;
}

static int check_settings_object(json_t *settings, struct err *e)
{
    if (settings && !json_is_null(settings) && !json_is_object(settings))
        return err_set(e, ERR_INVALID, "Field settings: must be a JSON object");
    return 0;
}

int server_check_values(struct db *db, json_t *values, struct err *e)
{
    static const char *const not_null[] = { "transport", "weight", "success_count",
                                            "fail_count", "services_count", "enabled" };
    json_t *settings = json_object_get(values, "settings");
    int rc = check_not_null(values, not_null, ARRAY_SIZE(not_null), e);
    if (rc == 0)
        rc = check_enabled(json_object_get(values, "enabled"), e);
    if (rc == 0)
        rc = check_group_exists(db, json_object_get(values, "server_gid"), e);
    if (rc == 0)
        rc = check_settings_object(settings, e);
    if (rc == 0 && json_is_object(settings)) {
        json_t *copy = json_deep_copy(settings); /* never modify the request's arguments */
        rc = check_key_id(db, copy, e);
        if (rc == 0)
            rc = check_max_services(copy, e);
        json_object_set_new(values, "settings", copy);
    }
    return rc;
}

int server_group_check_values(json_t *values, struct err *e)
{
    static const char *const not_null[] = { "transport", "type" };
    int rc = check_not_null(values, not_null, ARRAY_SIZE(not_null), e);
    return rc ? rc : check_settings_object(json_object_get(values, "settings"), e);
}

/* ---- delete guards ---- */

/* Rows of table whose JSON column col has the text of id at path (plus an extra condition). */
static int count_json_refs(struct db *db, const char *table, const char *col, const char *path,
                           int64_t id, const char *extra, int64_t *count, struct err *e)
{
    struct sqlb b;
    char idtext[24];
    char *p = db_json_path(db, path);
    snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
    sqlb_init(&b);
    int n = sqlb_bind(&b, DB_TEXT(p));
    sqlb_add(&b, "SELECT count(*) FROM %s WHERE ", table);
    db_sql_json_text(db, &b.sql, col, n);
    sqlb_add(&b, " = ");
    sqlb_text(&b, idtext);
    sqlb_add(&b, "%s", extra);
    int rc = db_query_int(db, b.sql.data, b.params, b.n, count, e);
    sqlb_free(&b);
    free(p);
    return rc;
}

int server_check_delete(struct db *db, int64_t server_id, struct err *e)
{
    int64_t services = 0, events = 0;
    int rc = count_json_refs(db, "user_services", "settings", "server_id", server_id,
                             " AND status <> 'REMOVED'", &services, e);
    if (rc == 0)
        rc = count_json_refs(db, "events", "settings", "server_id", server_id, "", &events, e);
    if (rc)
        return rc;
    if (services > 0)
        return err_set(e, ERR_INVALID,
                       "Can't delete server %lld: %lld user service(s) that are not REMOVED use it",
                       (long long)server_id, (long long)services);
    if (events > 0)
        return err_set(e, ERR_INVALID, "Can't delete server %lld: %lld event(s) use it",
                       (long long)server_id, (long long)events);
    return 0;
}

int server_group_check_delete(struct db *db, int64_t group_id, struct err *e)
{
    int64_t servers = 0, events = 0;
    struct db_value p[] = { DB_INT(group_id) };
    if (group_id == 1 || group_id == 2)
        return err_set(e, ERR_INVALID, "Server group %lld is protected and can't be deleted",
                       (long long)group_id);
    int rc = db_query_int(db, "SELECT count(*) FROM servers WHERE server_gid = $1", p, 1,
                          &servers, e);
    if (rc == 0)
        rc = db_query_int(db, "SELECT count(*) FROM events WHERE server_gid = $1", p, 1, &events,
                          e);
    if (rc)
        return rc;
    if (servers > 0)
        return err_set(e, ERR_INVALID, "Can't delete server group %lld: it still has %lld server(s)",
                       (long long)group_id, (long long)servers);
    if (events > 0)
        return err_set(e, ERR_INVALID, "Can't delete server group %lld: %lld event(s) use it",
                       (long long)group_id, (long long)events);
    return 0;
}
