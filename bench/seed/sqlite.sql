-- bench/seed/sqlite.sql — bulk generator for the benchmark database (SQLite), run by
-- bench/bench.py through the sqlite3 shell on a database `billd migrate` created.
-- ${users} users (ids 2 .. users+1, login benchN), each with one opening payment and its
-- ledger row; ${services} user services spread round-robin over the users, all ACTIVE,
-- auto-billed, paid through ${expire} (before now, i.e. due for renewal), each with its paid
-- withdraw; ${catalog} orderable services; a `prolongate` event on the LOCAL server group so
-- every renewal also queues a spool task; ${tasks} local-transport spool tasks.
-- Placeholders are integers substituted by bench.py.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;

-- the seeded periodic jobs would run during the spool scenario: park them
UPDATE spool SET status = 'PAUSED' WHERE id <= 3;

INSERT INTO services (service_id, name, cost, period, category, children, allow_to_order,
                      pay_always, no_discount, pay_in_credit, is_composite, deleted, descr)
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${catalog})
SELECT 100 + i, 'Bench plan ' || i, 100 * i, 10000, 'bench', '[]', 1, 0, 0, 0, 0, 0,
       'A benchmark service'
FROM c;

INSERT INTO users (user_id, login, password, created, balance, gid, full_name, settings)
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${users})
SELECT 1 + i, 'bench' || i, NULL, ${created}, ${balance}, 0, 'Bench User ' || i, '{}'
FROM c;

INSERT INTO pays_history (id, user_id, pay_system_id, money, date, comment, uniq_key)
SELECT user_id - 1, user_id, 'manual', ${balance}, ${created}, NULL,
       'seed-' || (user_id - 1)
FROM users WHERE user_id > 1;

INSERT INTO ledger (user_id, created, kind, money, bonus, ref_table, ref_id, comment)
SELECT user_id, ${created}, 'payment', ${balance}, 0, 'pays_history', user_id - 1, 'bench opening'
FROM users WHERE user_id > 1;

-- user service i belongs to user 2 + (i - 1) % users and was paid by withdraw i
INSERT INTO withdraw_history (withdraw_id, user_id, create_date, withdraw_date, end_date, cost,
                              discount, bonus, months, total, service_id, qnt, user_service_id)
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${services})
SELECT i, 2 + (i - 1) % ${users}, ${created}, ${created}, ${expire}, 100, 0, 0, 10000, 100, 101,
       1, i
FROM c WHERE ${services} > 0;

INSERT INTO user_services (user_service_id, user_id, service_id, auto_bill, withdraw_id, created,
                           expire, status_before, status, next, parent, settings)
SELECT withdraw_id, user_id, 101, 1, withdraw_id, ${created}, ${expire}, 'INIT', 'ACTIVE', 0,
       NULL, NULL
FROM withdraw_history;

-- the local transport: a server in group 1 (LOCAL) and a template that renders one line
INSERT INTO servers (server_id, server_gid, name, transport, host, weight, enabled, settings)
VALUES (100, 1, 'bench-local', 'local', 'localhost', 100, 1, '{}');
INSERT INTO templates (id, data, settings) VALUES ('bench_noop', 'ok', NULL);
INSERT INTO events (kind, title, name, server_gid, settings)
VALUES ('UserService', 'Bench renewal hook', 'prolongate', 1,
        '{"category":"bench","template_id":"bench_noop"}');

INSERT INTO spool (user_id, user_service_id, response, event, prio, status, created, executed,
                   delayed, settings)
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${tasks})
SELECT 2 + (i - 1) % ${users}, NULL, NULL,
       '{"kind":"UserService","name":"BENCH","title":"bench task","server_gid":1,'
       || '"settings":{"template_id":"bench_noop","transport":"local"}}',
       100, 'NEW', ${created}, NULL, 0, '{"bench":' || i || '}'
FROM c WHERE ${tasks} > 0;

COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
