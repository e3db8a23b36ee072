/*
 * console.c — the console table (see console.h): creating, appending to,
 * finishing and reading pipeline logs. One short statement per call, so
 * autocommit callers publish every line at once.
 */
#include "console.h"

#include "../db/db.h"
#include "../util/buf.h"
#include "../util/timeutil.h"

#include <stdarg.h>

#define TRUNCATED_NOTE "\n[output truncated]\n"

int console_create(struct db *db, int64_t *id, struct err *e)
{
    struct db_value p[] = { DB_INT(time_now()) };
    return db_query_int(db, "INSERT INTO console (start) VALUES ($1) RETURNING id", p, 1, id, e);
}

int console_reopen(struct db *db, int64_t id, struct err *e)
{
    int64_t changed = 0;
    struct db_value p[] = { DB_INT(id), DB_INT(time_now()) };
    int rc = db_exec(db, "UPDATE console SET eof = 0, stop = NULL WHERE id = $1", p, 1, &changed,
                     e);
    if (rc || changed)
        return rc;
    rc = db_exec(db, "INSERT INTO console (id, start) VALUES ($1, $2)", p, 2, NULL, e);
    if (rc == 0)
        rc = db_sync_sequence(db, "console", "id", e);
    return rc;
}

/*
 * The type for CAST(… AS type) to bytes. The one dialect difference of this
 * module (db.h has no helper for it yet): SQLite's || yields TEXT, which a
 * STRICT BLOB column refuses, so the result is cast back to BLOB; bytea on
 * PostgreSQL.
 */
static const char *blob_type(const struct db *db)
{
    return db_engine_of(db) == DB_PG ? "bytea" : "BLOB";
}

/* Appends text unless the log would pass CONSOLE_MAX_LOG; *changed tells whether it did. */
static int append_capped(struct db *db, int64_t id, const char *text, size_t len, size_t cap,
                         int64_t *changed, struct err *e)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "UPDATE console SET log = CAST(log || $2 AS %s) WHERE id = $1 AND length(log) <= $3",
             blob_type(db));
    struct db_value p[] = { DB_INT(id), DB_BLOB(text, len), DB_INT((int64_t)(cap - len)) };
    return db_exec(db, sql, p, 3, changed, e);
}

int console_append(struct db *db, int64_t id, const char *text, size_t len, struct err *e)
{
    int64_t changed = 0;
    if (len == 0)
        return 0;
    size_t room = CONSOLE_MAX_LOG - strlen(TRUNCATED_NOTE);
    int rc = len <= room ? append_capped(db, id, text, len, room, &changed, e) : 0;
    if (rc || changed)
        return rc;
    /* Full: leave the note once (it fits exactly up to CONSOLE_MAX_LOG, then nothing does). */
    return append_capped(db, id, TRUNCATED_NOTE, strlen(TRUNCATED_NOTE), CONSOLE_MAX_LOG,
                         &changed, e);
}

int console_escape(struct buf *out, const char *text, size_t len)
{
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0; i++) {
        switch (text[i]) {
        case '&': rc = buf_puts(out, "&amp;"); break;
        case '<': rc = buf_puts(out, "&lt;"); break;
        case '>': rc = buf_puts(out, "&gt;"); break;
        case '"': rc = buf_puts(out, "&quot;"); break;
        case '\'': rc = buf_puts(out, "&#39;"); break;
        case '\0': break;
        default: rc = buf_putc(out, text[i]); break;
        }
    }
    return rc;
}

int console_line(struct db *db, int64_t id, const char *color, struct err *e, const char *fmt,
                 ...)
{
    struct buf msg, line;
    va_list ap;
    buf_init(&msg, 0);
    buf_init(&line, 0);
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    buf_printf(&line, "<font color=%s>", color);
    console_escape(&line, msg.data, msg.len);
    buf_puts(&line, "</font>\n");
    int rc = console_append(db, id, line.data, line.len, e);
    buf_free(&msg);
    buf_free(&line);
    return rc;
}

int console_finish(struct db *db, int64_t id, struct err *e)
{
    struct db_value p[] = { DB_INT(id), DB_INT(time_now()) };
    return db_exec(db, "UPDATE console SET eof = 1, stop = $2 WHERE id = $1", p, 2, NULL, e);
}

int console_read(struct db *db, int64_t id, int64_t offset, struct console_chunk *out,
                 struct err *e)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_INT(id), DB_INT(offset < 1 ? 1 : offset) };
    memset(out, 0, sizeof(*out));
    int rc = db_query(db, "SELECT eof, length(log), substr(log, $2) FROM console WHERE id = $1",
                      p, 2, &res, e);
    if (rc == 0 && db_result_rows(res) == 0)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, "Console %lld not found", (long long)id);
    if (rc == 0) {
        out->eof = db_result_int(res, 0, 0) != 0;
        out->total = (size_t)db_result_int(res, 0, 1);
        out->len = db_result_is_null(res, 0, 2) ? 0 : db_result_len(res, 0, 2);
        out->text = xmalloc(out->len + 1);
        if (out->len)
            memcpy(out->text, db_result_text(res, 0, 2), out->len);
        out->text[out->len] = '\0';
    }
    db_result_free(res);
    return rc;
}
