/*
 * http_client.h — one blocking HTTP(S) request through libcurl, for the http
 * transport (http_client.c, transports.md §2) and the template `http` object
 * (templates.md §7, transports.md §2.5).
 *
 * Every request: user agent "SHM"; proxies from HTTP_PROXY / HTTPS_PROXY /
 * ALL_PROXY / NO_PROXY and their lower-case names (libcurl reads them; it
 * ignores upper-case HTTP_PROXY, so http_client.c passes that one itself,
 * and NO_PROXY still applies to it); redirects are followed (at most
 * HTTP_CLIENT_MAX_REDIRECTS, http/https only) for GET and HEAD without a
 * body, as LWP does, never for other methods; the whole exchange is bounded
 * by a timeout; the response body is kept up to a cap (a larger body fails
 * the request with ERR_LIMIT, nothing partial is returned). Only http:// and
 * https:// URLs are accepted.
 *
 *     struct http_client_req rq = { .method = "POST", .url = url,
 *                                .body = s, .body_len = strlen(s),
 *                                .content_type = "application/json" };
 *     struct http_client_resp rs;
 *     if (http_client_request(&rq, &rs, &e) == 0) { ... rs.code, rs.body.data ... }
 *     http_client_resp_release(&rs);   // also after a failure
 *
 * Thread safety: each call uses its own curl easy handle; curl_global_init
 * runs once (pthread_once) on the first call.
 */
#ifndef BILLD_TRANSPORT_HTTP_CLIENT_H
#define BILLD_TRANSPORT_HTTP_CLIENT_H

#include "../common.h"
#include "../util/buf.h"

#include <jansson.h>

/* Defaults. */
#define HTTP_CLIENT_TIMEOUT_MS 10000L          /* transports.md §2.2 */
#define HTTP_CLIENT_BODY_MAX ((size_t)16 << 20) /* response body cap */
#define HTTP_CLIENT_USER_AGENT "SHM"
#define HTTP_CLIENT_MAX_REDIRECTS 7              /* LWP::UserAgent's default */

/* A request. Every pointer is borrowed for the call. */
struct http_client_req {
    const char *method;       /* GET POST PUT DELETE PATCH OPTIONS HEAD, any case; NULL = GET */
    const char *url;          /* http:// or https:// */
    const json_t *headers;    /* object name → value (strings; numbers are printed), or NULL */
    const char *body;         /* request body (may contain NUL), NULL = none */
    size_t body_len;
    const char *content_type; /* Content-Type of the body, NULL = none sent */
    long timeout_ms;          /* whole request; 0 = HTTP_CLIENT_TIMEOUT_MS */
    bool insecure;            /* true = do not verify the TLS peer and host name */
    size_t max_body;          /* response body cap; 0 = HTTP_CLIENT_BODY_MAX */
    const char *aws_sigv4;    /* sign with AWS Signature V4, e.g. "aws:amz:REGION:s3"; NULL = no */
    const char *username;     /* with aws_sigv4: the access key; else HTTP basic auth; NULL = none */
    const char *password;     /* the secret key / password */
};

/* A response. Owned by the caller; free with http_client_resp_release(). */
struct http_client_resp {
    long code;            /* HTTP status (e.g. 200); 0 when no response arrived */
    char *status_line;    /* code and reason as SHM's LWP shows them, e.g. "200 OK" (a
                             standard reason when the server sent none), owned, "" when
                             no response arrived; after redirects: the final response's */
    json_t *headers;      /* object: header name as received → value (repeats joined
                             with ", "), owned, {} when none */
    struct buf body;      /* body bytes, NUL-terminated (the NUL not counted) */
};

/*
 * Performs rq and fills *rs (always initialised, even on failure, so the
 * caller can always call http_client_resp_release; on failure code is 0).
 * A body is sent for every method that has one (also GET). Returns 0 when
 * an HTTP response arrived (whatever its status code), or:
 *   ERR_INVALID  bad request (no URL, unsupported scheme or method, bad header);
 *   ERR_TIMEOUT  the timeout elapsed ("Timeout was reached …");
 *   ERR_LIMIT    the body exceeded the cap;
 *   ERR_IO       connection/TLS/protocol error with curl's message.
 */
int http_client_request(const struct http_client_req *rq, struct http_client_resp *rs,
                        struct err *e);

/*
 * Runs curl_global_init once per process (pthread_once). http_client_request
 * calls it itself; other libcurl users (mail.c) call it before their first
 * easy handle.
 */
void http_client_global_init(void);

/* Frees what *rs holds (safe on a zeroed or already released response). */
void http_client_resp_release(struct http_client_resp *rs);

/* The value of header name (case-insensitive) in rs, borrowed, or NULL. */
const char *http_client_resp_header(const struct http_client_resp *rs, const char *name);

/*
 * True when the response declares a JSON body (Content-Type application/json
 * or any +json type).
 */
bool http_client_resp_is_json(const struct http_client_resp *rs);

/*
 * application/x-www-form-urlencoded encoding of a JSON object: key=value pairs
 * joined with '&' (strings as is, numbers/booleans printed, null as empty,
 * arrays as repeated keys, nested objects JSON-encoded). Returns an owned
 * string ("" for an empty or non-object value).
 */
char *http_form_encode(const json_t *obj);

/*
 * url with query appended after '?' (or '&' when url already has a query;
 * the fragment, if any, stays last). query is used as is (it is already
 * encoded); an empty query returns a copy of url. Returns an owned string.
 */
char *http_url_add_query(const char *url, const char *query);

#endif
