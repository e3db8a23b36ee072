/*
 * obj_user_admin.c — the members of the `user` object that write or reach
 * beyond one user (templates.md §7.0, §7.1): set / lock, payment,
 * set_credit, passwd, set_new_passwd, recash, delete, reg, items /
 * list_for_api, referrals, profile, storage, spool_history and the saved
 * recurring payment methods (has_autopayment, list_autopayments,
 * delete_autopayment, make_autopayment; billing.md §21). Registered in
 * obj_user.c's member table.
 *
 * Everything goes through the billing and core modules the API uses
 * (payment_add, payment_credit_*, user_update, user_set_password,
 * user_delete, user_create, recash_user), so a template changes money only
 * through the ledger (D7).
 *
 * Rights (D11): a member acts on its object only when the render may see
 * that user (otherwise it is undefined, as for reads). On top of that:
 *  - set: a user's render may set what POST /user allows (full_name,
 *    phone); an admin render what POST /admin/user allows — except balance
 *    and bonus, which change only through payments and bonuses;
 *  - payment, set_credit, recash, delete, reg: admin renders only (a clear
 *    error otherwise: a user's template must not give itself money);
 *  - items / list_for_api('admin', 1): every user in an admin render, only
 *    the object's own user otherwise.
 */
#include "obj_user_admin.h"

#include "../billing/autopay.h"
#include "../billing/payment.h"
#include "../billing/recash.h"
#include "../core/config_store.h"
#include "../core/money.h"
#include "../core/password.h"
#include "../core/period.h"
#include "../core/session.h"
#include "../core/user.h"
#include "../db/db.h"
#include "../spool/spool.h"
#include "../transport/http_client.h"
#include "../util/config.h"
#include "../util/log.h"
#include "../util/timeutil.h"

/* Largest number of users items / list_for_api return. */
#define USERS_MAX 100000
/* Default and largest length of set_new_passwd. */
#define NEW_PASSWD_LEN 10
#define NEW_PASSWD_MAX 128
/* Largest number of rows spool_history returns. */
#define HISTORY_MAX 1000

/* The user's row when the render may see it (a new object), else NULL. */
static json_t *row_of(struct render_ctx *r, const struct obj *o)
{
    return o->kind->load(r, o);
}

static bool visible(struct render_ctx *r, const struct obj *o)
{
    json_t *row = row_of(r, o);
    json_decref(row);
    return row != NULL;
}

/* ERR_DENIED unless the render is an admin's. */
static int need_admin(const struct render_ctx *r, const char *member, struct err *e)
{
    if (r->admin)
        return 0;
    return err_set(e, ERR_DENIED, "user.%s: only an admin's template may do this", member);
}

/* An admin-only member on o: TPL_DECLINED when o is not visible, else need_admin. */
static int admin_target(struct render_ctx *r, const struct obj *o, const char *member,
                        struct err *e)
{
    return visible(r, o) ? need_admin(r, member, e) : TPL_DECLINED;
}

static int min_password_length(const struct render_ctx *r)
{
    return r->cfg && r->cfg->min_password_length > 0 ? r->cfg->min_password_length : 8;
}

/* The object itself, re-read on use (the result of most writing members). */
static void self(struct obj *o, struct tpl_value *out)
{
    *out = obj_new(o->kind, o->id, o->user_id, NULL);
}

/*
 * Updates user_id from fields as an admin (POST /admin/user): a raised
 * credit or a perm_credit switched on emits CREDIT (billing.md §20).
 */
static int admin_update(struct render_ctx *r, int64_t user_id, json_t *fields, struct err *e)
{
    struct credit_state before;
    bool own = false;
    int rc = obj_tx_begin(r, &own, e);
    if (rc)
        return rc;
    rc = payment_credit_read(r->db, user_id, &before, e);
    if (rc == 0)
        rc = user_update(r->db, user_id, fields, true, e);
    if (rc == 0)
        rc = payment_credit_changed(r->db, user_id, &before, e);
    return obj_tx_end(r, own, rc, e);
}

/* Whether the render may set column f (see the top comment). */
static bool settable(const struct render_ctx *r, const struct field *f)
{
    static const char *const never[] = { "user_id", "password", "created", "balance", "bonus" };
    for (size_t i = 0; i < ARRAY_SIZE(never); i++)
        if (!strcmp(f->name, never[i]))
            return false;
    return r->admin || (f->flags & FF_USER_WRITE);
}

/* set(field, value, …) / set({…}): checks every key first, so a refusal changes nothing. */
USER_ADMIN_METHOD(obj_user_set)
{
    if (!visible(r, o))
        return TPL_DECLINED;
    json_t *fields = obj_args_object(a);
    const char *key;
    json_t *v;
    int rc = json_object_size(fields) ? 0 : err_set(e, ERR_INVALID, "user.set: nothing to set");
    json_object_foreach(fields, key, v) {
        const struct field *f = model_field(&user_model, key);
        if (!f) {
            rc = err_set(e, ERR_INVALID, "user.set: unknown field %s", key);
            break;
        }
        if (!settable(r, f)) {
            rc = err_set(e, ERR_DENIED, "user.set: field %s may not be set here", key);
            break;
        }
    }
    if (rc == 0 && r->admin) {
        rc = admin_update(r, o->id, fields, e);
    } else if (rc == 0) {
        bool own = false;
        rc = obj_tx_begin(r, &own, e);
        if (rc == 0)
            rc = obj_tx_end(r, own, user_update(r->db, o->id, fields, false, e), e);
    }
    json_decref(fields);
    if (rc == 0)
        self(o, out);
    return rc;
}

/* lock: SELECT … FOR UPDATE of the row (PostgreSQL; SQLite's writer lock is the transaction). */
USER_ADMIN_METHOD(obj_user_lock)
{
    UNUSED(a);
    if (!visible(r, o))
        return TPL_DECLINED;
    char *sql = xasprintf("SELECT user_id FROM users WHERE user_id = $1%s",
                          db_sql_for_update(r->db));
    struct db_value p[] = { DB_INT(o->id) };
    int64_t id = 0;
    int rc = db_query_int(r->db, sql, p, 1, &id, e);
    free(sql);
    if (rc == 0)
        self(o, out);
    return rc;
}

/* The uniq_key argument: a string or an integer; "" = none. *out is owned. */
static int uniq_key_arg(const struct tpl_args *a, char **out, struct err *e)
{
    const struct tpl_value *v = tpl_args_kv(a, "uniq_key");
    *out = NULL;
    if (!v || !tpl_value_defined(v))
        return 0;
    if (v->type == TPL_HASH || v->type == TPL_LIST)
        return err_set(e, ERR_INVALID, "Field uniq_key: expected a string");
    *out = obj_arg_str(a, (size_t)-1, "uniq_key");
    return 0;
}

/*
 * payment(money = …, pay_system_id = …, comment = …, uniq_key = …): a
 * payment through payment_add (billing.md §17; a known uniq_key returns the
 * first payment unchanged, D8). Returns the payment object.
 */
USER_ADMIN_METHOD(obj_user_payment)
{
    int rc = admin_target(r, o, "payment", e);
    if (rc)
        return rc;
    json_t *money = obj_arg_json(tpl_args_kv(a, "money"));
    json_t *comment = obj_arg_json(tpl_args_kv(a, "comment"));
    char *ps = obj_arg_str(a, (size_t)-1, "pay_system_id");
    char *key = NULL;
    struct payment_input in = { .user_id = o->id, .pay_system_id = ps, .comment = comment };
    if (money_from_json(money, &in.money))
        rc = err_set(e, ERR_INVALID, "Field money: expected an amount with at most 2 decimals");
    if (rc == 0)
        rc = uniq_key_arg(a, &key, e);
    in.uniq_key = key;
    bool own = false;
    json_t *row = NULL;
    if (rc == 0)
        rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, payment_add(r->db, &in, &row, NULL, e), e);
    if (rc == 0)
        *out = obj_new(&obj_pay_kind, json_integer_value(json_object_get(row, "id")), o->id,
                       NULL);
    json_decref(row);
    json_decref(money);
    json_decref(comment);
    free(ps);
    free(key);
    return rc;
}

/* set_credit(amount) / set_credit(credit = …, perm_credit = 0|1): emits CREDIT (§20). */
USER_ADMIN_METHOD(obj_user_set_credit)
{
    int rc = admin_target(r, o, "set_credit", e);
    if (rc)
        return rc;
    json_t *credit = obj_arg_json(tpl_args_kv(a, "credit"));
    if (!credit && a->npos == 1)
        credit = obj_arg_json(tpl_args_at(a, 0));
    int64_t minor = 0, perm = 0;
    if (money_from_json(credit, &minor) || minor < 0)
        rc = err_set(e, ERR_INVALID, "set_credit: expected a non-negative amount");
    json_t *fields = json_pack("{s:O?}", "credit", credit);
    if (obj_arg_int(a, (size_t)-1, "perm_credit", &perm))
        json_object_set_new(fields, "perm_credit", json_integer(perm != 0));
    if (rc == 0)
        rc = admin_update(r, o->id, fields, e);
    json_decref(fields);
    json_decref(credit);
    if (rc == 0)
        self(o, out);
    return rc;
}

/* passwd(password = …): a new password (the policy of D17); ends the user's sessions. */
USER_ADMIN_METHOD(obj_user_passwd)
{
    if (!visible(r, o))
        return TPL_DECLINED;
    char *pw = obj_arg_str(a, 0, "password");
    bool own = false;
    int rc = pw ? obj_tx_begin(r, &own, e) : err_set(e, ERR_INVALID, "passwd: no password");
    if (rc == 0)
        rc = obj_tx_end(r, own,
                        user_set_password(r->db, o->id, pw, min_password_length(r), e), e);
    free(pw);
    if (rc == 0)
        self(o, out);
    return rc;
}

/*
 * set_new_passwd(len = 10): sets and returns a new random password of len
 * characters (at least the minimum length). Refused for admins, so a
 * mailed reset can never take over an admin account.
 */
USER_ADMIN_METHOD(obj_user_set_new_passwd)
{
    json_t *row = row_of(r, o);
    if (!row)
        return TPL_DECLINED;
    bool is_admin = json_integer_value(json_object_get(row, "gid")) == USER_ADMIN_GID;
    json_decref(row);
    if (is_admin)
        return err_set(e, ERR_DENIED, "set_new_passwd: refused for an admin");
    int64_t len = NEW_PASSWD_LEN;
    obj_arg_int(a, 0, "len", &len);
    if (len < min_password_length(r))
        len = min_password_length(r);
    if (len > NEW_PASSWD_MAX)
        len = NEW_PASSWD_MAX;
    char pw[NEW_PASSWD_MAX + 1];
    password_generate(pw, (size_t)len + 1);
    bool own = false;
    int rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, user_set_password(r->db, o->id, pw, min_password_length(r), e),
                        e);
    if (rc == 0)
        *out = tpl_cstr(pw);
    return rc;
}

/* recash: balance and bonus rebuilt from the histories (§15.4) → {before, after, delta}. */
USER_ADMIN_METHOD(obj_user_recash)
{
    UNUSED(a);
    int rc = admin_target(r, o, "recash", e);
    if (rc == TPL_DECLINED)
        return rc;
    bool own = false;
    json_t *res = NULL;
    if (rc == 0)
        rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, recash_user(r->db, o->id, &res, e), e);
    if (rc == 0)
        *out = obj_from_json(res);
    json_decref(res);
    return rc;
}

/* delete / delete(force = 1): DELETE /admin/user (user_delete's rules). Returns 1. */
USER_ADMIN_METHOD(obj_user_delete)
{
    int rc = admin_target(r, o, "delete", e);
    if (rc == TPL_DECLINED)
        return rc;
    int64_t force = 0;
    if (!obj_arg_int(a, (size_t)-1, "force", &force))
        obj_arg_int(a, 0, NULL, &force);
    bool own = false;
    if (rc == 0)
        rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, user_delete(r->db, o->id, force != 0, e), e);
    if (rc == 0)
        *out = tpl_int(1);
    return rc;
}

/*
 * reg(login = …, password = …, further columns …): a new user as PUT
 * /admin/user creates one, plus the REGISTERED user event as PUT /user
 * fires it. Returns the new user object.
 */
USER_ADMIN_METHOD(obj_user_reg)
{
    UNUSED(o);
    int rc = need_admin(r, "reg", e);
    if (rc)
        return rc;
    json_t *args = obj_args_object(a);
    const char *login = json_string_value(json_object_get(args, "login"));
    const char *pw = json_string_value(json_object_get(args, "password"));
    int64_t id = 0;
    bool own = false;
    rc = login && pw ? obj_tx_begin(r, &own, e)
                     : err_set(e, ERR_INVALID, "reg: login and password must be strings");
    if (rc == 0) {
        int wrc = user_create(r->db, login, pw, min_password_length(r), args, &id, e);
        if (wrc == 0)
            wrc = spool_user_event(r->db, id, "REGISTERED", NULL, NULL, e);
        rc = obj_tx_end(r, own, wrc, e);
    }
    json_decref(args);
    if (rc == 0)
        *out = obj_user_value(r, id);
    return rc;
}

/* The rows of users (never the password hash): every user, or only user_id when > 0. */
static json_t *user_rows(struct render_ctx *r, int64_t user_id, const struct tpl_args *a)
{
    int64_t limit = USERS_MAX, offset = 0;
    if (obj_arg_int(a, (size_t)-1, "limit", &limit) && (limit < 0 || limit > USERS_MAX))
        limit = USERS_MAX;
    if (!obj_arg_int(a, (size_t)-1, "offset", &offset) || offset < 0)
        offset = 0;
    char *sql = xasprintf("SELECT * FROM users WHERE ($1 = 0 OR user_id = $1) "
                          "ORDER BY user_id LIMIT %lld OFFSET %lld",
                          (long long)limit, (long long)offset);
    struct db_value p[] = { DB_INT(user_id) };
    json_t *rows = obj_rows(r, &user_model, sql, p, 1);
    free(sql);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        json_object_del(row, "password");
    return rows;
}

/* rows (consumed) as a list of user objects (objects) or of hashes. */
static struct tpl_value user_list(const struct obj *o, json_t *rows, bool objects)
{
    struct tpl_value list = tpl_list_new();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        int64_t id = json_integer_value(json_object_get(row, "user_id"));
        tpl_list_push(&list, objects ? obj_new(o->kind, id, id, NULL) : obj_from_json(row));
    }
    json_decref(rows);
    return list;
}

/* The user whose rows items / list_for_api return: 0 (all) only for list-all in admin renders. */
static int64_t list_scope(struct render_ctx *r, struct obj *o, bool all)
{
    return all && r->admin ? 0 : o->id;
}

/* items(limit = n, offset = n): user objects — every user in an admin render. */
USER_ADMIN_METHOD(obj_user_items)
{
    UNUSED(e);
    if (!visible(r, o))
        return TPL_DECLINED;
    *out = user_list(o, user_rows(r, list_scope(r, o, true), a), true);
    return 0;
}

/* list_for_api('admin', 1): every user's row in an admin render; else the user's own row. */
USER_ADMIN_METHOD(obj_user_list_for_api)
{
    UNUSED(e);
    if (!visible(r, o))
        return TPL_DECLINED;
    int64_t all = 0;
    obj_arg_int(a, (size_t)-1, "admin", &all);
    json_t *rows = user_rows(r, list_scope(r, o, all != 0), a);
    *out = tpl_value_perl_list(obj_from_json(rows));
    json_decref(rows);
    return 0;
}

/*
 * referrals: the users whose partner_id is this user — user objects in an
 * admin render; in a user's render only {user_id, created} of each (other
 * users' rows are not readable there, D11).
 */
USER_ADMIN_METHOD(obj_user_referrals)
{
    UNUSED(a);
    UNUSED(e);
    if (!visible(r, o))
        return TPL_DECLINED;
    struct db_value p[] = { DB_INT(o->id) };
    json_t *rows = obj_rows(r, &user_model,
                            "SELECT user_id, created FROM users WHERE partner_id = $1 "
                            "ORDER BY user_id", p, 1);
    *out = user_list(o, rows, r->admin);
    return 0;
}

/* profile: the data of the user's first profile (other.md §5), undefined when none. */
USER_ADMIN_METHOD(obj_user_profile)
{
    UNUSED(a);
    if (!visible(r, o))
        return TPL_DECLINED;
    struct db_value p[] = { DB_INT(o->id) };
    struct db_result *res = NULL;
    int rc = db_query(r->db, "SELECT data FROM profiles WHERE user_id = $1 ORDER BY id LIMIT 1",
                      p, 1, &res, e);
    const char *text = rc == 0 && db_result_rows(res) ? db_result_text(res, 0, 0) : NULL;
    json_t *data = text ? json_loads(text, 0, NULL) : NULL;
    db_result_free(res);
    if (rc)
        return rc;
    if (!json_is_object(data)) {
        json_decref(data);
        return TPL_DECLINED;
    }
    *out = obj_from_json(data);
    json_decref(data);
    return 0;
}

/* storage: the storage object of the current user (storage is bound to the render's user). */
USER_ADMIN_METHOD(obj_user_storage)
{
    UNUSED(a);
    UNUSED(e);
    if (o->id != r->user_id || !visible(r, o))
        return TPL_DECLINED;
    *out = obj_new(&obj_storage_kind, 0, o->id, NULL);
    return 0;
}

/* How templates see spool_history rows (what the user's own tasks did). */
static const struct field history_fields[] = {
    { "id", FT_INT, FF_KEY, NULL, 0, NULL },
    { "spool_id", FT_INT, 0, NULL, 0, NULL },
    { "user_service_id", FT_INT, 0, NULL, 0, NULL },
    { "event", FT_JSON, 0, NULL, 0, NULL },
    { "status", FT_TEXT, 0, NULL, 0, NULL },
    { "created", FT_DATE, 0, NULL, 0, NULL },
    { "executed", FT_DATE, 0, NULL, 0, NULL },
    { "response", FT_JSON, 0, NULL, 0, NULL },
};

static const struct model history_model = { "SpoolHistory", "spool_history", "id",
                                            history_fields, ARRAY_SIZE(history_fields) };

/*
 * spool_history(usi = N, limit = n): the user's finished task runs (table
 * spool_history), newest first, at most limit (default and cap
 * HISTORY_MAX); with usi only those of that user service.
 */
USER_ADMIN_METHOD(obj_user_spool_history)
{
    UNUSED(e);
    if (!visible(r, o))
        return TPL_DECLINED;
    int64_t usi = 0, limit = HISTORY_MAX;
    obj_arg_int(a, (size_t)-1, "usi", &usi);
    if (obj_arg_int(a, (size_t)-1, "limit", &limit) && (limit < 0 || limit > HISTORY_MAX))
        limit = HISTORY_MAX;
    char *sql = xasprintf("SELECT id, spool_id, user_service_id, event, status, created, "
                          "executed, response FROM spool_history WHERE user_id = $1 AND "
                          "($2 = 0 OR user_service_id = $2) ORDER BY id DESC LIMIT %lld",
                          (long long)limit);
    struct db_value p[] = { DB_INT(o->id), DB_INT(usi) };
    json_t *rows = obj_rows(r, &history_model, sql, p, 2);
    free(sql);
    *out = obj_from_json(rows);
    json_decref(rows);
    return 0;
}

/* ---- saved recurring payment methods (billing.md §21, src/billing/autopay.c) ---- */

/*
 * The saved recurring methods of o's user as a new object {ps: saved}, or
 * NULL when the render may not see the user. *settings (may be NULL)
 * receives a copy of users.settings (owned).
 */
static json_t *saved_methods(struct render_ctx *r, const struct obj *o, json_t **settings)
{
    json_t *row = row_of(r, o);
    if (!row)
        return NULL;
    json_t *out = autopay_saved(r->db, json_object_get(row, "settings"));
    if (settings)
        *settings = json_deep_copy(json_object_get(row, "settings"));
    json_decref(row);
    return out;
}

USER_ADMIN_METHOD(obj_user_has_autopayment)
{
    UNUSED(a);
    UNUSED(e);
    json_t *m = saved_methods(r, o, NULL);
    if (!m)
        return TPL_DECLINED;
    *out = tpl_int(json_object_size(m) > 0);
    json_decref(m);
    return 0;
}

/* list_autopayments: [{pay_system, name}] — never the saved tokens themselves. */
USER_ADMIN_METHOD(obj_user_list_autopayments)
{
    UNUSED(a);
    if (!visible(r, o))
        return TPL_DECLINED;
    json_t *list = NULL;
    int rc = autopay_list(r->db, o->id, &list, e);
    if (rc == 0)
        *out = obj_from_json(list);
    json_decref(list);
    return rc;
}

/*
 * delete_autopayment(pay_system = …): removes the saved method of that pay
 * system from users.settings.pay_systems, or every saved method without
 * one. Returns how many were removed.
 */
USER_ADMIN_METHOD(obj_user_delete_autopayment)
{
    if (!visible(r, o))
        return TPL_DECLINED;
    char *which = obj_arg_str(a, 0, "pay_system");
    int64_t n = 0;
    int rc = autopay_delete(r->db, o->id, which, &n, e);
    free(which);
    if (rc == 0)
        *out = tpl_int(n);
    return rc;
}

/*
 * Why an auto-payment of amount (minor units) must not run now (billing.md
 * §21), or NULL when it may. settings is users.settings, conf the merged
 * auto_payments configuration.
 */
static const char *autopay_skip(const json_t *settings, const json_t *conf, int64_t amount)
{
    const json_t *wd = json_object_get(conf, "withdraw");
    int64_t max = 0;
    if (amount <= 0)
        return "no amount";
    if (config_flag_on(json_object_get(settings, "deny_auto_payments")))
        return "denied by the user's settings";
    if (!config_flag_on(json_object_get(conf, "enabled")))
        return "auto_payments not enabled";
    if (money_from_json(json_object_get(wd, "max_amount"), &max) == 0 && amount > max)
        return "amount above withdraw.max_amount";
    const json_t *last = json_object_get(
        json_object_get(json_object_get(settings, "auto_payments"), "last_payment"), "date");
    const char *period = json_string_value(json_object_get(wd, "period"));
    if (json_is_integer(last) && period &&
        period_add_to_date(json_integer_value(last), period) > time_now())
        return "the last auto-payment is within withdraw.period";
    return NULL;
}

/* POSTs one recurring charge to the pay system's program; true on a 2xx answer. */
static bool autopay_post(struct render_ctx *r, int64_t user_id, const char *ps,
                         const json_t *saved, const char *token, int64_t amount)
{
    json_t *api = config_store_lookup(r->db, "api", "url");
    json_t *prog = config_store_lookup(r->db, "pay_systems", ps);
    const char *name = json_string_value(json_object_get(prog, "paysystem"));
    char *url = xasprintf("%s/shm/pay_systems/%s.cgi",
                          json_is_string(api) ? json_string_value(api) : "", name ? name : ps);
    json_t *form = json_deep_copy(saved);
    json_object_set_new(form, "action", json_string("payment"));
    json_object_set_new(form, "amount", money_to_json(amount));
    char *body = http_form_encode(form);
    json_t *headers = json_pack("{s:s}", "session_id", token);
    struct http_client_req rq = { .method = "POST", .url = url, .headers = headers,
                                  .body = body, .body_len = strlen(body),
                                  .content_type = "application/x-www-form-urlencoded" };
    struct http_client_resp rs;
    struct err e = { 0 };
    bool ok = http_client_request(&rq, &rs, &e) == 0 && rs.code >= 200 && rs.code < 300;
    if (!ok)
        log_warn("auto-payment failed", "user_id=%lld ps=%s code=%ld error=\"%s\"",
                 (long long)user_id, ps, rs.code, e.msg);
    http_client_resp_release(&rs);
    json_decref(headers);
    free(body);
    json_decref(form);
    free(url);
    json_decref(prog);
    json_decref(api);
    return ok;
}

/* Records settings.auto_payments.last_payment = {ps_name, date, amount}. */
static int autopay_record(struct render_ctx *r, int64_t user_id, const char *ps, int64_t amount,
                          struct err *e)
{
    json_t *row = NULL;
    int rc = user_read(r->db, user_id, true, &row, e);
    if (rc)
        return rc;
    json_t *patch = json_pack("{s:{s:{s:s,s:I,s:o}}}", "auto_payments", "last_payment",
                              "ps_name", ps, "date", (json_int_t)time_now(), "amount",
                              money_to_json(amount));
    json_t *fields = json_pack("{s:o}", "settings",
                               config_store_merge(json_object_get(row, "settings"), patch));
    bool own = false;
    rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, user_update(r->db, user_id, fields, true, e), e);
    json_decref(fields);
    json_decref(patch);
    json_decref(row);
    return rc;
}

/*
 * make_autopayment(amount): billing.md §21 — unless skipped (autopay_skip),
 * each saved recurring method in turn is charged through
 * <api.url>/shm/pay_systems/<ps>.cgi with a fresh session of the user; the
 * first 2xx answer wins and is recorded. Returns 1 when a charge was
 * accepted, else 0. The pay system's program makes the payment itself (a
 * callback into billd), so the session must be visible to it: call this
 * where no request transaction holds it back (spool tasks, its usual place).
 */
USER_ADMIN_METHOD(obj_user_make_autopayment)
{
    json_t *settings = NULL;
    json_t *methods = saved_methods(r, o, &settings);
    if (!methods)
        return TPL_DECLINED;
    json_t *amount = obj_arg_json(tpl_args_at(a, 0));
    if (!amount)
        amount = obj_arg_json(tpl_args_kv(a, "amount"));
    int64_t minor = 0;
    if (amount && money_from_json(amount, &minor))
        minor = 0;
    json_t *base = config_store_lookup(r->db, "billing", "auto_payments");
    json_t *mine = json_object_get(settings, "auto_payments");
    json_t *conf = json_is_object(mine) ? config_store_merge(base, mine)
                                        : json_is_object(base) ? json_incref(base) : json_object();
    const char *skip = autopay_skip(settings, conf, minor);
    int rc = 0;
    const char *won = NULL;
    char token[SESSION_TOKEN_LEN + 1];
    if (!skip && json_object_size(methods))
        rc = session_create(r->db, o->id, NULL, token, e);
    const char *k;
    json_t *m;
    json_object_foreach(!skip && rc == 0 ? methods : NULL, k, m)
        if (autopay_post(r, o->id, k, m, token, minor)) {
            won = k;
            break;
        }
    if (won)
        rc = autopay_record(r, o->id, won, minor, e);
    if (rc == 0)
        *out = tpl_int(won != NULL);
    json_decref(conf);
    json_decref(base);
    json_decref(amount);
    json_decref(methods);
    json_decref(settings);
    return rc;
}
