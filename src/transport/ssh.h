/*
 * ssh.h — what the ssh transport (ssh.c) offers besides transport_ssh: the
 * check of a "[user@]host" string that the admin routes run before queueing
 * a task (api_console.c: PUT /admin/transport/ssh/{test,init}), and one
 * synchronous run for the template client `ssh.exec` (transports.md §1.7).
 */
#ifndef BILLD_TRANSPORT_SSH_H
#define BILLD_TRANSPORT_SSH_H

#include "../common.h"
#include "../spool/task.h"

#include <jansson.h>

struct db;
struct config;

/* The most command output ssh_exec() keeps in ssh_exec_result.output (bytes). */
#define SSH_EXEC_OUTPUT_MAX ((size_t)1 << 20)

/* What one ssh_exec() gave. Free with ssh_exec_result_free(). */
struct ssh_exec_result {
    enum task_result result; /* as for a task: SUCCESS, FAIL (exit code, timeout, network), STUCK */
    int ret_code;            /* the remote exit code, -1 when it did not run to the end */
    int64_t pipeline_id;     /* the console written */
    json_t *response;        /* owned: the transport's response (transports.md §1.4) */
    char *logs;              /* owned: the console text (ssh.logs) */
    char *output;            /* owned: the raw command output, stderr merged unless
                                stderr_to_stdout is 0, at most SSH_EXEC_OUTPUT_MAX (ssh.output) */
};

/*
 * Runs settings.cmd (with settings.stdin) over SSH now, in the calling
 * thread, as the transport runs a task: the same settings (host, key_id,
 * port, timeout, proxy_host, shell, stderr_to_stdout, pipeline_id), a
 * console, the D9 variables (empty token, attempt 0, event EXEC). cmd and
 * stdin are used as given (a template calling ssh.exec has rendered them
 * already). No server row is involved, so no host key is pinned. Do not call
 * it with a transaction open on db: console lines are written as they come.
 * Returns 0 with *out filled (whatever the command did), or a database error
 * reading the console back (*out is filled anyway).
 */
int ssh_exec(struct db *db, const struct config *cfg, int64_t user_id, const json_t *settings,
             struct ssh_exec_result *out, struct err *e);
void ssh_exec_result_free(struct ssh_exec_result *r);

/*
 * Checks spec as the ssh transport reads settings.host ("[user@]host": a
 * POSIX user name, a domain name or an IPv4/IPv6 address). with_port also
 * allows ":port" ("[v6]:port"), as settings.proxy_host does. Returns 0 or
 * ERR_INVALID with "Invalid <what>: …".
 */
int ssh_check_host(const char *what, const char *spec, bool with_port, struct err *e);

#endif
