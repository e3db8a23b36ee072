/*
 * obj_misc_qr.c — misc.qrencode(text, format = 'PNG'|'SVG') (templates.md
 * §7.14): a QR code of text drawn by qr.c (error correction M, 4 pixels a
 * module, a 4-module quiet zone), returned as SHM returns it: a hash
 * {success: 1, data, format, size (bytes of data), text_length}, or
 * {error: message} for empty or too long text, an unknown format, or one of
 * SHM's drawing options (size, margin, level, foreground, background),
 * which billd does not support. The PNG is binary: templates embed it with
 * misc.encode_base64(misc.qrencode(t).data).
 */
#include "objects_int.h"

#include "qr.h"

#include <strings.h>

static int qr_error(struct tpl_value *out, const char *msg)
{
    *out = tpl_hash_new();
    tpl_hash_set(out, "error", 5, tpl_cstr(msg));
    return 0;
}

int obj_misc_qrencode(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    static const char *const unsupported[] = { "size", "margin", "level", "foreground",
                                               "background", "output_file" };
    struct tpl_args rest = *a; /* the options after the text */
    if (rest.npos) {
        rest.pos++;
        rest.npos--;
    }
    for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
        if (tpl_args_kv(&rest, unsupported[i]))
            return qr_error(out, "QR encode failed: only the format option is supported");
    char *text = obj_arg_str(a, 0, NULL), *fmt = obj_arg_str(&rest, (size_t)-1, "format");
    bool svg = fmt && !strcasecmp(fmt, "SVG");
    int rc = 0;
    struct err qe = { 0 };
    char *data = NULL;
    size_t n = 0;
    if (!text || !*text)
        rc = qr_error(out, "No text provided");
    else if (fmt && !svg && strcasecmp(fmt, "PNG"))
        rc = qr_error(out, "Invalid format. Use PNG or SVG");
    else if (svg ? qr_svg(text, strlen(text), &data, &n, &qe)
                 : qr_png(text, strlen(text), (unsigned char **)&data, &n, &qe))
        rc = qr_error(out, qe.msg);
    else {
        *out = tpl_hash_new();
        tpl_hash_set(out, "success", 7, tpl_int(1));
        tpl_hash_set(out, "data", 4, tpl_str(data, n));
        tpl_hash_set(out, "format", 6, tpl_cstr(svg ? "SVG" : "PNG"));
        tpl_hash_set(out, "size", 4, tpl_int((int64_t)n));
        tpl_hash_set(out, "text_length", 11, tpl_int((int64_t)strlen(text)));
    }
    free(data), free(text), free(fmt);
    return rc;
}
