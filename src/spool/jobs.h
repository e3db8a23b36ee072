/*
 * jobs.h — method tasks (spool.md §2.3, §9): the internal functions a task
 * names with event.kind + event.method instead of a transport:
 * UserService.activate_services and the periodic Jobs (job_prolongate,
 * job_prolongate_event, job_cleanup, job_make_forecasts,
 * job_make_forecast_event, job_users).
 *
 * A method runs with the worker's connection and no transaction open; it
 * opens its own short write transactions.
 */
#ifndef BILLD_SPOOL_JOBS_H
#define BILLD_SPOOL_JOBS_H

#include "task.h"

/*
 * Runs the method of the task (x->task->event kind/method). *data receives
 * an owned object. An unknown method is STUCK "Method not exists: kind.method".
 */
enum task_result jobs_run(const struct task_ctx *x, json_t **data);

#endif
