/*
 * test_withdraw.c — unit tests of src/billing/withdraw.c and charge.c:
 * the discount vectors of billing.md §6.3, the calc_withdraw vectors of
 * §6.4 (Honest, withdraw_date 2019-01-01 00:00:00, UTC), available bonuses
 * (§7.2), the insufficient-funds rule with credit, can_overdraft and
 * pay_in_credit (§7.4, D20), charging through the ledger with the bonus
 * history (§7.5), composite roots (§7.3) and money back (§14.4, D21).
 *
 * The services and discounts rows of the dev seed that the vectors use are
 * built in the test's own database; every database case is rolled back.
 */
#include "billing_fixture.h"
#include "billing/ledger.h"
#include "util/timeutil.h"
#include "billing/charge.h"
#include "billing/withdraw.h"
#include "core/period.h"

#define P(m) ((int64_t)(m) * PERIOD_SCALE)

/* ---- pure: §7.2 ---- */

static void test_available_bonuses(void **state)
{
    UNUSED(state);
    json_t *none = json_object();
    json_t *l100 = json_pack("{s:i}", "limit_bonus_percent", 100);
    json_t *l50 = json_pack("{s:i}", "limit_bonus_percent", 50);
    json_t *l33 = json_pack("{s:i}", "limit_bonus_percent", 33);
    json_t *l0 = json_pack("{s:i}", "limit_bonus_percent", 0);
    assert_int_equal(charge_available_bonuses(none, 10000, 5000), 10000);
    assert_int_equal(charge_available_bonuses(l100, 10000, 5000), 10000);
    assert_int_equal(charge_available_bonuses(l50, 15000, 20000), 10000);
    assert_int_equal(charge_available_bonuses(l50, 15000, 0), 0);
    assert_int_equal(charge_available_bonuses(l33, 10000, 10000), 3300);
    assert_int_equal(charge_available_bonuses(l0, 9900, 10000), 0);
    assert_int_equal(charge_available_bonuses(none, 0, 10000), 0);
    assert_int_equal(charge_available_bonuses(none, -5, 10000), 0);
    json_decref(none);
    json_decref(l100);
    json_decref(l50);
    json_decref(l33);
    json_decref(l0);
}

static void test_insufficient(void **state)
{
    UNUSED(state);
    struct charge_user u = { .balance = 1000, .bonus = 0, .credit = 0 };
    assert_true(charge_insufficient(&u, 0, 10000, false));
    assert_false(charge_insufficient(&u, 0, 10000, true)); /* D20 */
    assert_false(charge_insufficient(&u, 9000, 10000, false));
    assert_false(charge_insufficient(&u, 0, 0, false));
    u.credit = 9000;
    assert_false(charge_insufficient(&u, 0, 10000, false));
    u.credit = 8999;
    assert_true(charge_insufficient(&u, 0, 10000, false));
    u.can_overdraft = true;
    assert_false(charge_insufficient(&u, 0, 10000, false));
}

/* ---- database: §6.3 ---- */

static void load(struct db *db, int64_t id, struct bill_service *s)
{
    struct err e = { 0 };
    OK(bill_service_load(db, id, s, &e));
}

static int64_t discount_for(struct db *db, int64_t user, int64_t svc, int64_t months)
{
    struct err e = { 0 };
    struct bill_service s;
    int64_t d = -1;
    load(db, svc, &s);
    OK(withdraw_discount(db, user, &s, months, &d, &e));
    bill_service_free(&s);
    return d;
}

static void test_discounts(void **state)
{
    struct db *db = DB(state);
    bf_seed_discounts(db);
    int64_t u = bf_mkuser(db, 0, 0);
    int64_t s1 = bf_mkservice(db, 31000, P(1), "test", 0, 0, 0, NULL, NULL);
    int64_t s11 = bf_mkservice(db, 59000, P(12), "domain", 0, 1, 0, NULL, NULL);
    int64_t s11d = bf_mkservice(db, 59000, P(12), "domain", 0, 0, 0, NULL, NULL);
    const int64_t want[][2] = { { 1, 0 },  { 2, 0 },  { 3, 10 },  { 4, 10 }, { 5, 10 },
                                { 6, 15 }, { 11, 15 }, { 12, 20 }, { 13, 20 }, { 24, 30 },
                                { 36, 40 } };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        assert_int_equal(discount_for(db, u, s1, P(want[i][0])), want[i][1]);
    assert_int_equal(discount_for(db, u, s1, 100), 0); /* 0.01 months */
    assert_int_equal(discount_for(db, u, s11, P(24)), 0);
    assert_int_equal(discount_for(db, u, s11d, P(24)), 0); /* period >= 2 */
    struct db_value p[] = { DB_INT(u) };
    struct err e = { 0 };
    OK(db_exec(db, "UPDATE users SET discount = 13 WHERE user_id = $1", p, 1, NULL, &e));
    assert_int_equal(discount_for(db, u, s1, P(1)), 13);
    assert_int_equal(discount_for(db, u, s11d, P(12)), 13);
    assert_int_equal(discount_for(db, u, s1, P(36)), 53);
    OK(db_exec(db, "UPDATE users SET discount = 90 WHERE user_id = $1", p, 1, NULL, &e));
    assert_int_equal(discount_for(db, u, s1, P(36)), 100); /* capped */
    assert_int_equal(discount_for(db, u, s11, P(1)), 0);   /* no_discount */
}

/* ---- database: §6.4 ---- */

struct wd_case {
    int svc; /* 1 or 11 */
    int64_t cost, months, discount;
    int64_t total;
    const char *end; /* NULL = not checked */
};

static void test_calc_withdraw(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    bf_seed_discounts(db);
    int64_t u = bf_mkuser(db, 0, 0);
    int64_t s1 = bf_mkservice(db, 31000, P(1), "test", 0, 0, 0, NULL, NULL);
    int64_t s11 = bf_mkservice(db, 59000, P(12), "domain", 0, 1, 0, NULL, NULL);
    const struct wd_case cases[] = {
        { 11, 120000, P(1), 0, 10000, "2019-01-31 23:59:59" },
        { 11, 60000, P(12), 0, 60000, "2019-12-31 23:59:59" },
        { 1, 31000, P(1), 0, 31000, NULL },
        { 1, 31000, 100, 0, 1000, "2019-01-01 23:59:59" },
        { 1, 31000, 200, 0, 2000, NULL },
        { 1, 31000, 1300, 0, 13000, "2019-01-13 23:59:59" },
        { 1, 60000, P(1), 20, 48000, NULL },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct bill_service s;
        struct wd w;
        char end[32];
        load(db, cases[i].svc == 1 ? s1 : s11, &s);
        struct wd_input in = { .has_cost = true, .cost = cases[i].cost, .has_months = true,
                               .months = cases[i].months, .discount = cases[i].discount,
                               .withdraw_date = bf_at("2019-01-01 00:00:00") };
        OK(withdraw_calc(db, CALC_HONEST, u, &s, &in, bf_at("2019-01-01 00:00:00"), &w, &e));
        assert_int_equal(w.total, cases[i].total);
        assert_int_equal(w.qnt, 1);
        if (cases[i].end) {
            time_format_local(w.end_date, end, sizeof(end));
            assert_string_equal(end, cases[i].end);
        }
        bill_service_free(&s);
    }
}

static void test_calc_withdraw_qnt_bonus(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct bill_service s;
    struct wd w, r;
    bf_seed_discounts(db);
    int64_t u = bf_mkuser(db, 0, 0);
    int64_t s1 = bf_mkservice(db, 10000, P(1), "test", 0, 0, 0, NULL, NULL);
    load(db, s1, &s);
    /* 4 months of a 100/month service: discount 10 % from the discounts table (§22.1) */
    struct wd_input in = { .has_months = true, .months = P(4), .qnt = 2, .bonus = 500,
                           .withdraw_date = bf_at("2017-01-01 00:00:00") };
    OK(withdraw_calc(db, CALC_HONEST, u, &s, &in, bf_at("2017-01-01 00:00:00"), &w, &e));
    assert_int_equal(w.discount, 10);
    assert_int_equal(w.total, 72000 - 500);
    assert_int_equal(w.bonus, 500);
    /* the row round trip */
    w.user_service_id = 77;
    OK(withdraw_insert(db, &w, &e));
    OK(withdraw_get(db, w.withdraw_id, &r, &e));
    assert_int_equal(r.total, w.total);
    assert_true(r.qnt == 2.0);
    assert_int_equal(r.months, P(4));
    r.qnt = 1.5;
    r.withdraw_date = 0;
    OK(withdraw_update(db, &r, &e));
    OK(withdraw_get(db, w.withdraw_id, &r, &e));
    assert_true(r.qnt == 1.5);
    assert_int_equal(r.withdraw_date, 0);
    OK(withdraw_delete(db, w.withdraw_id, &e));
    assert_int_equal(withdraw_get(db, w.withdraw_id, &r, &e), ERR_NOT_FOUND);
    bill_service_free(&s);
}

/* ---- database: §7 ---- */

/* A us of service svc with an unpaid withdraw of total; returns usi. */
static int64_t mk_us(struct db *db, int64_t user, int64_t svc, int64_t parent, int64_t total,
                     int64_t *wd_id)
{
    struct db_value p[] = { DB_INT(user), DB_INT(svc), parent ? DB_INT(parent) : DB_NULL };
    int64_t usi = bf_q_int(db,
                        "INSERT INTO user_services (user_id, service_id, created, parent) "
                        "VALUES ($1, $2, 0, $3) RETURNING user_service_id",
                        p, 3);
    struct db_value w[] = { DB_INT(user), DB_INT(svc), DB_INT(total), DB_INT(usi) };
    *wd_id = bf_q_int(db,
                   "INSERT INTO withdraw_history (user_id, create_date, cost, total, service_id, "
                   "user_service_id) VALUES ($1, 0, $3, $3, $2, $4) RETURNING withdraw_id",
                   w, 4);
    struct db_value u[] = { DB_INT(*wd_id), DB_INT(usi) };
    struct err e = { 0 };
    OK(db_exec(db, "UPDATE user_services SET withdraw_id = $1 WHERE user_service_id = $2", u, 2,
               NULL, &e));
    return usi;
}

static void test_charge(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct wd w;
    bool paid = false;
    int64_t wd_id;
    int64_t u = bf_mkuser(db, 10000, 9900);
    int64_t s = bf_mkservice(db, 10000, P(1), "t", 0, 0, 0, "{\"limit_bonus_percent\":30}", NULL);
    int64_t usi = mk_us(db, u, s, 0, 10000, &wd_id);
    OK(charge_pay_us(db, usi, 1000, &paid, &e));
    assert_true(paid);
    OK(withdraw_get(db, wd_id, &w, &e));
    assert_int_equal(w.total, 7000);
    assert_int_equal(w.bonus, 3000);
    assert_int_equal(w.withdraw_date, 1000);
    assert_int_equal(bf_user_col(db, u, "balance"), 3000);
    assert_int_equal(bf_user_col(db, u, "bonus"), 6900);
    struct db_value p[] = { DB_INT(u) };
    assert_int_equal(bf_q_int(db, "SELECT bonus FROM bonus_history WHERE user_id = $1", p, 1), -3000);
    assert_int_equal(bf_q_int(db, "SELECT count(*) FROM bonus_history WHERE user_id = $1 AND "
                               "CAST(comment AS TEXT) LIKE '%withdraw_id%'", p, 1), 1);
    bf_assert_ledger(db, u);
    /* paid already: nothing more */
    OK(charge_pay_us(db, usi, 2000, &paid, &e));
    assert_true(paid);
    assert_int_equal(bf_user_col(db, u, "balance"), 3000);

    /* not enough: nothing charged */
    int64_t u2 = bf_mkuser(db, 5000, 0);
    int64_t usi2 = mk_us(db, u2, s, 0, 10000, &wd_id);
    OK(charge_pay_us(db, usi2, 1000, &paid, &e));
    assert_false(paid);
    assert_int_equal(bf_user_col(db, u2, "balance"), 5000);
    /* pay_in_credit (D20): charged into a negative balance */
    int64_t sc = bf_mkservice(db, 10000, P(1), "t", 0, 0, 0, NULL, NULL);
    struct db_value sp[] = { DB_INT(sc) };
    OK(db_exec(db, "UPDATE services SET pay_in_credit = 1 WHERE service_id = $1", sp, 1, NULL, &e));
    int64_t usi3 = mk_us(db, u2, sc, 0, 10000, &wd_id);
    OK(charge_pay_us(db, usi3, 1000, &paid, &e));
    assert_true(paid);
    assert_int_equal(bf_user_col(db, u2, "balance"), -5000);
    bf_assert_ledger(db, u2);
}

static void test_composite(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    bool paid = false;
    int64_t wd_root, wd_child;
    int64_t sc = bf_mkservice(db, 10000, P(1), "c", 0, 0, 1, NULL, NULL);
    int64_t sk = bf_mkservice(db, 1000, P(1), "k", 1, 0, 0, NULL, NULL);
    int64_t u = bf_mkuser(db, 10000, 0);
    int64_t root = mk_us(db, u, sc, 0, 10000, &wd_root);
    int64_t child = mk_us(db, u, sk, root, 2000, &wd_child);
    OK(charge_pay_us(db, child, 1, &paid, &e));
    assert_false(paid); /* the root is not paid */
    OK(charge_pay_us(db, root, 1, &paid, &e));
    assert_false(paid); /* 100 + 20 > 100 */
    OK(ledger_adjust(db, u, 2000, 0, "payment", NULL, 0, NULL, &e));
    OK(charge_pay_us(db, root, 1, &paid, &e));
    assert_true(paid);
    OK(charge_pay_us(db, child, 1, &paid, &e));
    assert_true(paid);
    assert_int_equal(bf_user_col(db, u, "balance"), 0);
    bf_assert_ledger(db, u);
}

/* ---- database: §14.4 ---- */

static void paid_wd(struct db *db, int64_t wd_id, int64_t total, int64_t bonus, int64_t months,
                    int64_t from, int64_t end)
{
    struct err e = { 0 };
    struct wd w;
    OK(withdraw_get(db, wd_id, &w, &e));
    w.total = total;
    w.bonus = bonus;
    w.months = months;
    w.withdraw_date = from;
    w.create_date = from;
    w.end_date = end;
    OK(withdraw_update(db, &w, &e));
}

static void test_money_back(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct wd w;
    int64_t wd_id, back = 0;
    bf_set_tz("Europe/London");
    int64_t s = bf_mkservice(db, 90000, P(3), "t", 0, 0, 0, NULL, NULL);
    const int64_t paid[][4] = {
        /* money, bonus → kept money, kept bonus */
        { 90000, 0, 30000, 0 },
        { 10000, 80000, 0, 30000 },
        { 40000, 50000, 30000, 0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(paid); i++) {
        int64_t u = bf_mkuser(db, 0, 0);
        int64_t usi = mk_us(db, u, s, 0, 90000, &wd_id);
        UNUSED(usi);
        paid_wd(db, wd_id, paid[i][0], paid[i][1], P(3), bf_at("2022-01-01 00:00:00"),
                bf_at("2022-03-31 23:59:59"));
        OK(charge_money_back(db, CALC_HONEST, wd_id, bf_at("2022-02-01 00:00:00"), 5, &back, &e));
        OK(withdraw_get(db, wd_id, &w, &e));
        assert_int_equal(w.total, paid[i][2]);
        assert_int_equal(w.bonus, paid[i][3]);
        assert_int_equal(w.months, P(1));
        assert_int_equal(bf_user_col(db, u, "balance"), paid[i][0] - paid[i][2]);
        assert_int_equal(bf_user_col(db, u, "bonus"), paid[i][1] - paid[i][3]);
        bf_assert_ledger(db, u);
    }
    /* allow_return_full_wd: the whole withdraw, the row unchanged */
    int64_t sf = bf_mkservice(db, 90000, P(1), "t", 0, 0, 0, "{\"allow_return_full_wd\":1}", NULL);
    int64_t u = bf_mkuser(db, 0, 0);
    mk_us(db, u, sf, 0, 50000, &wd_id);
    paid_wd(db, wd_id, 50000, 40000, P(1), bf_at("2022-01-01 00:00:00"), bf_at("2022-01-31 23:59:59"));
    OK(charge_money_back(db, CALC_HONEST, wd_id, bf_at("2022-01-10 00:00:00"), 5, &back, &e));
    assert_int_equal(bf_user_col(db, u, "balance"), 50000);
    assert_int_equal(bf_user_col(db, u, "bonus"), 40000);
    OK(withdraw_get(db, wd_id, &w, &e));
    assert_int_equal(w.total, 50000);
    /* no_money_back and an ended withdraw: nothing */
    int64_t sn = bf_mkservice(db, 90000, P(1), "t", 0, 0, 0, "{\"no_money_back\":1}", NULL);
    int64_t u2 = bf_mkuser(db, 0, 0);
    mk_us(db, u2, sn, 0, 90000, &wd_id);
    paid_wd(db, wd_id, 90000, 0, P(1), bf_at("2022-01-01 00:00:00"), bf_at("2022-01-31 23:59:59"));
    OK(charge_money_back(db, CALC_HONEST, wd_id, bf_at("2022-01-10 00:00:00"), 5, &back, &e));
    assert_int_equal(bf_user_col(db, u2, "balance"), 0);
    mk_us(db, u2, s, 0, 90000, &wd_id);
    paid_wd(db, wd_id, 90000, 0, P(1), bf_at("2022-01-01 00:00:00"), bf_at("2022-01-31 23:59:59"));
    OK(charge_money_back(db, CALC_HONEST, wd_id, bf_at("2022-02-10 00:00:00"), 5, &back, &e));
    assert_int_equal(bf_user_col(db, u2, "balance"), 0);
}

/* D21: the used part carries the withdraw's discount and quantity. */
static void test_money_back_discount(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    struct wd w;
    int64_t wd_id, back = 0;
    bf_set_tz("Europe/London");
    int64_t s = bf_mkservice(db, 90000, P(3), "t", 0, 0, 0, NULL, NULL);
    int64_t u = bf_mkuser(db, 0, 0);
    mk_us(db, u, s, 0, 90000, &wd_id);
    OK(withdraw_get(db, wd_id, &w, &e));
    w.discount = 50;
    w.qnt = 2;
    OK(withdraw_update(db, &w, &e));
    paid_wd(db, wd_id, 90000, 0, P(3), bf_at("2022-01-01 00:00:00"), bf_at("2022-03-31 23:59:59"));
    OK(charge_money_back(db, CALC_HONEST, wd_id, bf_at("2022-02-01 00:00:00"), 5, &back, &e));
    OK(withdraw_get(db, wd_id, &w, &e));
    assert_int_equal(w.total, 30000); /* 300 × 50 % × 2 */
    assert_int_equal(back, 60000);
}

static const struct bf_case pure_cases[] = {
    { "available_bonuses", test_available_bonuses },
    { "insufficient", test_insufficient },
};

static const struct bf_case db_cases[] = {
    { "discounts", test_discounts },
    { "calc_withdraw", test_calc_withdraw },
    { "calc_withdraw_qnt_bonus", test_calc_withdraw_qnt_bonus },
    { "charge", test_charge },
    { "composite", test_composite },
    { "money_back", test_money_back },
    { "money_back_discount", test_money_back_discount },
};

int main(void)
{
    return bf_run_all("test_withdraw", "billd_test_withdraw", pure_cases, ARRAY_SIZE(pure_cases), db_cases,
                      ARRAY_SIZE(db_cases));
}
