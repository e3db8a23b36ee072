/*
 * bonus.c — bonus credits, partner rewards and bonus-history deletes (see bonus.h).
 */
#include "bonus.h"
#include "ledger.h"
#include "payment.h"
#include "../core/config_store.h"
#include "../core/money.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <math.h>

static const struct field bonus_fields[] = {
    { "id", FT_INT, FF_KEY, "id" },
    { "user_id", FT_INT, 0, "owner" },
    { "date", FT_DATE, 0, "time" },
    { "bonus", FT_MONEY, 0, "amount (negative = spent)" },
    { "comment", FT_JSON, 0, "{withdraw_id}, {from_user_id, payment, percent}, {msg} or text" },
};

const struct model bonus_model = {
    .name = "Bonus",
    .table = "bonus_history",
    .key = "id",
    .fields = bonus_fields,
    .nfields = ARRAY_SIZE(bonus_fields),
};

#define NOT_FOUND_MSG "Object not found. Check the ID."
#define SPENT_MSG "Can't delete the bonus: it has already been spent"

int bonus_set(struct db *db, int64_t user_id, int64_t amount, const json_t *comment,
              const char *note, int64_t *id, struct err *e)
{
    int64_t new_id = 0;
    if (amount == 0)
        return err_set(e, ERR_INVALID, "Field bonus: must not be zero");
    if (amount > MONEY_MAX || amount < -MONEY_MAX)
        return err_set(e, ERR_INVALID, "Field bonus: out of range");
    char *text = comment && !json_is_null(comment)
                     ? json_dumps(comment, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
                     : NULL;
    struct db_value p[] = { DB_INT(user_id), DB_INT(time_now()), DB_INT(amount), DB_TEXT(text) };
    int rc = db_query_int(db,
                          "INSERT INTO bonus_history (user_id, date, bonus, comment)"
                          " VALUES ($1, $2, $3, $4) RETURNING id",
                          p, 4, &new_id, e);
    free(text);
    if (rc == 0)
        rc = ledger_adjust(db, user_id, 0, amount, "bonus", "bonus_history", new_id, note, e);
    if (rc == 0 && amount > 0)
        rc = payment_user_event(db, user_id, USER_EVENT_BONUS, new_id, e);
    if (rc == 0 && id)
        *id = new_id;
    return rc;
}

/* Parses "20", "7.5", "+0.25" (at most 4 fraction digits unless zeros) into ten-thousandths. */
static int parse_percent_text(const char *s, size_t len, int64_t *out)
{
    size_t i = len && s[0] == '+' ? 1 : 0;
    int64_t v = 0;
    int frac = 0;
    bool any = false;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, any = true) {
        if (v > BONUS_PERCENT_MAX_E4)
            return ERR_INVALID;
        v = v * 10 + (s[i] - '0');
    }
    v *= 10000;
    if (i < len && s[i] == '.') {
        int64_t scale = 1000;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, frac++, any = true) {
            if (frac < 4)
                v += (s[i] - '0') * scale;
            else if (s[i] != '0')
                return ERR_INVALID;
            scale /= 10;
        }
    }
    if (!any || i != len || v > BONUS_PERCENT_MAX_E4)
        return ERR_INVALID;
    *out = v;
    return 0;
}

int bonus_parse_percent(const json_t *v, int64_t *out_e4)
{
    char tmp[64];
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > BONUS_PERCENT_MAX_E4 / 10000)
            return ERR_INVALID;
        *out_e4 = (int64_t)i * 10000;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d))
            return ERR_INVALID;
        snprintf(tmp, sizeof(tmp), "%.15g", d);
        if (strchr(tmp, 'e')) /* 1e-05: too many fraction digits; 1e+20: too large */
            return ERR_INVALID;
        return parse_percent_text(tmp, strlen(tmp), out_e4);
    }
    if (json_is_string(v))
        return parse_percent_text(json_string_value(v), json_string_length(v), out_e4);
    return ERR_INVALID;
}

int64_t bonus_partner_amount(int64_t money, int64_t percent_e4)
{
    /* money × (percent_e4 / 10^4) / 100 = money × percent_e4 / 10^6, exact in 128 bits */
    const __int128 div = 1000000;
    __int128 p = (__int128)money * percent_e4;
    __int128 q = p / div, r = p % div;
    if (2 * (r < 0 ? -r : r) >= div)
        q += p < 0 ? -1 : 1;
    return (int64_t)q;
}

/* SHM's `|| 0`: null, false and "" count as 0; anything else must parse as a percent. */
static int64_t percent_of(const json_t *v, const char *where)
{
    int64_t e4 = 0;
    if (!v || json_is_null(v) || json_is_false(v) ||
        (json_is_string(v) && json_string_length(v) == 0))
        return 0;
    if (bonus_parse_percent(v, &e4) == 0)
        return e4;
    log_warn("invalid partner income percent, 0 used", "source=%s", where);
    return 0;
}

int bonus_income_percent(struct db *db, int64_t partner_id, int64_t *out_e4, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(partner_id) };
    int rc = db_query(db, "SELECT settings FROM users WHERE user_id = $1", p, 1, &r, e);
    if (rc == 0 && db_result_rows(r) == 0)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, NOT_FOUND_MSG);
    if (rc) {
        db_result_free(r);
        return rc;
    }
    const char *text = db_result_text(r, 0, 0);
    json_t *settings = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    db_result_free(r);
    json_t *partner = json_object_get(settings, "partner");
    json_t *own = json_is_object(partner) ? json_object_get(partner, "income_percent") : NULL;
    if (own) {
        *out_e4 = percent_of(own, "users.settings.partner.income_percent");
    } else {
        json_t *cfg = config_store_lookup(db, "billing", "partner.income_percent");
        *out_e4 = percent_of(cfg, "config billing.partner.income_percent");
        json_decref(cfg);
    }
    json_decref(settings);
    return 0;
}

/* The percent as the reward comment shows it: an integer when whole, else a decimal. */
static json_t *percent_to_json(int64_t e4)
{
    if (e4 % 10000 == 0)
        return json_integer(e4 / 10000);
    return json_real((double)e4 / 10000.0);
}

int bonus_partner_reward(struct db *db, int64_t partner_id, int64_t payer_id, int64_t money,
                         struct err *e)
{
    int64_t e4 = 0;
    char note[64];
    if (money <= 0 || partner_id <= 0 || partner_id == payer_id)
        return 0;
    int rc = bonus_income_percent(db, partner_id, &e4, e);
    if (rc == ERR_NOT_FOUND) {
        log_warn("partner does not exist, no reward", "user_id=%lld partner_id=%lld",
                 (long long)payer_id, (long long)partner_id);
        err_clear(e);
        return 0;
    }
    int64_t amount = bonus_partner_amount(money, e4);
    if (rc || amount == 0)
        return rc;
    json_t *comment = json_pack("{s:I,s:o,s:o}", "from_user_id", (json_int_t)payer_id,
                                "payment", money_to_json(money), "percent", percent_to_json(e4));
    snprintf(note, sizeof(note), "partner income from user %lld", (long long)payer_id);
    rc = bonus_set(db, partner_id, amount, comment, note, NULL, e);
    json_decref(comment);
    return rc;
}

/* The amount of row id of user_id and the user's bonus (row locked on PostgreSQL). */
static int read_for_delete(struct db *db, int64_t user_id, int64_t id, int64_t *amount,
                           int64_t *user_bonus, struct err *e)
{
    struct db_value p[] = { DB_INT(id), DB_INT(user_id) };
    int rc = db_query_int(db, "SELECT bonus FROM bonus_history WHERE id = $1 AND user_id = $2", p,
                          2, amount, e);
    if (rc == ERR_NOT_FOUND)
        return err_set_status(e, ERR_NOT_FOUND, 404, NOT_FOUND_MSG);
    if (rc)
        return rc;
    char *sql = xasprintf("SELECT bonus FROM users WHERE user_id = $1%s",
                          db_sql_for_update(db));
    rc = db_query_int(db, sql, p + 1, 1, user_bonus, e);
    free(sql);
    if (rc == ERR_NOT_FOUND)
        return err_set_status(e, ERR_NOT_FOUND, 404, NOT_FOUND_MSG);
    return rc;
}

int bonus_delete(struct db *db, int64_t user_id, int64_t id, struct err *e)
{
    int64_t amount = 0, user_bonus = 0;
    int rc = read_for_delete(db, user_id, id, &amount, &user_bonus, e);
    if (rc)
        return rc;
    if (user_bonus - amount < 0)
        return err_set_status(e, ERR_INVALID, 400, SPENT_MSG);
    struct db_value p[] = { DB_INT(id), DB_INT(user_id) };
    rc = db_exec(db, "DELETE FROM bonus_history WHERE id = $1 AND user_id = $2", p, 2, NULL, e);
    if (rc == 0)
        rc = ledger_adjust(db, user_id, 0, -amount, "bonus_delete", "bonus_history", id,
                           "bonus-history row deleted", e);
    return rc;
}
