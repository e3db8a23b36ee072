-- 0005_payments (SQLite): Idempotency-Key responses and deleted payments (issue 4, D8).
--
-- idempotency_keys: the first committed response of a writing API call sent with an
-- Idempotency-Key header, per calling user; a repeat with the same request hash replays it
-- (src/api/idempotency.c). Rows are kept at least 24 h (idempotency_cleanup).
--
-- pays_history_deleted: payments removed by DELETE /admin/user/pay. The balance is not
-- changed (api.md R104) and the payment's ledger row stays (D7); keeping the row here keeps
-- its uniq_key taken, so a provider retrying a deleted payment is not credited twice (D8).
CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    idem_key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    created INTEGER NOT NULL,
    UNIQUE (user_id, idem_key)
) STRICT;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);

CREATE TABLE pays_history_deleted (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    pay_system_id TEXT,
    money INTEGER NOT NULL DEFAULT 0,
    date INTEGER NOT NULL,
    comment TEXT,
    uniq_key TEXT,
    deleted INTEGER NOT NULL,
    deleted_by INTEGER
) STRICT;
CREATE INDEX pays_history_deleted_key ON pays_history_deleted (user_id, uniq_key);
