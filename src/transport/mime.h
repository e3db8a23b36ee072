/*
 * mime.h — building one Internet message for the mail transport (mail.c,
 * transports.md §3.4): base64 with MIME line wrapping, RFC 2047 encoded words
 * for UTF-8 subjects and display names, e-mail address lists, the RFC 5322
 * date, and the whole message text.
 *
 * Invariant: nothing a caller passes can add a header line. Subjects and
 * display names are always base64 encoded words (CR and LF inside them are
 * only encoded bytes); addresses and content types with control characters
 * are refused (ERR_INVALID) before anything is built.
 */
#ifndef BILLD_TRANSPORT_MIME_H
#define BILLD_TRANSPORT_MIME_H

#include "../common.h"
#include "../util/buf.h"

/* MIME's maximum encoded line length for base64 bodies (RFC 2045 §6.8). */
#define MIME_BASE64_LINE 76

/*
 * Appends base64 of p[0..n) to out, broken into lines of line_len characters
 * (0 = one line) separated by CR LF; with line_len > 0 the last line also
 * ends with CR LF (nothing is appended for n = 0). Returns 0 or ERR_LIMIT.
 */
int mime_base64(struct buf *out, const void *p, size_t n, size_t line_len);

/*
 * Appends s (UTF-8 text; invalid sequences are encoded as they are) as RFC
 * 2047 "B" encoded words =?UTF-8?B?…?=, each at most 64 characters and never
 * splitting a UTF-8 character, separated by CR LF SP (header folding). An
 * empty s gives one empty encoded word. Returns 0 or ERR_LIMIT.
 */
int mime_encode_words(struct buf *out, const char *s);

/*
 * True for a plain addr-spec local@domain: local part of RFC 5322 atext and
 * dots (no leading, trailing or double dot), domain of letters, digits and
 * hyphens in dot-separated labels ending in a label of at least two letters
 * or an IDN label "xn--…" (e.g. .xn--p1ai for .рф; IDNs must be punycoded).
 * No spaces, control characters, quotes, brackets or non-ASCII bytes.
 */
bool mime_addr_valid(const char *addr);

/* One recipient: display name (may be empty) and address. Owned strings. */
struct mime_addr {
    char *name;
    char *addr;
};

/* A list of recipients; release with mime_addr_list_release(). */
struct mime_addr_list {
    struct mime_addr *v;
    size_t n;
};

/*
 * Parses a list of recipients separated by ',' or ';' and appends them to
 * *l. Each item is an address or `Display Name <address>` (the name may be
 * double-quoted and may be UTF-8). Empty items are skipped. Returns 0, or
 * ERR_INVALID ("Invalid email address: <item>") on a malformed item or any
 * control character; *l keeps the items appended before the bad one.
 */
int mime_addr_list_parse(const char *s, struct mime_addr_list *l, struct err *e);
/* Frees the items of l and empties it. */
void mime_addr_list_release(struct mime_addr_list *l);

/*
 * True for a content type "type/subtype" (RFC 2045 token characters) with
 * optional "; name=value" parameters in printable ASCII (no control
 * characters, so it cannot end the header).
 */
bool mime_content_type_valid(const char *ct);

/* Formats t (Unix seconds) as an RFC 5322 date in UTC: "Sat, 28 Nov 2026 04:44:49 +0000". */
void mime_date(int64_t t, char *out, size_t outlen);

/* A message to build. Borrowed pointers. */
struct mime_message {
    const char *from;          /* sender address (valid) */
    const char *from_name;     /* display name, UTF-8, may be NULL or empty */
    const struct mime_addr_list *to;
    const struct mime_addr_list *cc; /* may be NULL; Bcc never appears in the headers */
    const char *subject;       /* UTF-8, may be NULL (empty) */
    const char *content_type;  /* "text/plain", "text/html", … (valid) */
    const char *body;          /* UTF-8 text */
    size_t body_len;
    int64_t date;              /* Unix seconds for the Date header */
    const char *message_id;    /* "<…@…>" */
};

/*
 * Appends the whole message (headers, empty line, base64 body in 76-column
 * lines, CR LF line ends) to out. Headers: From, To, Cc (when any), Subject,
 * Date, Message-ID, MIME-Version, Content-Type "<type>; charset=UTF-8"
 * (unless the type names a charset), Content-Transfer-Encoding base64,
 * X-Mailer. Returns 0, ERR_INVALID (an address or content type that is not
 * valid) or ERR_LIMIT.
 */
int mime_build_message(const struct mime_message *m, struct buf *out, struct err *e);

#endif
