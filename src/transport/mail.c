/*
 * mail.c — the mail transport (transports.md; not written yet: every task is STUCK).
 */
#include "transport.h"

static enum task_result send_task(const struct task_ctx *x, json_t **response)
{
    UNUSED(x);
    *response = json_pack("{s:s}", "error", "Transport mail is not implemented");
    return TASK_STUCK;
}

const struct transport transport_mail = { "mail", send_task };
