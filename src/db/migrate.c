/*
 * migrate.c — applies the embedded migrations (see migrate.h).
 */
#include "migrate.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#define MIGRATE_LOCK_KEY 727274242 /* pg advisory lock id for migrations */

static int ensure_version_table(struct db *db, struct err *e)
{
    return db_exec(db,
                   "CREATE TABLE IF NOT EXISTS schema_version ("
                   " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)",
                   NULL, 0, NULL, e);
}

int migrate_current(struct db *db, int64_t *out, struct err *e)
{
    int rc = db_query_int(db, "SELECT COALESCE(max(version), 0) FROM schema_version", NULL, 0,
                          out, e);
    return rc == ERR_NOT_FOUND ? (*out = 0, 0) : rc;
}

int migrate_latest(void)
{
    return migrations_count ? migrations[migrations_count - 1].version : 0;
}

static int apply_one(struct db *db, const struct migration *m, struct err *e)
{
    const char *sql = db_engine_of(db) == DB_PG ? m->pg_sql : m->sqlite_sql;
    struct db_value p[] = { DB_INT(m->version), DB_TEXT(m->name), DB_INT(time_now()) };
    int rc = db_begin(db, true, e);
    if (rc)
        return rc;
    rc = db_exec_script(db, sql, e);
    if (rc == 0)
        rc = db_exec(db, "INSERT INTO schema_version (version, name, applied) VALUES ($1, $2, $3)",
                     p, 3, NULL, e);
    if (rc) {
        char why[sizeof(e->msg)];
        snprintf(why, sizeof(why), "%s", e->msg);
        db_rollback(db);
        return err_set(e, rc, "migration %04d_%s failed: %s", m->version, m->name, why);
    }
    rc = db_commit(db, e);
    if (rc == 0)
        log_info("migration applied", "version=%d name=%s", m->version, m->name);
    return rc;
}

static int lock_pg(struct db *db, bool lock, struct err *e)
{
    struct db_value p[] = { DB_INT(MIGRATE_LOCK_KEY) };
    if (db_engine_of(db) != DB_PG)
        return 0;
    return db_exec(db, lock ? "SELECT pg_advisory_lock($1)" : "SELECT pg_advisory_unlock($1)",
                   p, 1, NULL, e);
}

/* True when version is recorded in schema_version. */
static int is_applied(struct db *db, int version, bool *yes, struct err *e)
{
    int64_t n = 0;
    struct db_value p[] = { DB_INT(version) };
    int rc = db_query_int(db, "SELECT count(*) FROM schema_version WHERE version = $1", p, 1, &n,
                          e);
    *yes = n > 0;
    return rc;
}

/*
 * Applies, in version order, every embedded migration not recorded yet — not
 * only those above the newest applied one, so a migration numbered into a gap
 * is never skipped.
 */
int migrate_run(struct db *db, int *applied, struct err *e)
{
    int64_t cur = 0;
    int n = 0, rc = lock_pg(db, true, e);
    if (rc)
        return rc;
    rc = ensure_version_table(db, e);
    if (rc == 0)
        rc = migrate_current(db, &cur, e);
    if (rc == 0 && cur > migrate_latest())
        rc = err_set(e, ERR_INVALID,
                     "the database is at schema version %lld, newer than this billd (%d)",
                     (long long)cur, migrate_latest());
    for (size_t i = 0; rc == 0 && i < migrations_count; i++) {
        bool done = false;
        rc = is_applied(db, migrations[i].version, &done, e);
        if (rc || done)
            continue;
        rc = apply_one(db, &migrations[i], e);
        if (rc == 0)
            n++;
    }
    struct err ignore;
    lock_pg(db, false, &ignore);
    if (applied)
        *applied = n;
    return rc;
}
