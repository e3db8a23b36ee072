/*
 * db_int.h — internals shared by db.c and the two engine back ends.
 * Nothing outside src/db includes this file.
 */
#ifndef BILLD_DB_INT_H
#define BILLD_DB_INT_H

#include "db.h"
#include "../util/buf.h"

#include <pthread.h>

struct sqlite3;
struct sqlite3_stmt;
struct pg_conn;

struct db_cell {
    size_t off; /* into db_result.data; SIZE_MAX = NULL */
    size_t len;
};

/*
 * Column names shared by a cached SQLite statement and the results it made, so a result
 * does not copy them; freed with the last reference.
 */
struct db_names {
    int refs, cols;
    char *name[]; /* cols pointers, then the NUL-terminated texts */
};

struct db_result {
    int rows, cols;
    int64_t changed;
    char **colnames;        /* owned, or shared->name */
    struct db_names *shared; /* made by db_result_new_shared: one reference */
    struct db_cell *cells;  /* rows * cols, grown while filling */
    size_t cells_cap;
    struct buf data;        /* cell bytes, each NUL-terminated */
};

#define DB_STMT_CACHE 64

/*
 * One cached statement of a connection. SQLite: the prepared stmt. PostgreSQL:
 * a text seen before; pg_prepared once it is prepared as "billd_s<slot>".
 */
struct db_stmt_slot {
    char *sql;                 /* owned key */
    size_t len;                /* strlen(sql), compared before the text */
    struct sqlite3_stmt *stmt;
    bool pg_prepared;
    uint64_t last_use;
    int *param_idx;            /* owned: param_idx[n] = SQLite index of "$n" (0 = unused) */
    int max_param;             /* largest n with an entry in param_idx */
    struct db_names *names;    /* one reference, or NULL until the first run */
    int names_prepared;        /* SQLITE_STMTSTATUS_REPREPARE when names were read */
};

struct db {
    enum db_engine engine;
    bool in_tx;
    char *url;               /* owned copy, for reconnects */
    struct sqlite3 *lite;
    struct pg_conn *pg;      /* PGconn */
    struct db_stmt_slot cache[DB_STMT_CACHE];
    uint64_t use_clock;
    pthread_mutex_t *writer; /* SQLite: this file's in-process writer queue (not owned), or NULL */
    bool writing;            /* SQLite: holds writer (inside db_begin(write) … commit/rollback) */
};

/*
 * The slot of db's statement cache holding sql (len = strlen(sql)), marked as
 * just used; NULL when none does, with *victim set to a free or the least
 * recently used slot for the caller to fill.
 */
struct db_stmt_slot *db_cache_find(struct db *db, const char *sql, size_t len,
                                   struct db_stmt_slot **victim);

/* Result building (db.c). */
struct db_result *db_result_new(int cols);
/* Not for a result made by db_result_new_shared. */
void db_result_set_colname(struct db_result *r, int col, const char *name);
/* cols names copied into one allocation with one reference; release with db_names_release. */
struct db_names *db_names_new(int cols, const char *const *names);
void db_names_release(struct db_names *n);
/* A result with the column names n (it takes a reference of its own). */
struct db_result *db_result_new_shared(struct db_names *n);
/* Starts a new row; then call db_result_put once per column in order. */
void db_result_add_row(struct db_result *r);
void db_result_put(struct db_result *r, int col, const void *p, size_t len, bool is_null);

/* Engine entry points. */
int db_sqlite_open(const char *path, struct db *db, struct err *e);
void db_sqlite_close(struct db *db);
int db_sqlite_query(struct db *db, const char *sql, const struct db_value *params, int nparams,
                    struct db_result **out, struct err *e);
int db_sqlite_script(struct db *db, const char *sql, struct err *e);
int64_t db_sqlite_last_id(struct db *db);
/*
 * The in-process writer queue of a SQLite file: write transactions of one
 * process take turns on a mutex (waiting at most the busy timeout) before
 * BEGIN IMMEDIATE, instead of polling SQLite's lock through the busy handler.
 * Returns 0 or ERR_BUSY. Unlock is a no-op when db does not hold it.
 */
int db_sqlite_writer_lock(struct db *db, struct err *e);
void db_sqlite_writer_unlock(struct db *db);

int db_pg_open(const char *url, struct db *db, struct err *e);
void db_pg_close(struct db *db);
int db_pg_query(struct db *db, const char *sql, const struct db_value *params, int nparams,
                struct db_result **out, struct err *e);
int db_pg_script(struct db *db, const char *sql, struct err *e);
int db_pg_reconnect(struct db *db, struct err *e);
int db_pg_listen(struct db *db, const char *channel, struct err *e);
int db_pg_wait_notify(struct db *db, int timeout_ms, bool *got, struct err *e);

#endif
