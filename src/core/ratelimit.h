/*
 * ratelimit.h — SHM's per-IP action counters (api.md §10.1), in memory.
 *
 * A counter is keyed by (bucket, client IP) and lives for the TTL given at
 * its first hit (a fixed window). An action is refused while its counter is
 * at RATELIMIT_MAX or more. Requests from private and loopback ranges and
 * from TRUSTED_IPS are never counted, as in SHM.
 *
 * Counters are per process: on PostgreSQL with several nodes each node
 * counts on its own (documented in docs/architecture.md).
 */
#ifndef BILLD_RATELIMIT_H
#define BILLD_RATELIMIT_H

#include "../common.h"

#define RATELIMIT_MAX 5
#define RATELIMIT_SLOTS 8192

/* True if ip is loopback/private or listed in trusted (comma list of IPs, may be NULL). */
bool ratelimit_exempt(const char *ip, const char *trusted);
/* Current count of (bucket, ip) at time now. */
int ratelimit_count(const char *bucket, const char *ip, int64_t now);
/* Adds one to (bucket, ip); a new window lasts ttl seconds. */
void ratelimit_hit(const char *bucket, const char *ip, int ttl, int64_t now);
/* Clears every counter. */
void ratelimit_reset(void);

#endif
