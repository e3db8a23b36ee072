/*
 * migrate.h — versioned schema migrations.
 *
 * Migrations are the files migrations/NNNN_name.{sqlite,pg}.sql, embedded
 * into the binary at build time (tools/embed_migrations.py). Applied versions
 * are recorded in the table schema_version; each migration runs in its own
 * transaction. On PostgreSQL an advisory lock keeps several nodes starting
 * at once from migrating concurrently.
 */
#ifndef BILLD_MIGRATE_H
#define BILLD_MIGRATE_H

#include "db.h"

struct migration {
    int version;
    const char *name;
    const char *sqlite_sql;
    const char *pg_sql;
};

extern const struct migration migrations[];
extern const size_t migrations_count;

/*
 * Applies every embedded migration the database has not recorded yet, in
 * version order. *applied (may be NULL) receives how many ran. Returns 0 or
 * an error.
 */
int migrate_run(struct db *db, int *applied, struct err *e);
/* The newest applied version (0 for an empty database) into *out. */
int migrate_current(struct db *db, int64_t *out, struct err *e);
/* The newest version this binary knows. */
int migrate_latest(void);

#endif
