-- 0007_spool (SQLite): the spool engine's bookkeeping (issue 6; docs/spool.md; D9, D10).
--
-- spool.token         stable idempotency token of the task, the same on every attempt (D9);
--                     set by spool_add() or at the first claim of a row inserted otherwise
-- spool.attempts      executions since the task last succeeded (the attempt number templates
--                     and transports see; a periodic task starts again at 1 each period)
-- spool.fails         FAIL outcomes since the last success or admin retry (spool.max_attempts)
-- spool.retries       FAIL/DELAYED outcomes in a row: the retry delay is 3^retries s, <= 900
-- spool.claimed_by    node id of the worker executing the task (NULL = not claimed)
-- spool.claimed_until lease: after this second another node may claim the task again
-- spool.usi_lock      the user service the running task holds (NULL for CHANGED tasks)
-- spool.history_id    the spool_history row of the current execution
-- spool.manual        1 after an admin action (retry/resume): the only way a periodic Jobs
--                     task runs while the test clock is frozen
-- spool_history.token/attempt/node  which attempt of which task ran where
--
-- SQLite: the table is rebuilt with AUTOINCREMENT so a deleted task's id is never reused
-- (spool_history.spool_id must name one task, as MySQL's and PostgreSQL's ids do).
CREATE TABLE spool_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    user_service_id INTEGER,
    response TEXT,
    event TEXT NOT NULL,
    prio INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'NEW',
    created INTEGER NOT NULL,
    executed INTEGER,
    delayed INTEGER NOT NULL DEFAULT 0,
    settings TEXT,
    token TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    fails INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_until INTEGER,
    usi_lock INTEGER,
    history_id INTEGER,
    manual INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO spool_new (id, user_id, user_service_id, response, event, prio, status, created,
                       executed, delayed, settings)
    SELECT id, user_id, user_service_id, response, event, prio, status, created, executed,
           delayed, settings FROM spool;
DROP TABLE spool;
ALTER TABLE spool_new RENAME TO spool;
INSERT INTO sqlite_sequence (name, seq) SELECT 'spool', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'spool');
UPDATE sqlite_sequence SET seq = max(seq, (SELECT COALESCE(max(spool_id), 0) FROM spool_history),
                                     (SELECT COALESCE(max(id), 0) FROM spool))
    WHERE name = 'spool';
CREATE INDEX spool_queue ON spool (prio, status, delayed, executed);
ALTER TABLE spool_history ADD COLUMN token TEXT;
ALTER TABLE spool_history ADD COLUMN attempt INTEGER;
ALTER TABLE spool_history ADD COLUMN node TEXT;

-- The claim walks this index in (prio, id) order, skipping parked rows.
CREATE INDEX spool_runnable ON spool (prio, id) WHERE status NOT IN ('STUCK', 'PAUSED');
CREATE INDEX spool_usi ON spool (user_service_id);
CREATE INDEX spool_usi_lock ON spool (usi_lock) WHERE usi_lock IS NOT NULL;
CREATE INDEX spool_claimed ON spool (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX spool_history_created ON spool_history (created);
