/*
 * http.h — billd's own request/response types over libmicrohttpd.
 *
 * This is the only place that knows libmicrohttpd (stack.md §1.7). The server
 * runs a thread pool (≥ 2 threads, each with its own epoll loop); the
 * application callback runs in a pool thread, once per request, with the
 * complete body, and its response is queued on the access handler's later
 * call so keep-alive works (stack.md §1.3).
 *
 * Before any body byte is read the wrapper rejects ambiguous framing with a
 * JSON 400: more than one Content-Length, Content-Length together with
 * Transfer-Encoding, a Transfer-Encoding other than "chunked", control bytes
 * in header values. Bodies larger than the limit the application chose for
 * the route get a JSON 413. Header size, connection counts and idle time are
 * bounded by libmicrohttpd options.
 */
#ifndef BILLD_HTTP_H
#define BILLD_HTTP_H

#include "../common.h"
#include "../util/buf.h"

struct MHD_Connection;

struct http_request {
    struct MHD_Connection *conn;
    const char *method;    /* borrowed, valid for the request */
    char *path;            /* owned: URL path, duplicate slashes collapsed */
    struct buf body;       /* the request body (binary-safe) */
    size_t body_max;       /* set by the application's on_headers, default max_body */
    char peer_ip[64];      /* the socket's peer */
    char client_ip[64];    /* peer, or X-Real-IP / X-Forwarded-For behind a local proxy */
    char id[24];           /* request id for the log */
    int64_t started_ns;
    int status;            /* the answered status, for the access log */
    void *app;             /* per-request data of the application, may be NULL */
    int early_status;      /* set when the request was refused before the body */
    bool too_big;          /* the body passes body_max: it is dropped, then 413 */
    size_t discarded;      /* body bytes dropped */
};

#define HTTP_MAX_HEADERS 16

/*
 * A streamed response body of unknown length, sent chunked (Server-Sent
 * Events, live logs). next() runs on the pool thread that served the request
 * whenever the client can take more: it writes up to max bytes into buf and
 * returns the count, 0 when it has nothing yet (the connection is then
 * suspended — it holds no thread — and next() is asked again after
 * HTTP_STREAM_POLL_MS), or HTTP_STREAM_END to finish. A stream ends by
 * itself after max_seconds (0 = HTTP_STREAM_MAX_SECONDS) and when the server
 * stops. free(ctx) is called exactly once, when the response is gone.
 */
#define HTTP_STREAM_END (-1)
#define HTTP_STREAM_POLL_MS 200
#define HTTP_STREAM_MAX_SECONDS 600

struct http_stream {
    long (*next)(void *ctx, char *buf, size_t max);
    void (*free)(void *ctx);
    void *ctx;
    int max_seconds;
};

struct http_response {
    int status;
    const char *content_type; /* static string */
    char *body;               /* owned */
    size_t len;
    int nheaders;
    char *header_names[HTTP_MAX_HEADERS];  /* owned */
    char *header_values[HTTP_MAX_HEADERS]; /* owned */
    struct http_stream *stream;            /* owned; set: the body is streamed, not body */
};

/* What the server calls. ctx is passed back to both callbacks. */
struct http_app {
    /*
     * Called once when the headers are in, before the body: may set
     * req->body_max and req->app. Not called for refused requests.
     */
    void (*on_headers)(struct http_request *req, void *ctx);
    /* Called once with the complete body; fills resp (status 200 by default). */
    void (*on_request)(struct http_request *req, struct http_response *resp, void *ctx);
    /* Called when the request is finished (also when refused): frees req->app. */
    void (*on_done)(struct http_request *req, void *ctx);
    void *ctx;
};

struct http_options {
    const char *host;
    int port;
    int threads;
    int max_connections;
    int max_connections_per_ip;
    int idle_timeout;
    size_t header_memory;
    size_t max_body;
};

struct http_server;

/* Starts listening. Returns 0 and an owned *out (stop with http_stop) or ERR_IO. */
int http_start(const struct http_options *opt, const struct http_app *app,
               struct http_server **out, struct err *e);
/* Stops accepting, finishes the pool threads and frees the server. */
void http_stop(struct http_server *s);
/* The port actually bound (useful with port 0). */
int http_port(const struct http_server *s);

/* First value of request header name (case-insensitive), or NULL. */
const char *http_header(const struct http_request *r, const char *name);
/* Value of cookie name, or NULL. */
const char *http_cookie(const struct http_request *r, const char *name);
/* Calls fn for each query-string argument (decoded) in order. */
void http_query_foreach(const struct http_request *r,
                        void (*fn)(void *ctx, const char *key, const char *value), void *ctx);

void http_response_init(struct http_response *resp);
void http_response_free(struct http_response *resp);
/* Adds a header (copied). Silently ignored past HTTP_MAX_HEADERS. */
void http_response_header(struct http_response *resp, const char *name, const char *value);
/* Takes ownership of body. */
void http_response_body(struct http_response *resp, char *body, size_t len, const char *ctype);
/*
 * Makes the body a stream (see struct http_stream): takes s->ctx, which is
 * freed with s->free even when the response is never sent.
 */
void http_response_stream(struct http_response *resp, const struct http_stream *s,
                          const char *ctype);
/* Sets a body copied from text. */
void http_response_text(struct http_response *resp, int status, const char *text, const char *ctype);

#endif
