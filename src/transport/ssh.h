/*
 * ssh.h — what the ssh transport (ssh.c) offers besides transport_ssh: the
 * check of a "[user@]host" string that the admin routes run before queueing
 * a task (api_console.c: PUT /admin/transport/ssh/{test,init}).
 */
#ifndef BILLD_TRANSPORT_SSH_H
#define BILLD_TRANSPORT_SSH_H

#include "../common.h"

/*
 * Checks spec as the ssh transport reads settings.host ("[user@]host": a
 * POSIX user name, a domain name or an IPv4/IPv6 address). with_port also
 * allows ":port" ("[v6]:port"), as settings.proxy_host does. Returns 0 or
 * ERR_INVALID with "Invalid <what>: …".
 */
int ssh_check_host(const char *what, const char *spec, bool with_port, struct err *e);

#endif
