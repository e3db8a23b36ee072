/*
 * obj_user.c — `user` / `user(id)` (templates.md §7.1): the user's columns
 * (balance and bonus as decimals, settings decoded; never the password
 * hash), and the per-user collections `services`/`us`, `pays`/`pay`,
 * `wd`/`withdraws` and `bonus` (list_for_api, items, last, forecast, the
 * has_services* flags), plus gen_session(usi = …), email, flags, partner
 * data, set_settings and add_bonus. The members that write or list
 * other users (set, payment, passwd, delete, reg, items, …) are in
 * obj_user_admin.c.
 *
 * `user.id(N)` reaches another user only in an admin render (D11).
 */
#include "objects_int.h"
#include "obj_user_admin.h"

#include "../billing/bonus.h"
#include "../billing/forecast.h"
#include "../billing/payment.h"
#include "../billing/withdraw.h"
#include "../billing/usvc.h"
#include "../core/config_store.h"
#include "../core/money.h"
#include "../core/session.h"
#include "../core/user.h"
#include "../db/db.h"
#include "../spool/spool.h"
#include "../util/buf.h"
#include "../util/timeutil.h"

static json_t *user_load(struct render_ctx *r, const struct obj *o)
{
    json_t *row = NULL;
    struct err e = { 0 };
    if (!obj_may_see(r, o->id) || user_read(r->db, o->id, true, &row, &e))
        return NULL;
    json_object_del(row, "password");
    json_object_set_new(row, "id", json_integer(o->id));
    if (!json_is_object(json_object_get(row, "settings")))
        json_object_set_new(row, "settings", json_object());
    return row;
}

struct tpl_value obj_user_value(struct render_ctx *r, int64_t user_id)
{
    struct obj probe = { .kind = &obj_user_kind, .id = user_id };
    json_t *row = user_id > 0 ? user_load(r, &probe) : NULL;
    if (!row)
        return tpl_undef();
    json_decref(row);
    return obj_new(&obj_user_kind, user_id, user_id, NULL);
}

static bool user_visible(struct render_ctx *r, const struct obj *o)
{
    json_t *row = user_load(r, o);
    json_decref(row);
    return row != NULL;
}

static int m_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                struct tpl_value *out, struct err *e)
{
    UNUSED(e);
    int64_t id;
    if (obj_arg_int(a, 0, NULL, &id))
        *out = obj_user_value(r, id);
    else
        *out = tpl_int(o->id);
    return 0;
}

/*
 * switch(N): makes user N the current user of the rest of the render (its
 * storage, spool, us(…)) and returns it. Only to users the render may see,
 * so only admin renders switch to someone else; otherwise undefined.
 */
static int m_switch(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(e);
    int64_t id;
    if (!obj_arg_int(a, 0, NULL, &id))
        return TPL_DECLINED;
    *out = obj_user_value(r, id);
    if (out->type == TPL_OBJ)
        r->user_id = id;
    return 0;
}

static int m_get_bonus(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    json_t *row = user_load(r, o);
    if (!row)
        return TPL_DECLINED;
    *out = obj_from_json(json_object_get(row, "bonus"));
    json_decref(row);
    return 0;
}

/* A per-user object (services, pays, wd, bonus, promo, mail) when the user is visible. */
static int collection(struct obj *o, struct render_ctx *r, const struct obj_kind *k,
                      struct tpl_value *out)
{
    if (!user_visible(r, o))
        return TPL_DECLINED;
    *out = obj_new(k, 0, o->id, NULL);
    return 0;
}

static int m_services(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(e);
    int64_t usi;
    if (obj_arg_int(a, 0, NULL, &usi)) { /* user.us(usi) */
        *out = obj_us_value(r, usi);
        return 0;
    }
    return collection(o, r, &obj_user_services_kind, out);
}

/* A member answering collection(o, r, &kind): the user's object of that kind. */
#define USER_VIEW(fname, kind)                                                                \
    static int fname(struct obj *o, struct render_ctx *r, const struct tpl_args *a,           \
                     struct tpl_value *out, struct err *e)                                    \
    {                                                                                         \
        UNUSED(a);                                                                            \
        UNUSED(e);                                                                            \
        return collection(o, r, &kind, out);                                                  \
    }
USER_VIEW(m_pays, obj_user_pays_kind)
USER_VIEW(m_wd, obj_user_wd_kind)
USER_VIEW(m_bonus, obj_user_bonus_kind)
/* promo: the promo object of this user (the codes it created and applied, generate) */
USER_VIEW(m_promo, obj_promo_kind)
/* mail: the mail object bound to this user (mail.setup(…).send queues for it) */
USER_VIEW(m_mail, obj_mail_kind)

/*
 * gen_session(usi = N): a new session of this user → {id}. With usi (which
 * must be the user's own service) the session's settings record it.
 */
static int m_gen_session(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e)
{
    if (!user_visible(r, o))
        return TPL_DECLINED;
    int64_t usi = 0;
    char *settings = NULL;
    if (obj_arg_int(a, 0, "usi", &usi) && usi) {
        struct tpl_value us = obj_us_value(r, usi);
        bool ok = us.type == TPL_OBJ && ((struct obj *)tpl_object_self(&us))->user_id == o->id;
        tpl_value_drop(&us);
        if (!ok)
            return err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
        settings = xasprintf("{\"usi\":%lld}", (long long)usi);
    }
    char token[SESSION_TOKEN_LEN + 1];
    int rc = session_create(r->db, o->id, settings, token, e);
    free(settings);
    if (rc)
        return rc;
    *out = tpl_hash_new();
    tpl_hash_set(out, "id", 2, tpl_cstr(token));
    return 0;
}

/* The first e-mail address: settings.email, login2, login (those holding an '@'). */
static int m_email(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    json_t *row = user_load(r, o);
    if (!row)
        return TPL_DECLINED;
    const char *cand[] = {
        json_string_value(json_object_get(json_object_get(row, "settings"), "email")),
        json_string_value(json_object_get(row, "login2")),
        json_string_value(json_object_get(row, "login")),
    };
    int rc = TPL_DECLINED;
    for (size_t i = 0; i < ARRAY_SIZE(cand); i++)
        if (cand[i] && strchr(cand[i], '@')) {
            *out = tpl_cstr(cand[i]);
            rc = 0;
            break;
        }
    json_decref(row);
    return rc;
}

/* A 1/0 flag from the row: which 0 = gid is admin, 1 = blocked. */
static int row_flag(struct obj *o, struct render_ctx *r, struct tpl_value *out, int which)
{
    json_t *row = user_load(r, o);
    if (!row)
        return TPL_DECLINED;
    int64_t v = which == 0 ? json_integer_value(json_object_get(row, "gid")) == USER_ADMIN_GID
                           : json_integer_value(json_object_get(row, "block")) != 0;
    json_decref(row);
    *out = tpl_int(v);
    return 0;
}

static int m_is_admin(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return row_flag(o, r, out, 0);
}

static int m_is_blocked(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return row_flag(o, r, out, 1);
}

/* A count query with the user id as $1. */
static int count_of(struct obj *o, struct render_ctx *r, const char *sql, struct tpl_value *out)
{
    if (!user_visible(r, o))
        return TPL_DECLINED;
    struct db_value p[] = { DB_INT(o->id) };
    struct err e = { 0 };
    int64_t n = 0;
    db_query_int(r->db, sql, p, 1, &n, &e);
    *out = tpl_int(n);
    return 0;
}

static int m_referrals_count(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                             struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return count_of(o, r, "SELECT COUNT(*) FROM users WHERE partner_id = $1", out);
}

static int m_has_payments(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    int rc = count_of(o, r, "SELECT COUNT(*) FROM pays_history WHERE user_id = $1", out);
    if (rc == 0)
        out->u.i = out->u.i > 0;
    return rc;
}

static int m_has_withdraws(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                           struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    int rc = count_of(o, r, "SELECT COUNT(*) FROM withdraw_history WHERE user_id = $1", out);
    if (rc == 0)
        out->u.i = out->u.i > 0;
    return rc;
}

static int m_partner(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    json_t *row = user_load(r, o);
    if (!row)
        return TPL_DECLINED;
    int64_t pid = json_integer_value(json_object_get(row, "partner_id"));
    json_decref(row);
    *out = obj_user_value(r, pid);
    return 0;
}

static int m_income_percent(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                            struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    if (!user_visible(r, o))
        return TPL_DECLINED;
    int64_t pe4 = 0;
    int rc = bonus_income_percent(r->db, o->id, &pe4, e);
    if (rc)
        return rc;
    *out = pe4 % 10000 ? tpl_num((double)pe4 / 10000.0) : tpl_int(pe4 / 10000);
    return 0;
}

/* set_settings({…}): deep merge into users.settings. */
static int m_set_settings(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    json_t *row = user_load(r, o);
    if (!row)
        return TPL_DECLINED;
    json_t *patch = obj_arg_json(tpl_args_at(a, 0));
    if (!json_is_object(patch)) {
        json_decref(patch);
        patch = obj_arg_json(a->named);
    }
    int rc = 0;
    if (!json_is_object(patch))
        rc = err_set(e, ERR_INVALID, "set_settings: expected a hash");
    bool own = false;
    if (rc == 0)
        rc = obj_tx_begin(r, &own, e);
    if (rc == 0) {
        json_t *merged = config_store_merge(json_object_get(row, "settings"), patch);
        json_t *args = json_pack("{s:o}", "settings", merged);
        rc = obj_tx_end(r, own, user_update(r->db, o->id, args, true, e), e);
        json_decref(args);
    }
    json_decref(patch);
    json_decref(row);
    if (rc == 0)
        *out = obj_new(o->kind, o->id, o->user_id, NULL);
    return rc;
}

/* add_bonus(amount, comment): billing.md §19 through bonus_set (the ledger). */
static int m_add_bonus(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    if (!user_visible(r, o))
        return TPL_DECLINED;
    json_t *amount = obj_arg_json(tpl_args_at(a, 0));
    json_t *comment = obj_arg_json(tpl_args_at(a, 1));
    int64_t minor = 0, id = 0;
    bool own = false;
    int rc = money_from_json(amount, &minor) ? err_set(e, ERR_INVALID, "add_bonus: bad amount")
                                             : obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, bonus_set(r->db, o->id, minor, comment, "template", &id, e), e);
    json_decref(amount);
    json_decref(comment);
    if (rc == 0)
        *out = tpl_int(id);
    return rc;
}

/*
 * make_event(name): the user event name (upper-cased; spool.md §2.2) — one
 * task per `events` row of that name, in the caller's transaction. Returns 1.
 */
static int m_make_event(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    if (!user_visible(r, o))
        return TPL_DECLINED;
    char *name = obj_arg_str(a, 0, "name");
    if (!name || !*name) {
        free(name);
        return err_set(e, ERR_INVALID, "make_event: no event name");
    }
    for (char *p = name; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    json_t *settings = obj_arg_json(tpl_args_kv(a, "settings"));
    int rc = spool_user_event(r->db, o->id, name, NULL,
                              json_is_object(settings) ? settings : NULL, e);
    json_decref(settings);
    free(name);
    if (rc == 0)
        *out = tpl_int(1);
    return rc;
}

static int m_spool(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    if (!user_visible(r, o))
        return TPL_DECLINED;
    *out = obj_spool_list(r, o->id, 0);
    return 0;
}

static const struct obj_method user_methods[] = {
    { "id", m_id },
    { "switch", m_switch },
    { "get_bonus", m_get_bonus },
    { "services", m_services },
    { "us", m_services },
    { "pays", m_pays },
    { "pay", m_pays },
    { "wd", m_wd },
    { "withdraws", m_wd },
    { "bonus", m_bonus },
    { "promo", m_promo },
    { "mail", m_mail },
    { "gen_session", m_gen_session },
    { "email", m_email },
    { "emails", m_email },
    { "is_admin", m_is_admin },
    { "is_blocked", m_is_blocked },
    { "referrals_count", m_referrals_count },
    { "has_payments", m_has_payments },
    { "has_withdraws", m_has_withdraws },
    { "partner", m_partner },
    { "income_percent", m_income_percent },
    { "set_settings", m_set_settings },
    { "add_bonus", m_add_bonus },
    { "make_event", m_make_event },
    { "spool", m_spool },
    /* obj_user_admin.c */
    { "set", obj_user_set },
    { "lock", obj_user_lock },
    { "payment", obj_user_payment },
    { "set_credit", obj_user_set_credit },
    { "passwd", obj_user_passwd },
    { "set_new_passwd", obj_user_set_new_passwd },
    { "recash", obj_user_recash },
    { "delete", obj_user_delete },
    { "reg", obj_user_reg },
    { "items", obj_user_items },
    { "list_for_api", obj_user_list_for_api },
    { "referrals", obj_user_referrals },
    { "profile", obj_user_profile },
    { "storage", obj_user_storage },
    { "spool_history", obj_user_spool_history },
    { "has_autopayment", obj_user_has_autopayment },
    { "list_autopayments", obj_user_list_autopayments },
    { "delete_autopayment", obj_user_delete_autopayment },
    { "make_autopayment", obj_user_make_autopayment },
    { NULL, NULL },
};

const struct obj_kind obj_user_kind = { "Core::User", user_methods, user_load };

/* ---- user.services ---- */

/*
 * The user's services as API rows (usvc_model plus name and category),
 * ascending usi. REMOVED ones are left out unless usi is given (api.md §9.8);
 * category is a LIKE mask; mods (may be NULL) are the collection's
 * modifiers: where (the filter(...) conditions), order, limit, offset.
 * Returns a new array, or NULL with e set for a bad filter or sort.
 */
static json_t *services_rows(struct render_ctx *r, int64_t uid, const char *category,
                             int64_t usi, const char *status, const json_t *mods,
                             struct err *e)
{
    struct db_value p[4] = { DB_INT(uid) };
    int np = 1;
    struct buf sql;
    buf_init(&sql, 0);
    buf_puts(&sql, "SELECT us.*, s.name AS name, s.category AS category FROM user_services us "
                   "JOIN services s ON s.service_id = us.service_id WHERE us.user_id = $1");
    if (category) {
        p[np++] = DB_TEXT(category);
        buf_printf(&sql, " AND s.category LIKE $%d", np);
    }
    if (usi) {
        p[np++] = DB_INT(usi);
        buf_printf(&sql, " AND us.user_service_id = $%d", np);
    } else {
        buf_puts(&sql, " AND us.status <> 'REMOVED'");
    }
    if (status) {
        p[np++] = DB_TEXT(status);
        buf_printf(&sql, " AND us.status = $%d", np);
    }
    json_t *rows = obj_coll_query(r, &usvc_model, "us", &sql, p, np, mods, e);
    buf_free(&sql);
    if (!rows)
        return NULL;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *n = json_string_value(json_object_get(row, "name"));
        if (n) {
            char *name = usvc_name(n, json_object_get(row, "settings"));
            json_object_set_new(row, "name", json_string(name));
            free(name);
        }
    }
    return rows;
}

static int s_list_for_api(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    char *cat = obj_arg_str(a, (size_t)-1, "category");
    int64_t usi = 0;
    obj_arg_int(a, (size_t)-1, "usi", &usi);
    json_t *mods = obj_coll_mods(o);
    json_t *rows = services_rows(r, o->user_id, cat, usi, NULL, mods, e);
    json_decref(mods);
    free(cat);
    if (!rows)
        return ERR_INVALID;
    *out = tpl_value_perl_list(obj_from_json(rows));
    json_decref(rows);
    return 0;
}

/* items(where = {…}, limit = n, offset = n): us objects of the collection. */
static int s_items(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    json_t *mods = obj_coll_items_mods(o, a);
    json_t *rows = services_rows(r, o->user_id, NULL, 0, NULL, mods, e);
    json_decref(mods);
    if (!rows)
        return ERR_INVALID;
    *out = tpl_list_new();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        tpl_list_push(out, obj_new(&obj_us_kind,
                                   json_integer_value(json_object_get(row, "user_service_id")),
                                   o->user_id, NULL));
    json_decref(rows);
    return 0;
}

static int has_status(struct obj *o, struct render_ctx *r, const char *status,
                      struct tpl_value *out)
{
    struct err e = { 0 };
    json_t *rows = services_rows(r, o->user_id, NULL, 0, status, NULL, &e);
    *out = tpl_int(json_array_size(rows) > 0);
    json_decref(rows);
    return 0;
}

#define HAS_FN(fname, status)                                                                 \
    static int fname(struct obj *o, struct render_ctx *r, const struct tpl_args *a,           \
                     struct tpl_value *out, struct err *e)                                    \
    {                                                                                         \
        UNUSED(a);                                                                            \
        UNUSED(e);                                                                            \
        return has_status(o, r, status, out);                                                 \
    }
HAS_FN(s_has, NULL)
HAS_FN(s_has_active, "ACTIVE")
HAS_FN(s_has_block, "BLOCK")
HAS_FN(s_has_unpaid, "NOT PAID")
HAS_FN(s_has_progress, "PROGRESS")

static int s_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                struct tpl_value *out, struct err *e)
{
    UNUSED(o);
    UNUSED(e);
    int64_t usi;
    if (!obj_arg_int(a, 0, NULL, &usi))
        return TPL_DECLINED;
    *out = obj_us_value(r, usi);
    return 0;
}

static const struct obj_method services_methods[] = {
    { "list_for_api", s_list_for_api },
    { "items", s_items },
    { "filter", obj_coll_filter },
    { "limit", obj_coll_limit },
    { "sort", obj_coll_sort },
    { "rsort", obj_coll_rsort },
    { "id", s_id },
    { "has_services", s_has },
    { "has_services_active", s_has_active },
    { "has_services_block", s_has_block },
    { "has_services_unpaid", s_has_unpaid },
    { "has_services_progress", s_has_progress },
    { NULL, NULL },
};

const struct obj_kind obj_user_services_kind = { "Core::UserService", services_methods, NULL };

/* ---- user.pays ---- */

static const struct obj_coll pays_coll = { &pay_model, "pays_history", "p", &obj_pay_kind };

static int p_list_for_api(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    return obj_coll_list(o, r, &pays_coll, out, e);
}

static int p_items(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    return obj_coll_items(o, r, &pays_coll, a, out, e);
}

/* The object of kind k for the id sql (one $1 = uid, one integer) selects, or undefined. */
static struct tpl_value newest(struct render_ctx *r, int64_t uid, const char *sql,
                              const struct obj_kind *k)
{
    struct db_value p[] = { DB_INT(uid) };
    int64_t id = 0;
    struct err e = { 0 };
    db_query_int(r->db, sql, p, 1, &id, &e);
    return id ? obj_new(k, id, uid, NULL) : tpl_undef();
}

/* last: the newest payment of the user (whatever the modifiers), or undefined. */
static int p_last(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    *out = newest(r, o->user_id, "SELECT COALESCE(max(id), 0) FROM pays_history "
                                 "WHERE user_id = $1", &obj_pay_kind);
    return 0;
}

/* forecast(days = 3, blocked = 0, consider_today = 0): billing.md §16. */
static int p_forecast(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    struct forecast_opts fo = { .days = 3 };
    int64_t v;
    if (obj_arg_int(a, (size_t)-1, "days", &v) && v > 0 && v <= 3660)
        fo.days = (int)v;
    if (obj_arg_int(a, (size_t)-1, "blocked", &v))
        fo.blocked = v != 0;
    if (obj_arg_int(a, (size_t)-1, "consider_today", &v))
        fo.consider_today = v != 0;
    json_t *f = NULL;
    int rc = forecast_build(r->db, o->user_id, &fo, time_now(), &f, e);
    if (rc)
        return rc;
    *out = obj_from_json(f);
    json_decref(f);
    return 0;
}

/* The forecast total of uid with blocked services (pay-system lists), as a new JSON number. */
static json_t *forecast_total(struct render_ctx *r, int64_t uid)
{
    struct forecast_opts fo = { .days = 3, .blocked = true };
    json_t *f = NULL;
    struct err e = { 0 };
    json_t *t = NULL;
    if (forecast_build(r->db, uid, &fo, time_now(), &f, &e) == 0)
        t = json_incref(json_object_get(f, "total"));
    json_decref(f);
    return t ? t : json_integer(0);
}

/* One client entry of a pay system (other.md §7.2): public fields only (D13). */
static json_t *paysystem_entry(const char *key, const json_t *c, const char *api_url,
                               int64_t uid, const json_t *amount, const json_t *forecast,
                               bool recurring)
{
    const char *prog = json_string_value(json_object_get(c, "paysystem"));
    const char *purl = json_string_value(json_object_get(c, "payment_url"));
    json_t *w = json_object_get(c, "weight");
    char *base = purl ? xstrdup(purl)
                      : xasprintf("%s/shm/pay_systems/%s.cgi", api_url ? api_url : "",
                                  prog ? prog : key);
    char amt[64] = "";
    if (json_is_number(amount))
        snprintf(amt, sizeof(amt), "&amount=%.15g", json_number_value(amount));
    else if (json_is_string(amount))
        snprintf(amt, sizeof(amt), "&amount=%.40s", json_string_value(amount));
    char *url = xasprintf("%s%saction=%s&user_id=%lld&ts=%lld&ps=%s%s", base,
                          strchr(base, '?') ? "&" : "?", recurring ? "payment" : "create",
                          (long long)uid, (long long)time_now(), key, amt);
    free(base);
    json_t *name = json_object_get(c, "name");
    bool internal = config_flag_on(json_object_get(c, "internal"));
    json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:I,s:O}", "paysystem", prog ? prog : key,
                          "shm_url", url, "recurring", recurring, "internal", internal,
                          "allow_deletion", recurring, "user_id", (json_int_t)uid, "forecast",
                          forecast);
    json_object_set_new(o, "name", name ? json_incref(name) : json_string(key));
    json_object_set_new(o, "weight", json_is_number(w) ? json_incref(w) : json_integer(0));
    json_object_set(o, "amount", amount ? (json_t *)amount : (json_t *)forecast);
    free(url);
    return o;
}

static int cmp_weight(const void *a, const void *b)
{
    const json_t *ja = *(json_t *const *)a, *jb = *(json_t *const *)b;
    double x = json_number_value(json_object_get(ja, "weight"));
    double y = json_number_value(json_object_get(jb, "weight"));
    if (x != y)
        return x < y ? 1 : -1;
    return strcmp(json_string_value(json_object_get(ja, "shm_url")),
                  json_string_value(json_object_get(jb, "shm_url")));
}

/*
 * paysystems(amount = …, pp = 1): the pay systems shown to clients (config
 * pay_systems entries with show_for_client), plus one entry per saved
 * recurring method, by weight descending — never the provider secrets.
 */
static int p_paysystems(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(e);
    json_t *ps = config_store_lookup(r->db, "pay_systems", NULL);
    json_t *api = config_store_lookup(r->db, "api", "url");
    json_t *user = NULL;
    struct err ue = { 0 };
    user_read(r->db, o->user_id, true, &user, &ue);
    json_t *saved = json_object_get(json_object_get(user, "settings"), "pay_systems");
    json_t *forecast = forecast_total(r, o->user_id);
    int64_t pp = 0;
    obj_arg_int(a, (size_t)-1, "pp", &pp);
    json_t *amount = pp ? obj_arg_json(tpl_args_kv(a, "amount")) : NULL;
    json_t *list = json_array();
    const char *k;
    json_t *c;
    json_object_foreach(json_is_object(ps) ? ps : NULL, k, c) {
        if (!config_flag_on(json_object_get(c, "show_for_client")))
            continue;
        json_array_append_new(list, paysystem_entry(k, c, json_string_value(api), o->user_id,
                                                    amount, forecast, false));
        json_t *mine = json_object_get(saved, k);
        if (config_flag_on(json_object_get(c, "allow_recurring")) &&
            json_object_get(mine, "payment_id"))
            json_array_append_new(list, paysystem_entry(k, c, json_string_value(api),
                                                        o->user_id, amount, forecast, true));
    }
    size_t n = json_array_size(list);
    json_t **items = xcalloc(n + 1, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(list, i));
    qsort(items, n, sizeof(*items), cmp_weight);
    json_array_clear(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, items[i]);
    free(items);
    *out = obj_from_json(list);
    json_decref(list);
    json_decref(amount);
    json_decref(forecast);
    json_decref(user);
    json_decref(api);
    json_decref(ps);
    return 0;
}

static const struct obj_method pays_methods[] = {
    { "list_for_api", p_list_for_api },
    { "items", p_items },
    { "filter", obj_coll_filter },
    { "limit", obj_coll_limit },
    { "sort", obj_coll_sort },
    { "rsort", obj_coll_rsort },
    { "last", p_last },
    { "forecast", p_forecast },
    { "paysystems", p_paysystems },
    { NULL, NULL },
};

const struct obj_kind obj_user_pays_kind = { "Core::Pay", pays_methods, NULL };

/* ---- user.wd, user.bonus ---- */

static const struct obj_coll wd_coll = { &withdraw_model, "withdraw_history", "w",
                                          &obj_wd_kind };
static const struct obj_coll bonus_coll = { &bonus_model, "bonus_history", "b",
                                             &obj_bonus_kind };

static int w_list_for_api(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    return obj_coll_list(o, r, &wd_coll, out, e);
}

static int w_items(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    return obj_coll_items(o, r, &wd_coll, a, out, e);
}

/* last: the newest withdraw of the user (whatever the modifiers), or undefined. */
static int w_last(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    *out = newest(r, o->user_id, "SELECT COALESCE(max(withdraw_id), 0) FROM withdraw_history "
                                 "WHERE user_id = $1", &obj_wd_kind);
    return 0;
}

static const struct obj_method wd_methods[] = {
    { "list_for_api", w_list_for_api },
    { "items", w_items },
    { "last", w_last },
    { "filter", obj_coll_filter },
    { "limit", obj_coll_limit },
    { "sort", obj_coll_sort },
    { "rsort", obj_coll_rsort },
    { NULL, NULL },
};

const struct obj_kind obj_user_wd_kind = { "Core::Withdraw", wd_methods, NULL };

static int b_list_for_api(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    return obj_coll_list(o, r, &bonus_coll, out, e);
}

static int b_items(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    return obj_coll_items(o, r, &bonus_coll, a, out, e);
}

static const struct obj_method bonus_methods[] = {
    { "list_for_api", b_list_for_api },
    { "items", b_items },
    { "filter", obj_coll_filter },
    { "limit", obj_coll_limit },
    { "sort", obj_coll_sort },
    { "rsort", obj_coll_rsort },
    { NULL, NULL },
};

const struct obj_kind obj_user_bonus_kind = { "Core::Bonus", bonus_methods, NULL };

/* `user` / `user(id)`. */
static int fn_user(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(self);
    UNUSED(e);
    struct render_ctx *r = obj_ctx(cx);
    int64_t id = r->user_id;
    obj_arg_int(a, 0, NULL, &id);
    *out = obj_user_value(r, id);
    return 0;
}

void obj_user_bind(struct tpl_value *vars, struct render_ctx *r)
{
    UNUSED(r);
    obj_bind_func(vars, "user", fn_user);
}
