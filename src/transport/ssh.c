/*
 * ssh.c — the ssh transport (transports.md; not written yet: every task is STUCK).
 */
#include "transport.h"

static enum task_result send_task(const struct task_ctx *x, json_t **response)
{
    UNUSED(x);
    *response = json_pack("{s:s}", "error", "Transport ssh is not implemented");
    return TASK_STUCK;
}

const struct transport transport_ssh = { "ssh", send_task };
