/*
 * test_obj_user.c — unit tests of the writing and admin members of the
 * `user` template object (src/objects/obj_user_admin.c; templates.md §7.0,
 * §7.1): a table of template → expected output rendered as a user and as an
 * admin, and for each writing member its effect on the database (balance
 * and the ledger, D7; payment rows and uniq_key idempotency, D8; the CREDIT
 * event; the stored password checked as the login does), the rights rule
 * (a user's template cannot raise its own money or rights, nor reach
 * another user) and bad input (a clear error, nothing changed).
 *
 * Runs on SQLite and, when BILLD_TEST_PG_URL is set, on PostgreSQL; every
 * case runs in a transaction that is rolled back (billing_fixture.h).
 */
#include "billing_fixture.h"

#include "billing/ledger.h"
#include "core/password.h"
#include "core/session.h"
#include "core/user.h"
#include "objects/render.h"
#include "peers.h"
#include "util/buf.h"

#include <jansson.h>

#define ADMIN 1
#define ALICE 50001
#define BOB 50002

/* An admin, alice (no money, bob's partner) and bob (50.00 through the ledger). */
static void seed(struct db *db)
{
    struct err e = { 0 };
    bf_q_exec(db, "INSERT INTO users (user_id, login, password, created, gid, full_name, "
                  "partner_id, settings) VALUES "
                  "(1, 'admin', 'x', 1483228800, 1, 'Admin', 0, NULL), "
                  "(50001, 'alice', 'x', 1483228800, 0, 'Alice', 0, "
                  "'{\"pay_systems\":{\"yoomoney\":{\"payment_id\":\"tok-1\"},"
                  "\"manual\":{\"payment_id\":\"tok-2\"}}}'), "
                  "(50002, 'bob', 'x', 1483228800, 0, 'Bob', 50001, NULL)");
    if (db_engine_of(db) == DB_PG)
        bf_q_exec(db, "SELECT setval(pg_get_serial_sequence('users', 'user_id'), "
                      "(SELECT max(user_id) FROM users))");
    OK(ledger_adjust(db, BOB, 5000, 0, "payment", NULL, 0, NULL, &e));
    bf_q_exec(db, "INSERT INTO profiles (user_id, data, created) VALUES "
                  "(50001, '{\"email\":\"a@example.org\",\"name\":\"Alice A\"}', 0)");
    bf_q_exec(db, "INSERT INTO spool_history (spool_id, user_id, user_service_id, event, "
                  "status, created) VALUES "
                  "(11, 50002, 7, '{\"name\":\"A\"}', 'FAIL', 1483228800), "
                  "(12, 50002, NULL, '{\"name\":\"B\"}', 'SUCCESS', 1483228900), "
                  "(13, 50001, NULL, '{\"name\":\"C\"}', 'SUCCESS', 1483228900)");
    bf_q_exec(db, "DELETE FROM config WHERE key = 'pay_systems'");
    bf_q_exec(db, "INSERT INTO config (key, value) VALUES ('pay_systems', '{"
                  "\"manual\":{\"name\":\"Manual\"},"
                  "\"yoomoney\":{\"name\":\"YooMoney\",\"allow_recurring\":1}}')");
}

/* Renders src as user (admin flag); returns the output (owned), *rc the status. */
static char *render_as(struct db *db, int64_t user, bool admin, const char *src, int *rc,
                       struct err *e)
{
    struct render_ctx r = { .db = db, .user_id = user, .admin = admin };
    struct buf out;
    buf_init(&out, 0);
    err_clear(e);
    *rc = render_text(&r, "t", src, strlen(src), &out, e);
    render_ctx_release(&r);
    return buf_detach(&out, NULL);
}

static void expect(struct db *db, int64_t user, bool admin, const char *src, const char *want)
{
    struct err e = { 0 };
    int rc;
    char *got = render_as(db, user, admin, src, &rc, &e);
    if (rc)
        fail_msg("render of %s failed: %s", src, e.msg);
    if (strcmp(got, want))
        fail_msg("%s\n  got:  \"%s\"\n  want: \"%s\"", src, got, want);
    free(got);
}

/* The render fails with a message containing want. */
static void expect_error(struct db *db, int64_t user, bool admin, const char *src,
                         const char *want)
{
    struct err e = { 0 };
    int rc;
    free(render_as(db, user, admin, src, &rc, &e));
    if (rc == 0)
        fail_msg("render of %s succeeded, want an error \"%s\"", src, want);
    if (!strstr(e.msg, want))
        fail_msg("%s\n  error: \"%s\"\n  want:  \"%s\"", src, e.msg, want);
}

static int64_t count(struct db *db, const char *sql, int64_t id)
{
    struct db_value p[] = { DB_INT(id) };
    return bf_q_int(db, sql, p, 1);
}

static char *user_text(struct db *db, int64_t id, const char *col)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT %s FROM users WHERE user_id = $1", col);
    struct db_value p[] = { DB_INT(id) };
    struct db_result *res = NULL;
    struct err e = { 0 };
    OK(db_query(db, sql, p, 1, &res, &e));
    const char *t = db_result_rows(res) ? db_result_text(res, 0, 0) : NULL;
    char *s = t ? xstrdup(t) : NULL;
    db_result_free(res);
    return s;
}

/* True when login/password pass the login's check (user_find_by_login + verify). */
static bool can_login(struct db *db, const char *login, const char *pw)
{
    struct user_auth a = { 0 };
    struct err e = { 0 };
    bool ok = user_find_by_login(db, login, &a, &e) == 0 &&
              password_verify_login(a.password, login, pw);
    user_auth_free(&a);
    return ok;
}

struct vec {
    int64_t user;
    bool admin;
    const char *src;
    const char *want;
};

static const struct vec vectors[] = {
    /* the generic protocol */
    { BOB, false, "{{ user.get.login }}|{{ user.pairs.full_name }}|{{ user.reload.login }}",
      "bob|Bob|bob" },
    { BOB, false, "{{ user.lock.login }}", "bob" },
    { BOB, false, "{{ user.set(full_name = 'Bobby').full_name }}|{{ user.full_name }}",
      "Bobby|Bobby" },
    { BOB, false, "{{ user.set('phone', '+100', 'full_name', 'B2').phone }}|{{ user.full_name }}",
      "+100|B2" },
    { BOB, false, "{{ user.set({ full_name => 'B3' }).full_name }}", "B3" },
    { ADMIN, true, "{{ user(50002).set(comment = 'vip', discount = 5).discount }}|"
                   "{{ user(50002).comment }}", "5|vip" },
    { ADMIN, true, "{{ user(50002).set(block = 1, credit = 0).is_blocked }}", "1" },
    /* switch: a user's render stays its own user */
    { BOB, false, "[{{ user.switch(50001) }}]{{ user.login }}|{{ user.switch(50002).login }}",
      "[]bob|bob" },
    { ADMIN, true, "{{ user.switch(50001).login }}|{{ user.set(full_name = 'A2').full_name }}|"
                   "{{ user(50001).full_name }}", "alice|A2|A2" },
    /* lists: every user for an admin, only oneself otherwise */
    { ADMIN, true, "{{ FOR u IN user.items }}{{ u.login }},{{ END }}", "admin,alice,bob," },
    { ADMIN, true, "{{ user.list_for_api('admin', 1).size }}|"
                   "{{ user.list_for_api('admin', 1, 'limit', 1, 'offset', 1).login }}|"
                   "[{{ user.list_for_api('admin', 1).0.password }}]", "3|alice|[]" },
    /* (a one-row list is the row itself, Perl's list-return rule) */
    { BOB, false, "{{ FOR u IN user.items }}{{ u.login }},{{ END }}|"
                  "{{ user.list_for_api('admin', 1).login }}", "bob,|bob" },
    /* referrals: objects for an admin, {user_id, created} for the partner itself */
    { ADMIN, true, "{{ FOR u IN user(50001).referrals }}{{ u.login }}{{ END }}", "bob" },
    { ALICE, false, "{{ FOR u IN user.referrals }}{{ u.user_id }}/{{ u.created }}/"
                    "[{{ u.login }}]{{ END }}|{{ user.referrals_count }}",
      "50002/2017-01-01 00:00:00/[]|1" },
    /* profile, storage */
    { ALICE, false, "{{ user.profile.email }}|{{ user.profile.name }}|[{{ user(50002).profile }}]",
      "a@example.org|Alice A|[]" },
    { BOB, false, "[{{ user.profile.email }}]", "[]" },
    { BOB, false, "{{ CALL user.storage.save('k', 'v') }}{{ user.storage.load('k') }}", "v" },
    { ADMIN, true, "[{{ user(50002).storage }}]", "[]" },
    /* spool_history: the user's own runs, newest first */
    { BOB, false, "{{ FOR h IN user.spool_history }}{{ h.spool_id }}:{{ h.status }}:"
                  "{{ h.event.name }};{{ END }}|{{ user.spool_history(usi = 7).size }}|"
                  "{{ user.spool_history(limit = 1).0.spool_id }}", "12:SUCCESS:B;11:FAIL:A;|1|12" },
    { ADMIN, true, "{{ user(50001).spool_history.size }}|{{ user(50002).spool_history.size }}",
      "1|2" },
    { ALICE, false, "{{ user.spool_history.0.spool_id }}|[{{ user(50002).spool_history }}]",
      "13|[]" },
    /* saved recurring methods: only those of pay systems with allow_recurring */
    { ALICE, false, "{{ user.has_autopayment }}|"
                    "{{ FOR m IN user.list_autopayments }}{{ m.pay_system }}={{ m.name }}"
                    "{{ END }}", "1|yoomoney=YooMoney" },
    { BOB, false, "{{ user.has_autopayment }}|{{ user.list_autopayments.size }}", "0|0" },
    /* D11: another user's object is undefined in a user's render, so are its members */
    { BOB, false, "[{{ user(50001).set(full_name = 'x') }}|{{ user(50001).payment(money = 1) }}|"
                  "{{ user(50001).passwd(password = 'abcdefgh1') }}|{{ user(50001).items }}|"
                  "{{ user(50001).delete }}|{{ user(50001).lock }}]", "[|||||]" },
};

static void expect_all(struct db *db, const struct vec *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        expect(db, v[i].user, v[i].admin, v[i].src, v[i].want);
}

static void test_vectors(void **state)
{
    struct db *db = DB(state);
    seed(db);
    expect_all(db, vectors, ARRAY_SIZE(vectors));
    /* bob's vectors never reached alice; the admin's did */
    assert_int_equal(count(db, "SELECT COUNT(*) FROM users WHERE user_id = $1 AND "
                               "full_name = 'A2'", ALICE), 1);
    assert_int_equal(bf_user_col(db, BOB, "block"), 1);
}

struct bad {
    int64_t user;
    bool admin;
    const char *src;
    const char *err;
};

/* Refused writes: nothing may change (checked after the table). */
static const struct bad refused[] = {
    { BOB, false, "{{ user.set(balance = 1000) }}", "field balance may not be set" },
    { BOB, false, "{{ user.set(credit = 1000) }}", "field credit may not be set" },
    { BOB, false, "{{ user.set(discount = 50) }}", "field discount may not be set" },
    { BOB, false, "{{ user.set('gid', 1) }}", "field gid may not be set" },
    { BOB, false, "{{ user.set(full_name = 'ok', block = 0) }}", "field block may not be set" },
    { BOB, false, "{{ user.set(nosuch = 1) }}", "unknown field nosuch" },
    { BOB, false, "{{ user.set }}", "nothing to set" },
    { ADMIN, true, "{{ user(50002).set(balance = 1000) }}", "field balance may not be set" },
    { ADMIN, true, "{{ user(50002).set(bonus = 10) }}", "field bonus may not be set" },
    { ADMIN, true, "{{ user(50002).set(password = 'x') }}", "field password may not be set" },
    { ADMIN, true, "{{ user(50002).set(login = 'ALICE') }}", "Login already in use" },
    { BOB, false, "{{ user.payment(money = 100) }}", "only an admin's template" },
    { BOB, false, "{{ user.set_credit(100) }}", "only an admin's template" },
    { BOB, false, "{{ user.recash }}", "only an admin's template" },
    { BOB, false, "{{ user.delete(force = 1) }}", "only an admin's template" },
    { BOB, false, "{{ user.reg(login = 'eve', password = 'password1') }}",
      "only an admin's template" },
    { ADMIN, true, "{{ user(50002).payment(money = 'abc') }}", "Field money" },
    { ADMIN, true, "{{ user(50002).payment(money = 1.005) }}", "Field money" },
    { ADMIN, true, "{{ user(50002).payment }}", "Field money" },
    { ADMIN, true, "{{ user(50002).set_credit(-5) }}", "non-negative amount" },
    { ADMIN, true, "{{ user(50002).set_credit }}", "non-negative amount" },
    { BOB, false, "{{ user.passwd(password = 'short') }}", "" },
    { BOB, false, "{{ user.passwd }}", "no password" },
    { ADMIN, true, "{{ user.set_new_passwd }}", "refused for an admin" },
    { ADMIN, true, "{{ user.delete(force = 1) }}", "Can't delete an admin" },
    { ADMIN, true, "{{ user(50002).delete }}", "non-zero balance" },
    { ADMIN, true, "{{ user.reg(login = 'eve') }}", "login and password must be strings" },
    { ADMIN, true, "{{ user.reg(login = 'bob', password = 'password1') }}",
      "Login already in use" },
    { ADMIN, true, "{{ user.reg(login = 'e v e', password = 'password1') }}", "" },
    { ADMIN, true, "{{ user.reg(login = 'eve', password = 'short') }}", "" },
};

static void test_refused(void **state)
{
    struct db *db = DB(state);
    seed(db);
    for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
        expect_error(db, refused[i].user, refused[i].admin, refused[i].src, refused[i].err);
    assert_int_equal(bf_user_col(db, BOB, "balance"), 5000);
    assert_int_equal(bf_user_col(db, BOB, "bonus"), 0);
    assert_int_equal(bf_user_col(db, BOB, "credit"), 0);
    assert_int_equal(bf_user_col(db, BOB, "discount"), 0);
    assert_int_equal(bf_user_col(db, BOB, "gid"), 0);
    assert_int_equal(bf_user_col(db, BOB, "block"), 0);
    char *pw = user_text(db, BOB, "password");
    assert_string_equal(pw, "x");
    free(pw);
    char *name = user_text(db, BOB, "full_name");
    assert_string_equal(name, "Bob");
    free(name);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM pays_history WHERE user_id = $1", BOB), 0);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM users WHERE user_id >= $1", 0), 3);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM spool WHERE user_id = $1", BOB), 0);
    bf_assert_ledger(db, BOB);
}

/* payment: the balance through the ledger, the row, the partner reward; uniq_key once. */
static void test_payment(void **state)
{
    struct db *db = DB(state);
    seed(db);
    const char *pay = "{{ p = user(50002).payment(money = 100.5, pay_system_id = 'manual', "
                      "comment = 'tpl', uniq_key = 'k-1') }}{{ p.money }}|{{ p.pay_system_id }}"
                      "|{{ user(50002).balance }}";
    expect(db, ADMIN, true, pay, "100.5|manual|150.5");
    int64_t id = count(db, "SELECT id FROM pays_history WHERE user_id = $1", BOB);
    char want[64];
    snprintf(want, sizeof(want), "%lld|150.5", (long long)id);
    /* the same uniq_key: the first payment, no second credit */
    expect(db, ADMIN, true,
           "{{ user(50002).payment(money = 100.5, uniq_key = 'k-1').id }}|"
           "{{ user(50002).balance }}", want);
    assert_int_equal(bf_user_col(db, BOB, "balance"), 15050);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM pays_history WHERE user_id = $1", BOB), 1);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM ledger WHERE user_id = $1 AND "
                               "kind = 'payment'", BOB), 2); /* the seed's and this one */
    bf_assert_ledger(db, BOB);
    bf_assert_ledger(db, ALICE);
    /* a numeric uniq_key and a refund without one */
    expect(db, ADMIN, true, "{{ user(50002).payment(money = -0.5, uniq_key = 7).money }}|"
                            "{{ user(50002).balance }}", "-0.5|150");
    assert_int_equal(count(db, "SELECT COUNT(*) FROM pays_history WHERE user_id = $1 AND "
                               "uniq_key = '7'", BOB), 1);
    bf_assert_ledger(db, BOB);
    int64_t mismatches = -1;
    struct err e = { 0 };
    OK(ledger_check(db, &mismatches, &e));
    assert_int_equal(mismatches, 0);
}

/* set_credit and an admin's set(credit): the column and the CREDIT event (§20). */
static void test_credit(void **state)
{
    struct db *db = DB(state);
    seed(db);
    const char *credit_events = "SELECT COUNT(*) FROM spool WHERE user_id = $1 AND "
                                "CAST(event AS TEXT) LIKE '%CREDIT%'";
    expect(db, ADMIN, true, "{{ user(50002).set_credit(25.5).credit }}", "25.5");
    assert_int_equal(bf_user_col(db, BOB, "credit"), 2550);
    assert_int_equal(count(db, credit_events, BOB), 1);
    /* unchanged: no second event; lowered to 0: none either */
    expect(db, ADMIN, true, "{{ user(50002).set_credit(credit = 25.5).credit }}", "25.5");
    expect(db, ADMIN, true, "{{ user(50002).set_credit(0).credit }}", "0");
    assert_int_equal(count(db, credit_events, BOB), 1);
    expect(db, ADMIN, true, "{{ user(50002).set(credit = 7).credit }}", "7");
    assert_int_equal(count(db, credit_events, BOB), 2);
    expect(db, ADMIN, true, "{{ user(50002).set_credit(credit = 0, perm_credit = 1).perm_credit }}",
           "1");
    assert_int_equal(count(db, credit_events, BOB), 3);
    assert_int_equal(bf_user_col(db, BOB, "balance"), 5000);
    bf_assert_ledger(db, BOB);
}

/* passwd and set_new_passwd, checked by the login's own check. */
static void test_passwords(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int rc;
    seed(db);
    expect(db, BOB, false, "{{ user.passwd(password = 'new-pass-1').login }}", "bob");
    assert_true(can_login(db, "bob", "new-pass-1"));
    assert_false(can_login(db, "bob", "x"));
    expect(db, ADMIN, true, "{{ user(50002).passwd('admin-set-2').login }}", "bob");
    assert_true(can_login(db, "bob", "admin-set-2"));
    char *pw = render_as(db, BOB, false, "{{ user.set_new_passwd }}", &rc, &e);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(pw), 10);
    assert_true(can_login(db, "bob", pw));
    assert_false(can_login(db, "bob", "admin-set-2"));
    free(pw);
    pw = render_as(db, ALICE, false, "{{ user.set_new_passwd(16) }}", &rc, &e);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(pw), 16);
    assert_true(can_login(db, "alice", pw));
    free(pw);
    /* shorter than the minimum (8): the minimum */
    pw = render_as(db, ALICE, false, "{{ user.set_new_passwd(3) }}", &rc, &e);
    assert_int_equal(strlen(pw), 8);
    free(pw);
    /* an admin's password is never reset, not even by an admin's render */
    expect_error(db, ADMIN, true, "{{ user(1).set_new_passwd }}", "refused for an admin");
    char *admin_pw = user_text(db, ADMIN, "password");
    assert_string_equal(admin_pw, "x");
    free(admin_pw);
}

/* recash rebuilds the balance from the histories through the ledger (§15.4). */
static void test_recash(void **state)
{
    struct db *db = DB(state);
    seed(db);
    /* bob's 50.00 has no payment row: recash brings the balance to Σ payments = 12.00 */
    expect(db, ADMIN, true, "{{ CALL user(50002).payment(money = 12) }}{{ user(50002).balance }}",
           "62");
    expect(db, ADMIN, true, "{{ r = user(50002).recash }}{{ r.before.balance }}|"
                            "{{ r.after.balance }}|{{ user(50002).balance }}", "62|12|12");
    assert_int_equal(bf_user_col(db, BOB, "balance"), 1200);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM ledger WHERE user_id = $1 AND "
                               "kind = 'recash'", BOB), 1);
    bf_assert_ledger(db, BOB);
}

/* delete: refused with money, forced away; reg: a new user that can log in. */
static void test_delete_reg(void **state)
{
    struct db *db = DB(state);
    seed(db);
    expect(db, ADMIN, true, "{{ user(50001).delete }}", "1");
    assert_int_equal(count(db, "SELECT COUNT(*) FROM users WHERE user_id = $1", ALICE), 0);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM profiles WHERE user_id = $1", ALICE), 0);
    expect(db, ADMIN, true, "{{ user(50002).delete(force = 1) }}", "1");
    assert_int_equal(count(db, "SELECT COUNT(*) FROM users WHERE user_id = $1", BOB), 0);
    /* the written-off balance keeps the ledger of the id at zero */
    assert_int_equal(count(db, "SELECT COALESCE(SUM(money), 0) FROM ledger "
                               "WHERE user_id = $1", BOB), 0);
    expect(db, ADMIN, true, "{{ u = user.reg(login = 'Eve', password = 'password1', "
                            "full_name = 'Eve E') }}{{ u.login }}|{{ u.full_name }}|"
                            "{{ u.balance }}", "eve|Eve E|0");
    assert_true(can_login(db, "eve", "password1"));
}

/* delete_autopayment removes saved recurring methods only. */
static void test_autopayment(void **state)
{
    struct db *db = DB(state);
    seed(db);
    expect(db, ALICE, false, "{{ user.delete_autopayment('manual') }}|{{ user.has_autopayment }}",
           "0|1");
    expect(db, ALICE, false, "{{ user.delete_autopayment(pay_system = 'yoomoney') }}|"
                             "{{ user.has_autopayment }}|{{ user.settings.pay_systems.manual."
                             "payment_id }}|[{{ user.settings.pay_systems.yoomoney }}]",
           "1|0|tok-2|[]");
    expect(db, ALICE, false, "{{ user.delete_autopayment }}", "0");
}

/* The pay systems' programs (HttpPeer: a 2xx answer for any /shm/pay_systems path). */
static struct peer g_peer;

/* Points api.url at the peer (+ suffix) and sets billing.auto_payments to conf. */
static void autopay_config(struct db *db, const char *suffix, const char *conf)
{
    char sql[512];
    bf_q_exec(db, "DELETE FROM config WHERE key IN ('api', 'billing')");
    snprintf(sql, sizeof(sql), "INSERT INTO config (key, value) VALUES "
                               "('api', '{\"url\":\"http://127.0.0.1:%d%s\"}'), "
                               "('billing', '{\"auto_payments\":%s}')",
             g_peer.port, suffix, conf);
    bf_q_exec(db, sql);
    peer_clear(&g_peer);
}

/* The number of requests the peer got; *body (may be NULL) the last one's body (owned). */
static size_t peer_requests(char **body, char **session, char **path)
{
    json_t *recs = peer_records(&g_peer);
    json_t *last = json_array_get(recs, json_array_size(recs) - 1);
    size_t n = json_array_size(recs);
    const char *b = json_string_value(json_object_get(last, "body"));
    const char *sid = json_string_value(json_object_get(json_object_get(last, "headers"),
                                                        "session_id"));
    const char *p = json_string_value(json_object_get(last, "path"));
    if (body)
        *body = b ? xstrdup(b) : NULL;
    if (session)
        *session = sid ? xstrdup(sid) : NULL;
    if (path)
        *path = p ? xstrdup(p) : NULL;
    json_decref(recs);
    return n;
}

/* make_autopayment (billing.md §21): skips, the POST to the pay system, the record. */
static void test_make_autopayment(void **state)
{
    struct db *db = DB(state);
    seed(db);
    const char *on = "{\"enabled\":1,\"withdraw\":{\"max_amount\":100,\"period\":\"1d\"}}";
    autopay_config(db, "", on);
    expect(db, ALICE, false, "{{ user.make_autopayment(0) }}{{ user.make_autopayment }}"
                             "{{ user.make_autopayment(500) }}{{ user.make_autopayment('x') }}",
           "0000");
    expect(db, BOB, false, "{{ user.make_autopayment(10) }}", "0"); /* no saved method */
    assert_int_equal(peer_requests(NULL, NULL, NULL), 0);
    expect(db, ALICE, false, "{{ user.make_autopayment(12.5) }}|"
                             "{{ user.settings.auto_payments.last_payment.ps_name }}|"
                             "{{ user.settings.auto_payments.last_payment.amount }}", "1|yoomoney|12.5");
    char *body = NULL, *sid = NULL, *path = NULL;
    assert_int_equal(peer_requests(&body, &sid, &path), 1);
    assert_string_equal(path, "/shm/pay_systems/yoomoney.cgi");
    assert_non_null(strstr(body, "action=payment"));
    assert_non_null(strstr(body, "amount=12.5"));
    assert_non_null(strstr(body, "payment_id=tok-1"));
    assert_int_equal(strlen(sid), SESSION_TOKEN_LEN);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM sessions WHERE user_id = $1", ALICE), 1);
    free(body);
    free(sid);
    free(path);
    /* within withdraw.period of the last one: skipped */
    expect(db, ALICE, false, "{{ user.make_autopayment(12.5) }}", "0");
    assert_int_equal(peer_requests(NULL, NULL, NULL), 1);
    /* the user's own settings: deny, or enabled over a disabled config */
    bf_q_exec(db, "UPDATE users SET settings = '{\"deny_auto_payments\":1,\"pay_systems\":"
                  "{\"yoomoney\":{\"payment_id\":\"tok-1\"}}}' WHERE user_id = 50001");
    expect(db, ALICE, false, "{{ user.make_autopayment(5) }}", "0");
    bf_q_exec(db, "UPDATE users SET settings = '{\"auto_payments\":{\"enabled\":1},"
                  "\"pay_systems\":{\"yoomoney\":{\"payment_id\":\"tok-1\"}}}' "
                  "WHERE user_id = 50001");
    autopay_config(db, "", "{\"enabled\":0}");
    expect(db, ALICE, false, "{{ user.make_autopayment(5) }}", "1");
    bf_q_exec(db, "UPDATE users SET settings = '{\"pay_systems\":"
                  "{\"yoomoney\":{\"payment_id\":\"tok-1\"}}}' WHERE user_id = 50001");
    expect(db, ALICE, false, "{{ user.make_autopayment(5) }}", "0");
    /* the pay system refuses: tried, nothing recorded */
    autopay_config(db, "/status/500", on);
    expect(db, ALICE, false, "{{ user.make_autopayment(5) }}|"
                             "[{{ user.settings.auto_payments }}]", "0|[]");
    assert_int_equal(peer_requests(NULL, NULL, &path), 1);
    assert_string_equal(path, "/status/500/shm/pay_systems/yoomoney.cgi");
    free(path);
    /* another user's: undefined */
    expect(db, BOB, false, "[{{ user(50001).make_autopayment(5) }}]", "[]");
}

/* Rows of alice (and one of bob) in pays_history, withdraw_history and bonus_history. */
static void seed_money(struct db *db)
{
    bf_q_exec(db, "INSERT INTO pays_history (id, user_id, pay_system_id, money, date) VALUES "
                  "(901, 50001, 'manual', 1000, 1483228800), "
                  "(902, 50001, 'yoomoney', 2550, 1483315200), "
                  "(903, 50001, 'manual', 500, 1483401600), "
                  "(904, 50002, 'manual', 9900, 1483401600)");
    bf_q_exec(db, "INSERT INTO withdraw_history (withdraw_id, user_id, create_date, "
                  "withdraw_date, cost, total, service_id, user_service_id) VALUES "
                  "(801, 50001, 1483228800, 1483228800, 1000, 1000, 1, 7), "
                  "(802, 50001, 1483228800, NULL, 2000, 2000, 1, 8), "
                  "(803, 50001, 1483228800, 1483315200, 300, 300, 1, 7), "
                  "(804, 50002, 1483228800, NULL, 100, 100, 1, 9)");
    bf_q_exec(db, "INSERT INTO bonus_history (id, user_id, date, bonus, comment) VALUES "
                  "(701, 50001, 1483228800, 500, NULL), (702, 50001, 1483315200, -200, NULL), "
                  "(703, 50002, 1483315200, 100, NULL)");
}

/* filter / sort / rsort / limit / items on pays, wd and bonus (templates.md §7.0). */
static const struct vec coll_cases[] = {
    { ALICE, false, "{{ FOR p IN user.pays.filter(pay_system_id = 'manual').items }}"
                    "{{ p.id }}:{{ p.money }};{{ END }}", "901:10;903:5;" },
    { ALICE, false, "{{ FOR p IN user.pay.filter(money = gt(6)).list_for_api }}{{ p.id }};"
                    "{{ END }}", "901;902;" },
    { ALICE, false, "{{ FOR p IN user.pays.rsort('money').limit(2).items }}{{ p.id }};{{ END }}",
      "902;901;" },
    { ALICE, false, "{{ FOR p IN user.pays.sort('pay_system_id').items(limit = 2, offset = 1) }}"
                    "{{ p.id }};{{ END }}", "903;902;" },
    { ALICE, false, "{{ FOR p IN user.pays.items(where = { money = le(5) }) }}{{ p.id }};{{ END }}",
      "903;" },
    { ALICE, false, "{{ c = user.pays }}{{ d = c.filter(id = 902) }}{{ c.items.size }}|"
                    "{{ d.items.size }}|{{ d.filter(money = 0).items.size }}", "3|1|0" },
    { ALICE, false, "{{ FOR w IN user.wd.filter(withdraw_date = isNull).items }}{{ w.id }}:"
                    "{{ w.total }};{{ END }}|{{ FOR w IN user.withdraws.filter(user_service_id = 7)"
                    ".rsort('withdraw_id').list_for_api }}{{ w.withdraw_id }};{{ END }}",
      "802:20;|803;801;" },
    { ALICE, false, "{{ FOR b IN user.bonus.filter(bonus = isNegative).items }}{{ b.id }}:"
                    "{{ b.amount }};{{ END }}|{{ FOR b IN user.bonus.rsort('date').list_for_api }}"
                    "{{ b.id }};{{ END }}", "702:-2;|702;701;" },
    { ALICE, false, "{{ user.pays.last.id }}|{{ user.wd.last.id }}|"
                    "{{ user.pays.filter(id = 901).last.id }}", "903|803|903" },
    /* D11: only the render's own user; an admin any user */
    { ALICE, false, "[{{ user(50002).pays.filter(money = gt(0)).items.size }}]", "[]" },
    { ADMIN, true, "{{ FOR p IN user(50002).pays.filter(money = gt(0)).items }}{{ p.id }};"
                   "{{ END }}|{{ user(50002).wd.filter(withdraw_date = isNull).items.0.id }}|"
                   "{{ user(50002).bonus.items.0.id }}", "904;|804|703" },
};

static void test_collection_filters(void **state)
{
    struct db *db = DB(state);
    seed(db);
    seed_money(db);
    expect_all(db, coll_cases, ARRAY_SIZE(coll_cases));
    expect_error(db, ALICE, false, "{{ user.pays.filter(password = 1).items }}",
                 "filter: unknown field password");
    expect_error(db, ALICE, false, "{{ user.wd.rsort('nope').list_for_api }}",
                 "sort: unknown field nope");
    expect_error(db, ALICE, false, "{{ user.bonus.filter(bonus = 'x').items }}",
                 "filter bonus");
}

int main(void)
{
    static const struct bf_case dbc[] = {
        { "vectors", test_vectors },     { "refused", test_refused },
        { "payment", test_payment },     { "credit", test_credit },
        { "passwords", test_passwords }, { "recash", test_recash },
        { "delete_reg", test_delete_reg }, { "autopayment", test_autopayment },
        { "make_autopayment", test_make_autopayment },
        { "collection_filters", test_collection_filters },
    };
    if (peer_start(&g_peer, "HttpPeer", NULL))
        return 1;
    int rc = bf_run_all("obj_user", "billd_test_obj_user", NULL, 0, dbc, ARRAY_SIZE(dbc));
    peer_stop(&g_peer);
    return rc;
}
