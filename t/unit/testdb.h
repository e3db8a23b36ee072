/*
 * testdb.h — helpers shared by the unit tests that run on a throwaway
 * database: the URL of a database created inside the cluster named by
 * BILLD_TEST_PG_URL, and removing a SQLite test file with its WAL files.
 */
#ifndef BILLD_TESTDB_H
#define BILLD_TESTDB_H

#include "common.h"

/*
 * Writes to out the libpq URL url with its database replaced by name (query
 * parameters kept). Returns 0, or -1 when url has no "://" or out is too small.
 */
int testdb_pg_url(const char *url, const char *name, char *out, size_t outlen);
/* Unlinks the SQLite database path and its -wal and -shm files. */
void testdb_lite_remove(const char *path);

#endif
