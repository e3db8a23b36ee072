/*
 * obj_s3.c — `s3` (templates.md §7.18, other.md §15): reading objects from
 * S3-compatible storage with AWS Signature V4 (libcurl signs the request).
 *
 *   s3.setup(access_key, secret_key, region = 'ru-central1',
 *            endpoint = 'https://storage.yandexcloud.net', bucket = …).get(key, binary)
 *
 * setup returns an s3 object holding those settings; get(key) fetches
 * ENDPOINT/BUCKET/KEY (path style) and answers the JSON-decoded body, or the
 * text when it is not JSON, or the bytes as they are with binary = 1;
 * undefined when no 2xx answer arrives. Requests are bounded like http.get.
 */
#include "objects_int.h"

#include "../transport/http_client.h"

#include <ctype.h>

#define S3_REGION "ru-central1"
#define S3_ENDPOINT "https://storage.yandexcloud.net"
#define S3_TIMEOUT_MS 25000L
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Stores the argument key (named, or at position i) into s when given. */
static void take_arg(json_t *s, const struct tpl_args *a, size_t i, const char *key)
{
    char *v = obj_arg_str(a, i, key);
    if (v)
        json_object_set_new(s, key, json_string(v));
    free(v);
}

static int m_setup(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(r);
    UNUSED(e);
    json_t *s = obj_key_json(o);
    take_arg(s, a, 0, "access_key");
    take_arg(s, a, 1, "secret_key");
    take_arg(s, a, (size_t)-1, "region");
    take_arg(s, a, (size_t)-1, "endpoint");
    take_arg(s, a, (size_t)-1, "bucket");
    char *key = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
    *out = obj_new(o->kind, 0, o->user_id, key);
    free(key);
    json_decref(s);
    return 0;
}

static const char *setting(const json_t *s, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(s, key));
    return v && *v ? v : dflt;
}

/* ENDPOINT/BUCKET/KEY with every byte of bucket and key but [A-Za-z0-9-._~/] percent-encoded (owned). */
static char *object_url(const char *endpoint, const char *bucket, const char *key)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, endpoint);
    while (b.len && b.data[b.len - 1] == '/')
        b.data[--b.len] = '\0';
    const char *parts[] = { bucket, key };
    for (size_t i = 0; i < 2; i++) {
        buf_puts(&b, "/");
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
            if (isalnum(*p) || strchr("-._~/", *p))
                buf_printf(&b, "%c", *p);
            else
                buf_printf(&b, "%%%02X", *p);
        }
    }
    return buf_detach(&b, NULL);
}

/* The body as templates see it: bytes (binary), decoded JSON, or text. */
static struct tpl_value body_value(const struct buf *body, bool binary)
{
    json_t *j = binary ? NULL : json_loadb(body->data, body->len, JSON_DECODE_ANY, NULL);
    struct tpl_value v = j ? obj_from_json(j) : tpl_str(body->data, body->len);
    json_decref(j);
    return v;
}

static int m_get(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                 struct tpl_value *out, struct err *e)
{
    UNUSED(r);
    json_t *s = obj_key_json(o);
    char *key = obj_arg_str(a, 0, "key");
    int64_t binary = 0;
    obj_arg_int(a, 1, "binary", &binary);
    const char *bucket = setting(s, "bucket", NULL), *ak = setting(s, "access_key", NULL);
    int rc = 0;
    if (!key || !*key || !bucket || !ak) {
        rc = err_set(e, ERR_INVALID, "s3.get: %s", !ak ? "no access_key (s3.setup)"
                                                 : !bucket ? "no bucket (s3.setup)" : "no key");
    } else {
        char sign[128];
        snprintf(sign, sizeof(sign), "aws:amz:%s:s3", setting(s, "region", S3_REGION));
        char *url = object_url(setting(s, "endpoint", S3_ENDPOINT), bucket, key);
        /* S3 wants the payload hash signed too: SHA-256 of the empty body */
        json_t *hdr = json_pack("{s:s}", "x-amz-content-sha256", EMPTY_SHA256);
        struct http_client_req rq = { .method = "GET", .url = url, .headers = hdr,
                                      .timeout_ms = S3_TIMEOUT_MS, .aws_sigv4 = sign,
                                      .username = ak, .password = setting(s, "secret_key", "") };
        struct http_client_resp rs;
        struct err he = { 0 };
        if (http_client_request(&rq, &rs, &he) == 0 && rs.code >= 200 && rs.code < 300)
            *out = body_value(&rs.body, binary != 0);
        http_client_resp_release(&rs);
        json_decref(hdr);
        free(url);
    }
    free(key);
    json_decref(s);
    return rc;
}

static const struct obj_method s3_methods[] = {
    { "setup", m_setup },
    { "get", m_get },
    { NULL, NULL },
};

const struct obj_kind obj_s3_kind = { "Core::S3", s3_methods, NULL };

void obj_s3_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "s3", 2, obj_new(&obj_s3_kind, 0, r->user_id, NULL));
}
