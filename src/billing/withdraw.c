/*
 * withdraw.c — calc_withdraw and discounts (billing.md §6), the billing view
 * of a service, and the withdraw_history rows (data-model.md §3.4).
 *
 * The range total comes from the strategies (calc.c); the discount and
 * quantity step is SHM's round((total − total·discount/100) · qnt), done in
 * double precision in SHM's operation order.
 */
#include "withdraw.h"
#include "bcache.h"
#include "../core/config_store.h"
#include "../core/money.h"
#include "../core/period.h"
#include "../core/service.h"
#include "../db/sqlb.h"
#include "../util/log.h"

#include <math.h>
#include <stddef.h>

/* A public call that succeeded leaves no error behind (not-found lookups it handled). */
static int finish_call(int rc, struct err *e)
{
    if (rc == 0)
        err_clear(e);
    return rc;
}

static const struct field wd_fields[] = {
    { "withdraw_id", FT_INT, FF_KEY, "Withdraw id", 0, NULL },
    { "user_id", FT_INT, 0, "Owner", 0, NULL },
    { "create_date", FT_DATE, 0, "Created", 0, NULL },
    { "withdraw_date", FT_DATE, 0, "Paid at", 0, NULL },
    { "end_date", FT_DATE, 0, "Paid through", 0, NULL },
    { "cost", FT_MONEY, 0, "Cost per period", 0, NULL },
    { "discount", FT_INT, 0, "Discount %", 0, NULL },
    { "bonus", FT_MONEY, 0, "Paid with bonuses", 0, NULL },
    { "months", FT_PERIOD, 0, "Period bought", 0, NULL },
    { "total", FT_MONEY, 0, "Paid with money", 0, NULL },
    { "service_id", FT_INT, 0, "Service", 0, NULL },
    { "qnt", FT_REAL, 0, "Quantity", 0, NULL },
    { "user_service_id", FT_INT, 0, "User service", 0, NULL },
};

const struct model withdraw_model = {
    "Withdraw", "withdraw_history", "withdraw_id", wd_fields, ARRAY_SIZE(wd_fields),
};

#define WD_COLS                                                                              \
    "withdraw_id, user_id, create_date, withdraw_date, end_date, cost, discount, bonus, "   \
    "months, total, service_id, qnt, user_service_id"

/* ---- the service view ---- */

static bool cell_true(const struct db_result *r, int row, const char *col)
{
    return db_result_get_int(r, row, col) != 0;
}

static json_t *cell_json(const struct db_result *r, int row, const char *col)
{
    const char *s = db_result_get(r, row, col);
    return s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

void bill_service_from_row(const struct db_result *r, int row, struct bill_service *out)
{
    const char *name = db_result_get(r, row, "name");
    const char *category = db_result_get(r, row, "category");
    memset(out, 0, sizeof(*out));
    out->service_id = db_result_get_int(r, row, "service_id");
    out->name = xstrdup(name ? name : "");
    out->category = category ? xstrdup(category) : NULL;
    out->cost = db_result_get_int(r, row, "cost");
    out->period = db_result_get_int(r, row, "period");
    out->next = db_result_get_int(r, row, "next");
    out->pay_always = cell_true(r, row, "pay_always");
    out->no_discount = cell_true(r, row, "no_discount");
    out->pay_in_credit = cell_true(r, row, "pay_in_credit");
    out->is_composite = cell_true(r, row, "is_composite");
    out->allow_to_order = cell_true(r, row, "allow_to_order");
    out->deleted = cell_true(r, row, "deleted");
    json_t *cfg = cell_json(r, row, "config");
    out->config = json_is_object(cfg) ? cfg : json_object();
    if (!json_is_object(cfg))
        json_decref(cfg);
    json_t *ch = cell_json(r, row, "children");
    out->children = service_children_read(ch);
    json_decref(ch);
}

int bill_service_load(struct db *db, int64_t id, struct bill_service *out, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(id) };
    memset(out, 0, sizeof(*out));
    int rc = db_query(db,
                      "SELECT service_id, name, cost, period, category, children, next, "
                      "pay_always, no_discount, pay_in_credit, is_composite, allow_to_order, "
                      "deleted, config FROM services WHERE service_id = $1",
                      p, 1, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) == 0) {
        db_result_free(r);
        return err_set_status(e, ERR_NOT_FOUND, 404, "Service not found");
    }
    bill_service_from_row(r, 0, out);
    out->service_id = id;
    db_result_free(r);
    return 0;
}

void bill_service_free(struct bill_service *s)
{
    free(s->name);
    free(s->category);
    json_decref(s->config);
    json_decref(s->children);
    memset(s, 0, sizeof(*s));
}

bool bill_service_flag(const struct bill_service *s, const char *key)
{
    json_t *v = json_object_get(s->config, key);
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_real(v))
        return json_real_value(v) != 0;
    if (json_is_string(v))
        return json_string_length(v) > 0 && strcmp(json_string_value(v), "0") != 0;
    return true;
}

enum calc_strategy withdraw_strategy(struct db *db)
{
    json_t *v = config_store_lookup(db, "billing", "type");
    enum calc_strategy s = calc_strategy_from_name(json_is_string(v) ? json_string_value(v) : NULL);
    json_decref(v);
    return s;
}

/* ---- discounts (§6.3) ---- */

static int personal_discount(struct db *db, int64_t user_id, int64_t *out, struct err *e)
{
    struct db_value p[] = { DB_INT(user_id) };
    int rc = db_query_int(db, "SELECT discount FROM users WHERE user_id = $1", p, 1, out, e);
    if (rc == ERR_NOT_FOUND) {
        *out = 0;
        return 0;
    }
    return rc;
}

int withdraw_period_discount(struct db *db, int64_t months, int64_t *out, struct err *e)
{
    struct db_value p[] = { DB_INT(months / PERIOD_SCALE) };
    int rc = db_query_int(db,
                          "SELECT percent FROM discounts WHERE months <= $1 "
                          "ORDER BY months DESC, discount_id DESC LIMIT 1",
                          p, 1, out, e);
    if (rc == ERR_NOT_FOUND) {
        *out = 0;
        err_clear(e);
        return 0;
    }
    return rc;
}

static int withdraw_discount_impl(struct db *db, struct bcache *c, int64_t user_id,
                                  const struct bill_service *s, int64_t months, int64_t *out,
                                  struct err *e)
{
    int64_t personal = 0, extra = 0;
    *out = 0;
    if (s->no_discount)
        return 0;
    int rc = personal_discount(db, user_id, &personal, e);
    if (rc == 0 && s->period < 2 * PERIOD_SCALE)
        rc = bcache_period_discount(c, db, months, &extra, e);
    if (rc)
        return rc;
    *out = personal + extra > 100 ? 100 : personal + extra;
    return 0;
}

/* ---- calc_withdraw (§6.2) ---- */

/* round((total − total·discount/100) · qnt), SHM's operation order. */
static int64_t apply_discount(int64_t total, int64_t discount, double qnt)
{
    double t = money_to_double(total);
    return money_round((t - t * (double)discount / 100) * qnt);
}

static int withdraw_calc_impl(struct db *db, struct bcache *c, enum calc_strategy st,
                              int64_t user_id, const struct bill_service *s,
                              const struct wd_input *in, int64_t now, struct wd *out,
                              struct err *e)
{
    struct calc_range range = { 0 };
    memset(out, 0, sizeof(*out));
    out->user_id = user_id;
    out->service_id = s->service_id;
    out->qnt = in->qnt < 1 ? 1 : in->qnt;
    out->cost = in->has_cost ? in->cost : s->cost;
    out->months = in->has_months ? in->months : s->period;
    out->withdraw_date = in->withdraw_date ? in->withdraw_date : now;
    out->create_date = now;
    int rc = calc_end_date(st, out->withdraw_date, out->months, &out->end_date);
    if (rc)
        return err_set(e, rc, "Field months: can't compute the end date");
    if (out->months == s->period) {
        range.total = out->cost;
    } else if ((rc = calc_total(st, out->cost, s->period, out->withdraw_date, out->end_date,
                                &range))) {
        return err_set(e, rc, "Field months: can't compute the total");
    }
    out->discount = in->discount;
    if (!out->discount &&
        (rc = withdraw_discount_impl(db, c, user_id, s, out->months, &out->discount, e)))
        return rc;
    if (s->no_discount)
        out->discount = 0;
    out->total = apply_discount(range.total, out->discount, out->qnt) - in->bonus;
    out->bonus = in->bonus;
    return 0;
}

/* ---- rows ---- */

/* Column positions of WD_COLS (read by position: no name lookup per cell). */
enum wd_col {
    WC_ID, WC_USER, WC_CREATE, WC_WITHDRAW, WC_END, WC_COST, WC_DISCOUNT, WC_BONUS, WC_MONTHS,
    WC_TOTAL, WC_SERVICE, WC_QNT, WC_US,
};

/* The integer columns of WD_COLS and the fields of struct wd they fill. */
static const struct {
    enum wd_col col;
    size_t off;
} wd_ints[] = {
    { WC_ID, offsetof(struct wd, withdraw_id) },   { WC_USER, offsetof(struct wd, user_id) },
    { WC_CREATE, offsetof(struct wd, create_date) },
    { WC_WITHDRAW, offsetof(struct wd, withdraw_date) },
    { WC_END, offsetof(struct wd, end_date) },      { WC_COST, offsetof(struct wd, cost) },
    { WC_DISCOUNT, offsetof(struct wd, discount) }, { WC_BONUS, offsetof(struct wd, bonus) },
    { WC_MONTHS, offsetof(struct wd, months) },     { WC_TOTAL, offsetof(struct wd, total) },
    { WC_SERVICE, offsetof(struct wd, service_id) },
    { WC_US, offsetof(struct wd, user_service_id) },
};

/* Row i of a result selecting WD_COLS. */
static void row_to_wd(const struct db_result *r, int i, struct wd *w)
{
    const char *q = db_result_text(r, i, WC_QNT);
    for (size_t k = 0; k < ARRAY_SIZE(wd_ints); k++)
        *(int64_t *)(void *)((char *)w + wd_ints[k].off) = db_result_int(r, i, wd_ints[k].col);
    w->qnt = q ? strtod(q, NULL) : 1;
}

static int read_one(struct db *db, const char *sql, const struct db_value *p, int n,
                    struct wd *out, struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(db, sql, p, n, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) == 0)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, "Withdraw not found");
    else
        row_to_wd(r, 0, out);
    db_result_free(r);
    return rc;
}

int withdraw_get(struct db *db, int64_t id, struct wd *out, struct err *e)
{
    struct db_value p[] = { DB_INT(id) };
    return read_one(db, "SELECT " WD_COLS " FROM withdraw_history WHERE withdraw_id = $1", p, 1,
                    out, e);
}

int withdraw_next_queued(struct db *db, int64_t usi, int64_t after_id, struct wd *out,
                         struct err *e)
{
    struct db_value p[] = { DB_INT(usi), DB_INT(after_id) };
    /* The user_id term lets the (user_id, user_service_id) index serve the lookup; without
       it the engines walk withdraw_history from after_id on, once per renewal (quadratic
       renewal passes, docs/benchmarks.md). */
    return read_one(db,
                    "SELECT " WD_COLS " FROM withdraw_history WHERE user_id = (SELECT user_id "
                    "FROM user_services WHERE user_service_id = $1) AND user_service_id = $1 "
                    "AND withdraw_id > $2 AND withdraw_date IS NULL ORDER BY withdraw_id LIMIT 1",
                    p, 2, out, e);
}

/* The text bound for qnt: "%.17g", a whole quantity (mostly 1) without printf's floating point. */
static void qnt_text(double q, char out[40])
{
    if (q > -1e15 && q < 1e15 && q != 0 && q == (double)(int64_t)q)
        snprintf(out, 40, "%lld", (long long)q);
    else
        snprintf(out, 40, "%.17g", q);
}

static struct db_value date_or_null(int64_t t)
{
    return t ? DB_INT(t) : DB_NULL;
}

int withdraw_insert(struct db *db, struct wd *w, struct err *e)
{
    char qnt[40];
    qnt_text(w->qnt, qnt);
    struct db_value p[] = {
        DB_INT(w->user_id), DB_INT(w->create_date), date_or_null(w->withdraw_date),
        date_or_null(w->end_date), DB_INT(w->cost), DB_INT(w->discount), DB_INT(w->bonus),
        DB_INT(w->months), DB_INT(w->total), DB_INT(w->service_id), DB_TEXT(qnt),
        DB_INT(w->user_service_id),
    };
    return db_insert(db,
                     "INSERT INTO withdraw_history (user_id, create_date, withdraw_date, "
                     "end_date, cost, discount, bonus, months, total, service_id, qnt, "
                     "user_service_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                     "$12)",
                     "withdraw_id", p, (int)ARRAY_SIZE(p), &w->withdraw_id, e);
}

int withdraw_update(struct db *db, const struct wd *w, struct err *e)
{
    char qnt[40];
    qnt_text(w->qnt, qnt);
    struct db_value p[] = {
        DB_INT(w->withdraw_id), DB_INT(w->create_date), date_or_null(w->withdraw_date),
        date_or_null(w->end_date), DB_INT(w->cost), DB_INT(w->discount), DB_INT(w->bonus),
        DB_INT(w->months), DB_INT(w->total), DB_INT(w->service_id), DB_TEXT(qnt),
    };
    return db_exec(db,
                   "UPDATE withdraw_history SET create_date = $2, withdraw_date = $3, "
                   "end_date = $4, cost = $5, discount = $6, bonus = $7, months = $8, "
                   "total = $9, service_id = $10, qnt = $11 WHERE withdraw_id = $1",
                   p, (int)ARRAY_SIZE(p), NULL, e);
}

int withdraw_delete(struct db *db, int64_t id, struct err *e)
{
    struct db_value p[] = { DB_INT(id) };
    return db_exec(db, "DELETE FROM withdraw_history WHERE withdraw_id = $1", p, 1, NULL, e);
}

json_t *withdraw_to_json(struct db *db, int64_t id)
{
    struct db_result *r = NULL;
    struct err e = { 0 };
    struct db_value p[] = { DB_INT(id) };
    json_t *out = NULL;
    if (db_query(db, "SELECT " WD_COLS " FROM withdraw_history WHERE withdraw_id = $1", p, 1, &r,
                 &e))
        return NULL;
    if (db_result_rows(r) > 0)
        out = model_row_to_json(&withdraw_model, r, 0, true);
    db_result_free(r);
    return out;
}

int withdraw_discount(struct db *db, int64_t user_id, const struct bill_service *s,
                      int64_t months, int64_t *out, struct err *e)
{
    return finish_call(withdraw_discount_impl(db, NULL, user_id, s, months, out, e), e);
}

int withdraw_calc(struct db *db, enum calc_strategy st, int64_t user_id,
                  const struct bill_service *s, const struct wd_input *in, int64_t now,
                  struct wd *out, struct err *e)
{
    return finish_call(withdraw_calc_impl(db, NULL, st, user_id, s, in, now, out, e), e);
}

int withdraw_calc_cached(struct db *db, struct bcache *c, enum calc_strategy st, int64_t user_id,
                         const struct bill_service *s, const struct wd_input *in, int64_t now,
                         struct wd *out, struct err *e)
{
    return finish_call(withdraw_calc_impl(db, c, st, user_id, s, in, now, out, e), e);
}
