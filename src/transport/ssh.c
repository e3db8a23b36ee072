/*
 * ssh.c — the ssh transport (transports.md §1) on libssh: merges the
 * settings (server row < servers.settings < event settings < task
 * settings), renders the command or script as the task's user, connects
 * with the stored identity (optionally through a jump host), pins the host
 * key on first use (D19), runs the command with the task's token and
 * attempt exported (D9) under one whole-run deadline, and writes the
 * pipeline console as the output arrives (spool.md §8).
 *
 * Nothing here holds a transaction across network I/O: console lines and
 * the host-key pin are short statements of their own on the worker's
 * connection. One ssh_session per execution, never shared between threads
 * (the jump host's session belongs to its pump thread once it runs).
 */
#include "transport.h"
#include "ssh.h"

#include "../core/identity.h"
#include "../db/db.h"
#include "../objects/render.h"
#include "../spool/console.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libssh/libssh.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SSH_DEFAULT_PORT 22
#define SSH_DEFAULT_TIMEOUT 10
#define SSH_MAX_TIMEOUT 86400
#define SSH_SCRIPT_MAX ((size_t)16 << 20)
#define SSH_LINE_FLUSH 8192 /* output without a newline is flushed past this */

/* A connection end point: [user@]host and port, checked. */
struct ssh_target {
    char user[64];
    char host[256];
    int port;
};

/* One execution of one task. */
struct ssh_run {
    const struct task_ctx *x;
    json_t *settings;     /* merged settings, owned */
    int64_t pipeline_id;
    int64_t key_id;
    int timeout;          /* seconds */
    int64_t deadline_ns;  /* monotonic end of the command (timeout s after connecting) */
    struct ssh_target target;
    struct ssh_target jump;
    bool has_jump;
    char *command;        /* the remote command line, owned */
    struct buf input;     /* data for the remote stdin */
    bool has_input;
    int ret_code;
    json_t *extra;        /* keys added to the response (host_key), owned */
    bool literal;         /* cmd/stdin are final text, not templates (ssh_exec) */
    struct buf *capture;  /* when set, receives the raw command output (ssh_exec) */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- settings ---- */

/* The merged settings of transports.md §1.1 (owned). */
static json_t *merge_settings(const struct spool_task *t)
{
    json_t *s = json_object();
    if (t->server) {
        const char *keys[] = { "host", "server_id" };
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
            json_t *v = json_object_get(t->server, keys[i]);
            if (v && !json_is_null(v))
                json_object_set(s, keys[i], v);
        }
        json_t *ss = json_object_get(t->server, "settings");
        if (json_is_object(ss))
            json_object_update(s, ss);
    }
    json_t *es = t->event ? json_object_get(t->event, "settings") : NULL;
    if (json_is_object(es))
        json_object_update(s, es);
    if (json_is_object(t->settings))
        json_object_update(s, (json_t *)t->settings);
    return s;
}

/* Non-empty string value of key, or NULL. */
static const char *setting_str(const json_t *s, const char *key)
{
    const char *v = json_string_value(json_object_get(s, key));
    return v && *v ? v : NULL;
}

/*
 * Integer setting key (a JSON integer or a decimal string) into *out, def
 * when absent or empty. Returns 0 or ERR_INVALID when present but not an
 * integer within [min, max].
 */
static int setting_int(const json_t *s, const char *key, int64_t def, int64_t min, int64_t max,
                       int64_t *out, struct err *e)
{
    json_t *v = json_object_get(s, key);
    int64_t n = def;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v) && *json_string_value(v)) {
        char *end = NULL;
        long long l = strtoll(json_string_value(v), &end, 10);
        if (*end)
            return err_set(e, ERR_INVALID, "Invalid %s: %s", key, json_string_value(v));
        n = l;
    } else if (v && !json_is_null(v) && !json_is_string(v)) {
        return err_set(e, ERR_INVALID, "Invalid %s: expected an integer", key);
    }
    if (n < min || n > max)
        return err_set(e, ERR_INVALID, "Invalid %s: %lld is out of range", key, (long long)n);
    *out = n;
    return 0;
}

/* ---- host names ---- */

/* A POSIX-style user name: [A-Za-z_][A-Za-z0-9_.-]*, at most 32 characters. */
static bool valid_user(const char *u, size_t n)
{
    if (n == 0 || n > 32 || !(isalpha((unsigned char)u[0]) || u[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)u[i]) || u[i] == '_' || u[i] == '.' || u[i] == '-'))
            return false;
    return true;
}

/* A DNS name: dot-separated labels of letters, digits and inner hyphens. */
static bool valid_domain(const char *h)
{
    size_t n = strlen(h), label = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char c = h[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || h[i - 1] == '-')
                return false;
            label = 0;
        } else if (isalnum((unsigned char)c) || (c == '-' && label > 0) || c == '_') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

static bool valid_host(const char *h)
{
    unsigned char tmp[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, h, tmp) == 1 || inet_pton(AF_INET6, h, tmp) == 1 ||
           valid_domain(h);
}

/*
 * Parses "[user@]host" (with_port: also "[user@]host:port" and
 * "[user@][v6]:port") into *t; the user defaults to root and the port to
 * t->port as given. Returns 0 or ERR_INVALID naming what is wrong.
 */
static int parse_target(const char *what, const char *spec, bool with_port, struct ssh_target *t,
                        struct err *e)
{
    const char *at = strrchr(spec, '@');
    const char *h = at ? at + 1 : spec;
    if (at && !valid_user(spec, (size_t)(at - spec)))
        return err_set(e, ERR_INVALID, "Invalid %s: bad user name in '%s'", what, spec);
    snprintf(t->user, sizeof(t->user), "%.*s", at ? (int)(at - spec) : 4, at ? spec : "root");
    char host[256];
    if (strlen(h) >= sizeof(host))
        return err_set(e, ERR_INVALID, "Invalid %s: host too long", what);
    snprintf(host, sizeof(host), "%s", h);
    char *colon = strrchr(host, ':');
    if (with_port && host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close || (close[1] && close[1] != ':'))
            return err_set(e, ERR_INVALID, "Invalid %s: '%s'", what, spec);
        colon = close[1] ? close + 1 : NULL;
        *close = '\0';
        memmove(host, host + 1, strlen(host));
    } else if (!with_port || (colon && strchr(host, ':') != colon)) {
        colon = NULL; /* a bare IPv6 address has several colons */
    }
    if (colon) {
        char *end = NULL;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p < 1 || p > 65535)
            return err_set(e, ERR_INVALID, "Invalid %s: bad port in '%s'", what, spec);
        t->port = (int)p;
        *colon = '\0';
    }
    if (!valid_host(host))
        return err_set(e, ERR_INVALID,
                       "Invalid %s: '%s' is not a domain name or an IP address", what, host);
    snprintf(t->host, sizeof(t->host), "%s", host);
    return 0;
}

int ssh_check_host(const char *what, const char *spec, bool with_port, struct err *e)
{
    struct ssh_target t = { .port = SSH_DEFAULT_PORT };
    return parse_target(what, spec, with_port, &t, e);
}

/* ---- the remote command ---- */

/* Appends s to b as one POSIX shell word in single quotes. */
static void shell_quote(struct buf *b, const char *s)
{
    buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_puts(b, "'\\''");
        else
            buf_putc(b, *s);
    }
    buf_putc(b, '\'');
}

/* The shell setting: words of [A-Za-z0-9_./-] separated by single spaces ("bash", "bash -e"). */
static bool valid_shell(const char *s)
{
    if (!*s || *s == ' ')
        return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("_./-", *p) ||
              (*p == ' ' && p[1] && p[1] != ' ')))
            return false;
    return true;
}

/* "export BILLD_TASK_ID=… BILLD_TASK_TOKEN=… BILLD_TASK_ATTEMPT=… BILLD_EVENT=…; " (D9). */
static void env_prefix(struct buf *b, const struct spool_task *t)
{
    buf_printf(b, "export BILLD_TASK_ID=%lld BILLD_TASK_TOKEN=", (long long)t->id);
    shell_quote(b, t->token ? t->token : "");
    buf_printf(b, " BILLD_TASK_ATTEMPT=%d BILLD_EVENT=", t->attempt);
    shell_quote(b, t->name ? t->name : "");
    buf_puts(b, "; ");
}

static void render_ctx_init(struct render_ctx *r, const struct task_ctx *x)
{
    memset(r, 0, sizeof(*r));
    r->db = x->db;
    r->cfg = x->cfg;
    r->user_id = x->task->user_id;
    r->usi = x->task->usi;
    r->task = x->task;
}

/* True when settings (the merged ones, or a template's) say auto_escape: shell (D19). */
static bool says_auto_escape(const json_t *settings)
{
    const char *v = json_string_value(json_object_get(settings, "auto_escape"));
    return v && !strcmp(v, "shell");
}

/* The same for the stored template id (its settings column); false when it has none. */
static bool template_auto_escape(struct db *db, const char *id)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_TEXT(id) };
    struct err e = { 0 };
    bool yes = false;
    if (db_query(db, "SELECT settings FROM templates WHERE id = $1", p, 1, &res, &e) == 0 &&
        db_result_rows(res) == 1 && db_result_text(res, 0, 0)) {
        json_t *st = json_loads(db_result_text(res, 0, 0), 0, NULL);
        yes = says_auto_escape(st);
        json_decref(st);
    }
    db_result_free(res);
    return yes;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/*
 * Renders what to run into run->command and run->input (transports.md §1.2).
 * Returns TASK_SUCCESS to go on (e untouched); TASK_STUCK with the reason
 * in e (nothing to do, render error); or TASK_SUCCESS with *skip = true and
 * the "empty template" note in e.msg.
 */
static enum task_result prepare_command(struct ssh_run *run, const char *shell, bool *skip,
                                        struct err *e)
{
    const char *cmd = setting_str(run->settings, "cmd");
    const char *tpl = setting_str(run->settings, "template_id");
    const char *in = setting_str(run->settings, "stdin");
    struct render_ctx r;
    struct buf out, line;
    int rc = 0;
    *skip = false;
    if (!cmd && !tpl)
        return err_set(e, ERR_INVALID, "Nothing to do (no cmd, no template_id)"), TASK_STUCK;
    render_ctx_init(&r, run->x);
    r.auto_escape_shell = says_auto_escape(run->settings) ||
                          (!cmd && template_auto_escape(run->x->db, tpl));
    buf_init(&out, SSH_SCRIPT_MAX);
    buf_init(&line, 0);
    env_prefix(&line, run->x->task);
    if (cmd && run->literal) {
        buf_puts(&out, cmd);
        if (in)
            buf_puts(&run->input, in);
        run->has_input = in != NULL;
        buf_printf(&line, "%s -c ", shell);
        shell_quote(&line, out.data);
    } else if (cmd) {
        rc = render_text(&r, "ssh:cmd", cmd, strlen(cmd), &out, e);
        if (rc == 0 && in) {
            rc = render_text(&r, "ssh:stdin", in, strlen(in), &run->input, e);
            run->has_input = true;
        }
        if (rc == 0) {
            buf_printf(&line, "%s -c ", shell);
            shell_quote(&line, out.data);
        }
    } else {
        rc = render_template(&r, tpl, &out, NULL, e);
        if (rc == 0 && blank(out.data, out.len)) {
            err_set(e, 0, "Template %s is empty. Nothing to do. Skip it.", tpl);
            *skip = true;
        } else if (rc == 0) {
            buf_puts(&line, shell);
            buf_append(&run->input, out.data, out.len);
            run->has_input = true;
        }
    }
    render_ctx_release(&r);
    buf_free(&out);
    run->command = buf_detach(&line, NULL);
    if (*skip)
        return TASK_SUCCESS;
    return rc ? TASK_STUCK : TASK_SUCCESS;
}

/* ---- the console ---- */

/* Writes one coloured console line; failures are logged, never fatal to the task. */
static void say(struct ssh_run *run, const char *color, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(struct ssh_run *run, const char *color, const char *fmt, ...)
{
    struct err e = { 0 };
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (console_line(run->x->db, run->pipeline_id, color, &e, "%s", msg))
        log_warn("console", "id=%lld error=\"%s\"", (long long)run->pipeline_id, e.msg);
}

static void say_raw(struct ssh_run *run, const char *text, size_t len)
{
    struct err e = { 0 };
    if (console_append(run->x->db, run->pipeline_id, text, len, &e))
        log_warn("console", "id=%lld error=\"%s\"", (long long)run->pipeline_id, e.msg);
}

/* Command output on its way to the console: complete lines go out as they arrive. */
struct out_sink {
    struct ssh_run *run;
    struct buf pending;
};

static void sink_flush(struct out_sink *k, size_t upto)
{
    struct buf esc;
    if (upto == 0)
        return;
    buf_init(&esc, 0);
    console_escape(&esc, k->pending.data, upto);
    say_raw(k->run, esc.data, esc.len);
    buf_free(&esc);
    memmove(k->pending.data, k->pending.data + upto, k->pending.len - upto);
    k->pending.len -= upto;
    k->pending.data[k->pending.len] = '\0';
}

static void sink_feed(struct out_sink *k, const char *data, size_t n)
{
    if (k->run->capture)
        buf_append(k->run->capture, data, n); /* past its limit the rest is dropped */
    buf_append(&k->pending, data, n);
    char *nl = memrchr(k->pending.data, '\n', k->pending.len);
    if (nl)
        sink_flush(k, (size_t)(nl - k->pending.data) + 1);
    else if (k->pending.len > SSH_LINE_FLUSH)
        sink_flush(k, k->pending.len);
}

/* ---- host keys (D19) ---- */

/* The SHA256 fingerprint of the server key of s as "SHA256:…" (owned), or NULL. */
static char *host_key_fingerprint(ssh_session s)
{
    ssh_key key = NULL;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp = NULL;
    if (ssh_get_server_publickey(s, &key) != SSH_OK)
        return NULL;
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
        char *lib = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
        fp = lib ? xstrdup(lib) : NULL;
        ssh_string_free_char(lib);
        ssh_clean_pubkey_hash(&hash);
    }
    ssh_key_free(key);
    return fp;
}

/*
 * The settings key under which the server row pins the key of this end
 * point, or NULL when the end point is not the server's own (a host given
 * by the task: nothing to pin against).
 */
static const char *pin_key(const struct ssh_run *run, bool jump)
{
    const json_t *srv = run->x->task->server;
    const json_t *ss = srv ? json_object_get(srv, "settings") : NULL;
    if (!srv || !run->x->task->server_id)
        return NULL;
    if (jump) {
        const char *p = setting_str(ss, "proxy_host");
        return p && !strcmp(p, setting_str(run->settings, "proxy_host")) ? "proxy_host_key"
                                                                           : NULL;
    }
    const char *h = setting_str(ss, "host");
    if (!h)
        h = setting_str(srv, "host");
    const char *mine = setting_str(run->settings, "host");
    return h && mine && !strcmp(h, mine) ? "host_key" : NULL;
}

/*
 * Checks fp against the pin `name` of the task's server, storing it there
 * on first use (a short write transaction of its own). Returns 0, or
 * ERR_CONFLICT with a message naming both fingerprints.
 */
static int pin_check(struct ssh_run *run, const char *name, const char *endpoint, const char *fp,
                     struct err *e)
{
    struct db *db = run->x->db;
    struct db_result *res = NULL;
    struct db_value p[] = { DB_INT(run->x->task->server_id), DB_NULL };
    char sql[160];
    int rc = db_begin(db, true, e);
    if (rc)
        return rc;
    snprintf(sql, sizeof(sql), "SELECT settings FROM servers WHERE server_id = $1%s",
             db_sql_for_update(db));
    rc = db_query(db, sql, p, 1, &res, e);
    json_t *settings = NULL;
    if (rc == 0 && db_result_rows(res) == 1 && db_result_text(res, 0, 0))
        settings = json_loads(db_result_text(res, 0, 0), 0, NULL);
    db_result_free(res);
    if (!json_is_object(settings)) {
        json_decref(settings);
        settings = json_object();
    }
    const char *pinned = setting_str(settings, name);
    if (rc == 0 && pinned && strcmp(pinned, fp) != 0) {
        rc = err_set(e, ERR_CONFLICT,
                     "Host key of %s changed: pinned %s, offered %s. Remove settings.%s of server "
                     "%lld if the change is expected",
                     endpoint, pinned, fp, name, (long long)run->x->task->server_id);
    } else if (rc == 0 && !pinned) {
        json_object_set_new(settings, name, json_string(fp));
        char *text = json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS);
        p[1] = DB_TEXT(text);
        rc = db_exec(db, "UPDATE servers SET settings = $2 WHERE server_id = $1", p, 2, NULL, e);
        free(text);
        if (rc == 0)
            log_info("ssh host key pinned", "server_id=%lld endpoint=%s key=%s",
                     (long long)run->x->task->server_id, endpoint, fp);
    }
    json_decref(settings);
    if (rc == 0) {
        rc = db_commit(db, e);
    } else {
        struct err keep = *e;
        db_rollback(db);
        *e = keep;
    }
    return rc;
}

/* Checks the host key of a connected session (D19). Returns 0, ERR_CONFLICT or ERR_IO. */
static int host_key_check(struct ssh_run *run, ssh_session s, bool jump, struct err *e)
{
    const struct ssh_target *t = jump ? &run->jump : &run->target;
    char endpoint[340];
    snprintf(endpoint, sizeof(endpoint), "%s@%s:%d", t->user, t->host, t->port);
    char *fp = host_key_fingerprint(s);
    if (!fp)
        return err_set(e, ERR_IO, "Cannot read the host key of %s", endpoint);
    json_object_set_new(run->extra, jump ? "proxy_host_key" : "host_key", json_string(fp));
    const char *name = pin_key(run, jump);
    int rc = name ? pin_check(run, name, endpoint, fp, e) : 0;
    free(fp);
    return rc;
}

/* ---- connecting ---- */

/*
 * Opens an authenticated session to t over a new TCP connection, or over
 * fd (>= 0: a socket libssh takes over). Returns 0 and an owned *out, or
 * ERR_IO (connection, authentication) / ERR_CONFLICT (host key) with e set.
 */
static int open_session(struct ssh_run *run, const struct ssh_target *t, bool jump, ssh_key key,
                        int fd, ssh_session *out, struct err *e)
{
    ssh_session s = ssh_new();
    long timeout = run->timeout;
    int port = t->port, off = 0;
    bool yes = true;
    if (!s)
        return err_set(e, ERR_INTERNAL, "ssh_new failed");
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &off);
    ssh_options_set(s, SSH_OPTIONS_HOST, t->host);
    ssh_options_set(s, SSH_OPTIONS_USER, t->user);
    ssh_options_set(s, SSH_OPTIONS_PORT, &port);
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    ssh_options_set(s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &yes);
    if (fd >= 0)
        ssh_options_set(s, SSH_OPTIONS_FD, &fd);
    int rc = 0;
    if (ssh_connect(s) != SSH_OK)
        rc = err_set(e, ERR_IO, "Connection to %s port %d failed: %s", t->host, t->port,
                     ssh_get_error(s));
    if (rc == 0)
        rc = host_key_check(run, s, jump, e);
    if (rc == 0 && ssh_userauth_publickey(s, NULL, key) != SSH_AUTH_SUCCESS)
        rc = err_set(e, ERR_IO, "Authentication of %s@%s failed: %s", t->user, t->host,
                     ssh_get_error(s));
    if (rc) {
        ssh_disconnect(s);
        ssh_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* A jump host: a direct-tcpip channel pumped to one end of a socket pair. */
struct jump_link {
    ssh_session s;
    ssh_channel ch;
    int fd;      /* our end, pumped to/from ch */
    int peer_fd; /* the other end, handed to the target session */
    pthread_t thread;
    atomic_bool stop;
    bool running;
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Moves bytes between the channel and the socket until either side ends. */
static void *jump_pump(void *arg)
{
    struct jump_link *j = arg;
    char buf[16384];
    while (!atomic_load(&j->stop)) {
        int n = ssh_channel_read_timeout(j->ch, buf, sizeof(buf), 0, 20);
        if (n == SSH_ERROR || (n == 0 && ssh_channel_is_eof(j->ch)))
            break;
        if (n > 0 && write_all(j->fd, buf, (size_t)n))
            break;
        struct pollfd pf = { .fd = j->fd, .events = POLLIN };
        if (poll(&pf, 1, n > 0 ? 0 : 20) > 0) {
            ssize_t r = read(j->fd, buf, sizeof(buf));
            if (r <= 0 || ssh_channel_write(j->ch, buf, (uint32_t)r) != (int)r)
                break;
        }
    }
    shutdown(j->fd, SHUT_RDWR);
    return NULL;
}

static void jump_close(struct jump_link *j)
{
    if (j->running) {
        atomic_store(&j->stop, true);
        pthread_join(j->thread, NULL);
    }
    if (j->ch) {
        ssh_channel_close(j->ch);
        ssh_channel_free(j->ch);
    }
    if (j->s) {
        ssh_disconnect(j->s);
        ssh_free(j->s);
    }
    if (j->fd >= 0)
        close(j->fd);
    memset(j, 0, sizeof(*j));
    j->fd = j->peer_fd = -1;
}

/* Connects to the jump host and opens the tunnel to the target. Returns 0 or ERR_IO. */
static int jump_open(struct ssh_run *run, ssh_key key, struct jump_link *j, struct err *e)
{
    int sv[2];
    int rc = open_session(run, &run->jump, true, key, -1, &j->s, e);
    if (rc)
        return rc;
    j->ch = ssh_channel_new(j->s);
    if (!j->ch || ssh_channel_open_forward(j->ch, run->target.host, run->target.port,
                                           "127.0.0.1", 0) != SSH_OK)
        return err_set(e, ERR_IO, "Jump host %s cannot reach %s port %d: %s", run->jump.host,
                       run->target.host, run->target.port, ssh_get_error(j->s));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return err_set(e, ERR_IO, "socketpair failed");
    j->fd = sv[0];
    j->peer_fd = sv[1];
    if (pthread_create(&j->thread, NULL, jump_pump, j)) {
        close(j->peer_fd);
        j->peer_fd = -1;
        return err_set(e, ERR_INTERNAL, "cannot start the jump host thread");
    }
    j->running = true;
    return 0;
}

/* ---- running ---- */

enum run_end { RUN_EXITED, RUN_TIMEOUT, RUN_BROKEN };

/* Sends the input and reads the merged output into the console until EOF or the deadline. */
static enum run_end pump_output(struct ssh_run *run, ssh_channel ch, bool merge_stderr)
{
    struct out_sink k = { .run = run };
    char buf[16384];
    enum run_end end = RUN_EXITED;
    buf_init(&k.pending, 0);
    if (run->has_input && run->input.len &&
        ssh_channel_write(ch, run->input.data, (uint32_t)run->input.len) == SSH_ERROR)
        end = RUN_BROKEN;
    ssh_channel_send_eof(ch);
    while (end == RUN_EXITED) {
        bool got = false;
        for (int is_err = 0; is_err <= 1; is_err++) {
            int n = ssh_channel_read_nonblocking(ch, buf, sizeof(buf), is_err);
            if (n == SSH_ERROR) {
                end = RUN_BROKEN;
                break;
            }
            if (n > 0 && (!is_err || merge_stderr))
                sink_feed(&k, buf, (size_t)n);
            got = got || n > 0;
        }
        if (got || end != RUN_EXITED)
            continue;
        if (ssh_channel_is_eof(ch))
            break;
        int64_t left_ms = (run->deadline_ns - mono_ns()) / 1000000;
        if (left_ms <= 0) {
            end = RUN_TIMEOUT;
            break;
        }
        if (ssh_channel_poll_timeout(ch, (int)(left_ms < 100 ? left_ms : 100), 0) == SSH_ERROR)
            end = RUN_BROKEN;
    }
    sink_flush(&k, k.pending.len);
    buf_free(&k.pending);
    return end;
}

/* Runs run->command on session s. Returns the result and fills run->ret_code and e. */
static enum task_result exec_command(struct ssh_run *run, ssh_session s, struct err *e)
{
    ssh_channel ch = ssh_channel_new(s);
    if (!ch || ssh_channel_open_session(ch) != SSH_OK ||
        ssh_channel_request_exec(ch, run->command) != SSH_OK) {
        err_set(e, ERR_IO, "Cannot start the command: %s", ssh_get_error(s));
        say(run, "red", "ERROR %s", e->msg);
        if (ch)
            ssh_channel_free(ch);
        run->ret_code = -1;
        return TASK_FAIL;
    }
    int64_t merge = 1;
    struct err ignore = { 0 };
    setting_int(run->settings, "stderr_to_stdout", 1, 0, 1, &merge, &ignore);
    enum run_end end = pump_output(run, ch, merge != 0);
    enum task_result result = TASK_FAIL;
    if (end == RUN_TIMEOUT) {
        ssh_channel_request_send_signal(ch, "KILL");
        run->ret_code = -1;
        err_set(e, ERR_TIMEOUT, "Timeout: the command did not finish in %d s", run->timeout);
        say_raw(run, "\n", 1);
        say(run, "red", "TIMEOUT");
    } else if (end == RUN_BROKEN) {
        run->ret_code = -1;
        err_set(e, ERR_IO, "Connection lost: %s", ssh_get_error(s));
        say_raw(run, "\n", 1);
        say(run, "red", "ERROR %s", e->msg);
    } else {
        run->ret_code = ssh_channel_get_exit_status(ch);
        if (run->ret_code == 0) {
            result = TASK_SUCCESS;
            say_raw(run, "\n", 1);
            say(run, "green", "DONE");
        } else {
            err_set(e, ERR_IO, "Exit code %d", run->ret_code);
            say_raw(run, "\n", 1);
            say(run, "red", "ERROR %d", run->ret_code);
        }
    }
    ssh_channel_close(ch);
    ssh_channel_free(ch);
    return result;
}

/* Loads the identity key_id into libssh. Returns 0 or ERR_NOT_FOUND/ERR_INVALID. */
static int load_key(struct ssh_run *run, ssh_key *key, struct err *e)
{
    char *pem = NULL;
    int rc = identity_private_key(run->x->db, run->x->cfg, run->key_id, &pem, e);
    if (rc)
        return rc;
    if (ssh_pki_import_privkey_base64(pem, NULL, NULL, NULL, key) != SSH_OK)
        rc = err_set(e, ERR_INVALID, "Identity %lld: the private key cannot be loaded",
                     (long long)run->key_id);
    identity_secret_free(pem);
    return rc;
}

/* Connects (through the jump host when set) and runs the command. */
static enum task_result connect_and_run(struct ssh_run *run, struct err *e)
{
    ssh_key key = NULL;
    ssh_session s = NULL;
    struct jump_link j = { .fd = -1, .peer_fd = -1 };
    enum task_result result = TASK_FAIL;
    int rc = load_key(run, &key, e);
    if (rc) {
        say(run, "red", "FAIL %s", e->msg);
        return TASK_STUCK;
    }
    if (run->has_jump)
        rc = jump_open(run, key, &j, e);
    if (rc == 0)
        rc = open_session(run, &run->target, false, key, j.peer_fd, &s, e);
    if (rc) {
        run->ret_code = -1;
        say(run, "red", "FAIL %s", e->msg);
        result = rc == ERR_CONFLICT ? TASK_STUCK : TASK_FAIL;
    } else {
        /* SHM: the connection has its own timeout, then the output is read under an alarm */
        run->deadline_ns = mono_ns() + (int64_t)run->timeout * 1000000000;
        say(run, "green", "SUCCESS");
        say_raw(run, "\n", 1);
        result = exec_command(run, s, e);
        ssh_disconnect(s);
        ssh_free(s);
    }
    /* libssh never closes a socket given with SSH_OPTIONS_FD: it stays ours */
    if (j.peer_fd >= 0 && close(j.peer_fd))
        log_warn("ssh jump socket", "error=\"%s\"", strerror(errno));
    jump_close(&j);
    ssh_key_free(key);
    return result;
}

/* ---- the task ---- */

/* Reads host, port, key_id, timeout, proxy_host and shell from the merged settings. */
static int read_settings(struct ssh_run *run, const char **shell, struct err *e)
{
    const char *host = setting_str(run->settings, "host");
    int64_t port, key_id, timeout;
    int rc;
    if (!host)
        return err_set(e, ERR_INVALID, "No host: set the server's host or settings.host");
    if ((rc = setting_int(run->settings, "port", SSH_DEFAULT_PORT, 1, 65535, &port, e)) ||
        (rc = setting_int(run->settings, "key_id", 0, 0, INT64_MAX, &key_id, e)) ||
        (rc = setting_int(run->settings, "timeout", SSH_DEFAULT_TIMEOUT, 1, SSH_MAX_TIMEOUT,
                          &timeout, e)))
        return rc;
    if (key_id == 0)
        return err_set(e, ERR_INVALID, "No key_id: set settings.key_id of the server");
    run->key_id = key_id;
    run->timeout = (int)timeout;
    run->target.port = (int)port;
    if ((rc = parse_target("host", host, false, &run->target, e)))
        return rc;
    const char *proxy = setting_str(run->settings, "proxy_host");
    if (proxy) {
        run->jump.port = SSH_DEFAULT_PORT;
        if ((rc = parse_target("proxy_host", proxy, true, &run->jump, e)))
            return rc;
        run->has_jump = true;
    }
    *shell = setting_str(run->settings, "shell");
    if (!*shell)
        *shell = "bash";
    if (!valid_shell(*shell))
        return err_set(e, ERR_INVALID, "Invalid shell: %s", *shell);
    return 0;
}

/* Uses settings.pipeline_id when given (reopening it), else a new console. */
static int open_console(struct ssh_run *run, struct err *e)
{
    int64_t id = 0;
    int rc = setting_int(run->settings, "pipeline_id", 0, 0, INT64_MAX, &id, e);
    if (rc == 0 && id > 0)
        rc = console_reopen(run->x->db, id, e);
    else if (rc == 0)
        rc = console_create(run->x->db, &id, e);
    run->pipeline_id = id;
    return rc;
}

static void say_trying(struct ssh_run *run)
{
    char msg[800];
    int n = snprintf(msg, sizeof(msg), "Trying connect to: %s@%s (timeout: %ds) port %d",
                     run->target.user, run->target.host, run->timeout, run->target.port);
    if (run->has_jump && n > 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, " through %s@%s port %d", run->jump.user,
                 run->jump.host, run->jump.port);
    say(run, "yellow", "%s", msg);
}

/* The response of transports.md §1.4 (owned). */
static json_t *make_response(struct ssh_run *run, const char *error)
{
    json_t *r = json_object();
    json_t *srv = json_object();
    const json_t *s = run->settings;
    json_object_set_new(srv, "id", json_integer(run->x->task->server_id));
    json_object_set(srv, "host", json_object_get(s, "host") ? json_object_get(s, "host")
                                                             : json_null());
    json_object_set_new(srv, "port", json_integer(run->target.port ? run->target.port
                                                                    : SSH_DEFAULT_PORT));
    json_object_set_new(srv, "key_id", json_integer(run->key_id));
    json_object_set_new(r, "server", srv);
    if (setting_str(s, "cmd"))
        json_object_set(r, "cmd", json_object_get(s, "cmd"));
    else if (setting_str(s, "template_id"))
        json_object_set(r, "template_id", json_object_get(s, "template_id"));
    json_object_set_new(r, "ret_code", json_integer(run->ret_code));
    json_object_set_new(r, "pipeline_id", json_integer(run->pipeline_id));
    json_object_update(r, run->extra);
    if (error)
        json_object_set_new(r, "error", json_string(error));
    return r;
}

/* One execution: run is prepared by the caller (x, literal, capture). */
static enum task_result execute(struct ssh_run *r, json_t **response)
{
    struct ssh_run run = *r;
    run.ret_code = -1;
    const struct task_ctx *x = run.x;
    struct err e = { 0 };
    const char *shell = "bash";
    bool skip = false;
    enum task_result result = TASK_STUCK;
    run.settings = merge_settings(x->task);
    run.extra = json_object();
    buf_init(&run.input, SSH_SCRIPT_MAX);
    if (open_console(&run, &e)) { /* the database, not the task: try again later */
        *response = make_response(&run, e.msg);
        result = TASK_FAIL;
        goto out;
    }
    if (read_settings(&run, &shell, &e) == 0)
        result = prepare_command(&run, shell, &skip, &e);
    if (skip) {
        say(&run, "green", "%s", e.msg);
        *response = make_response(&run, NULL);
        json_object_set_new(*response, "msg", json_string(e.msg));
        result = TASK_SUCCESS;
    } else if (e.msg[0]) {
        say(&run, "red", "FAIL %s", e.msg);
        *response = make_response(&run, e.msg);
        result = TASK_STUCK;
    } else {
        say_trying(&run);
        result = connect_and_run(&run, &e);
        *response = make_response(&run, result == TASK_SUCCESS ? NULL : e.msg);
    }
    struct err ce = { 0 };
    if (console_finish(x->db, run.pipeline_id, &ce))
        log_warn("console", "id=%lld error=\"%s\"", (long long)run.pipeline_id, ce.msg);
out:
    log_info("ssh task", "task=%lld host=%s result=%d ret_code=%d pipeline=%lld",
             (long long)x->task->id, run.target.host, (int)result, run.ret_code,
             (long long)run.pipeline_id);
    free(run.command);
    buf_free(&run.input);
    json_decref(run.settings);
    json_decref(run.extra);
    r->ret_code = run.ret_code;
    r->pipeline_id = run.pipeline_id;
    return result;
}

static enum task_result send_task(const struct task_ctx *x, json_t **response)
{
    struct ssh_run run = { .x = x };
    return execute(&run, response);
}

int ssh_exec(struct db *db, const struct config *cfg, int64_t user_id, const json_t *settings,
             struct ssh_exec_result *out, struct err *e)
{
    struct spool_task t = { .user_id = user_id, .token = "", .name = "EXEC",
                            .settings = settings };
    struct task_ctx x = { .db = db, .cfg = cfg, .task = &t };
    struct buf capture;
    struct console_chunk ch = { 0 };
    buf_init(&capture, SSH_EXEC_OUTPUT_MAX);
    struct ssh_run run = { .x = &x, .literal = true, .capture = &capture };
    memset(out, 0, sizeof(*out));
    out->result = execute(&run, &out->response);
    out->ret_code = run.ret_code;
    out->pipeline_id = run.pipeline_id;
    out->output = buf_detach(&capture, NULL);
    int rc = run.pipeline_id ? console_read(db, run.pipeline_id, 1, &ch, e) : 0;
    out->logs = ch.text ? ch.text : xstrdup("");
    return rc;
}

void ssh_exec_result_free(struct ssh_exec_result *r)
{
    json_decref(r->response);
    free(r->logs);
    free(r->output);
    memset(r, 0, sizeof(*r));
}

const struct transport transport_ssh = { "ssh", send_task };
