/*
 * identity.c — SSH identities (see identity.h): the model, the at-rest
 * envelope (crypto_secretbox), key parsing and fingerprints (libssh), key
 * generation in OpenSSH format, and the database functions used by the API,
 * the SSH transport and key rotation.
 *
 * libssh 0.10 exports only ed25519 keys in OpenSSH format (RSA and ECDSA come
 * out as PKCS#8 PEM), so this file writes the "openssh-key-v1" container
 * itself (PROTOCOL.key in OpenSSH): ed25519 pairs come from libsodium, RSA
 * and ECDSA pairs from libssh with their private numbers read back out of
 * the PKCS#8 DER. Every generated key is imported again with libssh before
 * it is returned.
 */
#include "identity.h"
#include "../db/sqlb.h"
#include "../util/log.h"
#include "../util/strutil.h"

#include <libssh/libssh.h>
#include <sodium.h>

_Static_assert(CONFIG_SECRET_KEY_LEN == crypto_secretbox_KEYBYTES, "secret key size");

static const struct field identity_fields[] = {
    { "id", FT_INT, FF_KEY, "id (servers name it in settings.key_id)", 0, NULL },
    { "name", FT_TEXT, FF_REQUIRED, "label", 64, NULL },
    { "private_key", FT_TEXT, FF_REQUIRED | FF_HIDDEN | FF_NOLIST | FF_NOFILTER,
      "private key, OpenSSH or PEM (write only; stored encrypted)", IDENTITY_MAX_KEY_LEN, NULL },
    { "public_key", FT_TEXT, 0, "public key (derived)", 0, NULL },
    { "fingerprint", FT_TEXT, 0, "MD5 fingerprint (derived)", 128, NULL },
    { "fingerprint_sha256", FT_TEXT, 0, "SHA-256 fingerprint (derived)", 128, NULL },
};

const struct model identity_model = {
    .name = "Identity",
    .table = "identities",
    .key = "id",
    .fields = identity_fields,
    .nfields = ARRAY_SIZE(identity_fields),
};

#define KEY_ID_LEN 8
#define B64 sodium_base64_VARIANT_ORIGINAL
#define WIRE_CAP 16384 /* an RSA-8192 OpenSSH container is about 5 KB */

void identity_pub_free(struct identity_pub *p)
{
    free(p->type);
    free(p->public_key);
    free(p->fingerprint);
    free(p->fingerprint_sha256);
    memset(p, 0, sizeof(*p));
}

void identity_pair_free(struct identity_pair *p)
{
    identity_secret_free(p->private_key);
    p->private_key = NULL;
    identity_pub_free(&p->pub);
}

void identity_secret_free(char *secret)
{
    if (!secret)
        return;
    sodium_memzero(secret, strlen(secret));
    free(secret);
}

/* ---- the envelope ---- */

static void key_id_of(const unsigned char *key, char out[KEY_ID_LEN + 1])
{
    static const char ctx[] = "billd identity key id v1";
    unsigned char h[16];
    crypto_generichash(h, sizeof(h), (const unsigned char *)ctx, sizeof(ctx) - 1, key,
                       CONFIG_SECRET_KEY_LEN);
    for (int i = 0; i < KEY_ID_LEN / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

void identity_key_id(const struct config *cfg, bool old, char out[9])
{
    key_id_of(old ? cfg->secret_key_old : cfg->secret_key, out);
}

int identity_seal(const struct config *cfg, const char *plain, char **out, struct err *e)
{
    size_t mlen = strlen(plain);
    size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + mlen;
    size_t b64len = sodium_base64_ENCODED_LEN(blen, B64);
    size_t head = strlen(IDENTITY_ENVELOPE_PREFIX) + KEY_ID_LEN + 1;
    unsigned char *box = xmalloc(blen);
    char *s = xmalloc(head + b64len);
    char id[KEY_ID_LEN + 1];
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    if (crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain,
                              mlen, box, cfg->secret_key) != 0) {
        free(box);
        free(s);
        return err_set(e, ERR_INTERNAL, "cannot encrypt the private key");
    }
    identity_key_id(cfg, false, id);
    snprintf(s, head + 1, "%s%s:", IDENTITY_ENVELOPE_PREFIX, id);
    sodium_bin2base64(s + head, b64len, box, blen, B64);
    free(box);
    *out = s;
    return 0;
}

/* The key named by id: the current one, the old one, or NULL. */
static const unsigned char *key_for(const struct config *cfg, const char *id)
{
    char cur[KEY_ID_LEN + 1];
    identity_key_id(cfg, false, cur);
    if (strcmp(id, cur) == 0)
        return cfg->secret_key;
    if (cfg->secret_key_old_set) {
        identity_key_id(cfg, true, cur);
        if (strcmp(id, cur) == 0)
            return cfg->secret_key_old;
    }
    return NULL;
}

/* Decrypts base64(nonce || box) with key into an owned string. */
static int open_box(const unsigned char *key, const char *b64, char **plain, struct err *e)
{
    size_t b64len = strlen(b64), blen = 0;
    unsigned char *bin = xmalloc(b64len / 4 * 3 + 3);
    const char *end = NULL;
    int rc = sodium_base642bin(bin, b64len / 4 * 3 + 3, b64, b64len, NULL, &blen, &end, B64);
    if (rc != 0 || end != b64 + b64len ||
        blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        free(bin);
        return err_set(e, ERR_INVALID, "the stored private key is not a valid envelope");
    }
    size_t mlen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *m = xmalloc(mlen + 1);
    rc = crypto_secretbox_open_easy((unsigned char *)m, bin + crypto_secretbox_NONCEBYTES,
                                    blen - crypto_secretbox_NONCEBYTES, bin, key);
    free(bin);
    if (rc != 0) {
        sodium_memzero(m, mlen + 1);
        free(m);
        return err_set(e, ERR_INVALID,
                       "the stored private key cannot be decrypted (wrong key or tampered data)");
    }
    m[mlen] = '\0';
    *plain = m;
    return 0;
}

int identity_open(const struct config *cfg, const char *stored, char **plain, struct err *e)
{
    size_t plen = strlen(IDENTITY_ENVELOPE_PREFIX);
    char id[KEY_ID_LEN + 1];
    if (!str_starts(stored, IDENTITY_ENVELOPE_PREFIX)) {
        if (!str_starts(stored, "-----BEGIN "))
            return err_set(e, ERR_INVALID, "the stored private key is not a valid envelope");
        *plain = xstrdup(stored); /* a plain key imported from SHM (identity_rekey_all seals it) */
        return 0;
    }
    if (strlen(stored) < plen + KEY_ID_LEN + 1 || stored[plen + KEY_ID_LEN] != ':')
        return err_set(e, ERR_INVALID, "the stored private key is not a valid envelope");
    memcpy(id, stored + plen, KEY_ID_LEN);
    id[KEY_ID_LEN] = '\0';
    const unsigned char *key = key_for(cfg, id);
    if (!key)
        return err_set(e, ERR_INVALID,
                       "the stored private key was encrypted with an unknown key (id %s); "
                       "set BILLD_SECRET_KEY_OLD to that key",
                       id);
    return open_box(key, stored + plen + KEY_ID_LEN + 1, plain, e);
}

/* ---- parsing and fingerprints (libssh) ---- */

/* libssh must never ask for a passphrase (OpenSSL would prompt on a terminal). */
static int refuse_passphrase(const char *prompt, char *buf, size_t len, int echo, int verify,
                             void *userdata)
{
    UNUSED(prompt), UNUSED(buf), UNUSED(len), UNUSED(echo), UNUSED(verify), UNUSED(userdata);
    return -1;
}

static bool is_ecdsa(enum ssh_keytypes_e t)
{
    return t == SSH_KEYTYPE_ECDSA || t == SSH_KEYTYPE_ECDSA_P256 || t == SSH_KEYTYPE_ECDSA_P384 ||
           t == SSH_KEYTYPE_ECDSA_P521;
}

/* A copy of comment safe for a one-line public key: control characters become '_'. */
static char *clean_comment(const char *comment)
{
    char *c = xstrdup(comment ? comment : "");
    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '_';
    return c;
}

/* "MD5:…" or "SHA256:…" of key, owned; NULL on failure. */
static char *fingerprint_of(ssh_key key, enum ssh_publickey_hash_type type)
{
    unsigned char *hash = NULL;
    size_t hlen = 0;
    if (ssh_get_publickey_hash(key, type, &hash, &hlen) != SSH_OK)
        return NULL;
    char *fp = ssh_get_fingerprint_hash(type, hash, hlen);
    ssh_clean_pubkey_hash(&hash);
    if (!fp)
        return NULL;
    char *copy = xstrdup(fp);
    ssh_string_free_char(fp);
    return copy;
}

static int describe_key(ssh_key key, const char *comment, struct identity_pub *out,
                        struct err *e)
{
    enum ssh_keytypes_e t = ssh_key_type(key);
    const char *tname = is_ecdsa(t) ? ssh_pki_key_ecdsa_name(key) : ssh_key_type_to_char(t);
    char *b64 = NULL;
    if (!tname || ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
        return err_set(e, ERR_INVALID, "Field private_key: unsupported key type");
    char *c = clean_comment(comment);
    out->type = xstrdup(tname);
    out->public_key = xasprintf("%s %s%s%s", tname, b64, *c ? " " : "", c);
    out->fingerprint = fingerprint_of(key, SSH_PUBLICKEY_HASH_MD5);
    out->fingerprint_sha256 = fingerprint_of(key, SSH_PUBLICKEY_HASH_SHA256);
    free(c);
    ssh_string_free_char(b64);
    if (!out->fingerprint || !out->fingerprint_sha256) {
        identity_pub_free(out);
        return err_set(e, ERR_INVALID, "Field private_key: cannot compute the fingerprint");
    }
    return 0;
}

int identity_describe(const char *private_key, const char *comment, struct identity_pub *out,
                      struct err *e)
{
    ssh_key key = NULL;
    memset(out, 0, sizeof(*out));
    if (strlen(private_key) > IDENTITY_MAX_KEY_LEN)
        return err_set(e, ERR_INVALID, "Field private_key: longer than %d characters",
                       IDENTITY_MAX_KEY_LEN);
    if (ssh_pki_import_privkey_base64(private_key, NULL, refuse_passphrase, NULL, &key) !=
            SSH_OK ||
        !key)
        return err_set(e, ERR_INVALID,
                       "Field private_key: not a valid unencrypted OpenSSH or PEM private key");
    int rc = describe_key(key, comment, out, e);
    ssh_key_free(key);
    return rc;
}

/* ---- SSH wire encoding into a fixed-size buffer (never reallocated: it holds secrets) ---- */

struct wire {
    unsigned char *p;
    size_t len, cap;
    bool overflow;
};

static void wire_init(struct wire *w)
{
    w->p = xmalloc(WIRE_CAP);
    w->len = 0;
    w->cap = WIRE_CAP;
    w->overflow = false;
}

static void wire_free(struct wire *w)
{
    sodium_memzero(w->p, w->cap);
    free(w->p);
    w->p = NULL;
}

static void wire_raw(struct wire *w, const void *data, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->p + w->len, data, n);
    w->len += n;
}

static void wire_u32(struct wire *w, uint32_t v)
{
    unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v };
    wire_raw(w, b, 4);
}

static void wire_string(struct wire *w, const void *data, size_t n)
{
    wire_u32(w, (uint32_t)n);
    wire_raw(w, data, n);
}

static void wire_cstring(struct wire *w, const char *s)
{
    wire_string(w, s, strlen(s));
}

/* An unsigned big-endian number as an SSH mpint (minimal, 0x00 prefix when the top bit is set). */
static void wire_mpint(struct wire *w, const unsigned char *num, size_t n)
{
    while (n > 0 && num[0] == 0) {
        num++;
        n--;
    }
    bool pad = n > 0 && (num[0] & 0x80);
    wire_u32(w, (uint32_t)(n + pad));
    if (pad)
        wire_raw(w, "", 1);
    wire_raw(w, num, n);
}

/* A bounded view of bytes. */
struct span {
    const unsigned char *p;
    size_t n;
};

/* Reads one SSH string from *s into out. Returns 0 or -1. */
static int span_string(struct span *s, struct span *out)
{
    if (s->n < 4)
        return -1;
    size_t n = (size_t)s->p[0] << 24 | (size_t)s->p[1] << 16 | (size_t)s->p[2] << 8 | s->p[3];
    if (n > s->n - 4)
        return -1;
    out->p = s->p + 4;
    out->n = n;
    s->p += 4 + n;
    s->n -= 4 + n;
    return 0;
}

/* Reads one DER element with tag from *s into its content. Returns 0 or -1. */
static int der_read(struct span *s, unsigned char tag, struct span *content)
{
    if (s->n < 2 || s->p[0] != tag)
        return -1;
    size_t len = s->p[1], hdr = 2;
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 3 || s->n < 2 + nb)
            return -1;
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = len << 8 | s->p[2 + i];
        hdr += nb;
    }
    if (len > s->n - hdr)
        return -1;
    content->p = s->p + hdr;
    content->n = len;
    s->p += hdr + len;
    s->n -= hdr + len;
    return 0;
}

#define DER_INTEGER 0x02
#define DER_OCTETS 0x04
#define DER_SEQUENCE 0x30

/* The inner private key (RSAPrivateKey / ECPrivateKey) SEQUENCE content of a PKCS#8 DER. */
static int pkcs8_inner(struct span der, struct span *inner)
{
    struct span info, skip, octets;
    if (der_read(&der, DER_SEQUENCE, &info) || der_read(&info, DER_INTEGER, &skip) ||
        der_read(&info, DER_SEQUENCE, &skip) || der_read(&info, DER_OCTETS, &octets))
        return -1;
    return der_read(&octets, DER_SEQUENCE, inner);
}

/* RSA private fields in OpenSSH order: n, e, d, iqmp, p, q. */
static int rsa_fields(struct span der, struct wire *w)
{
    struct span k, v[9];
    if (pkcs8_inner(der, &k))
        return -1;
    for (int i = 0; i < 9; i++) /* version n e d p q dp dq qinv */
        if (der_read(&k, DER_INTEGER, &v[i]))
            return -1;
    static const int order[] = { 1, 2, 3, 8, 4, 5 };
    for (size_t i = 0; i < ARRAY_SIZE(order); i++)
        wire_mpint(w, v[order[i]].p, v[order[i]].n);
    return 0;
}

/* ECDSA private fields: curve name and public point (from the public blob), then d. */
static int ecdsa_fields(struct span der, struct span blob, struct wire *w)
{
    struct span k, version, d, type, curve, q;
    if (pkcs8_inner(der, &k) || der_read(&k, DER_INTEGER, &version) ||
        der_read(&k, DER_OCTETS, &d))
        return -1;
    if (span_string(&blob, &type) || span_string(&blob, &curve) || span_string(&blob, &q))
        return -1;
    wire_string(w, curve.p, curve.n);
    wire_string(w, q.p, q.n);
    wire_mpint(w, d.p, d.n);
    return 0;
}

/* ---- the OpenSSH private key container ---- */

/* Armors bin as "-----BEGIN OPENSSH PRIVATE KEY-----" text with 70-column lines. */
static char *openssh_armor(const unsigned char *bin, size_t n)
{
    static const char head[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
    static const char tail[] = "-----END OPENSSH PRIVATE KEY-----\n";
    size_t b64len = sodium_base64_ENCODED_LEN(n, B64);
    char *b64 = xmalloc(b64len);
    sodium_bin2base64(b64, b64len, bin, n, B64);
    size_t len = strlen(b64);
    char *out = xmalloc(sizeof(head) + len + len / 70 + 1 + sizeof(tail));
    size_t o = 0;
    memcpy(out, head, sizeof(head) - 1);
    o += sizeof(head) - 1;
    for (size_t i = 0; i < len; i += 70) {
        size_t chunk = len - i < 70 ? len - i : 70;
        memcpy(out + o, b64 + i, chunk);
        o += chunk;
        out[o++] = '\n';
    }
    memcpy(out + o, tail, sizeof(tail));
    sodium_memzero(b64, b64len);
    free(b64);
    return out;
}

/*
 * Writes an unencrypted openssh-key-v1 container for one key: public blob,
 * then the private section (check ints, type, the type's private fields,
 * comment, padding to 8 bytes). Returns the armored text or NULL on overflow.
 */
static char *openssh_write(const char *type, struct span blob, const struct wire *fields,
                           const char *comment)
{
    struct wire priv, all;
    uint32_t check = randombytes_random();
    wire_init(&priv);
    wire_init(&all);
    wire_u32(&priv, check);
    wire_u32(&priv, check);
    wire_cstring(&priv, type);
    wire_raw(&priv, fields->p, fields->len);
    wire_cstring(&priv, comment);
    for (unsigned char pad = 1; priv.len % 8 != 0 && !priv.overflow; pad++)
        wire_raw(&priv, &pad, 1);
    wire_raw(&all, "openssh-key-v1", sizeof("openssh-key-v1")); /* with its NUL */
    wire_cstring(&all, "none");
    wire_cstring(&all, "none");
    wire_cstring(&all, "");
    wire_u32(&all, 1);
    wire_string(&all, blob.p, blob.n);
    wire_string(&all, priv.p, priv.len);
    char *out = priv.overflow || all.overflow || fields->overflow ? NULL
                                                                    : openssh_armor(all.p, all.len);
    wire_free(&priv);
    wire_free(&all);
    return out;
}

/* ed25519 from libsodium: OpenSSH keeps the 32-byte public key and the 64-byte seed||pk. */
static int generate_ed25519(const char *comment, char **pem, struct err *e)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    struct wire blob, fields;
    crypto_sign_keypair(pk, sk);
    wire_init(&blob);
    wire_init(&fields);
    wire_cstring(&blob, "ssh-ed25519");
    wire_string(&blob, pk, sizeof(pk));
    wire_string(&fields, pk, sizeof(pk));
    wire_string(&fields, sk, sizeof(sk));
    *pem = openssh_write("ssh-ed25519", (struct span){ blob.p, blob.len }, &fields, comment);
    sodium_memzero(sk, sizeof(sk));
    wire_free(&blob);
    wire_free(&fields);
    return *pem ? 0 : err_set(e, ERR_INTERNAL, "cannot encode the generated key");
}

/* Decodes the body of a PEM text (between the BEGIN and END lines) into an owned buffer. */
static int pem_decode(const char *pem, unsigned char **der, size_t *n)
{
    const char *begin = strstr(pem, "-----BEGIN PRIVATE KEY-----");
    const char *end = begin ? strstr(begin, "-----END PRIVATE KEY-----") : NULL;
    if (!begin || !end)
        return -1;
    begin += strlen("-----BEGIN PRIVATE KEY-----");
    size_t len = (size_t)(end - begin);
    *der = xmalloc(len / 4 * 3 + 3);
    if (sodium_base642bin(*der, len / 4 * 3 + 3, begin, len, "\r\n", n, NULL, B64) != 0) {
        free(*der);
        *der = NULL;
        return -1;
    }
    return 0;
}

/* Decodes a libssh public key's base64 into the wire blob. */
static int pub_blob(ssh_key key, struct wire *blob)
{
    char *b64 = NULL;
    size_t n = 0;
    if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
        return -1;
    int rc = sodium_base642bin(blob->p, blob->cap, b64, strlen(b64), NULL, &n, NULL, B64);
    ssh_string_free_char(b64);
    blob->len = n;
    return rc;
}

/* The OpenSSH container of a libssh-made RSA or ECDSA key (its export is PKCS#8). */
static char *libssh_to_openssh(ssh_key key, const char *comment)
{
    char *pkcs8 = NULL, *pem = NULL;
    unsigned char *der = NULL;
    size_t dlen = 0;
    struct wire blob, fields;
    enum ssh_keytypes_e t = ssh_key_type(key);
    const char *tname = is_ecdsa(t) ? ssh_pki_key_ecdsa_name(key) : ssh_key_type_to_char(t);
    wire_init(&blob);
    wire_init(&fields);
    if (ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &pkcs8) != SSH_OK || !tname ||
        pem_decode(pkcs8, &der, &dlen) || pub_blob(key, &blob))
        goto out;
    struct span d = { der, dlen };
    int rc = is_ecdsa(t) ? ecdsa_fields(d, (struct span){ blob.p, blob.len }, &fields)
                         : rsa_fields(d, &fields);
    if (rc == 0)
        pem = openssh_write(tname, (struct span){ blob.p, blob.len }, &fields, comment);
out:
    if (der) {
        sodium_memzero(der, dlen);
        free(der);
    }
    if (pkcs8) {
        sodium_memzero(pkcs8, strlen(pkcs8));
        ssh_string_free_char(pkcs8);
    }
    wire_free(&blob);
    wire_free(&fields);
    return pem;
}

static int generate_libssh(enum ssh_keytypes_e type, int bits, const char *comment, char **pem,
                           struct err *e)
{
    ssh_key key = NULL;
    if (ssh_pki_generate(type, bits, &key) != SSH_OK || !key)
        return err_set(e, ERR_INTERNAL, "cannot generate the key");
    *pem = libssh_to_openssh(key, comment);
    ssh_key_free(key);
    return *pem ? 0 : err_set(e, ERR_INTERNAL, "cannot encode the generated key");
}

/* Maps type and bits to a libssh key type; ed25519 → SSH_KEYTYPE_ED25519 (generated here). */
static int generation_params(const char *type, int *bits, enum ssh_keytypes_e *t, struct err *e)
{
    if (!type || !*type || strcmp(type, "ed25519") == 0) {
        *t = SSH_KEYTYPE_ED25519;
        return 0;
    }
    if (strcmp(type, "rsa") == 0) {
        *bits = *bits ? *bits : 3072;
        *t = SSH_KEYTYPE_RSA;
        if (*bits < 2048 || *bits > 8192)
            return err_set(e, ERR_INVALID, "Field bits: RSA keys have 2048 to 8192 bits");
        return 0;
    }
    if (strcmp(type, "ecdsa") == 0) {
        *bits = *bits ? *bits : 256;
        *t = *bits == 256 ? SSH_KEYTYPE_ECDSA_P256
           : *bits == 384 ? SSH_KEYTYPE_ECDSA_P384
           : *bits == 521 ? SSH_KEYTYPE_ECDSA_P521
                          : SSH_KEYTYPE_UNKNOWN;
        if (*t == SSH_KEYTYPE_UNKNOWN)
            return err_set(e, ERR_INVALID, "Field bits: ECDSA keys have 256, 384 or 521 bits");
        return 0;
    }
    if (strcmp(type, "dsa") == 0)
        return err_set(e, ERR_INVALID,
                       "Field type: dsa keys are not supported (OpenSSH disabled them); "
                       "use ed25519, rsa or ecdsa");
    return err_set(e, ERR_INVALID, "Field type: must be one of ed25519|rsa|ecdsa");
}

int identity_generate(const char *type, int bits, const char *comment, struct identity_pair *out,
                      struct err *e)
{
    enum ssh_keytypes_e t = SSH_KEYTYPE_UNKNOWN;
    memset(out, 0, sizeof(*out));
    int rc = generation_params(type, &bits, &t, e);
    if (rc)
        return rc;
    char *c = clean_comment(comment);
    rc = t == SSH_KEYTYPE_ED25519 ? generate_ed25519(c, &out->private_key, e)
                                  : generate_libssh(t, bits, c, &out->private_key, e);
    if (rc == 0 && identity_describe(out->private_key, c, &out->pub, e)) {
        log_error("generated key does not import again", "type=%s", type ? type : "ed25519");
        rc = err_set(e, ERR_INTERNAL, "the generated key does not import again");
    }
    free(c);
    if (rc)
        identity_pair_free(out);
    return rc;
}

/* ---- database ---- */

/*
 * The first column of sql (one row of identity id) as an owned string in
 * *out; NULL when the row or the value is absent (*found tells which).
 */
static int read_column(struct db *db, const char *sql, int64_t id, char **out, bool *found,
                       struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(id) };
    int rc = db_query(db, sql, p, 1, &r, e);
    if (rc)
        return rc;
    *found = db_result_rows(r) > 0;
    const char *t = *found ? db_result_text(r, 0, 0) : NULL;
    *out = t ? xstrdup(t) : NULL;
    db_result_free(r);
    return 0;
}

/* public_key with its comment replaced by name: "<type> <base64> <name>". */
static char *rename_public_key(const char *public_key, const char *name)
{
    const char *sp = strchr(public_key, ' ');
    size_t n = sp ? (size_t)(sp + 1 - public_key) + strcspn(sp + 1, " ") : strlen(public_key);
    char *c = clean_comment(name);
    char *out = xasprintf("%.*s%s%s", (int)n, public_key, *c ? " " : "", c);
    free(c);
    return out;
}

/* Moves the stored public key's comment to the new name (update without a new key). */
static int rename_comment(struct db *db, json_t *values, int64_t id, const char *name,
                          struct err *e)
{
    char *pub = NULL;
    bool found = false;
    int rc = read_column(db, "SELECT public_key FROM identities WHERE id = $1", id, &pub, &found,
                         e);
    if (rc || !pub)
        return rc;
    char *renamed = rename_public_key(pub, name);
    json_object_set_new(values, "public_key", json_string(renamed));
    free(renamed);
    free(pub);
    return 0;
}

/* The comment for a key: the name being written, else the stored one on update. */
static int comment_for(struct db *db, json_t *values, int64_t id, char **out, struct err *e)
{
    json_t *name = json_object_get(values, "name");
    bool found = false;
    *out = NULL;
    if (json_is_string(name)) {
        *out = xstrdup(json_string_value(name));
        return 0;
    }
    return id ? read_column(db, "SELECT name FROM identities WHERE id = $1", id, out, &found, e)
              : 0;
}

/* Checks and seals a new private key, setting the derived columns in values. */
static int set_private_key(struct db *db, const struct config *cfg, json_t *values, int64_t id,
                           const char *pem, struct err *e)
{
    struct identity_pub pub;
    char *comment = NULL, *sealed = NULL;
    int rc = comment_for(db, values, id, &comment, e);
    if (rc == 0)
        rc = identity_describe(pem, comment, &pub, e);
    free(comment);
    if (rc)
        return rc;
    rc = identity_seal(cfg, pem, &sealed, e);
    if (rc == 0) {
        json_object_set_new(values, "private_key", json_string(sealed));
        json_object_set_new(values, "public_key", json_string(pub.public_key));
        json_object_set_new(values, "fingerprint", json_string(pub.fingerprint));
        json_object_set_new(values, "fingerprint_sha256", json_string(pub.fingerprint_sha256));
    }
    free(sealed);
    identity_pub_free(&pub);
    return rc;
}

int identity_prepare(struct db *db, const struct config *cfg, json_t *values, int64_t id,
                     struct err *e)
{
    json_t *pk = json_object_get(values, "private_key");
    json_t *name = json_object_get(values, "name");
    json_object_del(values, "public_key"); /* derived, never taken from the client */
    json_object_del(values, "fingerprint");
    json_object_del(values, "fingerprint_sha256");
    if (name && (!json_is_string(name) || json_string_length(name) == 0))
        return err_set(e, ERR_INVALID, "Field name: must be a non-empty string");
    if (pk && !json_is_string(pk))
        return err_set(e, ERR_INVALID, "Field private_key: expected a string");
    if (pk)
        return set_private_key(db, cfg, values, id, json_string_value(pk), e);
    if (name && id)
        return rename_comment(db, values, id, json_string_value(name), e);
    return 0;
}

int identity_exists(struct db *db, int64_t id, bool *exists, struct err *e)
{
    int64_t n = 0;
    struct db_value p[] = { DB_INT(id) };
    int rc = db_query_int(db, "SELECT count(*) FROM identities WHERE id = $1", p, 1, &n, e);
    *exists = rc == 0 && n > 0;
    return rc;
}

int identity_count_users(struct db *db, int64_t id, int64_t *count, struct err *e)
{
    struct sqlb b;
    char idtext[24];
    char *path = db_json_path(db, "key_id");
    snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
    sqlb_init(&b);
    int n = sqlb_bind(&b, DB_TEXT(path));
    sqlb_add(&b, "SELECT count(*) FROM servers WHERE ");
    db_sql_json_text(db, &b.sql, "settings", n);
    sqlb_add(&b, " = ");
    sqlb_text(&b, idtext);
    int rc = db_query_int(db, b.sql.data, b.params, b.n, count, e);
    sqlb_free(&b);
    free(path);
    return rc;
}

int identity_private_key(struct db *db, const struct config *cfg, int64_t id, char **pem_out,
                         struct err *e)
{
    char *stored = NULL;
    bool found = false;
    int rc = read_column(db, "SELECT private_key FROM identities WHERE id = $1", id, &stored,
                         &found, e);
    if (rc)
        return rc;
    if (!found || !stored) {
        free(stored);
        return err_set(e, ERR_NOT_FOUND, "Identity %lld not found", (long long)id);
    }
    rc = identity_open(cfg, stored, pem_out, e);
    identity_secret_free(stored); /* a plain row imported from SHM is a secret too */
    return rc;
}

/* Re-seals one stored value when it is not under the current key; *done tells whether it was. */
static int rekey_one(struct db *db, const struct config *cfg, int64_t id, const char *stored,
                     bool *done, struct err *e)
{
    char cur[KEY_ID_LEN + 1], prefix[sizeof(IDENTITY_ENVELOPE_PREFIX) + KEY_ID_LEN + 1];
    char *plain = NULL, *sealed = NULL;
    identity_key_id(cfg, false, cur);
    snprintf(prefix, sizeof(prefix), "%s%s:", IDENTITY_ENVELOPE_PREFIX, cur);
    *done = false;
    if (str_starts(stored, prefix))
        return 0;
    int rc = identity_open(cfg, stored, &plain, e);
    if (rc == 0)
        rc = identity_seal(cfg, plain, &sealed, e);
    identity_secret_free(plain);
    if (rc) {
        char why[sizeof(e->msg)];
        snprintf(why, sizeof(why), "%s", e->msg);
        return err_set(e, rc, "identity %lld: %s", (long long)id, why);
    }
    struct db_value p[] = { DB_INT(id), DB_TEXT(sealed) };
    rc = db_exec(db, "UPDATE identities SET private_key = $2 WHERE id = $1", p, 2, NULL, e);
    free(sealed);
    *done = rc == 0;
    return rc;
}

static int rekey_rows(struct db *db, const struct config *cfg, int64_t *changed, struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(db, "SELECT id, private_key FROM identities ORDER BY id", NULL, 0, &r, e);
    for (int i = 0; rc == 0 && i < db_result_rows(r); i++) {
        bool done = false;
        const char *stored = db_result_text(r, i, 1);
        rc = rekey_one(db, cfg, db_result_int(r, i, 0), stored ? stored : "", &done, e);
        *changed += done;
    }
    db_result_free(r);
    return rc;
}

int identity_rekey_all(struct db *db, const struct config *cfg, int64_t *changed, struct err *e)
{
    int64_t n = 0;
    bool own_tx = !db_in_tx(db);
    int rc = own_tx ? db_begin(db, true, e) : 0;
    if (rc)
        return rc;
    rc = rekey_rows(db, cfg, &n, e);
    if (own_tx && rc == 0)
        rc = db_commit(db, e);
    if (own_tx && rc)
        db_rollback(db);
    if (changed)
        *changed = rc ? 0 : n;
    if (rc == 0 && n > 0)
        log_info("identities re-encrypted with the current key", "count=%lld", (long long)n);
    return rc;
}
