/*
 * list.h — SHM's generic list machinery (api.md §9) compiled to
 * parameterised SQL for both engines.
 *
 * Input is the request's argument object: limit, offset, sort_field,
 * sort_direction, filter (a JSON object, or a string holding one), start/stop
 * with field (a date range), fields (comma-separated column selection).
 * Every column name that reaches SQL comes from the model (the whitelist,
 * DECISIONS D26); every value is a bound parameter. Unknown filter columns,
 * keys starting with "--", malformed JSON, wrong value types, too deep or too
 * large filters give ERR_INVALID with a message for a 400 answer.
 *
 * Filter semantics (api.md §9.6):
 *   number/key column, scalar      → equality ('%' stripped from strings)
 *   text column, scalar            → LIKE when the value has '%' (ILIKE on PG), else =
 *   date column, scalar            → full date-time: =; "YYYY-MM-DD" or a prefix ending
 *                                    in '%' ("2024-01%"): the range it names
 *   money column                   → decimal amounts compared in minor units
 *   any column, null               → IS NULL
 *   any column, object             → operator map: "=", "!=", "<>", "<", "<=", ">", ">=",
 *                                    "-like", "-not_like", "-in", "-not_in", "-between"
 *   JSON column, object            → per key "a.b" (identifiers only): text at that path
 *                                    equals the value (or an operator map)
 *   JSON column, string with '%'   → LIKE on the whole JSON text
 *   JSON column, "!name"           → path absent; "name" → path present
 *   "-or" / "-and"                 → an object or array of objects, recursively
 */
#ifndef BILLD_LIST_H
#define BILLD_LIST_H

#include "model.h"
#include "sqlb.h"
#include "../util/buf.h"

#include <jansson.h>

#define LIST_DEFAULT_LIMIT 25
#define LIST_USER_MAX_LIMIT 1000
#define LIST_MAX_DEPTH 8      /* nesting of -or/-and and operator maps */
#define LIST_MAX_TERMS 64     /* conditions in one filter */

struct list_page {
    int64_t limit;        /* 0 = no limit (admins only) */
    int64_t offset;
    json_t *limit_echo;   /* owned: the value the envelope echoes ("2" stays a string) */
    json_t *offset_echo;  /* owned */
    json_t *filter_echo;  /* owned decoded filter object, or NULL when none was given */
    struct buf order;     /* " ORDER BY <col> ASC|DESC" */
    struct buf columns;   /* the SELECT column list (all listable fields, or `fields`) */
};

/*
 * Compiles args against model m. `where` holds the caller's own conditions as
 * a boolean SQL expression (possibly empty, e.g. "user_id = $1" for non-admin
 * scoping); filter and date-range conditions are appended to it joined with
 * AND. page is initialised here and must be released with list_page_free()
 * whatever the result. Returns 0 or ERR_INVALID (message in e).
 */
int list_compile(const struct db *db, const struct model *m, json_t *args, bool admin,
                 struct sqlb *where, struct list_page *page, struct err *e);
void list_page_free(struct list_page *page);

/*
 * Runs "SELECT <page columns> FROM <from> [WHERE <where>] <order> [LIMIT/OFFSET]"
 * into *rows (owned) and "SELECT count(*) FROM <from> [WHERE <where>]" into
 * *total (the envelope's items, D24). `from` is a table name or a join written
 * by the caller (never input).
 */
int list_run(struct db *db, const char *from, const struct sqlb *where,
             const struct list_page *page, struct db_result **rows, int64_t *total,
             struct err *e);

#endif
