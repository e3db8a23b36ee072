/*
 * transport.h — the transports that execute spool tasks (transports.md):
 * ssh (ssh.c, libssh), http (http_client.c, libcurl), mail (mail.c, libcurl
 * SMTP) and local (local.c, a template run). The spool resolves the name
 * (spool.md §5.4) and calls transport_find(name)->send().
 *
 * A transport renders its command/body/message through the SHM object model
 * (src/objects/render.h) as the task's user, with `us`, `task`, `server` and
 * `event_name` bound, and returns (result, response) per transports.md §0.
 */
#ifndef BILLD_TRANSPORT_H
#define BILLD_TRANSPORT_H

#include "../spool/task.h"

struct transport {
    const char *name; /* "ssh", "http", "mail", "local" */
    /*
     * Executes the task. *response receives an owned JSON object (never
     * NULL): the transport's data, with "error" on FAIL/STUCK.
     */
    enum task_result (*send)(const struct task_ctx *x, json_t **response);
};

/* The transport named name (case-sensitive, as stored), or NULL. */
const struct transport *transport_find(const char *name);

extern const struct transport transport_ssh;
extern const struct transport transport_http;
extern const struct transport transport_mail;
extern const struct transport transport_local;

#endif
