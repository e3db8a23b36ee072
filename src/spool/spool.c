/*
 * spool.c — creating spool tasks (spool.md §4), user events (§2.2), the
 * idempotency token (D9), the retry schedule (§6.2, D9) and small helpers the
 * other spool files share.
 */
#include "spool_int.h"

#include "../core/event.h"
#include "../db/db.h"
#include "../util/timeutil.h"

#include <sodium.h>

static _Thread_local bool tls_added;
static _Thread_local int64_t tls_task;

void spool_set_current_task(int64_t id)
{
    tls_task = id;
}

int64_t spool_current_task(void)
{
    return tls_task;
}

void spool_token_new(char out[33])
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(out, 33, raw, sizeof(raw));
}

int64_t spool_event_period(const json_t *event)
{
    const json_t *p = event ? json_object_get(event, "period") : NULL;
    int64_t v = 0;
    if (json_is_integer(p))
        v = json_integer_value(p);
    else if (json_is_real(p))
        v = (int64_t)json_real_value(p);
    else if (json_is_string(p))
        v = strtoll(json_string_value(p), NULL, 10);
    return v > 0 ? v : 0;
}

int64_t spool_retry_delay(int64_t n)
{
    int64_t d = 1;
    for (int64_t i = 0; i < n && d < 900; i++)
        d *= 3;
    return d > 900 ? 900 : d;
}

void spool_note_change(void)
{
    tls_added = true;
}

void spool_committed(void)
{
    if (!tls_added)
        return;
    tls_added = false;
    spool_wake();
}

/* The event to store: a copy with task_id when created from inside a running task. */
static json_t *event_to_store(const json_t *event)
{
    json_t *ev = event ? json_deep_copy(event) : json_object();
    if (!json_is_object(ev)) {
        json_decref(ev);
        ev = json_object();
    }
    if (tls_task && !json_object_get(ev, "task_id"))
        json_object_set_new(ev, "task_id", json_integer(tls_task));
    return ev;
}

void spool_event_prepare(const json_t *event, struct spool_event *out)
{
    json_t *ev = event_to_store(event);
    out->text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    out->period = spool_event_period(ev);
    json_decref(ev);
}

void spool_event_release(struct spool_event *ev)
{
    free(ev->text);
    ev->text = NULL;
}

int spool_add_prepared(struct db *db, const struct spool_new *t, const struct spool_event *pe,
                       int64_t *id, struct err *e)
{
    json_t *settings = json_is_object(t->settings) ? json_deep_copy(t->settings) : json_object();
    if (t->usi)
        json_object_set_new(settings, "user_service_id", json_integer(t->usi));
    char *st = json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS);
    char token[33];
    spool_token_new(token);
    int64_t now = time_now(), delayed = t->delayed > 0 ? t->delayed : 0;
    const char *status = t->status ? t->status : delayed > 0 ? "DELAYED" : "NEW";
    if (!strcmp(status, "SUCCESS") && pe->period > 0) { /* §4.2: a finished periodic task re-arms */
        status = "DELAYED";
        delayed = pe->period;
    }
    bool wait = !strcmp(status, "DELAYED") && delayed > 0;
    struct db_value p[] = { DB_INT(t->user_id), t->usi ? DB_INT(t->usi) : DB_NULL,
                            DB_TEXT(pe->text), DB_INT(t->prio ? t->prio : 100), DB_TEXT(status),
                            DB_INT(now), wait ? DB_INT(now) : DB_NULL, DB_INT(delayed),
                            DB_TEXT(st), DB_TEXT(token) };
    int64_t new_id = 0;
    int rc = db_insert(db,
                       "INSERT INTO spool (user_id, user_service_id, event, prio, status, created,"
                       " executed, delayed, settings, token) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                       " $8, $9, $10)",
                       "id", p, 10, &new_id, e);
    if (rc == 0 && id)
        *id = new_id;
    if (rc == 0)
        tls_added = true;
    free(st);
    json_decref(settings);
    return rc;
}

int spool_add(struct db *db, const struct spool_new *t, int64_t *id, struct err *e)
{
    struct spool_event ev;
    spool_event_prepare(t->event, &ev);
    int rc = spool_add_prepared(db, t, &ev, id, e);
    spool_event_release(&ev);
    return rc;
}

/* The spooled copy of an events row: upper-cased name (spool.md §3). */
static json_t *event_row_copy(const json_t *row)
{
    json_t *ev = json_object();
    const char *keys[] = { "id", "kind", "title", "server_gid", "settings" };
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(row, keys[i]);
        if (v)
            json_object_set(ev, keys[i], v);
    }
    char *name = xstrdup(json_string_value(json_object_get(row, "name")) ?: "");
    for (char *p = name; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    json_object_set_new(ev, "name", json_string(name));
    free(name);
    return ev;
}

int spool_user_event(struct db *db, int64_t user_id, const char *name, const json_t *builtin,
                     const json_t *settings, struct err *e)
{
    struct spool_new t = { .user_id = user_id, .event = builtin, .settings = settings };
    json_t *rows = NULL, *row;
    size_t i;
    int rc = builtin ? spool_add(db, &t, NULL, e) : 0;
    if (rc == 0)
        rc = event_find(db, name, NULL, &rows, e);
    json_array_foreach(rows, i, row) {
        if (rc)
            break;
        json_t *ev = event_row_copy(row);
        t.event = ev;
        rc = spool_add(db, &t, NULL, e);
        json_decref(ev);
    }
    json_decref(rows);
    return rc;
}

json_t *spool_row_json(struct db *db, const char *sql, int64_t id, const char *json_col)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_INT(id) };
    struct err e = { 0 };
    json_t *o = NULL;
    if (db_query(db, sql, p, 1, &res, &e) == 0 && db_result_rows(res) > 0) {
        o = json_object();
        for (int c = 0; c < db_result_cols(res); c++) {
            const char *name = db_result_colname(res, c), *v = db_result_text(res, 0, c);
            json_t *jv = NULL;
            if (v && json_col && !strcmp(name, json_col))
                jv = json_loads(v, JSON_DECODE_ANY, NULL);
            if (!jv && v) {
                char *end = NULL;
                long long n = strtoll(v, &end, 10);
                jv = *v && end && !*end ? json_integer(n) : json_string(v);
            }
            json_object_set_new(o, name, jv ? jv : json_null());
        }
    }
    db_result_free(res);
    return o;
}
