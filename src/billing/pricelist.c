/*
 * pricelist.c — the user's price list (billing.md §8.2). Candidates are the
 * non-deleted services with allow_to_order = 1 (optionally LIKE category),
 * minus order_only_once services the user was ever charged for. The
 * template-driven list (billing.price_list_template_id) is not supported yet.
 */
#include "pricelist.h"
#include "charge.h"
#include "withdraw.h"
#include "../core/money.h"
#include "../core/service.h"
#include "../db/model.h"
#include "../db/sqlb.h"

/* A public call that succeeded leaves no error behind (not-found lookups it handled). */
static int finish_call(int rc, struct err *e)
{
    if (rc == 0)
        err_clear(e);
    return rc;
}

static int composite_rec(struct db *db, int64_t id, int depth, int64_t *out, struct err *e)
{
    struct bill_service s;
    size_t i;
    json_t *ch;
    *out = 0;
    if (depth > 32)
        return 0;
    int rc = bill_service_load(db, id, &s, e);
    if (rc)
        return rc;
    *out = s.cost;
    json_array_foreach(s.children, i, ch) {
        int64_t sub = 0;
        rc = composite_rec(db, json_integer_value(json_object_get(ch, "service_id")), depth + 1,
                           &sub, e);
        if (rc == ERR_NOT_FOUND) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        *out += money_round(money_to_double(sub) * json_number_value(json_object_get(ch, "qnt")));
    }
    bill_service_free(&s);
    return rc;
}

int pricelist_composite_cost(struct db *db, int64_t id, int64_t *out, struct err *e)
{
    return composite_rec(db, id, 0, out, e);
}

/* order_only_once and the user already had a withdraw for it. */
static int hidden_once(struct db *db, int64_t user_id, const struct bill_service *s, bool *hide,
                       struct err *e)
{
    int64_t n = 0;
    struct db_value p[] = { DB_INT(user_id), DB_INT(s->service_id) };
    *hide = false;
    if (!bill_service_flag(s, "order_only_once"))
        return 0;
    int rc = db_query_int(db,
                          "SELECT count(*) FROM withdraw_history WHERE user_id = $1 AND "
                          "service_id = $2",
                          p, 2, &n, e);
    *hide = n > 0;
    return rc;
}

static void add_prices(json_t *item, const struct bill_service *s, int64_t cost,
                       const struct charge_user *u, int64_t personal)
{
    int64_t discount = s->no_discount ? 0 : personal;
    int64_t cost_discount = money_round(money_to_double(cost) * (double)discount / 100);
    int64_t real = cost - cost_discount;
    int64_t bonus = charge_available_bonuses(s->config, u->bonus, real);
    if (bonus > real)
        bonus = real > 0 ? real : 0;
    json_t *partial = json_object_get(s->config, "allow_partial_period");
    json_object_set_new(item, "cost", money_to_json(cost));
    json_object_set_new(item, "discount", json_integer(discount));
    json_object_set_new(item, "cost_discount", money_to_json(cost_discount));
    json_object_set_new(item, "real_cost", money_to_json(real));
    json_object_set_new(item, "cost_bonus", money_to_json(bonus));
    json_object_set_new(item, "real_cost_with_bonuses", money_to_json(real - bonus));
    json_object_set_new(item, "partial_renew", partial ? json_deep_copy(partial) : json_null());
}

/* The price-list entry of row i of r, or NULL when hidden. */
static int build_item(struct db *db, int64_t user_id, const struct db_result *r, int i,
                      const struct charge_user *u, int64_t personal, json_t **item,
                      struct err *e)
{
    struct bill_service s;
    bool hide = false;
    int64_t cost = 0;
    *item = NULL;
    int rc = bill_service_load(db, db_result_get_int(r, i, "service_id"), &s, e);
    if (rc)
        return rc;
    rc = hidden_once(db, user_id, &s, &hide, e);
    if (rc == 0 && !hide) {
        cost = s.cost;
        if (s.is_composite)
            rc = pricelist_composite_cost(db, s.service_id, &cost, e);
        if (rc == 0) {
            *item = model_row_to_json(&service_model, r, i, false);
            add_prices(*item, &s, cost, u, personal);
        }
    }
    bill_service_free(&s);
    return rc;
}

static int candidates(struct db *db, const char *category, int64_t only_id,
                      struct db_result **r, struct err *e)
{
    struct sqlb q;
    sqlb_init(&q);
    sqlb_add(&q, "SELECT ");
    model_select_list(&service_model, &q.sql);
    sqlb_add(&q, " FROM services WHERE allow_to_order = 1 AND deleted = 0");
    if (category && *category) {
        sqlb_add(&q, " AND category %s ", db_sql_ilike(db));
        sqlb_text(&q, category);
    }
    if (only_id) {
        sqlb_add(&q, " AND service_id = ");
        sqlb_int(&q, only_id);
    }
    sqlb_add(&q, " ORDER BY service_id");
    int rc = db_query(db, q.sql.data, q.params, q.n, r, e);
    sqlb_free(&q);
    return rc;
}

static int build(struct db *db, int64_t user_id, const char *category, int64_t only_id,
                 json_t **out, struct err *e)
{
    struct db_result *r = NULL;
    struct charge_user u = { 0 };
    int64_t personal = 0;
    struct db_value p[] = { DB_INT(user_id) };
    *out = json_array();
    int rc = charge_user_read(db, user_id, &u, e);
    if (rc == 0)
        rc = db_query_int(db, "SELECT discount FROM users WHERE user_id = $1", p, 1, &personal, e);
    if (rc == 0)
        rc = candidates(db, category, only_id, &r, e);
    for (int i = 0; rc == 0 && i < db_result_rows(r); i++) {
        json_t *item = NULL;
        rc = build_item(db, user_id, r, i, &u, personal, &item, e);
        if (item)
            json_array_append_new(*out, item);
    }
    db_result_free(r);
    return rc;
}

static int pricelist_build_impl(struct db *db, int64_t user_id, const char *category, json_t **out,
                    struct err *e)
{
    return build(db, user_id, category, 0, out, e);
}

static int pricelist_orderable_impl(struct db *db, int64_t user_id, int64_t service_id, bool *yes,
                        struct err *e)
{
    json_t *list = NULL;
    int rc = build(db, user_id, NULL, service_id, &list, e);
    *yes = rc == 0 && json_array_size(list) > 0;
    json_decref(list);
    return rc;
}

int pricelist_build(struct db *db, int64_t user_id, const char *category, json_t **out,
                    struct err *e)
{
    return finish_call(pricelist_build_impl(db, user_id, category, out, e), e);
}

int pricelist_orderable(struct db *db, int64_t user_id, int64_t service_id, bool *yes,
                        struct err *e)
{
    return finish_call(pricelist_orderable_impl(db, user_id, service_id, yes, e), e);
}
