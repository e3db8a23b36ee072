/*
 * qr.c — QR code images (qr.h): the symbol from libqrencode, drawn as a
 * PNG (signature, IHDR, one zlib IDAT, IEND; 1-bit greyscale, dark modules
 * black) or as an SVG of one path.
 */
#include "qr.h"

#include "../util/buf.h"

#include <qrencode.h>
#include <zlib.h>

/* The QR symbol of text, or NULL with e filled. Free with QRcode_free. */
static QRcode *encode(const char *text, size_t len, struct err *e)
{
    if (len == 0 || len > QR_TEXT_MAX) {
        err_set_status(e, ERR_INVALID, 400, "QR code: the text must be 1 to %d bytes",
                       QR_TEXT_MAX);
        return NULL;
    }
    QRcode *q = QRcode_encodeData((int)len, (const unsigned char *)text, 0, QR_ECLEVEL_M);
    if (!q)
        err_set_status(e, ERR_INVALID, 400, "QR code: the text cannot be encoded");
    return q;
}

static void put_u32(struct buf *b, uint32_t v)
{
    unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v };
    buf_append(b, x, 4);
}

/* One PNG chunk: length, type, data, CRC of type and data. */
static void put_chunk(struct buf *b, const char *type, const unsigned char *data, size_t n)
{
    put_u32(b, (uint32_t)n);
    buf_append(b, type, 4);
    if (n)
        buf_append(b, data, n);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (n)
        crc = crc32(crc, data, (uInt)n);
    put_u32(b, (uint32_t)crc);
}

int qr_png(const char *text, size_t len, unsigned char **png, size_t *png_len, struct err *e)
{
    QRcode *q = encode(text, len, e);
    if (!q)
        return ERR_INVALID;
    size_t side = ((size_t)q->width + 2 * QR_MARGIN) * QR_SCALE;
    size_t stride = 1 + (side + 7) / 8; /* filter byte + 1 bit per pixel */
    unsigned char *raw = xcalloc(side, stride);
    for (size_t y = 0; y < side; y++) {
        unsigned char *row = raw + y * stride;
        memset(row + 1, 0xff, stride - 1); /* white */
        long my = (long)(y / QR_SCALE) - QR_MARGIN;
        for (size_t x = 0; x < side; x++) {
            long mx = (long)(x / QR_SCALE) - QR_MARGIN;
            bool dark = my >= 0 && mx >= 0 && my < q->width && mx < q->width &&
                        (q->data[my * q->width + mx] & 1);
            if (dark)
                row[1 + x / 8] &= (unsigned char)~(0x80u >> (x % 8));
        }
    }
    uLongf zlen = compressBound((uLong)(side * stride));
    unsigned char *z = xmalloc(zlen);
    compress(z, &zlen, raw, (uLong)(side * stride));
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ihdr[13];
    for (int i = 0; i < 2; i++) {
        ihdr[i * 4] = (unsigned char)(side >> 24);
        ihdr[i * 4 + 1] = (unsigned char)(side >> 16);
        ihdr[i * 4 + 2] = (unsigned char)(side >> 8);
        ihdr[i * 4 + 3] = (unsigned char)side;
    }
    ihdr[8] = 1;  /* bit depth */
    ihdr[9] = 0;  /* greyscale */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    put_chunk(&b, "IHDR", ihdr, sizeof(ihdr));
    put_chunk(&b, "IDAT", z, zlen);
    put_chunk(&b, "IEND", NULL, 0);
    free(z);
    free(raw);
    QRcode_free(q);
    *png = (unsigned char *)buf_detach(&b, png_len);
    return 0;
}

int qr_svg(const char *text, size_t len, char **svg, size_t *svg_len, struct err *e)
{
    QRcode *q = encode(text, len, e);
    if (!q)
        return ERR_INVALID;
    int side = q->width + 2 * QR_MARGIN;
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
               "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
               side * QR_SCALE, side * QR_SCALE, side, side, side, side);
    for (int y = 0; y < q->width; y++)
        for (int x = 0; x < q->width; x++)
            if (q->data[y * q->width + x] & 1)
                buf_printf(&b, "M%d %dh1v1h-1z", x + QR_MARGIN, y + QR_MARGIN);
    buf_puts(&b, "\"/></svg>\n");
    QRcode_free(q);
    *svg = buf_detach(&b, svg_len);
    return 0;
}
