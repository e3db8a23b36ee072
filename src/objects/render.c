/*
 * render.c — render_template()/render_text(): loads templates from the
 * `templates` table, builds the top-level variables of templates.md §6 and
 * renders through the engine's compile cache.
 *
 * The variables are plain values here (us, user, server, task, event_name
 * and the caller's vars); the object model of templates.md §7 replaces them
 * with host objects as it grows, behind the same entry points.
 */
#include "render.h"

#include "../db/db.h"
#include "../template/tpl.h"
#include "../util/buf.h"

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

/* A row of one query as a JSON object (NULL when no row), JSON columns decoded. */
static json_t *row_json(struct db *db, const char *sql, int64_t id, const char *const *json_cols)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_INT(id) };
    struct err e = { 0 };
    json_t *o = NULL;
    if (db_query(db, sql, p, 1, &res, &e) == 0 && db_result_rows(res) > 0) {
        o = json_object();
        for (int c = 0; c < db_result_cols(res); c++) {
            const char *name = db_result_colname(res, c), *v = db_result_text(res, 0, c);
            json_t *jv = NULL;
            for (const char *const *j = json_cols; v && *j; j++)
                if (!strcmp(*j, name))
                    jv = json_loads(v, JSON_DECODE_ANY, NULL);
            if (!jv)
                jv = v ? json_string(v) : json_null();
            json_object_set_new(o, name, jv ? jv : json_null());
        }
    }
    db_result_free(res);
    return o;
}

static const char *const settings_col[] = { "settings", NULL };

static json_t *task_json(const struct spool_task *t)
{
    json_t *o = json_pack("{s:I,s:I,s:i,s:s,s:s}", "id", (json_int_t)t->id, "user_id",
                          (json_int_t)t->user_id, "attempt", t->attempt, "token",
                          t->token ? t->token : "", "name", t->name ? t->name : "");
    json_object_set_new(o, "event", t->event ? json_deep_copy(t->event) : json_object());
    json_object_set_new(o, "settings", t->settings ? json_deep_copy(t->settings) : json_object());
    return o;
}

/* The top-level variables of a render (templates.md §6) as one JSON object. */
static json_t *build_vars(const struct render_ctx *r)
{
    json_t *v = r->vars ? json_deep_copy(r->vars) : json_object();
    if (r->user_id) {
        json_t *u = row_json(r->db, "SELECT * FROM users WHERE user_id = $1", r->user_id,
                             settings_col);
        if (u) {
            json_object_del(u, "password");
            json_object_set_new(v, "user", u);
        }
    }
    if (r->usi) {
        json_t *us = row_json(r->db, "SELECT * FROM user_services WHERE user_service_id = $1",
                              r->usi, settings_col);
        if (us) {
            json_object_set(us, "id", json_object_get(us, "user_service_id"));
            json_object_set_new(v, "us", us);
        }
    }
    const json_t *server = r->server ? r->server : r->task ? r->task->server : NULL;
    if (server)
        json_object_set_new(v, "server", json_deep_copy(server));
    if (r->task)
        json_object_set_new(v, "task", task_json(r->task));
    const char *ev = r->event_name ? r->event_name : r->task ? r->task->name : NULL;
    if (ev)
        json_object_set_new(v, "event_name", json_string(ev));
    return v;
}

int render_text(struct render_ctx *r, const char *name, const char *src, size_t len,
                struct buf *out, struct err *e)
{
    struct tpl_options opt = { .auto_escape_shell = r->auto_escape_shell };
    struct tpl *t = NULL;
    int rc = tpl_compile_cached(name, src, len, &opt, &t, e);
    if (rc)
        return rc;
    json_t *vars = build_vars(r);
    struct tpl_value tv = tpl_value_from_json(vars);
    struct tpl_loader ldr = { .load = loader_load, .ud = r->db };
    struct tpl_env env = { .vars = &tv, .loader = &ldr, .host = r };
    rc = tpl_render(t, &env, out, e);
    tpl_value_drop(&tv);
    json_decref(vars);
    tpl_unref(t);
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
}
