/*
 * render.c — render_template()/render_text(): loads templates from the
 * `templates` table, builds the top-level variables of templates.md §6 and
 * renders through the engine's compile cache.
 *
 * The variables are the host objects of templates.md §7 (obj_*.c, bound
 * lazily: nothing is read until a template names it), event_name, and the
 * caller's vars, which override any of them.
 */
#include "render.h"
#include "objects_int.h"

#include "../db/db.h"
#include "../template/tpl.h"
#include "../util/buf.h"

#define RENDER_MAX_MS 15000      /* API renders */
#define RENDER_TASK_MAX_MS 30000 /* spool task renders */
#define RENDER_MAX_NESTING 8      /* tpl.id(X).parse inside renders */

/* Renders in progress on this thread (tpl.parse renders inside a render). */
static _Thread_local int render_depth;

/* Appends the source of stored template id to src. Returns 0 or ERR_NOT_FOUND. */
static int load_source(struct db *db, const char *id, struct buf *src, json_t **settings,
                       struct err *e)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_TEXT(id) };
    int rc = db_query(db, "SELECT data, settings FROM templates WHERE id = $1", p, 1, &res, e);
    if (rc == 0 && db_result_rows(res) == 0)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, "Template %s not found", id);
    if (rc == 0) {
        const char *data = db_result_text(res, 0, 0);
        if (data && buf_append(src, data, db_result_len(res, 0, 0)))
            rc = err_set(e, ERR_LIMIT, "Template %s is too large", id);
        const char *st = db_result_text(res, 0, 1);
        if (rc == 0 && settings)
            *settings = st ? json_loads(st, JSON_DECODE_ANY, NULL) : NULL;
    }
    db_result_free(res);
    return rc;
}

static int loader_load(void *ud, const char *name, struct buf *src, struct err *e)
{
    return load_source(ud, name, src, NULL, e);
}

/* The top-level variables of a render (templates.md §6): objects, then the caller's vars. */
static struct tpl_value build_vars(struct render_ctx *r, const char *name)
{
    struct tpl_value v = tpl_hash_new();
    obj_user_bind(&v, r);
    obj_us_bind(&v, r);
    obj_service_bind(&v, r);
    obj_money_bind(&v, r);
    obj_server_bind(&v, r);
    obj_config_bind(&v, r);
    obj_storage_bind(&v, r);
    obj_misc_bind(&v, r);
    obj_task_bind(&v, r);
    obj_http_bind(&v, r);
    obj_ssh_bind(&v, r);
    obj_mail_bind(&v, r);
    obj_s3_bind(&v, r);
    obj_cache_bind(&v, r);
    obj_currency_bind(&v, r);
    obj_profile_bind(&v, r);
    obj_promo_bind(&v, r);
    obj_tpl_bind(&v, r, name);
    obj_filter_bind(&v, r);
    const char *ev = r->event_name ? r->event_name : r->task ? r->task->name : NULL;
    if (ev)
        tpl_hash_set(&v, "event_name", 10, tpl_cstr(ev));
    const char *k;
    json_t *x;
    if (json_is_object(r->vars))
        json_object_foreach((json_t *)r->vars, k, x)
            tpl_hash_set(&v, k, strlen(k), tpl_value_from_json(x));
    return v;
}

int render_text(struct render_ctx *r, const char *name, const char *src, size_t len,
                struct buf *out, struct err *e)
{
    struct tpl_options opt = { .auto_escape_shell = r->auto_escape_shell };
    struct tpl *t = NULL;
    if (render_depth >= RENDER_MAX_NESTING)
        return err_set(e, ERR_LIMIT, "template %s: templates rendering templates nest too deep",
                       name);
    int rc = tpl_compile_cached(name, src, len, &opt, &t, e);
    if (rc)
        return rc;
    struct tpl_value tv = build_vars(r, name);
    struct tpl_loader ldr = { .load = loader_load, .ud = r->db };
    /* http calls (obj_http.c) may take seconds: more wall time than the engine's default */
    struct tpl_limits lim = { .max_ms = r->task ? RENDER_TASK_MAX_MS : RENDER_MAX_MS };
    struct tpl_env env = { .vars = &tv, .loader = &ldr, .limits = &lim, .host = r };
    render_depth++;
    rc = tpl_render(t, &env, out, e);
    render_depth--;
    tpl_value_drop(&tv);
    tpl_unref(t);
    if (render_depth == 0) /* a nested render (tpl.parse) must not collect its caller's values */
        tpl_gc_collect();
    return rc;
}

int render_template(struct render_ctx *r, const char *template_id, struct buf *out,
                    json_t **settings, struct err *e)
{
    struct buf src;
    json_t *st = NULL;
    buf_init(&src, 16u << 20);
    int rc = load_source(r->db, template_id, &src, &st, e);
    if (rc == 0)
        rc = render_text(r, template_id, src.len ? src.data : "", src.len, out, e);
    buf_free(&src);
    if (rc == 0 && settings)
        *settings = st;
    else
        json_decref(st);
    return rc;
}

void render_ctx_release(struct render_ctx *r)
{
    json_decref(r->answer);
    r->answer = NULL;
    free(r->report_error);
    r->report_error = NULL;
    json_decref(r->report_errors);
    r->report_errors = NULL;
    json_decref(r->report_headers);
    r->report_headers = NULL;
    r->report_status = 0;
}
