/*
 * spool.h — the spool (spool.md; DECISIONS D3, D4, D9, D10; docs/spool.md):
 * creating tasks, claiming one runnable task, executing it outside any
 * transaction, finishing it (retries, periodic re-arm, user-service status),
 * the admin's manual actions and the worker threads.
 *
 * Invariants:
 *   - a task is claimed by exactly one worker: the claim is a short write
 *     transaction that stamps claimed_by/claimed_until (a lease) and
 *     attempts + 1 (SQLite serialises writers; PostgreSQL uses FOR UPDATE
 *     SKIP LOCKED);
 *   - network I/O never holds a transaction: a task is executed with the
 *     worker's connection in autocommit mode;
 *   - the finish is a second short write transaction that first checks the
 *     claim is still this worker's (same node and attempt); a lost claim only
 *     updates the history row;
 *   - every claim writes one spool_history row, every finish (or crash
 *     recovery) completes it.
 */
#ifndef BILLD_SPOOL_H
#define BILLD_SPOOL_H

#include "task.h"

/* ---- creating tasks (spool.c) ---- */

/* A task to create (spool.md §4.2). Borrowed pointers; NULL = none. */
struct spool_new {
    int64_t user_id;
    int64_t usi;            /* stored in settings.user_service_id and the column; 0 = none */
    const json_t *event;    /* {kind, method, name, title, server_gid, settings, period, …} */
    const json_t *settings; /* task settings */
    int prio;               /* 0 = the model default 100 */
    int64_t delayed;        /* > 0: status DELAYED, first run after this many seconds */
    const char *status;     /* NULL = NEW */
};

/*
 * Inserts a task in the caller's transaction (or autocommit) with a fresh
 * idempotency token. A task created while this thread executes another
 * inherits event.task_id. *id (may be NULL) receives its id. Workers of this
 * process are woken after the caller commits (spool_committed). Returns 0 or
 * a database error.
 */
int spool_add(struct db *db, const struct spool_new *t, int64_t *id, struct err *e);

/*
 * A task event serialised once for many tasks (the renewal pass queues the same
 * events row for every service it renews): the text spool_add would store for
 * that event — including event.task_id when prepared while this thread executes
 * a task — and its period.
 */
struct spool_event {
    char *text; /* owned */
    int64_t period;
};
void spool_event_prepare(const json_t *event, struct spool_event *out);
void spool_event_release(struct spool_event *ev);
/* spool_add with the event ev prepared by spool_event_prepare (t->event is not read). */
int spool_add_prepared(struct db *db, const struct spool_new *t, const struct spool_event *ev,
                       int64_t *id, struct err *e);

/*
 * A user event (spool.md §2.2) in the caller's transaction: the built-in task
 * (builtin = {kind, method, name, title}, may be NULL) plus one task per
 * `events` row named name (no category filter), each with a copy of settings.
 * Returns 0 or a database error.
 */
int spool_user_event(struct db *db, int64_t user_id, const char *name, const json_t *builtin,
                     const json_t *settings, struct err *e);

/* Writes a fresh random idempotency token (32 hex digits + NUL) into out. */
void spool_token_new(char out[33]);

/* Wakes the idle workers of this process now. */
void spool_wake(void);
/* Call after a commit: wakes the workers if this thread added tasks since the last call. */
void spool_committed(void);
/* Notes that this thread made tasks runnable (admin actions): the next spool_committed() wakes. */
void spool_note_change(void);

/*
 * The retry delay after the n-th consecutive unsuccessful execution (n >= 1):
 * 3^n seconds, capped at 900 (D9: 3, 9, 27, 81, 243, 729, 900, 900, …).
 */
int64_t spool_retry_delay(int64_t n);

/* ---- claiming and finishing (claim.c) ---- */

/* Which periodic Jobs tasks a worker may claim (D3, D5). */
enum spool_jobs {
    SPOOL_JOBS_ALL = 0,  /* this node runs the scheduler */
    SPOOL_JOBS_MANUAL,   /* test clock frozen: only Jobs an admin retried/resumed */
    SPOOL_JOBS_NONE,     /* another node holds the scheduler lock */
};

struct spool_opts {
    const char *node;     /* this node's id (claimed_by) */
    int64_t lease;        /* seconds a claim is valid without a heartbeat */
    enum spool_jobs jobs;
};

/* A claimed task with the storage its struct spool_task points into (owned). */
struct spool_claim {
    struct spool_task task;
    json_t *event, *settings, *server; /* owned */
    char token[64];
    char name[64];
    int64_t prio;
    int64_t history_id;
    int64_t started;     /* time_now() at the claim */
    bool us_missing;     /* step 3: the us vanished; SUCCESS without a status change */
    bool user_missing;   /* step 2, seen by the claim: the task's user does not exist */
    bool recorded;       /* its outcome was committed by spool_finish(_batch) */
};

/*
 * Claims the runnable task that comes first (spool.md §5.2: not STUCK/PAUSED,
 * due, prio then id; not while another task of the same us is running unless
 * CHANGED; not while an earlier task of a child us is waiting, docs/spool.md)
 * in one short write transaction, writing its history row. *got tells
 * whether one was claimed; then out must be released with spool_claim_free.
 * Must be called outside a transaction. Returns 0 or a database error.
 */
int spool_claim(struct db *db, const struct spool_opts *o, int64_t now, struct spool_claim *out,
                bool *got, struct err *e);
void spool_claim_free(struct spool_claim *c);
/*
 * Claims up to max tasks (each chosen as spool_claim would, seeing the ones
 * already claimed) in one transaction: out[0..*n). Returns 0 or an error
 * (then nothing is claimed).
 */
int spool_claim_batch(struct db *db, const struct spool_opts *o, int64_t now,
                      struct spool_claim *out, int max, int *n, struct err *e);

/*
 * Records the outcome of a claimed task (spool.md §5.5, D9) in one write
 * transaction; takes nothing (data is borrowed). Returns 0 or a database
 * error (the claim then stays until its lease expires or the node restarts).
 */
int spool_finish(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                 enum task_result r, const json_t *data, int64_t now, struct err *e);
/*
 * The outcomes of n claims in one transaction; when one cannot be recorded
 * the others are recorded alone and the first error is returned. Sets
 * c[i].recorded for each outcome committed.
 */
int spool_finish_batch(struct db *db, const struct spool_opts *o, struct spool_claim *c,
                       const enum task_result *r, json_t *const *data, int n, int64_t now,
                       struct err *e);

/*
 * Crash recovery (D10): releases the claims of node (NULL = every claim, the
 * SQLite start-up) so they run again with the next attempt; their open
 * history rows become FAIL "interrupted". *n (may be NULL) receives the count.
 */
int spool_release(struct db *db, const char *node, int64_t *n, struct err *e);

/* Extends the leases of node's claims to now + lease (the heartbeat). */
int spool_heartbeat(struct db *db, const char *node, int64_t now, int64_t lease, struct err *e);

/* ---- executing (exec.c) ---- */

/*
 * Executes a claimed task outside any transaction (spool.md §5.3 steps 2–5,
 * §5.4). *data receives an owned object (never NULL). Returns the outcome.
 */
enum task_result spool_execute(struct db *db, const struct config *cfg, struct spool_claim *c,
                               json_t **data);

/*
 * Claims, executes and finishes one task. *did tells whether a task was
 * claimed. pause_ms > 0 (a test hook) sleeps between execute and finish.
 */
int spool_run_one(struct db *db, const struct config *cfg, const struct spool_opts *o,
                  int pause_ms, bool *did, struct err *e);
/* What one spool_run_batch() call did. */
struct spool_batch_stats {
    int done;           /* tasks claimed, executed and finished */
    int64_t slowest_us; /* the longest single execution, microseconds */
};
/*
 * The same for up to batch tasks (1..SPOOL_BATCH_MAX): one claim transaction,
 * the executions in order, one finish transaction. *st receives the counts.
 * Outcomes that could not be recorded (the database went away) are kept by
 * the calling thread and recorded first on its next call, before anything is
 * claimed; spool_pending_drop() forgets them (thread exit: the claims are
 * then released by the node's next start or by lease expiry).
 */
#define SPOOL_BATCH_MAX 256
/* The default cap of a worker's adaptive batch (SPOOL_BATCH; 1 = one task per transaction). */
#define SPOOL_BATCH_DEFAULT 64
int spool_run_batch(struct db *db, const struct config *cfg, const struct spool_opts *o,
                    int batch, int pause_ms, struct spool_batch_stats *st, struct err *e);
/*
 * A worker's next batch size after a call that ran with size (docs/spool.md,
 * "Batches"): a full batch whose tasks each ran in under SPOOL_FAST_TASK_US
 * doubles it, up to cap; any slower task drops it to 1, so a slow transport
 * (SSH, HTTP, mail) holds back at most the rest of one batch of fast tasks.
 */
#define SPOOL_FAST_TASK_US 2000
int spool_next_batch(int cap, int size, const struct spool_batch_stats *st);
/* Frees the calling thread's unrecorded outcomes; returns how many there were. */
int spool_pending_drop(void);

/* ---- admin actions (manual.c) ---- */

/*
 * POST /admin/spool/manual/<action> (spool.md §6.3) on task id: success,
 * pause, resume, retry. args may carry event.name and
 * settings.user_service_id for `success`. Runs in the caller's write
 * transaction. Returns 0, ERR_NOT_FOUND (404) or ERR_INVALID (400 "unknown
 * action").
 */
int spool_manual(struct db *db, int64_t id, const char *action, const json_t *args,
                 struct err *e);

/* Deletes task id (a claim in flight then only completes its history row). ERR_NOT_FOUND (404). */
int spool_delete(struct db *db, int64_t id, struct err *e);
/*
 * Deletes the history rows created before `before` (Unix seconds) and the
 * console logs started before it; *history and *console (may be NULL)
 * receive the counts. Runs in the caller's transaction.
 */
int spool_history_clean(struct db *db, int64_t before, int64_t *history, int64_t *console,
                        struct err *e);

/* ---- workers (worker.c) ---- */

struct spool_pool;

/*
 * Starts the spool of this process: `workers` threads, each with its own
 * connection, plus on PostgreSQL a node thread (LISTEN/NOTIFY, lease
 * heartbeat, the scheduler's advisory lock). Releases this node's earlier
 * claims first (every claim on SQLite). once: every worker exits when nothing
 * is due and no worker of the pool is busy. Returns 0 or an error (e.g.
 * another process runs with the same node id).
 */
int spool_pool_start(const struct config *cfg, int workers, bool once, struct spool_pool **out,
                     struct err *e);
/* True when a once-pool has finished. */
bool spool_pool_done(struct spool_pool *p);
/* Stops the pool: workers finish the task they run, then exit; frees p. */
void spool_pool_stop(struct spool_pool *p);

/* SPOOL_WORKERS from the environment (0..64, def when unset). Returns 0 or ERR_INVALID. */
int spool_workers_env(int def, int *out, struct err *e);

/* The node id of this process: BILLD_NODE_ID or the host name. */
const char *spool_node_id(void);

#endif
