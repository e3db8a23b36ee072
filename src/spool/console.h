/*
 * console.h — pipeline consoles (table console; spool.md §8): the live log
 * of one transport execution, read by the admin console through
 * /shm/admin/console.cgi and its push stream (src/api/api_console.c).
 *
 * Invariants: a row's log only grows (appends go to the end, bytes are
 * never rewritten) until eof = 1; stop is set together with eof. Every
 * function here is one short statement in the caller's transaction or, as
 * the transports call them, in autocommit mode — so a reader on another
 * connection sees each line as soon as it is appended. Appends past
 * CONSOLE_MAX_LOG bytes are dropped, leaving one "[output truncated]" note.
 *
 * Colours and layout follow SHM's admin console: lines are wrapped in
 * <font color=…> tags, command output is HTML-escaped (console_escape()).
 */
#ifndef BILLD_CONSOLE_H
#define BILLD_CONSOLE_H

#include "../common.h"

struct db;
struct buf;

/* The largest log a console keeps (bytes). */
#define CONSOLE_MAX_LOG ((size_t)4 << 20)

/* Creates an empty console (start = now, eof = 0); *id receives its id. */
int console_create(struct db *db, int64_t *id, struct err *e);

/*
 * Makes console id usable for a new execution: creates it when it does not
 * exist (a pipeline_id chosen in advance), otherwise clears eof and stop so
 * a retry appends to the same log. Returns 0 or a database error.
 */
int console_reopen(struct db *db, int64_t id, struct err *e);

/* Appends len raw bytes to the log of console id. Returns 0 or a database error. */
int console_append(struct db *db, int64_t id, const char *text, size_t len, struct err *e);

/*
 * Appends one coloured line: "<font color=COLOR>TEXT</font>\n" where TEXT is
 * the printf-formatted message, HTML-escaped. color is a static word
 * ("yellow", "green", "red").
 */
int console_line(struct db *db, int64_t id, const char *color, struct err *e, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));

/* Marks console id finished: eof = 1, stop = now. */
int console_finish(struct db *db, int64_t id, struct err *e);

/* A piece of a console's log as console_read() returns it. */
struct console_chunk {
    char *text; /* owned (free()), NUL-terminated; may hold any bytes */
    size_t len;
    size_t total; /* the whole log's length in bytes */
    bool eof;
};

/*
 * Reads the log of console id from the 1-based byte offset (values below 1
 * count as 1; past the end gives an empty text) into *out. Returns 0,
 * ERR_NOT_FOUND ("Console N not found") or a database error.
 */
int console_read(struct db *db, int64_t id, int64_t offset, struct console_chunk *out,
                 struct err *e);

/* Appends text (len bytes) to out HTML-escaped (& < > " '); NUL bytes are dropped. */
int console_escape(struct buf *out, const char *text, size_t len);

#endif
