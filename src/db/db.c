/*
 * db.c — the engine-independent half of the database layer: opening by URL,
 * transactions, convenience queries, materialised results and the dialect
 * helpers. The engines live in db_sqlite.c and db_pg.c.
 */
#include "db_int.h"
#include "../util/log.h"
#include "../util/strutil.h"

#include <time.h>

int db_open(const char *url, struct db **out, struct err *e)
{
    struct db *db = xcalloc(1, sizeof(*db));
    int rc;
    db->url = xstrdup(url);
    if (str_starts(url, "sqlite:")) {
        const char *path = url + strlen("sqlite:");
        if (str_starts(path, "//"))
            path += 2; /* sqlite:///abs → /abs ; sqlite://rel → rel */
        db->engine = DB_SQLITE;
        rc = db_sqlite_open(path, db, e);
    } else if (str_starts(url, "postgresql://") || str_starts(url, "postgres://")) {
        db->engine = DB_PG;
        rc = db_pg_open(url, db, e);
    } else {
        rc = err_set(e, ERR_INVALID, "DATABASE_URL must start with sqlite:// or postgresql://");
    }
    if (rc) {
        free(db->url);
        free(db);
        return rc;
    }
    *out = db;
    return 0;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    if (db->in_tx)
        db_rollback(db);
    if (db->engine == DB_SQLITE)
        db_sqlite_close(db);
    else
        db_pg_close(db);
    free(db->url);
    free(db);
}

enum db_engine db_engine_of(const struct db *db)
{
    return db->engine;
}

int db_query(struct db *db, const char *sql, const struct db_value *params, int nparams,
             struct db_result **out, struct err *e)
{
    if (out)
        *out = NULL;
    if (db->engine == DB_SQLITE)
        return db_sqlite_query(db, sql, params, nparams, out, e);
    return db_pg_query(db, sql, params, nparams, out, e);
}

struct db_stmt_slot *db_cache_find(struct db *db, const char *sql, size_t len,
                                   struct db_stmt_slot **victim)
{
    *victim = &db->cache[0];
    db->use_clock++;
    for (int i = 0; i < DB_STMT_CACHE; i++) {
        struct db_stmt_slot *s = &db->cache[i];
        if (s->sql && s->len == len && memcmp(s->sql, sql, len) == 0) {
            s->last_use = db->use_clock;
            return s;
        }
        if (!s->sql || ((*victim)->sql && s->last_use < (*victim)->last_use))
            *victim = s;
    }
    return NULL;
}

int db_exec(struct db *db, const char *sql, const struct db_value *params, int nparams,
            int64_t *changed, struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(db, sql, params, nparams, &r, e);
    if (rc == 0 && changed)
        *changed = r->changed;
    db_result_free(r);
    return rc;
}

int db_query_int(struct db *db, const char *sql, const struct db_value *params, int nparams,
                 int64_t *out, struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(db, sql, params, nparams, &r, e);
    if (rc == 0) {
        if (r->rows < 1 || r->cols < 1 || db_result_is_null(r, 0, 0))
            rc = err_set(e, ERR_NOT_FOUND, "no row");
        else
            *out = db_result_int(r, 0, 0);
    }
    db_result_free(r);
    return rc;
}

int db_insert(struct db *db, const char *sql, const char *key, const struct db_value *params,
              int nparams, int64_t *id, struct err *e)
{
    if (db->engine == DB_SQLITE) {
        int rc = db_sqlite_query(db, sql, params, nparams, NULL, e);
        if (rc == 0)
            *id = db_sqlite_last_id(db);
        return rc;
    }
    char *full = xasprintf("%s RETURNING %s", sql, key);
    int rc = db_query_int(db, full, params, nparams, id, e);
    free(full);
    return rc;
}

int db_exec_script(struct db *db, const char *sql, struct err *e)
{
    if (db->engine == DB_SQLITE)
        return db_sqlite_script(db, sql, e);
    return db_pg_script(db, sql, e);
}

int db_begin(struct db *db, bool write, struct err *e)
{
    const char *sql = "BEGIN";
    if (db->engine == DB_SQLITE && write) {
        int rc = db_sqlite_writer_lock(db, e);
        if (rc)
            return rc;
        sql = "BEGIN IMMEDIATE";
    }
    int rc = db_exec(db, sql, NULL, 0, NULL, e);
    if (rc == 0)
        db->in_tx = true;
    else
        db_sqlite_writer_unlock(db);
    return rc;
}

int db_commit(struct db *db, struct err *e)
{
    int rc = db_exec(db, "COMMIT", NULL, 0, NULL, e);
    if (rc) {
        db_rollback(db);
        return rc;
    }
    db->in_tx = false;
    db_sqlite_writer_unlock(db);
    return 0;
}

void db_rollback(struct db *db)
{
    struct err e;
    if (!db->in_tx)
        return;
    db->in_tx = false;
    if (db_exec(db, "ROLLBACK", NULL, 0, NULL, &e))
        log_warn("rollback failed", "err=%d", e.code);
    db_sqlite_writer_unlock(db);
}

bool db_in_tx(const struct db *db)
{
    return db->in_tx;
}

int db_listen(struct db *db, const char *channel, struct err *e)
{
    if (db->engine != DB_PG)
        return err_set(e, ERR_INVALID, "LISTEN needs PostgreSQL");
    return db_pg_listen(db, channel, e);
}

int db_wait_notify(struct db *db, int timeout_ms, bool *got, struct err *e)
{
    *got = false;
    if (db->engine == DB_PG)
        return db_pg_wait_notify(db, timeout_ms, got, e);
    struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    return 0;
}

int db_relax_commit(struct db *db, struct err *e)
{
    const char *sql = db->engine == DB_PG ? "SET synchronous_commit = off"
                                          : "PRAGMA synchronous=NORMAL";
    return db_exec(db, sql, NULL, 0, NULL, e);
}

int db_ping(struct db *db, struct err *e)
{
    int64_t one;
    int rc = db_query_int(db, "SELECT 1", NULL, 0, &one, e);
    if (rc == 0 || db->engine != DB_PG || db->in_tx)
        return rc ? err_set(e, ERR_IO, "Can't connect to DB") : 0;
    if (db_pg_reconnect(db, e) == 0 && db_query_int(db, "SELECT 1", NULL, 0, &one, e) == 0)
        return 0;
    return err_set(e, ERR_IO, "Can't connect to DB");
}

/* ---- results ---- */

struct db_result *db_result_new(int cols)
{
    struct db_result *r = xcalloc(1, sizeof(*r));
    r->cols = cols;
    r->colnames = xcalloc((size_t)(cols ? cols : 1), sizeof(char *));
    buf_init(&r->data, 0);
    return r;
}

struct db_names *db_names_new(int cols, const char *const *names)
{
    size_t need = sizeof(struct db_names) + (size_t)cols * sizeof(char *);
    for (int i = 0; i < cols; i++)
        need += strlen(names[i]) + 1;
    struct db_names *n = xcalloc(1, need);
    n->refs = 1;
    n->cols = cols;
    char *p = (char *)(n->name + cols);
    for (int i = 0; i < cols; i++) {
        size_t len = strlen(names[i]) + 1;
        memcpy(p, names[i], len);
        n->name[i] = p;
        p += len;
    }
    return n;
}

void db_names_release(struct db_names *n)
{
    if (n && --n->refs == 0)
        free(n);
}

struct db_result *db_result_new_shared(struct db_names *n)
{
    struct db_result *r = xcalloc(1, sizeof(*r));
    n->refs++;
    r->shared = n;
    r->cols = n->cols;
    r->colnames = n->name;
    buf_init(&r->data, 0);
    return r;
}

void db_result_set_colname(struct db_result *r, int col, const char *name)
{
    free(r->colnames[col]);
    r->colnames[col] = xstrdup(name);
}

void db_result_add_row(struct db_result *r)
{
    size_t need = (size_t)(r->rows + 1) * (size_t)r->cols;
    if (need > r->cells_cap) {
        size_t cap = r->cells_cap ? r->cells_cap * 2 : 16 * (size_t)(r->cols ? r->cols : 1);
        while (cap < need)
            cap *= 2;
        r->cells = xrealloc(r->cells, cap * sizeof(*r->cells));
        r->cells_cap = cap;
    }
    r->rows++;
}

void db_result_put(struct db_result *r, int col, const void *p, size_t len, bool is_null)
{
    struct db_cell *c = &r->cells[(size_t)(r->rows - 1) * (size_t)r->cols + (size_t)col];
    if (is_null) {
        c->off = SIZE_MAX;
        c->len = 0;
        return;
    }
    c->off = r->data.len;
    c->len = len;
    buf_append(&r->data, p, len);
    buf_putc(&r->data, '\0');
}

int db_result_rows(const struct db_result *r)
{
    return r ? r->rows : 0;
}

int db_result_cols(const struct db_result *r)
{
    return r ? r->cols : 0;
}

int64_t db_result_changed(const struct db_result *r)
{
    return r ? r->changed : 0;
}

const char *db_result_colname(const struct db_result *r, int col)
{
    return col >= 0 && col < r->cols ? r->colnames[col] : NULL;
}

int db_result_colidx(const struct db_result *r, const char *name)
{
    for (int i = 0; r && i < r->cols; i++)
        if (r->colnames[i] && strcmp(r->colnames[i], name) == 0)
            return i;
    return -1;
}

static const struct db_cell *cell(const struct db_result *r, int row, int col)
{
    if (!r || row < 0 || row >= r->rows || col < 0 || col >= r->cols)
        return NULL;
    return &r->cells[(size_t)row * (size_t)r->cols + (size_t)col];
}

bool db_result_is_null(const struct db_result *r, int row, int col)
{
    const struct db_cell *c = cell(r, row, col);
    return !c || c->off == SIZE_MAX;
}

const char *db_result_text(const struct db_result *r, int row, int col)
{
    const struct db_cell *c = cell(r, row, col);
    return !c || c->off == SIZE_MAX ? NULL : r->data.data + c->off;
}

size_t db_result_len(const struct db_result *r, int row, int col)
{
    const struct db_cell *c = cell(r, row, col);
    return !c || c->off == SIZE_MAX ? 0 : c->len;
}

int64_t db_result_int(const struct db_result *r, int row, int col)
{
    const char *s = db_result_text(r, row, col);
    int64_t v = 0;
    if (s && parse_i64z(s, INT64_MIN, INT64_MAX, &v) != 0) {
        /* a REAL or decimal text: take the integer part */
        v = (int64_t)strtod(s, NULL);
    }
    return v;
}

const char *db_result_get(const struct db_result *r, int row, const char *name)
{
    return db_result_text(r, row, db_result_colidx(r, name));
}

int64_t db_result_get_int(const struct db_result *r, int row, const char *name)
{
    return db_result_int(r, row, db_result_colidx(r, name));
}

void db_result_free(struct db_result *r)
{
    if (!r)
        return;
    for (int i = 0; !r->shared && i < r->cols; i++)
        free(r->colnames[i]);
    if (!r->shared)
        free(r->colnames);
    db_names_release(r->shared);
    free(r->cells);
    buf_free(&r->data);
    free(r);
}

int db_sync_sequence(struct db *db, const char *table, const char *key, struct err *e)
{
    return db_sync_sequence_from(db, table, key, 0, NULL, e);
}

/* SQLite keeps a next value only for tables declared AUTOINCREMENT, in sqlite_sequence. */
static int sqlite_sequence_raise(struct db *db, const char *table, int64_t next, bool *kept,
                                 struct err *e)
{
    int64_t autoinc = 0;
    struct db_value p[] = { DB_TEXT(table), DB_INT(next - 1) };
    int rc = db_query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                              " AND name = $1 AND sql LIKE '%AUTOINCREMENT%'", p, 1, &autoinc, e);
    if (rc || !autoinc)
        return rc;
    int64_t changed = 0;
    rc = db_exec(db, "UPDATE sqlite_sequence SET seq = max(seq, $2) WHERE name = $1", p, 2,
                 &changed, e);
    if (rc == 0 && !changed)
        rc = db_exec(db, "INSERT INTO sqlite_sequence (name, seq) VALUES ($1, $2)", p, 2, NULL, e);
    if (rc == 0 && kept)
        *kept = true;
    return rc;
}

int db_sync_sequence_from(struct db *db, const char *table, const char *key, int64_t next,
                          bool *kept, struct err *e)
{
    if (kept)
        *kept = next <= 1;
    if (db->engine != DB_PG)
        return next > 1 ? sqlite_sequence_raise(db, table, next, kept, e) : 0;
    char *sql = xasprintf("SELECT setval(pg_get_serial_sequence('%s', '%s'),"
                          " GREATEST((SELECT max(%s) FROM %s), $1, 1))",
                          table, key, key, table);
    struct db_value p[] = { DB_INT(next > 1 ? next - 1 : 0) };
    int rc = db_exec(db, sql, p, 1, NULL, e);
    free(sql);
    if (rc == 0 && kept)
        *kept = true;
    return rc;
}

/* ---- dialect helpers ---- */

const char *db_sql_ilike(const struct db *db)
{
    return db->engine == DB_PG ? "ILIKE" : "LIKE";
}

const char *db_sql_for_update(const struct db *db)
{
    return db->engine == DB_PG ? " FOR UPDATE" : "";
}

int db_sql_json_text(const struct db *db, struct buf *out, const char *col, int param_no)
{
    if (db->engine == DB_PG)
        return buf_printf(out, "(%s #>> $%d::text[])", col, param_no);
    return buf_printf(out, "CAST(json_extract(%s, $%d) AS TEXT)", col, param_no);
}

int db_sql_json_present(const struct db *db, struct buf *out, const char *col, int param_no)
{
    if (db->engine == DB_PG)
        return buf_printf(out, "(%s #> $%d::text[]) IS NOT NULL", col, param_no);
    return buf_printf(out, "json_type(%s, $%d) IS NOT NULL", col, param_no);
}

char *db_json_path(const struct db *db, const char *dotted)
{
    struct buf b;
    buf_init(&b, 0);
    if (db->engine == DB_PG) {
        buf_putc(&b, '{');
        for (const char *p = dotted; *p; p++)
            buf_putc(&b, *p == '.' ? ',' : *p);
        buf_putc(&b, '}');
    } else {
        buf_puts(&b, "$.");
        buf_puts(&b, dotted);
    }
    char *path = buf_detach(&b, NULL);
    return path;
}
