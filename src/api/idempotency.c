/*
 * idempotency.c — stored and replayed responses for the Idempotency-Key
 * header (see idempotency.h).
 */
#include "idempotency.h"
#include "render.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <sodium.h>
#include <strings.h>

#define API_PREFIX "/shm/v1/"
#define HASH_HEX_LEN (2 * crypto_hash_sha256_BYTES)
#define REUSED_MSG "Idempotency-Key reused with a different request"
#define IN_PROGRESS_MSG "A request with this Idempotency-Key is in progress"
#define BAD_KEY_MSG "Idempotency-Key must be 1 to 255 printable ASCII characters"

/* Content types a stored response may have; replays need static strings. */
static const char *const known_types[] = {
    "application/json; charset=utf-8", "text/plain; charset=utf-8", "text/plain; charset=utf8",
    "text/html; charset=utf-8",        "application/octet-stream",
};

/* A stored response as read back. */
struct stored {
    char method[16];
    char hash[HASH_HEX_LEN + 1];
    char *path;         /* owned */
    bool complete;      /* a response was stored */
    int status;
    const char *ctype;  /* static */
    char *body;         /* owned */
    size_t len;
};

bool idempotency_key_valid(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > IDEMPOTENCY_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
            return false;
    return true;
}

/* The header applies to writing calls under /shm/v1 by an authenticated caller, not dry runs. */
static bool applies(struct api_ctx *c)
{
    const char *m = c->req->method;
    if (strcmp(m, "POST") != 0 && strcmp(m, "PUT") != 0 && strcmp(m, "DELETE") != 0)
        return false;
    return c->auth_user_id > 0 && strncmp(c->req->path, API_PREFIX, strlen(API_PREFIX)) == 0 &&
           http_header(c->req, "Idempotency-Key") && !args_true(c->args, "dry_run") &&
           !http_header(c->req, "Test");
}

static void hash_part(crypto_hash_sha256_state *st, const char *p, size_t n)
{
    static const unsigned char sep = 0;
    crypto_hash_sha256_update(st, (const unsigned char *)p, n);
    crypto_hash_sha256_update(st, &sep, 1);
}

/* SHA-256 (hex) of method, path, the arguments without session_id and a raw body. */
static void request_hash(struct api_ctx *c, char out[HASH_HEX_LEN + 1])
{
    crypto_hash_sha256_state st;
    unsigned char digest[crypto_hash_sha256_BYTES];
    json_t *args = json_copy(c->args);
    json_object_del(args, "session_id");
    char *text = render_json(args);
    json_decref(args);
    crypto_hash_sha256_init(&st);
    hash_part(&st, c->req->method, strlen(c->req->method));
    hash_part(&st, c->req->path, strlen(c->req->path));
    hash_part(&st, text, strlen(text));
    if (c->route->flags & RF_RAW_BODY)
        hash_part(&st, c->req->body.data ? c->req->body.data : "", c->req->body.len);
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(out, HASH_HEX_LEN + 1, digest, sizeof(digest));
    free(text);
}

/* Inserts the key row unless the key exists; *id = 0 when it does. */
static int claim(struct api_ctx *c, const char *key, const char *hash, int64_t *id)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(c->auth_user_id), DB_TEXT(key), DB_TEXT(c->req->method),
                            DB_TEXT(c->req->path), DB_TEXT(hash), DB_INT(time_now()) };
    int rc = db_query(c->db,
                      "INSERT INTO idempotency_keys (user_id, idem_key, method, path, request_hash,"
                      " created) VALUES ($1, $2, $3, $4, $5, $6)"
                      " ON CONFLICT (user_id, idem_key) DO NOTHING RETURNING id",
                      p, 6, &r, &c->err);
    *id = rc == 0 && db_result_rows(r) > 0 ? db_result_int(r, 0, 0) : 0;
    db_result_free(r);
    return rc;
}

static const char *static_type(const char *t)
{
    for (size_t i = 0; t && i < ARRAY_SIZE(known_types); i++)
        if (strcasecmp(t, known_types[i]) == 0)
            return known_types[i];
    return "application/octet-stream";
}

/* Reads the stored row of (caller, key). ERR_NOT_FOUND when it vanished meanwhile. */
static int load(struct api_ctx *c, const char *key, struct stored *s)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(c->auth_user_id), DB_TEXT(key) };
    int rc = db_query(c->db,
                      "SELECT method, path, request_hash, status, content_type, body"
                      " FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2",
                      p, 2, &r, &c->err);
    if (rc == 0 && db_result_rows(r) == 0)
        rc = ERR_NOT_FOUND;
    if (rc == 0) {
        snprintf(s->method, sizeof(s->method), "%s", db_result_text(r, 0, 0));
        s->path = xstrdup(db_result_text(r, 0, 1));
        snprintf(s->hash, sizeof(s->hash), "%s", db_result_text(r, 0, 2));
        s->complete = !db_result_is_null(r, 0, 3);
        s->status = (int)db_result_int(r, 0, 3);
        s->ctype = static_type(db_result_text(r, 0, 4));
        s->len = db_result_len(r, 0, 5);
        s->body = xmalloc(s->len + 1);
        if (s->len)
            memcpy(s->body, db_result_text(r, 0, 5), s->len);
        s->body[s->len] = '\0';
    }
    db_result_free(r);
    return rc;
}

/* Answers a repeat from the stored row, or fails when it belongs to another request. */
static int replay(struct api_ctx *c, struct stored *s, const char *hash)
{
    if (strcmp(s->method, c->req->method) != 0 || strcmp(s->path, c->req->path) != 0 ||
        strcmp(s->hash, hash) != 0) {
        c->err.code = ERR_CONFLICT;
        return api_fail(c, 422, REUSED_MSG);
    }
    if (!s->complete) {
        c->err.code = ERR_CONFLICT;
        return api_fail(c, 409, IN_PROGRESS_MSG);
    }
    c->resp->status = s->status;
    http_response_body(c->resp, s->body, s->len, s->ctype);
    s->body = NULL;
    http_response_header(c->resp, "Idempotent-Replayed", "true");
    c->out = API_OUT_CUSTOM;
    return 0;
}

static bool is_cors_header(const char *name)
{
    return strncasecmp(name, "Access-Control-", 15) == 0 || strcasecmp(name, "Vary") == 0;
}

/*
 * Renders the handler's result now, inside the transaction, so it can be
 * stored; the rendered response becomes the request's custom response and is
 * sent as is (render_response then only adds the CORS headers).
 */
static void render_now(struct api_ctx *c)
{
    struct http_response tmp, *real = c->resp;
    if (c->out == API_OUT_CUSTOM)
        return; /* the handler filled c->resp itself */
    http_response_init(&tmp);
    c->resp = &tmp;
    render_response(c);
    c->resp = real;
    real->status = tmp.status;
    http_response_body(real, tmp.body, tmp.len, tmp.content_type);
    tmp.body = NULL;
    for (int i = 0; i < tmp.nheaders; i++)
        if (!is_cors_header(tmp.header_names[i]))
            http_response_header(real, tmp.header_names[i], tmp.header_values[i]);
    http_response_free(&tmp);
    c->out = API_OUT_CUSTOM;
}

/* Runs the handler for a claimed key and stores its response in row id. */
static int run_and_store(struct api_ctx *c, int64_t id)
{
    int rc = c->route->handler(c);
    if (rc)
        return rc;
    render_now(c);
    struct http_response *res = c->resp;
    struct db_value p[] = { DB_INT(id), DB_INT(res->status), DB_TEXT(res->content_type),
                            DB_BLOB(res->body ? res->body : "", res->body ? res->len : 0) };
    return db_exec(c->db,
                   "UPDATE idempotency_keys SET status = $2, content_type = $3, body = $4"
                   " WHERE id = $1",
                   p, 4, NULL, &c->err);
}

int idempotency_run(struct api_ctx *c)
{
    char hash[HASH_HEX_LEN + 1];
    struct stored s = { 0 };
    int64_t id = 0;
    if (!applies(c))
        return c->route->handler(c);
    const char *key = http_header(c->req, "Idempotency-Key");
    if (!idempotency_key_valid(key))
        return api_fail(c, 400, BAD_KEY_MSG);
    request_hash(c, hash);
    int rc = claim(c, key, hash, &id);
    if (rc == 0 && id > 0)
        return run_and_store(c, id);
    if (rc == 0)
        rc = load(c, key, &s);
    if (rc == ERR_NOT_FOUND) /* cleaned up between the two statements: a conflict, retry */
        rc = api_fail(c, 409, IN_PROGRESS_MSG);
    if (rc == 0) {
        rc = replay(c, &s, hash);
        if (rc == 0)
            log_info("idempotent replay", "user_id=%lld status=%d", (long long)c->auth_user_id,
                     c->resp->status);
    }
    free(s.path);
    free(s.body);
    return rc;
}

int idempotency_cleanup(struct db *db, int64_t now, int64_t *deleted, struct err *e)
{
    struct db_value p[] = { DB_INT(now - IDEMPOTENCY_TTL) };
    return db_exec(db, "DELETE FROM idempotency_keys WHERE created < $1", p, 1, deleted, e);
}
