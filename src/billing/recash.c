/*
 * recash.c — rebuilding a balance and bonus from the payment, withdraw and
 * bonus histories (billing.md §15.4); the correction goes through the
 * ledger.
 */
#include "recash.h"
#include "charge.h"
#include "ledger.h"
#include "../core/money.h"

/* A public call that succeeded leaves no error behind (not-found lookups it handled). */
static int finish_call(int rc, struct err *e)
{
    if (rc == 0)
        err_clear(e);
    return rc;
}

/* The balance and bonus the histories of user_id give. */
static int history_sums(struct db *db, int64_t user_id, int64_t *balance, int64_t *bonus,
                        struct err *e)
{
    int64_t pays = 0, wds = 0;
    struct db_value p[] = { DB_INT(user_id) };
    int rc = db_query_int(db, "SELECT COALESCE(sum(money), 0) FROM pays_history "
                              "WHERE user_id = $1",
                          p, 1, &pays, e);
    if (rc == 0)
        rc = db_query_int(db, "SELECT COALESCE(sum(total), 0) FROM withdraw_history "
                              "WHERE user_id = $1 AND withdraw_date IS NOT NULL",
                          p, 1, &wds, e);
    if (rc == 0)
        rc = db_query_int(db, "SELECT COALESCE(sum(bonus), 0) FROM bonus_history "
                              "WHERE user_id = $1",
                          p, 1, bonus, e);
    *balance = pays - wds;
    return rc;
}

static json_t *pair(int64_t balance, int64_t bonus)
{
    json_t *o = json_object();
    json_object_set_new(o, "balance", money_to_json(balance));
    json_object_set_new(o, "bonus", money_to_json(bonus));
    return o;
}

static int recash_impl(struct db *db, int64_t user_id, json_t **out, struct err *e)
{
    struct charge_user u;
    int64_t balance = 0, bonus = 0;
    int rc = charge_user_load(db, user_id, &u, e);
    if (rc == 0)
        rc = history_sums(db, user_id, &balance, &bonus, e);
    if (rc)
        return rc;
    int64_t dm = balance - u.balance, db_ = bonus - u.bonus;
    if ((dm || db_) && (rc = ledger_adjust(db, user_id, dm, db_, "recash", NULL, 0,
                                           "recash: balance and bonus rebuilt from history", e)))
        return rc;
    if (out) {
        *out = json_object();
        json_object_set_new(*out, "before", pair(u.balance, u.bonus));
        json_object_set_new(*out, "after", pair(balance, bonus));
        json_object_set_new(*out, "delta", pair(dm, db_));
    }
    return 0;
}

int recash_user(struct db *db, int64_t user_id, json_t **out, struct err *e)
{
    if (out)
        *out = NULL;
    return finish_call(recash_impl(db, user_id, out, e), e);
}
