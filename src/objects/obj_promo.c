/*
 * obj_promo.c — `promo` (templates.md §7.17, other.md §4; table
 * promo_codes): promo codes for templates. A promo application render is
 * given its code as the variable `promo` by the caller (render_ctx.vars,
 * which overrides this object); everywhere else `promo` is this object:
 *
 *   promo.id(code)       the code (its creator's row: id, user_id, template_id, created,
 *                        used, used_by, settings, expire, get), undefined unless the render
 *                        is an admin's or the user created it (D11)
 *   promo.list_for_api   the codes the user created (usage rows of reusable codes skipped)
 *   promo.generate(template_id = …, count = 1, length = 10, prefix = '', reusable = 0,
 *                  quantity = …, status = 1, public = {…}, expire = date, code = …, custom keys)
 *                        creates codes for the user as PUT /admin/promo does (other.md §4.2):
 *                        non-reusable → count codes prefix + UPPERCASE(random), reusable →
 *                        one code (code or random); every argument but template_id, expire
 *                        and code goes into settings (status 1 and reusable 0 by default).
 *                        Returns the list of codes.
 *
 * Generation needs a user (not anonymous), an existing template, count 1–1000, and codes of
 * at most 32 characters; a given code must not exist yet. Errors fail the render.
 */
#include "objects_int.h"

#include "../core/password.h"
#include "../db/db.h"
#include "../db/model.h"
#include "../util/timeutil.h"

#include <ctype.h>

#define PROMO_CODE_MAX 32
#define PROMO_COUNT_MAX 1000

static const struct field promo_fields[] = {
    { "id", FT_TEXT, FF_KEY, NULL, 0, NULL },      { "user_id", FT_INT, 0, NULL, 0, NULL },
    { "template_id", FT_TEXT, 0, NULL, 0, NULL },  { "created", FT_DATE, 0, NULL, 0, NULL },
    { "used", FT_DATE, 0, NULL, 0, NULL },         { "used_by", FT_INT, 0, NULL, 0, NULL },
    { "settings", FT_JSON, 0, NULL, 0, NULL },     { "expire", FT_DATE, 0, NULL, 0, NULL },
};

static const struct model promo_model = {
    .name = "Promo",
    .table = "promo_codes",
    .key = "id",
    .fields = promo_fields,
    .nfields = ARRAY_SIZE(promo_fields),
};

#define PROMO_COLS                                                                            \
    "SELECT id, user_id, template_id, created, used, used_by, settings, expire "             \
    "FROM promo_codes "

/* The creator's row of code o->key when visible, else NULL. */
static json_t *promo_load(struct render_ctx *r, const struct obj *o)
{
    struct db_value p[] = { DB_TEXT(o->key) };
    json_t *rows = o->key ? obj_rows(r, &promo_model,
                                     PROMO_COLS "WHERE id = $1 ORDER BY created, user_id", p, 1)
                          : json_array();
    json_t *row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    if (row && !obj_may_see(r, json_integer_value(json_object_get(row, "user_id")))) {
        json_decref(row);
        row = NULL;
    }
    return row;
}

static const struct obj_kind promo_code_kind = { "Core::Promo", NULL, promo_load };

static int m_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(e);
    char *code = obj_arg_str(a, 0, "id");
    struct obj probe = { .kind = &promo_code_kind, .key = code };
    json_t *row = code ? promo_load(r, &probe) : NULL;
    *out = row ? obj_new(&promo_code_kind, 0, r->user_id, code) : tpl_undef();
    json_decref(row);
    free(code);
    return 0;
}

static int m_list(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(a), UNUSED(e);
    struct db_value p[] = { DB_INT(r->user_id) };
    /* a usage row of a reusable code is a later row of the same code */
    json_t *rows = obj_rows(r, &promo_model,
                            PROMO_COLS "p WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM "
                                       "promo_codes q WHERE q.id = p.id AND (q.created < "
                                       "p.created OR (q.created = p.created AND q.user_id < "
                                       "p.user_id))) ORDER BY created, id",
                            p, 1);
    *out = obj_from_json(rows);
    json_decref(rows);
    return 0;
}

/* What generate was asked for. */
struct promo_gen {
    char *template_id, *prefix, *code;
    int64_t count, length, expire;
    bool reusable;
    json_t *settings; /* owned */
};

static void promo_gen_free(struct promo_gen *g)
{
    free(g->template_id), free(g->prefix), free(g->code);
    json_decref(g->settings);
}

/* Reads and checks the arguments of generate. Returns 0 or ERR_INVALID/ERR_DENIED. */
static int gen_args(struct render_ctx *r, const struct tpl_args *a, struct promo_gen *g,
                    struct err *e)
{
    json_t *all = obj_args_object(a);
    g->template_id = obj_arg_str(a, (size_t)-1, "template_id");
    g->prefix = obj_arg_str(a, (size_t)-1, "prefix");
    g->code = obj_arg_str(a, (size_t)-1, "code");
    char *expire = obj_arg_str(a, (size_t)-1, "expire");
    g->count = 1, g->length = 10;
    obj_arg_int(a, (size_t)-1, "count", &g->count);
    obj_arg_int(a, (size_t)-1, "length", &g->length);
    int64_t reusable = 0;
    g->reusable = obj_arg_int(a, (size_t)-1, "reusable", &reusable) && reusable;
    json_object_del(all, "template_id");
    json_object_del(all, "expire");
    json_object_del(all, "code");
    if (!json_object_get(all, "status"))
        json_object_set_new(all, "status", json_integer(1));
    json_object_set_new(all, "reusable", json_integer(g->reusable));
    g->settings = all;
    size_t plen = g->prefix ? strlen(g->prefix) : 0;
    int rc = 0;
    if (!r->user_id)
        rc = err_set(e, ERR_DENIED, "promo.generate: no user");
    else if (!g->template_id || !*g->template_id)
        rc = err_set(e, ERR_INVALID, "promo.generate: template_id is required");
    else if (g->count < 1 || g->count > PROMO_COUNT_MAX)
        rc = err_set(e, ERR_INVALID, "promo.generate: count must be 1 to %d", PROMO_COUNT_MAX);
    else if (g->length < 1 || plen + (size_t)g->length > PROMO_CODE_MAX)
        rc = err_set(e, ERR_INVALID, "promo.generate: prefix and length exceed %d characters",
                     PROMO_CODE_MAX);
    else if (g->code && (!*g->code || strlen(g->code) > PROMO_CODE_MAX))
        rc = err_set(e, ERR_INVALID, "promo.generate: code must be 1 to %d characters",
                     PROMO_CODE_MAX);
    else if (expire && *expire && time_parse_local(expire, &g->expire))
        rc = err_set(e, ERR_INVALID, "promo.generate: expire is not a date");
    free(expire);
    return rc;
}

/* True when a code id exists (any row). */
static int code_exists(struct render_ctx *r, const char *id, bool *exists, struct err *e)
{
    int64_t n = 0;
    struct db_value p[] = { DB_TEXT(id) };
    int rc = db_query_int(r->db, "SELECT count(*) FROM promo_codes WHERE id = $1", p, 1, &n, e);
    *exists = n > 0;
    return rc;
}

/* A new code into id: g->code, or prefix + UPPERCASE(random) not taken yet. */
static int new_code(struct render_ctx *r, const struct promo_gen *g, char *id, struct err *e)
{
    bool taken = true;
    int rc = 0;
    for (int tries = 0; rc == 0 && taken && tries < 8; tries++) {
        if (g->code && g->reusable) {
            snprintf(id, PROMO_CODE_MAX + 1, "%s", g->code);
        } else {
            char rnd[PROMO_CODE_MAX + 1];
            random_alnum(rnd, (size_t)g->length + 1);
            for (char *p = rnd; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            snprintf(id, PROMO_CODE_MAX + 1, "%s%s", g->prefix ? g->prefix : "", rnd);
        }
        rc = code_exists(r, id, &taken, e);
        if (rc == 0 && taken && g->code && g->reusable)
            return err_set(e, ERR_CONFLICT, "promo.generate: code %s exists", id);
    }
    return rc ? rc : taken ? err_set(e, ERR_CONFLICT, "promo.generate: no free code") : 0;
}

static int m_generate(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    struct promo_gen g = { 0 };
    int64_t tpl_n = 0;
    int rc = gen_args(r, a, &g, e);
    struct db_value tp[] = { DB_TEXT(g.template_id) };
    if (rc == 0 && (rc = db_query_int(r->db, "SELECT count(*) FROM templates WHERE id = $1", tp,
                                      1, &tpl_n, e)) == 0 && !tpl_n)
        rc = err_set(e, ERR_INVALID, "promo.generate: template %s not found", g.template_id);
    bool own = false;
    if (rc == 0)
        rc = obj_tx_begin(r, &own, e);
    if (rc)
        goto out;
    char *settings = json_dumps(g.settings, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *codes = json_array();
    for (int64_t i = 0; rc == 0 && i < (g.reusable ? 1 : g.count); i++) {
        char id[PROMO_CODE_MAX + 1];
        rc = new_code(r, &g, id, e);
        struct db_value p[] = { DB_TEXT(id),        DB_INT(r->user_id),
                                DB_TEXT(g.template_id), DB_INT(time_now()),
                                DB_TEXT(settings),  g.expire ? DB_INT(g.expire) : DB_NULL };
        if (rc == 0)
            rc = db_exec(r->db, "INSERT INTO promo_codes (id, user_id, template_id, created, "
                                "settings, expire) VALUES ($1, $2, $3, $4, $5, $6)",
                         p, 6, NULL, e);
        if (rc == 0)
            json_array_append_new(codes, json_string(id));
    }
    rc = obj_tx_end(r, own, rc, e);
    if (rc == 0)
        *out = obj_from_json(codes);
    json_decref(codes);
    free(settings);
out:
    promo_gen_free(&g);
    return rc;
}

static const struct obj_method promo_methods[] = {
    { "id", m_id },
    { "list_for_api", m_list },
    { "generate", m_generate },
    { NULL, NULL },
};

static const struct obj_kind promo_kind = { "Core::Promo", promo_methods, NULL };

void obj_promo_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "promo", 5, obj_new(&promo_kind, 0, r->user_id, NULL));
}
