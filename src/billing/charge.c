/*
 * charge.c — paying withdraws (billing.md §7). Every balance and bonus
 * change goes through ledger_adjust() (DECISIONS D7); the bonus part is also
 * written to bonus_history with the comment {"withdraw_id": N} (§7.5).
 */
#include "charge.h"
#include "bcache.h"
#include "ledger.h"
#include "../core/money.h"

#include <math.h>

/* A public call that succeeded leaves no error behind (not-found lookups it handled). */
static int finish_call(int rc, struct err *e)
{
    if (rc == 0)
        err_clear(e);
    return rc;
}

static int user_load(struct db *db, int64_t user_id, bool lock, struct charge_user *out,
                     struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(user_id) };
    /* the row lock serialises concurrent charges of one user on PostgreSQL */
    char sql[128];
    snprintf(sql, sizeof(sql),
             "SELECT balance, bonus, credit, can_overdraft FROM users WHERE user_id = $1%s",
             lock ? db_sql_for_update(db) : "");
    int rc = db_query(db, sql, p, 1, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) == 0) {
        db_result_free(r);
        return err_set_status(e, ERR_NOT_FOUND, 404, "User not found");
    }
    out->balance = db_result_get_int(r, 0, "balance");
    out->bonus = db_result_get_int(r, 0, "bonus");
    out->credit = db_result_get_int(r, 0, "credit");
    out->can_overdraft = db_result_get_int(r, 0, "can_overdraft") != 0;
    db_result_free(r);
    return 0;
}

int charge_user_load(struct db *db, int64_t user_id, struct charge_user *out, struct err *e)
{
    return user_load(db, user_id, true, out, e);
}

int charge_user_read(struct db *db, int64_t user_id, struct charge_user *out, struct err *e)
{
    return user_load(db, user_id, false, out, e);
}

/* The configured limit_bonus_percent as a number; false when absent (absent ≠ 0). */
static bool bonus_limit(const json_t *cfg, double *out)
{
    json_t *v = json_object_get(cfg, "limit_bonus_percent");
    if (!v || json_is_null(v))
        return false;
    if (json_is_number(v))
        *out = json_number_value(v);
    else if (json_is_string(v))
        *out = strtod(json_string_value(v), NULL);
    else
        *out = 0;
    return true;
}

int64_t charge_available_bonuses(const json_t *service_config, int64_t user_bonus, int64_t total)
{
    double limit = 0;
    if (user_bonus <= 0)
        return 0;
    if (!bonus_limit(service_config, &limit) || limit >= 100)
        return user_bonus;
    if (total <= 0)
        return 0;
    int64_t part = money_round(money_to_double(total) * floor(limit) / 100);
    return part < user_bonus ? part : user_bonus;
}

bool charge_insufficient(const struct charge_user *u, int64_t available, int64_t amount,
                         bool pay_in_credit)
{
    return amount > 0 && u->balance + u->credit + available < amount && !u->can_overdraft &&
           !pay_in_credit;
}

static int bonus_history_add(struct db *db, const struct wd *w, int64_t amount, int64_t now,
                             int64_t *id, struct err *e)
{
    char comment[64];
    snprintf(comment, sizeof(comment), "{\"withdraw_id\":%lld}", (long long)w->withdraw_id);
    struct db_value p[] = { DB_INT(w->user_id), DB_INT(now), DB_INT(amount), DB_TEXT(comment) };
    return db_insert(db,
                     "INSERT INTO bonus_history (user_id, date, bonus, comment) "
                     "VALUES ($1, $2, $3, $4)",
                     "id", p, 4, id, e);
}

/* charge_apply for user u, read in this transaction (the row lock is already held). */
static int apply_loaded(struct db *db, struct wd *w, const json_t *cfg, int64_t now,
                        const struct charge_user *u, struct err *e)
{
    int64_t bh = 0;
    int64_t bonus = charge_available_bonuses(cfg, u->bonus, w->total);
    if (bonus > w->total)
        bonus = w->total;
    if (bonus < 0)
        bonus = 0;
    int64_t money = w->total - bonus;
    int rc = 0;
    if (bonus > 0 && (rc = bonus_history_add(db, w, -bonus, now, &bh, e)))
        return rc;
    rc = ledger_adjust(db, w->user_id, -money, -bonus, "withdraw", "withdraw_history",
                       w->withdraw_id, NULL, e);
    if (rc)
        return rc;
    w->bonus = bonus;
    w->total = money;
    w->withdraw_date = now;
    return withdraw_update(db, w, e);
}

int charge_apply(struct db *db, struct wd *w, const json_t *cfg, int64_t now, struct err *e)
{
    struct charge_user u;
    int rc = charge_user_load(db, w->user_id, &u, e);
    return rc ? rc : apply_loaded(db, w, cfg, now, &u, e);
}

/* ---- the user-service side (§7.1, §7.3) ---- */

struct us_link {
    int64_t withdraw_id, parent, service_id, user_id;
};

static int link_load(struct db *db, int64_t usi, struct us_link *out, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(usi) };
    int rc = db_query(db,
                      "SELECT withdraw_id, parent, service_id, user_id FROM user_services "
                      "WHERE user_service_id = $1",
                      p, 1, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) == 0)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    else {
        out->withdraw_id = db_result_get_int(r, 0, "withdraw_id");
        out->parent = db_result_get_int(r, 0, "parent");
        out->service_id = db_result_get_int(r, 0, "service_id");
        out->user_id = db_result_get_int(r, 0, "user_id");
    }
    db_result_free(r);
    return rc;
}

/*
 * The top of the tree of usi (itself when it has no parent) and its link, from
 * start, the link of usi already read; depth-capped.
 */
static int find_root(struct db *db, int64_t usi, const struct us_link *start, int64_t *root,
                     struct us_link *rl, struct err *e)
{
    *root = usi;
    *rl = *start;
    for (int depth = 1; depth < 64 && rl->parent; depth++) {
        *root = rl->parent;
        int rc = link_load(db, *root, rl, e);
        if (rc)
            return rc;
    }
    if (!rl->parent)
        return 0;
    *root = rl->parent;
    return link_load(db, *root, rl, e);
}

/* Sum of the current withdraw totals of every descendant of usi. */
static int descendants_total(struct db *db, int64_t usi, int depth, int64_t *sum, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(usi) };
    if (depth > 64)
        return 0;
    int rc = db_query(db,
                      "SELECT u.user_service_id, COALESCE(w.total, 0) AS total FROM user_services u "
                      "LEFT JOIN withdraw_history w ON w.withdraw_id = u.withdraw_id "
                      "WHERE u.parent = $1 AND u.status <> 'REMOVED'",
                      p, 1, &r, e);
    for (int i = 0; rc == 0 && i < db_result_rows(r); i++) {
        *sum += db_result_get_int(r, i, "total");
        rc = descendants_total(db, db_result_get_int(r, i, "user_service_id"), depth + 1, sum, e);
    }
    db_result_free(r);
    return rc;
}

/* True when the root's current withdraw is paid (or it has none). */
static int root_paid(struct db *db, int64_t root, bool *paid, struct err *e)
{
    struct us_link l;
    struct wd w;
    int rc = link_load(db, root, &l, e);
    if (rc || !l.withdraw_id) {
        *paid = rc == 0;
        return rc;
    }
    if ((rc = withdraw_get(db, l.withdraw_id, &w, e)))
        return rc == ERR_NOT_FOUND ? (*paid = true, 0) : rc;
    *paid = w.withdraw_date != 0;
    return 0;
}

/* Pays w when amount (its total, or the composite sum) is affordable. */
static int pay_checked(struct db *db, struct wd *w, const struct bill_service *s, int64_t amount,
                       int64_t now, bool *paid, struct err *e)
{
    struct charge_user u;
    int rc = charge_user_load(db, w->user_id, &u, e);
    if (rc)
        return rc;
    int64_t avail = charge_available_bonuses(s->config, u.bonus, amount);
    *paid = !charge_insufficient(&u, avail, amount, s->pay_in_credit);
    return *paid ? apply_loaded(db, w, s->config, now, &u, e) : 0;
}

static int pay_in_tree(struct db *db, struct bcache *c, int64_t usi, const struct us_link *l,
                       struct wd *w, const struct bill_service *s, int64_t now, bool *paid,
                       struct err *e)
{
    struct bill_service root_svc;
    struct us_link rl;
    int64_t root = 0, amount = w->total;
    int rc = find_root(db, usi, l, &root, &rl, e);
    if (rc == 0)
        rc = bcache_service(c, db, rl.service_id, &root_svc, e);
    if (rc)
        return rc;
    bool composite = root_svc.is_composite;
    bill_service_free(&root_svc);
    if (composite && root != usi) {
        if ((rc = root_paid(db, root, paid, e)) || !*paid)
            return rc;
        return charge_apply(db, w, s->config, now, e);
    }
    if (composite && (rc = descendants_total(db, usi, 0, &amount, e)))
        return rc;
    return pay_checked(db, w, s, amount, now, paid, e);
}

static int charge_pay_us_impl(struct db *db, struct bcache *c, int64_t usi, int64_t now,
                              const struct charge_known *known, bool *paid, struct wd *out,
                              struct err *e)
{
    struct us_link l = { 0 };
    struct wd w;
    struct bill_service s;
    int rc = 0;
    *paid = false;
    if (out)
        out->withdraw_id = 0;
    if (known && known->has_row)
        l = (struct us_link){ known->withdraw_id, known->parent, known->service_id,
                              known->user_id };
    else if ((rc = link_load(db, usi, &l, e)))
        return rc;
    if (!l.withdraw_id) {
        *paid = true;
        return 0;
    }
    if (known && known->wd && known->wd->withdraw_id == l.withdraw_id)
        w = *known->wd;
    else if ((rc = withdraw_get(db, l.withdraw_id, &w, e)))
        return rc;
    if (w.withdraw_date) {
        *paid = true;
    } else if ((rc = bcache_service(c, db, w.service_id, &s, e)) == 0) {
        rc = pay_in_tree(db, c, usi, &l, &w, &s, now, paid, e);
        bill_service_free(&s);
    }
    if (rc == 0 && out)
        *out = w;
    return rc;
}

/* ---- money back (§14) ---- */

static int refund(struct db *db, const struct wd *w, int64_t money, int64_t bonus, int64_t now,
                  struct err *e)
{
    int64_t bh = 0;
    int rc = 0;
    if (bonus > 0 && (rc = bonus_history_add(db, w, bonus, now, &bh, e)))
        return rc;
    if (money == 0 && bonus == 0)
        return 0;
    return ledger_adjust(db, w->user_id, money, bonus, "refund", "withdraw_history",
                         w->withdraw_id, NULL, e);
}

/* The parts of w kept for the used amount (§14.3). */
static void keep_parts(const struct wd *w, int64_t used, int64_t *keep_money, int64_t *keep_bonus)
{
    if (used <= w->total) {
        *keep_money = used;
        *keep_bonus = 0;
        return;
    }
    *keep_bonus = w->bonus < used ? w->bonus : used;
    *keep_money = w->total <= 0 ? 0 : used - *keep_bonus;
    if (*keep_money > w->total)
        *keep_money = w->total < 0 ? 0 : w->total; /* never take more than was paid */
    if (*keep_bonus < 0)
        *keep_bonus = 0;
}

static int prorata_back(struct db *db, enum calc_strategy st, struct wd *w,
                        const struct bill_service *s, int64_t date, int64_t now,
                        int64_t *refunded, struct err *e)
{
    struct calc_range used;
    int64_t keep_money, keep_bonus;
    int rc = calc_total(st, w->cost, s->period, w->withdraw_date, date, &used);
    if (rc)
        return err_set(e, rc, "Can't compute the used part of the withdraw");
    double u = money_to_double(used.total);
    int64_t used_total = money_round((u - u * (double)w->discount / 100) * w->qnt);
    keep_parts(w, used_total, &keep_money, &keep_bonus);
    int64_t back_money = w->total - keep_money, back_bonus = w->bonus - keep_bonus;
    w->total = keep_money;
    w->bonus = keep_bonus;
    w->months = used.months;
    w->end_date = date;
    if ((rc = withdraw_update(db, w, e)))
        return rc;
    if (refunded)
        *refunded = back_money;
    return refund(db, w, back_money, back_bonus > 0 ? back_bonus : 0, now, e);
}

static int charge_money_back_impl(struct db *db, enum calc_strategy st, int64_t withdraw_id, int64_t date,
                      int64_t now, int64_t *refunded, struct err *e)
{
    struct wd w;
    struct bill_service s;
    if (refunded)
        *refunded = 0;
    if (!withdraw_id)
        return 0;
    int rc = withdraw_get(db, withdraw_id, &w, e);
    if (rc)
        return rc == ERR_NOT_FOUND ? 0 : rc;
    if (!w.withdraw_date || !w.end_date || w.end_date <= date || w.create_date > date)
        return 0;
    if ((rc = bill_service_load(db, w.service_id, &s, e)))
        return rc;
    if (bill_service_flag(&s, "no_money_back")) {
        rc = 0;
    } else if (bill_service_flag(&s, "allow_return_full_wd")) {
        if (refunded)
            *refunded = w.total;
        rc = refund(db, &w, w.total, w.bonus, now, e);
    } else {
        rc = prorata_back(db, st, &w, &s, date, now, refunded, e);
    }
    bill_service_free(&s);
    return rc;
}

int charge_pay_us(struct db *db, int64_t usi, int64_t now, bool *paid, struct err *e)
{
    return finish_call(charge_pay_us_impl(db, NULL, usi, now, NULL, paid, NULL, e), e);
}

int charge_pay_us_cached(struct db *db, struct bcache *c, int64_t usi, int64_t now,
                         const struct charge_known *known, bool *paid, struct wd *out,
                         struct err *e)
{
    return finish_call(charge_pay_us_impl(db, c, usi, now, known, paid, out, e), e);
}

int charge_money_back(struct db *db, enum calc_strategy st, int64_t withdraw_id, int64_t date,
                      int64_t now, int64_t *refunded, struct err *e)
{
    return finish_call(charge_money_back_impl(db, st, withdraw_id, date, now, refunded, e), e);
}

/* ---- admin withdraw edit (§15.3) ---- */

static int edit_settle(struct db *db, const struct wd *old, const struct wd *nw, int64_t now,
                       struct err *e)
{
    int64_t money = old->withdraw_date ? old->total - nw->total : 0;
    int64_t bonus = old->bonus - nw->bonus;
    int64_t bh = 0;
    int rc = 0;
    if (bonus != 0) {
        char comment[96];
        snprintf(comment, sizeof(comment), "{\"msg\":\"changed withdraw %lld by admin\"}",
                 (long long)old->withdraw_id);
        struct db_value p[] = { DB_INT(old->user_id), DB_INT(now), DB_INT(bonus),
                                DB_TEXT(comment) };
        rc = db_query_int(db,
                          "INSERT INTO bonus_history (user_id, date, bonus, comment) "
                          "VALUES ($1, $2, $3, $4) RETURNING id",
                          p, 4, &bh, e);
    }
    if (rc == 0 && (money != 0 || bonus != 0))
        rc = ledger_adjust(db, old->user_id, money, bonus, "admin", "withdraw_history",
                           old->withdraw_id, "withdraw edited by admin", e);
    return rc;
}

static int charge_withdraw_edit_impl(struct db *db, enum calc_strategy st, struct wd *w,
                                     int64_t cur_id, const char *status, int64_t expire,
                                     const struct wd_edit *ed, int64_t now, int64_t *new_expire,
                                     struct err *e)
{
    struct bill_service s;
    struct wd nw, old = *w;
    bool current = w->withdraw_id == cur_id;
    *new_expire = 0;
    if (!current && expire)
        return err_set_status(e, ERR_INVALID, 400,
                              "This item cannot be edited because it is from the past");
    int rc = bill_service_load(db, w->service_id, &s, e);
    if (rc)
        return rc;
    struct wd_input in = {
        .has_cost = true, .cost = ed->has_cost ? ed->cost : w->cost,
        .has_months = true, .months = ed->has_months ? ed->months : w->months,
        .discount = ed->has_discount ? ed->discount : w->discount,
        .qnt = ed->has_qnt ? ed->qnt : w->qnt, .bonus = ed->has_bonus ? ed->bonus : w->bonus,
        .withdraw_date = w->withdraw_date ? w->withdraw_date : now,
    };
    rc = withdraw_calc(db, st, w->user_id, &s, &in, now, &nw, e);
    bill_service_free(&s);
    if (rc)
        return rc;
    nw.withdraw_id = w->withdraw_id;
    nw.user_service_id = w->user_service_id;
    nw.create_date = w->create_date;
    nw.withdraw_date = w->withdraw_date;
    if (current && status && strcmp(status, "ACTIVE") == 0 && w->withdraw_date)
        *new_expire = nw.end_date;
    else
        nw.end_date = w->end_date;
    if ((rc = withdraw_update(db, &nw, e)) || (rc = edit_settle(db, &old, &nw, now, e)))
        return rc;
    *w = nw;
    return 0;
}

int charge_withdraw_edit(struct db *db, enum calc_strategy st, struct wd *w, int64_t cur_id,
                         const char *status, int64_t expire, const struct wd_edit *ed,
                         int64_t now, int64_t *new_expire, struct err *e)
{
    return finish_call(charge_withdraw_edit_impl(db, st, w, cur_id, status, expire, ed, now,
                                                 new_expire, e),
                       e);
}
