/*
 * shm_import.c — SHM dump → billd tables (see shm_import.h).
 *
 * The table specifications below are SHM's schema as billd imports it:
 * columns in the order of SHM's shm_structure.sql (positional rows of a dump
 * without CREATE TABLE are read in this order; with one, in the dump's
 * order), each with its conversion, its SHM default and whether billd's
 * column may be NULL. Rows go through one parameterised INSERT per table, so
 * the statement cache keeps the work per row to binding and stepping.
 */
#include "shm_import.h"
#include "mysql_dump.h"
#include "../billing/ledger.h"
#include "../core/identity.h"
#include "../core/money.h"
#include "../core/password.h"
#include "../core/period.h"
#include "../util/strutil.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>

/* ---- SHM's tables ---- */

enum conv { CV_INT = 1, CV_REAL, CV_MONEY, CV_PERIOD, CV_DATE, CV_TEXT, CV_BLOB, CV_JSON };

enum col_flags {
    CF_KEY = 1 << 0,     /* part of the primary key */
    CF_AUTO = 1 << 1,    /* AUTO_INCREMENT integer key */
    CF_NOTNULL = 1 << 2, /* billd's column is NOT NULL */
    CF_SHAPE = 1 << 3,   /* a CREATE TABLE of SHM's table always has it */
};

/* The SHM default CURRENT_TIMESTAMP (compared by address). */
static const char DEF_NOW[] = "CURRENT_TIMESTAMP";

struct col_spec {
    const char *name;
    enum conv conv;
    unsigned flags;
    const char *def; /* SHM's default: NULL (SQL NULL), DEF_NOW, or a literal */
};

enum table_role { TR_IMPORT = 1, TR_SESSIONS, TR_LEGACY };
enum table_hook { TH_NONE = 0, TH_USERS, TH_USER_SERVICES, TH_IDENTITIES };

struct table_spec {
    const char *name;
    enum table_role role;
    enum table_hook hook;
    const struct col_spec *cols;
    size_t ncols;
};

#define KEY_AUTO (CF_KEY | CF_AUTO | CF_NOTNULL | CF_SHAPE)
#define NN CF_NOTNULL
#define SHAPE (CF_NOTNULL | CF_SHAPE)

static const struct col_spec users_cols[] = {
    { "user_id", CV_INT, KEY_AUTO, NULL },       { "partner_id", CV_INT, 0, NULL },
    { "login", CV_TEXT, SHAPE, NULL },           { "login2", CV_TEXT, 0, NULL },
    { "password", CV_TEXT, 0, NULL },            { "type", CV_INT, 0, NULL },
    { "created", CV_DATE, NN, DEF_NOW },         { "last_login", CV_DATE, 0, NULL },
    { "discount", CV_INT, NN, "0" },             { "balance", CV_MONEY, SHAPE, NULL },
    { "credit", CV_MONEY, NN, NULL },            { "comment", CV_TEXT, 0, NULL },
    { "dogovor", CV_TEXT, 0, NULL },             { "block", CV_INT, NN, "0" },
    { "gid", CV_INT, NN, NULL },                 { "perm_credit", CV_INT, NN, "0" },
    { "full_name", CV_TEXT, 0, NULL },           { "can_overdraft", CV_INT, NN, "0" },
    { "bonus", CV_MONEY, NN, NULL },             { "phone", CV_TEXT, 0, NULL },
    { "verified", CV_INT, 0, NULL },             { "create_act", CV_INT, 0, NULL },
    { "settings", CV_JSON, 0, NULL },
};

static const struct col_spec services_cols[] = {
    { "service_id", CV_INT, KEY_AUTO, NULL },    { "name", CV_TEXT, SHAPE, NULL },
    { "cost", CV_MONEY, 0, NULL },               { "period", CV_PERIOD, NN, "1" },
    { "category", CV_TEXT, 0, NULL },            { "children", CV_JSON, 0, NULL },
    { "next", CV_INT, 0, "0" },                  { "allow_to_order", CV_INT, 0, NULL },
    { "max_count", CV_INT, 0, NULL },            { "question", CV_INT, 0, NULL },
    { "pay_always", CV_INT, 0, "0" },            { "no_discount", CV_INT, 0, "0" },
    { "descr", CV_TEXT, 0, NULL },               { "pay_in_credit", CV_INT, 0, "0" },
    { "config", CV_JSON, 0, NULL },              { "is_composite", CV_INT, NN, "0" },
    { "deleted", CV_INT, NN, "0" },
};

static const struct col_spec user_services_cols[] = {
    { "user_service_id", CV_INT, KEY_AUTO, NULL }, { "user_id", CV_INT, SHAPE, NULL },
    { "service_id", CV_INT, SHAPE, NULL },         { "auto_bill", CV_INT, NN, "1" },
    { "withdraw_id", CV_INT, 0, NULL },            { "created", CV_DATE, NN, DEF_NOW },
    { "expire", CV_DATE, 0, NULL },                { "status_before", CV_TEXT, NN, NULL },
    { "status", CV_TEXT, NN, NULL },               { "next", CV_INT, 0, NULL },
    { "parent", CV_INT, 0, NULL },                 { "settings", CV_JSON, 0, NULL },
};

static const struct col_spec withdraw_cols[] = {
    { "withdraw_id", CV_INT, KEY_AUTO, NULL },  { "user_id", CV_INT, SHAPE, NULL },
    { "create_date", CV_DATE, NN, DEF_NOW },    { "withdraw_date", CV_DATE, 0, NULL },
    { "end_date", CV_DATE, 0, NULL },           { "cost", CV_MONEY, NN, "0.00" },
    { "discount", CV_INT, NN, "0" },            { "bonus", CV_MONEY, NN, "0.00" },
    { "months", CV_PERIOD, NN, "1" },           { "total", CV_MONEY, NN, "0.00" },
    { "service_id", CV_INT, NN, NULL },         { "qnt", CV_REAL, NN, "1" },
    { "user_service_id", CV_INT, NN, NULL },
};

static const struct col_spec pays_cols[] = {
    { "id", CV_INT, KEY_AUTO, NULL },           { "user_id", CV_INT, SHAPE, NULL },
    { "pay_system_id", CV_TEXT, 0, NULL },      { "money", CV_MONEY, NN, "0.00" },
    { "date", CV_DATE, NN, DEF_NOW },           { "comment", CV_JSON, 0, NULL },
    { "uniq_key", CV_TEXT, 0, NULL },
};

static const struct col_spec bonus_cols[] = {
    { "id", CV_INT, KEY_AUTO, NULL },  { "user_id", CV_INT, SHAPE, NULL },
    { "date", CV_DATE, NN, DEF_NOW },  { "bonus", CV_MONEY, NN, NULL },
    { "comment", CV_JSON, 0, NULL },
};

static const struct col_spec discounts_cols[] = {
    { "discount_id", CV_INT, KEY_AUTO, NULL }, { "title", CV_TEXT, NN, NULL },
    { "months", CV_PERIOD, NN, NULL },         { "percent", CV_INT, NN, NULL },
    { "share", CV_INT, 0, NULL },
};

static const struct col_spec events_cols[] = {
    { "id", CV_INT, KEY_AUTO, NULL },      { "kind", CV_TEXT, NN, NULL },
    { "title", CV_TEXT, NN, NULL },        { "name", CV_TEXT, SHAPE, NULL },
    { "server_gid", CV_INT, 0, NULL },     { "settings", CV_JSON, 0, NULL },
};

static const struct col_spec spool_cols[] = {
    { "id", CV_INT, KEY_AUTO, NULL },          { "user_id", CV_INT, SHAPE, NULL },
    { "user_service_id", CV_INT, 0, NULL },    { "response", CV_JSON, 0, NULL },
    { "event", CV_JSON, NN, NULL },            { "prio", CV_INT, NN, "0" },
    { "status", CV_TEXT, NN, "NEW" },          { "created", CV_DATE, NN, DEF_NOW },
    { "executed", CV_DATE, 0, NULL },          { "delayed", CV_INT, NN, "0" },
    { "settings", CV_JSON, 0, NULL },
};

static const struct col_spec spool_history_cols[] = {
    { "id", CV_INT, KEY_AUTO, NULL },          { "spool_id", CV_INT, SHAPE, NULL },
    { "user_id", CV_INT, NN, NULL },           { "user_service_id", CV_INT, 0, NULL },
    { "response", CV_JSON, 0, NULL },          { "event", CV_JSON, 0, NULL },
    { "prio", CV_INT, NN, "0" },               { "status", CV_TEXT, NN, NULL },
    { "created", CV_DATE, NN, DEF_NOW },       { "executed", CV_DATE, 0, NULL },
    { "delayed", CV_INT, NN, "0" },            { "settings", CV_JSON, 0, NULL },
};

static const struct col_spec servers_cols[] = {
    { "server_id", CV_INT, KEY_AUTO, NULL },   { "server_gid", CV_INT, 0, NULL },
    { "name", CV_TEXT, 0, NULL },              { "transport", CV_TEXT, SHAPE, NULL },
    { "host", CV_TEXT, 0, NULL },              { "ip", CV_TEXT, 0, NULL },
    { "weight", CV_INT, 0, "100" },            { "success_count", CV_INT, NN, "0" },
    { "fail_count", CV_INT, NN, "0" },         { "services_count", CV_INT, NN, "0" },
    { "enabled", CV_INT, NN, "1" },            { "settings", CV_JSON, 0, NULL },
};

static const struct col_spec groups_cols[] = {
    { "group_id", CV_INT, KEY_AUTO, NULL }, { "name", CV_TEXT, 0, NULL },
    { "transport", CV_TEXT, NN, "ssh" },    { "type", CV_TEXT, NN, "random" },
    { "settings", CV_JSON, 0, NULL },
};

static const struct col_spec identities_cols[] = {
    { "id", CV_INT, KEY_AUTO, NULL },          { "name", CV_TEXT, NN, NULL },
    { "private_key", CV_TEXT, SHAPE, NULL },   { "public_key", CV_TEXT, 0, NULL },
    { "fingerprint", CV_TEXT, 0, NULL },
};

static const struct col_spec templates_cols[] = {
    { "id", CV_TEXT, CF_KEY | SHAPE, NULL }, { "data", CV_TEXT, 0, NULL },
    { "settings", CV_JSON, 0, NULL },
};

static const struct col_spec console_cols[] = {
    { "id", CV_INT, KEY_AUTO, NULL }, { "start", CV_DATE, NN, DEF_NOW },
    { "stop", CV_DATE, 0, NULL },     { "log", CV_BLOB, SHAPE, NULL },
    { "eof", CV_INT, NN, "0" },
};

static const struct col_spec profiles_cols[] = {
    { "id", CV_INT, KEY_AUTO, NULL }, { "user_id", CV_INT, NN, NULL },
    { "data", CV_JSON, 0, NULL },     { "created", CV_DATE, NN, DEF_NOW },
};

static const struct col_spec config_cols[] = {
    { "key", CV_TEXT, CF_KEY | SHAPE, NULL }, { "value", CV_JSON, NN, NULL },
};

static const struct col_spec storage_cols[] = {
    { "user_id", CV_INT, CF_KEY | SHAPE, NULL }, { "name", CV_TEXT, CF_KEY | SHAPE, NULL },
    { "user_service_id", CV_INT, 0, NULL },      { "created", CV_DATE, NN, DEF_NOW },
    { "data", CV_BLOB, 0, NULL },                { "settings", CV_JSON, 0, NULL },
};

static const struct col_spec promo_cols[] = {
    { "id", CV_TEXT, CF_KEY | SHAPE, NULL },   { "user_id", CV_INT, CF_KEY | SHAPE, NULL },
    { "template_id", CV_TEXT, NN, NULL },      { "created", CV_DATE, NN, DEF_NOW },
    { "used", CV_DATE, 0, NULL },              { "used_by", CV_INT, 0, NULL },
    { "settings", CV_JSON, 0, NULL },          { "expire", CV_DATE, 0, NULL },
};

#define SPEC(n, role, hook, cols) { n, role, hook, cols, ARRAY_SIZE(cols) }
#define LEGACY(n) { n, TR_LEGACY, TH_NONE, NULL, 0 }

/* In the order rows are best loaded; also the order of the summary. */
static const struct table_spec tables[] = {
    SPEC("users", TR_IMPORT, TH_USERS, users_cols),
    SPEC("services", TR_IMPORT, TH_NONE, services_cols),
    SPEC("user_services", TR_IMPORT, TH_USER_SERVICES, user_services_cols),
    SPEC("withdraw_history", TR_IMPORT, TH_NONE, withdraw_cols),
    SPEC("pays_history", TR_IMPORT, TH_NONE, pays_cols),
    SPEC("bonus_history", TR_IMPORT, TH_NONE, bonus_cols),
    SPEC("discounts", TR_IMPORT, TH_NONE, discounts_cols),
    SPEC("events", TR_IMPORT, TH_NONE, events_cols),
    SPEC("spool", TR_IMPORT, TH_NONE, spool_cols),
    SPEC("spool_history", TR_IMPORT, TH_NONE, spool_history_cols),
    SPEC("servers", TR_IMPORT, TH_NONE, servers_cols),
    SPEC("servers_groups", TR_IMPORT, TH_NONE, groups_cols),
    SPEC("identities", TR_IMPORT, TH_IDENTITIES, identities_cols),
    SPEC("templates", TR_IMPORT, TH_NONE, templates_cols),
    SPEC("console", TR_IMPORT, TH_NONE, console_cols),
    SPEC("profiles", TR_IMPORT, TH_NONE, profiles_cols),
    SPEC("config", TR_IMPORT, TH_NONE, config_cols),
    SPEC("storage", TR_IMPORT, TH_NONE, storage_cols),
    SPEC("promo_codes", TR_IMPORT, TH_NONE, promo_cols),
    { "sessions", TR_SESSIONS, TH_NONE, NULL, 0 },
    LEGACY("acts"), LEGACY("acts_data"), LEGACY("apps"), LEGACY("dns_services"),
    LEGACY("domains"), LEGACY("domains_services"), LEGACY("invoices"), LEGACY("zones"),
};
#define NTABLES ARRAY_SIZE(tables)

/*
 * Emptied before the import, in an order that respects the foreign keys
 * (sessions → users, user_services.parent). ledger, idempotency_keys and
 * pays_history_deleted hold billd-side history of the data being replaced.
 */
static const char *const clear_order[] = {
    "sessions", "ledger", "idempotency_keys", "pays_history_deleted", "import_quarantine",
    "user_services", "withdraw_history", "pays_history", "bonus_history", "storage", "profiles",
    "promo_codes", "discounts", "events", "spool", "spool_history", "console", "servers",
    "servers_groups", "identities", "templates", "services", "config", "users",
};

/* What counts as data (shm_import_database_is_empty): each query counts rows that are no seed. */
static const struct {
    const char *table;
    const char *sql;
    const char *besides;
} data_checks[] = {
    { "users", "SELECT count(*) FROM users WHERE user_id <> 1", " besides the first admin" },
    { "services", "SELECT count(*) FROM services WHERE service_id <> 1", " besides the seed service" },
    { "events", "SELECT count(*) FROM events WHERE id <> 1", " besides the seed event" },
    { "servers_groups", "SELECT count(*) FROM servers_groups WHERE group_id NOT IN (1, 2, 3, 4)",
      " besides the seed groups" },
    { "spool", "SELECT count(*) FROM spool WHERE id NOT IN (1, 2, 3)", " besides the periodic jobs" },
    { "templates", "SELECT count(*) FROM templates WHERE id NOT IN ('forecast', 'user_password_reset')",
      " besides the seed templates" },
    { "user_services", "SELECT count(*) FROM user_services", "" },
    { "withdraw_history", "SELECT count(*) FROM withdraw_history", "" },
    { "pays_history", "SELECT count(*) FROM pays_history", "" },
    { "pays_history_deleted", "SELECT count(*) FROM pays_history_deleted", "" },
    { "bonus_history", "SELECT count(*) FROM bonus_history", "" },
    { "ledger", "SELECT count(*) FROM ledger", "" },
    { "storage", "SELECT count(*) FROM storage", "" },
    { "profiles", "SELECT count(*) FROM profiles", "" },
    { "promo_codes", "SELECT count(*) FROM promo_codes", "" },
    { "identities", "SELECT count(*) FROM identities", "" },
    { "servers", "SELECT count(*) FROM servers", "" },
    { "discounts", "SELECT count(*) FROM discounts", "" },
    { "spool_history", "SELECT count(*) FROM spool_history WHERE spool_id NOT IN (1, 2, 3)",
      " besides runs of the periodic jobs" },
    { "import_quarantine", "SELECT count(*) FROM import_quarantine", "" },
};

#define PROGRESS_EVERY 1000
#define MAX_WARNINGS 50
#define MAX_QUARANTINE_LISTED 20

/* ---- importer state ---- */

struct table_state {
    const struct table_spec *spec;
    char **dump_cols; /* column order of the dump's CREATE TABLE, if any */
    size_t ndump_cols;
    int64_t max_id;   /* largest AUTO key so far (MySQL numbers `default` as max + 1) */
    int64_t next_id;  /* the dump's AUTO_INCREMENT=N: SHM's next id, 0 if not given */
    int64_t rows, imported, ignored, replaced, skipped;
    bool seen;
    char *insert_sql[2]; /* plain, ON CONFLICT DO NOTHING */
    char *delete_sql;
};

/* A table of the dump that is not imported. */
struct other_table {
    char *name;
    int64_t rows;
};

struct parent_fix {
    int64_t usi, parent;
};

struct shm_import {
    struct db *db;
    struct shm_import_options opt;
    int64_t now;
    bool in_tx, failed;
    struct table_state t[NTABLES];
    struct other_table *others;
    size_t nothers;
    struct parent_fix *parents;
    size_t nparents, parents_cap;
    char **cfg_keys, **cfg_values; /* billd's config before the import */
    size_t ncfg;
    const char *source; /* borrowed for the current feed */
    unsigned feeds;
    uint64_t map_stmt;  /* the statement im->map was built for */
    unsigned map_feed;
    int *map;           /* dump value index → spec column (-1 = not imported) */
    size_t nmap;
    struct buf warnings;
    int nwarnings;
    struct buf quarantine;
    int64_t nquarantined;
    int64_t opening_users, opening_money, opening_bonus, sessions_skipped, dangling_parents;
    int64_t plain_passwords;
    struct table_state *progress_table; /* the table of the last row */
};

static struct table_state *find_table(struct shm_import *im, const char *name)
{
    for (size_t i = 0; i < NTABLES; i++)
        if (strcmp(tables[i].name, name) == 0)
            return &im->t[i];
    return NULL;
}

static int col_index(const struct table_spec *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcasecmp(s->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void warn(struct shm_import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct shm_import *im, const char *fmt, ...)
{
    va_list ap;
    if (im->nwarnings++ >= MAX_WARNINGS)
        return;
    buf_puts(&im->warnings, "  ");
    va_start(ap, fmt);
    buf_vprintf(&im->warnings, fmt, ap);
    va_end(ap);
    buf_putc(&im->warnings, '\n');
}

static void count_other(struct shm_import *im, const char *name, int64_t rows)
{
    for (size_t i = 0; i < im->nothers; i++)
        if (strcmp(im->others[i].name, name) == 0) {
            im->others[i].rows += rows;
            return;
        }
    im->others = xrealloc(im->others, (im->nothers + 1) * sizeof(*im->others));
    im->others[im->nothers++] = (struct other_table){ .name = xstrdup(name), .rows = rows };
}

/*
 * After a row of t: tells the progress callback the final count of the
 * previous table when the dump moves on to another one, and t's count every
 * PROGRESS_EVERY rows. t NULL: the end (the last table's final count).
 */
static void progress(struct shm_import *im, struct table_state *t)
{
    struct table_state *prev = im->progress_table;
    if (!im->opt.progress)
        return;
    if (prev && prev != t)
        im->opt.progress(im->opt.progress_ctx, prev->spec->name, prev->imported);
    if (t && t->imported && t->imported % PROGRESS_EVERY == 0)
        im->opt.progress(im->opt.progress_ctx, t->spec->name, t->imported);
    im->progress_table = t;
}

/* ---- text helpers ---- */

/* Length of the valid UTF-8 sequence at s[0..n) (1..4), or 0 if invalid (PostgreSQL's rules). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0xff >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* True when s[0..n) is UTF-8 without NUL bytes (what a billd TEXT column may hold). */
static bool text_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = u[i] ? utf8_seq(u + i, n - i) : 0;
        if (!k)
            return false;
        i += k;
    }
    return true;
}

/* Appends s[0..n) to out with invalid bytes and NULs replaced by U+FFFD. */
static void append_lossy(struct buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = u[i] ? utf8_seq(u + i, n - i) : 0;
        if (k) {
            buf_append(out, s + i, k);
            i += k;
        } else {
            buf_puts(out, "\xef\xbf\xbd");
            i++;
        }
    }
}

/* The length of s[0..len) cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_clip(const char *s, size_t len, size_t max)
{
    if (!s || len <= max)
        return s ? len : 0;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/* ---- one row ---- */

struct cell {
    struct db_value v;
    char *owned;       /* storage behind v.s when converted (freed after the row) */
    char num[32];      /* storage for short converted text */
};

struct pending_q {
    int col;
    const struct mysql_value *raw;
    char reason[200];
};

struct row {
    struct shm_import *im;
    struct table_state *t;
    const struct mysql_row *r;
    struct cell cells[32];
    char key[200];           /* the row's key for messages ("40092", "40092/name") */
    bool skip;               /* a NOT NULL JSON column is broken: the row is not imported */
    struct pending_q q[8];
    size_t nq;
    char *extra;             /* identities: fingerprint_sha256 (owned) */
};

/* Error about one value: "line N: table row KEY, column C: …". */
static int row_err(struct row *w, int col, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int row_err(struct row *w, int col, struct err *e, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(e, ERR_INVALID, "line %ld: %s row %s, column %s: %s", w->r->line,
                   w->t->spec->name, w->key[0] ? w->key : "?",
                   col >= 0 ? w->t->spec->cols[col].name : "?", msg);
}

/* A short printable excerpt of a value for messages. */
static const char *excerpt(const struct mysql_value *raw, char *out, size_t outlen)
{
    size_t max = outlen - 4, n = raw->len < max ? raw->len : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw->data[i];
        out[i] = c >= 0x20 && c != 0x7f ? (char)c : '?';
    }
    if (raw->len > max)
        memcpy(out + n, "...", 4);
    else
        out[n] = '\0';
    return out;
}

static int conv_int(struct row *w, int col, const char *s, size_t n, struct cell *c, struct err *e)
{
    int64_t v;
    char ex[48];
    if (parse_i64(s, n, INT64_MIN, INT64_MAX, &v) == 0) {
        c->v = DB_INT(v);
        return 0;
    }
    /* "1.00" in an integer column is 1 (hand-written seeds); other fractions are not */
    int64_t minor;
    if (money_parse(s, n, &minor) == 0 && minor % 100 == 0) {
        c->v = DB_INT(minor / 100);
        return 0;
    }
    struct mysql_value tmp = { .data = s, .len = n };
    return row_err(w, col, e, "'%s' is not an integer", excerpt(&tmp, ex, sizeof(ex)));
}

static int conv_real(struct row *w, int col, const char *s, size_t n, struct cell *c, struct err *e)
{
    char *end;
    char ex[48];
    double d = n < sizeof(c->num) ? strtod(s, &end) : NAN;
    if (n >= sizeof(c->num) || end != s + n || n == 0 || !isfinite(d)) {
        struct mysql_value tmp = { .data = s, .len = n };
        return row_err(w, col, e, "'%s' is not a number", excerpt(&tmp, ex, sizeof(ex)));
    }
    snprintf(c->num, sizeof(c->num), "%.17g", d);
    c->v = DB_TEXT(c->num);
    return 0;
}

/* Strips MySQL's fractional seconds ("…:59.123456") and reads a local date. */
static int conv_date(struct row *w, int col, const char *s, size_t n, struct cell *c, struct err *e)
{
    char d[32], ex[48];
    int64_t t;
    size_t len = n;
    if (n >= 20 && n < sizeof(d) && s[19] == '.')
        len = 19;
    if (len >= sizeof(d)) {
        struct mysql_value tmp = { .data = s, .len = n };
        return row_err(w, col, e, "'%s' is not a date", excerpt(&tmp, ex, sizeof(ex)));
    }
    memcpy(d, s, len);
    d[len] = '\0';
    if (strncmp(d, "0000-00-00", 10) == 0) { /* MySQL's zero date: no date */
        c->v = DB_NULL;
        return 0;
    }
    if (time_parse_local(d, &t)) {
        struct mysql_value tmp = { .data = s, .len = n };
        return row_err(w, col, e, "'%s' is not a date YYYY-MM-DD HH:MM:SS",
                       excerpt(&tmp, ex, sizeof(ex)));
    }
    c->v = DB_INT(t);
    return 0;
}

/* Records a broken JSON value for the quarantine (written once the row is in). */
static void quarantine_later(struct row *w, int col, const struct mysql_value *raw, const char *why)
{
    if (w->nq < ARRAY_SIZE(w->q)) {
        struct pending_q *q = &w->q[w->nq++];
        struct buf clean; /* jansson quotes input in its messages: keep the text valid UTF-8 */
        buf_init(&clean, 0);
        append_lossy(&clean, why, strlen(why));
        size_t n = utf8_clip(clean.data, clean.len, sizeof(q->reason) - 1);
        memcpy(q->reason, clean.data, n);
        q->reason[n] = '\0';
        q->col = col;
        q->raw = raw;
        buf_free(&clean);
    }
}

static int conv_json(struct row *w, int col, const struct mysql_value *raw, struct cell *c)
{
    json_error_t jerr;
    char why[200];
    json_t *j = NULL;
    if (!text_ok(raw->data, raw->len))
        snprintf(why, sizeof(why), "not UTF-8 text (or holds a NUL byte)");
    else if (!(j = json_loadb(raw->data, raw->len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL,
                              &jerr)))
        snprintf(why, sizeof(why), "invalid JSON: %.120s (at character %d)", jerr.text,
                 jerr.position);
    if (j) {
        json_decref(j);
        c->v = (struct db_value){ .type = DBT_TEXT, .s = raw->data, .len = raw->len };
        return 0;
    }
    quarantine_later(w, col, raw, why);
    c->v = DB_NULL;
    if (w->t->spec->cols[col].flags & CF_NOTNULL)
        w->skip = true;
    return 0;
}

/* Converts a literal (from the dump or an SHM default) for column col. */
static int conv_literal(struct row *w, int col, const struct mysql_value *raw, struct cell *c,
                        struct err *e)
{
    const struct col_spec *cs = &w->t->spec->cols[col];
    const char *s = raw->data;
    size_t n = raw->len;
    char ex[48];
    int64_t v;
    bool numeric = cs->conv == CV_INT || cs->conv == CV_REAL || cs->conv == CV_MONEY ||
                   cs->conv == CV_PERIOD || cs->conv == CV_DATE;
    if (numeric && n == 0) { /* '' in a numeric column: no value */
        c->v = DB_NULL;
        return 0;
    }
    if (numeric && raw->binary)
        return row_err(w, col, e, "binary data where a value was expected");
    switch (cs->conv) {
    case CV_INT:
        return conv_int(w, col, s, n, c, e);
    case CV_REAL:
        return conv_real(w, col, s, n, c, e);
    case CV_MONEY:
        if (money_parse(s, n, &v))
            return row_err(w, col, e, "'%s' is not an amount with at most 2 decimals",
                           excerpt(raw, ex, sizeof(ex)));
        c->v = DB_INT(v);
        return 0;
    case CV_PERIOD:
        if (period_parse(s, n, &v))
            return row_err(w, col, e, "'%s' is not a period (M.DDHH, at most 4 decimals)",
                           excerpt(raw, ex, sizeof(ex)));
        c->v = DB_INT(v);
        return 0;
    case CV_DATE:
        return conv_date(w, col, s, n, c, e);
    case CV_JSON:
        return conv_json(w, col, raw, c);
    case CV_BLOB:
        c->v = DB_BLOB(s, n);
        return 0;
    case CV_TEXT:
    default:
        if (!text_ok(s, n))
            return row_err(w, col, e, "not UTF-8 text (or holds a NUL byte), which billd's text"
                                      " columns cannot store");
        c->v = (struct db_value){ .type = DBT_TEXT, .s = s, .len = n };
        return 0;
    }
}

/* The value of an absent or DEFAULT column: SHM's default, or the next AUTO id. */
static int conv_default(struct row *w, int col, struct cell *c, struct err *e)
{
    const struct col_spec *cs = &w->t->spec->cols[col];
    if (cs->flags & CF_AUTO) {
        c->v = DB_INT(w->t->max_id + 1);
        return 0;
    }
    if (!cs->def) {
        c->v = DB_NULL;
        return 0;
    }
    if (cs->def == DEF_NOW) {
        c->v = DB_INT(w->im->now);
        return 0;
    }
    struct mysql_value lit = { .type = MYSQL_STRING, .data = cs->def, .len = strlen(cs->def) };
    return conv_literal(w, col, &lit, c, e);
}

/* NULL where billd's column may not be NULL: SHM's default, else MySQL's implicit zero value. */
static int conv_not_null(struct row *w, int col, struct cell *c, struct err *e)
{
    const struct col_spec *cs = &w->t->spec->cols[col];
    int rc = cs->def ? conv_default(w, col, c, e) : 0;
    if (rc || c->v.type != DBT_NULL)
        return rc;
    switch (cs->conv) {
    case CV_TEXT:
        c->v = (struct db_value){ .type = DBT_TEXT, .s = "", .len = 0 };
        break;
    case CV_BLOB:
        c->v = DB_BLOB("", 0);
        break;
    case CV_JSON: /* no JSON where billd needs one (config.value, spool.event): nothing to store */
        if (!w->skip)
            warn(w->im, "%s row %s (line %ld): %s is NULL; the row is not imported",
                 w->t->spec->name, w->key, w->r->line, cs->name);
        w->skip = true;
        break;
    case CV_REAL:
        c->v = DB_TEXT("0");
        break;
    default:
        c->v = DB_INT(0);
        break;
    }
    return 0;
}

/* Converts the dump's value raw (NULL: the column is not in the dump) for column col. */
static int convert(struct row *w, int col, const struct mysql_value *raw, struct err *e)
{
    const struct col_spec *cs = &w->t->spec->cols[col];
    struct cell *c = &w->cells[col];
    int rc = 0;
    c->v = DB_NULL;
    if (!raw || raw->type == MYSQL_DEFAULT) {
        rc = conv_default(w, col, c, e);
    } else if (raw->type == MYSQL_NULL) {
        if (cs->flags & CF_AUTO) /* NULL into AUTO_INCREMENT takes the next id */
            rc = conv_default(w, col, c, e);
    } else if (raw->type == MYSQL_NOW) {
        if (cs->conv != CV_DATE)
            return row_err(w, col, e, "NOW() in a column that holds no date");
        c->v = DB_INT(w->im->now);
    } else {
        rc = conv_literal(w, col, raw, c, e);
    }
    if (rc == 0 && c->v.type == DBT_NULL && (cs->flags & CF_NOTNULL))
        rc = conv_not_null(w, col, c, e);
    return rc;
}

/* The dump's value for spec column col in this row, or NULL. */
static const struct mysql_value *raw_for(const struct row *w, int col)
{
    for (size_t i = 0; i < w->im->nmap; i++)
        if (w->im->map[i] == col)
            return &w->r->values[i];
    return NULL;
}

/* Converts the key columns first, so every later message can name the row. */
static int convert_key(struct row *w, struct err *e)
{
    const struct table_spec *s = w->t->spec;
    size_t n = 0;
    for (size_t i = 0; i < s->ncols; i++) {
        if (!(s->cols[i].flags & CF_KEY))
            continue;
        int rc = convert(w, (int)i, raw_for(w, (int)i), e);
        if (rc)
            return rc;
        const struct db_value *v = &w->cells[i].v;
        if (v->type == DBT_INT)
            n += (size_t)snprintf(w->key + n, sizeof(w->key) - n, "%s%lld", n ? "/" : "",
                                  (long long)v->i);
        else
            n += (size_t)snprintf(w->key + n, sizeof(w->key) - n, "%s%.*s", n ? "/" : "",
                                  (int)utf8_clip(v->s, v->len, 64), v->s ? v->s : "");
        if (n >= sizeof(w->key))
            n = sizeof(w->key) - 1;
        if ((s->cols[i].flags & CF_AUTO) && v->i > w->t->max_id)
            w->t->max_id = v->i;
    }
    return 0;
}

static int convert_row(struct row *w, struct err *e)
{
    int rc = convert_key(w, e);
    for (size_t i = 0; rc == 0 && i < w->t->spec->ncols; i++)
        if (!(w->t->spec->cols[i].flags & CF_KEY))
            rc = convert(w, (int)i, raw_for(w, (int)i), e);
    return rc;
}

static void free_row(struct row *w)
{
    for (size_t i = 0; i < ARRAY_SIZE(w->cells); i++)
        free(w->cells[i].owned);
    free(w->extra);
}

/* ---- table hooks ---- */

static int column_of(const struct table_spec *s, const char *name)
{
    int i = col_index(s, name);
    assert(i >= 0);
    return i;
}

/* identities: seal the private key; derive the SHA-256 fingerprint billd shows. */
static int prepare_identity(struct row *w, struct err *e)
{
    int col = column_of(w->t->spec, "private_key");
    struct cell *c = &w->cells[col];
    struct identity_pub pub = { 0 };
    struct err derr;
    char *plain = xstrndup(c->v.s ? c->v.s : "", c->v.len);
    char *sealed = NULL;
    int rc = identity_seal(w->im->opt.cfg, plain, &sealed, e);
    if (rc == 0 && identity_describe(plain, NULL, &pub, &derr) == 0)
        w->extra = xstrdup(pub.fingerprint_sha256);
    else if (rc == 0)
        warn(w->im, "identities row %s: the private key could not be read (%s); stored sealed"
                    " as it is", w->key, derr.msg);
    identity_pub_free(&pub);
    sodium_memzero(plain, strlen(plain));
    free(plain);
    if (rc)
        return rc;
    c->owned = sealed;
    c->v = DB_TEXT(sealed);
    return 0;
}

/*
 * users.password that is no hash SHM ever verifies is a password stored in
 * plain text (SHM's PUT /admin/user, quirk Q3): it is hashed with argon2id
 * here, so no plain-text secret lands in billd (D17) and the user can log in
 * with the password the admin gave. Empty stays empty (no password login).
 */
static int hash_plain_password(struct row *w, struct err *e)
{
    struct cell *c = &w->cells[column_of(w->t->spec, "password")];
    char hash[PASSWORD_HASH_MAX];
    if (c->v.type != DBT_TEXT || c->v.len == 0 || password_scheme_of(c->v.s) != PASSWORD_SCHEME_NONE)
        return 0;
    if (password_hash(c->v.s, hash)) {
        warn(w->im, "users row %s: a plain-text password too long to hash; the user has no"
                    " password now", w->key);
        c->v = DB_NULL;
        return 0;
    }
    w->im->plain_passwords++;
    c->owned = xstrdup(hash);
    c->v = DB_TEXT(c->owned);
    UNUSED(e);
    return 0;
}

/* Before the insert: values that are applied afterwards are held back. */
static int before_insert(struct row *w, int64_t *money, int64_t *bonus, int64_t *parent,
                         struct err *e)
{
    const struct table_spec *s = w->t->spec;
    if (s->hook == TH_USERS) {
        struct cell *m = &w->cells[column_of(s, "balance")];
        struct cell *b = &w->cells[column_of(s, "bonus")];
        *money = m->v.i;
        *bonus = b->v.i;
        m->v = DB_INT(0); /* set through the ledger after the insert (D7) */
        b->v = DB_INT(0);
        return hash_plain_password(w, e);
    } else if (s->hook == TH_USER_SERVICES) {
        struct cell *p = &w->cells[column_of(s, "parent")];
        *parent = p->v.type == DBT_INT ? p->v.i : 0;
        p->v = DB_NULL; /* set once every row is in: a parent may come later */
    } else if (s->hook == TH_IDENTITIES) {
        return prepare_identity(w, e);
    }
    return 0;
}

static int after_insert(struct row *w, int64_t money, int64_t bonus, int64_t parent,
                        struct err *e)
{
    struct shm_import *im = w->im;
    const struct table_spec *s = w->t->spec;
    int64_t id = w->cells[0].v.i;
    if (s->hook == TH_USERS && (money || bonus)) {
        im->opening_users++;
        im->opening_money += money;
        im->opening_bonus += bonus;
        return ledger_adjust(im->db, id, money, bonus, "opening", "users", id,
                             "opening balance imported from SHM", e);
    }
    if (s->hook == TH_USER_SERVICES && parent) {
        if (im->nparents == im->parents_cap) {
            im->parents_cap = im->parents_cap ? im->parents_cap * 2 : 256;
            im->parents = xrealloc(im->parents, im->parents_cap * sizeof(*im->parents));
        }
        im->parents[im->nparents++] = (struct parent_fix){ .usi = id, .parent = parent };
    }
    return 0;
}

/* ---- SQL of a table ---- */

static const char *insert_sql(struct table_state *t, bool ignore)
{
    char **slot = &t->insert_sql[ignore];
    if (*slot)
        return *slot;
    struct buf b;
    const struct table_spec *s = t->spec;
    buf_init(&b, 0);
    buf_printf(&b, "INSERT INTO %s (", s->name);
    for (size_t i = 0; i < s->ncols; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", s->cols[i].name);
    if (s->hook == TH_IDENTITIES)
        buf_puts(&b, ", fingerprint_sha256");
    buf_puts(&b, ") VALUES (");
    size_t n = s->ncols + (s->hook == TH_IDENTITIES);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s$%zu", i ? ", " : "", i + 1);
    buf_printf(&b, ")%s", ignore ? " ON CONFLICT DO NOTHING" : "");
    *slot = buf_detach(&b, NULL);
    return *slot;
}

static const char *delete_sql(struct table_state *t)
{
    if (t->delete_sql)
        return t->delete_sql;
    struct buf b;
    int n = 0;
    buf_init(&b, 0);
    buf_printf(&b, "DELETE FROM %s WHERE ", t->spec->name);
    for (size_t i = 0; i < t->spec->ncols; i++) {
        if (!(t->spec->cols[i].flags & CF_KEY))
            continue;
        buf_printf(&b, "%s%s = $%d", n ? " AND " : "", t->spec->cols[i].name, n + 1);
        n++;
    }
    t->delete_sql = buf_detach(&b, NULL);
    return t->delete_sql;
}

/* REPLACE: the old row goes first (a user's opening ledger row with it). */
static int delete_for_replace(struct row *w, struct err *e)
{
    struct db_value keys[4];
    int n = 0;
    int64_t changed = 0;
    for (size_t i = 0; i < w->t->spec->ncols && n < 4; i++)
        if (w->t->spec->cols[i].flags & CF_KEY)
            keys[n++] = w->cells[i].v;
    if (w->t->spec->hook == TH_USERS) {
        int rc = db_exec(w->im->db, "DELETE FROM ledger WHERE user_id = $1", keys, 1, NULL, e);
        if (rc)
            return rc;
    }
    int rc = db_exec(w->im->db, delete_sql(w->t), keys, n, &changed, e);
    if (rc == 0 && changed)
        w->t->replaced++;
    return rc;
}

static int insert_quarantine(struct row *w, bool imported, struct err *e)
{
    struct shm_import *im = w->im;
    for (size_t i = 0; i < w->nq; i++) {
        const struct pending_q *q = &w->q[i];
        const char *col = w->t->spec->cols[q->col].name;
        struct buf raw;
        buf_init(&raw, 0);
        append_lossy(&raw, q->raw->data, q->raw->len);
        struct db_value p[] = { DB_TEXT(w->t->spec->name), DB_TEXT(w->key), DB_TEXT(col),
                                DB_TEXT(raw.data), DB_TEXT(q->reason), DB_INT(imported),
                                DB_INT(im->now) };
        int rc = db_exec(im->db,
                         "INSERT INTO import_quarantine (table_name, row_key, column_name, raw_text,"
                         " reason, row_imported, created) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                         p, 7, NULL, e);
        buf_free(&raw);
        if (rc)
            return rc;
        if (im->nquarantined++ < MAX_QUARANTINE_LISTED)
            buf_printf(&im->quarantine, "  %s row %s, column %s (line %ld): %s%s\n",
                       w->t->spec->name, w->key, col, w->r->line, q->reason,
                       imported ? "" : "; the row was not imported (the column may not be NULL)");
    }
    return 0;
}

static int store_row(struct row *w, struct err *e)
{
    struct table_state *t = w->t;
    size_t n = t->spec->ncols;
    int64_t money = 0, bonus = 0, parent = 0, changed = 0;
    struct db_value p[ARRAY_SIZE(w->cells) + 1];
    int rc = 0;
    if (w->r->kind == MYSQL_INSERT_REPLACE)
        rc = delete_for_replace(w, e);
    if (rc == 0)
        rc = before_insert(w, &money, &bonus, &parent, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        p[i] = w->cells[i].v;
    if (t->spec->hook == TH_IDENTITIES)
        p[n++] = DB_TEXT(w->extra);
    if (rc == 0)
        rc = db_exec(w->im->db, insert_sql(t, w->r->kind == MYSQL_INSERT_IGNORE), p, (int)n,
                     &changed, e);
    if (rc == ERR_CONFLICT)
        return err_set(e, ERR_CONFLICT, "line %ld: %s row %s: duplicate key (a plain INSERT of a"
                                        " row that is already there)", w->r->line,
                       t->spec->name, w->key);
    if (rc)
        return rc;
    if (changed == 0) {
        t->ignored++;
        return 0;
    }
    t->imported++;
    rc = after_insert(w, money, bonus, parent, e);
    return rc ? rc : insert_quarantine(w, true, e);
}

/* ---- dump callbacks ---- */

/* Maps the values of this statement's rows to spec columns (once per statement). */
static int map_statement(struct shm_import *im, struct table_state *t, const struct mysql_row *r,
                         struct err *e)
{
    if (im->map_stmt == r->statement && im->map_feed == im->feeds)
        return 0;
    const char *const *names = r->ncolumns ? r->columns : (const char *const *)t->dump_cols;
    size_t n = r->ncolumns ? r->ncolumns : t->ndump_cols;
    if (n == 0) /* no CREATE TABLE and no column list: SHM's own column order */
        n = t->spec->ncols;
    im->map = xrealloc(im->map, (n ? n : 1) * sizeof(*im->map));
    im->nmap = n;
    for (size_t i = 0; i < n; i++) {
        int col = names ? col_index(t->spec, names[i]) : (int)i;
        for (size_t j = 0; col >= 0 && j < i; j++)
            if (im->map[j] == col)
                return err_set(e, ERR_INVALID, "line %ld: INSERT INTO `%s` names column %s twice",
                               r->statement_line, r->table, names[i]);
        if (col < 0 && r->ncolumns)
            warn(im, "%s.%s (line %ld): a column billd does not have; its values are not"
                     " imported", t->spec->name, names[i], r->statement_line);
        im->map[i] = col;
    }
    im->map_stmt = r->statement;
    im->map_feed = im->feeds;
    return 0;
}

static int import_row(struct shm_import *im, struct table_state *t, const struct mysql_row *r,
                      struct err *e)
{
    struct row w = { .im = im, .t = t, .r = r };
    assert(t->spec->ncols <= ARRAY_SIZE(w.cells));
    int rc = map_statement(im, t, r, e);
    if (rc)
        return rc;
    if (r->nvalues != im->nmap)
        return err_set(e, ERR_INVALID, "line %ld: a row of `%s` has %zu values, but the table has"
                                       " %zu columns (is this a dump of another schema?)",
                       r->line, r->table, r->nvalues, im->nmap);
    rc = convert_row(&w, e);
    if (rc == 0 && w.skip) {
        t->skipped++;
        rc = insert_quarantine(&w, false, e);
    } else if (rc == 0) {
        rc = store_row(&w, e);
    }
    free_row(&w);
    if (rc == 0)
        progress(im, t);
    return rc;
}

static int on_row(void *ctx, const struct mysql_row *r, struct err *e)
{
    struct shm_import *im = ctx;
    struct table_state *t = find_table(im, r->table);
    if (!t) {
        count_other(im, r->table, 1);
        return 0;
    }
    t->seen = true;
    t->rows++;
    if (t->spec->role == TR_SESSIONS) {
        im->sessions_skipped++;
        return 0;
    }
    if (t->spec->role == TR_LEGACY)
        return 0;
    return import_row(im, t, r, e);
}

static void set_dump_columns(struct shm_import *im, struct table_state *t,
                             const struct mysql_table *d)
{
    for (size_t i = 0; i < t->ndump_cols; i++)
        free(t->dump_cols[i]);
    free(t->dump_cols);
    t->dump_cols = xcalloc(d->ncolumns ? d->ncolumns : 1, sizeof(*t->dump_cols));
    t->ndump_cols = d->ncolumns;
    for (size_t i = 0; i < d->ncolumns; i++) {
        t->dump_cols[i] = xstrdup(d->columns[i]);
        if (col_index(t->spec, d->columns[i]) < 0)
            warn(im, "%s.%s (line %ld): a column billd does not have; its values are not"
                     " imported", t->spec->name, d->columns[i], d->line);
    }
}

static int on_table(void *ctx, const struct mysql_table *d, struct err *e)
{
    struct shm_import *im = ctx;
    struct table_state *t = find_table(im, d->name);
    if (!t) {
        count_other(im, d->name, 0);
        return 0;
    }
    t->seen = true;
    if (t->spec->role != TR_IMPORT)
        return 0;
    for (size_t i = 0; i < t->spec->ncols; i++) {
        bool found = false;
        if (!(t->spec->cols[i].flags & CF_SHAPE))
            continue;
        for (size_t j = 0; j < d->ncolumns && !found; j++)
            found = strcasecmp(d->columns[j], t->spec->cols[i].name) == 0;
        if (!found)
            return err_set(e, ERR_INVALID, "line %ld: table `%s` has no column `%s`, so it is not"
                                           " SHM's %s table (is this a dump of another schema?)",
                           d->line, d->name, t->spec->cols[i].name, t->spec->name);
    }
    set_dump_columns(im, t, d);
    if (d->auto_increment > 0 && (t->spec->cols[0].flags & CF_AUTO)) {
        t->next_id = d->auto_increment;
        if (t->max_id < d->auto_increment - 1) /* MySQL numbers `default` rows from N */
            t->max_id = d->auto_increment - 1;
    }
    return 0;
}

/* ---- begin / finish ---- */

int shm_import_database_is_empty(struct db *db, bool *empty, char *why, size_t whylen,
                                 struct err *e)
{
    *empty = true;
    for (size_t i = 0; i < ARRAY_SIZE(data_checks); i++) {
        int64_t n = 0;
        int rc = db_query_int(db, data_checks[i].sql, NULL, 0, &n, e);
        if (rc)
            return rc;
        if (n > 0) {
            *empty = false;
            snprintf(why, whylen, "%s has %lld row%s%s", data_checks[i].table, (long long)n,
                     n == 1 ? "" : "s", data_checks[i].besides);
            return 0;
        }
    }
    return 0;
}

/* Keeps billd's config rows: keys the dump does not set get them back at the end. */
static int snapshot_config(struct shm_import *im, struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(im->db, "SELECT key, value FROM config ORDER BY key", NULL, 0, &r, e);
    if (rc)
        return rc;
    int n = db_result_rows(r);
    im->cfg_keys = xcalloc((size_t)n + 1, sizeof(char *));
    im->cfg_values = xcalloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        im->cfg_keys[i] = xstrdup(db_result_text(r, i, 0));
        im->cfg_values[i] = xstrdup(db_result_text(r, i, 1));
    }
    im->ncfg = (size_t)n;
    db_result_free(r);
    return 0;
}

static int clear_tables(struct shm_import *im, struct err *e)
{
    for (size_t i = 0; i < ARRAY_SIZE(clear_order); i++) {
        char *sql = xasprintf("DELETE FROM %s", clear_order[i]);
        int rc = db_exec(im->db, sql, NULL, 0, NULL, e);
        free(sql);
        if (rc)
            return rc;
    }
    return 0;
}

int shm_import_begin(struct db *db, const struct shm_import_options *o, struct shm_import **out,
                     struct err *e)
{
    struct shm_import *im = xcalloc(1, sizeof(*im));
    bool empty = true;
    char why[160] = "";
    im->db = db;
    im->opt = *o;
    im->now = time_now();
    buf_init(&im->warnings, 0);
    buf_init(&im->quarantine, 0);
    for (size_t i = 0; i < NTABLES; i++)
        im->t[i].spec = &tables[i];
    *out = im;
    int rc = db_begin(db, true, e);
    if (rc)
        return rc;
    im->in_tx = true;
    rc = shm_import_database_is_empty(db, &empty, why, sizeof(why), e);
    if (rc == 0 && !empty && !o->force)
        rc = err_set(e, ERR_CONFLICT, "the database already holds data (%s); importing would"
                                      " replace it: run again with --force to do so", why);
    if (rc == 0)
        rc = snapshot_config(im, e);
    if (rc == 0)
        rc = clear_tables(im, e);
    return rc;
}

int shm_import_feed(struct shm_import *im, FILE *in, const char *source, struct err *e)
{
    struct mysql_dump_handler h = { .ctx = im, .on_table = on_table, .on_row = on_row };
    if (im->failed || !im->in_tx)
        return err_set(e, ERR_INTERNAL, "the import has already failed");
    im->source = source;
    im->feeds++;
    im->map_stmt = 0;
    int rc = mysql_dump_parse_file(in, &h, NULL, e);
    if (rc) {
        char msg[sizeof(e->msg)];
        snprintf(msg, sizeof(msg), "%s", e->msg);
        err_set(e, rc, "%s: %s", source, msg);
        im->failed = true;
    }
    return rc;
}

/* The dump must have had at least one of SHM's tables. */
static int check_shm_seen(struct shm_import *im, struct err *e)
{
    char seen[160] = "";
    size_t n = 0;
    for (size_t i = 0; i < NTABLES; i++)
        if (im->t[i].seen && im->t[i].spec->role == TR_IMPORT)
            return 0;
    for (size_t i = 0; i < im->nothers && n + 1 < sizeof(seen); i++)
        n += (size_t)snprintf(seen + n, sizeof(seen) - n, "%s%s", i ? ", " : "",
                              im->others[i].name);
    return err_set(e, ERR_INVALID, "not an SHM dump: none of SHM's tables (users, services,"
                                   " user_services, …) is in it%s%s",
                   im->nothers ? "; tables found: " : " (no tables at all)", seen);
}

/* user_services.parent, now that every row is in; a parent that does not exist stays NULL. */
static int set_parents(struct shm_import *im, struct err *e)
{
    for (size_t i = 0; i < im->nparents; i++) {
        int64_t changed = 0;
        struct db_value p[] = { DB_INT(im->parents[i].usi), DB_INT(im->parents[i].parent) };
        int rc = db_exec(im->db,
                         "UPDATE user_services SET parent = $2 WHERE user_service_id = $1 AND"
                         " EXISTS (SELECT 1 FROM user_services p WHERE p.user_service_id = $2)",
                         p, 2, &changed, e);
        if (rc)
            return rc;
        if (changed == 0) {
            im->dangling_parents++;
            warn(im, "user_services row %lld: parent %lld does not exist; parent left empty",
                 (long long)im->parents[i].usi, (long long)im->parents[i].parent);
        }
    }
    return 0;
}

static int restore_config(struct shm_import *im, struct err *e)
{
    for (size_t i = 0; i < im->ncfg; i++) {
        struct db_value p[] = { DB_TEXT(im->cfg_keys[i]), DB_TEXT(im->cfg_values[i]) };
        int rc = db_exec(im->db, "INSERT INTO config (key, value) VALUES ($1, $2)"
                                 " ON CONFLICT DO NOTHING", p, 2, NULL, e);
        if (rc)
            return rc;
    }
    return 0;
}

/*
 * Moves every id sequence past the imported ids and SHM's AUTO_INCREMENT
 * (ids of rows deleted in SHM are not handed out again). SQLite keeps that
 * floor only for AUTOINCREMENT tables; for the others the summary says so.
 */
static int sync_sequences(struct shm_import *im, struct err *e)
{
    for (size_t i = 0; i < NTABLES; i++) {
        const struct table_spec *s = &tables[i];
        if (s->role != TR_IMPORT || !(s->cols[0].flags & CF_AUTO))
            continue;
        const struct table_state *t = &im->t[i];
        bool kept = true;
        int rc = db_sync_sequence_from(im->db, s->name, s->cols[0].name, t->next_id, &kept, e);
        if (rc)
            return rc;
        if (!kept)
            warn(im, "%s: SHM's next id was %lld; on SQLite billd's next id is the largest"
                     " imported id + 1, so ids of rows deleted in SHM may be used again",
                 s->name, (long long)t->next_id);
    }
    return 0;
}

int shm_import_finish(struct shm_import *im, struct err *e)
{
    int64_t mismatches = 0;
    if (im->failed || !im->in_tx)
        return err_set(e, ERR_INTERNAL, "the import has already failed");
    int rc = check_shm_seen(im, e);
    if (rc == 0)
        rc = set_parents(im, e);
    if (rc == 0)
        rc = restore_config(im, e);
    if (rc == 0)
        rc = sync_sequences(im, e);
    if (rc == 0)
        rc = ledger_check(im->db, &mismatches, e);
    if (rc == 0 && mismatches)
        rc = err_set(e, ERR_INTERNAL, "%lld imported balance(s) do not match the ledger",
                     (long long)mismatches);
    if (rc == 0)
        rc = db_commit(im->db, e);
    if (rc) {
        im->failed = true;
        return rc;
    }
    im->in_tx = false;
    progress(im, NULL);
    return 0;
}

/* ---- summary ---- */

static void summary_tables(const struct shm_import *im, struct buf *out)
{
    buf_printf(out, "  %-18s %10s %10s %10s %10s %10s\n", "table", "rows", "imported", "ignored",
               "replaced", "skipped");
    for (size_t i = 0; i < NTABLES; i++) {
        const struct table_state *t = &im->t[i];
        if (t->spec->role != TR_IMPORT)
            continue;
        buf_printf(out, "  %-18s %10lld %10lld %10lld %10lld %10lld\n", t->spec->name,
                   (long long)t->rows, (long long)t->imported, (long long)t->ignored,
                   (long long)t->replaced, (long long)t->skipped);
    }
}

static void summary_not_carried(const struct shm_import *im, struct buf *out)
{
    bool any = false;
    buf_puts(out, "not carried over:\n  SHM's legacy tables (billd has no such data):");
    for (size_t i = 0; i < NTABLES; i++)
        if (im->t[i].spec->role == TR_LEGACY) {
            buf_printf(out, "%s %s (%lld rows)", any ? "," : "", im->t[i].spec->name,
                       (long long)im->t[i].rows);
            any = true;
        }
    buf_printf(out, "\n  sessions: %lld (SHM session ids are not imported; users log in again)\n",
               (long long)im->sessions_skipped);
    if (im->nothers) {
        buf_puts(out, "  tables billd does not know:");
        for (size_t i = 0; i < im->nothers; i++)
            buf_printf(out, "%s %s (%lld rows)", i ? "," : "", im->others[i].name,
                       (long long)im->others[i].rows);
        buf_putc(out, '\n');
    }
}

void shm_import_summary(const struct shm_import *im, struct buf *out)
{
    char money[32], bonus[32];
    const char *tz = getenv("TZ");
    int64_t total = 0;
    for (size_t i = 0; i < NTABLES; i++)
        total += im->t[i].imported;
    buf_printf(out, "import-shm: %s %lld rows in one transaction (dates read in time zone %s)\n",
               im->in_tx || im->failed ? "NOT imported (rolled back):" : "imported",
               (long long)total, tz && *tz ? tz : "UTC");
    summary_tables(im, out);
    summary_not_carried(im, out);
    buf_printf(out, "quarantined JSON values: %lld%s\n", (long long)im->nquarantined,
               im->nquarantined ? " (kept in table import_quarantine; the rows have NULL there)"
                                : "");
    buf_append(out, im->quarantine.data, im->quarantine.len);
    if (im->nquarantined > MAX_QUARANTINE_LISTED)
        buf_printf(out, "  … and %lld more\n", (long long)(im->nquarantined - MAX_QUARANTINE_LISTED));
    money_format(im->opening_money, money, sizeof(money));
    money_format(im->opening_bonus, bonus, sizeof(bonus));
    buf_printf(out, "opening balances: %lld users, money %s, bonus %s (ledger rows of kind"
                    " \"opening\")\n", (long long)im->opening_users, money, bonus);
    if (im->plain_passwords)
        buf_printf(out, "plain-text passwords (SHM quirk Q3) stored as argon2id hashes: %lld\n",
                   (long long)im->plain_passwords);
    if (im->nwarnings) {
        buf_printf(out, "warnings: %d\n", im->nwarnings);
        buf_append(out, im->warnings.data, im->warnings.len);
        if (im->nwarnings > MAX_WARNINGS)
            buf_printf(out, "  … and %d more\n", im->nwarnings - MAX_WARNINGS);
    }
}

void shm_import_free(struct shm_import *im)
{
    if (!im)
        return;
    if (im->in_tx)
        db_rollback(im->db);
    for (size_t i = 0; i < NTABLES; i++) {
        struct table_state *t = &im->t[i];
        for (size_t j = 0; j < t->ndump_cols; j++)
            free(t->dump_cols[j]);
        free(t->dump_cols);
        free(t->insert_sql[0]);
        free(t->insert_sql[1]);
        free(t->delete_sql);
    }
    for (size_t i = 0; i < im->nothers; i++)
        free(im->others[i].name);
    free(im->others);
    for (size_t i = 0; i < im->ncfg; i++) {
        free(im->cfg_keys[i]);
        free(im->cfg_values[i]);
    }
    free(im->cfg_keys);
    free(im->cfg_values);
    free(im->parents);
    free(im->map);
    buf_free(&im->warnings);
    buf_free(&im->quarantine);
    free(im);
}
