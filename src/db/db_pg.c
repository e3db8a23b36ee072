/*
 * db_pg.c — the PostgreSQL (libpq) back end of db.h.
 *
 * Parameters are sent in text format, except blobs, which are sent in binary
 * format; bytea result columns are unescaped so callers get raw bytes as with
 * SQLite. SQLSTATEs are mapped to err codes.
 *
 * A statement text runs through PQexecParams the first time it is seen on a
 * connection; the second time it is prepared (PQprepare, one name per cache
 * slot) and from then on executed with PQexecPrepared, so the statements a
 * connection repeats are parsed and planned once, while one-off texts (lists
 * with their filters) cost nothing extra. The cache is the connection's
 * DB_STMT_CACHE slots, least recently used out; an evicted prepared statement
 * is deallocated.
 */
#include "db_int.h"
#include "../util/log.h"

#include <libpq-fe.h>
#include <poll.h>

#define BYTEAOID 17
#define PGCONN(db) ((PGconn *)(db)->pg)

static void silence_notices(void *arg, const char *msg)
{
    UNUSED(arg);
    log_debug("postgres notice", "text=\"%.*s\"", (int)strcspn(msg, "\n\""), msg);
}

static int connect_now(struct db *db, struct err *e)
{
    PGconn *c = PQconnectdb(db->url);
    if (PQstatus(c) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c);
        log_error("postgres connect failed", "err=\"%.*s\"", (int)strcspn(m, "\n\""), m);
        PQfinish(c);
        return err_set(e, ERR_IO, "Can't connect to DB");
    }
    PQsetNoticeProcessor(c, silence_notices, NULL);
    PGresult *res = PQexec(c, "SET client_min_messages = warning; SET TIME ZONE 'UTC'");
    PQclear(res);
    db->pg = (struct pg_conn *)c;
    return 0;
}

int db_pg_open(const char *url, struct db *db, struct err *e)
{
    UNUSED(url);
    return connect_now(db, e);
}

/* Forgets every cached statement (the session that held them is gone or reset). */
static void cache_forget(struct db *db)
{
    for (int i = 0; i < DB_STMT_CACHE; i++) {
        free(db->cache[i].sql);
        memset(&db->cache[i], 0, sizeof(db->cache[i]));
    }
}

void db_pg_close(struct db *db)
{
    PQfinish(PGCONN(db));
    db->pg = NULL;
    cache_forget(db);
}

int db_pg_reconnect(struct db *db, struct err *e)
{
    db_pg_close(db);
    db->in_tx = false;
    return connect_now(db, e);
}

static int map_error(struct db *db, PGresult *res, const char *sql, struct err *e)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(PGCONN(db));
    char q[300];
    log_q(q, sizeof(q), sql);
    if (PQstatus(PGCONN(db)) != CONNECTION_OK) {
        log_error("postgres connection lost", "err=\"%.*s\"", (int)strcspn(msg, "\n\""), msg);
        return err_set(e, ERR_IO, "Can't connect to DB");
    }
    log_debug("postgres error", "state=%s err=\"%.*s\" sql=%s", state ? state : "-",
              (int)strcspn(msg, "\n\""), msg, q);
    if (!state)
        return err_set(e, ERR_INTERNAL, "database error");
    if (strcmp(state, "23505") == 0)
        return err_set(e, ERR_CONFLICT, "duplicate value");
    if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
        return err_set(e, ERR_INVALID, "constraint failed: %.*s", (int)strcspn(msg, "\n"), msg);
    if (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0 ||
        strcmp(state, "40P01") == 0 || strcmp(state, "57014") == 0)
        return err_set(e, ERR_BUSY, "database is busy");
    if ((strncmp(state, "08", 2) == 0 && strcmp(state, "08P01") != 0) ||
        strncmp(state, "57P", 3) == 0)
        return err_set(e, ERR_IO, "Can't connect to DB");
    log_error("postgres error", "state=%s err=\"%.*s\" sql=%s", state,
              (int)strcspn(msg, "\n\""), msg, q);
    return err_set(e, ERR_INTERNAL, "database error");
}

static void put_cell(struct db_result *r, PGresult *res, int row, int c)
{
    if (PQgetisnull(res, row, c)) {
        db_result_put(r, c, NULL, 0, true);
        return;
    }
    const char *v = PQgetvalue(res, row, c);
    size_t len = (size_t)PQgetlength(res, row, c);
    if (PQftype(res, c) == BYTEAOID) {
        size_t n = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)v, &n);
        db_result_put(r, c, raw, n, false);
        PQfreemem(raw);
        return;
    }
    if (PQftype(res, c) == 16 /* bool */) {
        db_result_put(r, c, v[0] == 't' ? "1" : "0", 1, false);
        return;
    }
    db_result_put(r, c, v, len, false);
}

/* Parameters in libpq's text/binary form; owned by the struct, freed with params_free. */
struct pg_params {
    const char **values;
    int *lengths;
    int *formats;
    char (*nums)[24];
};

static void params_build(struct pg_params *pp, const struct db_value *params, int nparams)
{
    size_t n = (size_t)(nparams ? nparams : 1);
    pp->values = xcalloc(n, sizeof(char *));
    pp->lengths = xcalloc(n, sizeof(int));
    pp->formats = xcalloc(n, sizeof(int));
    pp->nums = xcalloc(n, 24);
    for (int i = 0; i < nparams; i++) {
        const struct db_value *v = &params[i];
        switch (v->type) {
        case DBT_INT:
            snprintf(pp->nums[i], 24, "%lld", (long long)v->i);
            pp->values[i] = pp->nums[i];
            break;
        case DBT_TEXT:
            pp->values[i] = v->s;
            break;
        case DBT_BLOB:
            pp->values[i] = v->s ? v->s : "";
            pp->lengths[i] = (int)v->len;
            pp->formats[i] = 1;
            break;
        default:
            pp->values[i] = NULL;
            break;
        }
    }
}

static void params_free(struct pg_params *pp)
{
    free(pp->values);
    free(pp->lengths);
    free(pp->formats);
    free(pp->nums);
}

/* Turns a libpq result into *out (when out is not NULL) or an error; clears res. */
static int take_result(struct db *db, PGresult *res, const char *sql, struct db_result **out,
                       struct err *e)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = map_error(db, res, sql, e);
        PQclear(res);
        return rc;
    }
    if (out) {
        int cols = PQnfields(res), rows = PQntuples(res);
        struct db_result *r = db_result_new(cols);
        for (int c = 0; c < cols; c++)
            db_result_set_colname(r, c, PQfname(res, c));
        for (int row = 0; row < rows; row++) {
            db_result_add_row(r);
            for (int c = 0; c < cols; c++)
                put_cell(r, res, row, c);
        }
        const char *n = PQcmdTuples(res);
        r->changed = n && *n ? strtoll(n, NULL, 10) : 0;
        *out = r;
    }
    PQclear(res);
    return 0;
}

static void slot_name(const struct db *db, const struct db_stmt_slot *s, char name[24])
{
    snprintf(name, 24, "billd_s%d", (int)(s - db->cache));
}

/*
 * The cache slot of sql: *hit is the slot holding it, or NULL when it is new,
 * in which case it has been recorded in a free or least recently used slot
 * (deallocating what that slot had prepared).
 */
static struct db_stmt_slot *cache_lookup(struct db *db, const char *sql, bool *hit)
{
    struct db_stmt_slot *victim;
    size_t len = strlen(sql);
    struct db_stmt_slot *s = db_cache_find(db, sql, len, &victim);
    if (s) {
        *hit = true;
        return s;
    }
    if (victim->pg_prepared) {
        char name[24], cmd[48];
        slot_name(db, victim, name);
        snprintf(cmd, sizeof(cmd), "DEALLOCATE %s", name);
        PQclear(PQexec(PGCONN(db), cmd));
    }
    free(victim->sql);
    victim->sql = xstrdup(sql);
    victim->len = len;
    victim->pg_prepared = false;
    victim->last_use = db->use_clock;
    *hit = false;
    return victim;
}

/* Runs sql: as a one-off the first time, prepared once it repeats (see the file comment). */
static PGresult *exec_cached(struct db *db, const char *sql, int nparams,
                             const struct pg_params *pp)
{
    bool hit;
    struct db_stmt_slot *s = cache_lookup(db, sql, &hit);
    if (!hit)
        return PQexecParams(PGCONN(db), sql, nparams, NULL, pp->values, pp->lengths,
                            pp->formats, 0);
    char name[24];
    slot_name(db, s, name);
    if (!s->pg_prepared) {
        PGresult *res = PQprepare(PGCONN(db), name, sql, nparams, NULL);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
            return res; /* the caller reports the error; the slot stays unprepared */
        PQclear(res);
        s->pg_prepared = true;
    }
    return PQexecPrepared(PGCONN(db), name, nparams, pp->values, pp->lengths, pp->formats, 0);
}

int db_pg_query(struct db *db, const char *sql, const struct db_value *params, int nparams,
                struct db_result **out, struct err *e)
{
    struct pg_params pp;
    params_build(&pp, params, nparams);
    PGresult *res = exec_cached(db, sql, nparams, &pp);
    params_free(&pp);
    return take_result(db, res, sql, out, e);
}

int db_pg_script(struct db *db, const char *sql, struct err *e)
{
    /* a script may change the schema under the prepared statements: start afresh */
    bool had = false;
    for (int i = 0; i < DB_STMT_CACHE; i++)
        had |= db->cache[i].pg_prepared;
    if (had)
        PQclear(PQexec(PGCONN(db), "DEALLOCATE ALL"));
    cache_forget(db);
    PGresult *res = PQexec(PGCONN(db), sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(PGCONN(db));
        if (!m)
            m = "?";
        log_error("postgres script failed", "err=\"%.*s\"", (int)strcspn(m, "\n\""), m);
        err_set(e, ERR_INTERNAL, "%.*s", (int)strcspn(m, "\n"), m);
        PQclear(res);
        return ERR_INTERNAL;
    }
    PQclear(res);
    return 0;
}

/* ---- notifications (db_listen / db_wait_notify, the spool's wake-up) ---- */

int db_pg_listen(struct db *db, const char *channel, struct err *e)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "LISTEN %s", channel);
    return db_pg_script(db, sql, e);
}

/* Drains pending notifications; true when there was at least one. */
static bool drain_notifies(PGconn *c)
{
    bool got = false;
    PGnotify *n;
    while ((n = PQnotifies(c)) != NULL) {
        got = true;
        PQfreemem(n);
    }
    return got;
}

int db_pg_wait_notify(struct db *db, int timeout_ms, bool *got, struct err *e)
{
    PGconn *c = PGCONN(db);
    *got = false;
    if (PQconsumeInput(c) == 0)
        return err_set(e, ERR_IO, "Can't connect to DB");
    if ((*got = drain_notifies(c)))
        return 0;
    struct pollfd pfd = { .fd = PQsocket(c), .events = POLLIN };
    if (pfd.fd < 0)
        return err_set(e, ERR_IO, "Can't connect to DB");
    int n = poll(&pfd, 1, timeout_ms);
    if (n > 0) {
        if (PQconsumeInput(c) == 0)
            return err_set(e, ERR_IO, "Can't connect to DB");
        *got = drain_notifies(c);
    }
    return 0;
}
