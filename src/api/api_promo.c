/*
 * api_promo.c — promo-code routes (api.md R74, R75, R170, R171; other.md §4):
 *
 *   GET /promo                the codes the caller created (other.md §4.3 fields)
 *   GET /promo/apply/<code>   applies a code: core/promo.c checks and records the use, then
 *                             the code's template is rendered for the caller with event_name
 *                             PROMO and the variable `promo` (the code's row); a render
 *                             error or report.add_error answers 400 and, as the request
 *                             transaction rolls back, leaves the code unused. Success:
 *                             {"used":"true"}. (SHM's cloud-subscription gate is not copied.)
 *   GET /admin/promo          every code (creators' rows)
 *   PUT /admin/promo          generates codes (other.md §4.2) created by the current user
 *   POST /admin/promo[/<id>]  updates template_id, settings (replaced), expire of code id
 *   DELETE /admin/promo[/<id>] deletes code id with its usage rows
 */
#include "api.h"
#include "../core/promo.h"
#include "../objects/render.h"
#include "../util/buf.h"
#include "../util/timeutil.h"

/* Every creator's row (of user_id when not 0) converted for the caller. */
static json_t *creator_rows(struct api_ctx *c, int64_t user_id)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_INT(user_id) };
    json_t *out = json_array();
    const char *sql = user_id ? "SELECT " PROMO_SELECT " FROM promo_codes p WHERE p.user_id = $1 "
                                "AND " PROMO_CREATOR_ROW " ORDER BY p.created, p.id"
                              : "SELECT " PROMO_SELECT " FROM promo_codes p WHERE "
                                PROMO_CREATOR_ROW " ORDER BY p.created, p.id";
    if (db_query(c->db, sql, p, user_id ? 1 : 0, &res, &c->err) == 0)
        for (int i = 0; i < db_result_rows(res); i++)
            json_array_append_new(out, model_row_to_json(&promo_model, res, i, true));
    db_result_free(res);
    return out;
}

static json_t *setting_or(const json_t *settings, const char *key, json_t *dflt)
{
    json_t *v = json_object_get(settings, key);
    if (v) {
        json_decref(dflt);
        return json_incref(v);
    }
    return dflt;
}

/* GET /promo (R74): the caller's codes as other.md §4.3 lists them (public settings only). */
static int h_list(struct api_ctx *c)
{
    json_t *rows = creator_rows(c, c->user_id), *out = json_array(), *row;
    size_t i;
    if (c->err.code) {
        json_decref(rows);
        json_decref(out);
        return c->err.code;
    }
    json_array_foreach(rows, i, row) {
        json_t *st = json_object_get(row, "settings"), *used = json_object_get(row, "used");
        json_t *pub = json_object_get(st, "public");
        json_array_append_new(
            out, json_pack("{s:O?,s:O?,s:O?,s:o,s:o,s:b,s:O?,s:O?,s:{s:o}}", "promo_code",
                           json_object_get(row, "id"), "created",
                           json_object_get(row, "created"), "expire",
                           json_object_get(row, "expire"), "reusable",
                           setting_or(st, "reusable", json_integer(0)), "status",
                           setting_or(st, "status", json_integer(1)), "used",
                           used && !json_is_null(used), "used_date", used ? used : json_null(),
                           "used_by", json_object_get(row, "used_by"), "settings", "public",
                           pub ? json_incref(pub) : json_object()));
    }
    json_decref(rows);
    api_set_data(c, out);
    return 0;
}

/* GET /promo/apply/<code> (R75). */
static int h_apply(struct api_ctx *c)
{
    const char *code = args_str(c->args, "code");
    json_t *row = NULL;
    struct err e = { 0 };
    if (!code || !*code)
        return api_fail(c, 400, "Promo code not found");
    int rc = promo_apply(c->db, code, c->user_id, time_now(), &row, &e);
    if (rc == ERR_INVALID || rc == ERR_NOT_FOUND)
        return api_fail(c, 400, "%s", e.msg);
    if (rc) {
        c->err = e;
        return rc;
    }
    json_t *vars = json_pack("{s:O}", "promo", row);
    struct render_ctx r = { .db = c->db, .cfg = c->cfg, .user_id = c->user_id,
                            .event_name = "PROMO", .vars = vars };
    const char *tid = json_string_value(json_object_get(row, "template_id"));
    struct buf out;
    buf_init(&out, 4u << 20);
    rc = render_template(&r, tid ? tid : "", &out, NULL, &e);
    if (rc)
        rc = api_fail(c, 400, "Template render error: %s", e.msg);
    else if (r.report_error)
        rc = api_fail(c, 400, "%s", r.report_error);
    else
        api_set_data(c, json_pack("{s:s}", "used", "true"));
    buf_free(&out);
    render_ctx_release(&r);
    json_decref(vars);
    json_decref(row);
    return rc;
}

/* GET /admin/promo (R170). */
static int h_admin_list(struct api_ctx *c)
{
    json_t *rows = creator_rows(c, 0);
    if (c->err.code) {
        json_decref(rows);
        return c->err.code;
    }
    api_set_data(c, rows);
    return 0;
}

/* PUT /admin/promo (R171). */
static int h_generate(struct api_ctx *c)
{
    json_t *codes = NULL;
    struct err e = { 0 };
    int rc = promo_generate(c->db, c->user_id, c->args, time_now(), &codes, &e);
    if (rc == ERR_INVALID || rc == ERR_CONFLICT)
        return api_fail(c, 400, "%s", e.msg);
    if (rc)
        c->err = e;
    else
        api_set_data(c, codes);
    return rc;
}

/* The code of an admin route: the splat or the `id` argument. */
static const char *code_arg(struct api_ctx *c)
{
    const char *id = args_str(c->args, "id");
    return id && *id ? id : NULL;
}

/* Answers e: 404 for a missing code, 400 for invalid input, else the error as is. */
static int promo_fail(struct api_ctx *c, int rc, const struct err *e)
{
    if (rc == ERR_NOT_FOUND)
        return api_fail(c, 404, "%s", e->msg);
    if (rc == ERR_INVALID)
        return api_fail(c, 400, "%s", e->msg);
    c->err = *e;
    return rc;
}

/* POST /admin/promo[/<id>] (R172, R174). */
static int h_update(struct api_ctx *c)
{
    const char *code = code_arg(c);
    json_t *row = NULL;
    struct err e = { 0 };
    if (!code)
        return api_fail(c, 400, "`id` not present");
    int rc = promo_update(c->db, code, c->args, &e);
    if (rc == 0)
        rc = promo_find(c->db, code, &row, &e);
    if (rc)
        return promo_fail(c, rc, &e);
    api_set_data(c, row);
    return 0;
}

/* DELETE /admin/promo[/<id>] (R173, R175). */
static int h_delete(struct api_ctx *c)
{
    const char *code = code_arg(c);
    struct err e = { 0 };
    if (!code)
        return api_fail(c, 400, "`id` not present");
    int rc = promo_delete(c->db, code, &e);
    if (rc)
        return promo_fail(c, rc, &e);
    api_set_data(c, json_array());
    return 0;
}

static const struct route routes[] = {
    { "GET", "/promo", AUTH_USER, NULL, h_list, 0, NULL, NULL, "Promo",
      "Promo codes created by the caller", NULL },                                     /* R74 */
    { "GET", "/promo/apply/*", AUTH_USER, NULL, h_apply, 0, "code", NULL, "Promo",
      "Apply a promo code (renders its template with event PROMO)", NULL },             /* R75 */
    { "GET", "/admin/promo", AUTH_ADMIN, NULL, h_admin_list, 0, NULL, NULL, "Promo",
      "List promo codes", NULL },                                                       /* R170 */
    { "PUT", "/admin/promo", AUTH_ADMIN, "template_id", h_generate, 0, NULL, NULL, "Promo",
      "Generate promo codes (count, length, prefix, reusable, code, expire, settings)",
      NULL },                                                                           /* R171 */
    { "POST", "/admin/promo", AUTH_ADMIN, NULL, h_update, 0, NULL, NULL, "Promo",
      "Update a promo code (template_id, settings, expire)", NULL },                     /* R172 */
    { "DELETE", "/admin/promo", AUTH_ADMIN, NULL, h_delete, 0, NULL, NULL, "Promo",
      "Delete a promo code", NULL },                                                    /* R173 */
    { "POST", "/admin/promo/*", AUTH_ADMIN, NULL, h_update, 0, "id", NULL, "Promo",
      "Update promo code <id>", NULL },                                                 /* R174 */
    { "DELETE", "/admin/promo/*", AUTH_ADMIN, NULL, h_delete, 0, "id", NULL, "Promo",
      "Delete promo code <id>", NULL },                                                 /* R175 */
};

const struct route_table api_promo_routes = ROUTE_TABLE(routes);
