/*
 * forecast.c — the payment forecast (billing.md §16). Reads only; the
 * forecast withdraws are priced with withdraw_calc() and never stored.
 */
#include "forecast.h"
#include "charge.h"
#include "usvc.h"
#include "withdraw.h"
#include "../core/money.h"
#include "../core/period.h"
#include "../util/timeutil.h"

/* Start of the local day of now + 1 (0 with consider_today) + days days. */
static int64_t horizon(const struct forecast_opts *o, int64_t now)
{
    struct period_date d;
    period_date_from_time(now, &d);
    d.hour = d.min = d.sec = 0;
    period_date_add_dhms(&d, (o->consider_today ? 0 : 1) + o->days, 0, 0, 0);
    return period_date_to_time(&d);
}

/* The running state of one forecast. */
struct fc {
    struct db *db;
    int64_t now;
    enum calc_strategy st;
    int64_t pool; /* bonuses left */
    int64_t sum;  /* Σ next.total */
    json_t *items;
    struct err *e;
};

static json_t *qnt_json(double q)
{
    return q == (double)(int64_t)q ? json_integer((json_int_t)q) : json_real(q);
}

/* The part of an item that describes a withdraw. */
static void put_wd(json_t *obj, const struct wd *w)
{
    json_object_set_new(obj, "cost", money_to_json(w->cost));
    json_object_set_new(obj, "months", period_to_json(w->months));
    json_object_set_new(obj, "qnt", qnt_json(w->qnt));
    json_object_set_new(obj, "discount", json_integer(w->discount));
    json_object_set_new(obj, "total", money_to_json(w->total));
}

/* Which service and price the next withdraw of us takes (§16.1 step 4); *skip when none. */
static int next_source(struct fc *f, const struct usvc *us, const struct wd *cur, int64_t *sid,
                       struct wd_input *in, bool *skip)
{
    struct wd later;
    *skip = false;
    memset(in, 0, sizeof(*in));
    *sid = us->service_id;
    int rc = 0;
    const struct wd *src = cur;
    if (cur->withdraw_date) {
        struct db_value p[] = { DB_INT(us->user_service_id), DB_INT(cur->withdraw_id) };
        struct db_result *r = NULL;
        rc = db_query(f->db,
                      "SELECT withdraw_id, withdraw_date FROM withdraw_history WHERE "
                      "user_service_id = $1 AND withdraw_id > $2 ORDER BY withdraw_id LIMIT 1",
                      p, 2, &r, f->e);
        bool has = rc == 0 && db_result_rows(r) > 0;
        bool paid = has && !db_result_is_null(r, 0, 1);
        int64_t id = has ? db_result_int(r, 0, 0) : 0;
        db_result_free(r);
        if (rc || (has && paid)) {
            *skip = has && paid;
            return rc;
        }
        if (has && (rc = withdraw_get(f->db, id, &later, f->e)))
            return rc;
        if (has)
            src = &later;
        else if (us->next > 0) {
            *sid = us->next;
            in->qnt = 1;
            return 0;
        }
    }
    *sid = src->service_id;
    in->has_cost = true;
    in->cost = src->cost;
    in->discount = src->discount;
    in->qnt = src->qnt;
    return 0;
}

static json_t *service_name(const struct bill_service *s, const struct usvc *us)
{
    char *n = usvc_name(s->name, us->settings);
    json_t *out = json_string(n);
    free(n);
    return out;
}

/* The forecast `next` object of us; NULL when skipped or not positive. */
static int next_item(struct fc *f, const struct usvc *us, const struct wd *cur, json_t **out)
{
    struct bill_service s;
    struct wd_input in;
    struct wd w;
    int64_t sid = 0;
    bool skip = false;
    *out = NULL;
    int rc = next_source(f, us, cur, &sid, &in, &skip);
    if (rc || skip || (rc = bill_service_load(f->db, sid, &s, f->e)))
        return rc;
    in.has_months = true;
    in.months = s.period;
    in.withdraw_date = f->now;
    rc = withdraw_calc(f->db, f->st, us->user_id, &s, &in, f->now, &w, f->e);
    if (rc == 0) {
        int64_t bonus = charge_available_bonuses(s.config, f->pool, w.total);
        bonus = bonus > w.total ? (w.total > 0 ? w.total : 0) : bonus;
        w.total -= bonus;
        if (w.total > 0) {
            f->pool -= bonus;
            *out = json_object();
            json_object_set_new(*out, "name", service_name(&s, us));
            json_object_set_new(*out, "service_id", json_integer(s.service_id));
            json_object_set_new(*out, "bonus", money_to_json(bonus));
            put_wd(*out, &w);
            f->sum += w.total;
        }
    }
    bill_service_free(&s);
    return rc;
}

static int add_item(struct fc *f, int64_t usi)
{
    struct usvc us;
    struct wd cur;
    struct bill_service s;
    json_t *next = NULL;
    int rc = usvc_load(f->db, usi, &us, f->e);
    if (rc)
        return rc;
    if ((us.next == -1 && us.expire) || (rc = withdraw_get(f->db, us.withdraw_id, &cur, f->e)) ||
        (rc = next_item(f, &us, &cur, &next)) || !next ||
        (rc = bill_service_load(f->db, us.service_id, &s, f->e))) {
        usvc_free(&us);
        json_decref(next);
        return rc == ERR_NOT_FOUND ? 0 : rc;
    }
    char expire[32] = "";
    if (us.expire)
        time_format_local(us.expire, expire, sizeof(expire));
    json_t *item = json_object();
    json_object_set_new(item, "name", service_name(&s, &us));
    json_object_set_new(item, "service_id", json_integer(us.service_id));
    json_object_set_new(item, "usi", json_integer(usi));
    json_object_set_new(item, "user_service_id", json_integer(usi));
    json_object_set_new(item, "status", json_string(us.status));
    json_object_set_new(item, "expire", json_string(expire));
    put_wd(item, &cur);
    json_object_set_new(item, "next", next);
    json_array_append_new(f->items, item);
    bill_service_free(&s);
    usvc_free(&us);
    return 0;
}

static int candidates(struct db *db, int64_t user_id, const struct forecast_opts *o,
                      int64_t until, struct db_result **r, struct err *e)
{
    struct db_value p[] = { DB_INT(user_id), DB_INT(until) };
    return db_query(db,
                    o->blocked
                        ? "SELECT user_service_id FROM user_services WHERE user_id = $1 AND "
                          "auto_bill = 1 AND withdraw_id IS NOT NULL AND status IN ('INIT', "
                          "'PROGRESS', 'ACTIVE', 'NOT PAID', 'BLOCK') AND (expire < $2 OR "
                          "expire IS NULL) ORDER BY user_service_id"
                        : "SELECT user_service_id FROM user_services WHERE user_id = $1 AND "
                          "auto_bill = 1 AND withdraw_id IS NOT NULL AND status IN ('INIT', "
                          "'PROGRESS', 'ACTIVE', 'NOT PAID') AND (expire < $2 OR "
                          "expire IS NULL) ORDER BY user_service_id",
                    p, 2, r, e);
}

static json_t *result(const struct fc *f, const struct charge_user *u)
{
    int64_t total = f->sum;
    json_t *out = json_object();
    json_object_set_new(out, "balance", money_to_json(u->balance));
    json_object_set_new(out, "bonuses", money_to_json(u->bonus));
    if (u->balance > 0) {
        total = total > u->balance ? total - u->balance : 0;
    } else if (u->balance < 0) {
        json_object_set_new(out, "dept", money_to_json(-u->balance));
        total += -u->balance;
    }
    if (json_array_size(f->items) == 0)
        total = 0;
    json_object_set_new(out, "total", money_to_json(total));
    json_object_set(out, "items", f->items);
    return out;
}

static int forecast_build_impl(struct db *db, int64_t user_id, const struct forecast_opts *o,
                               int64_t now, json_t **out, struct err *e)
{
    struct charge_user u;
    struct db_result *r = NULL;
    struct fc f = { db, now, withdraw_strategy(db), 0, 0, json_array(), e };
    int rc = charge_user_read(db, user_id, &u, e);
    f.pool = u.bonus;
    if (rc == 0)
        rc = candidates(db, user_id, o, horizon(o, now), &r, e);
    for (int i = 0; rc == 0 && i < db_result_rows(r); i++)
        rc = add_item(&f, db_result_int(r, i, 0));
    db_result_free(r);
    *out = rc ? NULL : result(&f, &u);
    json_decref(f.items);
    return rc;
}

int forecast_build(struct db *db, int64_t user_id, const struct forecast_opts *o, int64_t now,
                   json_t **out, struct err *e)
{
    int rc = forecast_build_impl(db, user_id, o, now, out, e);
    if (rc == 0)
        err_clear(e);
    return rc;
}
