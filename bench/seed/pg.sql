-- bench/seed/pg.sql — the PostgreSQL twin of bench/seed/sqlite.sql (same rows, built with
-- generate_series), run by bench/bench.py through psql on a database `billd migrate` created.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
BEGIN;

UPDATE spool SET status = 'PAUSED' WHERE id <= 3;

INSERT INTO services (service_id, name, cost, period, category, children, allow_to_order,
                      pay_always, no_discount, pay_in_credit, is_composite, deleted, descr)
SELECT 100 + i, 'Bench plan ' || i, 100 * i, 10000, 'bench', '[]', 1, 0, 0, 0, 0, 0,
       'A benchmark service'
FROM generate_series(1, ${catalog}) i;

INSERT INTO users (user_id, login, password, created, balance, gid, full_name, settings)
SELECT 1 + i, 'bench' || i, NULL, ${created}, ${balance}, 0, 'Bench User ' || i, '{}'
FROM generate_series(1, ${users}) i;

INSERT INTO pays_history (id, user_id, pay_system_id, money, date, comment, uniq_key)
SELECT user_id - 1, user_id, 'manual', ${balance}, ${created}, NULL,
       'seed-' || (user_id - 1)
FROM users WHERE user_id > 1;

INSERT INTO ledger (user_id, created, kind, money, bonus, ref_table, ref_id, comment)
SELECT user_id, ${created}, 'payment', ${balance}, 0, 'pays_history', user_id - 1, 'bench opening'
FROM users WHERE user_id > 1;

INSERT INTO withdraw_history (withdraw_id, user_id, create_date, withdraw_date, end_date, cost,
                              discount, bonus, months, total, service_id, qnt, user_service_id)
SELECT i, 2 + (i - 1) % ${users}, ${created}, ${created}, ${expire}, 100, 0, 0, 10000, 100, 101,
       1, i
FROM generate_series(1, ${services}) i;

INSERT INTO user_services (user_service_id, user_id, service_id, auto_bill, withdraw_id, created,
                           expire, status_before, status, next, parent, settings)
SELECT withdraw_id, user_id, 101, 1, withdraw_id, ${created}, ${expire}, 'INIT', 'ACTIVE', 0,
       NULL, NULL
FROM withdraw_history;

INSERT INTO servers (server_id, server_gid, name, transport, host, weight, enabled, settings)
VALUES (100, 1, 'bench-local', 'local', 'localhost', 100, 1, '{}');
INSERT INTO templates (id, data, settings) VALUES ('bench_noop', 'ok', NULL);
INSERT INTO events (kind, title, name, server_gid, settings)
VALUES ('UserService', 'Bench renewal hook', 'prolongate', 1,
        '{"category":"bench","template_id":"bench_noop"}');

INSERT INTO spool (user_id, user_service_id, response, event, prio, status, created, executed,
                   delayed, settings)
SELECT 2 + (i - 1) % ${users}, NULL, NULL,
       '{"kind":"UserService","name":"BENCH","title":"bench task","server_gid":1,'
       '"settings":{"template_id":"bench_noop","transport":"local"}}',
       100, 'NEW', ${created}, NULL, 0, ('{"bench":' || i || '}')::jsonb
FROM generate_series(1, ${tasks}) i;

-- explicit ids were given: move every identity past them
SELECT setval(pg_get_serial_sequence(t, c), GREATEST((SELECT 1), max_id))
FROM (VALUES ('users', 'user_id', (SELECT max(user_id) FROM users)),
             ('services', 'service_id', (SELECT max(service_id) FROM services)),
             ('pays_history', 'id', (SELECT max(id) FROM pays_history)),
             ('withdraw_history', 'withdraw_id', (SELECT max(withdraw_id) FROM withdraw_history)),
             ('user_services', 'user_service_id', (SELECT max(user_service_id) FROM user_services)),
             ('servers', 'server_id', (SELECT max(server_id) FROM servers)))
     AS s(t, c, max_id);

COMMIT;
ANALYZE;
