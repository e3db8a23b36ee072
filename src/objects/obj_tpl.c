/*
 * obj_tpl.c — `tpl` and `report` (templates.md §7.17, §7.20).
 *
 * `tpl` is the template being rendered: tpl.id, tpl.data, tpl.settings, and
 * tpl.id(X) another stored template, whose parse(usi = N) renders it for the
 * same user (usi must be visible, else the render's own `us`) and returns
 * the text. Nested renders are bounded (render.c). `report.add_error(msg)`
 * records the first error of the render in render_ctx.report_error: the
 * template endpoints then answer 400 with it (the rest of the template
 * still runs, as in SHM).
 */
#include "objects_int.h"

#include "../db/db.h"
#include "../util/buf.h"

#define NEST_MSG "templates rendering templates nest too deep"

/* {id, data, settings} of template o->key, or NULL when it is not stored. */
static json_t *tpl_load(struct render_ctx *r, const struct obj *o)
{
    struct db_result *res = NULL;
    struct err e = { 0 };
    struct db_value p[] = { DB_TEXT(o->key) };
    json_t *row = NULL;
    if (o->key && db_query(r->db, "SELECT data, settings FROM templates WHERE id = $1", p, 1,
                           &res, &e) == 0 && db_result_rows(res)) {
        const char *d = db_result_text(res, 0, 0), *st = db_result_text(res, 0, 1);
        json_t *settings = st ? json_loads(st, 0, NULL) : NULL;
        row = json_pack("{s:s,s:s%,s:o}", "id", o->key, "data", d ? d : "",
                        d ? db_result_len(res, 0, 0) : 0, "settings",
                        json_is_object(settings) ? settings : json_object());
        if (!json_is_object(settings))
            json_decref(settings);
    }
    db_result_free(res);
    return row;
}

static int m_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                struct tpl_value *out, struct err *e)
{
    UNUSED(r);
    UNUSED(e);
    char *id = obj_arg_str(a, 0, NULL);
    if (id) {
        *out = obj_new(o->kind, 0, o->user_id, id);
        free(id);
    } else {
        *out = o->key ? tpl_cstr(o->key) : tpl_undef();
    }
    return 0;
}

/* parse(usi = N): renders this template for the same user; returns the text. */
static int m_parse(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    if (!o->key)
        return TPL_DECLINED;
    struct render_ctx sub = *r;
    sub.answer = NULL;
    sub.report_error = NULL;
    sub.vars = NULL;
    int64_t usi;
    if (obj_arg_int(a, 0, "usi", &usi)) {
        struct tpl_value us = obj_us_value(r, usi);
        if (us.type == TPL_OBJ)
            sub.usi = usi;
        tpl_value_drop(&us);
    }
    struct buf text;
    buf_init(&text, 0);
    int rc = render_template(&sub, o->key, &text, NULL, e);
    render_ctx_release(&sub);
    if (rc && strstr(e->msg, NEST_MSG)) /* one message, not one prefix per level */
        err_set(e, rc, "%s", NEST_MSG);
    if (rc == 0)
        *out = tpl_str(text.data, text.len);
    buf_free(&text);
    return rc;
}

static const struct obj_method tpl_methods[] = {
    { "id", m_id },
    { "parse", m_parse },
    { NULL, NULL },
};

const struct obj_kind obj_tpl_kind = { "Core::Template", tpl_methods, tpl_load };

static int m_add_error(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(out);
    UNUSED(e);
    char *msg = obj_arg_str(a, 0, "msg");
    if (!r->report_error)
        r->report_error = msg ? msg : xstrdup("error");
    else
        free(msg);
    return 0;
}

static const struct obj_method report_methods[] = {
    { "add_error", m_add_error },
    { NULL, NULL },
};

const struct obj_kind obj_report_kind = { "Core::Report", report_methods, NULL };

void obj_tpl_bind(struct tpl_value *vars, struct render_ctx *r, const char *name)
{
    tpl_hash_set(vars, "tpl", 3, obj_new(&obj_tpl_kind, 0, r->user_id, name));
    tpl_hash_set(vars, "report", 6, obj_new(&obj_report_kind, 0, r->user_id, NULL));
}
