/*
 * pricelist.c — the user's price list (billing.md §8.2). Candidates are
 * the ids rendered by the template of config billing.price_list_template_id,
 * or the non-deleted services with allow_to_order = 1 matching category and
 * filter; order_only_once services the user was ever charged for are hidden.
 */
#include "pricelist.h"
#include "charge.h"
#include "withdraw.h"
#include "../core/config_store.h"
#include "../core/money.h"
#include "../core/service.h"
#include "../db/list.h"
#include "../db/model.h"
#include "../db/sqlb.h"
#include "../objects/render.h"
#include "../util/buf.h"

/* Most ids a price-list template may return. */
#define TEMPLATE_MAX_IDS 1000
/* Most bytes of price-list template output read. */
#define TEMPLATE_MAX_OUTPUT (1024 * 1024)

/* Set while this thread renders the price-list template (no recursion into it). */
static _Thread_local int g_in_template;

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
    bill_service_from_row(r, i, &s); /* r holds every services column (service_model) */
    int rc = hidden_once(db, user_id, &s, &hide, e);
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

/* The request filter as an object (new reference), NULL when absent. ERR_INVALID when malformed. */
static int filter_object(const json_t *f, json_t **out, struct err *e)
{
    *out = NULL;
    if (!f || json_is_null(f) || (json_is_string(f) && json_string_length(f) == 0))
        return 0;
    json_t *obj = json_is_string(f) ? json_loads(json_string_value(f), 0, NULL)
                                    : json_incref((json_t *)f);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return err_set_status(e, ERR_INVALID, 400, "Field filter: expected a JSON object");
    }
    *out = obj;
    return 0;
}

/* Appends the filter's conditions on services columns to q (api.md §9.6). */
static int add_filter(struct db *db, const json_t *filter, struct sqlb *q, struct err *e)
{
    struct list_page page;
    json_t *obj = NULL, *args;
    int rc = filter_object(filter, &obj, e);
    if (rc || !obj)
        return rc;
    args = json_pack("{s:o}", "filter", obj);
    rc = list_compile(db, &service_model, args, false, q, &page, e);
    list_page_free(&page);
    json_decref(args);
    return rc; /* ERR_INVALID (400) with list_compile's message */
}

/* The orderable services matching category and filter (the non-template candidates). */
static int candidates(struct db *db, const struct pricelist_opts *o, int64_t only_id,
                      struct db_result **r, struct err *e)
{
    struct sqlb w, q;
    sqlb_init(&w);
    sqlb_add(&w, "allow_to_order = 1 AND deleted = 0");
    if (o->category && *o->category) {
        sqlb_add(&w, " AND category %s ", db_sql_ilike(db));
        sqlb_text(&w, o->category);
    }
    if (only_id) {
        sqlb_add(&w, " AND service_id = ");
        sqlb_int(&w, only_id);
    }
    int rc = add_filter(db, o->filter, &w, e);
    if (rc == 0) {
        sqlb_init(&q);
        sqlb_add(&q, "SELECT ");
        model_select_list(&service_model, &q.sql);
        sqlb_add(&q, " FROM services WHERE %s ORDER BY service_id", w.sql.data);
        for (int i = 0; i < w.n; i++)
            sqlb_bind(&q, w.params[i]);
        rc = db_query(db, q.sql.data, q.params, q.n, r, e);
        sqlb_free(&q);
    }
    sqlb_free(&w);
    return rc;
}

/* The one non-deleted service id as a result row (no rows when deleted or absent). */
static int one_service(struct db *db, int64_t id, struct db_result **r, struct err *e)
{
    struct sqlb q;
    sqlb_init(&q);
    sqlb_add(&q, "SELECT ");
    model_select_list(&service_model, &q.sql);
    sqlb_add(&q, " FROM services WHERE deleted = 0 AND service_id = ");
    sqlb_int(&q, id);
    int rc = db_query(db, q.sql.data, q.params, q.n, r, e);
    sqlb_free(&q);
    return rc;
}

/* The template configured in billing.price_list_template_id (owned), or NULL. */
static char *template_id(struct db *db)
{
    json_t *v = config_store_lookup(db, "billing", "price_list_template_id");
    char *id = NULL;
    char num[32];
    if (json_is_string(v) && json_string_length(v) > 0) {
        id = xstrdup(json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        id = xstrdup(num);
    }
    json_decref(v);
    return id;
}

/* Parses the template output: a JSON array of positive integer ids (new array). */
static int parse_ids(const char *tid, const char *text, json_t **ids, struct err *e)
{
    json_t *arr = json_loads(text, JSON_DECODE_ANY, NULL);
    size_t i;
    json_t *v;
    bool ok = json_is_array(arr) && json_array_size(arr) <= TEMPLATE_MAX_IDS;
    json_array_foreach(ok ? arr : NULL, i, v) {
        if (!(json_is_integer(v) && json_integer_value(v) > 0) &&
            !(json_is_string(v) && strtoll(json_string_value(v), NULL, 10) > 0))
            ok = false;
    }
    if (!ok) {
        json_decref(arr);
        return err_set_status(e, ERR_INVALID, 400,
                              "billing.price_list_template_id: template %s must render a JSON "
                              "array of at most %d service ids",
                              tid, TEMPLATE_MAX_IDS);
    }
    *ids = arr;
    return 0;
}

/* Renders template tid as user_id with category and filter as variables. */
static int render_ids(struct db *db, int64_t user_id, const char *tid,
                      const struct pricelist_opts *o, json_t **ids, struct err *e)
{
    struct render_ctx r = { .db = db, .user_id = user_id };
    struct buf out;
    json_t *vars = json_object();
    if (o->category)
        json_object_set_new(vars, "category", json_string(o->category));
    if (o->filter)
        json_object_set(vars, "filter", (json_t *)o->filter);
    r.vars = vars;
    buf_init(&out, TEMPLATE_MAX_OUTPUT);
    g_in_template++;
    int rc = render_template(&r, tid, &out, NULL, e);
    g_in_template--;
    if (rc == 0)
        rc = parse_ids(tid, out.data ? out.data : "", ids, e);
    render_ctx_release(&r);
    buf_free(&out);
    json_decref(vars);
    return rc;
}

static int64_t id_value(const json_t *v)
{
    return json_is_integer(v) ? json_integer_value(v) : strtoll(json_string_value(v), NULL, 10);
}

/* True when id occurs in ids before position before. */
static bool seen_before(const json_t *ids, size_t before, int64_t id)
{
    for (size_t i = 0; i < before; i++)
        if (id_value(json_array_get(ids, i)) == id)
            return true;
    return false;
}

static int build_from_rows(struct db *db, int64_t user_id, struct db_result *r,
                           const struct charge_user *u, int64_t personal, json_t *out,
                           struct err *e)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < db_result_rows(r); i++) {
        json_t *item = NULL;
        rc = build_item(db, user_id, r, i, u, personal, &item, e);
        if (item)
            json_array_append_new(out, item);
    }
    return rc;
}

/* The template candidates, in the template's order, each once. */
static int build_from_template(struct db *db, int64_t user_id, const char *tid,
                               const struct pricelist_opts *o, int64_t only_id,
                               const struct charge_user *u, int64_t personal, json_t *out,
                               struct err *e)
{
    json_t *ids = NULL;
    int rc = render_ids(db, user_id, tid, o, &ids, e);
    for (size_t i = 0; rc == 0 && i < json_array_size(ids); i++) {
        int64_t id = id_value(json_array_get(ids, i));
        struct db_result *r = NULL;
        if ((only_id && id != only_id) || seen_before(ids, i, id))
            continue;
        rc = one_service(db, id, &r, e);
        if (rc == 0)
            rc = build_from_rows(db, user_id, r, u, personal, out, e);
        db_result_free(r);
    }
    json_decref(ids);
    return rc;
}

static int build(struct db *db, int64_t user_id, const struct pricelist_opts *o,
                 int64_t only_id, json_t **out, struct err *e)
{
    struct db_result *r = NULL;
    struct charge_user u = { 0 };
    int64_t personal = 0;
    struct db_value p[] = { DB_INT(user_id) };
    char *tid = g_in_template ? NULL : template_id(db);
    *out = json_array();
    int rc = charge_user_read(db, user_id, &u, e);
    if (rc == 0)
        rc = db_query_int(db, "SELECT discount FROM users WHERE user_id = $1", p, 1, &personal, e);
    if (rc == 0 && tid)
        rc = build_from_template(db, user_id, tid, o, only_id, &u, personal, *out, e);
    else if (rc == 0 && (rc = candidates(db, o, only_id, &r, e)) == 0)
        rc = build_from_rows(db, user_id, r, &u, personal, *out, e);
    db_result_free(r);
    free(tid);
    if (rc) { /* nothing half-built is handed out */
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static int pricelist_query_impl(struct db *db, int64_t user_id, const struct pricelist_opts *o,
                                json_t **out, struct err *e)
{
    return build(db, user_id, o, 0, out, e);
}

static int pricelist_build_impl(struct db *db, int64_t user_id, const char *category, json_t **out,
                    struct err *e)
{
    struct pricelist_opts o = { .category = category };
    return build(db, user_id, &o, 0, out, e);
}

static int pricelist_orderable_impl(struct db *db, int64_t user_id, int64_t service_id, bool *yes,
                        struct err *e)
{
    json_t *list = NULL;
    struct pricelist_opts o = { 0 };
    int rc = build(db, user_id, &o, service_id, &list, e);
    *yes = rc == 0 && json_array_size(list) > 0;
    json_decref(list);
    return rc;
}

int pricelist_build(struct db *db, int64_t user_id, const char *category, json_t **out,
                    struct err *e)
{
    return finish_call(pricelist_build_impl(db, user_id, category, out, e), e);
}

int pricelist_query(struct db *db, int64_t user_id, const struct pricelist_opts *o,
                    json_t **out, struct err *e)
{
    return finish_call(pricelist_query_impl(db, user_id, o, out, e), e);
}

int pricelist_orderable(struct db *db, int64_t user_id, int64_t service_id, bool *yes,
                        struct err *e)
{
    return finish_call(pricelist_orderable_impl(db, user_id, service_id, yes, e), e);
}
