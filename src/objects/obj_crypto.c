/*
 * obj_crypto.c — misc.encrypt_aes256_gcm_base64(data, key[, iv][, aad])
 * (templates.md §7.14), AES-256-GCM through OpenSSL's libcrypto EVP API.
 *
 * Arguments (positional or named data/key/iv/aad): key is 32 bytes, given
 * as 64 hex digits or as a 32-byte string; iv is 12 bytes as 24 hex digits
 * or a 12-byte string, random when absent (give one only for test vectors:
 * a repeated (key, iv) pair breaks GCM); aad is optional authenticated
 * data. The result is standard padded base64 of iv(12) ‖ ciphertext ‖
 * tag(16), the layout docs/templates.md documents (the specification does
 * not fix one). A bad key or iv fails the render with a clear message.
 */
#include "objects_int.h"

#include <openssl/evp.h>
#include <sodium.h>

#define GCM_KEY 32
#define GCM_IV 12
#define GCM_TAG 16
#define GCM_DATA_MAX ((size_t)16 << 20)

/* Reads the string argument i / key into n bytes of out: n raw bytes or 2n hex digits. */
static int bytes_arg(const struct tpl_args *a, size_t i, const char *key, unsigned char *out,
                     size_t n, bool *given, struct err *e)
{
    char *s = obj_arg_str(a, i, key);
    size_t len = s ? strlen(s) : 0, bin = 0;
    int rc = 0;
    *given = s != NULL;
    if (!s)
        return 0;
    if (len == n)
        memcpy(out, s, n);
    else if (len != 2 * n || sodium_hex2bin(out, n, s, len, NULL, &bin, NULL) || bin != n)
        rc = err_set(e, ERR_INVALID,
                     "misc.encrypt_aes256_gcm_base64: %s must be %zu bytes or %zu hex digits",
                     key, n, 2 * n);
    free(s);
    return rc;
}

int obj_aes256gcm_seal(const unsigned char key[GCM_KEY], const unsigned char iv[GCM_IV],
                       const unsigned char *aad, size_t aadlen, const unsigned char *pt,
                       size_t len, unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GCM_IV, NULL) == 1 &&
                    EVP_EncryptInit_ex(c, NULL, NULL, key, iv) == 1;
    memcpy(out, iv, GCM_IV);
    if (ok && aadlen)
        ok = EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) == 1;
    if (ok && len)
        ok = EVP_EncryptUpdate(c, out + GCM_IV, &n, pt, (int)len) == 1;
    ok = ok && EVP_EncryptFinal_ex(c, out + GCM_IV + len, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG, out + GCM_IV + len) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : ERR_INTERNAL;
}

int obj_misc_encrypt_aes256_gcm_base64(struct obj *o, struct render_ctx *r,
                                       const struct tpl_args *a, struct tpl_value *out,
                                       struct err *e)
{
    UNUSED(o), UNUSED(r);
    unsigned char key[GCM_KEY], iv[GCM_IV];
    bool has_key, has_iv;
    int rc = bytes_arg(a, 1, "key", key, sizeof(key), &has_key, e);
    if (rc == 0 && !has_key)
        rc = err_set(e, ERR_INVALID, "misc.encrypt_aes256_gcm_base64: key is required");
    if (rc == 0)
        rc = bytes_arg(a, 2, "iv", iv, sizeof(iv), &has_iv, e);
    if (rc)
        return rc;
    if (!has_iv)
        randombytes_buf(iv, sizeof(iv));
    char *data = obj_arg_str(a, 0, "data"), *aad = obj_arg_str(a, 3, "aad");
    size_t len = data ? strlen(data) : 0, aadlen = aad ? strlen(aad) : 0;
    if (len > GCM_DATA_MAX) {
        free(data), free(aad);
        return err_set(e, ERR_LIMIT, "misc.encrypt_aes256_gcm_base64: data over 16 MiB");
    }
    size_t n = GCM_IV + len + GCM_TAG;
    unsigned char *sealed = xmalloc(n);
    rc = obj_aes256gcm_seal(key, iv, (const unsigned char *)aad, aadlen,
                            (const unsigned char *)(data ? data : ""), len, sealed);
    if (rc == 0) {
        size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = xmalloc(cap);
        sodium_bin2base64(b64, cap, sealed, n, sodium_base64_VARIANT_ORIGINAL);
        *out = tpl_cstr(b64);
        free(b64);
    } else {
        err_set(e, rc, "misc.encrypt_aes256_gcm_base64: encryption failed");
    }
    sodium_memzero(key, sizeof(key));
    free(sealed), free(data), free(aad);
    return rc;
}
