/*
 * fuzz_filter.c — libFuzzer target for the list machinery (src/db/list.c).
 *
 * The input is taken as the JSON argument object of a list request. Whatever
 * it holds, list_compile() must either refuse it with ERR_INVALID or produce
 * SQL that SQLite accepts: a database error other than "no such row" means
 * input reached the SQL text, so the target aborts.
 */
#include "common.h"
#include "db/list.h"

#include <jansson.h>

static const struct field fields[] = {
    { "id", FT_INT, FF_KEY, NULL },
    { "login", FT_TEXT, 0, NULL },
    { "amount", FT_MONEY, 0, NULL },
    { "created", FT_DATE, 0, NULL },
    { "settings", FT_JSON, 0, NULL },
    { "secret", FT_TEXT, FF_HIDDEN | FF_NOFILTER, NULL },
};
static const struct model item = { "Item", "item", "id", fields, ARRAY_SIZE(fields) };
static struct db *db;

static void setup(void)
{
    struct err e;
    if (db)
        return;
    if (db_open("sqlite::memory:", &db, &e) ||
        db_exec_script(db, "CREATE TABLE item (id INTEGER PRIMARY KEY, login TEXT, amount INTEGER,"
                           " created INTEGER, settings TEXT, secret TEXT);"
                           "INSERT INTO item VALUES (1, 'a', 100, 0, '{\"a\":{\"b\":1}}', 's');",
                       &e))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct list_page page;
    struct sqlb where;
    struct err e;
    struct db_result *rows = NULL;
    int64_t total;
    setup();
    json_t *args = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!json_is_object(args)) {
        json_decref(args);
        return 0;
    }
    sqlb_init(&where);
    int rc = list_compile(db, &item, args, size % 2, &where, &page, &e);
    if (rc == 0) {
        rc = list_run(db, "item", &where, &page, &rows, &total, &e);
        if (rc && rc != ERR_INVALID)
            abort(); /* compiled SQL rejected by the engine */
        db_result_free(rows);
    } else if (rc != ERR_INVALID) {
        abort();
    }
    list_page_free(&page);
    sqlb_free(&where);
    json_decref(args);
    return 0;
}
