/*
 * storage.c — per-user named blobs: the model, name rules, JSON detection,
 * the attachment header and the queries (see storage.h).
 */
#include "storage.h"
#include "../db/sqlb.h"
#include "../util/buf.h"
#include "../util/strutil.h"

#include <errno.h>
#include <math.h>

#define NOT_FOUND_MSG "Object not found. Check the ID."
#define EXISTS_MSG "Can't save the data. Perhaps the record already exists?"
#define JSON_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH (jansson_config.h) */

static const struct field storage_fields[] = {
    { "user_id", FT_INT, FF_KEY, "id пользователя", 0, NULL },
    { "name", FT_TEXT, FF_KEY | FF_REQUIRED, "имя", STORAGE_NAME_MAX, NULL },
    { "user_service_id", FT_INT, 0, "id услуги пользователя", 0, NULL },
    { "created", FT_DATE, 0, "дата создания", 0, NULL },
    { "data", FT_BLOB, FF_NOLIST | FF_NOFILTER, "данные", 0, NULL },
    { "settings", FT_JSON, 0, "настройки", 0, NULL },
};

const struct model storage_model = {
    .name = "Storage",
    .table = "storage",
    .key = "name",
    .fields = storage_fields,
    .nfields = ARRAY_SIZE(storage_fields),
};

/* ---- names ---- */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == '@';
}

int storage_check_name(const char *name, struct err *e)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return err_set(e, ERR_INVALID, "Field name: must not be empty");
    for (size_t i = 0; i < n; i++)
        if (!name_char(name[i]))
            return err_set(e, ERR_INVALID, "%s", STORAGE_NAME_CHARS_MSG);
    if (n > STORAGE_NAME_MAX)
        return err_set(e, ERR_INVALID, "Field name: longer than %d characters", STORAGE_NAME_MAX);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return err_set(e, ERR_INVALID, "Field name: must not be '.' or '..'");
    return 0;
}

/* ---- JSON validation without a parse tree ---- */

struct jscan {
    const unsigned char *p;
    const unsigned char *end;
};

static void skip_ws(struct jscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool eat(struct jscan *s, unsigned char c)
{
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

static bool scan_literal(struct jscan *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* Length (1-4) of the well-formed UTF-8 sequence at p, or 0 (overlong, surrogate, > U+10FFFF). */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], cp, min;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* The value of 4 hex digits after "\u", or -1. */
static long scan_hex4(struct jscan *s)
{
    long v = 0;
    if (s->end - s->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        unsigned char c = *s->p++;
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* One escape after the backslash; \u0000 and unpaired surrogates are refused (as jansson). */
static bool scan_escape(struct jscan *s)
{
    if (s->p >= s->end)
        return false;
    unsigned char c = *s->p++;
    if (c != 'u')
        return c != '\0' && strchr("\"\\/bfnrt", c) != NULL;
    long u = scan_hex4(s);
    if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return false;
    if (u < 0xD800 || u > 0xDBFF)
        return true;
    if (!eat(s, '\\') || !eat(s, 'u'))
        return false;
    long lo = scan_hex4(s);
    return lo >= 0xDC00 && lo <= 0xDFFF;
}

static bool scan_string(struct jscan *s)
{
    if (!eat(s, '"'))
        return false;
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            s->p++;
            if (!scan_escape(s))
                return false;
            continue;
        }
        size_t n = utf8_seq(s->p, s->end);
        if (n == 0)
            return false;
        s->p += n;
    }
    return false;
}

static bool scan_digits(struct jscan *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

/* jansson refuses integers outside int64 and reals that overflow to infinity. */
static bool number_in_range(const unsigned char *p, size_t n, bool real)
{
    int64_t i;
    if (!real)
        return parse_i64((const char *)p, n, INT64_MIN, INT64_MAX, &i) == 0;
    char *t = xstrndup((const char *)p, n);
    errno = 0;
    double d = strtod(t, NULL);
    bool ok = !(errno == ERANGE && isinf(d));
    free(t);
    return ok;
}

static bool scan_number(struct jscan *s)
{
    const unsigned char *start = s->p;
    bool real = false;
    eat(s, '-');
    if (!eat(s, '0') && !scan_digits(s))
        return false;
    if (eat(s, '.')) {
        real = true;
        if (!scan_digits(s))
            return false;
    }
    if (eat(s, 'e') || eat(s, 'E')) {
        real = true;
        if (!eat(s, '+'))
            eat(s, '-');
        if (!scan_digits(s))
            return false;
    }
    return number_in_range(start, (size_t)(s->p - start), real);
}

static bool scan_scalar(struct jscan *s)
{
    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '"': return scan_string(s);
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n': return scan_literal(s, "null");
    default: return scan_number(s);
    }
}

/* An object member's key and colon. */
static bool scan_key(struct jscan *s)
{
    skip_ws(s);
    if (!scan_string(s))
        return false;
    skip_ws(s);
    return eat(s, ':');
}

/*
 * After a complete value: consumes closing brackets and at most one comma
 * (with the next key inside an object). Returns 1 when another value must
 * follow, 0 at a valid end of text, -1 on a syntax error.
 */
static int scan_after_value(struct jscan *s, char *stack, size_t *depth)
{
    for (;;) {
        skip_ws(s);
        if (*depth == 0)
            return s->p == s->end ? 0 : -1;
        char open = stack[*depth - 1];
        if (eat(s, ','))
            return open == '{' && !scan_key(s) ? -1 : 1;
        if (!eat(s, open == '{' ? '}' : ']'))
            return -1;
        (*depth)--;
    }
}

bool storage_json_valid(const char *text, size_t len)
{
    char stack[JSON_MAX_DEPTH];
    size_t depth = 0;
    if (!text)
        return false;
    struct jscan s = { (const unsigned char *)text, (const unsigned char *)text + len };
    for (;;) {
        skip_ws(&s);
        if (depth >= JSON_MAX_DEPTH)
            return false; /* as jansson: no value inside 2048 containers */
        if (s.p < s.end && (*s.p == '{' || *s.p == '[')) {
            char open = (char)*s.p++;
            skip_ws(&s);
            if (!eat(&s, open == '{' ? '}' : ']')) {
                if (open == '{' && !scan_key(&s))
                    return false;
                stack[depth++] = open;
                continue; /* the first element */
            }
        } else if (!scan_scalar(&s)) {
            return false;
        }
        int next = scan_after_value(&s, stack, &depth);
        if (next <= 0)
            return next == 0;
    }
}

bool storage_is_json(const char *content_type, const char *data, size_t len)
{
    return content_type && strcasestr(content_type, "application/json") &&
           storage_json_valid(data, len);
}

/* ---- Content-Disposition ---- */

static bool quotable(unsigned char c)
{
    return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

/* RFC 5987 attr-char: sent as is in filename*. */
static bool attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL);
}

char *storage_disposition(const char *name)
{
    struct buf b;
    bool plain = true;
    buf_init(&b, 0);
    buf_puts(&b, "attachment; filename=\"");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (quotable(*p)) {
            buf_putc(&b, (char)*p);
            continue;
        }
        plain = false;
        if ((*p & 0xC0) != 0x80) /* one '_' per character, not per UTF-8 byte */
            buf_putc(&b, '_');
    }
    buf_putc(&b, '"');
    if (!plain) {
        buf_puts(&b, "; filename*=UTF-8''");
        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
            if (attr_char(*p))
                buf_putc(&b, (char)*p);
            else
                buf_printf(&b, "%%%02X", *p);
        }
    }
    return buf_detach(&b, NULL);
}

/* ---- queries ---- */

static int too_large(struct err *e)
{
    return err_set_status(e, ERR_LIMIT, 413, "Storage data larger than %zu bytes",
                          STORAGE_DATA_MAX);
}

static int not_found(struct err *e)
{
    return err_set_status(e, ERR_NOT_FOUND, 404, NOT_FOUND_MSG);
}

/* Perl truthiness of settings.json. */
static bool json_flag(const json_t *settings)
{
    const json_t *v = json_object_get(settings, "json");
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_real(v))
        return json_real_value(v) != 0;
    if (json_is_string(v))
        return json_string_length(v) > 0 && strcmp(json_string_value(v), "0") != 0;
    return json_is_true(v);
}

/* The stored settings text as an object (a new reference; {} for NULL or garbage). */
static json_t *settings_parse(const char *text)
{
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    if (json_is_object(o))
        return o;
    json_decref(o);
    return json_object();
}

/* The settings text to store: base (an object, or {}) with "json" following the data. */
static char *settings_text(const json_t *base, bool json)
{
    json_t *o = json_is_object(base) ? json_deep_copy(base) : json_object();
    if (json)
        json_object_set_new(o, "json", json_integer(1));
    else
        json_object_del(o, "json");
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int storage_check_service(struct db *db, int64_t user_id, int64_t usi, struct err *e)
{
    int64_t n = 0;
    struct db_value p[] = { DB_INT(usi), DB_INT(user_id) };
    int rc = db_query_int(db,
                          "SELECT count(*) FROM user_services"
                          " WHERE user_service_id = $1 AND user_id = $2",
                          p, 2, &n, e);
    if (rc)
        return rc;
    return n > 0 ? 0 : not_found(e);
}

int storage_create(struct db *db, const struct storage_write *w, int64_t now, struct err *e)
{
    if (w->len > STORAGE_DATA_MAX)
        return too_large(e);
    char *settings = settings_text(w->settings, w->json);
    if (!settings)
        return err_set(e, ERR_INVALID, "Field settings: not encodable as JSON");
    struct db_value p[] = {
        DB_INT(w->user_id),
        DB_TEXT(w->name),
        w->user_service_id ? DB_INT(w->user_service_id) : DB_NULL,
        DB_INT(now),
        DB_BLOB(w->data ? w->data : "", w->len),
        DB_TEXT(settings),
    };
    int rc = db_exec(db,
                     "INSERT INTO storage (user_id, name, user_service_id, created, data, settings)"
                     " VALUES ($1, $2, $3, $4, $5, $6)",
                     p, 6, NULL, e);
    free(settings);
    if (rc == ERR_CONFLICT)
        return err_set_status(e, ERR_CONFLICT, 400, EXISTS_MSG);
    return rc;
}

/* Locks the entry and returns its settings object (new reference); ERR_NOT_FOUND if none. */
static int lock_settings(struct db *db, const struct storage_write *w, json_t **out,
                         struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(w->user_id), DB_TEXT(w->name) };
    char *sql = xasprintf("SELECT settings FROM storage WHERE user_id = $1 AND name = $2%s",
                          db_sql_for_update(db));
    int rc = db_query(db, sql, p, 2, &r, e);
    free(sql);
    if (rc)
        return rc;
    if (db_result_rows(r) < 1)
        rc = not_found(e);
    else
        *out = settings_parse(db_result_text(r, 0, 0));
    db_result_free(r);
    return rc;
}

int storage_replace(struct db *db, const struct storage_write *w, struct err *e)
{
    json_t *stored = NULL;
    if (w->has_data && w->len > STORAGE_DATA_MAX)
        return too_large(e);
    int rc = lock_settings(db, w, &stored, e);
    if (rc)
        return rc;
    bool json = w->has_data ? w->json : json_flag(stored);
    char *settings = settings_text(w->settings ? w->settings : stored, json);
    json_decref(stored);
    if (!settings)
        return err_set(e, ERR_INVALID, "Field settings: not encodable as JSON");
    struct sqlb b;
    sqlb_init(&b);
    sqlb_add(&b, "UPDATE storage SET settings = ");
    sqlb_text(&b, settings);
    if (w->has_data) {
        sqlb_add(&b, ", data = ");
        sqlb_param(&b, DB_BLOB(w->data ? w->data : "", w->len));
    }
    if (w->has_service) {
        sqlb_add(&b, ", user_service_id = ");
        sqlb_param(&b, w->user_service_id ? DB_INT(w->user_service_id) : DB_NULL);
    }
    sqlb_add(&b, " WHERE user_id = ");
    sqlb_int(&b, w->user_id);
    sqlb_add(&b, " AND name = ");
    sqlb_text(&b, w->name);
    rc = db_exec(db, b.sql.data, b.params, b.n, NULL, e);
    sqlb_free(&b);
    free(settings);
    return rc;
}

int storage_read(struct db *db, int64_t user_id, const char *name, struct storage_item *out,
                 struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(user_id), DB_TEXT(name) };
    int rc = db_query(db,
                      "SELECT data, settings, user_service_id FROM storage"
                      " WHERE user_id = $1 AND name = $2",
                      p, 2, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) < 1) {
        db_result_free(r);
        return not_found(e);
    }
    const char *data = db_result_text(r, 0, 0);
    json_t *settings = settings_parse(db_result_text(r, 0, 1));
    out->len = data ? db_result_len(r, 0, 0) : 0;
    out->data = xmalloc(out->len + 1);
    if (out->len)
        memcpy(out->data, data, out->len);
    out->data[out->len] = '\0';
    out->json = json_flag(settings);
    out->user_service_id = db_result_int(r, 0, 2);
    json_decref(settings);
    db_result_free(r);
    return 0;
}

void storage_item_release(struct storage_item *it)
{
    free(it->data);
    it->data = NULL;
    it->len = 0;
}

int storage_delete(struct db *db, int64_t user_id, const char *name, struct err *e)
{
    int64_t changed = 0;
    struct db_value p[] = { DB_INT(user_id), DB_TEXT(name) };
    int rc = db_exec(db, "DELETE FROM storage WHERE user_id = $1 AND name = $2", p, 2, &changed,
                     e);
    if (rc)
        return rc;
    return changed > 0 ? 0 : not_found(e);
}

int storage_delete_by_service(struct db *db, int64_t user_id, int64_t usi, int64_t *deleted,
                              struct err *e)
{
    int64_t changed = 0;
    struct db_value p[] = { DB_INT(user_id), DB_INT(usi) };
    int rc = db_exec(db, "DELETE FROM storage WHERE user_id = $1 AND user_service_id = $2", p, 2,
                     &changed, e);
    if (rc == 0 && deleted)
        *deleted = changed;
    return rc;
}
