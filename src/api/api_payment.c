/*
 * api_payment.c — payments and bonuses over HTTP: the user's payment list
 * (R57), saved recurring methods (R55 list, R56 delete), admin payments
 * (R98 create, R103 list, R104 delete), admin bonus history (R105 list,
 * R106 set_bonus, R107 edit, R108 delete).
 *
 * The dispatcher has already switched c->user_id to an admin's `user_id`
 * argument (api.md §5.3); these handlers check that argument themselves,
 * because the dispatcher silently ignores one that is not a positive
 * integer. Money moves only through src/billing (payment.h, bonus.h), which
 * write the ledger rows in the request transaction (D7).
 */
#include "api.h"
#include "resource.h"
#include "../billing/autopay.h"
#include "../billing/bonus.h"
#include "../billing/forecast.h"
#include "../billing/payment.h"
#include "../core/config_store.h"
#include "../core/money.h"
#include "../core/user.h"
#include "../db/sqlb.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <strings.h>

#define NOT_FOUND_MSG "Object not found. Check the ID."
#define DEFAULT_CURRENCY "RUB"
#define AMOUNT_FIXED_MSG \
    "Field bonus: can't be changed; add a correcting bonus with PUT /admin/user/bonus"

static int bonus_before_write(struct api_ctx *c, json_t *values, json_t *key, bool create);

/* R107's generic update: comment and date only, amounts are refused (bonus_before_write). */
static const struct resource bonus_resource = {
    .m = &bonus_model,
    .owner = "user_id",
    .before_write = bonus_before_write,
};

/* ---- arguments ---- */

/* A positive integer argument; *given = false when absent, null or "". */
static int positive_arg(struct api_ctx *c, const char *name, int64_t *out, bool *given)
{
    *given = !args_missing(c->args, name);
    if (!*given)
        return 0;
    if (args_i64(c->args, name, out) || *out <= 0)
        return api_fail(c, 400, "Field %s: expected a positive integer", name);
    return 0;
}

/* The user an admin route acts for (c->user_id: `user_id` or the admin); 404 when absent. */
static int target_user(struct api_ctx *c)
{
    int64_t id;
    bool given;
    struct user_auth a = { 0 };
    int rc = positive_arg(c, "user_id", &id, &given);
    if (rc)
        return rc;
    rc = user_find_by_id(c->db, c->user_id, &a, &c->err);
    user_auth_free(&a);
    if (rc == ERR_NOT_FOUND)
        return api_fail(c, 404, NOT_FOUND_MSG);
    return rc;
}

/* Admin lists: all rows, or those of `user_id` when given. */
static int scope_user(struct api_ctx *c, struct sqlb *where)
{
    int64_t id;
    bool given;
    int rc = positive_arg(c, "user_id", &id, &given);
    if (rc == 0 && given) {
        sqlb_add(where, "user_id = ");
        sqlb_int(where, id);
    }
    return rc;
}

/* `currency` may only name the billing currency: billd does not convert (a niche feature). */
static int check_currency(struct api_ctx *c)
{
    json_t *v = json_object_get(c->args, "currency");
    if (args_missing(c->args, "currency"))
        return 0;
    json_t *cfg = config_store_lookup(c->db, "billing", "currency");
    const char *billing = json_is_string(cfg) && json_string_length(cfg) ? json_string_value(cfg)
                                                                           : DEFAULT_CURRENCY;
    int rc = 0;
    if (!json_is_string(v) || strcasecmp(json_string_value(v), billing) != 0)
        rc = api_fail(c, 400, "Field currency: only %s is accepted (no currency conversion)",
                      billing);
    json_decref(cfg);
    return rc;
}

/* Fills in from the arguments of R98; key_buf holds a numeric uniq_key as text. */
static int payment_args(struct api_ctx *c, struct payment_input *in, char *key_buf, size_t n)
{
    json_t *ps = json_object_get(c->args, "pay_system_id");
    json_t *key = json_object_get(c->args, "uniq_key");
    in->user_id = c->user_id;
    if (money_from_json(json_object_get(c->args, "money"), &in->money))
        return api_fail(c, 400, "Field money: expected an amount with at most 2 decimals");
    if (ps && !json_is_null(ps) && !json_is_string(ps))
        return api_fail(c, 400, "Field pay_system_id: expected a string");
    in->pay_system_id = json_string_value(ps);
    in->comment = json_object_get(c->args, "comment");
    if (json_is_integer(key)) {
        snprintf(key_buf, n, "%lld", (long long)json_integer_value(key));
        in->uniq_key = key_buf;
    } else if (key && !json_is_null(key) && !json_is_string(key)) {
        return api_fail(c, 400, "Field uniq_key: expected a string");
    } else {
        in->uniq_key = json_string_value(key);
    }
    return check_currency(c);
}

/* ---- payments ---- */

/* R57: the caller's own payments (comment and uniq_key hidden from users). */
static int api_user_pay_list(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    sqlb_add(&where, "user_id = ");
    sqlb_int(&where, c->user_id);
    int rc = api_list(c, &pay_model, pay_model.table, &where);
    sqlb_free(&where);
    return rc;
}

/* R103: every payment, or those of `user_id`. */
static int api_admin_pay_list(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    int rc = scope_user(c, &where);
    if (rc == 0)
        rc = api_list(c, &pay_model, pay_model.table, &where);
    sqlb_free(&where);
    return rc;
}

/* R98: a payment for `user_id` (billing.md §17); a known uniq_key returns the first payment. */
static int api_admin_payment(struct api_ctx *c)
{
    struct payment_input in = { 0 };
    char key_buf[32];
    json_t *row = NULL;
    int rc = target_user(c);
    if (rc == 0)
        rc = payment_args(c, &in, key_buf, sizeof(key_buf));
    if (rc == 0)
        rc = payment_add(c->db, &in, &row, NULL, &c->err);
    if (rc)
        return rc;
    api_set_data(c, row);
    return 0;
}

/* R104: deletes a payment row; the balance and the ledger stay as they are. */
static int api_admin_pay_delete(struct api_ctx *c)
{
    int64_t id, user_id;
    bool given;
    int rc = positive_arg(c, "user_id", &user_id, &given);
    if (rc == 0)
        rc = positive_arg(c, "id", &id, &given);
    if (rc == 0)
        rc = payment_delete(c->db, user_id, id, c->auth_user_id, &c->err);
    if (rc)
        return rc;
    api_set_data(c, json_array());
    return 0;
}

/* ---- bonuses ---- */

/* R105: the bonus history, or that of `user_id`. */
static int api_admin_bonus_list(struct api_ctx *c)
{
    struct sqlb where;
    sqlb_init(&where);
    int rc = scope_user(c, &where);
    if (rc == 0)
        rc = api_list(c, &bonus_model, bonus_model.table, &where);
    sqlb_free(&where);
    return rc;
}

/* R106: set_bonus for `user_id` (or the admin): history row, users.bonus, BONUS event. */
static int api_admin_bonus_add(struct api_ctx *c)
{
    int64_t amount = 0, id = 0;
    json_t *row = NULL, *key;
    int rc = target_user(c);
    if (rc)
        return rc;
    if (money_from_json(json_object_get(c->args, "bonus"), &amount))
        return api_fail(c, 400, "Field bonus: expected an amount with at most 2 decimals");
    rc = bonus_set(c->db, c->user_id, amount, json_object_get(c->args, "comment"),
                   "set by admin via PUT /admin/user/bonus", &id, &c->err);
    if (rc)
        return rc;
    key = json_integer(id);
    rc = resource_read(c, &bonus_resource, key, &row);
    json_decref(key);
    if (rc == 0)
        api_set_data(c, row);
    return rc;
}

/*
 * R107 accepts the comment and the date of a row. Its amount is part of the
 * ledger (D7): an unchanged `bonus` (a client sending the whole row back) is
 * dropped, a changed one refused.
 */
static int bonus_before_write(struct api_ctx *c, json_t *values, json_t *key, bool create)
{
    int64_t want = 0, have = 0;
    json_t *row = NULL, *v = json_object_get(values, "bonus");
    if (create || !v)
        return 0;
    int rc = resource_read(c, &bonus_resource, key, &row);
    if (rc)
        return rc;
    if (money_from_json(v, &want) || money_from_json(json_object_get(row, "bonus"), &have) ||
        want != have)
        rc = api_fail(c, 400, "%s", AMOUNT_FIXED_MSG);
    else
        json_object_del(values, "bonus");
    json_decref(row);
    return rc;
}

/* R108: deletes a row and reverses its amount through the ledger (bonus_delete). */
static int api_admin_bonus_delete(struct api_ctx *c)
{
    int64_t id, user_id;
    bool given;
    int rc = positive_arg(c, "user_id", &user_id, &given);
    if (rc == 0)
        rc = positive_arg(c, "id", &id, &given);
    if (rc == 0)
        rc = bonus_delete(c->db, user_id, id, &c->err);
    if (rc)
        return rc;
    api_set_data(c, json_array());
    return 0;
}

/* ---- forecast ---- */

/* R58: what the caller must pay soon (billing.md §16); days, blocked, consider_today. */
static int api_user_forecast(struct api_ctx *c)
{
    struct forecast_opts o = { .days = 3 };
    int64_t days;
    json_t *out = NULL;
    int rc = args_i64(c->args, "days", &days);
    if (rc == ERR_INVALID || (rc == 0 && (days < 0 || days > 3650)))
        return api_fail(c, 400, "Field days: expected a number of days from 0 to 3650");
    if (rc == 0)
        o.days = (int)days;
    o.blocked = args_true(c->args, "blocked");
    o.consider_today = args_true(c->args, "consider_today");
    rc = forecast_build(c->db, c->user_id, &o, time_now(), &out, &c->err);
    if (rc)
        return rc;
    api_set_data(c, out);
    return 0;
}

/* ---- saved recurring payment methods (billing.md §21, src/billing/autopay.c) ---- */

/* R55: [{pay_system, name}] — never the saved tokens. */
static int api_user_autopayment_list(struct api_ctx *c)
{
    json_t *list = NULL;
    int rc = autopay_list(c->db, c->user_id, &list, &c->err);
    if (rc == 0)
        api_set_data(c, list);
    return rc;
}

/*
 * R56: removes the saved method of pay_system, or all of them when it is
 * absent or empty (SHM's `if ($pay_system)`); answers [{"success":1}] as
 * SHM's User::delete_autopayment, also when nothing was saved.
 */
static int api_user_autopayment_delete(struct api_ctx *c)
{
    const char *ps = args_str(c->args, "pay_system");
    int rc = autopay_delete(c->db, c->user_id, ps && *ps ? ps : NULL, NULL, &c->err);
    if (rc == 0)
        api_set_data(c, json_pack("{s:i}", "success", 1));
    return rc;
}

/* ---- routes ---- */

#define R(m, p, a, req, h, fl, tag, sum, d) { m, p, a, req, h, fl, NULL, NULL, tag, sum, d }

static const struct route routes[] = {
    R("GET", "/user/pay", AUTH_USER, NULL, api_user_pay_list, 0, "user", "Own payments", NULL),
    /* R57 */
    R("GET", "/user/pay/forecast", AUTH_USER, NULL, api_user_forecast, 0, "user",
      "Forecast of payments due soon (days, blocked, consider_today)", NULL),           /* R58 */
    R("GET", "/user/autopayment", AUTH_USER, NULL, api_user_autopayment_list, 0, "user",
      "Saved recurring payment methods: [{pay_system, name}]", NULL),                   /* R55 */
    R("DELETE", "/user/autopayment", AUTH_USER, NULL, api_user_autopayment_delete, 0, "user",
      "Delete the saved recurring method of pay_system, or all of them", NULL),         /* R56 */
    R("PUT", "/admin/user/payment", AUTH_ADMIN, "user_id,money", api_admin_payment, 0, "admin",
      "Make a payment (idempotent by uniq_key)", NULL),                                  /* R98 */
    R("GET", "/admin/user/pay", AUTH_ADMIN, NULL, api_admin_pay_list, 0, "admin",
      "List payments (of user_id when given)", NULL),                                    /* R103 */
    R("DELETE", "/admin/user/pay", AUTH_ADMIN, "user_id,id", api_admin_pay_delete, 0, "admin",
      "Delete a payment row; the balance is not changed", NULL),                         /* R104 */
    R("GET", "/admin/user/bonus", AUTH_ADMIN, NULL, api_admin_bonus_list, 0, "admin",
      "List the bonus history (of user_id when given)", NULL),                           /* R105 */
    R("PUT", "/admin/user/bonus", AUTH_ADMIN, "bonus", api_admin_bonus_add, 0, "admin",
      "Add a bonus (history row, bonus balance, BONUS event)", NULL),                    /* R106 */
    R("POST", "/admin/user/bonus", AUTH_ADMIN, NULL, api_resource_update, 0, "admin",
      "Edit the comment or date of a bonus-history row", &bonus_resource),               /* R107 */
    R("DELETE", "/admin/user/bonus", AUTH_ADMIN, "id,user_id", api_admin_bonus_delete, 0,
      "admin", "Delete a bonus-history row and reverse its amount", NULL),               /* R108 */
};

const struct route_table api_payment_routes = ROUTE_TABLE(routes);
