/*
 * spool_int.h — internals shared by the files of src/spool (not for other modules).
 */
#ifndef BILLD_SPOOL_INT_H
#define BILLD_SPOOL_INT_H

#include "spool.h"

/* The task this thread executes (0 = none): tasks it creates inherit event.task_id. */
void spool_set_current_task(int64_t id);
int64_t spool_current_task(void);

/* The wake-up generation: spool_wait() returns when it moved past gen, or after timeout_ms. */
uint64_t spool_wake_gen(void);
void spool_wait(uint64_t gen, int timeout_ms);

/* event.period as seconds (number or numeric string), 0 when absent or not positive. */
int64_t spool_event_period(const json_t *event);

/* A row of one query as a JSON object with the named JSON columns decoded; NULL when none. */
json_t *spool_row_json(struct db *db, const char *sql, int64_t id, const char *json_col);

#endif
