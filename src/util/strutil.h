/*
 * strutil.h — small string helpers: checked integer parsing (instead of
 * atoi/strtol), case folding, and constant-time comparison.
 */
#ifndef BILLD_STRUTIL_H
#define BILLD_STRUTIL_H

#include "../common.h"

/*
 * Parses a whole string of len bytes as a base-10 int64 within [min, max]
 * (optional leading '-' or '+', no spaces). Returns 0 or ERR_INVALID;
 * *out is written only on success.
 */
int parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);
/* parse_i64 over a NUL-terminated string. */
int parse_i64z(const char *s, int64_t min, int64_t max, int64_t *out);
/* Lower-cases ASCII letters of s in place and returns s. */
char *str_lower(char *s);
/* True if s starts with prefix. */
bool str_starts(const char *s, const char *prefix);
/* For an IPv4-mapped IPv6 address ("::ffff:10.0.0.1") the IPv4 part, else ip itself. */
const char *ip_unmap_v4(const char *ip);
/* True if s and t are equal; runs in time independent of where they differ. */
bool str_ct_equal(const char *s, const char *t);

#endif
