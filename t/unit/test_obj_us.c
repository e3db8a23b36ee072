/*
 * test_obj_us.c — unit tests of the writing and ordering members of the
 * template objects (templates.md §7.2–§7.7, §7.15): us.status, us.set,
 * us.settings / settings_save, last_event / cur_event / parent_has_expired,
 * us.make_commands_by_event, us.create, us.lock and the generic get/pairs/
 * reload, and the service members that order and inspect usage.
 *
 * A table of cases: a template rendered as a user, an admin or a spool task,
 * the expected output (or the expected error), and a query whose value
 * after the render is asserted (status changes, spool rows queued, ordered
 * service rows, balances). Each case runs inside a savepoint that is rolled
 * back, so the cases are independent; the ledger invariant (D7) is checked
 * after each. Runs on SQLite and, with BILLD_TEST_PG_URL, on PostgreSQL.
 */
#include "billing_fixture.h"

#include "objects/render.h"
#include "spool/task.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <jansson.h>

#define DANUK 40092
#define BOB 40093
#define ADMIN 1

/* Who renders a case. */
enum who { AS_DANUK, AS_BOB, AS_ADMIN, AS_TASK };

static void seed(struct db *db)
{
    bf_q_exec(db, "INSERT INTO users (user_id, login, password, created, balance, bonus, gid) "
                  "VALUES (1, 'admin', 'x', 1483228800, 0, 0, 1), "
                  "(40092, 'danuk', 'x', 1483228800, 0, 0, 0), "
                  "(40093, 'bob', 'x', 1483228800, 0, 0, 0)");
    bf_q_exec(db, "INSERT INTO ledger (user_id, kind, money, bonus, created) VALUES "
                  "(40092, 'payment', 100000, 0, 1483228800)");
    bf_q_exec(db, "UPDATE users SET balance = 100000 WHERE user_id = 40092");
    bf_q_exec(db, "INSERT INTO services (service_id, name, cost, period, category, "
                  "allow_to_order, children, config, deleted) VALUES "
                  "(1001, 'VPN', 10000, 10000, 'vpn', 1, '[{\"service_id\":1002,\"qnt\":2}]', "
                  "'{\"no_auto_renew\":1,\"x\":\"y\"}', 0), "
                  "(1002, 'DNS', 500, 10000, 'dns', 0, NULL, NULL, 0), "
                  "(1003, 'Old', 100, 10000, 'vpn', 1, NULL, NULL, 1), "
                  "(1004, 'Web', 2000, 10000, 'web', 1, NULL, NULL, 0), "
                  "(1005, 'Mail', 1000, 10000, 'mail', 1, NULL, NULL, 0)");
    bf_q_exec(db, "INSERT INTO events (id, kind, title, name, server_gid, settings) VALUES "
                  "(1001, 'UserService', 'vpn changed', 'CHANGED', 1, "
                  "'{\"category\":\"vpn\"}'), "
                  "(1002, 'UserService', 'vpn block', 'BLOCK', 1, '{\"category\":\"vpn\"}'), "
                  "(1003, 'UserService', 'vpn create', 'CREATE', 1, '{\"category\":\"web\"}')");
    bf_q_exec(db, "INSERT INTO withdraw_history (withdraw_id, user_id, create_date, "
                  "withdraw_date, end_date, cost, total, service_id, user_service_id) VALUES "
                  "(1001, 40092, 1483228800, 1483228800, 1485907190, 10000, 10000, 1001, 1099), "
                  "(1002, 40093, 1483228800, 1483228800, 1485907190, 10000, 10000, 1001, 1200), "
                  "(1003, 40092, 1483228800, NULL, NULL, 10000, 10000, 1001, 1301), "
                  "(1004, 40092, 1484000000, NULL, NULL, 10000, 10000, 1001, 1099)");
    bf_q_exec(db, "INSERT INTO pays_history (id, user_id, pay_system_id, money, date) VALUES "
                  "(1001, 40092, 'manual', 100000, 1483228800)");
    bf_q_exec(db, "INSERT INTO bonus_history (id, user_id, date, bonus, comment) VALUES "
                  "(1001, 40092, 1483228800, 500, '{\"msg\":\"x\"}')");
    bf_q_exec(db, "INSERT INTO user_services (user_service_id, user_id, service_id, "
                  "withdraw_id, created, expire, status, status_before, parent, next, settings) "
                  "VALUES "
                  "(1099, 40092, 1001, 1001, 1483228800, 1485907190, 'ACTIVE', 'INIT', NULL, 0, "
                  "'{\"login\":\"w1\"}'), "
                  "(1100, 40092, 1002, NULL, 1483228800, NULL, 'ACTIVE', 'INIT', 1099, 0, '{}'), "
                  "(1200, 40093, 1001, 1002, 1483228800, 1485907190, 'ACTIVE', 'INIT', NULL, 0, "
                  "'{}'), "
                  "(1300, 40092, 1001, NULL, 1483228800, 1484000000, 'BLOCK', 'ACTIVE', NULL, 0, "
                  "'{}'), "
                  "(1301, 40092, 1001, 1003, 1483228800, NULL, 'PROGRESS', 'ACTIVE', NULL, 0, "
                  "'{}'), "
                  "(1302, 40092, 1002, NULL, 1483228800, NULL, 'REMOVED', 'BLOCK', NULL, 0, "
                  "'{}'), "
                  "(1303, 40092, 1002, NULL, 1483228800, NULL, 'ACTIVE', 'INIT', 1300, 0, '{}')");
    bf_q_exec(db, "INSERT INTO servers_groups (group_id, name, transport, type) VALUES "
                  "(1001, 'vpn', 'ssh', 'evenly')");
    bf_q_exec(db, "INSERT INTO servers (server_id, server_gid, name, transport, host, "
                  "services_count, settings) VALUES "
                  "(1001, 1001, 'vpn1', 'ssh', 'h1', 2, '{\"host_name\":\"n1\"}'), "
                  "(1002, NULL, 'lone', 'ssh', 'h2', 0, NULL)");
    bf_q_exec(db, "INSERT INTO spool (id, user_id, user_service_id, event, status, created, "
                  "settings) VALUES "
                  "(900009, 40092, 1099, '{\"name\":\"CREATE\"}', 'NEW', 1483228800, "
                  "'{\"user_service_id\":1099}'), "
                  "(900010, 40092, 1099, '{\"name\":\"BLOCK\"}', 'FAIL', 1483228800, '{}'), "
                  "(900011, 40093, 1200, '{\"name\":\"CREATE\"}', 'NEW', 1483228800, '{}')");
    bf_q_exec(db, "INSERT INTO spool_history (spool_id, user_id, status, created) VALUES "
                  "(900009, 40092, 'FAIL', 1480000000), (900011, 40093, 'SUCCESS', 1484000000)");
}

struct tcase {
    enum who who;
    int64_t usi;
    const char *src;
    const char *want;  /* the output; NULL: the render must fail */
    const char *err;   /* with want NULL: a substring of the error */
    const char *check; /* a one-value query after the render (NULL = none) */
    int64_t check_want;
};

/* The new tasks (created after the seed) of user service usi for event ev. */
/* The new tasks of the user (created after the seed). */
#define NEW_TASKS "SELECT count(*) FROM spool WHERE user_id = 40092 AND created > 1483228800"
#define SPOOL_OF(usi, ev)                                                                     \
    "SELECT count(*) FROM spool WHERE user_service_id = " #usi " AND event->>'name' = '" ev  \
    "' AND created > 1483228800"

static const struct tcase cases[] = {
    /* generic protocol: get / pairs / reload / id */
    { AS_DANUK, 1099, "{{ us.get.status }}|{{ us.pairs.settings.login }}|{{ us.reload.id }}|"
                      "{{ us.get_status }}", "ACTIVE|w1|1099|ACTIVE", NULL, NULL, 0 },
    { AS_DANUK, 0, "[{{ us.id }}|{{ us.status }}]", "[|]", NULL, NULL, 0 },
    /* flags and events */
    { AS_DANUK, 1303, "{{ us.parent_has_expired }}|{{ us(1100).parent_has_expired }}|"
                      "{{ us(1099).parent_has_expired }}", "1|0|0", NULL, NULL, 0 },
    { AS_DANUK, 1099, "[{{ us.last_event }}]|[{{ us.cur_event }}]|{{ us(1300).last_event }}|"
                      "{{ us(1301).cur_event }}", "[CREATE]|[]|BLOCK|BLOCK", NULL, NULL, 0 },
    { AS_DANUK, 0, "[{{ us(1200).last_event }}{{ us(1200).parent_has_expired }}]", "[]", NULL,
      NULL, 0 },
    /* status(STATUS): set, CHANGED commands queued with before/after */
    { AS_ADMIN, 1099, "{{ us.status }}>{{ us.status('BLOCK') }}",
      "ACTIVE>BLOCK", NULL, SPOOL_OF(1099, "CHANGED"), 1 },
    { AS_TASK, 1099, "{{ us.status('BLOCK') }}|{{ us.status_before }}", "BLOCK|ACTIVE", NULL,
      "SELECT count(*) FROM spool WHERE user_service_id = 1099 AND "
      "settings->'status'->>'after' = 'BLOCK' AND settings->'status'->>'before' = 'ACTIVE'", 1 },
    { AS_ADMIN, 1099, "{{ us.status('ACTIVE') }}", "ACTIVE", NULL,
      NEW_TASKS, 0 },
    { AS_ADMIN, 1302, "{{ us.status('ACTIVE') }}", "REMOVED", NULL,
      NEW_TASKS, 0 },
    { AS_ADMIN, 1099, "{{ us.status('FROZEN') }}", NULL, "Field status",
      "SELECT count(*) FROM user_services WHERE status = 'FROZEN'", 0 },
    { AS_DANUK, 1099, "{{ us.status('BLOCK') }}", NULL, "us.status: permission denied",
      "SELECT count(*) FROM user_services WHERE user_service_id = 1099 AND status = 'ACTIVE'",
      1 },
    { AS_ADMIN, 0, "{{ us(1200).status('BLOCK') }}", "BLOCK", NULL,
      "SELECT count(*) FROM user_services WHERE user_service_id = 1200 AND status = 'BLOCK'",
      1 },
    /* make_commands_by_event: PROGRESS and one task per command */
    { AS_TASK, 1099, "{{ us.make_commands_by_event('block') }}|{{ us.status }}", "1|PROGRESS",
      NULL, SPOOL_OF(1099, "BLOCK"), 1 },
    { AS_TASK, 1099, "[{{ us.make_commands_by_event('ACTIVATE') }}]|{{ us.status }}",
      "[]|ACTIVE", NULL, NEW_TASKS, 0 },
    { AS_TASK, 1099, "{{ us.make_commands_by_event('CHANGED') }}|{{ us.status }}", "1|ACTIVE",
      NULL, SPOOL_OF(1099, "CHANGED"), 1 },
    { AS_DANUK, 1099, "{{ us.make_commands_by_event('BLOCK') }}", NULL,
      "permission denied (admin or task only)", NEW_TASKS, 0 },
    { AS_TASK, 1099, "{{ us.make_commands_by_event('') }}", NULL, "event required", NULL, 0 },
    /* set(field, value): next, auto_bill, settings; D16 for users */
    { AS_DANUK, 1099, "{{ us.set('next', 1004) }}|{{ us.next }}", "1|1004", NULL,
      "SELECT next FROM user_services WHERE user_service_id = 1099", 1004 },
    { AS_DANUK, 1099, "{{ us.set(next = -1, auto_bill = 0) }}|{{ us.is_will_be_deleted }}",
      "1|1", NULL, "SELECT auto_bill FROM user_services WHERE user_service_id = 1099", 0 },
    { AS_DANUK, 1099, "{{ us.set('next', 1002) }}", NULL, "prohibited for registration",
      "SELECT next FROM user_services WHERE user_service_id = 1099", 0 },
    { AS_TASK, 1099, "{{ us.set({ next = 1002 }) }}", "1", NULL,
      "SELECT next FROM user_services WHERE user_service_id = 1099", 1002 },
    { AS_ADMIN, 1099, "{{ us.set('next', 1003) }}", NULL, "is deleted",
      "SELECT next FROM user_services WHERE user_service_id = 1099", 0 },
    { AS_DANUK, 1099, "{{ us.set('status', 'ACTIVE') }}", NULL, "field status may not be set",
      NULL, 0 },
    { AS_DANUK, 1099, "{{ us.set('expire', '2030-01-01 00:00:00') }}", NULL,
      "field expire may not be set",
      "SELECT expire FROM user_services WHERE user_service_id = 1099", 1485907190 },
    { AS_DANUK, 1099, "{{ us.set }}", NULL, "expected field, value", NULL, 0 },
    { AS_DANUK, 0, "[{{ us(1200).set('next', 1004) }}]", "[]", NULL,
      "SELECT next FROM user_services WHERE user_service_id = 1200", 0 },
    /* settings({…}) adds missing keys (stored values win), settings_save */
    { AS_DANUK, 1099, "{{ us.settings({ login = 'x', plan = 'p' }).settings_save }}|"
                      "{{ us.settings.login }}/{{ us.settings.plan }}", "1|w1/p", NULL,
      "SELECT count(*) FROM user_services WHERE user_service_id = 1099 AND "
      "settings->>'plan' = 'p'", 1 },
    { AS_DANUK, 1099, "{{ us.lock }}", "1", NULL, NULL, 0 },
    /* create: the path of PUT /service/order */
    { AS_DANUK, 0, "{{ s = us.create(service_id = 1005); s.status }}|{{ s.service_id }}|"
                   "{{ user.balance }}|{{ s.withdraw.total }}", "ACTIVE|1005|990|10", NULL,
      "SELECT count(*) FROM user_services WHERE user_id = 40092 AND service_id = 1005", 1 },
    { AS_DANUK, 1099, "{{ us.create('service_id', 1005, 'check_exists', 1).id == "
                      "us.create('service_id', 1005, 'check_exists', 1).id }}", "1", NULL,
      "SELECT count(*) FROM user_services WHERE user_id = 40092 AND service_id = 1005", 1 },
    { AS_DANUK, 0, "{{ us.create(service_id = 1001, check_category = 'vp%').id }}", "1099",
      NULL, "SELECT count(*) FROM user_services WHERE user_id = 40092", 6 },
    { AS_DANUK, 0, "{{ us.create(service_id = 1002) }}", NULL, "prohibited for registration",
      "SELECT count(*) FROM user_services WHERE user_id = 40092", 6 },
    { AS_DANUK, 0, "{{ us.create(service_id = 1002, check_allow_to_order = 0) }}", NULL,
      "prohibited for registration", NULL, 0 },
    { AS_TASK, 0, "{{ us.create(service_id = 1002, check_allow_to_order = 0).service_id }}",
      "1002", NULL, "SELECT count(*) FROM user_services WHERE user_id = 40092", 7 },
    { AS_ADMIN, 0, "{{ CALL user.switch(40093); us.create(service_id = 1002).user.login }}", "bob",
      NULL, "SELECT count(*) FROM user_services WHERE user_id = 40093", 2 },
    { AS_DANUK, 0, "{{ us.create(service_id = 1003) }}", NULL, "Service not found", NULL, 0 },
    { AS_DANUK, 0, "{{ us.create(service_id = 'x') }}", NULL, "Field service_id", NULL, 0 },
    { AS_DANUK, 0, "{{ us.create(service_id = 1004, settings = { a = 1 }) }}", NULL,
      "permission denied", "SELECT count(*) FROM user_services WHERE user_id = 40092", 6 },
    { AS_TASK, 0, "{{ us.create(service_id = 1004, settings = { a = 1 }, "
                  "end_date = '2017-06-01 00:00:00').expire }}", "2017-06-01 00:00:00", NULL,
      "SELECT count(*) FROM user_services WHERE user_id = 40092 AND "
      "CAST(settings->>'a' AS INTEGER) = 1", 1 },
    /* a CREATE command: the new us waits in PROGRESS with its task queued */
    { AS_DANUK, 0, "{{ us.create(service_id = 1004).status }}", "PROGRESS", NULL,
      "SELECT count(*) FROM spool WHERE event->>'name' = 'CREATE' AND created > 1483228800",
      1 },
    /* service: composite cost, config, usage by the current user, own rows, ordering */
    { AS_DANUK, 0, "{{ service(1001).cost_composite }}|{{ service(1004).cost_composite }}|"
                   "{{ service(1001).settings.x }}|{{ service(1001).config.x }}|"
                   "{{ service(1001).no_auto_renew }}|{{ service(1004).no_auto_renew }}",
      "110|20|y|y|1|0", NULL, NULL, 0 },
    { AS_DANUK, 0, "{{ service(1001).is_ever_used }}{{ service(1001).is_currently_used }}"
                   "{{ service(1001).was_previously_used }}{{ service(1002).was_previously_used }}"
                   "{{ service(1004).is_ever_used }}", "11010", NULL, NULL, 0 },
    { AS_BOB, 0, "{{ service(1002).is_ever_used }}{{ service(1001).is_currently_used }}|"
                 "{{ service(1001).us.size }}|{{ service(1001).wd.0.id }}", "01|1|1002", NULL,
      NULL, 0 },
    { AS_DANUK, 0, "{{ service(1001).us.size }}|{{ service(1001).wd.size }}|"
                   "{{ service(1001).withdraw.0.total }}", "3|3|100", NULL, NULL, 0 },
    { AS_DANUK, 0, "{{ service.list_for_api.size }}|{{ service.items.1.name }}", "5|VPN", NULL,
      NULL, 0 },
    { AS_DANUK, 0, "{{ service.create_for_api('service_id', 1005, 'check_allow_to_order', 1)"
                   ".status }}|{{ service.reg(service_id = 1005, check_exists = 1).service_id }}",
      "ACTIVE|1005", NULL,
      "SELECT count(*) FROM user_services WHERE user_id = 40092 AND service_id = 1005", 1 },
    { AS_DANUK, 0, "{{ service.reg(service_id = 1002) }}", NULL, "prohibited for registration",
      "SELECT count(*) FROM user_services WHERE user_id = 40092", 6 },
    { AS_ADMIN, 0, "{{ service(1004).set_settings({ a = { b = 1 } }).config.a.b }}|"
                   "{{ service(1001).set_settings(x = 'z').config.x }}/"
                   "{{ service(1001).config.no_auto_renew }}", "1|z/1", NULL,
      "SELECT count(*) FROM services WHERE service_id = 1004 AND "
      "CAST(config->'a'->>'b' AS INTEGER) = 1", 1 },
    { AS_DANUK, 0, "{{ service(1004).set_settings({ a = 1 }) }}", NULL,
      "service.set_settings: permission denied (admin only)",
      "SELECT count(*) FROM services WHERE service_id = 1004 AND config IS NULL", 1 },
    { AS_ADMIN, 0, "{{ service(1004).set_settings('x') }}", NULL, "expected a hash", NULL, 0 },
    /* spool: the running task's row, delete, history.clean */
    { AS_TASK, 1099, "{{ spool.status }}|{{ spool.event.name }}|"
                     "{{ spool.settings.user_service_id }}", "NEW|CREATE|1099", NULL, NULL, 0 },
    { AS_DANUK, 1099, "[{{ spool.status }}{{ spool.event }}]", "[]", NULL, NULL, 0 },
    { AS_TASK, 1099, "{{ spool.delete(900010) }}|[{{ spool.id(900010).status }}]", "1|[]", NULL,
      "SELECT count(*) FROM spool WHERE id = 900010", 0 },
    { AS_TASK, 1099, "[{{ spool.id(900011).delete }}{{ spool.delete(900011) }}]", "[]", NULL,
      "SELECT count(*) FROM spool WHERE id = 900011", 1 },
    { AS_ADMIN, 0, "{{ spool.id(900011).delete }}", "1", NULL,
      "SELECT count(*) FROM spool WHERE id = 900011", 0 },
    { AS_DANUK, 0, "{{ spool.delete(900010) }}", NULL, "spool.delete: permission denied",
      "SELECT count(*) FROM spool WHERE id = 900010", 1 },
    { AS_TASK, 1099, "{{ spool.delete(900009) }}", NULL, "cannot delete itself",
      "SELECT count(*) FROM spool WHERE id = 900009", 1 },
    { AS_TASK, 1099, "{{ spool.delete }}", NULL, "which task", NULL, 0 },
    { AS_TASK, 1099, "{{ spool.history.clean }}", "1", NULL,
      "SELECT count(*) FROM spool_history", 1 },
    { AS_ADMIN, 0, "{{ spool.history.clean(days = 3) }}|{{ spool.history.clean(0) }}", "2|0",
      NULL, "SELECT count(*) FROM spool_history", 0 },
    { AS_DANUK, 0, "{{ spool.history.clean }}", NULL,
      "spool.history.clean: permission denied (admin or task only)",
      "SELECT count(*) FROM spool_history", 2 },
    { AS_ADMIN, 0, "{{ spool.history.clean(days = 100000) }}", NULL, "at most", NULL, 0 },
    /* server / sg: writes for admins and tasks; the task's server is an object */
    { AS_TASK, 1099, "{{ server.host }}|{{ server.set('services_count', 3) }}|"
                     "{{ server.services_count }}", "h1|1|3", NULL,
      "SELECT services_count FROM servers WHERE server_id = 1001", 3 },
    { AS_TASK, 0, "{{ server(1001).set_settings({ max_services = 5 }).settings.max_services }}|"
                  "{{ server(1001).settings.host_name }}", "5|n1", NULL,
      "SELECT CAST(settings->>'max_services' AS INTEGER) FROM servers WHERE server_id = 1001",
      5 },
    { AS_ADMIN, 0, "{{ server(1001).set_settings(key_id = 999) }}", NULL, "key_id",
      "SELECT count(*) FROM servers WHERE server_id = 1001 AND settings->>'key_id' IS NULL", 1 },
    { AS_DANUK, 0, "{{ server(1001).set_settings({ a = 1 }) }}", NULL,
      "server.set_settings: permission denied", NULL, 0 },
    { AS_DANUK, 0, "{{ server(1001).set('services_count', 9) }}", NULL,
      "server.set: permission denied (admin or task only)",
      "SELECT services_count FROM servers WHERE server_id = 1001", 2 },
    { AS_ADMIN, 0, "{{ server(1001).set(services_count = 0) }}", "1", NULL,
      "SELECT services_count FROM servers WHERE server_id = 1001", 0 },
    { AS_ADMIN, 0, "{{ server(1001).set('name', 'x') }}", NULL, "only services_count", NULL, 0 },
    { AS_ADMIN, 0, "{{ server(1001).set('services_count', -1) }}", NULL, "non-negative",
      "SELECT services_count FROM servers WHERE server_id = 1001", 2 },
    { AS_DANUK, 0, "{{ sg(1001).name }}|{{ sg(1001).type }}|{{ sg(1001).transport }}|"
                   "{{ sg.id(1001).get_servers.0.server_id }}|{{ sg(1001).id }}|"
                   "{{ sg.list_for_api.last.group_id }}|{{ server(1001).list_for_api.0.name }}",
      "vpn|evenly|ssh|1001|1001|1001|vpn1", NULL, NULL, 0 },
    /* server.groups: the group of server_gid as a one-element list, [] without one */
    { AS_DANUK, 0, "{{ FOR g IN server(1001).groups }}{{ g.id }}:{{ g.name }}:"
                   "{{ g.get_servers.0.name }};{{ END }}|{{ server(1001).groups.size }}|"
                   "{{ server(1002).groups.size }}|[{{ server(1002).group }}]",
      "1001:vpn:vpn1;|1|0|[]", NULL, NULL, 0 },
    { AS_ADMIN, 0, "{{ server(1001).groups.0.set_settings({ y = 2 }).settings.y }}", "2", NULL,
      "SELECT CAST(settings->>'y' AS INTEGER) FROM servers_groups WHERE group_id = 1001", 2 },
    { AS_ADMIN, 0, "{{ sg(1001).set_settings({ x = 1 }).settings.x }}", "1", NULL,
      "SELECT CAST(settings->>'x' AS INTEGER) FROM servers_groups WHERE group_id = 1001", 1 },
    { AS_DANUK, 0, "{{ sg(1001).set_settings({ x = 1 }) }}", NULL,
      "sg.set_settings: permission denied", NULL, 0 },
    /* wd / pay / bonus: the owner's collections, wd.next and wd.sum */
    { AS_DANUK, 1099, "{{ wd.last.id }}|{{ wd.list_for_api.size }}|{{ us.wd.next.id }}|"
                      "[{{ wd(1004).next }}]|{{ wd.sum }}|{{ wd(1003).sum }}|{{ wd(1004).unpaid }}",
      "1004|3|1004|[]|100|100|1", NULL, NULL, 0 },
    { AS_BOB, 0, "{{ wd.sum }}|{{ wd.last.id }}|[{{ wd(1001).next }}{{ wd(1001).last }}]|"
                 "[{{ pay.last }}{{ bonus.list_for_api }}]", "100|1002|[]|[]", NULL, NULL, 0 },
    { AS_DANUK, 0, "{{ pay.last.money }}|{{ pay.list_for_api.money }}|{{ pay(1001).last.id }}|"
                   "{{ bonus.list_for_api.bonus }}|{{ bonus(1001).amount }}|"
                   "{{ bonus(1001).list_for_api.comment.msg }}", "1000|1000|1001|5|5|x", NULL,
      NULL, 0 },
};

/* Renders src as who (us bound to usi); *rc gets the status. Returns the output (owned). */
static char *render_as(struct db *db, enum who who, int64_t usi, const char *src, int *rc,
                       struct err *e)
{
    json_t *settings = json_pack("{s:I}", "user_service_id", (json_int_t)usi);
    json_t *server = json_pack("{s:i,s:s}", "server_id", 1001, "host", "h1");
    struct spool_task t = { .id = 900009, .user_id = DANUK, .usi = usi, .attempt = 1, .token = "t",
                            .name = "", .settings = settings, .server = server };
    struct render_ctx r = { .db = db, .user_id = who == AS_BOB ? BOB : who == AS_ADMIN ? ADMIN
                                                                                         : DANUK,
                            .admin = who == AS_ADMIN, .usi = usi,
                            .task = who == AS_TASK ? &t : NULL };
    struct buf out;
    buf_init(&out, 0);
    *rc = render_text(&r, "t", src, strlen(src), &out, e);
    render_ctx_release(&r);
    json_decref(settings);
    json_decref(server);
    return buf_detach(&out, NULL);
}

static void run_case(struct db *db, const struct tcase *c)
{
    struct err e = { 0 };
    int rc;
    bf_q_exec(db, "SAVEPOINT c");
    char *got = render_as(db, c->who, c->usi, c->src, &rc, &e);
    if (c->want && rc)
        fail_msg("%s: render failed: %s", c->src, e.msg);
    if (c->want && strcmp(got, c->want))
        fail_msg("%s\n  got:  \"%s\"\n  want: \"%s\"", c->src, got, c->want);
    if (!c->want && (rc == 0 || !strstr(e.msg, c->err)))
        fail_msg("%s: want error \"%s\", got rc %d \"%s\" output \"%s\"", c->src, c->err, rc,
                 e.msg, got);
    free(got);
    if (!c->want)
        bf_q_exec(db, "ROLLBACK TO SAVEPOINT c"); /* PostgreSQL: the failed statement */
    if (c->check && bf_q_int(db, c->check, NULL, 0) != c->check_want)
        fail_msg("%s: %s = %lld, want %lld", c->src, c->check,
                 (long long)bf_q_int(db, c->check, NULL, 0), (long long)c->check_want);
    bf_assert_ledger(db, DANUK);
    bf_assert_ledger(db, BOB);
    bf_q_exec(db, "ROLLBACK TO SAVEPOINT c");
    bf_q_exec(db, "RELEASE SAVEPOINT c");
}

static void test_cases(void **state)
{
    struct db *db = DB(state);
    seed(db);
    time_freeze(bf_at("2017-01-15 12:00:00"));
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        run_case(db, &cases[i]);
}

int main(void)
{
    static const struct bf_case dbc[] = {
        { "cases", test_cases },
    };
    return bf_run_all("obj_us", "billd_test_obj_us", NULL, 0, dbc, ARRAY_SIZE(dbc));
}
