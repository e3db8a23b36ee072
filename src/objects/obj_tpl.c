/*
 * obj_tpl.c — `tpl` and `report` (templates.md §7.17, §7.20).
 *
 * `tpl` is the template being rendered: tpl.id, tpl.data, tpl.settings, and
 * tpl.id(X) another stored template, whose parse(usi = N) renders it for the
 * same user (usi must be visible, else the render's own `us`) and returns
 * the text. Nested renders are bounded (render.c). `report` is SHM's
 * Core::Report: add_error(msg…) (aliases error, warning) logs the message
 * and records it (render_ctx.report_error keeps the first: the template
 * endpoints then answer 400 with it; the rest of the template still runs,
 * as in SHM), errors returns and clears them, is_success, and status(N) /
 * headers({…}) set the HTTP status and extra headers of a successful
 * template endpoint answer (render_ctx.report_status, report_headers).
 */
#include "objects_int.h"

#include "../db/db.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/strutil.h"

#include <ctype.h>
#include <strings.h>

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
    sub.report_errors = NULL;
    sub.report_headers = NULL;
    sub.report_status = 0;
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

/* add_error(msg…) / error / warning: records the messages joined by spaces (a structure as is). */
static int m_add_error(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(e);
    const struct tpl_value *first = tpl_args_at(a, 0);
    json_t *msg = NULL;
    if (first && (first->type == TPL_HASH || first->type == TPL_LIST)) {
        msg = obj_arg_json(first);
    } else {
        struct buf b;
        buf_init(&b, 0);
        for (size_t i = 0; i < a->npos; i++) {
            if (i)
                buf_putc(&b, ' ');
            tpl_value_print(&a->pos[i], &b);
        }
        char *m = a->npos ? xstrndup(b.data, b.len) : obj_arg_str(a, (size_t)-1, "msg");
        msg = json_string(m ? m : "error");
        if (!msg) /* not UTF-8 */
            msg = json_stringn_nocheck(m ? m : "error", m ? strlen(m) : 5);
        free(m);
        buf_free(&b);
    }
    char q[512];
    char *text = json_is_string(msg) ? xstrdup(json_string_value(msg))
                                     : json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);
    log_write(LOG_WARN, "template report", "text=%s user_id=%lld",
              log_q(q, sizeof(q), text), (long long)r->user_id);
    if (!r->report_error)
        r->report_error = xstrdup(text);
    if (!r->report_errors)
        r->report_errors = json_array();
    json_array_append(r->report_errors, msg);
    *out = tpl_undef(); /* prints nothing (SHM returns the message, which TT would print) */
    json_decref(msg);
    free(text);
    return 0;
}

/* errors: the messages so far as a list; they are cleared (the render no longer fails). */
static int m_errors(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(a), UNUSED(e);
    *out = r->report_errors ? obj_from_json(r->report_errors) : tpl_list_new();
    json_decref(r->report_errors);
    r->report_errors = NULL;
    free(r->report_error);
    r->report_error = NULL;
    return 0;
}

static int m_is_success(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(a), UNUSED(e);
    *out = tpl_int(r->report_error == NULL);
    return 0;
}

static int set_status(struct render_ctx *r, int64_t st, struct err *e)
{
    if (st < 100 || st > 599)
        return err_set(e, ERR_INVALID, "report.status: %lld is not an HTTP status",
                       (long long)st);
    r->report_status = (int)st;
    return 0;
}

/* status(N): sets the HTTP status of the answer (100..599); returns the status set so far. */
static int m_status(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    int64_t st = 0;
    if (obj_arg_int(a, 0, "status", &st) && st && set_status(r, st, e))
        return ERR_INVALID;
    *out = r->report_status ? tpl_int(r->report_status) : tpl_undef();
    return 0;
}

/* A header name is a token; a value has no control characters (no header injection). */
static bool header_ok(const char *name, const json_t *v)
{
    static const char *const reserved[] = { "content-length", "transfer-encoding", "connection",
                                            "content-type", "date" };
    if (!*name || !json_is_string(v) || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return false;
    for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
        if (!strcasecmp(name, reserved[i]))
            return false;
    for (const unsigned char *p = (const unsigned char *)json_string_value(v); *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/*
 * headers({name => value, …}): replaces the extra headers of the answer
 * (a "status" key sets the status, as SHM's CGI header); returns them with
 * the status. Names must be tokens other than the framing headers and
 * Content-Type (use format=), values single-line text.
 */
static int m_headers(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    json_t *h = obj_arg_json(tpl_args_at(a, 0)), *v, *checked = json_object();
    const char *k;
    int rc = 0;
    json_object_foreach(json_is_object(h) ? h : NULL, k, v) {
        int64_t st = 0;
        if (!strcmp(k, "status")) {
            if (json_is_string(v))
                parse_i64z(json_string_value(v), 0, 999, &st);
            rc = set_status(r, json_is_integer(v) ? json_integer_value(v) : st, e);
        } else if (json_is_integer(v) || json_is_string(v)) {
            json_t *s = json_is_integer(v) ? json_sprintf("%" JSON_INTEGER_FORMAT,
                                                          json_integer_value(v))
                                           : json_incref(v);
            if (!header_ok(k, s))
                rc = err_set(e, ERR_INVALID, "report.headers: header %s is not allowed", k);
            json_object_set_new(checked, k, s);
        } else {
            rc = err_set(e, ERR_INVALID, "report.headers: header %s must be text", k);
        }
        if (rc)
            break;
    }
    if (rc == 0 && json_is_object(h)) {
        json_decref(r->report_headers);
        r->report_headers = json_incref(checked);
    }
    json_decref(checked);
    json_decref(h);
    if (rc)
        return rc;
    json_t *shown = r->report_headers ? json_deep_copy(r->report_headers) : json_object();
    if (r->report_status)
        json_object_set_new(shown, "status", json_integer(r->report_status));
    *out = obj_from_json(shown);
    json_decref(shown);
    return 0;
}

static const struct obj_method report_methods[] = {
    { "add_error", m_add_error }, { "error", m_add_error },   { "warning", m_add_error },
    { "errors", m_errors },       { "is_success", m_is_success }, { "status", m_status },
    { "headers", m_headers },     { NULL, NULL },
};

const struct obj_kind obj_report_kind = { "Core::Report", report_methods, NULL };

void obj_tpl_bind(struct tpl_value *vars, struct render_ctx *r, const char *name)
{
    tpl_hash_set(vars, "tpl", 3, obj_new(&obj_tpl_kind, 0, r->user_id, name));
    tpl_hash_set(vars, "report", 6, obj_new(&obj_report_kind, 0, r->user_id, NULL));
}
