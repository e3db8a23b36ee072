/*
 * api_console.c — the pipeline console (spool.md §8) and the SSH admin
 * helpers (transports.md §1.6):
 *
 *   GET /shm/admin/console.cgi?id=&offset=   (L6) the log from a 1-based byte
 *       offset as text/plain, header x-console-eof: 0|1 — SHM's polled API;
 *   GET /shm/v1/admin/console/stream?id=&offset=   the same log pushed as
 *       Server-Sent Events: "message" events carry new text (the data lines
 *       joined with "\n" are the bytes appended; `id` is the next offset, so
 *       a reconnect with Last-Event-ID resumes), an "eof" event ends it;
 *   PUT /shm/v1/admin/transport/ssh/test {host, key_id}   queues `uname -a`;
 *   PUT /shm/v1/admin/transport/ssh/init {host, key_id, template_id}   queues
 *       a template run (event INIT, timeout 600).
 * The two PUT routes create the console row at once and answer its
 * pipeline_id with the arguments, so the UI can watch before the task runs.
 */
#include "api.h"
#include "../core/identity.h"
#include "../spool/console.h"
#include "../spool/spool.h"
#include "../transport/ssh.h"
#include "../util/strutil.h"

#include <time.h>

#define STREAM_KEEPALIVE_NS ((int64_t)15 * 1000000000)

/* ---- polling (L6) ---- */

static int console_id_arg(struct api_ctx *c, const char *name, int64_t *out)
{
    if (args_i64(c->args, name, out) || *out < 1)
        return api_fail(c, 400, "Field %s: expected a positive integer", name);
    return 0;
}

static int api_console_cgi(struct api_ctx *c)
{
    int64_t id, offset = 1;
    struct console_chunk ch;
    int rc = console_id_arg(c, "id", &id);
    if (rc)
        return rc;
    if (!args_missing(c->args, "offset") && args_i64(c->args, "offset", &offset))
        return api_fail(c, 400, "Field offset: expected an integer");
    rc = console_read(c->db, id, offset, &ch, &c->err);
    if (rc)
        return rc;
    c->out = API_OUT_CUSTOM;
    http_response_body(c->resp, ch.text, ch.len, "text/plain; charset=utf-8");
    http_response_header(c->resp, "x-console-eof", ch.eof ? "1" : "0");
    return 0;
}

/* ---- push (Server-Sent Events) ---- */

/*
 * One stream. db is the connection of the pool thread that served the
 * request: http.c calls next() on that same thread, between its requests,
 * so no transaction is open on it then.
 */
struct console_stream {
    struct db *db;
    int64_t id;
    int64_t offset;   /* next 1-based byte offset to read */
    struct buf out;   /* formatted events not handed out yet */
    size_t out_pos;
    bool done;        /* the last event is in out */
    int64_t last_ns;  /* when something was last produced */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Formats text as one SSE message: a data line per line ('\r' dropped), then the id. */
static void sse_message(struct buf *out, const char *text, size_t len, int64_t next_offset)
{
    buf_puts(out, "data: ");
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            buf_puts(out, "\ndata: ");
        else if (text[i] != '\r' && text[i] != '\0')
            buf_putc(out, text[i]);
    }
    buf_printf(out, "\nid: %lld\n\n", (long long)next_offset);
}

/* Reads what is new in the console into s->out. */
static void stream_poll(struct console_stream *s)
{
    struct console_chunk ch;
    struct err e = { 0 };
    if (console_read(s->db, s->id, s->offset, &ch, &e)) {
        buf_printf(&s->out, "event: error\ndata: %s\n\n", e.msg);
        s->done = true;
        return;
    }
    if (ch.len) {
        s->offset += (int64_t)ch.len;
        sse_message(&s->out, ch.text, ch.len, s->offset);
    }
    if (ch.eof) {
        buf_printf(&s->out, "event: eof\ndata: %lld\n\n", (long long)s->offset);
        s->done = true;
    } else if (!ch.len && mono_ns() - s->last_ns > STREAM_KEEPALIVE_NS) {
        buf_puts(&s->out, ": keep-alive\n\n");
    }
    free(ch.text);
}

static long stream_next(void *ctx, char *dst, size_t max)
{
    struct console_stream *s = ctx;
    if (s->out_pos == s->out.len) {
        buf_reset(&s->out);
        s->out_pos = 0;
        if (s->done)
            return HTTP_STREAM_END;
        stream_poll(s);
        if (s->out.len == 0)
            return 0;
        s->last_ns = mono_ns();
    }
    size_t n = s->out.len - s->out_pos;
    if (n > max)
        n = max;
    memcpy(dst, s->out.data + s->out_pos, n);
    s->out_pos += n;
    return (long)n;
}

static void stream_free(void *ctx)
{
    struct console_stream *s = ctx;
    buf_free(&s->out);
    free(s);
}

static int api_console_stream(struct api_ctx *c)
{
    int64_t id, offset = 1;
    struct console_chunk ch;
    int rc = console_id_arg(c, "id", &id);
    if (rc)
        return rc;
    const char *last = http_header(c->req, "Last-Event-ID");
    if (last && parse_i64z(last, 1, INT64_MAX, &offset))
        return api_fail(c, 400, "Header Last-Event-ID: expected a positive integer");
    if (!last && !args_missing(c->args, "offset") && args_i64(c->args, "offset", &offset))
        return api_fail(c, 400, "Field offset: expected an integer");
    rc = console_read(c->db, id, 1, &ch, &c->err); /* 404 before the stream starts */
    free(ch.text);
    if (rc)
        return rc;
    struct console_stream *s = xcalloc(1, sizeof(*s));
    s->db = c->db;
    s->id = id;
    s->offset = offset < 1 ? 1 : offset;
    s->last_ns = mono_ns();
    buf_init(&s->out, 0);
    struct http_stream hs = { .next = stream_next, .free = stream_free, .ctx = s };
    c->out = API_OUT_CUSTOM;
    http_response_stream(c->resp, &hs, "text/event-stream; charset=utf-8");
    http_response_header(c->resp, "Cache-Control", "no-cache");
    http_response_header(c->resp, "X-Accel-Buffering", "no");
    return 0;
}

/* ---- SSH admin helpers (R138, R139) ---- */

/* Checks host and key_id of an ssh helper request into *key_id. */
static int check_ssh_args(struct api_ctx *c, int64_t *key_id)
{
    struct err e = { 0 };
    const char *host = args_str(c->args, "host");
    bool exists = false;
    if (!host || !*host)
        return api_fail(c, 400, "Field host: expected [user@]host");
    if (ssh_check_host("host", host, false, &e))
        return api_fail(c, 400, "Field host: %s", e.msg);
    const char *proxy = args_str(c->args, "proxy_host");
    if (proxy && *proxy && ssh_check_host("proxy_host", proxy, true, &e))
        return api_fail(c, 400, "Field proxy_host: %s", e.msg);
    if (args_i64(c->args, "key_id", key_id) || *key_id < 1)
        return api_fail(c, 400, "Field key_id: expected an identity id");
    int rc = identity_exists(c->db, *key_id, &exists, &c->err);
    if (rc)
        return rc;
    if (!exists)
        return api_fail(c, 400, "Field key_id: identity %lld does not exist", (long long)*key_id);
    int64_t port;
    if (!args_missing(c->args, "port") &&
        (args_i64(c->args, "port", &port) || port < 1 || port > 65535))
        return api_fail(c, 400, "Field port: expected 1..65535");
    return 0;
}

/*
 * Queues one ssh task for the caller: settings = the known arguments plus
 * what the helper adds (extra), with a fresh console. Answers the arguments
 * and the pipeline_id.
 */
static int queue_ssh(struct api_ctx *c, const char *event_name, const char *title, json_t *extra)
{
    static const char *const passed[] = { "host", "port", "proxy_host", "template_id",
                                          "server_id" };
    int64_t key_id, pipeline_id;
    int rc = check_ssh_args(c, &key_id);
    if (rc == 0)
        rc = console_create(c->db, &pipeline_id, &c->err);
    if (rc) {
        json_decref(extra);
        return rc;
    }
    json_t *answer = json_object();
    for (size_t i = 0; i < ARRAY_SIZE(passed); i++) {
        json_t *v = json_object_get(c->args, passed[i]);
        if (v && !json_is_null(v))
            json_object_set(answer, passed[i], v);
    }
    json_object_set_new(answer, "key_id", json_integer(key_id));
    json_object_set_new(answer, "pipeline_id", json_integer(pipeline_id));
    json_t *settings = json_deep_copy(answer);
    json_object_update(settings, extra);
    json_object_set_new(settings, "transport", json_string("ssh"));
    json_t *event = json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind", "Transport::Ssh", "name",
                              event_name, "title", title, "settings", "transport", "ssh");
    struct spool_new t = { .user_id = c->auth_user_id, .event = event, .settings = settings };
    rc = spool_add(c->db, &t, NULL, &c->err);
    json_decref(event);
    json_decref(settings);
    json_decref(extra);
    if (rc) {
        json_decref(answer);
        return rc;
    }
    api_set_data(c, answer);
    return 0;
}

static int api_ssh_test(struct api_ctx *c)
{
    return queue_ssh(c, "EXEC", "ssh test", json_pack("{s:s}", "cmd", "uname -a"));
}

static int api_ssh_init(struct api_ctx *c)
{
    const char *tpl = args_str(c->args, "template_id");
    if (!tpl || !*tpl)
        return api_fail(c, 400, "Field template_id: expected a template id");
    return queue_ssh(c, "INIT", "ssh init", json_pack("{s:i}", "timeout", 600));
}

#define R(m, p, a, req, h, fl, tag, sum) { m, p, a, req, h, fl, NULL, NULL, tag, sum, NULL }

static const struct route routes[] = {
    R("GET", "/admin/console/stream", AUTH_ADMIN, "id", api_console_stream, RF_NO_TX, "console",
      "Push the log of a console pipeline as Server-Sent Events until its end"),
};

/* Paths are absolute: this lives outside /shm/v1 (api.md §12). */
static const struct route legacy_routes[] = {
    R("GET", "/shm/admin/console.cgi", AUTH_ADMIN, "id", api_console_cgi, RF_HIDDEN, "legacy",
      "The log of a console pipeline from a 1-based byte offset"), /* L6 */
};

static const struct route transport_routes[] = {
    R("PUT", "/admin/transport/ssh/test", AUTH_ADMIN, "host,key_id", api_ssh_test, 0,
      "transport", "Queue an SSH test (uname -a) with a live console"), /* R138 */
    R("PUT", "/admin/transport/ssh/init", AUTH_ADMIN, "host,key_id,template_id", api_ssh_init, 0,
      "transport", "Queue an init-script run (event INIT, timeout 600) with a live console"),
    /* R139 */
};

const struct route_table api_console_routes = ROUTE_TABLE(routes);
const struct route_table api_console_legacy_routes = ROUTE_TABLE(legacy_routes);
const struct route_table api_transport_routes = ROUTE_TABLE(transport_routes);
