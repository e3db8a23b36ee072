/*
 * test_mime.c — unit tests of src/transport/mime.c: base64 and its line
 * wrapping, RFC 2047 encoded words (UTF-8 subjects and names, never split
 * inside a character), address validation and lists, content types, the
 * date, and whole messages — including header injection attempts (CR/LF in
 * the subject, the sender's name and addresses must not create headers).
 */
#include "common.h"
#include "transport/mime.h"
#include "util/buf.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

/* Decodes standard base64 (no line breaks); returns the number of bytes written. */
static size_t b64_decode(const char *s, size_t n, unsigned char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *p = strchr(abc, s[i]);
        assert_non_null(p);
        acc = (acc << 6) | (uint32_t)(p - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)(acc >> bits);
        }
    }
    return k;
}

/* Decodes a header value made of encoded words separated by folding into out. */
static void words_decode(const char *v, char *out, size_t outlen)
{
    size_t k = 0;
    const char *p = v;
    while ((p = strstr(p, "=?UTF-8?B?"))) {
        p += 10;
        const char *end = strstr(p, "?=");
        assert_non_null(end);
        assert_true(end - p + 12 <= 75); /* RFC 2047 §2: at most 75 characters */
        unsigned char tmp[128];
        size_t n = b64_decode(p, (size_t)(end - p), tmp);
        assert_true(k + n < outlen);
        memcpy(out + k, tmp, n);
        k += n;
        p = end + 2;
    }
    out[k] = '\0';
}

static void test_base64_vectors(void **state)
{
    /* RFC 4648 §10 */
    const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    const char *want[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(mime_base64(&b, in[i], strlen(in[i]), 0), 0);
        assert_string_equal(b.data, want[i]);
        buf_free(&b);
    }
}

static void test_base64_wrapping(void **state)
{
    unsigned char data[200];
    struct buf b;
    UNUSED(state);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + 3);
    buf_init(&b, 0);
    assert_int_equal(mime_base64(&b, data, sizeof(data), MIME_BASE64_LINE), 0);
    /* 200 bytes → 268 characters → lines of 76, 76, 76, 40, each ending in CR LF */
    assert_int_equal(b.len, 268 + 4 * 2);
    const char *p = b.data;
    size_t lines = 0, total = 0;
    unsigned char back[200];
    char joined[300];
    while (*p) {
        const char *crlf = strstr(p, "\r\n");
        assert_non_null(crlf);
        size_t n = (size_t)(crlf - p);
        assert_true(n <= 76);
        if (crlf[2])
            assert_int_equal(n, 76);
        memcpy(joined + total, p, n);
        total += n;
        lines++;
        p = crlf + 2;
    }
    assert_int_equal(lines, 4);
    assert_int_equal(b64_decode(joined, total, back), sizeof(data));
    assert_memory_equal(back, data, sizeof(data));
    /* exactly one full line: no empty line after it */
    buf_reset(&b);
    assert_int_equal(mime_base64(&b, data, 57, MIME_BASE64_LINE), 0);
    assert_int_equal(b.len, 78);
    assert_string_equal(b.data + 76, "\r\n");
    buf_free(&b);
}

static void test_base64_limit(void **state)
{
    struct buf b;
    UNUSED(state);
    buf_init(&b, 10);
    buf_puts(&b, "ab");
    assert_int_equal(mime_base64(&b, "hello world", 11, 0), ERR_LIMIT);
    assert_string_equal(b.data, "ab"); /* unchanged */
    buf_free(&b);
}

static void test_encode_words_utf8(void **state)
{
    /* 60 Cyrillic letters (2 bytes each) and an emoji (4 bytes) across word boundaries */
    char subject[512];
    char back[512];
    size_t len = 0;
    struct buf b;
    UNUSED(state);
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(subject + len, sizeof(subject) - len, "%s",
                                i % 2 ? "\xd0\xb6" : "\xd1\x8f");
    snprintf(subject + len, sizeof(subject) - len, "\xf0\x9f\x98\x80 ok");
    buf_init(&b, 0);
    assert_int_equal(mime_encode_words(&b, subject), 0);
    words_decode(b.data, back, sizeof(back));
    assert_string_equal(back, subject);
    /* every word decodes to whole characters: no word starts with a continuation byte */
    const char *p = b.data;
    int words = 0;
    while ((p = strstr(p, "=?UTF-8?B?"))) {
        unsigned char first[4];
        p += 10;
        assert_true(b64_decode(p, 4, first) >= 1);
        assert_true((first[0] & 0xC0) != 0x80);
        words++;
    }
    assert_true(words >= 4);
    /* words are separated by folding (CR LF SP), nothing else */
    assert_non_null(strstr(b.data, "?=\r\n =?UTF-8?B?"));
    buf_free(&b);
}

static void test_encode_words_short_and_empty(void **state)
{
    struct buf b;
    UNUSED(state);
    buf_init(&b, 0);
    assert_int_equal(mime_encode_words(&b, "SHM"), 0);
    assert_string_equal(b.data, "=?UTF-8?B?U0hN?=");
    buf_reset(&b);
    assert_int_equal(mime_encode_words(&b, ""), 0);
    assert_string_equal(b.data, "=?UTF-8?B?" "?=");
    buf_free(&b);
}

static void test_addr_valid(void **state)
{
    const char *good[] = { "user@example.com", "a.b+tag@sub.example.org", "x_y-z@a-b.co",
                           "o'neil@example.ru", "1@2.io",
                           "user@xn--80ak6aa92e.xn--p1ai" };
    const char *bad[] = { "", "user", "user@", "@example.com", "user@localhost", "a..b@ex.com",
                          ".a@ex.com", "a.@ex.com", "us er@ex.com", "user@ex ample.com",
                          "user@ex.com\r\nBcc: x@y.zz", "user@ex.com\n", "<user@ex.com>",
                          "user@-ex.com", "user@ex-.com", "user@ex..com", "user@ex.c0m",
                          "\xd0\xb6@ex.com", "a\"b@ex.com", "a@b@ex.com", "user@ex.c",
                          "user@ex.xn--", "user@ex.co1", "user@\xd1\x80\xd1\x84.\xd1\x80\xd1\x84" };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        if (!mime_addr_valid(good[i]))
            fail_msg("should be valid: %s", good[i]);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (mime_addr_valid(bad[i]))
            fail_msg("should be invalid: %s", bad[i]);
    assert_false(mime_addr_valid(NULL));
}

static void test_addr_list(void **state)
{
    struct mime_addr_list l = { 0 };
    struct err e = { 0 };
    UNUSED(state);
    assert_int_equal(mime_addr_list_parse("a@ex.com, Bob <b@ex.com>;\"Doe, John\" <j@ex.com>,,",
                                          &l, &e), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].addr, "a@ex.com");
    assert_string_equal(l.v[0].name, "");
    assert_string_equal(l.v[1].addr, "b@ex.com");
    assert_string_equal(l.v[1].name, "Bob");
    assert_string_equal(l.v[2].addr, "j@ex.com");
    assert_string_equal(l.v[2].name, "Doe, John");
    mime_addr_list_release(&l);
    assert_int_equal(l.n, 0);

    const char *bad[] = { "a@ex.com\r\nBcc: evil@ex.com", "Bob\r\n <b@ex.com>", "not-an-address",
                          "Bob <b@ex.com> trailing", "Bob <b@ex.com", "x@ex.com\n" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(mime_addr_list_parse(bad[i], &l, &e), ERR_INVALID);
        assert_true(!strncmp(e.msg, "Invalid email address: ", 23));
        mime_addr_list_release(&l);
    }
    assert_int_equal(mime_addr_list_parse("  ", &l, &e), 0);
    assert_int_equal(l.n, 0);
}

static void test_content_type(void **state)
{
    UNUSED(state);
    assert_true(mime_content_type_valid("text/plain"));
    assert_true(mime_content_type_valid("text/html; charset=utf-8"));
    assert_true(mime_content_type_valid("application/vnd.x+json"));
    assert_false(mime_content_type_valid("text"));
    assert_false(mime_content_type_valid("/plain"));
    assert_false(mime_content_type_valid("text/"));
    assert_false(mime_content_type_valid("text/plain\r\nBcc: x@y.zz"));
    assert_false(mime_content_type_valid("text/plain\n"));
    assert_false(mime_content_type_valid("text/plain x"));
    assert_false(mime_content_type_valid("text/pl\xc3\xa4in"));
    assert_false(mime_content_type_valid(NULL));
}

static void test_date(void **state)
{
    char d[64];
    UNUSED(state);
    mime_date(0, d, sizeof(d));
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
    mime_date(1795841089, d, sizeof(d));
    assert_string_equal(d, "Sat, 28 Nov 2026 04:44:49 +0000");
}

/* Returns the header block (before the empty line) of msg as an owned string. */
static char *headers_of(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    assert_non_null(end);
    return xstrndup(msg, (size_t)(end - msg) + 2);
}

/* True if the header block has a line starting with name (e.g. "Bcc:"), case-insensitive. */
static bool has_header_line(const char *head, const char *name)
{
    for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL)
        if (!strncasecmp(p, name, strlen(name)))
            return true;
    return false;
}

/* The unfolded value of header name in head (owned), or NULL. */
static char *header_value(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
        if (strncasecmp(p, name, n) || p[n] != ':')
            continue;
        struct buf b;
        buf_init(&b, 0);
        const char *v = p + n + 1 + 1;
        for (;;) {
            const char *eol = strstr(v, "\r\n");
            buf_append(&b, v, (size_t)(eol - v));
            if (eol[2] != ' ' && eol[2] != '\t')
                break;
            v = eol + 2;
        }
        return buf_detach(&b, NULL);
    }
    return NULL;
}

static void test_message(void **state)
{
    struct mime_addr_list to = { 0 }, cc = { 0 };
    struct err e = { 0 };
    struct buf out;
    char back[256];
    const char *body = "Привет, мир!\nВторая строка.";
    UNUSED(state);
    assert_int_equal(mime_addr_list_parse("u@example.com", &to, &e), 0);
    assert_int_equal(mime_addr_list_parse("Иван <c@example.com>", &cc, &e), 0);
    struct mime_message m = { .from = "noreply@shm.test", .from_name = "Биллинг SHM",
                              .to = &to, .cc = &cc, .subject = "Счёт оплачен",
                              .content_type = "text/plain", .body = body,
                              .body_len = strlen(body), .date = 0,
                              .message_id = "<billd.1.abc@shm.test>" };
    buf_init(&out, 0);
    assert_int_equal(mime_build_message(&m, &out, &e), 0);
    char *head = headers_of(out.data);
    char *v = header_value(head, "Subject");
    words_decode(v, back, sizeof(back));
    assert_string_equal(back, "Счёт оплачен");
    free(v);
    v = header_value(head, "From");
    assert_non_null(strstr(v, " <noreply@shm.test>"));
    words_decode(v, back, sizeof(back));
    assert_string_equal(back, "Биллинг SHM");
    free(v);
    v = header_value(head, "To");
    assert_string_equal(v, "u@example.com");
    free(v);
    v = header_value(head, "Cc");
    assert_non_null(strstr(v, "<c@example.com>"));
    free(v);
    v = header_value(head, "Content-Type");
    assert_string_equal(v, "text/plain; charset=UTF-8");
    free(v);
    v = header_value(head, "Content-Transfer-Encoding");
    assert_string_equal(v, "base64");
    free(v);
    v = header_value(head, "Date");
    assert_string_equal(v, "Thu, 01 Jan 1970 00:00:00 +0000");
    free(v);
    v = header_value(head, "Message-ID");
    assert_string_equal(v, "<billd.1.abc@shm.test>");
    free(v);
    v = header_value(head, "MIME-Version");
    assert_string_equal(v, "1.0");
    free(v);
    assert_false(has_header_line(head, "Bcc:"));
    /* the body decodes back to the text */
    const char *b64 = strstr(out.data, "\r\n\r\n") + 4;
    char joined[512];
    size_t k = 0;
    for (const char *p = b64; *p; p++)
        if (*p != '\r' && *p != '\n')
            joined[k++] = *p;
    unsigned char dec[512];
    size_t n = b64_decode(joined, k, dec);
    assert_int_equal(n, strlen(body));
    assert_memory_equal(dec, body, n);
    free(head);
    buf_free(&out);
    mime_addr_list_release(&to);
    mime_addr_list_release(&cc);
}

/* CR/LF in the subject and the sender's name stay inside encoded words. */
static void test_message_injection(void **state)
{
    struct mime_addr_list to = { 0 };
    struct err e = { 0 };
    struct buf out;
    char back[256];
    UNUSED(state);
    assert_int_equal(mime_addr_list_parse("u@example.com", &to, &e), 0);
    struct mime_message m = { .from = "noreply@shm.test",
                              .from_name = "Evil\r\nBcc: victim@example.com",
                              .to = &to, .subject = "Hi\r\nBcc: victim@example.com\r\n\r\nbody",
                              .content_type = "text/plain", .body = "x", .body_len = 1,
                              .message_id = "<m@shm.test>" };
    buf_init(&out, 0);
    assert_int_equal(mime_build_message(&m, &out, &e), 0);
    char *head = headers_of(out.data);
    assert_false(has_header_line(head, "Bcc:"));
    assert_null(strstr(out.data, "victim"));
    char *v = header_value(head, "Subject");
    words_decode(v, back, sizeof(back));
    assert_string_equal(back, "Hi\r\nBcc: victim@example.com\r\n\r\nbody");
    free(v);
    free(head);
    buf_reset(&out);

    /* a bad sender address, content type or Message-ID is refused, nothing is built */
    m.from_name = "ok";
    m.subject = "ok";
    m.from = "noreply@shm.test\r\nBcc: victim@example.com";
    assert_int_equal(mime_build_message(&m, &out, &e), ERR_INVALID);
    assert_int_equal(out.len, 0);
    m.from = "noreply@shm.test";
    m.content_type = "text/plain\r\nBcc: victim@example.com";
    assert_int_equal(mime_build_message(&m, &out, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Invalid content type: text/plain\r\nBcc: victim@example.com");
    m.content_type = "text/html; charset=koi8-r";
    m.message_id = "<a\r\nBcc: victim@example.com>";
    assert_int_equal(mime_build_message(&m, &out, &e), ERR_INVALID);
    assert_int_equal(out.len, 0);
    /* a content type that names its charset keeps it */
    m.message_id = "<m@shm.test>";
    assert_int_equal(mime_build_message(&m, &out, &e), 0);
    assert_non_null(strstr(out.data, "\r\nContent-Type: text/html; charset=koi8-r\r\n"));
    buf_free(&out);
    mime_addr_list_release(&to);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_base64_wrapping),
        cmocka_unit_test(test_base64_limit),
        cmocka_unit_test(test_encode_words_utf8),
        cmocka_unit_test(test_encode_words_short_and_empty),
        cmocka_unit_test(test_addr_valid),
        cmocka_unit_test(test_addr_list),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_message_injection),
    };
    return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
