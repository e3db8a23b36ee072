/*
 * mail.c — the mail transport (transports.md §3): merges the settings with
 * the config `mail` defaults, finds the recipient (§3.3), renders the body,
 * builds the message (mime.c) and submits it over SMTP with libcurl (plain,
 * STARTTLS or implicit TLS, optional SASL). No database transaction is open
 * while the SMTP session runs.
 *
 * Results (D9): sent → SUCCESS; no recipient or an empty message → SUCCESS
 * with the reason (skipped); configuration errors and invalid addresses,
 * also an address the server rejects for good (550/551/553) → STUCK; any
 * other SMTP or network error → FAIL (retried).
 */
#include "transport.h"

#include "http_client.h"
#include "mime.h"
#include "tsettings.h"

#include "../core/config_store.h"
#include "../db/db.h"
#include "../objects/render.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <ctype.h>
#include <curl/curl.h>
#include <strings.h>
#include <sys/random.h>

#define MAIL_TIMEOUT_MS 30000L
#define MAIL_MESSAGE_MAX ((size_t)24 << 20)

enum tls_mode { TLS_NONE, TLS_TRY, TLS_STARTTLS, TLS_IMPLICIT };

/* One mail task, prepared before the SMTP session. */
struct mail_job {
    json_t *settings;              /* merged settings with defaults */
    struct buf body;               /* the message text */
    struct mime_addr_list to, cc, bcc;
    char host[256];                /* SMTP host (IPv6 without brackets) */
    long port;
};

static void job_release(struct mail_job *j)
{
    json_decref(j->settings);
    buf_free(&j->body);
    mime_addr_list_release(&j->to);
    mime_addr_list_release(&j->cc);
    mime_addr_list_release(&j->bcc);
}

/* Sets key to def when settings has no usable value there. */
static void set_default(json_t *settings, const char *key, const json_t *def)
{
    const json_t *v = json_object_get(settings, key);
    if (!tset_defined(v) && tset_defined(def))
        json_object_set(settings, key, (json_t *)def);
}

static enum task_result finish(json_t **response, enum task_result res, const char *error)
{
    *response = json_object();
    json_object_set_new(*response, "error", tset_textz(error));
    return res;
}

/* ---- recipients (§3.3) ---- */

/* The first valid address of the user (settings.email, login2, login, profile e-mail). */
static char *user_email(struct db *db, int64_t user_id)
{
    struct db_result *res = NULL;
    struct db_value p[] = { DB_INT(user_id) };
    struct err e = { 0 };
    char *found = NULL;
    if (db_query(db, "SELECT settings, login2, login FROM users WHERE user_id = $1", p, 1, &res,
                 &e) == 0 && db_result_rows(res) > 0) {
        const char *st = db_result_text(res, 0, 0);
        json_t *settings = st ? json_loads(st, 0, NULL) : NULL;
        const char *cand[] = { tset_str(settings, "email"), db_result_text(res, 0, 1),
                               db_result_text(res, 0, 2) };
        for (size_t i = 0; !found && i < ARRAY_SIZE(cand); i++)
            if (cand[i] && mime_addr_valid(cand[i]))
                found = xstrdup(cand[i]);
        json_decref(settings);
    }
    db_result_free(res);
    res = NULL;
    if (!found && db_query(db, "SELECT data FROM profiles WHERE user_id = $1 ORDER BY id", p, 1,
                           &res, &e) == 0) {
        for (int r = 0; !found && r < db_result_rows(res); r++) {
            const char *d = db_result_text(res, r, 0);
            json_t *data = d ? json_loads(d, 0, NULL) : NULL;
            const char *em = tset_str(data, "email");
            if (em && mime_addr_valid(em))
                found = xstrdup(em);
            json_decref(data);
        }
    }
    db_result_free(res);
    return found;
}

/* Parses the recipients setting key (a string or an array of strings) into l. */
static int parse_setting_list(const json_t *settings, const char *key,
                              struct mime_addr_list *l, struct err *e)
{
    const json_t *v = json_object_get(settings, key);
    size_t i;
    const json_t *item;
    if (json_is_string(v))
        return mime_addr_list_parse(json_string_value(v), l, e);
    if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (!json_is_string(item))
                return err_set(e, ERR_INVALID, "Invalid email address in %s", key);
            int rc = mime_addr_list_parse(json_string_value(item), l, e);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (tset_defined(v))
        return err_set(e, ERR_INVALID, "Invalid email address in %s", key);
    return 0;
}

/*
 * Fills to/cc/bcc: `to` from the setting, else the user's e-mail, else bcc
 * (which then leaves the envelope's Bcc). Returns 0, ERR_INVALID or
 * ERR_NOT_FOUND (no recipient at all).
 */
static int recipients(const struct task_ctx *x, struct mail_job *j, struct err *e)
{
    int rc = parse_setting_list(j->settings, "to", &j->to, e);
    if (rc == 0)
        rc = parse_setting_list(j->settings, "cc", &j->cc, e);
    if (rc == 0)
        rc = parse_setting_list(j->settings, "bcc", &j->bcc, e);
    if (rc || j->to.n)
        return rc;
    char *addr = user_email(x->db, x->task->user_id);
    if (addr) {
        rc = mime_addr_list_parse(addr, &j->to, e);
        free(addr);
        return rc;
    }
    if (j->bcc.n) {
        j->to = j->bcc;
        j->bcc = (struct mime_addr_list){ 0 };
        return 0;
    }
    return err_set(e, ERR_NOT_FOUND, "User email undefined");
}

/* ---- settings and body ---- */

/* Renders the template of template_id/template_name into j->body and merges its settings. */
static int render_body(const struct task_ctx *x, struct mail_job *j, const char *tid,
                       char *why, size_t whylen)
{
    const struct spool_task *t = x->task;
    struct render_ctx r = { .db = x->db, .cfg = x->cfg, .user_id = t->user_id, .usi = t->usi,
                            .task = t };
    struct err e = { 0 };
    json_t *tsettings = NULL;
    int rc = render_template(&r, tid, &j->body, &tsettings, &e);
    render_ctx_release(&r);
    if (rc == ERR_NOT_FOUND)
        snprintf(why, whylen, "template with id `%s` not found", tid);
    else if (rc)
        snprintf(why, whylen, "template `%s`: %s", tid, e.msg);
    tset_merge(j->settings, tsettings);
    json_decref(tsettings);
    return rc;
}

/* Merges server < event < task settings, the template and the config defaults. */
static int job_settings(const struct task_ctx *x, struct mail_job *j, char *why, size_t whylen)
{
    const struct spool_task *t = x->task;
    j->settings = json_object();
    tset_merge(j->settings, json_object_get(t->server, "settings"));
    tset_merge(j->settings, json_object_get(t->event, "settings"));
    tset_merge(j->settings, t->settings);
    const char *tid = tset_str(j->settings, "template_id");
    if (!tid)
        tid = tset_str(j->settings, "template_name");
    char *tid_copy = tid ? xstrdup(tid) : NULL;
    int rc = 0;
    if (tid_copy)
        rc = render_body(x, j, tid_copy, why, whylen);
    else if (tset_str(j->settings, "message"))
        buf_puts(&j->body, tset_str(j->settings, "message"));
    free(tid_copy);
    if (rc)
        return rc;
    json_t *config = NULL;
    struct err e = { 0 };
    config_store_get(x->db, "mail", &config, &e);
    static const char *const keys[] = { "from", "from_name", "subject" };
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        set_default(j->settings, keys[i], json_object_get(config, keys[i]));
    json_decref(config);
    json_t *shm = json_string("SHM");
    set_default(j->settings, "from_name", shm);
    set_default(j->settings, "subject", shm);
    json_decref(shm);
    return 0;
}

/* Splits servers.host "host[:port]" ("[v6]:port"; an smtp:// prefix is accepted). */
static int parse_host(const char *host, struct mail_job *j, bool *implicit_tls)
{
    *implicit_tls = false;
    if (!strncasecmp(host, "smtps://", 8)) {
        host += 8;
        *implicit_tls = true;
    } else if (!strncasecmp(host, "smtp://", 7)) {
        host += 7;
    }
    const char *port = NULL;
    size_t n;
    if (*host == '[') {
        const char *close = strchr(host, ']');
        if (!close)
            return ERR_INVALID;
        n = (size_t)(close - host - 1);
        host++;
        port = close[1] == ':' ? close + 2 : NULL;
    } else {
        n = strcspn(host, ":/");
        port = host[n] == ':' ? host + n + 1 : NULL;
    }
    if (n == 0 || n >= sizeof(j->host))
        return ERR_INVALID;
    memcpy(j->host, host, n);
    j->host[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)j->host[i]) && !strchr(".-_:", j->host[i]))
            return ERR_INVALID;
    char *end = NULL;
    j->port = port ? strtol(port, &end, 10) : (*implicit_tls ? 465 : 25);
    if (port && (end == port || (*end && *end != '/') || j->port < 1 || j->port > 65535))
        return ERR_INVALID;
    return 0;
}

/* §3.2: explicit ssl/starttls flags win, else the port decides. */
static enum tls_mode tls_mode(const json_t *settings, long port, bool implicit_url)
{
    const json_t *ssl = json_object_get(settings, "ssl");
    const json_t *starttls = json_object_get(settings, "starttls");
    if (implicit_url || tset_true(ssl, false))
        return TLS_IMPLICIT;
    if (tset_true(starttls, false))
        return TLS_STARTTLS;
    if (tset_defined(ssl) || tset_defined(starttls))
        return TLS_NONE;
    return port == 465 ? TLS_IMPLICIT : port == 587 ? TLS_STARTTLS : port == 25 ? TLS_TRY
                                                                                : TLS_NONE;
}

/* "<token@domain>": the task's stable token (D9), so a retried mail keeps its id. */
static char *message_id(const struct spool_task *t, const char *from)
{
    char id[80];
    size_t n = 0;
    for (const char *p = t->token ? t->token : ""; *p && n < 64; p++)
        if (isalnum((unsigned char)*p) || *p == '-' || *p == '.')
            id[n++] = *p;
    id[n] = '\0';
    if (n == 0) { /* no token (a task made by hand): a random id */
        unsigned char rnd[16] = { 0 };
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            memcpy(rnd, &(int64_t){ time_now() }, sizeof(int64_t));
        for (size_t i = 0; i < sizeof(rnd); i++)
            n += (size_t)snprintf(id + n, sizeof(id) - n, "%02x", rnd[i]);
    }
    return xasprintf("<billd.%lld.%s@%s>", (long long)t->id, id, strrchr(from, '@') + 1);
}

/* ---- SMTP ---- */

/* The message being uploaded and the server's last reply line. */
struct smtp_io {
    const struct buf *msg;
    size_t off;
    char last_reply[256];
};

static size_t on_read(char *p, size_t size, size_t nmemb, void *ud)
{
    struct smtp_io *io = ud;
    size_t n = io->msg->len - io->off;
    if (n > size * nmemb)
        n = size * nmemb;
    memcpy(p, io->msg->data + io->off, n);
    io->off += n;
    return n;
}

/* Keeps the last line the server sent (for error messages). */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ud)
{
    struct smtp_io *io = ud;
    UNUSED(c);
    if (type != CURLINFO_HEADER_IN)
        return 0;
    while (size && (data[size - 1] == '\r' || data[size - 1] == '\n'))
        size--;
    snprintf(io->last_reply, sizeof(io->last_reply), "%.*s", (int)size, data);
    return 0;
}

static struct curl_slist *envelope_rcpts(const struct mail_job *j)
{
    struct curl_slist *l = NULL;
    const struct mime_addr_list *lists[] = { &j->to, &j->cc, &j->bcc };
    for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
        for (size_t i = 0; i < lists[k]->n; i++) {
            char *a = xasprintf("<%s>", lists[k]->v[i].addr);
            l = curl_slist_append(l, a);
            free(a);
        }
    return l;
}

static void smtp_setup(CURL *c, const struct mail_job *j, enum tls_mode tls, const char *url,
                       const char *from, struct curl_slist *rcpts, struct smtp_io *io,
                       char *errbuf)
{
    const char *user = tset_str(j->settings, "user");
    const char *pass = tset_str(j->settings, "password");
    const json_t *verify = json_object_get(j->settings, "verify_hostname");
    bool insecure = !tset_true(verify, true);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* SMTP never goes through an HTTP proxy */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, tset_seconds_ms(json_object_get(j->settings, "timeout"), MAIL_TIMEOUT_MS, 3600));
    curl_easy_setopt(c, CURLOPT_USE_SSL, tls == TLS_STARTTLS ? (long)CURLUSESSL_ALL
                                         : tls == TLS_TRY    ? (long)CURLUSESSL_TRY
                                                             : (long)CURLUSESSL_NONE);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
    if (user)
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
    if (pass)
        curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)io->msg->len);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, io);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, io);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

/*
 * True when the server refused an address for good (D9 "invalid address"):
 * a recipient with 550/551/553 (no such mailbox, not local, name not
 * allowed), or the sender with 501/553 (bad address syntax or name). Other
 * 5xx replies (530 authentication or TLS required, 554 policy, …) are FAIL.
 */
static bool address_refused(const char *curl_msg, long code)
{
    if (!strncmp(curl_msg, "RCPT failed", 11))
        return code == 550 || code == 551 || code == 553;
    if (!strncmp(curl_msg, "MAIL failed", 11))
        return code == 501 || code == 553;
    return false;
}

/*
 * Submits msg. Returns SUCCESS, FAIL with the error text in why, or STUCK
 * when the server refused an address for good (address_refused).
 */
static enum task_result smtp_submit(const struct mail_job *j, const struct buf *msg,
                                    enum tls_mode tls, char *why, size_t whylen)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    char *url = strchr(j->host, ':') ? xasprintf("%s://[%s]:%ld",
                                                 tls == TLS_IMPLICIT ? "smtps" : "smtp",
                                                 j->host, j->port)
                                     : xasprintf("%s://%s:%ld",
                                                 tls == TLS_IMPLICIT ? "smtps" : "smtp",
                                                 j->host, j->port);
    char *from = xasprintf("<%s>", tset_str(j->settings, "from"));
    struct curl_slist *rcpts = envelope_rcpts(j);
    struct smtp_io io = { .msg = msg };
    enum task_result res = TASK_SUCCESS;
    http_client_global_init();
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, whylen, "curl_easy_init failed");
        res = TASK_FAIL;
        goto out;
    }
    smtp_setup(c, j, tls, url, from, rcpts, &io, errbuf);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        const char *msgtxt = *errbuf ? errbuf : curl_easy_strerror(cc);
        bool addr_refused = address_refused(msgtxt, code);
        if (*io.last_reply && code)
            snprintf(why, whylen, "%s (server: %s)", msgtxt, io.last_reply);
        else
            snprintf(why, whylen, "%s", msgtxt);
        res = addr_refused ? TASK_STUCK : TASK_FAIL;
    }
    curl_easy_cleanup(c);
out:
    curl_slist_free_all(rcpts);
    free(from);
    free(url);
    return res;
}

/* ---- the transport ---- */

static void add_list(json_t *mail, const char *key, const struct mime_addr_list *l)
{
    struct buf b;
    if (!l->n) {
        json_object_del(mail, key);
        return;
    }
    buf_init(&b, 0);
    for (size_t i = 0; i < l->n; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", l->v[i].addr);
    json_object_set_new(mail, key, tset_textz(b.data));
    buf_free(&b);
}

/* {server: {host}, mail: {…arguments…}}; no server id, no password. */
static json_t *result_json(const struct spool_task *t, const struct mail_job *j)
{
    json_t *mail = json_deep_copy(j->settings);
    json_object_del(mail, "password");
    json_object_del(mail, "server_id");
    add_list(mail, "to", &j->to);
    add_list(mail, "cc", &j->cc);
    add_list(mail, "bcc", &j->bcc);
    json_object_set_new(mail, "message", tset_textz(j->body.data));
    const char *host = json_string_value(json_object_get(t->server, "host"));
    return json_pack("{s:{s:o},s:o}", "server", "host", tset_textz(host ? host : ""), "mail",
                     mail);
}

/* True when the body is only white space. */
static bool body_empty(const struct buf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (!isspace((unsigned char)b->data[i]))
            return false;
    return true;
}

static enum task_result mail_build_send(const struct task_ctx *x, struct mail_job *j,
                                        bool implicit, json_t **response)
{
    char why[512] = "";
    struct err e = { 0 };
    struct buf msg;
    const char *from = tset_str(j->settings, "from");
    const char *ct = tset_str(j->settings, "content_type");
    char *mid = message_id(x->task, from);
    struct mime_message m = {
        .from = from, .from_name = tset_str(j->settings, "from_name"), .to = &j->to,
        .cc = &j->cc, .subject = json_string_value(json_object_get(j->settings, "subject")),
        .content_type = ct ? ct : "text/plain", .body = j->body.data, .body_len = j->body.len,
        .date = time_now(), .message_id = mid,
    };
    buf_init(&msg, MAIL_MESSAGE_MAX);
    enum task_result res;
    if (mime_build_message(&m, &msg, &e)) {
        res = TASK_STUCK;
        snprintf(why, sizeof(why), "%s", e.msg);
    } else {
        res = smtp_submit(j, &msg, tls_mode(j->settings, j->port, implicit), why, sizeof(why));
    }
    *response = result_json(x->task, j);
    if (res != TASK_SUCCESS) {
        json_object_set_new(*response, "error", tset_textz(why));
        log_info("mail transport: not sent", "task=%lld result=%d", (long long)x->task->id, res);
    }
    buf_free(&msg);
    free(mid);
    return res;
}

static enum task_result mail_send(const struct task_ctx *x, json_t **response)
{
    const struct spool_task *t = x->task;
    struct mail_job j = { 0 };
    char why[300] = "";
    struct err e = { 0 };
    bool implicit = false;
    enum task_result res;
    const char *host = json_string_value(json_object_get(t->server, "host"));
    if (!t->server)
        return finish(response, TASK_STUCK, "Server not defined");
    if (!host || parse_host(host, &j, &implicit))
        return finish(response, TASK_STUCK, "Invalid SMTP host (expected host[:port])");
    buf_init(&j.body, (size_t)16 << 20);
    if (job_settings(x, &j, why, sizeof(why))) {
        res = finish(response, TASK_STUCK, why);
    } else if (!tset_str(j.settings, "from")) {
        res = finish(response, TASK_STUCK, "From undefined");
    } else if (!mime_addr_valid(tset_str(j.settings, "from"))) {
        snprintf(why, sizeof(why), "Invalid email address: %.80s", tset_str(j.settings, "from"));
        res = finish(response, TASK_STUCK, why);
    } else {
        int rc = recipients(x, &j, &e);
        if (rc == ERR_NOT_FOUND)
            res = finish(response, TASK_SUCCESS, "User email undefined");
        else if (rc)
            res = finish(response, TASK_STUCK, e.msg);
        else if (body_empty(&j.body))
            res = finish(response, TASK_SUCCESS, "The message is empty, skip it.");
        else
            res = mail_build_send(x, &j, implicit, response);
    }
    job_release(&j);
    return res;
}

const struct transport transport_mail = { "mail", mail_send };
