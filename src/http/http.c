/*
 * http.c — the libmicrohttpd wrapper (see http.h): daemon options, the
 * access handler state machine (headers → body → answer), framing checks,
 * body limits, client addresses, the access log and streamed bodies
 * (suspended between chunks, resumed by one ticker thread).
 */
#include "http.h"
#include "../util/log.h"
#include "../util/strutil.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

struct stream_state;

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_app app;
    struct http_options opt;
    int port;
    /* streamed bodies waiting for data (suspended connections), under park_lock */
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    struct stream_state *parked;
    bool stopping;
    pthread_t ticker;
};

/* One streamed response: the application's stream and the connection it belongs to. */
struct stream_state {
    struct http_stream s;
    struct http_server *srv;
    struct MHD_Connection *conn;
    int64_t deadline_ns;
    struct stream_state *next_parked;
};

#define HTTP_DISCARD_MAX ((size_t)64 << 20)

static atomic_uint_fast64_t request_counter;

/* Marks a request whose raw URL path holds an encoded NUL ("%00"): refused with 400. */
static char bad_url_marker;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- responses ---- */

void http_response_init(struct http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
}

void http_response_free(struct http_response *resp)
{
    if (resp->stream) {
        if (resp->stream->free)
            resp->stream->free(resp->stream->ctx);
        free(resp->stream);
        resp->stream = NULL;
    }
    free(resp->body);
    for (int i = 0; i < resp->nheaders; i++) {
        free(resp->header_names[i]);
        free(resp->header_values[i]);
    }
    resp->body = NULL;
    resp->nheaders = 0;
}

void http_response_header(struct http_response *resp, const char *name, const char *value)
{
    if (resp->nheaders >= HTTP_MAX_HEADERS)
        return;
    resp->header_names[resp->nheaders] = xstrdup(name);
    resp->header_values[resp->nheaders] = xstrdup(value);
    resp->nheaders++;
}

void http_response_body(struct http_response *resp, char *body, size_t len, const char *ctype)
{
    free(resp->body);
    resp->body = body;
    resp->len = len;
    if (ctype)
        resp->content_type = ctype;
}

void http_response_stream(struct http_response *resp, const struct http_stream *s,
                          const char *ctype)
{
    if (resp->stream && resp->stream->free)
        resp->stream->free(resp->stream->ctx);
    free(resp->stream);
    resp->stream = xmalloc(sizeof(*resp->stream));
    *resp->stream = *s;
    if (ctype)
        resp->content_type = ctype;
}

void http_response_text(struct http_response *resp, int status, const char *text, const char *ctype)
{
    resp->status = status;
    http_response_body(resp, xstrdup(text), strlen(text), ctype);
}

/* Strips CR/LF from header values we echo, so a response can never be split. */
static char *header_safe(const char *v)
{
    char *s = xstrdup(v);
    for (char *p = s; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    return s;
}

/* ---- streamed bodies ---- */

/*
 * MHD's content reader: asks the stream for data; with none, parks the
 * connection (MHD_suspend_connection, allowed from a content reader) until
 * the ticker resumes it, so a waiting stream never holds a pool thread.
 */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_state *st = cls;
    struct http_server *srv = st->srv;
    UNUSED(pos);
    if (now_ns() > st->deadline_ns)
        return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&srv->park_lock);
    bool stopping = srv->stopping;
    pthread_mutex_unlock(&srv->park_lock);
    if (stopping)
        return MHD_CONTENT_READER_END_OF_STREAM;
    long n = st->s.next(st->s.ctx, buf, max);
    if (n > 0)
        return (ssize_t)n;
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&srv->park_lock);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->park_lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    st->next_parked = srv->parked;
    srv->parked = st;
    MHD_suspend_connection(st->conn);
    pthread_mutex_unlock(&srv->park_lock);
    return 0;
}

static void stream_free(void *cls)
{
    struct stream_state *st = cls;
    if (st->s.free)
        st->s.free(st->s.ctx);
    free(st);
}

/* Resumes every parked stream. Called with park_lock held. */
static void resume_parked(struct http_server *srv)
{
    while (srv->parked) {
        struct stream_state *st = srv->parked;
        srv->parked = st->next_parked;
        st->next_parked = NULL;
        MHD_resume_connection(st->conn);
    }
}

/* The ticker thread: every HTTP_STREAM_POLL_MS, parked streams get another chance. */
static void *stream_ticker(void *arg)
{
    struct http_server *srv = arg;
    pthread_mutex_lock(&srv->park_lock);
    while (!srv->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)HTTP_STREAM_POLL_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&srv->park_cond, &srv->park_lock, &ts);
        resume_parked(srv);
    }
    pthread_mutex_unlock(&srv->park_lock);
    return NULL;
}

/* The MHD response of a streamed body; takes resp->stream. NULL on failure (stream freed). */
static struct MHD_Response *stream_response(struct http_request *req, struct http_response *resp,
                                            struct http_server *srv)
{
    struct stream_state *st = xcalloc(1, sizeof(*st));
    st->s = *resp->stream;
    st->srv = srv;
    st->conn = req->conn;
    int secs = st->s.max_seconds > 0 && st->s.max_seconds < HTTP_STREAM_MAX_SECONDS
                   ? st->s.max_seconds : HTTP_STREAM_MAX_SECONDS;
    st->deadline_ns = now_ns() + (int64_t)secs * 1000000000;
    free(resp->stream);
    resp->stream = NULL; /* now owned by st */
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
    if (!r)
        stream_free(st);
    return r;
}

static enum MHD_Result queue_to(struct http_server *srv, struct http_request *req,
                                struct http_response *resp)
{
    struct MHD_Response *r;
    if (resp->stream && srv) {
        r = stream_response(req, resp, srv);
    } else {
        r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
        resp->body = NULL; /* now owned by MHD */
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (int i = 0; i < resp->nheaders; i++) {
        char *v = header_safe(resp->header_values[i]);
        MHD_add_response_header(r, resp->header_names[i], v);
        free(v);
    }
    req->status = resp->status;
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result queue(struct http_request *req, struct http_response *resp)
{
    return queue_to(NULL, req, resp);
}

static enum MHD_Result answer_error(struct http_request *req, int status, const char *msg)
{
    struct http_response resp;
    http_response_init(&resp);
    char *body = xasprintf("{\"error\":\"%s\",\"status\":%d}", msg, status);
    http_response_body(&resp, body, strlen(body), NULL);
    resp.status = status;
    req->early_status = status;
    enum MHD_Result ok = queue(req, &resp);
    http_response_free(&resp);
    return ok;
}

/* ---- request inspection ---- */

const char *http_header(const struct http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_cookie(const struct http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

struct query_iter {
    void (*fn)(void *ctx, const char *key, const char *value);
    void *ctx;
};

static enum MHD_Result query_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    struct query_iter *it = cls;
    UNUSED(kind);
    it->fn(it->ctx, key, value ? value : "");
    return MHD_YES;
}

void http_query_foreach(const struct http_request *r,
                        void (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    struct query_iter it = { fn, ctx };
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_cb, &it);
}

struct framing {
    int content_length;
    int transfer_encoding;
    bool bad_te;
    bool bad_value;
};

static enum MHD_Result framing_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    struct framing *f = cls;
    UNUSED(kind);
    if (strlen(key) != key_size || (value && strlen(value) != value_size))
        f->bad_value = true; /* embedded NUL */
    for (size_t i = 0; value && i < value_size; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            f->bad_value = true;
    }
    if (strcasecmp(key, "Content-Length") == 0)
        f->content_length++;
    if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->transfer_encoding++;
        if (!value || strcasecmp(value, "chunked") != 0)
            f->bad_te = true;
    }
    return MHD_YES;
}

/* Returns NULL when the framing is acceptable, else the reason for a 400. */
static const char *framing_error(struct http_request *req)
{
    struct framing f = { 0 };
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, framing_cb, &f);
    if (f.bad_value)
        return "Invalid header value";
    if (f.content_length > 1)
        return "Duplicate Content-Length";
    if (f.content_length && f.transfer_encoding)
        return "Content-Length with Transfer-Encoding";
    if (f.transfer_encoding > 1 || f.bad_te)
        return "Unsupported Transfer-Encoding";
    return NULL;
}

/* Peers whose X-Real-IP / X-Forwarded-For we believe: loopback and private ranges. */
static bool is_local_proxy(const char *ip)
{
    struct in_addr a;
    ip = ip_unmap_v4(ip);
    if (strcmp(ip, "::1") == 0)
        return true;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return false;
    uint32_t v = ntohl(a.s_addr);
    return (v >> 24) == 127 || (v >> 24) == 10 || (v >> 20) == (172u << 4 | 1) ||
           (v >> 16) == (192u << 8 | 168);
}

static bool valid_ip(const char *s)
{
    unsigned char tmp[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

/* Takes the last entry of an X-Forwarded-For list into out, trimmed. */
static void last_forwarded(const char *xff, char *out, size_t outlen)
{
    const char *p = strrchr(xff, ',');
    p = p ? p + 1 : xff;
    while (*p == ' ')
        p++;
    snprintf(out, outlen, "%.*s", (int)strcspn(p, " "), p);
}

static void resolve_client_ip(struct http_request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    snprintf(req->peer_ip, sizeof(req->peer_ip), "unknown");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  req->peer_ip, sizeof(req->peer_ip));
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  req->peer_ip, sizeof(req->peer_ip));
    snprintf(req->client_ip, sizeof(req->client_ip), "%s", req->peer_ip);
    if (!is_local_proxy(req->peer_ip))
        return;
    char cand[64] = "";
    const char *real = http_header(req, "X-Real-IP");
    const char *xff = http_header(req, "X-Forwarded-For");
    if (real)
        snprintf(cand, sizeof(cand), "%s", real);
    else if (xff)
        last_forwarded(xff, cand, sizeof(cand));
    if (cand[0] && valid_ip(cand))
        snprintf(req->client_ip, sizeof(req->client_ip), "%s", cand);
}

/* Copies url into an owned string with runs of '/' collapsed. */
static char *normalise_path(const char *url)
{
    char *p = xmalloc(strlen(url) + 2), *o = p;
    for (const char *s = url; *s; s++)
        if (!(*s == '/' && o > p && o[-1] == '/'))
            *o++ = *s;
    if (o == p)
        *o++ = '/';
    *o = '\0';
    return p;
}

/* ---- the access handler ---- */

/*
 * Sees the raw request target before libmicrohttpd decodes it. The decoded
 * path is a C string, so "%00" would silently cut it short ("a%00b" → "a"):
 * such requests are marked here and refused.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    UNUSED(cls);
    UNUSED(conn);
    size_t path_len = strcspn(uri, "?");
    for (size_t i = 0; i + 2 < path_len; i++)
        if (uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0')
            return &bad_url_marker;
    return NULL;
}

static struct http_request *request_new(struct http_server *s, struct MHD_Connection *conn,
                                        const char *url, const char *method)
{
    struct http_request *req = xcalloc(1, sizeof(*req));
    req->conn = conn;
    req->method = method;
    req->path = normalise_path(url);
    req->body_max = s->opt.max_body;
    req->started_ns = now_ns();
    buf_init(&req->body, 0);
    snprintf(req->id, sizeof(req->id), "%06llx",
             (unsigned long long)atomic_fetch_add(&request_counter, 1) + 1);
    resolve_client_ip(req);
    return req;
}

static enum MHD_Result on_first_call(struct http_server *s, struct http_request *req)
{
    const char *why = framing_error(req);
    if (why)
        return answer_error(req, 400, why);
    s->app.on_headers(req, s->app.ctx);
    const char *cl = http_header(req, "Content-Length");
    unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
    if (len > HTTP_DISCARD_MAX)
        return answer_error(req, 413, "Request body too large");
    req->too_big = len > req->body_max; /* read and drop it, then answer 413 */
    return MHD_YES;
}

/*
 * Stores a piece of the body. Past body_max the rest is read and dropped, so
 * that clients which send the whole body before reading still see the JSON
 * 413 answered at the end; past HTTP_DISCARD_MAX the connection is closed.
 */
static enum MHD_Result take_upload(struct http_request *req, const char *data, size_t *size)
{
    size_t n = *size;
    *size = 0;
    if (!req->too_big && req->body.len + n <= req->body_max) {
        buf_append(&req->body, data, n);
        return MHD_YES;
    }
    if (!req->too_big || req->body.len) {
        req->discarded += req->body.len;
        buf_reset(&req->body);
        req->too_big = true;
    }
    req->discarded += n;
    return req->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct http_server *s = cls;
    struct http_request *req = *con_cls;
    UNUSED(version);
    if (!req || req == (void *)&bad_url_marker) {
        bool bad_url = req != NULL;
        req = request_new(s, conn, url, method);
        *con_cls = req;
        log_set_request_id(req->id);
        enum MHD_Result r = bad_url ? answer_error(req, 400, "Invalid URL: encoded NUL")
                                    : on_first_call(s, req);
        log_set_request_id(NULL);
        return r;
    }
    if (req->early_status) {
        *upload_data_size = 0; /* refused already: discard */
        return MHD_YES;
    }
    if (*upload_data_size)
        return take_upload(req, upload_data, upload_data_size);
    if (req->too_big)
        return answer_error(req, 413, "Request body too large");
    struct http_response resp;
    http_response_init(&resp);
    log_set_request_id(req->id);
    s->app.on_request(req, &resp, s->app.ctx);
    enum MHD_Result ok = queue_to(s, req, &resp);
    log_set_request_id(NULL);
    http_response_free(&resp);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct http_request *req = *con_cls;
    UNUSED(conn);
    if (!req || req == (void *)&bad_url_marker)
        return;
    char q[300];
    log_set_request_id(req->id);
    if (s->app.on_done)
        s->app.on_done(req, s->app.ctx);
    if (log_enabled(LOG_INFO))
        log_request(req->method, log_q(q, sizeof(q), req->path), req->status, req->client_ip,
                    (int64_t)(now_ns() - req->started_ns),
                    toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    log_set_request_id(NULL);
    buf_free(&req->body);
    free(req->path);
    free(req);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    UNUSED(cls);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("libmicrohttpd", "detail=\"%.*s\"", (int)strcspn(msg, "\""), msg);
}

static int make_addr(const struct http_options *opt, struct sockaddr_storage *ss, bool *v6,
                     struct err *e)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, opt->host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)opt->port);
        *v6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, opt->host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)opt->port);
        *v6 = true;
        return 0;
    }
    return err_set(e, ERR_INVALID, "LISTEN host must be an IP address, got \"%s\"", opt->host);
}

int http_start(const struct http_options *opt, const struct http_app *app,
               struct http_server **out, struct err *e)
{
    struct sockaddr_storage ss;
    bool v6 = false;
    if (make_addr(opt, &ss, &v6, e))
        return ERR_INVALID;
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->app = *app;
    s->opt = *opt;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME | (v6 ? MHD_USE_IPv6 : 0);
    pthread_mutex_init(&s->park_lock, NULL);
    pthread_cond_init(&s->park_cond, NULL);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)opt->port, NULL, NULL, on_access, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opt->threads < 2 ? 2 : opt->threads),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)opt->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)opt->max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opt->idle_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, opt->header_memory,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_END);
    if (!s->daemon) {
        pthread_mutex_destroy(&s->park_lock);
        pthread_cond_destroy(&s->park_cond);
        free(s);
        return err_set(e, ERR_IO, "cannot listen on %s:%d (address in use or not permitted)",
                       opt->host, opt->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : opt->port;
    if (pthread_create(&s->ticker, NULL, stream_ticker, s)) {
        MHD_stop_daemon(s->daemon);
        free(s);
        return err_set(e, ERR_INTERNAL, "cannot start the stream ticker thread");
    }
    *out = s;
    return 0;
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    /* Streams end and parked connections are resumed first: MHD must not stop with any suspended. */
    pthread_mutex_lock(&s->park_lock);
    s->stopping = true;
    pthread_cond_signal(&s->park_cond);
    pthread_mutex_unlock(&s->park_lock);
    pthread_join(s->ticker, NULL);
    pthread_mutex_lock(&s->park_lock);
    resume_parked(s);
    pthread_mutex_unlock(&s->park_lock);
    MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->park_lock);
    pthread_cond_destroy(&s->park_cond);
    free(s);
}

int http_port(const struct http_server *s)
{
    return s->port;
}
