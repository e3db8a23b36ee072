/*
 * sqlb.c — SQL text builder with collected parameters (see sqlb.h).
 */
#include "sqlb.h"

#include <stdarg.h>

void sqlb_init(struct sqlb *b)
{
    buf_init(&b->sql, 0);
    b->n = 0;
    b->overflow = false;
}

void sqlb_free(struct sqlb *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->owned[i]);
    buf_free(&b->sql);
    b->n = 0;
}

void sqlb_add(struct sqlb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b->sql, fmt, ap);
    va_end(ap);
}

int sqlb_bind(struct sqlb *b, struct db_value v)
{
    if (b->n >= SQLB_MAX_PARAMS) {
        b->overflow = true;
        return 0;
    }
    b->owned[b->n] = NULL;
    if (v.type == DBT_TEXT || v.type == DBT_BLOB) {
        b->owned[b->n] = xstrndup(v.s ? v.s : "", v.len);
        v.s = b->owned[b->n];
    }
    b->params[b->n] = v;
    return ++b->n;
}

int sqlb_param(struct sqlb *b, struct db_value v)
{
    int n = sqlb_bind(b, v);
    if (n)
        buf_printf(&b->sql, "$%d", n);
    return n;
}

int sqlb_int(struct sqlb *b, int64_t v)
{
    return sqlb_param(b, DB_INT(v));
}

int sqlb_text(struct sqlb *b, const char *s)
{
    return sqlb_param(b, DB_TEXT(s));
}
