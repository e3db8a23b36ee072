/*
 * mysql_dump.h — a streaming parser for MySQL dump files: mysqldump output
 * and hand-written seed files such as the ones in SHM's sql/shm directory.
 *
 * The parser reads one statement at a time and hands its caller what an
 * importer needs, through callbacks:
 *   - each CREATE TABLE as the table name and its column names in order
 *     (positional INSERT rows are read against them);
 *   - each row of each INSERT, INSERT IGNORE or REPLACE, with the table, the
 *     statement's column list (if any) and the decoded values.
 * Everything else is skipped: SET, LOCK TABLES, DROP TABLE, USE, comments
 * (`-- `, `#`, block comments including MySQL's versioned "!40101 …" ones),
 * DELIMITER blocks with triggers and routines.
 *
 * AUTO_INCREMENT=N of a CREATE TABLE is passed on; SET statements and
 * versioned comments are read for SQL_MODE: NO_BACKSLASH_ESCAPES makes '\'
 * an ordinary byte in strings until the mode is set again.
 *
 * Values: quoted strings with MySQL's backslash escapes (\0 \' \" \b \n \r
 * \t \Z \\, and \% \_ kept as two characters, as MySQL does outside LIKE)
 * and doubled quotes, adjacent literals joined ('a' 'b' = 'ab'), charset
 * introducers (_binary '…', _utf8mb4'…'), X'…' and 0x… hex, b'…' and 0b…
 * bits, numbers (kept as written), NULL, DEFAULT, TRUE/FALSE, and NOW() /
 * CURRENT_TIMESTAMP and friends. Any other expression is an error.
 *
 * Input is read through a 64 KiB window, so memory is bounded by the largest
 * row (MYSQL_DUMP_MAX_ROW), not by the dump. Errors are ERR_INVALID with
 * "line N: …" in the message (ERR_IO for a read error); a truncated dump is
 * detected inside a statement, by a BEGIN/START TRANSACTION that is never
 * committed, and by a mysqldump header without its "-- Dump completed" line.
 * The parser never calls exit() or prints; it is safe to feed any bytes.
 */
#ifndef BILLD_MYSQL_DUMP_H
#define BILLD_MYSQL_DUMP_H

#include "../common.h"

/* Largest decoded value (MEDIUMBLOB / MEDIUMTEXT hold up to 16 MiB - 1). */
#define MYSQL_DUMP_MAX_VALUE (16u * 1024 * 1024)
/* Largest decoded row (all values together). */
#define MYSQL_DUMP_MAX_ROW (64u * 1024 * 1024)
/* Most columns of a table, values of a row, or names in a column list. */
#define MYSQL_DUMP_MAX_COLUMNS 4096
/* Longest identifier (MySQL allows 64 characters). */
#define MYSQL_DUMP_MAX_IDENT 256

enum mysql_value_type {
    MYSQL_NULL = 0, /* NULL */
    MYSQL_DEFAULT,  /* DEFAULT: the column's default value */
    MYSQL_NOW,      /* NOW(), CURRENT_TIMESTAMP, LOCALTIMESTAMP, SYSDATE() … */
    MYSQL_NUMBER,   /* a numeric literal as written, without a leading '+': "-21.56", "1e3" */
    MYSQL_STRING,   /* a string literal with its escapes resolved */
};

/* One value of a row. data/len are valid until the on_row callback returns. */
struct mysql_value {
    enum mysql_value_type type;
    bool binary;      /* _binary '…', X'…' or 0x…: bytes rather than text */
    const char *data; /* NUMBER/STRING: the bytes, NUL-terminated (may hold NULs); else NULL */
    size_t len;
};

enum mysql_insert_kind {
    MYSQL_INSERT_PLAIN = 0, /* INSERT: a duplicate key is an error */
    MYSQL_INSERT_IGNORE,    /* INSERT IGNORE: a row with a duplicate key is dropped */
    MYSQL_INSERT_REPLACE,   /* REPLACE: a row with a duplicate key replaces the old one */
};

/* One row of an INSERT. Everything is borrowed until the callback returns. */
struct mysql_row {
    const char *table;          /* unqualified table name */
    enum mysql_insert_kind kind;
    const char *const *columns; /* the statement's column list, or NULL for positional rows */
    size_t ncolumns;
    const struct mysql_value *values;
    size_t nvalues;
    uint64_t statement;         /* ordinal of the INSERT in the dump (1-based) */
    size_t row;                 /* ordinal of the row in its statement (1-based) */
    long statement_line;        /* line where the statement starts */
    long line;                  /* line where the row starts */
};

/* A CREATE TABLE. Everything is borrowed until the callback returns. */
struct mysql_table {
    const char *name;           /* unqualified table name */
    const char *const *columns; /* column names in order (keys and constraints left out) */
    size_t ncolumns;
    int64_t auto_increment;     /* the AUTO_INCREMENT=N table option (the next id), 0 if absent */
    long line;
};

/*
 * What to call. Either callback may be NULL. A callback returns 0 to go on,
 * or an error (with e filled) that stops the parse and is returned as is.
 */
struct mysql_dump_handler {
    void *ctx;
    int (*on_table)(void *ctx, const struct mysql_table *t, struct err *e);
    int (*on_row)(void *ctx, const struct mysql_row *r, struct err *e);
};

/* Counters of one parse (may be NULL where accepted). */
struct mysql_dump_stats {
    long lines;          /* lines read */
    uint64_t statements; /* statements seen, empty ones not counted */
    uint64_t inserts;    /* INSERT / REPLACE statements */
    uint64_t rows;       /* rows handed to on_row */
};

/*
 * Parses the dump read from f until end of file. stats (may be NULL)
 * receives the counters, also after an error. Returns 0, ERR_INVALID
 * ("line N: …"), ERR_IO, or a callback's error.
 */
int mysql_dump_parse_file(FILE *f, const struct mysql_dump_handler *h,
                          struct mysql_dump_stats *stats, struct err *e);
/* The same over a memory buffer of len bytes (tests, fuzzing). */
int mysql_dump_parse_buffer(const char *data, size_t len, const struct mysql_dump_handler *h,
                            struct mysql_dump_stats *stats, struct err *e);

#endif
