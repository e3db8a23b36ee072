/*
 * db.h — one small API over SQLite and PostgreSQL (libpq).
 *
 * A `struct db` is one connection, owned by one thread. Every statement is
 * parameterised: SQL text is written once with PostgreSQL-style `$1, $2 …`
 * placeholders (SQLite binds them by name, see db_sqlite.c) and values are
 * passed as `struct db_value`. Results are materialised into a `struct
 * db_result` whose cells are text (integers as decimal text, blobs as raw
 * bytes with a length), so callers never see engine types.
 *
 * The few places where the dialects differ (LIKE vs ILIKE, JSON paths, row
 * locks, DDL) are answered by the db_sql_*() helpers below and by the
 * per-engine migration files; nothing outside src/db writes engine-specific
 * SQL.
 *
 * Errors: functions return 0 or a negative err_code and fill struct err:
 * ERR_CONFLICT for unique violations, ERR_INVALID for other constraint
 * failures, ERR_BUSY for lock timeouts, ERR_IO when the connection is down,
 * ERR_INTERNAL otherwise. The engine's message is logged, not put in err->msg.
 */
#ifndef BILLD_DB_H
#define BILLD_DB_H

#include "../common.h"

enum db_engine { DB_SQLITE = 1, DB_PG = 2 };

enum db_type { DBT_NULL = 0, DBT_INT, DBT_TEXT, DBT_BLOB };

/* A parameter value. Text/blob pointers are borrowed for the call. */
struct db_value {
    enum db_type type;
    int64_t i;
    const char *s;
    size_t len;
};

#define DB_NULL ((struct db_value){ .type = DBT_NULL })
#define DB_INT(v) ((struct db_value){ .type = DBT_INT, .i = (int64_t)(v) })
/* A NULL char pointer becomes SQL NULL. */
#define DB_TEXT(v) db_text(v)
#define DB_BLOB(p, n) ((struct db_value){ .type = DBT_BLOB, .s = (const char *)(p), .len = (n) })

static inline struct db_value db_text(const char *s)
{
    struct db_value v = { .type = s ? DBT_TEXT : DBT_NULL, .s = s, .len = s ? strlen(s) : 0 };
    return v;
}

struct db;
struct db_result;

/*
 * Opens a connection from a URL: "sqlite:///abs/path.db", "sqlite://rel/path.db",
 * "sqlite::memory:" or "postgresql://…" / "postgres://…" (passed to libpq).
 * SQLite connections get WAL, busy_timeout 5000, foreign_keys=ON,
 * synchronous=FULL, trusted_schema=OFF. Returns 0 and an owned *out (free with
 * db_close), or an error.
 */
int db_open(const char *url, struct db **out, struct err *e);
void db_close(struct db *db);
enum db_engine db_engine_of(const struct db *db);

/*
 * Runs one statement with params. If out is not NULL, *out receives an owned
 * result (free with db_result_free) even when the statement returns no rows.
 */
int db_query(struct db *db, const char *sql, const struct db_value *params, int nparams,
             struct db_result **out, struct err *e);
/* Runs a statement and returns the number of rows it changed in *changed (may be NULL). */
int db_exec(struct db *db, const char *sql, const struct db_value *params, int nparams,
            int64_t *changed, struct err *e);
/*
 * Runs the first column of the first row as an integer into *out.
 * Returns ERR_NOT_FOUND when there is no row or the value is NULL.
 */
int db_query_int(struct db *db, const char *sql, const struct db_value *params, int nparams,
                 int64_t *out, struct err *e);
/*
 * Runs a one-row INSERT (sql without RETURNING) into a table whose integer primary
 * key is the column key (an identifier from code) and writes the new key to *id.
 * SQLite reads it back with sqlite3_last_insert_rowid (the key must be the table's
 * INTEGER PRIMARY KEY: a RETURNING clause costs SQLite about as much again as the
 * insert itself); PostgreSQL runs sql with " RETURNING key" appended.
 */
int db_insert(struct db *db, const char *sql, const char *key, const struct db_value *params,
              int nparams, int64_t *id, struct err *e);
/* Runs a script of several ';'-separated statements without parameters (migrations). */
int db_exec_script(struct db *db, const char *sql, struct err *e);

/*
 * Transactions. db_begin(write=true) takes the write lock up front on SQLite:
 * the writers of one process queue on a mutex per file, then BEGIN IMMEDIATE
 * (where busy_timeout applies to other processes); both wait at most 5 s, then
 * ERR_BUSY. On PostgreSQL both are BEGIN.
 */
int db_begin(struct db *db, bool write, struct err *e);
int db_commit(struct db *db, struct err *e);
/* Rolls back if a transaction is open; never fails loudly (errors are logged). */
void db_rollback(struct db *db);
bool db_in_tx(const struct db *db);
/*
 * Checks that the connection works (SELECT 1), reconnecting a broken
 * PostgreSQL connection once. Returns 0 or ERR_IO.
 */
int db_ping(struct db *db, struct err *e);

/* Result access. Rows and columns are 0-based. */
int db_result_rows(const struct db_result *r);
int db_result_cols(const struct db_result *r);
int64_t db_result_changed(const struct db_result *r);
const char *db_result_colname(const struct db_result *r, int col);
/* Index of the column named name, or -1. */
int db_result_colidx(const struct db_result *r, const char *name);
bool db_result_is_null(const struct db_result *r, int row, int col);
/* NUL-terminated text of a cell (NULL for SQL NULL); valid until db_result_free. */
const char *db_result_text(const struct db_result *r, int row, int col);
size_t db_result_len(const struct db_result *r, int row, int col);
/* Integer value of a cell; 0 for NULL or non-numeric text. */
int64_t db_result_int(const struct db_result *r, int row, int col);
/* Same, by column name (-1 column → NULL / 0). */
const char *db_result_get(const struct db_result *r, int row, const char *name);
int64_t db_result_get_int(const struct db_result *r, int row, const char *name);
void db_result_free(struct db_result *r);

/*
 * After an insert that chose its own integer key, moves PostgreSQL's identity
 * sequence of table.key past the largest key (SQLite needs nothing: it takes
 * max + 1 by itself). Identifiers come from models, never from input.
 */
int db_sync_sequence(struct db *db, const char *table, const char *key, struct err *e);
/*
 * The same, and the next generated key is at least next (MySQL's
 * AUTO_INCREMENT=N; 0 = no floor). SQLite can keep such a floor only for a
 * table declared AUTOINCREMENT (its sqlite_sequence row); any other table
 * takes max + 1. *kept (may be NULL) says whether the floor holds.
 */
int db_sync_sequence_from(struct db *db, const char *table, const char *key, int64_t next,
                          bool *kept, struct err *e);

/* Dialect helpers. */
/* "LIKE" on SQLite (ASCII case-insensitive), "ILIKE" on PostgreSQL. */
const char *db_sql_ilike(const struct db *db);
/* " FOR UPDATE" on PostgreSQL, "" on SQLite (writers are serialised there). */
const char *db_sql_for_update(const struct db *db);
/*
 * Appends to out an SQL expression giving the text value at a JSON path of
 * column col, where the path parameter is placeholder $param_no. Fill that
 * parameter with db_json_path(): SQLite `CAST(json_extract(col, $n) AS TEXT)`,
 * PostgreSQL `(col #>> $n::text[])`.
 */
struct buf;
int db_sql_json_text(const struct db *db, struct buf *out, const char *col, int param_no);
/* Same, for "is the path present": SQLite json_type(col, $n) IS NOT NULL, PG col #> $n::text[] IS NOT NULL. */
int db_sql_json_present(const struct db *db, struct buf *out, const char *col, int param_no);
/*
 * Converts a dotted path "a.b" (identifiers only) to the engine's path
 * parameter: "$.a.b" (SQLite) or "{a,b}" (PostgreSQL). Returns an owned string.
 */
char *db_json_path(const struct db *db, const char *dotted);

/*
 * PostgreSQL notifications (the spool's cross-node wake-up): db_listen runs
 * LISTEN channel (an identifier from code, never input); db_wait_notify
 * waits up to timeout_ms for a notification on that connection and sets
 * *got. On SQLite db_listen returns ERR_INVALID and db_wait_notify sleeps.
 */
int db_listen(struct db *db, const char *channel, struct err *e);
int db_wait_notify(struct db *db, int timeout_ms, bool *got, struct err *e);

/*
 * Relaxes commit durability on this connection (the spool's opt-in SPOOL_SYNC=normal):
 * SQLite PRAGMA synchronous=NORMAL (WAL: commits survive a process crash, the last ones
 * may roll back after a power loss), PostgreSQL SET synchronous_commit = off (the same
 * after a server crash). Consistency is unchanged. Returns 0 or a database error.
 */
int db_relax_commit(struct db *db, struct err *e);

#endif
