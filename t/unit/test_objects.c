/*
 * test_objects.c — unit tests of the SHM object model (src/objects/,
 * templates.md §7) through render_text() on a seeded database: a table of
 * template → expected output for the objects and their members, rendered as
 * a user, as an admin and anonymously (the rights rule D11: a user's
 * template naming another user's objects gets nothing), and the members
 * that write: us.gen_store_pass, user.gen_session, storage, task.answer,
 * spool.add and us.make_custom_event.
 *
 * Runs on SQLite and, when BILLD_TEST_PG_URL is set, on PostgreSQL; every
 * case runs in a transaction that is rolled back (billing_fixture.h).
 */
#include "billing_fixture.h"

#include "billing/forecast.h"
#include "core/session.h"
#include "objects/qr.h"
#include "objects/render.h"
#include "spool/task.h"
#include "template/tpl.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <zlib.h>

#define DANUK 40092
#define BOB 40093
#define ADMIN 1

/* The dev-seed-like data every database case starts from. */
static void seed(struct db *db)
{
    bf_q_exec(db, "INSERT INTO users (user_id, login, password, created, balance, bonus, gid, "
                  "full_name, settings) VALUES "
                  "(1, 'admin', 'x', 1483228800, 0, 0, 1, 'Admin', NULL), "
                  "(40092, 'danuk', 'secret-hash', 1483228800, -17706, 1250, 0, "
                  "'Фирсов Даниил Андреевич', '{\"lang\":\"ru\",\"email\":\"d@example.org\"}'), "
                  "(40093, 'bob', 'x', 1483228800, 5000, 0, 0, 'Bob', NULL)");
    bf_q_exec(db, "INSERT INTO services (service_id, name, cost, period, category, "
                  "allow_to_order) VALUES "
                  "(1001, 'Тариф X-MAX (${QUOTA} мб)', 30000, 10000, 'web_tariff', 1), "
                  "(1002, 'DNS', 0, 10000, 'dns', 0)");
    bf_q_exec(db, "INSERT INTO servers_groups (group_id, name, transport) VALUES "
                  "(1001, 'web', 'ssh')");
    bf_q_exec(db, "INSERT INTO servers (server_id, server_gid, name, transport, host, settings) "
                  "VALUES (1001, 1001, 'web1', 'ssh', 'host1.domain.ru', '{\"key_id\":1}')");
    bf_q_exec(db, "INSERT INTO withdraw_history (withdraw_id, user_id, create_date, "
                  "withdraw_date, end_date, cost, total, service_id, user_service_id) VALUES "
                  "(1001, 40092, 1483228800, 1483228800, 1485907190, 30000, 30000, 1001, 1099), "
                  "(1002, 40093, 1483228800, 1483228800, 1485907190, 30000, 30000, 1001, 1200)");
    bf_q_exec(db, "INSERT INTO user_services (user_service_id, user_id, service_id, "
                  "withdraw_id, created, expire, status, parent, settings) VALUES "
                  "(1099, 40092, 1001, 1001, 1483228800, 1485907190, 'ACTIVE', NULL, "
                  "'{\"quota\":10000,\"login\":\"w_101\",\"server_id\":1001}'), "
                  "(1100, 40092, 1002, NULL, 1483228800, NULL, 'ACTIVE', 1099, '{}'), "
                  "(1200, 40093, 1001, 1002, 1483228800, 1485907190, 'ACTIVE', NULL, "
                  "'{\"login\":\"w_bob\",\"password\":\"bobs\"}')");
    bf_q_exec(db, "INSERT INTO pays_history (id, user_id, pay_system_id, money, date) VALUES "
                  "(1001, 40092, 'manual', 10000, 1483228800), "
                  "(1002, 40092, 'manual', 2500, 1483315200), "
                  "(1003, 40093, 'manual', 5000, 1483315200)");
    bf_q_exec(db, "INSERT INTO bonus_history (id, user_id, date, bonus, comment) VALUES "
                  "(1001, 40092, 1483228800, 1250, '{\"msg\":\"gift\"}')");
    bf_q_exec(db, "DELETE FROM config WHERE key IN ('api', 'telegram', '_shm', 'pay_systems')");
    bf_q_exec(db, "INSERT INTO config (key, value) VALUES ('pay_systems', '{"
                  "\"manual\":{\"name\":\"Платеж\",\"show_for_client\":false},"
                  "\"yoomoney\":{\"name\":\"ЮMoney\",\"account\":\"000\",\"secret\":\"S1\","
                  "\"show_for_client\":true,\"weight\":5,\"allow_recurring\":1},"
                  "\"crypto\":{\"name\":\"Crypto\",\"paysystem\":\"cryptocloud\","
                  "\"api_key\":\"K\",\"show_for_client\":1,\"weight\":9}}')");
    bf_q_exec(db, "INSERT INTO config (key, value) VALUES "
                  "('api', '{\"url\":\"https://bill.example\"}'), "
                  "('telegram', '{\"token\":\"TG-SECRET\",\"bot\":\"shm_bot\"}'), "
                  "('_shm', '{\"version\":\"x\"}')");
}

/* Renders src as user (admin flag, usi) into a new string; *rc gets the status. */
static char *render_as(struct db *db, int64_t user, bool admin, int64_t usi, const char *src,
                       int *rc, struct err *e)
{
    struct render_ctx r = { .db = db, .user_id = user, .admin = admin, .usi = usi };
    struct buf out;
    buf_init(&out, 0);
    *rc = render_text(&r, "t", src, strlen(src), &out, e);
    render_ctx_release(&r);
    return buf_detach(&out, NULL);
}

static void expect(struct db *db, int64_t user, bool admin, int64_t usi, const char *src,
                   const char *want)
{
    struct err e = { 0 };
    int rc;
    char *got = render_as(db, user, admin, usi, src, &rc, &e);
    if (rc)
        fail_msg("render of %s failed: %s", src, e.msg);
    if (strcmp(got, want))
        fail_msg("%s\n  got:  \"%s\"\n  want: \"%s\"", src, got, want);
    free(got);
}

struct vec {
    const char *src;
    const char *want;
};

/* Rendered as danuk with us bound to 1099. */
static const struct vec user_vectors[] = {
    { "{{ user.login }} ({{ user.id }}), balance={{ user.balance }}",
      "danuk (40092), balance=-177.06" },
    { "{{ user.full_name }}|{{ user.settings.lang }}|{{ user.get_bonus }}|{{ user.bonus }}",
      "Фирсов Даниил Андреевич|ru|12.5|Core::Bonus" },
    { "[{{ user.password }}]", "[]" },
    { "{{ user.email }}|{{ user.is_admin }}{{ user.is_blocked }}", "d@example.org|00" },
    { "{{ user.created }}", "2017-01-01 00:00:00" },
    { "{{ user.has_payments }}{{ user.has_withdraws }}{{ user.referrals_count }}", "110" },
    { "{{ user(40092).login }}|{{ user.id(40092).login }}", "danuk|danuk" },
    { "[{{ user.switch(40093).login }}]{{ user.login }}|{{ user.switch(40092).login }}",
      "[]danuk|danuk" },
    /* D11: another user's objects are undefined for a user's template */
    { "[{{ user(40093).login }}|{{ user.id(40093).login }}|{{ us(1200).id }}|"
      "{{ us(1200).settings.password }}|{{ wd(1002).total }}|{{ pay(1003).money }}|"
      "{{ user.us(1200).id }}]", "[||||||]" },
    { "{{ us.id }}|{{ us.user_service_id }}|{{ us.status }}|{{ us.settings.login }}",
      "1099|1099|ACTIVE|w_101" },
    { "{{ us.name }}|{{ us.category }}|{{ us.service.cost }}|{{ us.expire }}",
      "Тариф X-MAX (10000 мб)|web_tariff|300|2017-01-31 23:59:50" },
    { "{{ us.server.host }}|{{ us.server.settings.key_id }}", "host1.domain.ru|1" },
    { "{{ us.children.size }}|{{ us.child_by_category('dns').id }}|{{ us(1100).parent.id }}|"
      "{{ us(1100).top_parent.id }}|{{ us.has_children }}", "1|1100|1099|1099|1" },
    { "{{ us.withdraw.total }}|{{ us.wd.paid }}|{{ us.is_paid }}|{{ us.get_user_id }}",
      "300|1|1|40092" },
    { "{{ us.user.login }}", "danuk" },
    { "{{ user.services.list_for_api('category', '%').size }}|"
      "{{ FOR i IN ref(user.services.list_for_api('usi', 1099)) }}{{ i.name }}/{{ i.status }}"
      "{{ END }}", "2|Тариф X-MAX (10000 мб)/ACTIVE" },
    { "{{ FOR s IN user.services.items }}{{ s.id }},{{ END }}", "1099,1100," },
    /* filter(...) with lists, plain values and the filter-value functions (api.md §9.7) */
    { "[{{ FOR s IN user.us.filter(status = ['NOT PAID', 'BLOCK']).items }}{{ s.id }}{{ END }}]|"
      "{{ user.us.filter(status = 'ACTIVE', expire = isNotNull).items.size }}|"
      "{{ user.us.filter(expire = isNull).list_for_api.user_service_id }}|"
      "{{ user.us.filter(service_id = gt(1001)).items.0.id }}|"
      "{{ user.us.filter('expire', between('2017-01-01 00:00:00', '2017-02-01 00:00:00')).items.size }}|"
      "{{ user.us.filter(status = ne('ACTIVE')).items.size }}|"
      "{{ user.us.filter(status = ['ACTIVE']).filter(parent = 1099).items.0.id }}",
      "[]|1|1100|1100|1|0|1100" },
    /* limit/sort/rsort and items(where, limit, offset) */
    { "{{ FOR s IN user.us.rsort('user_service_id').items }}{{ s.id }},{{ END }}|"
      "{{ FOR s IN user.us.sort('service_id').limit(1).items }}{{ s.id }},{{ END }}|"
      "{{ FOR s IN user.us.limit(5, 1).items }}{{ s.id }},{{ END }}|"
      "{{ FOR s IN user.us.items(where = { parent = 1099 }) }}{{ s.id }},{{ END }}|"
      "{{ FOR s IN user.us.items(offset = 1) }}{{ s.id }},{{ END }}|"
      "{{ user.us.rsort('status', 'expire').list_for_api.0.user_service_id }}",
      "1100,1099,|1099,|1100,|1100,|1100,|1099" },
    { "{{ user.services.has_services }}{{ user.services.has_services_active }}"
      "{{ user.services.has_services_block }}{{ user.services.has_services_unpaid }}",
      "1100" },
    { "{{ user.pays.last.money }}|{{ user.pays.list_for_api.size }}|"
      "{{ FOR p IN user.pays.items }}{{ p.id }};{{ END }}", "25|2|1001;1002;" },
    { "{{ user.wd.last.total }}|{{ user.wd.list_for_api.cost }}|{{ wd(1001).months }}",
      "300|300|1" },
    { "{{ bonus(1001).amount }}|{{ bonus(1001).comment.msg }}|"
      "{{ user.bonus.list_for_api.bonus }}", "12.5|gift|12.5" },
    { "{{ pay(1001).money }}|{{ pay(1001).pay_system_id }}|{{ pay.id(1002).money }}",
      "100|manual|25" },
    { "{{ service(1001).cost }}|{{ service.id(1002).name }}|{{ service(1001).category }}",
      "300|DNS|web_tariff" },
    { "{{ service.categories.grep('^(dns|web_tariff)$').join(',') }}", "dns,web_tariff" },
    { "{{ FOR s IN ref(service.api_price_list(category = 'web_%')) }}{{ s.service_id }}:{{ s.cost }}{{ END }}",
      "1001:300" },
    { "{{ service.convert_name('u_${LOGIN}', {login = 'x'}) }}", "u_x" },
    { "{{ server(1001).host }}|{{ server.host }}", "host1.domain.ru|" },
    { "{{ server(1001).group.name }}|{{ sg(1001).name }}|{{ sg(1001).get_servers.0.name }}|"
      "{{ servers.servers_by_group_id(1001).0.host }}|{{ servers.list_by_transport('ssh').size }}|"
      "{{ servers.list_for_api.size }}", "web|web|web1|host1.domain.ru|1|1" },
    { "[{{ logger.info('hello') }}{{ logger.error('x') }}]", "[]" },
    /* config: system keys never, secrets not in a client-triggered render */
    { "{{ config.api.url }}|{{ config.telegram.bot }}|{{ config.telegram.token }}|"
      "{{ config._shm.version }}", "https://bill.example|shm_bot||" },
    { "{{ toJson({a => 1, b => 2}) }}|{{ fromJson('{\"x\":[1,2]}').x.1 }}", "{\"a\":1,\"b\":2}|2" },
    { "{{ toBase64Url('hi?>') }}|{{ fromBase64Url('aGk_Pg') }}|{{ misc.encode_base64('hi?>') }}",
      "aGk_Pg|hi?>|aGk/Pg==" },
    { "{{ toQueryString({a = 'x y', b = 2, c = 'é&'}) }}", "a=x%20y&b=2&c=%C3%A9%26" },
    { "{{ misc.html_escape('<a href=\"/\">&') }}|{{ misc.html_unescape('&lt;b&gt;&#x2F;') }}",
      "&lt;a href=&quot;&#x2F;&quot;&gt;&amp;|<b>/" },
    { "{{ misc.passgen(12).length }}|{{ misc.uuid_gen.length }}|{{ misc.passgen.length }}",
      "12|36|10" },
    { "{{ misc.now }}|{{ misc.add_period('2017-01-31 00:00:00', '1m') }}|"
      "{{ misc.string_to_utime('2017-01-01 00:00:00') }}|{{ misc.utime_to_string(86400) }}",
      "2017-01-15 12:00:00|2017-03-03 00:00:00|1483228800|1970-01-02 00:00:00" },
    { "{{ p = misc.parse_period('1.0215'); p.months _ '/' _ p.days _ '/' _ p.hours }}|"
      "{{ misc.parse_date('2017-02-03 04:05:06').month }}", "1/2/15|2" },
    { "{{ misc.round(1.006) }}|{{ misc.round_up(1.001) }}|{{ misc.round_down(1.009) }}",
      "1.01|1.01|1" },
    { "{{ misc.sha256_hex('abc') }}",
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
    { "{{ misc.hmac_sha256_hex('data', 'key') }}",
      "5031fe3d989c6d1537a013fa6e739da23463fdaec3b70137d828e36ace221bd0" },
    { "{{ misc.is_email('a@b.cd') }}{{ misc.is_email('a@b') }}", "10" },
    { "{{ misc.encode_base64(misc.sha256('abc')) }}", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=" },
    { "{{ misc.hmac_sha512_hex('data', 'key') }}",
      "3c5953a18f7303ec653ba170ae334fafa08e3846f2efe317b87efce82376253cb52a8c31ddcde5a3a2eee183c2b34cb9"
      "1f85e64ddbc325f7692b199473579c58" },
    { "{{ misc.is_host('vpn.example.com') }}{{ misc.is_host('bad_host.com') }}{{ misc.is_host('-a.b') }}"
      "{{ misc.is_host('localhost') }}", "1000" },
    { "{{ j = misc.jwt_decode('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMiLCJuIjoyfQ.sig'); j.sub _ '/' _ j.n }}",
      "123/2" },
    { "{{ misc.pluck([{a = 1}, {a = 2}, {b = 3}], 'a').join(',') }}|{{ misc.uniq([1, 2, 1, '2', 3]).join(',') }}|"
      "{{ misc.uniq_by_key([{k = 1, v = 'a'}, {k = 1, v = 'b'}, {k = 2, v = 'c'}], 'k').pluck('v').join(',') }}|"
      "{{ misc.first([7, 8]) }}|{{ misc.any([0, 1]) }}{{ misc.all([0, 1]) }}{{ misc.none([0, 0]) }}"
      "{{ misc.notall([1, 1]) }}",
      "1,2,|1,2,3|a,c|7|1010" },
    { "{{ STATUS_ACTIVE }}|{{ STATUS_WAIT_FOR_PAY }}|{{ EVENT_BLOCK_FORCE }}|{{ SUCCESS }}"
      "{{ FAIL }}[{{ STUCK }}]|{{ TASK_STUCK }}|{{ CLIENT_JUR }}|{{ response.test_data }}",
      "ACTIVE|NOT PAID|BLOCK FORCE|10[]|STUCK|1|1" },
    { "[{{ env.PATH }}{{ env }}]", "[]" },
    { "{{ misc.start_of_month('2017-02-15 10:11:12') }}|{{ misc.end_of_month('2016-02-03 00:00:00') }}|"
      "{{ misc.start_of_day('2017-02-15 10:11:12') }}|{{ misc.days_in_months('2016-02-10 00:00:00') }}",
      "2017-02-01 00:00:00|2016-02-29 23:59:59|2017-02-15 00:00:00|29" },
    { "{{ misc.add_date_time('2017-01-31 10:00:00', month = 1, day = 1, hour = 2) }}|"
      "{{ misc.add_date_time('2017-01-01 00:00:00', 'sec', 61) }}",
      "2017-03-04 12:00:00|2017-01-01 00:01:01" },
    { "{{ misc.sum_period('0.0020', '0.0010') }}|{{ misc.sum_period }}|{{ misc.random_base64url(12).length }}",
      "0.0106|0.0000|16" },
    { "{{ ref(undefined_thing).size }}|{{ ref({a = 1}).0.a }}|{{ ref([1, 2]).size }}",
      "0|1|2" },
};

/* user.pays.paysystems: public fields only (D13), by weight, shm_url with the amount. */
static void test_paysystems(void **state)
{
    struct db *db = DB(state);
    seed(db);
    time_freeze(1500000000);
    expect(db, DANUK, false, 0,
           "{{ FOR p IN user.pays.paysystems(amount = 150, pp = 1) }}"
           "{{ p.paysystem }}/{{ p.name }}/{{ p.weight }}/{{ p.shm_url }}/{{ p.amount }}/"
           "{{ p.recurring }}/{{ p.keys.sort.join(',') }};{{ END }}",
           "cryptocloud/Crypto/9/https://bill.example/shm/pay_systems/cryptocloud.cgi?action=create"
           "&user_id=40092&ts=1500000000&ps=crypto&amount=150/150/0/"
           "allow_deletion,amount,forecast,internal,name,paysystem,recurring,shm_url,user_id,weight;"
           "yoomoney/ЮMoney/5/https://bill.example/shm/pay_systems/yoomoney.cgi?action=create"
           "&user_id=40092&ts=1500000000&ps=yoomoney&amount=150/150/0/"
           "allow_deletion,amount,forecast,internal,name,paysystem,recurring,shm_url,user_id,weight;");
    /* a saved recurring method adds a payment entry */
    bf_q_exec(db, "UPDATE users SET settings = '{\"pay_systems\":{\"yoomoney\":"
                  "{\"payment_id\":\"pm1\"}}}' WHERE user_id = 40092");
    expect(db, DANUK, false, 0,
           "{{ FOR p IN user.pays.paysystems }}{{ p.paysystem }}:{{ p.recurring }}:"
           "{{ p.shm_url.match('action=(\\w+)').0 }};{{ END }}",
           "cryptocloud:0:create;yoomoney:0:create;yoomoney:1:payment;");
}

static void test_user_vectors(void **state)
{
    struct db *db = DB(state);
    seed(db);
    time_freeze(bf_at("2017-01-15 12:00:00"));
    for (size_t i = 0; i < ARRAY_SIZE(user_vectors); i++)
        expect(db, DANUK, false, 1099, user_vectors[i].src, user_vectors[i].want);
}

/* A filter on a column that is not in the model is an error, never SQL (D26). */
static void test_filter_errors(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int rc;
    seed(db);
    char *out = render_as(db, DANUK, false, 0, "{{ user.us.filter(password = 1).items }}", &rc,
                          &e);
    free(out);
    assert_int_not_equal(rc, 0);
    if (!strstr(e.msg, "filter: unknown field password"))
        fail_msg("%s", e.msg);
    out = render_as(db, DANUK, false, 0,
                    "{{ user.us.filter(\"status; DROP TABLE users\" = 1).items }}", &rc, &e);
    free(out);
    assert_int_not_equal(rc, 0);
    out = render_as(db, DANUK, false, 0, "{{ user.us.sort('password').items }}", &rc, &e);
    free(out);
    assert_int_not_equal(rc, 0);
    if (!strstr(e.msg, "sort: unknown field password"))
        fail_msg("%s", e.msg);
    out = render_as(db, DANUK, false, 0, "{{ user.us.filter(expire = 'soon').items }}", &rc, &e);
    free(out);
    assert_int_not_equal(rc, 0);
    if (!strstr(e.msg, "filter expire"))
        fail_msg("%s", e.msg);
}

/* ssh.exec runs only outside a transaction, with a configuration and a current user. */
static void test_ssh_guards(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int rc;
    seed(db);
    char *out = render_as(db, DANUK, false, 0,
                          "{{ ssh.exec(host = 'root@127.0.0.1', key_id = 1, cmd = 'true') }}", &rc,
                          &e);
    free(out);
    assert_int_not_equal(rc, 0);
    if (!strstr(e.msg, "ssh.exec: not available here"))
        fail_msg("%s", e.msg);
    out = render_as(db, 0, false, 0, "{{ ssh.exec('h', 1, 'true') }}", &rc, &e);
    free(out);
    assert_int_not_equal(rc, 0);
    if (!strstr(e.msg, "ssh.exec: no current user"))
        fail_msg("%s", e.msg);
    expect(db, DANUK, false, 0, "[{{ ssh.logs }}{{ ssh.output }}]", "[]");
    /* with a configuration but inside a transaction (an API request) */
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct render_ctx r = { .db = db, .cfg = &cfg, .user_id = DANUK };
    struct buf b;
    buf_init(&b, 0);
    const char *src = "{{ ssh.exec('root@127.0.0.1', 999, 'true') }}";
    assert_int_not_equal(render_text(&r, "t", src, strlen(src), &b, &e), 0);
    if (!strstr(e.msg, "inside a request"))
        fail_msg("%s", e.msg);
    /* outside a transaction (a spool task): it runs and reports; no such key here */
    db_rollback(db);
    src = "{{ res = ssh.exec(host = 'root@127.0.0.1', port = 1, key_id = 999, cmd = 'true', "
          "timeout = 2) }}{{ res.error ? 'error' : 'none' }}|{{ ssh.ret_code }}";
    buf_reset(&b);
    OK(render_text(&r, "t", src, strlen(src), &b, &e));
    assert_string_equal(b.data, "error|-1");
    buf_free(&b);
    render_ctx_release(&r);
    OK(db_begin(db, true, &e)); /* the case teardown rolls back */
}

/* The forecast through the object is forecast_build's total. */
static void test_forecast(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    seed(db);
    time_freeze(bf_at("2017-01-30 12:00:00"));
    struct forecast_opts fo = { .days = 3 };
    json_t *f = NULL;
    OK(forecast_build(db, DANUK, &fo, time_now(), &f, &e));
    char want[64];
    json_t *total = json_object_get(f, "total");
    if (json_is_integer(total))
        snprintf(want, sizeof(want), "%lld", (long long)json_integer_value(total));
    else
        snprintf(want, sizeof(want), "%.15g", json_number_value(total));
    json_decref(f);
    assert_string_not_equal(want, "0");
    expect(db, DANUK, false, 0, "{{ user.pays.forecast.total }}", want);
    expect(db, DANUK, false, 0, "{{ user.pays.forecast(days = 3).total }}", want);
    expect(db, DANUK, false, 0, "{{ user.pays.forecast.items.0.name }}",
           "Тариф X-MAX (10000 мб)");
}

/* An admin's render reaches every user; user.id(N) scopes to that user. */
static void test_admin(void **state)
{
    struct db *db = DB(state);
    seed(db);
    expect(db, ADMIN, true, 1200, "{{ user.login }}|{{ user.is_admin }}|{{ us.settings.login }}",
           "admin|1|w_bob");
    expect(db, ADMIN, true, 0, "{{ user.id(40093).login }}|{{ user(40093).balance }}|"
                               "{{ wd(1002).total }}|{{ us(1200).user.login }}",
           "bob|50|300|bob");
    expect(db, ADMIN, true, 0, "{{ user(40093).services.list_for_api.user_service_id }}", "1200");
    expect(db, ADMIN, true, 0, "{{ config.telegram.token }}", "TG-SECRET");
    expect(db, ADMIN, true, 0, "{{ user.switch(40093).login }}|{{ user.login }}|"
                               "{{ CALL storage.save('k', 'v') }}{{ storage.load('k') }}",
           "bob|bob|v");
    expect(db, BOB, false, 0, "[{{ storage.load('k') }}]", "[v]");
    /* the admin selected a user (the API's user_id switch) */
    expect(db, BOB, true, 0, "{{ user.login }}|{{ user.services.items.0.id }}", "bob|1200");
}

/* Anonymous renders (/public, D12) see no user data and may not write storage. */
static void test_anonymous(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int rc;
    seed(db);
    expect(db, 0, false, 1099, "[{{ user.login }}|{{ us.id }}|{{ user(40092).login }}|"
                               "{{ server(1001).host }}]|{{ config.api.url }}",
           "[|||]|https://bill.example");
    char *out = render_as(db, 0, false, 0, "{{ storage.save('k', 'v') }}", &rc, &e);
    free(out);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(e.msg, "storage: no current user"));
    out = render_as(db, 0, false, 0, "{{ spool.add(event = {name = 'X'}) }}", &rc, &e);
    free(out);
    assert_int_not_equal(rc, 0);
}

/* us.gen_store_pass: a new password stored in settings.password, the same one afterwards. */
static void test_gen_store_pass(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int rc;
    seed(db);
    char *p1 = render_as(db, DANUK, false, 1099,
                         "vpn_create.sh --login=\"vpn_{{ us.id }}\" "
                         "--password=\"{{ us.gen_store_pass(12) }}\"", &rc, &e);
    assert_int_equal(rc, 0);
    const char *pre = "vpn_create.sh --login=\"vpn_1099\" --password=\"";
    assert_int_equal(strncmp(p1, pre, strlen(pre)), 0);
    char pw[64];
    snprintf(pw, sizeof(pw), "%.12s", p1 + strlen(pre));
    assert_int_equal(strlen(p1), strlen(pre) + 12 + 1);
    for (const char *c = pw; *c; c++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                               *c));
    /* stored: visible in settings, other keys kept, and returned again */
    char want[96];
    snprintf(want, sizeof(want), "%s|w_101", pw);
    expect(db, DANUK, false, 1099, "{{ us.settings.password }}|{{ us.settings.login }}", want);
    expect(db, DANUK, false, 1099, "{{ us.gen_store_pass }}", pw);
    struct db_value p[] = { DB_INT(1099) };
    struct db_result *res = NULL;
    OK(db_query(db, "SELECT settings FROM user_services WHERE user_service_id = $1", p, 1, &res,
                &e));
    json_t *s = json_loads(db_result_text(res, 0, 0), 0, NULL);
    db_result_free(res);
    assert_string_equal(json_string_value(json_object_get(s, "password")), pw);
    assert_int_equal(json_integer_value(json_object_get(s, "quota")), 10000);
    json_decref(s);
    free(p1);
    /* another user's service: nothing, and nothing written */
    expect(db, DANUK, false, 1200, "[{{ us.gen_store_pass }}]", "[]");
    expect(db, DANUK, false, 0, "[{{ us(1200).gen_store_pass }}]", "[]");
    expect(db, ADMIN, true, 1200, "{{ us.settings.password }}", "bobs");
}

/* user.gen_session(usi = …): a working session of the user; another user's usi is refused. */
static void test_gen_session(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int rc;
    seed(db);
    char *tok = render_as(db, DANUK, false, 1099, "{{ user.gen_session(usi = us.id).id }}", &rc,
                          &e);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(tok), SESSION_TOKEN_LEN);
    int64_t uid = 0;
    OK(session_lookup(db, tok, time_now(), &uid, &e));
    assert_int_equal(uid, DANUK);
    free(tok);
    tok = render_as(db, DANUK, false, 1099, "{{ user.gen_session(usi = 1200).id }}", &rc, &e);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(e.msg, "Object not found"));
    free(tok);
}

/* storage bound to the current user: save/read/load/del, structures as JSON. */
static void test_storage(void **state)
{
    struct db *db = DB(state);
    seed(db);
    expect(db, DANUK, false, 0,
           "{{ storage.save('vpn1', {url = 'vless://x', n = 2}) }}|"
           "{{ storage.read('name', 'vpn1').url }}|{{ storage.read(name = 'vpn1').n }}|"
           "{{ storage.load('vpn1') }}",
           "{\"n\":2,\"url\":\"vless://x\"}|vless://x|2|{\"n\":2,\"url\":\"vless://x\"}");
    expect(db, DANUK, false, 0, "{{ CALL storage.save('t', 'plain') }}{{ storage.load('t') }}",
           "plain");
    expect(db, DANUK, false, 0, "{{ CALL storage.save('t', 'second') }}{{ storage.read('t') }}",
           "second");
    /* per-user namespace: bob does not see danuk's entry */
    expect(db, BOB, false, 0, "[{{ storage.load('t') }}]", "[]");
    expect(db, DANUK, false, 0, "{{ storage.del('t') }}{{ storage.del('t') }}[{{ storage.load('t') }}]",
           "10[]");
}

/* task, event_name, server as plain values; task.answer and the constants. */
static void test_task(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    seed(db);
    json_t *event = json_pack("{s:s,s:s,s:{s:s}}", "name", "CREATE", "kind", "UserService",
                              "settings", "template_id", "vpn");
    json_t *settings = json_pack("{s:i,s:i,s:s}", "user_service_id", 1099, "pay_id", 1002, "x",
                                 "y");
    json_t *server = json_pack("{s:s,s:{s:s}}", "host", "root@vpn1", "settings", "api_url",
                               "https://panel");
    struct spool_task t = { .id = 77, .user_id = DANUK, .usi = 1099, .server_id = 1001,
                            .attempt = 2, .token = "tok-77", .name = "CREATE", .event = event,
                            .settings = settings, .server = server };
    struct render_ctx r = { .db = db, .user_id = DANUK, .usi = 1099, .task = &t };
    struct buf out;
    buf_init(&out, 0);
    const char *src = "{{ task.id }}|{{ task.token }}|{{ task.attempt }}|{{ task.event.name }}|"
                      "{{ task.event.settings.template_id }}|{{ task.settings.x }}|"
                      "{{ event_name }}|{{ server.host }}|{{ server.settings.api_url }}|"
                      "{{ us.id }}|{{ pay.money }}|{{ config.telegram.token }}"
                      "{{ task.answer(status = FAIL, msg = 'panel error', code = 5) }}";
    OK(render_text(&r, "t", src, strlen(src), &out, &e));
    assert_string_equal(out.data, "77|tok-77|2|CREATE|vpn|y|CREATE|root@vpn1|https://panel|"
                                  "1099|25|TG-SECRET");
    char *ans = json_dumps(r.answer, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(ans, "{\"code\":5,\"msg\":\"panel error\",\"status\":0}");
    free(ans);
    render_ctx_release(&r);
    assert_null(r.answer);
    /* STUCK is the empty status; no answer call leaves answer NULL */
    buf_reset(&out);
    src = "{{ task.answer(status = STUCK) }}{{ task.answer('msg', 'later') }}";
    OK(render_text(&r, "t", src, strlen(src), &out, &e));
    ans = json_dumps(r.answer, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(ans, "{\"msg\":\"later\",\"status\":\"\"}");
    free(ans);
    render_ctx_release(&r);
    buf_reset(&out);
    src = "{{ task.answer(status = SUCCESS) }}";
    OK(render_text(&r, "t", src, strlen(src), &out, &e));
    assert_int_equal(json_integer_value(json_object_get(r.answer, "status")), 1);
    render_ctx_release(&r);
    buf_reset(&out);
    src = "ok";
    OK(render_text(&r, "t", src, strlen(src), &out, &e));
    assert_null(r.answer);
    /* us defaults to the task's user service when the caller binds none */
    struct render_ctx r3 = { .db = db, .user_id = DANUK, .task = &t };
    buf_reset(&out);
    src = "{{ us.id }}";
    OK(render_text(&r3, "t", src, strlen(src), &out, &e));
    assert_string_equal(out.data, "1099");
    /* outside a task there is no task object */
    struct render_ctx r2 = { .db = db, .user_id = DANUK };
    buf_reset(&out);
    src = "[{{ task.id }}]";
    OK(render_text(&r2, "t", src, strlen(src), &out, &e));
    assert_string_equal(out.data, "[]");
    assert_null(r2.answer);
    buf_free(&out);
    json_decref(event);
    json_decref(settings);
    json_decref(server);
}

/* spool.add and us.make_custom_event queue tasks in the caller's transaction. */
static void test_spool(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int rc;
    seed(db);
    char *id = render_as(db, DANUK, false, 1099,
                         "{{ spool.add(event = {name = 'SYNC', kind = 'Test', "
                         "settings = { template_id = 'sync' } }, settings = { a = 1 }, prio = 5) }}",
                         &rc, &e);
    if (rc)
        fail_msg("spool.add: %s", e.msg);
    struct db_value p[] = { DB_INT(strtoll(id, NULL, 10)) };
    struct db_result *res = NULL;
    OK(db_query(db, "SELECT user_id, prio, event, settings FROM spool WHERE id = $1", p, 1, &res, &e));
    assert_int_equal(db_result_rows(res), 1);
    assert_int_equal(db_result_int(res, 0, 0), DANUK);
    assert_int_equal(db_result_int(res, 0, 1), 5);
    json_t *ev = json_loads(db_result_text(res, 0, 2), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(ev, "name")), "SYNC");
    json_decref(ev);
    json_t *st = json_loads(db_result_text(res, 0, 3), 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(st, "a")), 1);
    json_decref(st);
    db_result_free(res);
    free(id);

    id = render_as(db, DANUK, false, 1099,
                   "{{ us.make_custom_event(name = 'RESET', title = 'reset', "
                   "template_id = 'vpn_reset', transport = 'local') }}", &rc, &e);
    assert_int_equal(rc, 0);
    struct db_value p2[] = { DB_INT(strtoll(id, NULL, 10)) };
    OK(db_query(db, "SELECT user_id, user_service_id, event FROM spool WHERE id = $1", p2, 1, &res, &e));
    assert_int_equal(db_result_rows(res), 1);
    assert_int_equal(db_result_int(res, 0, 0), DANUK);
    assert_int_equal(db_result_int(res, 0, 1), 1099);
    ev = json_loads(db_result_text(res, 0, 2), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(ev, "name")), "RESET");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "settings"), "template_id")),
        "vpn_reset");
    json_decref(ev);
    db_result_free(res);
    free(id);
    /* not for another user's service */
    expect(db, DANUK, false, 0, "[{{ us(1200).make_custom_event(name = 'X') }}]", "[]");

    /* the user's tasks: spool.id, spool.list_for_api, user.spool, us.spool (D11) */
    expect(db, DANUK, false, 1099,
           "{{ user.spool.size }}|{{ spool.list_for_api.size }}|{{ us.spool.size }}|"
           "{{ us.spool.0.event.name }}|{{ spool.id(user.spool.0.id).status }}|"
           "{{ us(1200).spool.size }}|{{ user(40093).spool.size }}",
           "2|2|1|RESET|NEW||");
    expect(db, BOB, false, 0, "[{{ spool.list_for_api.size }}]", "[0]");

    /* user.make_event: one task per events row of that name */
    bf_q_exec(db, "INSERT INTO events (id, kind, title, name, server_gid, settings) VALUES "
                  "(1001, 'UserService', 'forecast mail', 'FORECAST', 2, "
                  "'{\"template_id\":\"forecast\"}')");
    struct db_value pu[] = { DB_INT(DANUK) };
    int64_t before = bf_q_int(db, "SELECT count(*) FROM spool WHERE user_id = $1", pu, 1);
    expect(db, DANUK, false, 0, "{{ user.make_event('forecast') }}", "1");
    assert_int_equal(bf_q_int(db, "SELECT count(*) FROM spool WHERE user_id = $1", pu, 1),
                     before + 1);
    expect(db, DANUK, false, 0, "[{{ user(40093).make_event('forecast') }}]", "[]");

    /* mail.setup(...).send(message): a mail task on group 2 (no config mail.server_gid) */
    id = render_as(db, DANUK, false, 0,
                   "{{ m = mail.setup(to = 'a@example.org', subject = 'Hi'); "
                   "m.send('Body {{ text') }}", &rc, &e);
    if (rc)
        fail_msg("mail.send: %s", e.msg);
    struct db_value p3[] = { DB_INT(strtoll(id, NULL, 10)) };
    OK(db_query(db, "SELECT user_id, event, settings FROM spool WHERE id = $1", p3, 1, &res, &e));
    assert_int_equal(db_result_rows(res), 1);
    assert_int_equal(db_result_int(res, 0, 0), DANUK);
    ev = json_loads(db_result_text(res, 0, 1), 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(ev, "server_gid")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "settings"), "transport")), "mail");
    json_decref(ev);
    st = json_loads(db_result_text(res, 0, 2), 0, NULL);
    char *sj = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(sj, "{\"message\":\"Body {{ text\",\"subject\":\"Hi\",\"to\":\"a@example.org\"}");
    free(sj);
    json_decref(st);
    db_result_free(res);
    free(id);
    id = render_as(db, 0, false, 0, "{{ mail.send('x') }}", &rc, &e);
    free(id);
    assert_int_not_equal(rc, 0);
}

/* tpl.id / tpl.id(X).parse(usi = N) / data, nesting bound; report.add_error. */
static void test_tpl_report(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int rc;
    seed(db);
    bf_q_exec(db, "INSERT INTO templates (id, data, settings) VALUES "
                  "('child', 'child {{ us.id }}/{{ user.login }}', '{\"subject\":\"S\"}'), "
                  "('loop', '{{ tpl.id(\"loop\").parse }}', NULL)");
    expect(db, DANUK, false, 1099,
           "{{ tpl.id }}|{{ tpl.id('child').parse(usi = 1100) }}|{{ tpl.id('child').data }}|"
           "{{ tpl.id('child').settings.subject }}|{{ tpl.id('child').parse(usi = 1200) }}|"
           "[{{ tpl.id('none').data }}]",
           "t|child 1100/danuk|child {{ us.id }}/{{ user.login }}|S|child 1099/danuk|[]");
    char *out = render_as(db, DANUK, false, 0, "{{ tpl.id('loop').parse }}", &rc, &e);
    free(out);
    assert_int_not_equal(rc, 0); /* the innermost error, raised through every level */
    if (!strstr(e.msg, "nest too deep"))
        fail_msg("nesting error: %s", e.msg);
    /* report.add_error: the render goes on, the first message is kept */
    struct render_ctx r = { .db = db, .user_id = DANUK };
    struct buf b;
    buf_init(&b, 0);
    const char *src = "a{{ report.add_error('bad thing') }}b{{ report.add_error('second') }}";
    OK(render_text(&r, "t", src, strlen(src), &b, &e));
    assert_string_equal(b.data, "ab");
    assert_string_equal(r.report_error, "bad thing");
    render_ctx_release(&r);
    assert_null(r.report_error);
    buf_free(&b);
}

/* us.block / us.activate (billing.md §10.6) on the user's own services only. */
static void test_us_billing(void **state)
{
    struct db *db = DB(state);
    seed(db);
    time_freeze(bf_at("2017-01-15 12:00:00"));
    expect(db, DANUK, false, 1099, "{{ us.block.status }}|{{ us.activate.status }}",
           "BLOCK|ACTIVE");
    /* recalc: the current withdraw is paid, nothing to recompute */
    expect(db, DANUK, false, 1099, "{{ us.recalc }}", "0");
    /* add_period_by_money: 150 of a 300-a-month service buys about half a month */
    expect(db, DANUK, false, 1099, "{{ us.add_period_by_money(150) }}|{{ user.balance }}",
           "1|-327.06");
    expect(db, DANUK, false, 1099, "{{ us.add_period_by_money(0) }}", "0");
    expect(db, DANUK, false, 0, "[{{ us(1200).block.status }}]", "[]");
    expect(db, ADMIN, true, 0, "{{ us(1200).status }}", "ACTIVE");
    /* change to a service that is not orderable is refused for a user (D16) */
    struct err e = { 0 };
    int rc;
    char *out = render_as(db, DANUK, false, 1099, "{{ us.change(service_id = 1002) }}", &rc, &e);
    free(out);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(e.msg, "prohibited"));
}

/* render_template: stored templates, INCLUDE by id, settings out, not found. */
static void test_render_template(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    seed(db);
    bf_q_exec(db, "INSERT INTO templates (id, data, settings) VALUES "
                  "('hello', 'Hi {{ user.login }}{{ INCLUDE part }}', '{\"subject\":\"S\"}'), "
                  "('part', ', {{ us.name }}', NULL)");
    struct render_ctx r = { .db = db, .user_id = DANUK, .usi = 1099 };
    struct buf out;
    buf_init(&out, 0);
    json_t *settings = NULL;
    OK(render_template(&r, "hello", &out, &settings, &e));
    assert_string_equal(out.data, "Hi danuk, Тариф X-MAX (10000 мб)");
    assert_string_equal(json_string_value(json_object_get(settings, "subject")), "S");
    json_decref(settings);
    assert_int_equal(render_template(&r, "nope", &out, NULL, &e), ERR_NOT_FOUND);
    buf_free(&out);
    render_ctx_release(&r);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The value (0 black, 1 white) of pixel (x, y) of 1-bit rows with a filter byte each. */
static int pixel(const unsigned char *raw, size_t stride, size_t x, size_t y)
{
    return (raw[y * stride + 1 + x / 8] >> (7 - x % 8)) & 1;
}

/* qr_png: valid chunks and CRCs, an IDAT that inflates to the image, finder patterns. */
static void test_qr_png(void **state)
{
    struct err e = { 0 };
    unsigned char *png = NULL;
    size_t n = 0;
    UNUSED(state);
    OK(qr_png("https://vpn.example/sub/40092", 29, &png, &n, &e));
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    size_t off = 8, side = 0;
    unsigned char *z = NULL;
    size_t zlen = 0;
    int chunks = 0;
    while (off + 12 <= n) {
        uint32_t len = be32(png + off);
        const unsigned char *type = png + off + 4, *data = png + off + 8;
        uLong crc = crc32(crc32(0L, type, 4), data, len);
        assert_int_equal(crc, be32(data + len));
        if (!memcmp(type, "IHDR", 4)) {
            side = be32(data);
            assert_int_equal(be32(data + 4), side);
            assert_int_equal(data[8], 1);
            assert_int_equal(data[9], 0);
        } else if (!memcmp(type, "IDAT", 4)) {
            z = (unsigned char *)data;
            zlen = len;
        }
        chunks++;
        off += 12 + len;
    }
    assert_int_equal(off, n);
    assert_int_equal(chunks, 3);
    assert_memory_equal(png + n - 8, "IEND", 4);
    size_t modules = side / QR_SCALE - 2 * QR_MARGIN;
    assert_true(modules >= 21 && (modules - 17) % 4 == 0);
    size_t stride = 1 + (side + 7) / 8;
    uLongf rawlen = (uLongf)(side * stride);
    unsigned char *raw = xmalloc(rawlen);
    assert_int_equal(uncompress(raw, &rawlen, z, (uLong)zlen), Z_OK);
    assert_int_equal(rawlen, side * stride);
    size_t q = QR_MARGIN * QR_SCALE;
    assert_int_equal(pixel(raw, stride, 0, 0), 1);         /* quiet zone white */
    assert_int_equal(pixel(raw, stride, q, q), 0);         /* finder pattern corner black */
    assert_int_equal(pixel(raw, stride, q + 5, q + 5), 1); /* its white ring */
    assert_int_equal(pixel(raw, stride, q + 10, q + 10), 0); /* its centre */
    assert_int_equal(pixel(raw, stride, side - q - 1, q), 0); /* top-right finder */
    assert_int_equal(pixel(raw, stride, q, side - q - 1), 0); /* bottom-left finder */
    assert_int_equal(pixel(raw, stride, side - q - 1, side - q - 1), 1); /* no finder there */
    free(raw);
    free(png);
    assert_int_equal(qr_png("", 0, &png, &n, &e), ERR_INVALID);
    char *svg = NULL;
    OK(qr_svg("x", 1, &svg, &n, &e));
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"116\""));
    free(svg);
}

int main(void)
{
    static const struct bf_case dbc[] = {
        { "user_vectors", test_user_vectors },   { "forecast", test_forecast },
        { "admin", test_admin },                 { "anonymous", test_anonymous },
        { "gen_store_pass", test_gen_store_pass }, { "gen_session", test_gen_session },
        { "storage", test_storage },             { "task", test_task },
        { "spool", test_spool },                 { "render_template", test_render_template },
        { "tpl_report", test_tpl_report },       { "us_billing", test_us_billing },
        { "filter_errors", test_filter_errors }, { "ssh_guards", test_ssh_guards },
        { "paysystems", test_paysystems },
    };
    static const struct bf_case pure[] = {
        { "qr_png", test_qr_png },
    };
    return bf_run_all("objects", "billd_test_objects", pure, ARRAY_SIZE(pure), dbc,
                      ARRAY_SIZE(dbc));
}
