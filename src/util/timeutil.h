/*
 * timeutil.h — "now", and conversions between stored time (Unix seconds,
 * UTC; DECISIONS D5) and the API's local `YYYY-MM-DD HH:MM:SS` strings in the
 * billing time zone (the process TZ).
 *
 * time_now() is the only source of the current time in billd. The test clock
 * (DECISIONS D5; POST /shm/v1/admin/test/clock, only with BILLD_TEST_CLOCK=1)
 * freezes it for the whole process: while frozen, every call returns exactly
 * the frozen second. The override is one atomic value, so threads switch
 * between the real and the frozen clock without locks.
 */
#ifndef BILLD_TIMEUTIL_H
#define BILLD_TIMEUTIL_H

#include "../common.h"

#include <time.h>

/* Current time in Unix seconds (the frozen second while the test clock is set). */
int64_t time_now(void);
/* Test clock: makes time_now() return t from now on, in every thread (t may be in the past). */
void time_freeze(int64_t t);
/* Test clock: returns time_now() to the real clock. */
void time_unfreeze(void);
/* True while the test clock is frozen. */
bool time_frozen(void);
/* Formats t as local "YYYY-MM-DD HH:MM:SS" into out (at least 20 bytes). */
void time_format_local(int64_t t, char *out, size_t outlen);
/* Formats t like Perl's scalar localtime: "Wed Jul  1 22:25:53 2026". */
void time_format_ctime(int64_t t, char *out, size_t outlen);
/*
 * Parses a local "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS"
 * (a 'T' separator is accepted). Returns 0 or ERR_INVALID.
 */
int time_parse_local(const char *s, int64_t *out);

#endif
