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
 *   promo.applied        the codes the user applied: [{id, used}] (when), oldest first —
 *                        never the code's settings or template (the creator's, D11)
 *   promo.generate(template_id = …, count = 1, length = 10, prefix = '', reusable = 0,
 *                  quantity = …, status = 1, public = {…}, expire = date, code = …, custom keys)
 *                        creates codes for the user as PUT /admin/promo does (other.md §4.2):
 *                        non-reusable → count codes prefix + UPPERCASE(random), reusable →
 *                        one code (code or random); every argument but template_id, expire
 *                        and code goes into settings (status 1 and reusable 0 by default).
 *                        Returns the list of codes.
 *
 * `user.promo` is this object for that user (obj_user.c): list_for_api,
 * applied and generate act for it; the top-level `promo` is the render's
 * user's.
 *
 * Generation (core/promo.c) needs a user (not anonymous), an existing template, count
 * 1–1000, and codes of at most 32 characters; a given code must not exist yet. Errors fail
 * the render.
 */
#include "objects_int.h"

#include "../core/promo.h"
#include "../db/db.h"
#include "../util/timeutil.h"

/* The creator's row of code o->key when visible, else NULL. */
static json_t *promo_load(struct render_ctx *r, const struct obj *o)
{
    json_t *row = NULL;
    struct err e = { 0 };
    if (!o->key || promo_find(r->db, o->key, &row, &e))
        return NULL;
    if (!obj_may_see(r, json_integer_value(json_object_get(row, "user_id")))) {
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
    UNUSED(a), UNUSED(e);
    struct db_value p[] = { DB_INT(o->user_id) };
    json_t *rows = obj_rows(r, &promo_model,
                            "SELECT " PROMO_SELECT " FROM promo_codes p WHERE p.user_id = $1 AND "
                            PROMO_CREATOR_ROW " ORDER BY p.created, p.id",
                            p, 1);
    *out = obj_from_json(rows);
    json_decref(rows);
    return 0;
}

/* applied: the uses by this user — non-reusable codes it marked, usage rows of reusable ones. */
static int m_applied(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(a), UNUSED(e);
    struct db_value p[] = { DB_INT(o->user_id) };
    json_t *rows = obj_rows(r, &promo_model,
                            "SELECT p.id, p.used FROM promo_codes p WHERE p.used_by = $1 "
                            "ORDER BY p.used, p.id",
                            p, 1);
    *out = obj_from_json(rows);
    json_decref(rows);
    return 0;
}

static int m_generate(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    if (!o->user_id)
        return err_set(e, ERR_DENIED, "promo.generate: no user");
    json_t *args = obj_args_object(a), *codes = NULL;
    bool own = false;
    int rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, promo_generate(r->db, o->user_id, args, time_now(), &codes, e),
                        e);
    if (rc == 0)
        *out = obj_from_json(codes);
    else {
        char why[sizeof(e->msg)];
        snprintf(why, sizeof(why), "%s", e->msg);
        err_set(e, rc, "promo.generate: %s", why);
    }
    json_decref(codes);
    json_decref(args);
    return rc;
}

static const struct obj_method promo_methods[] = {
    { "id", m_id },
    { "list_for_api", m_list },
    { "applied", m_applied },
    { "generate", m_generate },
    { NULL, NULL },
};

const struct obj_kind obj_promo_kind = { "Core::Promo", promo_methods, NULL };

void obj_promo_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "promo", 5, obj_new(&obj_promo_kind, 0, r->user_id, NULL));
}
