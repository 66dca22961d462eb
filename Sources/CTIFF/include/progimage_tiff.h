#pragma once
// libtiff over bytes in memory, behind a few calls. Errors and warnings go to handlers of
// this file's own (TIFFOpenOptions), never to libtiff's process-wide ones.
#include <stddef.h>
#include <stdint.h>

typedef struct pg_tiff pg_tiff;

/// Opens the first directory (page). NULL with `message` (at least 256 bytes) set.
pg_tiff *pg_tiff_open(const unsigned char *data, size_t size, char *message);

void pg_tiff_size(pg_tiff *tiff, uint32_t *width, uint32_t *height);

/// The ICC profile (tag 34675), or 0. Valid until `pg_tiff_close`.
size_t pg_tiff_icc_profile(pg_tiff *tiff, const unsigned char **profile);

/// 1 with `message` set when a read so far lost JPEG-compressed data (libjpeg warned of a
/// premature end, a bad Huffman or arithmetic code, or restarts out of step, and filled
/// the rest with grey); 0 otherwise. Ask after every read that reported success.
int pg_tiff_lost_data(pg_tiff *tiff, char *message);

/// Decodes the whole first page through libtiff's RGBA interface (what it supports:
/// grey, palette, RGB, YCbCr, CMYK, CIE Lab; 1–16 bits a sample (plain 8- or 16-bit CMYK
/// is read as stored and made RGB with the interface's own formula); every compression
/// libtiff was built with, old-style JPEG included; planar or not; tiled or not) into
/// `pixels`: width × height × 4 bytes R,G,B,A, straight (not premultiplied) alpha, rows
/// top to bottom as stored (the Orientation tag is left to the caller). `*has_alpha` tells whether the file has an alpha sample. Returns 0 on
/// success; anything else means `pixels` must not be used.
int pg_tiff_read_rgba(pg_tiff *tiff, unsigned char *pixels, int *has_alpha, char *message);

/// 16-bit RGB, with no extra sample or one unassociated alpha, in strips or tiles,
/// contiguous or planar, as stored: width × 4 samples a row, R,G,B,A in the machine's byte
/// order (65535 the alpha of a page without one), rows as stored; for a caller that
/// converts colours before it cuts them to 8 bits. Returns -1 (and reads nothing) when the
/// page is not laid out so, 0 on success, 1 on a decode error.
int pg_tiff_read_rgb16(pg_tiff *tiff, uint16_t *pixels, int *has_alpha, char *message);

/// Whether the first page is what `pg_tiff_read_rgb16` reads (its tags only).
int pg_tiff_is_rgb16(pg_tiff *tiff);

/// 32-bit IEEE float or 32-bit unsigned samples, one (grey) or three (RGB) per pixel,
/// contiguous: what the RGBA interface refuses. Floats are taken as 0–1 and clamped;
/// integers are scaled from their full range; no transfer curve is applied (float TIFFs
/// are often linear, and come out dark). Same output as above; returns 2 for a layout
/// this does not read either.
int pg_tiff_read_wide_samples(pg_tiff *tiff, unsigned char *pixels, char *message);

/// C, M, Y, K as stored (PhotometricInterpretation separated, ink set CMYK, four samples
/// and no extra one, 8 or 16 bits rounded to 8, contiguous or planar, strips or tiles), for
/// a caller that has the file's CMYK profile: `pg_tiff_read_rgba` converts CMYK with the
/// naive formula and would leave the profile nothing to describe. `pixels` as above, four
/// bytes C,M,Y,K a pixel. Returns -1 (and reads nothing) when the page is not laid out so,
/// 0 on success, 1 on a decode error.
int pg_tiff_read_cmyk(pg_tiff *tiff, unsigned char *pixels, char *message);

/// Opens the first directory for `pg_tiff_check_later_pages` only (strip offsets read on
/// demand).
pg_tiff *pg_tiff_open_for_pages(const unsigned char *data, size_t size, char *message);

/// Reads the directories after the first page's (the pages no output shows), at most
/// `max_pages` pages in all, and checks that each one's strips or tiles lie inside the
/// file: a multi-page file cut short after its first page decodes that page completely.
/// Returns 0 with `*pages` set, 1 on a page that cannot be read or is cut short (`message`
/// set), 2 when the file has more than `max_pages` pages (`*pages` = `max_pages`). Leaves
/// the handle on another page: call it last.
int pg_tiff_check_later_pages(pg_tiff *tiff, uint32_t max_pages, uint32_t *pages, char *message);

void pg_tiff_close(pg_tiff *tiff);
