/*
 * db_sqlite.c — the SQLite back end of db.h.
 *
 * SQL uses PostgreSQL's `$N` placeholders. SQLite accepts them as named
 * parameters but numbers them by first appearance, so values are bound by
 * looking up the index of the name "$N" (stack.md §3.1), once per prepared
 * statement. Prepared statements are kept in a small per-connection cache keyed
 * by SQL text (compared by length first), reset and unbound before each reuse.
 */
#include "db_int.h"
#include "../util/log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int map_error(struct db *db, int rc, const char *sql, struct err *e)
{
    char q[300];
    int ext = sqlite3_extended_errcode(db->lite);
    log_q(q, sizeof(q), sql);
    log_debug("sqlite error", "rc=%d ext=%d err=\"%s\" sql=%s", rc, ext,
              sqlite3_errmsg(db->lite), q);
    switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return err_set(e, ERR_CONFLICT, "duplicate value");
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_DATATYPE:
        return err_set(e, ERR_INVALID, "constraint failed: %s", sqlite3_errmsg(db->lite));
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return err_set(e, ERR_BUSY, "database is busy");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FULL:
        log_error("sqlite i/o error", "rc=%d err=\"%s\"", rc, sqlite3_errmsg(db->lite));
        return err_set(e, ERR_IO, "Can't connect to DB");
    default:
        log_error("sqlite error", "rc=%d err=\"%s\" sql=%s", rc, sqlite3_errmsg(db->lite), q);
        return err_set(e, ERR_INTERNAL, "database error");
    }
}

/*
 * Process-wide SQLite settings, before the first connection initialises the library:
 * no memory statistics (they take a global mutex on every allocation). A library that
 * is already initialised answers SQLITE_MISUSE and keeps its settings.
 */
static void configure_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#define BUSY_TIMEOUT_MS 5000
#define WRITERS_MAX 16

/* The writer mutexes of the SQLite files this process opened, by real path; never freed. */
static struct writer {
    char *path;
    pthread_mutex_t mu;
} g_writers[WRITERS_MAX];
static int g_nwriters;
static pthread_mutex_t g_writers_mu = PTHREAD_MUTEX_INITIALIZER;

/* The writer mutex of the file at path, or NULL when the table is full (SQLite's busy handler then queues). */
static pthread_mutex_t *writer_of(const char *path)
{
    char *real = realpath(path, NULL);
    const char *key = real ? real : path;
    pthread_mutex_t *mu = NULL;
    pthread_mutex_lock(&g_writers_mu);
    for (int i = 0; i < g_nwriters && !mu; i++)
        if (strcmp(g_writers[i].path, key) == 0)
            mu = &g_writers[i].mu;
    if (!mu && g_nwriters < WRITERS_MAX) {
        struct writer *w = &g_writers[g_nwriters++];
        w->path = xstrdup(key);
        pthread_mutex_init(&w->mu, NULL);
        mu = &w->mu;
    }
    pthread_mutex_unlock(&g_writers_mu);
    free(real);
    return mu;
}

int db_sqlite_writer_lock(struct db *db, struct err *e)
{
    if (!db->writer)
        return 0;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += BUSY_TIMEOUT_MS / 1000;
    if (pthread_mutex_timedlock(db->writer, &until) != 0)
        return err_set(e, ERR_BUSY, "database is busy");
    db->writing = true;
    return 0;
}

void db_sqlite_writer_unlock(struct db *db)
{
    if (!db->writing)
        return;
    db->writing = false;
    pthread_mutex_unlock(db->writer);
}

int db_sqlite_open(const char *path, struct db *db, struct err *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static const char *setup =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA busy_timeout=5000;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA synchronous=FULL;"
        "PRAGMA trusted_schema=OFF;"
        "PRAGMA temp_store=MEMORY;"; /* savepoint sub-journals in memory, not temp files */
    pthread_once(&once, configure_once);
    int rc = sqlite3_open_v2(path, &db->lite,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        err_set(e, ERR_IO, "cannot open SQLite database %s: %s", path,
                db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
        sqlite3_close(db->lite);
        db->lite = NULL;
        return ERR_IO;
    }
    sqlite3_extended_result_codes(db->lite, 1);
    char *msg = NULL;
    rc = sqlite3_exec(db->lite, setup, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        err_set(e, ERR_IO, "cannot set up SQLite database %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(db->lite);
        db->lite = NULL;
        return ERR_IO;
    }
    db->writer = writer_of(path);
    return 0;
}

static void slot_clear(struct db_stmt_slot *s)
{
    sqlite3_finalize(s->stmt);
    free(s->sql);
    free(s->param_idx);
    db_names_release(s->names);
    memset(s, 0, sizeof(*s));
}

void db_sqlite_close(struct db *db)
{
    for (int i = 0; i < DB_STMT_CACHE; i++)
        slot_clear(&db->cache[i]);
    sqlite3_close(db->lite);
    db->lite = NULL;
}

/*
 * Maps "$n" to SQLite's parameter index once per prepared statement (SQLite numbers named
 * parameters by first appearance), so binding does not look names up on every run.
 */
static int param_number(const char *name)
{
    long n = name && name[0] == '$' ? strtol(name + 1, NULL, 10) : 0;
    return n > 0 && n < 10000 ? (int)n : 0;
}

static void map_params(struct db_stmt_slot *s)
{
    int count = sqlite3_bind_parameter_count(s->stmt);
    int max = 0;
    for (int i = 1; i <= count; i++) {
        int n = param_number(sqlite3_bind_parameter_name(s->stmt, i));
        if (n > max)
            max = n;
    }
    s->param_idx = xcalloc((size_t)max + 1, sizeof(int));
    s->max_param = max;
    for (int i = 1; i <= count; i++) {
        int n = param_number(sqlite3_bind_parameter_name(s->stmt, i));
        if (n > 0 && s->param_idx[n] == 0)
            s->param_idx[n] = i;
    }
}

/* Returns a cached or newly prepared statement, reset (and unbound: see db_sqlite_query). */
static int prepare(struct db *db, const char *sql, struct db_stmt_slot **out, struct err *e)
{
    struct db_stmt_slot *victim;
    size_t len = strlen(sql);
    struct db_stmt_slot *s = db_cache_find(db, sql, len, &victim);
    if (s) {
        sqlite3_reset(s->stmt); /* db_sqlite_query leaves it reset and unbound anyway */
        *out = s;
        return 0;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(db->lite, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return map_error(db, rc, sql, e);
    slot_clear(victim);
    victim->sql = xstrdup(sql);
    victim->len = len;
    victim->stmt = st;
    victim->last_use = db->use_clock;
    map_params(victim);
    *out = victim;
    return 0;
}

static int bind_params(struct db *db, const struct db_stmt_slot *s, const struct db_value *params,
                       int nparams, const char *sql, struct err *e)
{
    for (int n = 1; n <= nparams && n <= s->max_param; n++) {
        int idx = s->param_idx[n];
        if (idx == 0)
            continue; /* parameter not used by this statement text */
        const struct db_value *v = &params[n - 1];
        int rc;
        switch (v->type) {
        case DBT_INT:
            rc = sqlite3_bind_int64(s->stmt, idx, v->i);
            break;
        case DBT_TEXT:
            rc = sqlite3_bind_text(s->stmt, idx, v->s, (int)v->len, SQLITE_STATIC);
            break;
        case DBT_BLOB:
            rc = sqlite3_bind_blob(s->stmt, idx, v->s, (int)v->len, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(s->stmt, idx);
            break;
        }
        if (rc != SQLITE_OK)
            return map_error(db, rc, sql, e);
    }
    return 0;
}

/* Decimal text of v into out (at least 21 bytes, NUL-terminated); returns its length. */
static size_t int_text(int64_t v, char *out)
{
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

/*
 * "%.17g" of v into out; a whole number below 10^15 (quantities, mostly 1) is written
 * by int_text, which gives the same digits without printf's floating-point path.
 */
static size_t real_text(double v, char *out, size_t size)
{
    if (v > -1e15 && v < 1e15 && v != 0 && v == (double)(int64_t)v)
        return int_text((int64_t)v, out);
    snprintf(out, size, "%.17g", v);
    return strlen(out);
}

static void put_column(struct db_result *r, sqlite3_stmt *st, int c)
{
    char num[32];
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL:
        db_result_put(r, c, NULL, 0, true);
        break;
    case SQLITE_INTEGER:
        db_result_put(r, c, num, int_text(sqlite3_column_int64(st, c), num), false);
        break;
    case SQLITE_FLOAT:
        db_result_put(r, c, num, real_text(sqlite3_column_double(st, c), num, sizeof(num)), false);
        break;
    case SQLITE_BLOB: {
        const void *p = sqlite3_column_blob(st, c);
        db_result_put(r, c, p, (size_t)sqlite3_column_bytes(st, c), false);
        break;
    }
    default: {
        const unsigned char *t = sqlite3_column_text(st, c);
        db_result_put(r, c, t, (size_t)sqlite3_column_bytes(st, c), false);
        break;
    }
    }
}

/* The column names of st, kept on its slot until SQLite re-prepares it (a schema change). */
static struct db_names *names_of(struct db_stmt_slot *slot)
{
    sqlite3_stmt *st = slot->stmt;
    int prepared = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_REPREPARE, 0);
    int cols = sqlite3_column_count(st);
    if (slot->names && slot->names_prepared == prepared && slot->names->cols == cols)
        return slot->names;
    const char *small[32], **names = small;
    if (cols > (int)ARRAY_SIZE(small))
        names = xcalloc((size_t)cols, sizeof(*names));
    for (int c = 0; c < cols; c++) {
        names[c] = sqlite3_column_name(st, c);
        if (!names[c])
            names[c] = "";
    }
    db_names_release(slot->names);
    slot->names = db_names_new(cols, names);
    slot->names_prepared = prepared;
    if (names != small)
        free(names);
    return slot->names;
}

/*
 * Text and blob parameters are bound SQLITE_STATIC (no copy): the caller's values live
 * for the call, and the statement is reset and unbound before it returns.
 */
int db_sqlite_query(struct db *db, const char *sql, const struct db_value *params, int nparams,
                    struct db_result **out, struct err *e)
{
    struct db_stmt_slot *slot = NULL;
    int rc = prepare(db, sql, &slot, e);
    if (rc)
        return rc;
    sqlite3_stmt *st = slot->stmt;
    rc = bind_params(db, slot, params, nparams, sql, e);
    if (rc) {
        sqlite3_clear_bindings(st);
        return rc;
    }
    /* the columns are read after the first step: a schema change re-prepares the statement */
    rc = sqlite3_step(st);
    struct db_result *r = db_result_new_shared(names_of(slot));
    int cols = r->cols;
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        db_result_add_row(r);
        for (int c = 0; c < cols; c++)
            put_column(r, st, c);
    }
    if (rc != SQLITE_DONE) {
        rc = map_error(db, rc, sql, e);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        db_result_free(r);
        return rc;
    }
    r->changed = sqlite3_changes64(db->lite);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (out)
        *out = r;
    else
        db_result_free(r);
    return 0;
}

int64_t db_sqlite_last_id(struct db *db)
{
    return sqlite3_last_insert_rowid(db->lite);
}

int db_sqlite_script(struct db *db, const char *sql, struct err *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->lite, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        log_error("sqlite script failed", "err=\"%s\"", msg ? msg : "?");
        err_set(e, ERR_INTERNAL, "%s", msg ? msg : "script failed");
        sqlite3_free(msg);
        return ERR_INTERNAL;
    }
    return 0;
}
