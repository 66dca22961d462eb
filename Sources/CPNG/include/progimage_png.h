#pragma once
// libpng's reading API behind three calls that cannot longjmp into Swift: every libpng
// call happens inside a C function that set its own jump buffer.
#include <stddef.h>
#include <stdint.h>

typedef struct pg_png pg_png;

/// Reads the header of a PNG held in memory and sets libpng up to deliver 8-bit R,G,B,A:
/// a palette expanded, `tRNS` made an alpha channel, grey made RGB, 16-bit samples cut to
/// their high byte (as libgd's reader does, so that a file reads the same either way),
/// 255 as the alpha of an image without one, interlacing undone. No gamma is applied.
/// With `keep_16` set, a 16-bit file's samples stay 16 bits, in the machine's byte order
/// (65535 the alpha of an image without one; `pg_png_sample_bytes` says 2).
/// NULL with `message` (at least 200 bytes) set when libpng refuses the header.
pg_png *pg_png_open(const unsigned char *data, size_t size, int keep_16, char *message);
void pg_png_size(const pg_png *png, uint32_t *width, uint32_t *height);
/// 1, or 2 for a 16-bit file opened with `keep_16`.
int pg_png_sample_bytes(const pg_png *png);

/// Decodes the whole image into `rows` (`rows[y]`, width × 4 samples each, top to bottom).
/// Returns 0 on success; anything else (a damaged or truncated file) means the rows must
/// not be used, and `message` says why.
int pg_png_read_rgba_rows(pg_png *png, unsigned char *const *rows, char *message);

void pg_png_close(pg_png *png);
