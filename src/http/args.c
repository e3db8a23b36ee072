/*
 * args.c — builds and reads the request argument map (see args.h).
 */
#include "args.h"
#include "../util/strutil.h"

#include <strings.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) with '+' as space into an owned buffer. */
static char *form_decode(const char *s, size_t len, size_t *outlen)
{
    char *o = xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            o[n++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            o[n++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            o[n++] = s[i];
        }
    }
    o[n] = '\0';
    *outlen = n;
    return o;
}

int args_parse_form(const char *s, size_t len, json_t *obj, struct err *e)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && s[end] != '&')
            end++;
        const char *eq = memchr(s + i, '=', end - i);
        size_t klen, vlen;
        char *k = form_decode(s + i, eq ? (size_t)(eq - (s + i)) : end - i, &klen);
        char *v = eq ? form_decode(eq + 1, (size_t)(s + end - eq - 1), &vlen) : xstrdup("");
        if (!eq)
            vlen = 0;
        json_t *jv = json_stringn(v, vlen);
        int rc = 0;
        if (!jv || strlen(k) != klen)
            rc = err_set(e, ERR_INVALID, "Invalid UTF-8 in form data");
        else if (klen > 0) {
            /* json_object_set_new refuses (and releases jv) a key that is not UTF-8 */
            if (json_object_set_new(obj, k, jv))
                rc = err_set(e, ERR_INVALID, "Invalid UTF-8 in form data");
            jv = NULL;
        }
        json_decref(jv);
        free(k);
        free(v);
        if (rc)
            return rc;
        if (json_object_size(obj) > ARGS_MAX_KEYS)
            return err_set(e, ERR_INVALID, "Too many arguments");
        i = end + 1;
    }
    return 0;
}

static bool content_type_is(const struct http_request *req, const char *type)
{
    const char *ct = http_header(req, "Content-Type");
    return ct && strncasecmp(ct, type, strlen(type)) == 0;
}

static int parse_json_body(const struct http_request *req, json_t **args, struct err *e)
{
    json_error_t je;
    json_t *v = json_loadb(req->body.data, req->body.len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v)
        return err_set(e, ERR_INVALID, "Invalid JSON: %s", je.text);
    if (json_is_object(v)) {
        json_decref(*args);
        *args = v;
    } else {
        json_object_set_new(*args, "DATA", v);
    }
    return 0;
}

static void keep_raw_body(const struct http_request *req, json_t *args)
{
    const char *key = strcmp(req->method, "PUT") == 0 ? "PUTDATA" : "POSTDATA";
    json_t *s = json_stringn(req->body.data, req->body.len);
    if (s)
        json_object_set_new(args, key, s);
}

struct query_ctx {
    json_t *args;
    int bad;
};

static void add_query(void *ctx, const char *key, const char *value)
{
    struct query_ctx *q = ctx;
    json_t *v = json_string(value);
    if (!v || !key) {
        json_decref(v);
        q->bad = 1;
        return;
    }
    if (json_object_set_new(q->args, key, v)) /* key not UTF-8; v is released */
        q->bad = 1;
}

int args_parse(const struct http_request *req, bool raw_body, json_t **out, struct err *e)
{
    json_t *args = json_object();
    int rc = 0;
    if (req->body.len > 0) {
        if (!raw_body && content_type_is(req, "application/json"))
            rc = parse_json_body(req, &args, e);
        else if (!raw_body && content_type_is(req, "application/x-www-form-urlencoded"))
            rc = args_parse_form(req->body.data, req->body.len, args, e);
        else
            keep_raw_body(req, args);
    }
    struct query_ctx q = { args, 0 };
    if (rc == 0)
        http_query_foreach(req, add_query, &q);
    if (rc == 0 && q.bad)
        rc = err_set(e, ERR_INVALID, "Invalid UTF-8 in the query string");
    if (rc == 0 && json_object_size(args) > ARGS_MAX_KEYS)
        rc = err_set(e, ERR_INVALID, "Too many arguments");
    if (rc) {
        json_decref(args);
        return rc;
    }
    *out = args;
    return 0;
}

const char *args_str(json_t *args, const char *key)
{
    json_t *v = json_object_get(args, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool args_missing(json_t *args, const char *key)
{
    json_t *v = json_object_get(args, key);
    return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

int args_i64(json_t *args, const char *key, int64_t *out)
{
    json_t *v = json_object_get(args, key);
    if (!v || json_is_null(v))
        return ERR_NOT_FOUND;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) &&
        parse_i64(json_string_value(v), json_string_length(v), INT64_MIN, INT64_MAX, out) == 0)
        return 0;
    return ERR_INVALID;
}

bool args_true(json_t *args, const char *key)
{
    json_t *v = json_object_get(args, key);
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_real(v))
        return json_real_value(v) != 0.0;
    if (json_is_string(v))
        return json_string_length(v) > 0 && strcmp(json_string_value(v), "0") != 0;
    return true;
}
