/*
 * spool.h — the spool table: creating tasks (spool.md §4). The execution
 * side (claiming, finishing, retries, workers) is declared further down as
 * it is written.
 */
#ifndef BILLD_SPOOL_H
#define BILLD_SPOOL_H

#include "task.h"

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
 * Inserts a task in the caller's transaction (or autocommit). *id (may be
 * NULL) receives its id. Workers are woken after the caller commits.
 * Returns 0 or a database error.
 */
int spool_add(struct db *db, const struct spool_new *t, int64_t *id, struct err *e);

#endif
