/*
 * ledger.c — balance/bonus changes with their append-only ledger rows (ledger.h).
 */
#include "ledger.h"
#include "../util/log.h"
#include "../util/timeutil.h"

int ledger_adjust(struct db *db, int64_t user_id, int64_t money_delta, int64_t bonus_delta,
                  const char *kind, const char *ref_table, int64_t ref_id, const char *comment,
                  struct err *e)
{
    int64_t changed = 0;
    if (money_delta == 0 && bonus_delta == 0)
        return 0;
    struct db_value up[] = { DB_INT(user_id), DB_INT(money_delta), DB_INT(bonus_delta) };
    int rc = db_exec(db,
                     "UPDATE users SET balance = balance + $2, bonus = bonus + $3"
                     " WHERE user_id = $1",
                     up, 3, &changed, e);
    if (rc)
        return rc;
    if (changed != 1)
        return err_set_status(e, ERR_NOT_FOUND, 404, "User not found");
    struct db_value ins[] = {
        DB_INT(user_id), DB_INT(time_now()), DB_TEXT(kind), DB_INT(money_delta),
        DB_INT(bonus_delta), DB_TEXT(ref_table), ref_table ? DB_INT(ref_id) : DB_NULL,
        DB_TEXT(comment),
    };
    return db_exec(db,
                   "INSERT INTO ledger (user_id, created, kind, money, bonus, ref_table, ref_id,"
                   " comment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                   ins, 8, NULL, e);
}

int ledger_check(struct db *db, int64_t *mismatches, struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(db,
                      "SELECT u.user_id, u.balance, u.bonus,"
                      " COALESCE(l.money, 0) AS lm, COALESCE(l.bonus, 0) AS lb"
                      " FROM users u LEFT JOIN (SELECT user_id, sum(money) AS money,"
                      " sum(bonus) AS bonus FROM ledger GROUP BY user_id) l"
                      " ON l.user_id = u.user_id"
                      " WHERE u.balance <> COALESCE(l.money, 0) OR u.bonus <> COALESCE(l.bonus, 0)"
                      " ORDER BY u.user_id",
                      NULL, 0, &r, e);
    if (rc)
        return rc;
    *mismatches = db_result_rows(r);
    for (int i = 0; i < db_result_rows(r); i++)
        log_error("ledger mismatch", "user_id=%lld balance=%lld ledger_money=%lld bonus=%lld"
                  " ledger_bonus=%lld",
                  (long long)db_result_int(r, i, 0), (long long)db_result_int(r, i, 1),
                  (long long)db_result_int(r, i, 3), (long long)db_result_int(r, i, 2),
                  (long long)db_result_int(r, i, 4));
    db_result_free(r);
    return 0;
}
