/*
 * test_payment.c — unit tests of src/billing/payment.c and src/billing/bonus.c
 * (billing.md §17–§19, DECISIONS D7, D8) and the storage side of
 * src/api/idempotency.c.
 *
 * Pure cases: the income-percent parser, the partner-reward rounding (exact
 * decimal, half away from zero) and the Idempotency-Key syntax. Database
 * cases, on a migrated SQLite file and, when BILLD_TEST_PG_URL names a
 * throwaway PostgreSQL cluster, on a database created for the run: a new
 * payment with its ledger row and PAYMENT task, uniq_key idempotency
 * (also after a delete), validation, partner rewards from personal and
 * configured percents, RECEIPT tasks, set_bonus / bonus deletes and the
 * cleanup of stored idempotent responses. Every database case that moves
 * money ends with ledger_check() finding no mismatch.
 */
#include "common.h"
#include "api/idempotency.h"
#include "billing/bonus.h"
#include "billing/ledger.h"
#include "billing/payment.h"
#include "core/money.h"
#include "db/db.h"
#include "db/migrate.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

#include <cmocka.h>

struct backend {
    const char *name;
    char url[512];
    struct db *db;
};

static struct backend g_lite = { .name = "sqlite" };
static struct backend g_pg = { .name = "pg" };
static char g_lite_path[128];
static struct db *g_pg_admin;
static char g_pg_dbname[64];

#define OK(call)                                                                              \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != 0)                                                                         \
            fail_msg("%s:%d: %s = %d: %s", __FILE__, __LINE__, #call, rc_, e.msg);            \
    } while (0)

#define FAILS(want, call)                                                                     \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != (want))                                                                    \
            fail_msg("%s:%d: %s = %d, want %s (%d)", __FILE__, __LINE__, #call, rc_, #want,   \
                     (want));                                                                 \
    } while (0)

/* 2024-03-01 12:00:00 UTC: the frozen clock of every case. */
#define T_NOW INT64_C(1709294400)

/* ---- pure cases ---- */

static void assert_percent(json_t *v, int want_rc, int64_t want)
{
    int64_t got = -1;
    int rc = bonus_parse_percent(v, &got);
    char *s = json_dumps(v, JSON_ENCODE_ANY);
    if (rc != want_rc || (rc == 0 && got != want))
        fail_msg("bonus_parse_percent(%s) = %d/%lld, want %d/%lld", s, rc, (long long)got,
                 want_rc, (long long)want);
    free(s);
    json_decref(v);
}

static void test_percent_parse(void **state)
{
    UNUSED(state);
    assert_percent(json_integer(20), 0, 200000);
    assert_percent(json_integer(0), 0, 0);
    assert_percent(json_integer(100), 0, 1000000);
    assert_percent(json_real(7.5), 0, 75000);
    assert_percent(json_real(0.25), 0, 2500);
    assert_percent(json_real(33.3333), 0, 333333);
    assert_percent(json_string("20"), 0, 200000);
    assert_percent(json_string("+12.5"), 0, 125000);
    assert_percent(json_string("1.23450"), 0, 12345);
    assert_percent(json_string(".5"), 0, 5000);
    assert_percent(json_integer(101), ERR_INVALID, 0);
    assert_percent(json_integer(-1), ERR_INVALID, 0);
    assert_percent(json_real(100.0001), ERR_INVALID, 0);
    assert_percent(json_real(1e-05), ERR_INVALID, 0);
    assert_percent(json_real(-0.5), ERR_INVALID, 0);
    assert_percent(json_string("1.23456"), ERR_INVALID, 0);
    assert_percent(json_string("-5"), ERR_INVALID, 0);
    assert_percent(json_string("abc"), ERR_INVALID, 0);
    assert_percent(json_string(""), ERR_INVALID, 0);
    assert_percent(json_string("5%"), ERR_INVALID, 0);
    assert_percent(json_string("99999999999999999999"), ERR_INVALID, 0);
    assert_percent(json_true(), ERR_INVALID, 0);
    assert_percent(json_null(), ERR_INVALID, 0);
    assert_percent(json_object(), ERR_INVALID, 0);
}

static void test_partner_amount(void **state)
{
    UNUSED(state);
    assert_int_equal(bonus_partner_amount(10000, 200000), 2000); /* 100 × 20 % = 20 (§18) */
    assert_int_equal(bonus_partner_amount(10000, 500000), 5000); /* personal 50 % → 50 */
    assert_int_equal(bonus_partner_amount(12345, 200000), 2469); /* 123.45 × 20 % = 24.69 */
    assert_int_equal(bonus_partner_amount(5, 250000), 1);        /* 0.0125 → 0.01 */
    assert_int_equal(bonus_partner_amount(10, 50000), 1);        /* 0.005 → 0.01 (half up) */
    assert_int_equal(bonus_partner_amount(3, 500000), 2);        /* 0.015 → 0.02 */
    assert_int_equal(bonus_partner_amount(7, 75000), 1);         /* 0.00525 → 0.01 */
    assert_int_equal(bonus_partner_amount(9, 50000), 0);         /* 0.0045 → 0.00 */
    assert_int_equal(bonus_partner_amount(1, 10000), 0);         /* 0.0001 → 0.00 */
    assert_int_equal(bonus_partner_amount(12345, 0), 0);
    assert_int_equal(bonus_partner_amount(-10, 50000), -1);      /* away from zero */
    assert_int_equal(bonus_partner_amount(-9, 50000), 0);
    assert_int_equal(bonus_partner_amount(MONEY_MAX, 1000000), MONEY_MAX);
    assert_int_equal(bonus_partner_amount(MONEY_MAX, 333333), INT64_C(333333000000000));
}

static void test_idempotency_key(void **state)
{
    char k[IDEMPOTENCY_KEY_MAX + 2];
    UNUSED(state);
    memset(k, 'a', sizeof(k));
    k[IDEMPOTENCY_KEY_MAX] = '\0';
    assert_true(idempotency_key_valid(k));
    k[IDEMPOTENCY_KEY_MAX] = 'a';
    k[IDEMPOTENCY_KEY_MAX + 1] = '\0';
    assert_false(idempotency_key_valid(k));
    assert_true(idempotency_key_valid("a"));
    assert_true(idempotency_key_valid(" 9f1c-X ~!"));
    assert_true(idempotency_key_valid("123e4567-e89b-12d3-a456-426614174000"));
    assert_false(idempotency_key_valid(""));
    assert_false(idempotency_key_valid(NULL));
    assert_false(idempotency_key_valid("a\tb"));
    assert_false(idempotency_key_valid("a\x7f"));
    assert_false(idempotency_key_valid("\xc3\xa9"));
}

/* ---- database helpers ---- */

static int64_t q_int(struct db *db, const char *sql, const struct db_value *p, int n)
{
    struct err e = { 0 };
    int64_t v = -1;
    int rc = db_query_int(db, sql, p, n, &v, &e);
    if (rc == ERR_NOT_FOUND)
        return -1;
    OK(rc);
    return v;
}

/* Text of the first cell of sql (owned), or NULL. */
static char *q_text(struct db *db, const char *sql, const struct db_value *p, int n)
{
    struct err e = { 0 };
    struct db_result *r = NULL;
    OK(db_query(db, sql, p, n, &r, &e));
    char *s = db_result_rows(r) && !db_result_is_null(r, 0, 0) ? xstrdup(db_result_text(r, 0, 0))
                                                               : NULL;
    db_result_free(r);
    return s;
}

/* A JSON cell (sql with $1 = id) as compact sorted text (PostgreSQL re-orders jsonb keys). */
static void assert_json_cell(struct db *db, const char *sql, int64_t id, const char *want)
{
    struct db_value p[] = { DB_INT(id) };
    char *s = q_text(db, sql, p, 1);
    json_t *v = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
    char *norm = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    if (!norm || strcmp(norm, want) != 0)
        fail_msg("%s [%lld]: %s, want %s", sql, (long long)id, norm ? norm : "NULL", want);
    free(norm);
    json_decref(v);
    free(s);
}

static int64_t mkuser(struct db *db, const char *login, int64_t partner, const char *settings)
{
    struct db_value p[] = { DB_TEXT(login), DB_INT(T_NOW), partner ? DB_INT(partner) : DB_NULL,
                            DB_TEXT(settings) };
    return q_int(db,
                 "INSERT INTO users (login, created, partner_id, settings) VALUES ($1, $2, $3, $4)"
                 " RETURNING user_id",
                 p, 4);
}

static int64_t user_col(struct db *db, int64_t user_id, const char *col)
{
    char sql[96];
    struct db_value p[] = { DB_INT(user_id) };
    snprintf(sql, sizeof(sql), "SELECT %s FROM users WHERE user_id = $1", col);
    return q_int(db, sql, p, 1);
}

static int64_t count_where(struct db *db, const char *table, int64_t user_id)
{
    char sql[96];
    struct db_value p[] = { DB_INT(user_id) };
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE user_id = $1", table);
    return q_int(db, sql, p, 1);
}

static void set_config(struct db *db, const char *key, const char *value)
{
    struct err e = { 0 };
    struct db_value p[] = { DB_TEXT(key), DB_TEXT(value) };
    OK(db_exec(db, "UPDATE config SET value = $2 WHERE key = $1", p, 2, NULL, &e));
}

#define BILLING_SEED \
    "{\"type\":\"Simpler\",\"partner\":{\"income_percent\":0},\"currency\":\"RUB\"}"

static void assert_ledger_clean(struct db *db)
{
    struct err e = { 0 };
    int64_t bad = -1;
    OK(ledger_check(db, &bad, &e));
    assert_int_equal(bad, 0);
}

/*
 * payment_add in its own transaction (takes comment). *row (may be NULL)
 * gets the row (owned), *created (may be NULL) whether it is new.
 */
static int pay(struct db *db, int64_t user_id, int64_t money, const char *ps, json_t *comment,
               const char *key, json_t **row, bool *created, struct err *e)
{
    struct payment_input in = { user_id, money, ps, comment, key };
    json_t *r = NULL;
    int rc = db_begin(db, true, e);
    if (rc == 0)
        rc = payment_add(db, &in, &r, created, e);
    if (rc == 0)
        rc = db_commit(db, e);
    else
        db_rollback(db);
    json_decref(comment);
    if (rc == 0 && row)
        *row = r;
    else
        json_decref(r);
    return rc;
}

static void assert_row(json_t *row, const char *want)
{
    char *s = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
    if (strcmp(s, want) != 0)
        fail_msg("row %s, want %s", s, want);
    free(s);
}

static int64_t row_id(json_t *row)
{
    return json_integer_value(json_object_get(row, "id"));
}

/* ---- database cases ---- */

static void test_db_new_payment(void **state)
{
    struct backend *b = *state;
    struct db *db = b->db;
    struct err e = { 0 };
    json_t *row = NULL;
    bool created = false;
    char want[512];
    int64_t u = mkuser(db, "payer1", 0, NULL);
    OK(pay(db, u, 12345, "manual", json_string("Test payment #4"), NULL, &row, &created, &e));
    assert_true(created);
    int64_t id = row_id(row);
    snprintf(want, sizeof(want),
             "{\"comment\":{\"comment\":\"Test payment #4\"},\"date\":\"2024-03-01 12:00:00\","
             "\"id\":%lld,\"money\":123.45,\"pay_system_id\":\"manual\",\"uniq_key\":null,"
             "\"user_id\":%lld}",
             (long long)id, (long long)u);
    assert_row(row, want);
    json_decref(row);
    assert_int_equal(user_col(db, u, "balance"), 12345);
    assert_int_equal(user_col(db, u, "bonus"), 0);

    struct db_value p[] = { DB_INT(u) };
    assert_int_equal(q_int(db, "SELECT money FROM ledger WHERE user_id = $1 AND kind = 'payment'"
                               " AND ref_table = 'pays_history'", p, 1), 12345);
    assert_int_equal(q_int(db, "SELECT ref_id FROM ledger WHERE user_id = $1", p, 1), id);
    assert_int_equal(count_where(db, "spool", u), 1);
    assert_json_cell(db, "SELECT event FROM spool WHERE user_id = $1", u,
                     "{\"kind\":\"UserService\",\"method\":\"activate_services\","
                     "\"name\":\"PAYMENT\",\"title\":\"user payment\"}");
    snprintf(want, sizeof(want), "{\"pay_id\":%lld}", (long long)id);
    assert_json_cell(db, "SELECT settings FROM spool WHERE user_id = $1", u, want);
    assert_int_equal(q_int(db, "SELECT prio FROM spool WHERE user_id = $1 AND status = 'NEW'"
                               " AND delayed = 0", p, 1), 100);
    assert_int_equal(q_int(db, "SELECT created FROM spool WHERE user_id = $1", p, 1), T_NOW);

    /* an object comment as it is, no pay system, a refund, a cancellation (0) */
    OK(pay(db, u, -2345, NULL, json_pack("{s:i}", "order", 7), NULL, &row, &created, &e));
    assert_true(created);
    assert_json_cell(db, "SELECT comment FROM pays_history WHERE id = $1", row_id(row),
                     "{\"order\":7}");
    assert_true(json_is_null(json_object_get(row, "pay_system_id")));
    json_decref(row);
    OK(pay(db, u, 0, "yoomoney-canceled", json_integer(5), NULL, &row, &created, &e));
    assert_json_cell(db, "SELECT comment FROM pays_history WHERE id = $1", row_id(row),
                     "{\"comment\":5}");
    json_decref(row);
    OK(pay(db, u, 100, NULL, json_string(""), NULL, &row, &created, &e));
    assert_true(json_is_null(json_object_get(row, "comment")));
    json_decref(row);
    assert_int_equal(user_col(db, u, "balance"), 10100);
    assert_int_equal(count_where(db, "pays_history", u), 4);
    assert_int_equal(count_where(db, "ledger", u), 3); /* a payment of 0 moves nothing */
    assert_int_equal(count_where(db, "spool", u), 4);
    assert_ledger_clean(db);
}

static void test_db_idempotent(void **state)
{
    struct backend *b = *state;
    struct db *db = b->db;
    struct err e = { 0 };
    json_t *first = NULL, *again = NULL;
    bool created = true;
    int64_t u = mkuser(db, "payer2", 0, NULL), v = mkuser(db, "payer3", 0, NULL);
    OK(pay(db, u, 5000, "telegram_bot", NULL, "charge-1", &first, &created, &e));
    assert_true(created);
    OK(pay(db, u, 9900, "other", json_string("x"), "charge-1", &again, &created, &e));
    assert_false(created);
    assert_true(json_equal(first, again));
    assert_string_equal(json_string_value(json_object_get(again, "uniq_key")), "charge-1");
    json_decref(again);
    assert_int_equal(user_col(db, u, "balance"), 5000);
    assert_int_equal(count_where(db, "pays_history", u), 1);
    assert_int_equal(count_where(db, "ledger", u), 1);
    assert_int_equal(count_where(db, "spool", u), 1);

    /* the key is per user; an empty key is no key */
    OK(pay(db, v, 700, NULL, NULL, "charge-1", &again, &created, &e));
    assert_true(created);
    assert_int_not_equal(row_id(again), row_id(first));
    json_decref(again);
    OK(pay(db, u, 100, NULL, NULL, "", &again, &created, &e));
    assert_true(created);
    assert_true(json_is_null(json_object_get(again, "uniq_key")));
    json_decref(again);
    OK(pay(db, u, 100, NULL, NULL, "", NULL, &created, &e));
    assert_true(created);
    assert_int_equal(user_col(db, u, "balance"), 5200);
    assert_int_equal(user_col(db, v, "balance"), 700);
    json_decref(first);
    assert_ledger_clean(db);
}

static void test_db_validation(void **state)
{
    struct backend *b = *state;
    struct db *db = b->db;
    struct err e = { 0 };
    char long_key[300];
    int64_t u = mkuser(db, "payer4", 0, NULL);
    FAILS(ERR_INVALID, pay(db, u, 100, "abcdefghijabcdefghijabcdefghijabc", NULL, NULL, NULL,
                           NULL, &e));
    assert_string_equal(e.msg, "Field pay_system_id: longer than 32 characters");
    OK(pay(db, u, 100, "abcdefghijabcdefghijabcdefghijab", NULL, NULL, NULL, NULL, &e));
    memset(long_key, 'k', 256);
    long_key[256] = '\0';
    FAILS(ERR_INVALID, pay(db, u, 100, NULL, NULL, long_key, NULL, NULL, &e));
    assert_string_equal(e.msg, "Field uniq_key: longer than 255 characters");
    long_key[255] = '\0';
    OK(pay(db, u, 100, NULL, NULL, long_key, NULL, NULL, &e));
    FAILS(ERR_INVALID, pay(db, u, MONEY_MAX + 1, NULL, NULL, NULL, NULL, NULL, &e));
    assert_string_equal(e.msg, "Field money: out of range");
    FAILS(ERR_NOT_FOUND, pay(db, 999999, 100, NULL, NULL, "k", NULL, NULL, &e));
    assert_int_equal(e.status, 404);
    assert_string_equal(e.msg, "Object not found. Check the ID.");
    assert_int_equal(count_where(db, "pays_history", 999999), 0);
    assert_int_equal(user_col(db, u, "balance"), 200);
    assert_ledger_clean(db);
}

static void test_db_partner(void **state)
{
    struct backend *b = *state;
    struct db *db = b->db;
    struct err e = { 0 };
    char want[256];
    int64_t p1 = mkuser(db, "partner1", 0, NULL);
    int64_t p2 = mkuser(db, "partner2", 0, "{\"partner\":{\"income_percent\":50}}");
    int64_t p3 = mkuser(db, "partner3", 0, "{\"partner\":{\"income_percent\":0}}");
    int64_t p4 = mkuser(db, "partner4", 0, "{\"partner\":{\"income_percent\":\"7.5\"}}");
    int64_t r1 = mkuser(db, "ref1", p1, NULL), r2 = mkuser(db, "ref2", p2, NULL);
    int64_t r3 = mkuser(db, "ref3", p3, NULL), r4 = mkuser(db, "ref4", p4, NULL);
    int64_t r5 = mkuser(db, "ref5", 987654, NULL);

    /* the seed's configured percent is 0: no reward */
    OK(pay(db, r1, 10000, "manual", NULL, NULL, NULL, NULL, &e));
    assert_int_equal(user_col(db, p1, "bonus"), 0);
    set_config(db, "billing", "{\"type\":\"Simpler\",\"partner\":{\"income_percent\":20}}");
    OK(pay(db, r1, 10000, "manual", NULL, NULL, NULL, NULL, &e));
    assert_int_equal(user_col(db, p1, "bonus"), 2000);
    assert_int_equal(count_where(db, "bonus_history", p1), 1);
    snprintf(want, sizeof(want), "{\"from_user_id\":%lld,\"payment\":100,\"percent\":20}",
             (long long)r1);
    assert_json_cell(db, "SELECT comment FROM bonus_history WHERE user_id = $1", p1, want);
    assert_json_cell(db, "SELECT event FROM spool WHERE user_id = $1", p1,
                     "{\"kind\":\"UserService\",\"method\":\"activate_services\","
                     "\"name\":\"BONUS\",\"title\":\"user payment with bonuses\"}");
    struct db_value pp[] = { DB_INT(p1) };
    int64_t bonus_id = q_int(db, "SELECT id FROM bonus_history WHERE user_id = $1", pp, 1);
    snprintf(want, sizeof(want), "{\"bonus_id\":%lld}", (long long)bonus_id);
    assert_json_cell(db, "SELECT settings FROM spool WHERE user_id = $1", p1, want);
    assert_int_equal(q_int(db, "SELECT bonus FROM ledger WHERE user_id = $1 AND kind = 'bonus'"
                               " AND ref_table = 'bonus_history'", pp, 1), 2000);
    assert_int_equal(user_col(db, r1, "bonus"), 0);

    /* refunds and cancellations give nothing; nor do rewards below a cent */
    OK(pay(db, r1, -5000, "manual-refund", NULL, NULL, NULL, NULL, &e));
    OK(pay(db, r1, 0, NULL, NULL, NULL, NULL, NULL, &e));
    OK(pay(db, r1, 2, NULL, NULL, NULL, NULL, NULL, &e)); /* 0.02 × 20 % = 0.004 */
    assert_int_equal(user_col(db, p1, "bonus"), 2000);
    OK(pay(db, r1, 12345, NULL, NULL, NULL, NULL, NULL, &e));
    assert_int_equal(user_col(db, p1, "bonus"), 2000 + 2469);
    assert_int_equal(count_where(db, "bonus_history", p1), 2);

    /* a personal percent wins over the configuration, also when it is 0 */
    OK(pay(db, r2, 10000, NULL, NULL, NULL, NULL, NULL, &e));
    assert_int_equal(user_col(db, p2, "bonus"), 5000);
    OK(pay(db, r3, 10000, NULL, NULL, NULL, NULL, NULL, &e));
    assert_int_equal(user_col(db, p3, "bonus"), 0);
    assert_int_equal(count_where(db, "spool", p3), 0);
    OK(pay(db, r4, 1010, NULL, NULL, NULL, NULL, NULL, &e)); /* 10.10 × 7.5 % = 0.7575 */
    assert_int_equal(user_col(db, p4, "bonus"), 76);
    snprintf(want, sizeof(want), "{\"from_user_id\":%lld,\"payment\":10.1,\"percent\":7.5}",
             (long long)r4);
    assert_json_cell(db, "SELECT comment FROM bonus_history WHERE user_id = $1", p4, want);

    /* a partner that does not exist: the payment goes through, nobody is rewarded */
    OK(pay(db, r5, 10000, NULL, NULL, NULL, NULL, NULL, &e));
    assert_int_equal(user_col(db, r5, "balance"), 10000);
    assert_int_equal(count_where(db, "bonus_history", 987654), 0);

    /* the idempotent repeat of a rewarded payment rewards nothing */
    OK(pay(db, r2, 10000, NULL, NULL, "once", NULL, NULL, &e));
    OK(pay(db, r2, 10000, NULL, NULL, "once", NULL, NULL, &e));
    assert_int_equal(user_col(db, p2, "bonus"), 10000);
    set_config(db, "billing", BILLING_SEED);
    assert_ledger_clean(db);
}

static void test_db_receipt(void **state)
{
    struct backend *b = *state;
    struct db *db = b->db;
    struct err e = { 0 };
    json_t *row = NULL;
    char want[64];
    int64_t u = mkuser(db, "receipt1", 0, NULL);
    set_config(db, "pay_systems", "{\"srv_customlab_nalog\":{\"enabled\":1}}");
    OK(pay(db, u, 100, NULL, NULL, NULL, &row, NULL, &e));
    OK(pay(db, u, -100, NULL, NULL, NULL, NULL, NULL, &e)); /* no receipt for a refund */
    set_config(db, "pay_systems", "{\"srv_customlab_nalog\":{\"enabled\":0}}");
    OK(pay(db, u, 100, NULL, NULL, NULL, NULL, NULL, &e));
    set_config(db, "pay_systems", "{\"manual\":{\"name\":\"Платеж\",\"show_for_client\":false}}");
    assert_int_equal(count_where(db, "spool", u), 4);
#define SECOND_TASK(col) \
    "SELECT " col " FROM spool WHERE user_id = $1 ORDER BY id LIMIT 1 OFFSET 1"
    assert_json_cell(db, SECOND_TASK("event"), u,
                     "{\"kind\":\"Cloud::Jobs\",\"method\":\"make_receipt\",\"name\":\"RECEIPT\","
                     "\"title\":\"make receipt\"}");
    snprintf(want, sizeof(want), "{\"pay_id\":%lld}", (long long)row_id(row));
    assert_json_cell(db, SECOND_TASK("settings"), u, want);
    json_decref(row);
    assert_ledger_clean(db);
}

static void test_db_delete_payment(void **state)
{
    struct backend *b = *state;
    struct db *db = b->db;
    struct err e = { 0 };
    json_t *row = NULL, *again = NULL;
    bool created = true;
    int64_t u = mkuser(db, "payer5", 0, NULL), other = mkuser(db, "payer6", 0, NULL);
    OK(pay(db, u, 3000, "manual", json_string("c"), "k-del", &row, NULL, &e));
    int64_t id = row_id(row);
    FAILS(ERR_NOT_FOUND, payment_delete(db, other, id, 1, &e));
    assert_int_equal(e.status, 404);
    FAILS(ERR_NOT_FOUND, payment_delete(db, u, id + 1000, 1, &e));
    OK(db_begin(db, true, &e));
    OK(payment_delete(db, u, id, 1, &e));
    OK(db_commit(db, &e));
    assert_int_equal(count_where(db, "pays_history", u), 0);
    assert_int_equal(count_where(db, "pays_history_deleted", u), 1);
    assert_int_equal(user_col(db, u, "balance"), 3000); /* not changed (R104) */
    assert_int_equal(count_where(db, "ledger", u), 1);  /* the payment's ledger row stays */
    struct db_value p[] = { DB_INT(id) };
    assert_int_equal(q_int(db, "SELECT deleted_by FROM pays_history_deleted WHERE id = $1", p, 1),
                     1);
    assert_int_equal(q_int(db, "SELECT deleted FROM pays_history_deleted WHERE id = $1", p, 1),
                     T_NOW);
    assert_ledger_clean(db);

    /* a provider retrying the deleted payment gets it back, not a second credit (D8) */
    OK(pay(db, u, 3000, "manual", NULL, "k-del", &again, &created, &e));
    assert_false(created);
    assert_true(json_equal(row, again));
    assert_int_equal(count_where(db, "pays_history", u), 0);
    assert_int_equal(user_col(db, u, "balance"), 3000);
    assert_int_equal(count_where(db, "spool", u), 1);
    json_decref(again);
    json_decref(row);
    FAILS(ERR_NOT_FOUND, payment_delete(db, u, id, 1, &e));
    assert_ledger_clean(db);
}

static int bonus_tx(struct db *db, int64_t user_id, int64_t amount, json_t *comment,
                    int64_t *id, struct err *e)
{
    int rc = db_begin(db, true, e);
    if (rc == 0)
        rc = bonus_set(db, user_id, amount, comment, "test", id, e);
    if (rc == 0)
        rc = db_commit(db, e);
    else
        db_rollback(db);
    json_decref(comment);
    return rc;
}

static int delete_tx(struct db *db, int64_t user_id, int64_t id, struct err *e)
{
    int rc = db_begin(db, true, e);
    if (rc == 0)
        rc = bonus_delete(db, user_id, id, e);
    if (rc == 0)
        rc = db_commit(db, e);
    else
        db_rollback(db);
    return rc;
}

static void test_db_bonus(void **state)
{
    struct backend *b = *state;
    struct db *db = b->db;
    struct err e = { 0 };
    int64_t plus = 0, minus = 0, other = 0;
    int64_t u = mkuser(db, "bonus1", 0, NULL), v = mkuser(db, "bonus2", 0, NULL);
    OK(bonus_tx(db, u, 1000, json_string("promo"), &plus, &e));
    assert_int_equal(user_col(db, u, "bonus"), 1000);
    assert_int_equal(user_col(db, u, "balance"), 0);
    assert_json_cell(db, "SELECT comment FROM bonus_history WHERE id = $1", plus, "\"promo\"");
    assert_int_equal(count_where(db, "spool", u), 1);
    OK(bonus_tx(db, u, -300, json_pack("{s:i}", "withdraw_id", 5), &minus, &e));
    assert_int_equal(user_col(db, u, "bonus"), 700);
    assert_int_equal(count_where(db, "spool", u), 1); /* no event for a debit */
    FAILS(ERR_INVALID, bonus_tx(db, u, 0, NULL, NULL, &e));
    assert_string_equal(e.msg, "Field bonus: must not be zero");
    FAILS(ERR_NOT_FOUND, bonus_tx(db, 999998, 100, NULL, NULL, &e));
    assert_int_equal(count_where(db, "bonus_history", 999998), 0);
    OK(bonus_tx(db, v, 50, NULL, &other, &e));

    /* deleting +10 while only 7 are left would make the bonus negative */
    FAILS(ERR_INVALID, delete_tx(db, u, plus, &e));
    assert_int_equal(e.status, 400);
    assert_string_equal(e.msg, "Can't delete the bonus: it has already been spent");
    FAILS(ERR_NOT_FOUND, delete_tx(db, u, other, &e)); /* another user's row */
    assert_int_equal(e.status, 404);
    OK(delete_tx(db, u, minus, &e)); /* reverses the debit: 7 + 3 */
    assert_int_equal(user_col(db, u, "bonus"), 1000);
    OK(delete_tx(db, u, plus, &e));
    assert_int_equal(user_col(db, u, "bonus"), 0);
    assert_int_equal(count_where(db, "bonus_history", u), 0);
    struct db_value p[] = { DB_INT(u) };
    assert_int_equal(q_int(db, "SELECT count(*) FROM ledger WHERE user_id = $1"
                               " AND kind = 'bonus_delete'", p, 1), 2);
    FAILS(ERR_NOT_FOUND, delete_tx(db, u, plus, &e));
    assert_ledger_clean(db);
}

static void test_db_income_percent(void **state)
{
    struct backend *b = *state;
    struct db *db = b->db;
    struct err e = { 0 };
    int64_t pct = -1;
    int64_t a = mkuser(db, "pct1", 0, "{\"partner\":{\"income_percent\":null}}");
    int64_t c = mkuser(db, "pct2", 0, "{\"partner\":{\"income_percent\":\"junk\"}}");
    int64_t d = mkuser(db, "pct3", 0, "{\"partner\":{}}");
    int64_t f = mkuser(db, "pct4", 0, "[1,2]");
    set_config(db, "billing", "{\"partner\":{\"income_percent\":12.5}}");
    OK(bonus_income_percent(db, a, &pct, &e));
    assert_int_equal(pct, 0); /* the key exists: its false value means 0 */
    OK(bonus_income_percent(db, c, &pct, &e));
    assert_int_equal(pct, 0);
    OK(bonus_income_percent(db, d, &pct, &e));
    assert_int_equal(pct, 125000);
    OK(bonus_income_percent(db, f, &pct, &e));
    assert_int_equal(pct, 125000);
    set_config(db, "billing", "{\"partner\":{\"income_percent\":\"abc\"}}");
    OK(bonus_income_percent(db, d, &pct, &e));
    assert_int_equal(pct, 0);
    set_config(db, "billing", "{\"type\":\"Simpler\"}");
    pct = -1;
    OK(bonus_income_percent(db, d, &pct, &e));
    assert_int_equal(pct, 0);
    FAILS(ERR_NOT_FOUND, bonus_income_percent(db, 999997, &pct, &e));
    set_config(db, "billing", BILLING_SEED);
}

static void test_db_idempotency_cleanup(void **state)
{
    struct backend *b = *state;
    struct db *db = b->db;
    struct err e = { 0 };
    int64_t deleted = -1;
    const char *sql = "INSERT INTO idempotency_keys (user_id, idem_key, method, path,"
                      " request_hash, status, created) VALUES (77, $1, 'PUT', '/shm/v1/x', 'h',"
                      " 200, $2)";
    struct db_value old[] = { DB_TEXT("old"), DB_INT(T_NOW - IDEMPOTENCY_TTL - 1) };
    struct db_value edge[] = { DB_TEXT("edge"), DB_INT(T_NOW - IDEMPOTENCY_TTL) };
    struct db_value young[] = { DB_TEXT("young"), DB_INT(T_NOW - 60) };
    OK(db_exec(db, sql, old, 2, NULL, &e));
    OK(db_exec(db, sql, edge, 2, NULL, &e));
    OK(db_exec(db, sql, young, 2, NULL, &e));
    FAILS(ERR_CONFLICT, db_exec(db, sql, young, 2, NULL, &e)); /* one row per (user, key) */
    OK(idempotency_cleanup(db, T_NOW, &deleted, &e));
    assert_int_equal(deleted, 1);
    assert_int_equal(count_where(db, "idempotency_keys", 77), 2);
    OK(idempotency_cleanup(db, T_NOW + 1, &deleted, &e));
    assert_int_equal(deleted, 1);
    assert_int_equal(count_where(db, "idempotency_keys", 77), 1);
}

/* ---- setup ---- */

static int pg_setup(const char *admin_url)
{
    struct err e = { 0 };
    char sql[160];
    if (db_open(admin_url, &g_pg_admin, &e)) {
        fprintf(stderr, "# cannot open %s: %s\n", admin_url, e.msg);
        return -1;
    }
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "billd_test_payment_%ld", (long)getpid());
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e))
        return -1;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, sql, &e)) {
        fprintf(stderr, "# %s: %s\n", sql, e.msg);
        return -1;
    }
    if (testdb_pg_url(admin_url, g_pg_dbname, g_pg.url, sizeof(g_pg.url)) ||
        db_open(g_pg.url, &g_pg.db, &e) || migrate_run(g_pg.db, NULL, &e)) {
        fprintf(stderr, "# cannot prepare the test database %s: %s\n", g_pg.url, e.msg);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    struct err e = { 0 };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    UNUSED(state);
    setenv("TZ", "UTC", 1);
    tzset();
    time_freeze(T_NOW);
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    snprintf(g_lite_path, sizeof(g_lite_path), "/tmp/billd_test_payment_%ld.db", (long)getpid());
    testdb_lite_remove(g_lite_path);
    snprintf(g_lite.url, sizeof(g_lite.url), "sqlite://%s", g_lite_path);
    if (db_open(g_lite.url, &g_lite.db, &e) || migrate_run(g_lite.db, NULL, &e)) {
        fprintf(stderr, "# cannot prepare %s: %s\n", g_lite.url, e.msg);
        return -1;
    }
    return pg && *pg ? pg_setup(pg) : 0;
}

static int group_teardown(void **state)
{
    struct err e = { 0 };
    char sql[160];
    UNUSED(state);
    time_unfreeze();
    db_close(g_lite.db);
    g_lite.db = NULL;
    testdb_lite_remove(g_lite_path);
    db_close(g_pg.db);
    g_pg.db = NULL;
    if (g_pg_admin) {
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_pg_dbname);
        if (db_exec_script(g_pg_admin, sql, &e))
            fprintf(stderr, "# %s failed: %s\n", sql, e.msg);
        db_close(g_pg_admin);
        g_pg_admin = NULL;
    }
    return 0;
}

/*
 * The database cases share one migrated database; each works on users of its
 * own. User 1 is created first: it owns the seed's periodic spool jobs.
 */
static int have_db(void **state)
{
    struct backend *b = *state;
    if (b->db && user_col(b->db, 1, "user_id") != 1)
        mkuser(b->db, "admin", 0, NULL);
    return b->db ? 0 : -1;
}

/* ---- main ---- */

struct case_def {
    const char *name;
    CMUnitTestFunction fn;
};

static const struct case_def pure_cases[] = {
    { "percent_parse", test_percent_parse },
    { "partner_amount", test_partner_amount },
    { "idempotency_key", test_idempotency_key },
};

static const struct case_def db_cases[] = {
    { "new_payment", test_db_new_payment },
    { "idempotent", test_db_idempotent },
    { "validation", test_db_validation },
    { "partner", test_db_partner },
    { "receipt", test_db_receipt },
    { "delete_payment", test_db_delete_payment },
    { "bonus", test_db_bonus },
    { "income_percent", test_db_income_percent },
    { "idempotency_cleanup", test_db_idempotency_cleanup },
};

#define NPURE ARRAY_SIZE(pure_cases)
#define NDB ARRAY_SIZE(db_cases)

/*
 * The PostgreSQL cases are registered only when BILLD_TEST_PG_URL is set
 * (cmocka 1.1 prints skipped tests as failures for prove).
 */
int main(void)
{
    static struct CMUnitTest all[NPURE + 2 * NDB];
    static char names[2 * NDB][64];
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0;
    if (nb == 1)
        fprintf(stderr, "# test_payment: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
    for (size_t i = 0; i < NPURE; i++, n++)
        all[n] = (struct CMUnitTest){ .name = pure_cases[i].name, .test_func = pure_cases[i].fn };
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < NDB; i++, n++) {
            char *nm = names[b * NDB + i];
            snprintf(nm, sizeof(names[0]), "%s_%s", backends[b]->name, db_cases[i].name);
            all[n] = (struct CMUnitTest){
                .name = nm,
                .test_func = db_cases[i].fn,
                .setup_func = have_db,
                .initial_state = backends[b],
            };
        }
    }
    return _cmocka_run_group_tests("test_payment", all, n, group_setup, group_teardown);
}
