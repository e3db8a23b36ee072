/*
 * promo.c — promo codes (promo.h): generation with unique upper-case codes,
 * the creator's row, and the checks and bookkeeping of an application.
 */
#include "promo.h"

#include "password.h"
#include "../db/db.h"
#include "../util/strutil.h"
#include "../util/timeutil.h"

#include <ctype.h>

static const struct field promo_fields[] = {
    { "id", FT_TEXT, FF_KEY, NULL, PROMO_CODE_MAX, NULL },
    { "user_id", FT_INT, 0, NULL, 0, NULL },
    { "template_id", FT_TEXT, FF_REQUIRED, NULL, 32, NULL },
    { "created", FT_DATE, 0, NULL, 0, NULL },
    { "used", FT_DATE, 0, NULL, 0, NULL },
    { "used_by", FT_INT, 0, NULL, 0, NULL },
    { "settings", FT_JSON, 0, NULL, 0, NULL },
    { "expire", FT_DATE, 0, NULL, 0, NULL },
};

const struct model promo_model = {
    .name = "Promo",
    .table = "promo_codes",
    .key = "id",
    .fields = promo_fields,
    .nfields = ARRAY_SIZE(promo_fields),
};

/* What generate was asked for (strings borrowed from the args object). */
struct promo_gen {
    const char *template_id, *prefix, *code;
    int64_t count, length, expire;
    bool reusable;
};

/* An integer argument (number or numeric string); dflt when absent. false when malformed. */
static bool int_arg(const json_t *args, const char *key, int64_t dflt, int64_t *out)
{
    json_t *v = json_object_get(args, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return true;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_true(v) || json_is_false(v)) {
        *out = json_is_true(v);
        return true;
    }
    return json_is_string(v) && parse_i64z(json_string_value(v), INT64_MIN, INT64_MAX, out) == 0;
}

static int gen_args(const json_t *args, struct promo_gen *g, struct err *e)
{
    g->template_id = json_string_value(json_object_get(args, "template_id"));
    g->prefix = json_string_value(json_object_get(args, "prefix"));
    g->code = json_string_value(json_object_get(args, "code"));
    const char *expire = json_string_value(json_object_get(args, "expire"));
    int64_t reusable = 0;
    size_t plen = g->prefix ? strlen(g->prefix) : 0;
    if (!g->template_id || !*g->template_id)
        return err_set(e, ERR_INVALID, "Field template_id: required");
    if (!int_arg(args, "count", 1, &g->count) || g->count < 1 || g->count > PROMO_COUNT_MAX)
        return err_set(e, ERR_INVALID, "Field count: must be 1 to %d", PROMO_COUNT_MAX);
    if (!int_arg(args, "length", 10, &g->length) || g->length < 1 ||
        plen + (size_t)g->length > PROMO_CODE_MAX)
        return err_set(e, ERR_INVALID, "Field length: prefix and length exceed %d characters",
                       PROMO_CODE_MAX);
    if (!int_arg(args, "reusable", 0, &reusable))
        return err_set(e, ERR_INVALID, "Field reusable: must be 0 or 1");
    g->reusable = reusable != 0;
    if (g->code && (!*g->code || strlen(g->code) > PROMO_CODE_MAX))
        return err_set(e, ERR_INVALID, "Field code: must be 1 to %d characters", PROMO_CODE_MAX);
    g->expire = 0;
    if (expire && *expire && time_parse_local(expire, &g->expire))
        return err_set(e, ERR_INVALID, "Field expire: not a date");
    return 0;
}

/* The settings of generated codes: every argument but template_id, expire and code. Owned. */
static char *gen_settings(const json_t *args, bool reusable)
{
    json_t *s = json_deep_copy(args);
    json_object_del(s, "template_id");
    json_object_del(s, "expire");
    json_object_del(s, "code");
    if (!json_object_get(s, "status"))
        json_object_set_new(s, "status", json_integer(1));
    json_object_set_new(s, "reusable", json_integer(reusable));
    char *text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(s);
    return text;
}

static int code_taken(struct db *db, const char *id, bool *taken, struct err *e)
{
    int64_t n = 0;
    struct db_value p[] = { DB_TEXT(id) };
    int rc = db_query_int(db, "SELECT count(*) FROM promo_codes WHERE id = $1", p, 1, &n, e);
    *taken = n > 0;
    return rc;
}

/* A new code into id: g->code (reusable), or prefix + UPPERCASE(random) not taken yet. */
static int new_code(struct db *db, const struct promo_gen *g, char *id, struct err *e)
{
    bool fixed = g->code && g->reusable, taken = true;
    int rc = 0;
    for (int tries = 0; rc == 0 && taken && tries < (fixed ? 1 : 8); tries++) {
        char rnd[PROMO_CODE_MAX + 1] = "";
        if (!fixed)
            random_alnum(rnd, (size_t)g->length + 1);
        for (char *p = rnd; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        snprintf(id, PROMO_CODE_MAX + 1, "%s%s", fixed ? g->code : g->prefix ? g->prefix : "",
                 rnd);
        rc = code_taken(db, id, &taken, e);
    }
    if (rc == 0 && taken)
        rc = fixed ? err_set(e, ERR_CONFLICT, "Promo code %s exists", id)
                   : err_set(e, ERR_CONFLICT, "No free promo code found");
    return rc;
}

int promo_generate(struct db *db, int64_t user_id, const json_t *args, int64_t now,
                   json_t **codes, struct err *e)
{
    struct promo_gen g;
    int64_t n = 0;
    int rc = gen_args(args, &g, e);
    struct db_value tp[] = { DB_TEXT(g.template_id) };
    if (rc == 0 && (rc = db_query_int(db, "SELECT count(*) FROM templates WHERE id = $1", tp, 1,
                                      &n, e)) == 0 && n == 0)
        rc = err_set(e, ERR_INVALID, "Field template_id: template %s not found", g.template_id);
    if (rc)
        return rc;
    char *settings = gen_settings(args, g.reusable);
    *codes = json_array();
    for (int64_t i = 0; rc == 0 && i < (g.reusable ? 1 : g.count); i++) {
        char id[PROMO_CODE_MAX + 1];
        rc = new_code(db, &g, id, e);
        struct db_value p[] = { DB_TEXT(id),        DB_INT(user_id),   DB_TEXT(g.template_id),
                                DB_INT(now),        DB_TEXT(settings), g.expire ? DB_INT(g.expire)
                                                                                : DB_NULL };
        if (rc == 0)
            rc = db_exec(db, "INSERT INTO promo_codes (id, user_id, template_id, created, "
                             "settings, expire) VALUES ($1, $2, $3, $4, $5, $6)",
                         p, 6, NULL, e);
        if (rc == 0)
            json_array_append_new(*codes, json_string(id));
    }
    free(settings);
    if (rc) {
        json_decref(*codes);
        *codes = NULL;
    }
    return rc;
}

int promo_find(struct db *db, const char *code, json_t **row, struct err *e)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_TEXT(code) };
    int rc = db_query(db, "SELECT " PROMO_SELECT " FROM promo_codes p WHERE p.id = $1 AND "
                      PROMO_CREATOR_ROW, p, 1, &res, e);
    if (rc == 0 && db_result_rows(res) == 0)
        rc = ERR_NOT_FOUND;
    if (rc == 0)
        *row = model_row_to_json(&promo_model, res, 0, true);
    db_result_free(res);
    return rc;
}

/* The raw creator's row of a code being applied. */
struct promo_raw {
    int64_t creator, created, expire;
    bool used;
    char *template_id;
    json_t *settings; /* owned, an object */
};

static int raw_find(struct db *db, const char *code, struct promo_raw *w, struct err *e)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_TEXT(code) };
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT p.user_id, p.created, p.expire, p.used, p.template_id, p.settings "
             "FROM promo_codes p WHERE p.id = $1 AND " PROMO_CREATOR_ROW "%s",
             db_sql_for_update(db));
    int rc = db_query(db, sql, p, 1, &res, e);
    if (rc == 0 && db_result_rows(res) == 0)
        rc = err_set_status(e, ERR_NOT_FOUND, 400, "Promo code not found");
    if (rc == 0) {
        const char *s = db_result_text(res, 0, 5);
        w->creator = db_result_int(res, 0, 0);
        w->created = db_result_int(res, 0, 1);
        w->expire = db_result_is_null(res, 0, 2) ? 0 : db_result_int(res, 0, 2);
        w->used = !db_result_is_null(res, 0, 3);
        w->template_id = xstrdup(db_result_text(res, 0, 4));
        w->settings = s ? json_loads(s, 0, NULL) : NULL;
        if (!json_is_object(w->settings)) {
            json_decref(w->settings);
            w->settings = json_object();
        }
    }
    db_result_free(res);
    return rc;
}

/* Perl truth of a settings value (absent → dflt). */
static bool setting_truth(const json_t *settings, const char *key, bool dflt)
{
    json_t *v = json_object_get(settings, key);
    if (!v || json_is_null(v))
        return dflt;
    if (json_is_string(v))
        return json_string_length(v) && strcmp(json_string_value(v), "0");
    if (json_is_number(v))
        return json_number_value(v) != 0;
    return !json_is_false(v);
}

/* Records a use of a reusable code: a usage row, one use fewer. */
static int use_reusable(struct db *db, const char *code, const struct promo_raw *w,
                        int64_t user_id, int64_t now, struct err *e)
{
    int64_t n = 0;
    json_t *q = json_object_get(w->settings, "quantity");
    struct db_value p[] = { DB_TEXT(code), DB_INT(user_id) };
    int rc = db_query_int(db, "SELECT count(*) FROM promo_codes WHERE id = $1 AND user_id = $2",
                          p, 2, &n, e);
    if (rc == 0 && n)
        return err_set_status(e, ERR_INVALID, 400, "Promo code has already been used");
    /* a usage row is always later than the creator's row (promo.h) */
    int64_t at = now > w->created ? now : w->created + 1;
    struct db_value ins[] = { DB_TEXT(code), DB_INT(user_id), DB_TEXT(w->template_id),
                              DB_INT(at) };
    if (rc == 0)
        rc = db_exec(db, "INSERT INTO promo_codes (id, user_id, template_id, created, used, "
                         "used_by) VALUES ($1, $2, $3, $4, $4, $2)",
                     ins, 4, NULL, e);
    if (rc == 0 && json_is_number(q)) {
        json_object_set_new(w->settings, "quantity",
                            json_integer((json_int_t)json_number_value(q) - 1));
        char *s = json_dumps(w->settings, JSON_COMPACT | JSON_SORT_KEYS);
        struct db_value up[] = { DB_TEXT(code), DB_INT(w->creator), DB_TEXT(s) };
        rc = db_exec(db, "UPDATE promo_codes SET settings = $3 WHERE id = $1 AND user_id = $2",
                     up, 3, NULL, e);
        free(s);
    }
    return rc;
}

int promo_apply(struct db *db, const char *code, int64_t user_id, int64_t now, json_t **row,
                struct err *e)
{
    struct promo_raw w = { 0 };
    int rc = raw_find(db, code, &w, e);
    if (rc)
        return rc;
    json_t *q = json_object_get(w.settings, "quantity");
    bool reusable = setting_truth(w.settings, "reusable", false);
    if (!setting_truth(w.settings, "status", true))
        rc = err_set_status(e, ERR_INVALID, 400, "Promo code is not active");
    else if (w.expire && w.expire <= now)
        rc = err_set_status(e, ERR_INVALID, 400, "Promo code has expired");
    else if (reusable && json_is_number(q) && json_number_value(q) <= 0)
        rc = err_set_status(e, ERR_INVALID, 400, "Promo code has no remaining uses");
    else if (!reusable && w.used)
        rc = err_set_status(e, ERR_INVALID, 400, "Promo code has already been used");
    else if (reusable)
        rc = use_reusable(db, code, &w, user_id, now, e);
    else {
        struct db_value p[] = { DB_TEXT(code), DB_INT(w.creator), DB_INT(now), DB_INT(user_id) };
        rc = db_exec(db, "UPDATE promo_codes SET used = $3, used_by = $4 WHERE id = $1 AND "
                         "user_id = $2",
                     p, 4, NULL, e);
    }
    if (rc == 0)
        rc = promo_find(db, code, row, e);
    free(w.template_id);
    json_decref(w.settings);
    return rc;
}

/* The column of an update argument as a parameter; false when the value is invalid. */
static int update_arg(struct db *db, const json_t *args, const char *key, struct db_value *v,
                      char **owned, bool *given, struct err *e)
{
    json_t *x = json_object_get(args, key);
    int64_t t = 0, n = 0;
    *given = x != NULL;
    if (!x)
        return 0;
    if (!strcmp(key, "settings")) {
        if (!json_is_object(x))
            return err_set(e, ERR_INVALID, "Field settings: must be an object");
        *owned = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS);
        *v = DB_TEXT(*owned);
        return 0;
    }
    if (!strcmp(key, "expire")) {
        const char *s = json_string_value(x);
        if (json_is_null(x) || (s && !*s))
            *v = DB_NULL;
        else if (!s || time_parse_local(s, &t))
            return err_set(e, ERR_INVALID, "Field expire: not a date");
        else
            *v = DB_INT(t);
        return 0;
    }
    const char *tid = json_string_value(x);
    struct db_value p[] = { DB_TEXT(tid) };
    int rc = tid ? db_query_int(db, "SELECT count(*) FROM templates WHERE id = $1", p, 1, &n, e)
                 : 0;
    if (rc == 0 && n == 0)
        rc = err_set(e, ERR_INVALID, "Field template_id: template %s not found",
                     tid ? tid : "(none)");
    *v = DB_TEXT(tid);
    return rc;
}

int promo_update(struct db *db, const char *code, const json_t *args, struct err *e)
{
    static const char *const cols[] = { "template_id", "settings", "expire" };
    json_t *row = NULL;
    int rc = promo_find(db, code, &row, e);
    if (rc == ERR_NOT_FOUND)
        err_set(e, rc, "Object not found. Check the ID.");
    int64_t creator = rc == 0 ? json_integer_value(json_object_get(row, "user_id")) : 0;
    json_decref(row);
    char *owned = NULL;
    for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(cols); i++) {
        struct db_value p[3] = { DB_TEXT(code), DB_INT(creator) };
        bool given = false;
        char sql[96];
        rc = update_arg(db, args, cols[i], &p[2], &owned, &given, e);
        snprintf(sql, sizeof(sql), "UPDATE promo_codes SET %s = $3 WHERE id = $1 AND user_id = $2",
                 cols[i]);
        if (rc == 0 && given)
            rc = db_exec(db, sql, p, 3, NULL, e);
        free(owned);
        owned = NULL;
    }
    return rc;
}

int promo_delete(struct db *db, const char *code, struct err *e)
{
    int64_t n = 0;
    struct db_value p[] = { DB_TEXT(code) };
    int rc = db_exec(db, "DELETE FROM promo_codes WHERE id = $1", p, 1, &n, e);
    if (rc == 0 && n == 0)
        rc = err_set(e, ERR_NOT_FOUND, "Object not found. Check the ID.");
    return rc;
}
