/*
 * mime.c — base64, RFC 2047 encoded words, address lists, dates and the
 * whole Internet message of one e-mail (mime.h). Pure: no I/O, no clock.
 */
#include "mime.h"

#include <strings.h>
#include <time.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes 1..3 bytes of in into 4 characters of out (with '=' padding). */
static void b64_quantum(const unsigned char *in, size_t n, char out[4])
{
    uint32_t v = (uint32_t)in[0] << 16;
    if (n > 1)
        v |= (uint32_t)in[1] << 8;
    if (n > 2)
        v |= in[2];
    out[0] = b64_alphabet[(v >> 18) & 63];
    out[1] = b64_alphabet[(v >> 12) & 63];
    out[2] = n > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
    out[3] = n > 2 ? b64_alphabet[v & 63] : '=';
}

int mime_base64(struct buf *out, const void *p, size_t n, size_t line_len)
{
    const unsigned char *s = p;
    size_t col = 0, orig = out->len;
    for (size_t i = 0; i < n; i += 3) {
        char q[4];
        b64_quantum(s + i, n - i < 3 ? n - i : 3, q);
        for (int k = 0; k < 4; k++) {
            if (line_len && col == line_len) {
                if (buf_append(out, "\r\n", 2))
                    goto too_long;
                col = 0;
            }
            if (buf_putc(out, q[k]))
                goto too_long;
            col++;
        }
    }
    if (line_len && n && buf_append(out, "\r\n", 2))
        goto too_long;
    return 0;
too_long:
    out->len = orig;
    out->data[orig] = '\0';
    return ERR_LIMIT;
}

/* Length of the UTF-8 character starting at s (1 for a stray or truncated byte). */
static size_t utf8_char_len(const unsigned char *s, size_t avail)
{
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
             : (s[0] & 0xF8) == 0xF0 ? 4 : 1;
    if (n > avail)
        return 1;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

/* Bytes per encoded word: 39 bytes → 52 base64 characters + 12 of "=?UTF-8?B?" "?=" = 64. */
#define WORD_BYTES 39

int mime_encode_words(struct buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, orig = out->len;
    do {
        size_t n = 0;
        while (i + n < len) {
            size_t c = utf8_char_len(p + i + n, len - i - n);
            if (n + c > WORD_BYTES)
                break;
            n += c;
        }
        if ((i && buf_append(out, "\r\n ", 3)) || buf_puts(out, "=?UTF-8?B?") ||
            mime_base64(out, p + i, n, 0) || buf_puts(out, "?="))
            goto too_long;
        i += n;
    } while (i < len);
    return 0;
too_long:
    out->len = orig;
    out->data[orig] = '\0';
    return ERR_LIMIT;
}

/* RFC 5322 atext (without the dot). */
static bool is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool local_part_valid(const char *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' && s[i + 1] == '.')
            return false;
        if (s[i] != '.' && !is_atext((unsigned char)s[i]))
            return false;
    }
    return true;
}

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool domain_valid(const char *s)
{
    size_t n = strlen(s), label = 0, letters = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            if (c == '\0') /* the top-level label: letters, or an IDN "xn--" label */
                return label >= 2 && (letters == label ||
                                      (label > 4 && !strncasecmp(s + i - label, "xn--", 4)));
            label = letters = 0;
            continue;
        }
        if (!is_alnum(c) && c != '-')
            return false;
        if (label == 0 && c == '-')
            return false;
        label++;
        letters += (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
    return false;
}

bool mime_addr_valid(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    if (!at || strlen(addr) > 254)
        return false;
    return local_part_valid(addr, (size_t)(at - addr)) && domain_valid(at + 1) &&
           strchr(at + 1, '.') != NULL;
}

/* A copy of s[0..n) without surrounding blanks. Returns an owned string. */
static char *trim_dup(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return xstrndup(s, n);
}

/* Splits one item into name and address; takes nothing, returns 0 or ERR_INVALID. */
static int addr_item_parse(const char *item, struct mime_addr *out)
{
    const char *lt = strrchr(item, '<');
    if (!lt) {
        out->name = xstrdup("");
        out->addr = xstrdup(item);
    } else {
        const char *gt = strchr(lt, '>');
        if (!gt || gt[1 + strspn(gt + 1, " \t")] != '\0')
            return ERR_INVALID;
        out->name = trim_dup(item, (size_t)(lt - item));
        out->addr = trim_dup(lt + 1, (size_t)(gt - lt - 1));
        size_t nl = strlen(out->name);
        if (nl >= 2 && out->name[0] == '"' && out->name[nl - 1] == '"') {
            memmove(out->name, out->name + 1, nl - 2);
            out->name[nl - 2] = '\0';
        }
        if (strchr(out->name, '"') || strchr(out->name, '<') || strchr(out->name, '>'))
            return ERR_INVALID;
    }
    return mime_addr_valid(out->addr) ? 0 : ERR_INVALID;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Parses the item s[0..n) and appends it to l (skipping an empty one). */
static int addr_list_add(struct mime_addr_list *l, const char *s, size_t n, struct err *e)
{
    char *item = trim_dup(s, n);
    struct mime_addr a = { 0 };
    int rc = 0;
    if (*item == '\0')
        goto out;
    if (has_control(item) || addr_item_parse(item, &a)) {
        free(a.name);
        free(a.addr);
        rc = err_set(e, ERR_INVALID, "Invalid email address: %.80s", item);
        goto out;
    }
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = a;
out:
    free(item);
    return rc;
}

int mime_addr_list_parse(const char *s, struct mime_addr_list *l, struct err *e)
{
    bool quoted = false;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == '"')
            quoted = !quoted;
        if (*p == '\0' || (!quoted && (*p == ',' || *p == ';'))) {
            int rc = addr_list_add(l, start, (size_t)(p - start), e);
            if (rc)
                return rc;
            if (*p == '\0')
                return 0;
            start = p + 1;
        }
    }
}

void mime_addr_list_release(struct mime_addr_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].addr);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static bool is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

bool mime_content_type_valid(const char *ct)
{
    size_t i = 0, start;
    if (!ct || has_control(ct))
        return false;
    for (start = i; is_token_char((unsigned char)ct[i]); i++)
        ;
    if (i == start || ct[i] != '/')
        return false;
    for (start = ++i; is_token_char((unsigned char)ct[i]); i++)
        ;
    if (i == start)
        return false;
    for (size_t k = i; ct[k]; k++)
        if ((unsigned char)ct[k] > 0x7e)
            return false;
    i += strspn(ct + i, " ");
    return ct[i] == '\0' || ct[i] == ';';
}

void mime_date(int64_t t, char *out, size_t outlen)
{
    static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* True when a display name can be written as it is (atext, dots and spaces only). */
static bool name_plain(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '.' && !is_atext((unsigned char)*s))
            return false;
    return true;
}

/* Appends "name <addr>" (name encoded when needed) or the bare address. */
static int addr_format(struct buf *out, const char *name, const char *addr)
{
    if (!name || !*name)
        return buf_puts(out, addr);
    if (name_plain(name))
        return buf_printf(out, "%s <%s>", name, addr);
    if (mime_encode_words(out, name))
        return ERR_LIMIT;
    return buf_printf(out, " <%s>", addr);
}

/* Appends "Name: a, b, …\r\n" with one address per folded line. */
static int addr_header(struct buf *out, const char *hname, const struct mime_addr_list *l)
{
    if (buf_printf(out, "%s: ", hname))
        return ERR_LIMIT;
    if (l->n == 0 && buf_puts(out, "undisclosed-recipients:;"))
        return ERR_LIMIT;
    for (size_t i = 0; i < l->n; i++)
        if ((i && buf_puts(out, ",\r\n ")) || addr_format(out, l->v[i].name, l->v[i].addr))
            return ERR_LIMIT;
    return buf_puts(out, "\r\n");
}

/* Checks what the headers take verbatim. Returns 0 or ERR_INVALID. */
static int message_check(const struct mime_message *m, struct err *e)
{
    if (!mime_addr_valid(m->from))
        return err_set(e, ERR_INVALID, "Invalid email address: %.80s", m->from ? m->from : "");
    if (!mime_content_type_valid(m->content_type))
        return err_set(e, ERR_INVALID, "Invalid content type: %.80s",
                       m->content_type ? m->content_type : "");
    if (!m->message_id || has_control(m->message_id) || strchr(m->message_id, ' '))
        return err_set(e, ERR_INVALID, "Invalid Message-ID");
    return 0;
}

/* True when ct already names a charset parameter. */
static bool names_charset(const char *ct)
{
    for (const char *p = ct; *p; p++)
        if (!strncasecmp(p, "charset", 7))
            return true;
    return false;
}

static int message_headers(const struct mime_message *m, struct buf *out)
{
    char date[64];
    mime_date(m->date, date, sizeof(date));
    int rc = buf_puts(out, "From: ") || addr_format(out, m->from_name, m->from) ||
             buf_puts(out, "\r\n") || addr_header(out, "To", m->to) ||
             (m->cc && m->cc->n && addr_header(out, "Cc", m->cc)) ||
             buf_puts(out, "Subject: ") || mime_encode_words(out, m->subject ? m->subject : "") ||
             buf_printf(out, "\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n", date,
                        m->message_id) ||
             buf_printf(out, "Content-Type: %s%s\r\n", m->content_type,
                        names_charset(m->content_type) ? "" : "; charset=UTF-8") ||
             buf_puts(out, "Content-Transfer-Encoding: base64\r\nX-Mailer: SHM mailer\r\n\r\n");
    return rc ? ERR_LIMIT : 0;
}

int mime_build_message(const struct mime_message *m, struct buf *out, struct err *e)
{
    int rc = message_check(m, e);
    if (rc)
        return rc;
    size_t orig = out->len;
    if (message_headers(m, out) ||
        mime_base64(out, m->body ? m->body : "", m->body_len, MIME_BASE64_LINE)) {
        out->len = orig;
        out->data[orig] = '\0';
        return err_set(e, ERR_LIMIT, "The message is too large");
    }
    return 0;
}
