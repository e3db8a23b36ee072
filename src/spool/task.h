/*
 * task.h — one spool task as the code that executes it sees it: a transport
 * (src/transport) or a method task (src/spool/jobs.c). The spool
 * (src/spool/spool.c) claims the row, fills this struct, calls the executor
 * outside any transaction, and records the outcome (spool.md §5).
 *
 * Executors return an enum task_result and an owned JSON object that becomes
 * spool.response.response (transports.md §0); on FAIL/STUCK it holds at least
 * {"error": "<reason>"}.
 */
#ifndef BILLD_SPOOL_TASK_H
#define BILLD_SPOOL_TASK_H

#include "../common.h"

#include <jansson.h>

struct db;
struct config;

/* Outcome of one execution (transports.md §0). */
enum task_result {
    TASK_STUCK = -1, /* parked, no retry (SHM: undefined) */
    TASK_FAIL = 0,   /* retried with back-off (spool.md §6.2, D9) */
    TASK_SUCCESS = 1,
    TASK_DELAYED = 2, /* retried with back-off, not counted as a failed attempt (locked us) */
};

/* A claimed task. Every pointer is owned by the spool and valid during the execution. */
struct spool_task {
    int64_t id;
    int64_t user_id;
    int64_t usi;          /* settings.user_service_id, 0 = none */
    int64_t server_id;    /* after group selection (spool.md §5.3 step 4), 0 = none */
    int attempt;          /* 1 on the first execution (D9) */
    const char *token;    /* stable idempotency token of the task, the same on every attempt (D9) */
    const char *name;     /* event.name (upper case), "" when none */
    const json_t *event;  /* the task's copy of its events row (spool.md §4.1) */
    const json_t *settings; /* task settings (spool.md §4.1), server_id already set */
    const json_t *server;   /* the servers row of server_id with settings decoded, or NULL */
};

/*
 * What an executor gets: the worker's own connection with no transaction
 * open (open short ones as needed; never hold one across network I/O), the
 * process configuration (identity keys) and the task.
 */
struct task_ctx {
    struct db *db;
    const struct config *cfg;
    const struct spool_task *task;
};

#endif
