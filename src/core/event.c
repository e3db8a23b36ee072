/*
 * event.c — the events table: model, the LIKE-mask matcher, the lookup the
 * spool uses and the checks of admin writes (see event.h).
 */
#include "event.h"
#include "../util/buf.h"
#include "../util/strutil.h"

static const struct field event_fields[] = {
    { "id", FT_INT, FF_KEY, "id события", 0, NULL },
    { "kind", FT_TEXT, 0, "контроллер (UserService)", 32, NULL },
    { "title", FT_TEXT, FF_REQUIRED, "название", 128, NULL },
    { "name", FT_TEXT, FF_REQUIRED, "имя события (create, block, …)", 32, NULL },
    { "server_gid", FT_INT, FF_NONNEG, "группа серверов", 0, NULL },
    { "settings", FT_JSON, 0, "настройки (category, template_id, cmd, transport, …)", 0, NULL },
};

const struct model event_model = {
    .name = "Event",
    .table = "events",
    .key = "id",
    .fields = event_fields,
    .nfields = ARRAY_SIZE(event_fields),
};

/* The byte after the UTF-8 character starting at s (s points at a non-NUL byte). */
static const char *utf8_next(const char *s)
{
    s++;
    while (((unsigned char)*s & 0xC0) == 0x80)
        s++;
    return s;
}

/*
 * Wildcard matching with one backtrack point: on a mismatch after a `%`, the
 * `%` takes one more character of s and matching resumes. Runs in
 * O(len(mask) * len(s)) time and constant space.
 */
bool event_like(const char *mask, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*mask == '%') {
            while (*mask == '%')
                mask++;
            if (!*mask)
                return true; /* a trailing % takes the rest */
            star = mask;
            resume = s;
        } else if (*mask == '_') {
            mask++;
            s = utf8_next(s);
        } else if (*mask && *mask == *s) {
            mask++;
            s++;
        } else if (star) {
            mask = star;
            resume = utf8_next(resume);
            s = resume;
        } else {
            return false;
        }
    }
    while (*mask == '%')
        mask++;
    return *mask == '\0';
}

/* ASCII case-insensitive equality (independent of the C locale). */
static bool ascii_iequal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *a == *b;
}

bool event_matches(const json_t *row, const char *name, const char *category)
{
    const char *n = json_string_value(json_object_get(row, "name"));
    if (!n || !name || !ascii_iequal(n, name))
        return false;
    if (!category || !*category)
        return true;
    json_t *mask = json_object_get(json_object_get(row, "settings"), "category");
    return json_is_string(mask) && event_like(json_string_value(mask), category);
}

/*
 * The table is small (dozens of bindings), so every row is read and matched in
 * C: SQL LIKE and lower() differ between the engines (case folding, `_` on
 * multi-byte characters, JSONB text), the C matcher does not.
 */
int event_rows(struct db *db, json_t **out, struct err *e)
{
    struct db_result *r = NULL;
    struct buf sql;
    buf_init(&sql, 0);
    buf_puts(&sql, "SELECT ");
    model_select_list(&event_model, &sql);
    buf_puts(&sql, " FROM events ORDER BY id");
    int rc = db_query(db, sql.data, NULL, 0, &r, e);
    buf_free(&sql);
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (int i = 0; i < db_result_rows(r); i++)
        json_array_append_new(arr, model_row_to_json(&event_model, r, i, true));
    db_result_free(r);
    *out = arr;
    return 0;
}

json_t *event_select(const json_t *rows, const char *name, const char *category)
{
    size_t i;
    json_t *row, *arr = json_array();
    json_array_foreach((json_t *)rows, i, row) {
        if (event_matches(row, name, category))
            json_array_append(arr, row);
    }
    return arr;
}

int event_find(struct db *db, const char *name, const char *category, json_t **out,
               struct err *e)
{
    json_t *rows = NULL;
    int rc = event_rows(db, &rows, e);
    if (rc)
        return rc;
    *out = event_select(rows, name, category);
    json_decref(rows);
    return 0;
}

/* Checks that key of settings, when present, is a string (non-empty if nonempty). */
static int check_string_key(const json_t *settings, const char *key, bool nonempty, struct err *e)
{
    json_t *v = json_object_get(settings, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || (nonempty && json_string_length(v) == 0))
        return err_set(e, ERR_INVALID, "Field settings: %s must be a%s string", key,
                       nonempty ? " non-empty" : "");
    return 0;
}

static int check_transport(const json_t *settings, struct err *e)
{
    json_t *v = json_object_get(settings, "transport");
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    for (const char *p = EVENT_TRANSPORTS; s && *p;) {
        size_t len = strcspn(p, "|");
        if (len == n && n > 0 && strncmp(p, s, n) == 0)
            return 0;
        p += len + (p[len] == '|');
    }
    return err_set(e, ERR_INVALID, "Field settings: transport must be one of %s",
                   EVENT_TRANSPORTS);
}

int event_check_settings(const json_t *settings, struct err *e)
{
    if (!json_is_object(settings))
        return err_set(e, ERR_INVALID, "Field settings: must be a JSON object");
    int rc = check_string_key(settings, "category", false, e);
    if (rc == 0)
        rc = check_string_key(settings, "template_id", true, e);
    if (rc == 0)
        rc = check_string_key(settings, "cmd", false, e);
    if (rc == 0)
        rc = check_string_key(settings, "stdin", false, e);
    if (rc == 0)
        rc = check_transport(settings, e);
    return rc;
}

/* settings: null stays null; a string must hold a JSON object; objects are checked. */
static int normalise_settings(json_t *values, struct err *e)
{
    json_t *v = json_object_get(values, "settings");
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        json_t *d = json_loadb(json_string_value(v), json_string_length(v), 0, NULL);
        if (!json_is_object(d)) {
            json_decref(d);
            return err_set(e, ERR_INVALID, "Field settings: must be a JSON object");
        }
        json_object_set_new(values, "settings", d);
        v = d;
    }
    return event_check_settings(v, e);
}

/* server_gid: absent on create → 0; null and 0 mean "no group"; others must exist. */
static int check_group(struct db *db, json_t *values, bool create, struct err *e)
{
    json_t *v = json_object_get(values, "server_gid");
    int64_t gid = 0, n = 0;
    if (!v) {
        if (create)
            json_object_set_new(values, "server_gid", json_integer(0));
        return 0;
    }
    if (json_is_null(v))
        return 0;
    if (json_is_integer(v))
        gid = json_integer_value(v);
    else if (!json_is_string(v) ||
             parse_i64(json_string_value(v), json_string_length(v), 0, INT64_MAX, &gid))
        return err_set(e, ERR_INVALID, "Field server_gid: expected an integer");
    json_object_set_new(values, "server_gid", json_integer(gid));
    if (gid == 0)
        return 0;
    struct db_value p[] = { DB_INT(gid) };
    int rc = db_query_int(db, "SELECT count(*) FROM servers_groups WHERE group_id = $1", p, 1,
                          &n, e);
    if (rc)
        return rc;
    if (n == 0)
        return err_set(e, ERR_INVALID, "Field server_gid: server group %lld does not exist",
                       (long long)gid);
    return 0;
}

/* On update, required text columns may be changed but not emptied. */
static int check_not_emptied(json_t *values, struct err *e)
{
    static const char *const required[] = { "name", "title" };
    for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
        json_t *v = json_object_get(values, required[i]);
        if (v && (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)))
            return err_set(e, ERR_INVALID, "Field required: %s", required[i]);
    }
    return 0;
}

int event_check_values(struct db *db, json_t *values, bool create, struct err *e)
{
    json_t *kind = json_object_get(values, "kind");
    int rc = check_not_emptied(values, e);
    if (rc)
        return rc;
    if (kind && (json_is_null(kind) || (json_is_string(kind) && json_string_length(kind) == 0)))
        json_object_set_new(values, "kind", json_string(EVENT_DEFAULT_KIND));
    rc = normalise_settings(values, e);
    if (rc == 0)
        rc = check_group(db, values, create, e);
    return rc;
}
