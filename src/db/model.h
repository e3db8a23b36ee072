/*
 * model.h — field metadata of a table, SHM style (data-model.md §1.1).
 *
 * A model names a table's columns with their API type and flags. It is the
 * whitelist for everything that puts a column name into SQL (list filters,
 * sorting, field selection, inserts) and drives the conversion of a database
 * row to its JSON form (money to decimals, stored UTC seconds to local time
 * strings, JSON text to nested values, hidden fields removed for non-admins).
 *
 * Each domain module defines the models of the tables it owns.
 */
#ifndef BILLD_MODEL_H
#define BILLD_MODEL_H

#include "db.h"

#include <jansson.h>

enum field_type {
    FT_INT = 1, /* integer */
    FT_MONEY,   /* int64 minor units, rendered as a decimal number */
    FT_REAL,    /* decimal stored as text or REAL, rendered as a number */
    FT_TEXT,
    FT_DATE,    /* Unix seconds UTC, rendered as local "YYYY-MM-DD HH:MM:SS" */
    FT_JSON,    /* JSON text, rendered nested */
    FT_BLOB,
    FT_PERIOD,  /* SHM's M.DDHH period, stored as an integer scaled by 10^4 (1.0015 → 10015) */
};

enum field_flags {
    FF_KEY = 1 << 0,        /* primary key (or part of it) */
    FF_HIDDEN = 1 << 1,     /* hide_for_user: removed for non-admin callers */
    FF_USER_WRITE = 1 << 2, /* allow_update_by_user */
    FF_REQUIRED = 1 << 3,   /* must be present on insert */
    FF_NOFILTER = 1 << 4,   /* never usable in filter/sort (secrets) */
    FF_NOLIST = 1 << 5,     /* never returned by lists (e.g. blob data) */
    FF_NONNEG = 1 << 6,     /* numbers must be >= 0 */
};

struct field {
    const char *name;
    enum field_type type;
    unsigned flags;
    const char *title; /* for OpenAPI; may be NULL */
    unsigned max_len;  /* text: longest value in characters; 0 = no limit */
    const char *choices; /* text: allowed values as "a|b|c"; NULL = any */
};

struct model {
    const char *name;  /* OpenAPI schema name, e.g. "User" */
    const char *table; /* SQL table */
    const char *key;   /* primary key column */
    const struct field *fields;
    size_t nfields;
};

/* The field named name, or NULL (the whitelist check). */
const struct field *model_field(const struct model *m, const char *name);

/*
 * Converts row `row` of r into a new JSON object: every column of r that is a
 * field of m is converted by type (unknown columns are copied as strings);
 * FF_HIDDEN fields are left out unless admin. Returns a new reference.
 */
json_t *model_row_to_json(const struct model *m, const struct db_result *r, int row, bool admin);

/* Converts one cell by field type; returns a new reference (json null for NULL). */
json_t *model_cell_to_json(enum field_type t, const struct db_result *r, int row, int col);

/*
 * Appends the comma-separated column list of m to out (for SELECT), leaving
 * out FF_NOLIST fields.
 */
struct buf;
void model_select_list(const struct model *m, struct buf *out);

struct sqlb;
/*
 * Appends a "$N" placeholder for JSON value v converted to field f's storage
 * type: integers (numeric strings accepted), money decimals to minor units,
 * local date strings to Unix seconds, JSON values serialised, text as is.
 * null binds SQL NULL. Returns 0 or ERR_INVALID with "Field <name>: ..." in e.
 */
int model_bind_value(const struct field *f, json_t *v, struct sqlb *b, struct err *e);
/*
 * Checks v against f without binding it: the type conversion of
 * model_bind_value plus max_len, choices and FF_NONNEG. Returns 0 or
 * ERR_INVALID with "Field <name>: ..." in e.
 */
int model_check_value(const struct field *f, json_t *v, struct err *e);

#endif
