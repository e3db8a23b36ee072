/*
 * cmd_template.c — `billd template check FILE|ID`: compiles a template
 * (a file, or the stored template ID in DATABASE_URL) and reports parse
 * errors as NAME:LINE:COLUMN, plus DECISIONS D19 warnings where a
 * user-controlled value reaches a shell command unescaped.
 *
 * Shell context: a file whose name ends in .sh, or a stored template named
 * by an event of an ssh server group or by an ssh server's
 * settings.template_id (or --shell). Then every output directive
 * ({{ expr }}, GET) that names a user-controlled value — user.login,
 * user.full_name, user.settings…, us.settings…, us.name, request…, args…,
 * storage reads, … — and does not end in `| shell` (or FILTER shell) is a
 * warning. Templates whose settings say auto_escape: shell are escaped as a
 * whole and get none. The check is lexical: a value copied into a variable
 * first is not followed.
 *
 * Exit status: 0 clean (warnings are printed but do not fail unless
 * --strict), 1 errors (or warnings with --strict), 2 usage.
 */
#include "cli.h"
#include "../template/tpl.h"
#include "../util/buf.h"

#include <ctype.h>
#include <strings.h>
#include <sys/stat.h>

#define CHECK_SRC_MAX ((size_t)16 << 20)

/* Names whose value a user (or a client) controls (D19). */
static const char *const user_controlled[] = {
    "user.login",    "user.login2",   "user.full_name", "user.settings", "user.phone",
    "user.comment",  "user.dogovor",  "user.email",     "user.emails",   "us.settings",
    "us.name",       "us.domain",     "request.",       "args.",         "args",
    "message.",      "cmd",           "storage.read",   "storage.load",  "settings.",
    "task.settings", "task.event.settings",             "event.settings", "tpl.settings",
};

static const char *const statement_keywords[] = {
    "IF",    "ELSIF", "ELSE",   "UNLESS", "FOR",     "FOREACH", "WHILE",  "SWITCH",
    "CASE",  "SET",   "DEFAULT", "CALL",  "BLOCK",   "END",     "INCLUDE", "PROCESS",
    "MACRO", "FILTER", "TRY",   "CATCH",  "FINAL",   "THROW",   "RETURN", "STOP",
    "NEXT",  "LAST",  "CLEAR",  "USE",    "WRAPPER", "INSERT",  "META",   "PERL",
    "RAWPERL",
};

struct check {
    const char *name;
    const char *src;
    size_t len;
    int warnings;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: billd template check [--shell] [--strict] [--env-file FILE] FILE|ID\n\n"
               "Parses a template file or the stored template ID (DATABASE_URL) and prints\n"
               "errors as NAME:LINE:COLUMN. In shell context (a .sh file, a template used by\n"
               "an ssh event or server, or --shell) it warns where a user-controlled value\n"
               "reaches the command without `| shell` (DECISIONS D19).\n"
               "Exit: 0 clean or warnings only, 1 errors (warnings too with --strict), 2 usage.\n");
}

/* Line and column (1-based) of offset off. */
static void position(const struct check *c, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < c->len; i++) {
        if (c->src[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)c->src[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

static bool is_ident(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* The first user-controlled name in s[0..n) outside quotes, or NULL. */
static const char *find_user_value(const char *s, size_t n, size_t *at)
{
    char q = 0;
    for (size_t i = 0; i < n; i++) {
        if (q) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == q)
                q = 0;
            continue;
        }
        if (s[i] == '\'' || s[i] == '"') {
            q = s[i];
            continue;
        }
        if (i > 0 && (is_ident(s[i - 1]) || s[i - 1] == '.'))
            continue;
        for (size_t k = 0; k < ARRAY_SIZE(user_controlled); k++) {
            size_t m = strlen(user_controlled[k]);
            if (i + m > n || memcmp(s + i, user_controlled[k], m))
                continue;
            char last = user_controlled[k][m - 1];
            if (last != '.' && i + m < n && (is_ident(s[i + m])))
                continue;
            *at = i;
            return user_controlled[k];
        }
    }
    return NULL;
}

/* True when the statement ends in a shell filter (`| shell`, `FILTER shell`). */
static bool shell_filtered(const char *s, size_t n)
{
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n < 5 || memcmp(s + n - 5, "shell", 5) || (n > 5 && is_ident(s[n - 6])))
        return false;
    size_t i = n - 5;
    while (i && isspace((unsigned char)s[i - 1]))
        i--;
    return (i && s[i - 1] == '|') || (i >= 6 && !strncasecmp(s + i - 6, "FILTER", 6));
}

/* True when statement s[0..n) prints a value (not a keyword statement or assignment). */
static bool is_output(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    size_t w = i;
    while (w < n && is_ident(s[w]))
        w++;
    if (w > i) {
        for (size_t k = 0; k < ARRAY_SIZE(statement_keywords); k++)
            if (w - i == strlen(statement_keywords[k]) &&
                !strncasecmp(s + i, statement_keywords[k], w - i))
                return false;
        if (w - i == 3 && !strncasecmp(s + i, "GET", 3))
            return true;
        size_t j = w;
        while (j < n && (is_ident(s[j]) || s[j] == '.' || s[j] == '$'))
            j++;
        while (j < n && isspace((unsigned char)s[j]))
            j++;
        if (j < n && s[j] == '=' && (j + 1 >= n || s[j + 1] != '='))
            return false; /* assignment */
    }
    return true;
}

/* Warns about one statement s (at offset off) of a directive. */
static void check_statement(struct check *c, const char *s, size_t n, size_t off)
{
    size_t at;
    const char *what = find_user_value(s, n, &at);
    if (!what || !is_output(s, n) || shell_filtered(s, n))
        return;
    int line, col;
    position(c, off + at, &line, &col);
    size_t wl = strlen(what);
    while (wl && what[wl - 1] == '.')
        wl--;
    printf("%s:%d:%d: warning: user-controlled value %.*s reaches a shell command unescaped; "
           "add | shell (D19)\n", c->name, line, col, (int)wl, what);
    c->warnings++;
}

/* Splits a directive body at ';' outside quotes and checks each statement. */
static void check_directive(struct check *c, size_t start, size_t end)
{
    const char *s = c->src;
    while (start < end && strchr("-~=+", s[start]))
        start++;
    while (end > start && strchr("-~=+", s[end - 1]))
        end--;
    if (start < end && s[start] == '#')
        return; /* comment */
    char q = 0;
    size_t st = start;
    for (size_t i = start; i <= end; i++) {
        if (i < end && q) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == q)
                q = 0;
            continue;
        }
        if (i < end && (s[i] == '\'' || s[i] == '"')) {
            q = s[i];
            continue;
        }
        if (i == end || s[i] == ';') {
            check_statement(c, s + st, i - st, st);
            st = i + 1;
        }
    }
}

/* Finds every {{ … }} directive of the source. */
static void check_shell(struct check *c)
{
    const char *s = c->src;
    size_t i = 0;
    while (i + 1 < c->len) {
        if (s[i] != '{' || s[i + 1] != '{') {
            i++;
            continue;
        }
        size_t start = i + 2, j = start;
        char q = 0;
        while (j + 1 < c->len) {
            if (q) {
                if (s[j] == '\\')
                    j++;
                else if (s[j] == q)
                    q = 0;
            } else if (s[j] == '\'' || s[j] == '"') {
                q = s[j];
            } else if (s[j] == '}' && s[j + 1] == '}') {
                break;
            }
            j++;
        }
        check_directive(c, start, j);
        i = j + 2;
    }
}

/* Reads path into b (capped). Returns 0 or prints why and returns 1. */
static int read_file(const char *path, struct buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "billd template check: cannot open %s\n", path);
        return 1;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(b, chunk, n)) {
            fprintf(stderr, "billd template check: %s is larger than 16 MiB\n", path);
            rc = 1;
            break;
        }
    fclose(f);
    return rc;
}

/* True when a stored template is used by ssh (an event of an ssh group, an ssh server). */
static bool used_by_ssh(struct db *db, const char *id)
{
    struct db_result *res = NULL;
    struct err e = { 0 };
    bool yes = false;
    if (db_query(db, "SELECT e.settings FROM events e JOIN servers_groups g ON g.group_id = "
                     "e.server_gid WHERE g.transport = 'ssh' UNION ALL SELECT settings FROM "
                     "servers WHERE transport = 'ssh'", NULL, 0, &res, &e) == 0)
        for (int i = 0; i < db_result_rows(res) && !yes; i++) {
            const char *st = db_result_text(res, i, 0);
            json_t *j = st ? json_loads(st, 0, NULL) : NULL;
            const char *t = json_string_value(json_object_get(j, "template_id"));
            yes = t && !strcmp(t, id);
            json_decref(j);
        }
    db_result_free(res);
    return yes;
}

/* Loads the stored template id. Returns 0, or prints why and returns 1. */
static int read_stored(int *argc, char **argv, const char *id, struct buf *b, bool *shell,
                       bool *auto_escape)
{
    struct config cfg;
    struct db *db = NULL;
    struct err e = { 0 };
    struct db_result *res = NULL;
    if (cli_load_config(argc, argv, &cfg))
        return 1;
    int rc = db_open(cfg.database_url, &db, &e);
    struct db_value p[] = { DB_TEXT(id) };
    if (rc == 0)
        rc = db_query(db, "SELECT data, settings FROM templates WHERE id = $1", p, 1, &res, &e);
    if (rc == 0 && db_result_rows(res) == 0) {
        fprintf(stderr, "billd template check: no file or stored template named %s\n", id);
        rc = 1;
    } else if (rc == 0) {
        const char *d = db_result_text(res, 0, 0), *st = db_result_text(res, 0, 1);
        buf_append(b, d ? d : "", d ? db_result_len(res, 0, 0) : 0);
        json_t *j = st ? json_loads(st, 0, NULL) : NULL;
        const char *ae = json_string_value(json_object_get(j, "auto_escape"));
        *auto_escape = ae && !strcmp(ae, "shell");
        json_decref(j);
        *shell = *shell || used_by_ssh(db, id);
    } else {
        fprintf(stderr, "billd template check: %s\n", e.msg);
        rc = 1;
    }
    db_result_free(res);
    db_close(db);
    config_free(&cfg);
    return rc ? 1 : 0;
}

/* Compiles and checks; prints the findings. Returns the exit status. */
static int run_check(struct check *c, bool shell, bool auto_escape, bool strict)
{
    struct tpl *t = NULL;
    struct err e = { 0 };
    struct tpl_options opt = { .auto_escape_shell = auto_escape };
    if (tpl_compile(c->name, c->src, c->len, &opt, &t, &e)) {
        /* e.msg is "template NAME:LINE:COL: message" */
        const char *m = e.msg;
        size_t nl = strlen(c->name);
        if (!strncmp(m, "template ", 9) && !strncmp(m + 9, c->name, nl) && m[9 + nl] == ':') {
            const char *p = m + 9 + nl + 1;
            const char *sep = strstr(p, ": ");
            if (sep) {
                printf("%s:%.*s: error: %s\n", c->name, (int)(sep - p), p, sep + 2);
                return 1;
            }
        }
        printf("%s: error: %s\n", c->name, m);
        return 1;
    }
    tpl_unref(t);
    if (shell && !auto_escape)
        check_shell(c);
    if (c->warnings)
        printf("%s: %d warning%s\n", c->name, c->warnings, c->warnings == 1 ? "" : "s");
    else
        printf("%s: ok\n", c->name);
    return strict && c->warnings ? 1 : 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int cmd_template(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "check")) {
        usage(stderr);
        return 2;
    }
    bool shell = false, strict = false, auto_escape = false;
    const char *target = NULL;
    int keep = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--shell"))
            shell = true;
        else if (!strcmp(argv[i], "--strict"))
            strict = true;
        else if (!strcmp(argv[i], "--env-file") && i + 1 < argc) {
            argv[keep++] = argv[i++];
            argv[keep++] = argv[i];
        } else if (argv[i][0] == '-' || target) {
            usage(stderr);
            return 2;
        } else
            target = argv[i];
    }
    if (!target) {
        usage(stderr);
        return 2;
    }
    struct buf src;
    buf_init(&src, CHECK_SRC_MAX);
    struct stat sb;
    int rc;
    if (stat(target, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "billd template check: %s is not a regular file\n", target);
        rc = 1;
    } else if (stat(target, &sb) == 0) {
        shell = shell || ends_with(target, ".sh");
        rc = read_file(target, &src);
    } else {
        rc = read_stored(&keep, argv, target, &src, &shell, &auto_escape);
    }
    if (rc == 0) {
        struct check c = { .name = target, .src = src.data, .len = src.len };
        rc = run_check(&c, shell, auto_escape, strict);
    }
    buf_free(&src);
    return rc;
}
