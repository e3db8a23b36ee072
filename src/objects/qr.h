/*
 * qr.h — QR codes of a text as images (api.md §7.3 formats qrcode and
 * qrcode_png; libqrencode for the symbol, the PNG written here with zlib's
 * compress() and crc32()).
 */
#ifndef BILLD_OBJECTS_QR_H
#define BILLD_OBJECTS_QR_H

#include "../common.h"

/* Pixels per module and the quiet zone in modules. */
#define QR_SCALE 4
#define QR_MARGIN 4
/* Longest text encoded (QR version 40 holds at most 2953 bytes). */
#define QR_TEXT_MAX 2953

/*
 * Encodes text (len bytes, error correction level M) as a 1-bit grey PNG
 * into *png (owned, *png_len bytes). Returns 0, or ERR_INVALID when the
 * text is empty or too long for a QR code.
 */
int qr_png(const char *text, size_t len, unsigned char **png, size_t *png_len, struct err *e);

/* The same as an SVG document (owned string). Same returns. */
int qr_svg(const char *text, size_t len, char **svg, size_t *svg_len, struct err *e);

#endif
