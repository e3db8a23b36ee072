-- 0001_init: billd's schema, SHM's tables and column names (data-model.md §3),
-- money as integer minor units, times as Unix seconds UTC (DECISIONS D2, D5).
-- JSON columns are TEXT on SQLite (validated by billd, which writes them with
-- jansson; json_valid() cannot be used in CHECKs with trusted_schema=OFF) and
-- JSONB on PostgreSQL.

CREATE TABLE users (
    user_id INTEGER PRIMARY KEY,
    partner_id INTEGER,
    login TEXT NOT NULL UNIQUE,
    login2 TEXT UNIQUE,
    password TEXT,
    type INTEGER DEFAULT 0,
    created INTEGER NOT NULL,
    last_login INTEGER,
    discount INTEGER NOT NULL DEFAULT 0,
    balance INTEGER NOT NULL DEFAULT 0,
    credit INTEGER NOT NULL DEFAULT 0,
    comment TEXT,
    dogovor TEXT,
    block INTEGER NOT NULL DEFAULT 0,
    gid INTEGER NOT NULL DEFAULT 0,
    perm_credit INTEGER NOT NULL DEFAULT 0,
    full_name TEXT,
    can_overdraft INTEGER NOT NULL DEFAULT 0,
    bonus INTEGER NOT NULL DEFAULT 0,
    phone TEXT,
    verified INTEGER,
    create_act INTEGER,
    settings TEXT
) STRICT;

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    settings TEXT
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE services (
    service_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    cost INTEGER,
    period INTEGER NOT NULL DEFAULT 10000,
    category TEXT,
    children TEXT,
    next INTEGER DEFAULT 0,
    allow_to_order INTEGER,
    max_count INTEGER,
    question INTEGER,
    pay_always INTEGER DEFAULT 0,
    no_discount INTEGER DEFAULT 0,
    descr TEXT,
    pay_in_credit INTEGER DEFAULT 0,
    config TEXT,
    is_composite INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE user_services (
    user_service_id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    service_id INTEGER NOT NULL,
    auto_bill INTEGER NOT NULL DEFAULT 1,
    withdraw_id INTEGER,
    created INTEGER NOT NULL,
    expire INTEGER,
    status_before TEXT NOT NULL DEFAULT 'INIT',
    status TEXT NOT NULL DEFAULT 'INIT',
    next INTEGER,
    parent INTEGER REFERENCES user_services (user_service_id) ON DELETE SET NULL,
    settings TEXT
) STRICT;
CREATE INDEX user_services_user ON user_services (user_id);
CREATE INDEX user_services_parent ON user_services (parent);
CREATE INDEX user_services_due ON user_services (status, expire);

CREATE TABLE withdraw_history (
    withdraw_id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    create_date INTEGER NOT NULL,
    withdraw_date INTEGER,
    end_date INTEGER,
    cost INTEGER NOT NULL DEFAULT 0,
    discount INTEGER NOT NULL DEFAULT 0,
    bonus INTEGER NOT NULL DEFAULT 0,
    months INTEGER NOT NULL DEFAULT 10000,
    total INTEGER NOT NULL DEFAULT 0,
    service_id INTEGER NOT NULL,
    qnt REAL NOT NULL DEFAULT 1,
    user_service_id INTEGER NOT NULL
) STRICT;
CREATE INDEX withdraw_user_service ON withdraw_history (user_id, service_id);
CREATE INDEX withdraw_user_us ON withdraw_history (user_id, user_service_id);

CREATE TABLE pays_history (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    pay_system_id TEXT,
    money INTEGER NOT NULL DEFAULT 0,
    date INTEGER NOT NULL,
    comment TEXT,
    uniq_key TEXT,
    UNIQUE (user_id, uniq_key)
) STRICT;

CREATE TABLE bonus_history (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    date INTEGER NOT NULL,
    bonus INTEGER NOT NULL,
    comment TEXT
) STRICT;
CREATE INDEX bonus_history_user ON bonus_history (user_id);

-- D7: every change of a balance or bonus, append-only, written in the same
-- transaction as the change; billd check compares it with users.balance/bonus.
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    created INTEGER NOT NULL,
    kind TEXT NOT NULL,
    money INTEGER NOT NULL DEFAULT 0,
    bonus INTEGER NOT NULL DEFAULT 0,
    ref_table TEXT,
    ref_id INTEGER,
    comment TEXT
) STRICT;
CREATE INDEX ledger_user ON ledger (user_id);

CREATE TABLE discounts (
    discount_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    months INTEGER NOT NULL,
    percent INTEGER NOT NULL,
    share INTEGER
) STRICT;

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'UserService',
    title TEXT NOT NULL,
    name TEXT NOT NULL,
    server_gid INTEGER,
    settings TEXT
) STRICT;

CREATE TABLE spool (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    user_service_id INTEGER,
    response TEXT,
    event TEXT NOT NULL,
    prio INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'NEW',
    created INTEGER NOT NULL,
    executed INTEGER,
    delayed INTEGER NOT NULL DEFAULT 0,
    settings TEXT
) STRICT;
CREATE INDEX spool_queue ON spool (prio, status, delayed, executed);

CREATE TABLE spool_history (
    id INTEGER PRIMARY KEY,
    spool_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    user_service_id INTEGER,
    response TEXT,
    event TEXT,
    prio INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created INTEGER NOT NULL,
    executed INTEGER,
    delayed INTEGER NOT NULL DEFAULT 0,
    settings TEXT
) STRICT;
CREATE INDEX spool_history_spool ON spool_history (spool_id);

CREATE TABLE servers (
    server_id INTEGER PRIMARY KEY,
    server_gid INTEGER,
    name TEXT,
    transport TEXT NOT NULL,
    host TEXT,
    ip TEXT,
    weight INTEGER DEFAULT 100,
    success_count INTEGER NOT NULL DEFAULT 0,
    fail_count INTEGER NOT NULL DEFAULT 0,
    services_count INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    settings TEXT
) STRICT;

CREATE TABLE servers_groups (
    group_id INTEGER PRIMARY KEY,
    name TEXT,
    transport TEXT NOT NULL DEFAULT 'ssh',
    type TEXT NOT NULL DEFAULT 'random',
    settings TEXT
) STRICT;

CREATE TABLE identities (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT,
    fingerprint TEXT
) STRICT;

CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    data TEXT,
    settings TEXT
) STRICT;

CREATE TABLE console (
    id INTEGER PRIMARY KEY,
    start INTEGER NOT NULL,
    stop INTEGER,
    log BLOB NOT NULL DEFAULT x'',
    eof INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE storage (
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    user_service_id INTEGER,
    created INTEGER NOT NULL,
    data BLOB,
    settings TEXT,
    PRIMARY KEY (user_id, name)
) STRICT;

CREATE TABLE profiles (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    data TEXT,
    created INTEGER NOT NULL
) STRICT;
CREATE INDEX profiles_user ON profiles (user_id);

CREATE TABLE promo_codes (
    id TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    template_id TEXT NOT NULL,
    created INTEGER NOT NULL,
    used INTEGER,
    used_by INTEGER,
    settings TEXT,
    expire INTEGER,
    PRIMARY KEY (id, user_id)
) STRICT;

-- Production seed (data-model.md §6.1). User 1 (admin) is created by
-- `billd migrate` with a password from BILLD_ADMIN_PASSWORD or a generated one.
INSERT INTO servers_groups (group_id, name, transport, type) VALUES
    (1, 'LOCAL', 'local', 'random'),
    (2, 'Email уведомления', 'mail', 'random'),
    (3, 'Telegram уведомления', 'telegram', 'random'),
    (4, 'Linux servers', 'ssh', 'random');

INSERT INTO services (service_id, name, cost, period, category, children, allow_to_order,
                      pay_always, no_discount, pay_in_credit, is_composite, deleted)
    VALUES (1, 'Тестовая услуга', 0, 10000, 'test', '[]', 0, 1, 0, 0, 0, 0);

INSERT INTO events (id, kind, title, name, server_gid, settings) VALUES
    (1, 'UserService', 'User password reset', 'user_password_reset', 1,
     '{"category":"%","template_id":"user_password_reset"}');

INSERT INTO config (key, value) VALUES
    ('_shm', '{"version":"0.0.3","cloud":{}}'),
    ('billing', '{"type":"Simpler","partner":{"income_percent":0},"currency":"RUB"}'),
    ('company', '{"name":"My Company LTD"}'),
    ('telegram', '{"token":""}'),
    ('api', '{"url":"https://bill.domain.ru"}'),
    ('cli', '{"url":"https://bill.domain.ru"}'),
    ('pay_systems', '{"manual":{"name":"Платеж","show_for_client":false},"yoomoney":{"name":"ЮMoney","account":"000000000000000","secret":"","template_id":"yoomoney_template","show_for_client":true}}'),
    ('mail', '{"from":"mail@domain.ru"}');

INSERT INTO spool (id, status, user_id, prio, created, event) VALUES
    (1, 'NEW', 1, 0, 0, '{"title":"Сервис для продления услуг","kind":"Jobs","method":"job_prolongate","period":"600"}'),
    (2, 'NEW', 1, 0, 0, '{"title":"Сервис для чистки данных и услуг","kind":"Jobs","method":"job_cleanup","period":"86400"}'),
    (3, 'NEW', 1, 0, 0, '{"title":"Сервис отправки прогнозов оплат","kind":"Jobs","method":"job_make_forecasts","period":"86400"}');
