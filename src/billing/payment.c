/*
 * payment.c — payments and the tasks of user events (see payment.h).
 */
#include "payment.h"
#include "bonus.h"
#include "ledger.h"
#include "../core/config_store.h"
#include "../core/money.h"
#include "../spool/spool.h"
#include "../util/log.h"
#include "../util/timeutil.h"

static const struct field pay_fields[] = {
    { "id", FT_INT, FF_KEY, "id платежа" },
    { "user_id", FT_INT, 0, "id пользователя" },
    { "pay_system_id", FT_TEXT, 0, "id платежной системы", 32 },
    { "money", FT_MONEY, 0, "сумма платежа" },
    { "date", FT_DATE, 0, "дата платежа" },
    { "comment", FT_JSON, FF_HIDDEN, "комментарии" },
    { "uniq_key", FT_TEXT, FF_HIDDEN, "уникальный ключ платежа", 255 },
};

const struct model pay_model = {
    .name = "Pay",
    .table = "pays_history",
    .key = "id",
    .fields = pay_fields,
    .nfields = ARRAY_SIZE(pay_fields),
};

#define PAY_COLUMNS "id, user_id, pay_system_id, money, date, comment, uniq_key"

/* The built-in action of each user event (spool.md §2.2, SHM's Core::User events). */
static const struct {
    const char *name, *title, *kind, *method, *settings_key;
} user_events[] = {
    [USER_EVENT_PAYMENT] = { "PAYMENT", "user payment", "UserService", "activate_services",
                             "pay_id" },
    [USER_EVENT_BONUS] = { "BONUS", "user payment with bonuses", "UserService",
                           "activate_services", "bonus_id" },
    [USER_EVENT_RECEIPT] = { "RECEIPT", "make receipt", "Cloud::Jobs", "make_receipt", "pay_id" },
    [USER_EVENT_CREDIT] = { "CREDIT", "user credit", "UserService", "activate_services",
                            "credit" },
};

/* The built-in task plus one task per `events` row of the name (spool.md §2.2); steals value. */
static int user_event(struct db *db, int64_t user_id, enum user_event ev, json_t *value,
                      struct err *e)
{
    json_t *event = json_pack("{s:s,s:s,s:s,s:s}", "kind", user_events[ev].kind, "method",
                              user_events[ev].method, "name", user_events[ev].name, "title",
                              user_events[ev].title);
    json_t *settings = json_object();
    json_object_set_new(settings, user_events[ev].settings_key, value);
    int rc = spool_user_event(db, user_id, user_events[ev].name, event, settings, e);
    json_decref(event);
    json_decref(settings);
    return rc;
}

int payment_user_event(struct db *db, int64_t user_id, enum user_event ev, int64_t ref_id,
                       struct err *e)
{
    return user_event(db, user_id, ev, json_integer(ref_id), e);
}

int payment_credit_read(struct db *db, int64_t user_id, struct credit_state *s, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(user_id) };
    *s = (struct credit_state){ 0 };
    int rc = db_query(db, "SELECT credit, perm_credit FROM users WHERE user_id = $1", p, 1, &r,
                      e);
    if (rc == 0 && db_result_rows(r) > 0) {
        s->credit = db_result_int(r, 0, 0);
        s->perm = db_result_int(r, 0, 1) != 0;
    }
    db_result_free(r);
    return rc;
}

int payment_credit_changed(struct db *db, int64_t user_id, const struct credit_state *before,
                           struct err *e)
{
    struct credit_state now;
    int rc = payment_credit_read(db, user_id, &now, e);
    if (rc)
        return rc;
    bool raised = now.credit > 0 && now.credit != before->credit;
    if (!raised && !(now.perm && !before->perm))
        return 0;
    return user_event(db, user_id, USER_EVENT_CREDIT, money_to_json(now.credit), e);
}

/* Checks a text input against its pay_model field (max_len); NULL passes. */
static int check_text(const char *name, const char *v, struct err *e)
{
    if (!v)
        return 0;
    json_t *j = json_string(v);
    if (!j)
        return err_set(e, ERR_INVALID, "Field %s: not valid UTF-8", name);
    int rc = model_check_value(model_field(&pay_model, name), j, e);
    json_decref(j);
    return rc;
}

static int check_input(const struct payment_input *in, struct err *e)
{
    if (in->money > MONEY_MAX || in->money < -MONEY_MAX)
        return err_set(e, ERR_INVALID, "Field money: out of range");
    if (check_text("pay_system_id", in->pay_system_id, e) ||
        check_text("uniq_key", in->uniq_key, e))
        return ERR_INVALID;
    return 0;
}

/*
 * The comment as stored: NULL for none or "", objects and arrays as they
 * are, any other value wrapped as {"comment": v} (SHM's Pay::add). Returns
 * owned JSON text or NULL.
 */
static char *comment_text(const json_t *comment)
{
    if (!comment || json_is_null(comment) ||
        (json_is_string(comment) && json_string_length(comment) == 0))
        return NULL;
    if (json_is_object(comment) || json_is_array(comment))
        return json_dumps(comment, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *wrap = json_pack("{s:O}", "comment", comment);
    char *s = json_dumps(wrap, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(wrap);
    return s;
}

/* Reads the payer's partner_id (0 when none). ERR_NOT_FOUND when the user does not exist. */
static int payer_partner(struct db *db, int64_t user_id, int64_t *partner_id, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(user_id) };
    int rc = db_query(db, "SELECT COALESCE(partner_id, 0) FROM users WHERE user_id = $1", p, 1,
                      &r, e);
    if (rc == 0 && db_result_rows(r) == 0)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    if (rc == 0)
        *partner_id = db_result_int(r, 0, 0);
    db_result_free(r);
    return rc;
}

/* Runs a query returning pay rows; *row gets the first one, or stays NULL when none came back. */
static int query_row(struct db *db, const char *sql, const struct db_value *p, int n,
                     json_t **row, struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(db, sql, p, n, &r, e);
    if (rc == 0 && db_result_rows(r) > 0)
        *row = model_row_to_json(&pay_model, r, 0, true);
    db_result_free(r);
    return rc;
}

/* Inserts the payment unless (user_id, uniq_key) exists; *row is NULL after a conflict. */
static int insert_row(struct db *db, const struct payment_input *in, const char *key,
                      json_t **row, struct err *e)
{
    char *comment = comment_text(in->comment);
    struct db_value p[] = { DB_INT(in->user_id), DB_TEXT(in->pay_system_id), DB_INT(in->money),
                            DB_INT(time_now()), DB_TEXT(comment), DB_TEXT(key) };
    int rc = query_row(db,
                       "INSERT INTO pays_history (user_id, pay_system_id, money, date, comment,"
                       " uniq_key) VALUES ($1, $2, $3, $4, $5, $6)"
                       " ON CONFLICT (user_id, uniq_key) DO NOTHING RETURNING " PAY_COLUMNS,
                       p, 6, row, e);
    free(comment);
    return rc;
}

/*
 * The payment already recorded under (user_id, key): in pays_history, or
 * deleted since (then a new row inserted by this transaction, new_id > 0, is
 * removed again). *row stays NULL when there is none.
 */
static int existing_row(struct db *db, int64_t user_id, const char *key, int64_t new_id,
                        json_t **row, struct err *e)
{
    struct db_value p[] = { DB_INT(user_id), DB_TEXT(key) };
    int rc = 0;
    if (new_id == 0)
        rc = query_row(db, "SELECT " PAY_COLUMNS " FROM pays_history"
                           " WHERE user_id = $1 AND uniq_key = $2", p, 2, row, e);
    if (rc == 0 && !*row)
        rc = query_row(db, "SELECT " PAY_COLUMNS " FROM pays_history_deleted"
                           " WHERE user_id = $1 AND uniq_key = $2 ORDER BY id LIMIT 1",
                       p, 2, row, e);
    if (rc == 0 && *row && new_id > 0) {
        struct db_value d[] = { DB_INT(new_id) };
        rc = db_exec(db, "DELETE FROM pays_history WHERE id = $1", d, 1, NULL, e);
    }
    return rc;
}

static bool receipts_enabled(struct db *db)
{
    json_t *v = config_store_lookup(db, "pay_systems", "srv_customlab_nalog.enabled");
    bool on = v && !json_is_false(v) && !json_is_null(v) &&
              !(json_is_integer(v) && json_integer_value(v) == 0) &&
              !(json_is_string(v) && (json_string_length(v) == 0 ||
                                      strcmp(json_string_value(v), "0") == 0));
    json_decref(v);
    return on;
}

/* Steps 3–5 of payment.h for the new payment id. */
static int apply(struct db *db, const struct payment_input *in, int64_t id, int64_t partner_id,
                 struct err *e)
{
    int rc = ledger_adjust(db, in->user_id, in->money, 0, "payment", "pays_history", id,
                           in->pay_system_id, e);
    if (rc == 0 && in->money > 0 && partner_id > 0)
        rc = bonus_partner_reward(db, partner_id, in->user_id, in->money, e);
    if (rc == 0)
        rc = payment_user_event(db, in->user_id, USER_EVENT_PAYMENT, id, e);
    if (rc == 0 && in->money > 0 && receipts_enabled(db))
        rc = payment_user_event(db, in->user_id, USER_EVENT_RECEIPT, id, e);
    return rc;
}

int payment_add(struct db *db, const struct payment_input *in, json_t **row, bool *created,
                struct err *e)
{
    int64_t partner_id = 0;
    json_t *out = NULL, *old = NULL;
    const char *key = in->uniq_key && *in->uniq_key ? in->uniq_key : NULL;
    int rc = check_input(in, e);
    if (rc == 0)
        rc = payer_partner(db, in->user_id, &partner_id, e);
    if (rc == 0)
        rc = insert_row(db, in, key, &out, e);
    if (rc == 0 && key) {
        int64_t new_id = out ? json_integer_value(json_object_get(out, "id")) : 0;
        rc = existing_row(db, in->user_id, key, new_id, &old, e);
    }
    if (rc == 0 && !out && !old)
        rc = err_set(e, ERR_INTERNAL, "payment: no row after a conflict");
    if (rc == 0 && !old)
        rc = apply(db, in, json_integer_value(json_object_get(out, "id")), partner_id, e);
    if (rc) {
        json_decref(out);
        json_decref(old);
        return rc;
    }
    if (old)
        json_decref(out);
    if (created)
        *created = old == NULL;
    *row = old ? old : out;
    return 0;
}

int payment_delete(struct db *db, int64_t user_id, int64_t id, int64_t deleted_by,
                   struct err *e)
{
    int64_t moved = 0;
    struct db_value p[] = { DB_INT(id), DB_INT(user_id), DB_INT(time_now()),
                            deleted_by > 0 ? DB_INT(deleted_by) : DB_NULL };
    int rc = db_exec(db,
                     "INSERT INTO pays_history_deleted (" PAY_COLUMNS ", deleted, deleted_by)"
                     " SELECT " PAY_COLUMNS ", CAST($3 AS BIGINT), CAST($4 AS BIGINT)"
                     " FROM pays_history WHERE id = $1 AND user_id = $2",
                     p, 4, &moved, e);
    if (rc == 0 && moved == 0)
        return err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    if (rc == 0)
        rc = db_exec(db, "DELETE FROM pays_history WHERE id = $1 AND user_id = $2", p, 2, NULL,
                     e);
    if (rc == 0)
        log_info("payment deleted", "id=%lld user_id=%lld by=%lld", (long long)id,
                 (long long)user_id, (long long)deleted_by);
    return rc;
}
