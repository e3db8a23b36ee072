/*
 * sqlb.h — an SQL text builder that collects its own parameters.
 *
 * SQL text is appended with sqlb_add(); values are appended with
 * sqlb_param(), which writes the next "$N" placeholder into the text and
 * keeps an owned copy of the value. The result is passed to db_query() as
 * (b.sql.data, b.params, b.n). Identifiers must never come from input: use
 * model column names only.
 */
#ifndef BILLD_SQLB_H
#define BILLD_SQLB_H

#include "db.h"
#include "../util/buf.h"

#define SQLB_MAX_PARAMS 256

struct sqlb {
    struct buf sql;
    struct db_value params[SQLB_MAX_PARAMS];
    char *owned[SQLB_MAX_PARAMS];
    int n;
    bool overflow; /* set when more than SQLB_MAX_PARAMS params were added */
};

void sqlb_init(struct sqlb *b);
void sqlb_free(struct sqlb *b);
/* Appends printf-formatted SQL text (never put input values here). */
void sqlb_add(struct sqlb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends "$N" and stores a copy of v. Returns N, or 0 after overflow. */
int sqlb_param(struct sqlb *b, struct db_value v);
/* Stores a copy of v without writing a placeholder; returns its number N. */
int sqlb_bind(struct sqlb *b, struct db_value v);
/* sqlb_param shorthands. */
int sqlb_int(struct sqlb *b, int64_t v);
int sqlb_text(struct sqlb *b, const char *s);

#endif
