/*
 * peers.h — real network peers for the transport unit tests: the Perl test
 * servers t/lib/HttpPeer.pm and t/lib/SmtpSink.pm started as child processes
 * on 127.0.0.1, each recording what it received as JSON files in its own
 * temporary directory.
 */
#ifndef BILLD_TEST_PEERS_H
#define BILLD_TEST_PEERS_H

#include "common.h"

#include <jansson.h>
#include <sys/types.h>

struct peer {
    pid_t pid;
    int port;
    char dir[64];
};

/*
 * Starts the Perl module (e.g. "HttpPeer", "SmtpSink") with extra arguments
 * (NULL-terminated list, may be NULL) and waits until it listens. Returns 0
 * or -1 (the reason on stderr).
 */
int peer_start(struct peer *p, const char *module, const char *const *args);
/* Stops the peer (SIGTERM, wait) and removes its directory. */
void peer_stop(struct peer *p);
/* The records so far, oldest first, as an owned JSON array. */
json_t *peer_records(const struct peer *p);
/* Deletes the records so far. */
void peer_clear(const struct peer *p);

#endif
