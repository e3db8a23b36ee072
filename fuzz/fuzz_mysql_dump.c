/*
 * fuzz_mysql_dump.c — libFuzzer target for the MySQL dump parser of
 * `billd import-shm`: any bytes either parse or are refused with ERR_INVALID
 * ("line N: …"); the callbacks check that every value they are handed is
 * NUL-terminated and within the row limits. Never a crash, hang, leak or
 * overrun (ASan/UBSan).
 */
#include "common.h"
#include "import/mysql_dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_table(void *ctx, const struct mysql_table *t, struct err *e)
{
    UNUSED(ctx);
    UNUSED(e);
    for (size_t i = 0; i < t->ncolumns; i++)
        if (!t->columns[i][0])
            abort();
    return t->auto_increment < 0 ? ERR_INVALID : 0;
}

static int on_row(void *ctx, const struct mysql_row *r, struct err *e)
{
    UNUSED(ctx);
    UNUSED(e);
    for (size_t i = 0; i < r->nvalues; i++) {
        const struct mysql_value *v = &r->values[i];
        if (v->data && (v->data[v->len] != '\0' || v->len > MYSQL_DUMP_MAX_VALUE))
            abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mysql_dump_handler h = { .on_table = on_table, .on_row = on_row };
    struct err e;
    err_clear(&e);
    int rc = mysql_dump_parse_buffer((const char *)data, size, &h, NULL, &e);
    if (rc != 0 && rc != ERR_INVALID)
        abort();
    return 0;
}
