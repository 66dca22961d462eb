#include "progimage_tiff.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

struct pg_tiff {
    TIFF *tif;
    const unsigned char *data;
    toff_t size;
    toff_t position;
    /// libtiff's last error about this file, through the per-file handler below (the
    /// process-wide one would be shared by every thread, and by libgd's TIFF writer).
    char error[256];
    /// The first warning of libjpeg (inside a JPEG-compressed TIFF) that lost image data.
    char lost_data[256];
};

static int pg_tiff_error(TIFF *tif, void *user_data, const char *module, const char *format, va_list args) {
    (void)tif; (void)module;
    struct pg_tiff *tiff = user_data;
    vsnprintf(tiff->error, sizeof tiff->error, format, args);
    return 1;  /* handled: the global handler is not called */
}

/// Whether a libjpeg warning, as libtiff passes its text on, means entropy-coded data was
/// lost: the same codes `pg_jpeg_warning_damages` refuses in a JPEG file (premature end,
/// a scan cut short, a bad Huffman or arithmetic code, restarts out of step), which libjpeg
/// fills with flat grey. Bytes between markers ("extraneous bytes") lose nothing.
static int pg_tiff_jpeg_warning_loses_data(const char *text) {
    if (strncmp(text, "Premature end of JPEG file", 26) == 0) return 1;
    if (strncmp(text, "Application transferred too many scanlines", 42) == 0) return 1;
    return strncmp(text, "Corrupt JPEG data:", 18) == 0 && strstr(text, "extraneous bytes") == NULL;
}

/// libtiff's warning for a JPEG strip or tile that codes fewer pixels than its place in the
/// page ("Improper JPEG strip/tile size, expected WxH, got wxh"): the rest stays unwritten,
/// black. A file whose ImageWidth claimed more than its JPEG strips held was stored with
/// black columns (a black-box tester), where a JPEG wider than its data is a 422. A tile on
/// the page's right or bottom edge may leave out what lies past the page: that loses nothing.
static int pg_tiff_jpeg_segment_loses_data(TIFF *tif, const char *text) {
    unsigned expected_width, expected_height, width, height;
    if (strncmp(text, "Improper JPEG strip/tile size", 29) != 0) return 0;
    const char *sizes = strstr(text, "expected");
    if (!sizes || sscanf(sizes, "expected %ux%u, got %ux%u", &expected_width, &expected_height, &width, &height) != 4)
        return 1;
    if (!TIFFIsTiled(tif)) return 1;
    uint32_t page_width = 0, page_height = 0, tile_width = 0, tile_height = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &page_width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &page_height);
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_width);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &tile_height);
    if (tile_width == 0 || tile_height == 0) return 1;
    uint32_t across = (page_width + tile_width - 1) / tile_width, down = (page_height + tile_height - 1) / tile_height;
    if (across == 0 || down == 0) return 1;
    uint32_t tile = TIFFCurrentTile(tif);
    uint32_t column = tile % across, row = (tile / across) % down;
    uint32_t shown_width = page_width - column * tile_width, shown_height = page_height - row * tile_height;
    if (shown_width > tile_width) shown_width = tile_width;
    if (shown_height > tile_height) shown_height = tile_height;
    return width < shown_width || height < shown_height;
}

/// Warnings change no pixel (unknown tags, mostly), except libjpeg's inside a JPEG-
/// compressed page ("JPEGLib" for compression 7, "LibJpeg" for old-style 6): a strip cut
/// short came out with grey rows and a 201 where the same damage in a JPEG is a 422 (a
/// black-box probe). Those are kept for `pg_tiff_lost_data`; nothing goes to stderr.
static int pg_tiff_warning(TIFF *tif, void *user_data, const char *module, const char *format, va_list args) {
    struct pg_tiff *tiff = user_data;
    if (tiff->lost_data[0] || !module) return 1;
    int from_libjpeg = strcmp(module, "JPEGLib") == 0 || strcmp(module, "LibJpeg") == 0;
    if (!from_libjpeg && strcmp(module, "JPEGPreDecode") != 0) return 1;
    char text[256];
    vsnprintf(text, sizeof text, format, args);
    if (from_libjpeg ? pg_tiff_jpeg_warning_loses_data(text) : pg_tiff_jpeg_segment_loses_data(tif, text))
        snprintf(tiff->lost_data, sizeof tiff->lost_data, "%s", text);
    return 1;
}

int pg_tiff_lost_data(pg_tiff *tiff, char *message) {
    if (!tiff->lost_data[0]) return 0;
    snprintf(message, 256, "%s", tiff->lost_data);
    return 1;
}

static tmsize_t pg_tiff_read_proc(thandle_t handle, void *buffer, tmsize_t size) {
    struct pg_tiff *tiff = handle;
    if (size < 0 || tiff->position >= tiff->size) return 0;
    toff_t available = tiff->size - tiff->position;
    toff_t n = (toff_t)size < available ? (toff_t)size : available;
    memcpy(buffer, tiff->data + tiff->position, (size_t)n);
    tiff->position += n;
    return (tmsize_t)n;
}

static tmsize_t pg_tiff_write_proc(thandle_t handle, void *buffer, tmsize_t size) {
    (void)handle; (void)buffer; (void)size;
    return -1;
}

static toff_t pg_tiff_seek_proc(thandle_t handle, toff_t offset, int whence) {
    struct pg_tiff *tiff = handle;
    toff_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? tiff->position : tiff->size;
    tiff->position = base + offset;
    return tiff->position;
}

static int pg_tiff_close_proc(thandle_t handle) { (void)handle; return 0; }

static toff_t pg_tiff_size_proc(thandle_t handle) { return ((struct pg_tiff *)handle)->size; }

static int pg_tiff_map_proc(thandle_t handle, void **base, toff_t *size) {
    struct pg_tiff *tiff = handle;
    *base = (void *)tiff->data;
    *size = tiff->size;
    return 1;
}

static void pg_tiff_unmap_proc(thandle_t handle, void *base, toff_t size) { (void)handle; (void)base; (void)size; }

static void pg_tiff_message(struct pg_tiff *tiff, char *message, const char *fallback) {
    snprintf(message, 256, "%s", tiff->error[0] ? tiff->error : fallback);
    tiff->error[0] = 0;
}

static pg_tiff *pg_tiff_open_mode(const unsigned char *data, size_t size, const char *mode, char *message) {
    struct pg_tiff *tiff = calloc(1, sizeof *tiff);
    if (!tiff) {
        snprintf(message, 256, "out of memory");
        return NULL;
    }
    tiff->data = data;
    tiff->size = size;
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) {
        snprintf(message, 256, "out of memory");
        free(tiff);
        return NULL;
    }
    TIFFOpenOptionsSetErrorHandlerExtR(options, pg_tiff_error, tiff);
    TIFFOpenOptionsSetWarningHandlerExtR(options, pg_tiff_warning, tiff);
    // The pixel limit is checked from the header first; this bounds what a hostile tag
    // (a strip byte count, a colour map) can make libtiff allocate at once.
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, (tmsize_t)1 << 30);
    // Mapped reading of our own buffer (the map procs above): libtiff 4.5's unmapped path
    // refuses uncompressed tiles whose byte count exceeds the tile (image-tiff's
    // tiled-gray-i1.tif), which every other reader accepts.
    tiff->tif = TIFFClientOpenExt("upload", mode, tiff, pg_tiff_read_proc, pg_tiff_write_proc, pg_tiff_seek_proc,
                                  pg_tiff_close_proc, pg_tiff_size_proc, pg_tiff_map_proc, pg_tiff_unmap_proc,
                                  options);
    TIFFOpenOptionsFree(options);
    if (!tiff->tif) {
        pg_tiff_message(tiff, message, "not a readable TIFF");
        free(tiff);
        return NULL;
    }
    return tiff;
}

pg_tiff *pg_tiff_open(const unsigned char *data, size_t size, char *message) {
    return pg_tiff_open_mode(data, size, "r", message);
}

pg_tiff *pg_tiff_open_for_pages(const unsigned char *data, size_t size, char *message) {
    // 'O': a strip's offset and byte count are read from the file when asked for, not a
    // directory's whole arrays when it is read, so many pages naming one large array cost
    // what is checked of them.
    return pg_tiff_open_mode(data, size, "rO", message);
}

void pg_tiff_size(pg_tiff *tiff, uint32_t *width, uint32_t *height) {
    *width = 0;
    *height = 0;
    TIFFGetField(tiff->tif, TIFFTAG_IMAGEWIDTH, width);
    TIFFGetField(tiff->tif, TIFFTAG_IMAGELENGTH, height);
}

size_t pg_tiff_icc_profile(pg_tiff *tiff, const unsigned char **profile) {
    uint32_t length = 0;
    void *bytes = NULL;
    if (!TIFFGetField(tiff->tif, TIFFTAG_ICCPROFILE, &length, &bytes) || !bytes) return 0;
    *profile = bytes;
    return length;
}

/// 8-bit RGBA in strips with unassociated alpha, read as stored: libtiff's RGBA interface
/// multiplies such colours by alpha, and dividing them back lost up to half of each
/// translucent colour's levels (alpha 2 leaves two). Returns -1 when the file is not that.
/// The tags that say how samples are laid out, defaults filled in.
struct pg_tiff_layout {
    uint32_t width, height;
    uint16_t photometric, bits, format, samples, planar;
};

static struct pg_tiff_layout pg_tiff_layout_of(TIFF *tif) {
    struct pg_tiff_layout layout = {0, 0, 0, 0, SAMPLEFORMAT_UINT, 1, PLANARCONFIG_CONTIG};
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &layout.width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &layout.height);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PHOTOMETRIC, &layout.photometric);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &layout.bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &layout.format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &layout.samples);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &layout.planar);
    return layout;
}

/// One sample of a chunk read as stored: 8 bits as they are, 16 bits (which libtiff has
/// put in the machine's byte order) rounded to 8.
static unsigned char pg_tiff_sample8(const unsigned char *chunk, size_t index, int wide) {
    if (!wide) return chunk[index];
    uint16_t value;
    memcpy(&value, chunk + index * 2, 2);
    return (unsigned char)((value * 255u + 32767u) / 65535u);
}

/// Whether the page is RGB, 8 or 16 unsigned bits a sample, contiguous or planar, with
/// three samples and no extra one, or four whose fourth is unassociated alpha; `*samples`
/// says which.
static int pg_tiff_is_plain_rgb(TIFF *tif, struct pg_tiff_layout layout, uint16_t *samples) {
    uint16_t extra_count = 0;
    uint16_t *extra = NULL;
    if (layout.photometric != PHOTOMETRIC_RGB || (layout.bits != 8 && layout.bits != 16) ||
        layout.format != SAMPLEFORMAT_UINT ||
        (layout.planar != PLANARCONFIG_CONTIG && layout.planar != PLANARCONFIG_SEPARATE))
        return 0;
    int has_extra = TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra) && extra_count > 0;
    if (layout.samples == 3 && !has_extra) {
        *samples = 3;
        return 1;
    }
    if (layout.samples == 4 && has_extra && extra_count == 1 && extra && extra[0] == EXTRASAMPLE_UNASSALPHA) {
        *samples = 4;
        return 1;
    }
    return 0;
}

/// One strip or tile, decoded into `chunk` cleared first: libtiff 4.5 inflates a whole
/// deflate strip or tile with libdeflate and takes its "insufficient space" for success (for
/// strips that hold more rows than they should, its source says), and a damaged one whose
/// last copy ran past the end came back with that end never written: other bytes at each
/// request (a black-box probe, 12 of 22 damaged 16-bit files). Its zlib path, which fills
/// or fails, inflated a 12 MP strip image 27% slower (760 → 965 ms, 16 bits).
static tmsize_t pg_tiff_read_chunk(TIFF *tif, unsigned char *chunk, tmsize_t chunk_size, uint32_t left, uint32_t top,
                                   uint16_t plane) {
    memset(chunk, 0, (size_t)chunk_size);
    return TIFFIsTiled(tif) ? TIFFReadTile(tif, chunk, left, top, 0, plane)
                            : TIFFReadEncodedStrip(tif, TIFFComputeStrip(tif, top, plane), chunk, chunk_size);
}

/// A plain RGB page (`pg_tiff_is_plain_rgb`) or CMYK page (`pg_tiff_is_plain_cmyk`) read
/// as stored, a strip or tile at a time, into rows of four samples a pixel (R,G,B,A or
/// C,M,Y,K): bytes (`out16` 0; 16-bit samples rounded to 8) or the machine's 16-bit words
/// (`out16` 1). RGB without an alpha sample gets an opaque fourth. Returns -1 when the
/// chunks are not laid out as the tags say, else 0, or 1 with `message` set.
static int pg_tiff_read_samples_as_stored(pg_tiff *tiff, struct pg_tiff_layout layout, uint16_t samples, void *pixels,
                                          int out16, char *message) {
    TIFF *tif = tiff->tif;
    uint32_t width = layout.width, height = layout.height;
    const int wide = layout.bits == 16, separate = layout.planar == PLANARCONFIG_SEPARATE;
    // Samples a pixel has in one chunk, and the planes the chunks come in.
    const size_t per_pixel = separate ? 1 : samples;
    const uint16_t planes = separate ? samples : 1;
    const size_t sample_bytes = wide ? 2 : 1;
    // Whole strips, not scanlines: libtiff inflates a whole strip with libdeflate, a
    // scanline at a time with zlib (a 6 MP 16-bit deflate TIFF: 448 ms against 221).
    uint32_t chunk_width = width, chunk_height = 1;
    tmsize_t chunk_size;
    if (TIFFIsTiled(tif)) {
        if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &chunk_width) || !TIFFGetField(tif, TIFFTAG_TILELENGTH, &chunk_height) ||
            chunk_width == 0 || chunk_height == 0)
            return -1;
        chunk_size = TIFFTileSize(tif);
    } else {
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &chunk_height);
        if (chunk_height == 0 || chunk_height > height) chunk_height = height;
        chunk_size = TIFFStripSize(tif);
    }
    if (chunk_size != (tmsize_t)((size_t)chunk_width * chunk_height * per_pixel * sample_bytes)) return -1;
    // The tile size is the header's word, not the image's: a 16×16 image declaring a
    // 16384² tile made this allocate (and fill) 2 GB for a 183-byte file. A tile may
    // outgrow a small image, but not by more than this; libtiff's RGBA interface then
    // refuses the file ("Likely invalid tile byte count").
    size_t image_pixels = (size_t)width * height, chunk_pixels = (size_t)chunk_width * chunk_height;
    if (chunk_pixels > (image_pixels * 4 > ((size_t)1 << 20) ? image_pixels * 4 : ((size_t)1 << 20))) return -1;
    // Contiguous 8-bit strips of four samples are the rows themselves: each strip decoded
    // straight into its rows, whole (a scanline at a time, libtiff inflates with zlib
    // instead of libdeflate, ~2× slower).
    if (!TIFFIsTiled(tif) && !separate && !wide && !out16 && samples == 4) {
        for (uint32_t top = 0; top < height; top += chunk_height) {
            uint32_t rows = height - top < chunk_height ? height - top : chunk_height;
            tmsize_t wanted = (tmsize_t)((size_t)rows * width * 4);
            unsigned char *strip = (unsigned char *)pixels + (size_t)top * width * 4;
            memset(strip, 0, (size_t)wanted);  // see `pg_tiff_read_chunk`
            tmsize_t read = TIFFReadEncodedStrip(tif, TIFFComputeStrip(tif, top, 0), strip, wanted);
            if (read < wanted) {
                pg_tiff_message(tiff, message, "the TIFF data does not decode completely");
                return 1;
            }
        }
        return 0;
    }
    unsigned char *bytes = pixels;
    uint16_t *words = pixels;
    if (samples == 3) {
        for (size_t i = 0; i < image_pixels; i++) {
            if (out16) words[i * 4 + 3] = 65535;
            else bytes[i * 4 + 3] = 255;
        }
    }
    unsigned char *chunk = malloc((size_t)chunk_size);
    if (!chunk) {
        snprintf(message, 256, "out of memory");
        return 1;
    }
    for (uint16_t plane = 0; plane < planes; plane++) {
        for (uint32_t top = 0; top < height; top += chunk_height) {
            for (uint32_t left = 0; left < width; left += chunk_width) {
                tmsize_t read = pg_tiff_read_chunk(tif, chunk, chunk_size, left, top, plane);
                // A last strip holds only the rows left; any other must be whole.
                uint32_t rows = height - top < chunk_height ? height - top : chunk_height;
                if (read < 0 || (!TIFFIsTiled(tif) && (size_t)read < (size_t)rows * chunk_width * per_pixel * sample_bytes)) {
                    free(chunk);
                    pg_tiff_message(tiff, message, "the TIFF data does not decode completely");
                    return 1;
                }
                // A tile reaching past the image's right or bottom edge is cut there.
                uint32_t columns = width - left < chunk_width ? width - left : chunk_width;
                for (uint32_t r = 0; r < rows; r++) {
                    size_t out = ((size_t)(top + r) * width + left) * 4;
                    size_t first = (size_t)r * chunk_width * per_pixel;
                    for (uint32_t c = 0; c < columns; c++) {
                        // The samples of this pixel in this chunk: one plane's, or all.
                        size_t from = first + (size_t)c * per_pixel, to = out + (size_t)c * 4 + (separate ? plane : 0);
                        for (size_t s = 0; s < per_pixel; s++) {
                            if (out16) {
                                memcpy(&words[to + s], chunk + (from + s) * 2, 2);
                            } else {
                                bytes[to + s] = pg_tiff_sample8(chunk, from + s, wide);
                            }
                        }
                    }
                }
            }
        }
    }
    free(chunk);
    return 0;
}

/// Whether the page is CMYK inks (ink set CMYK), four samples and no extra one, 8 or 16
/// unsigned bits, contiguous or planar, in strips or tiles.
static int pg_tiff_is_plain_cmyk(TIFF *tif, struct pg_tiff_layout layout) {
    uint16_t inkset = INKSET_CMYK, extra_count = 0;
    uint16_t *extra = NULL;
    TIFFGetFieldDefaulted(tif, TIFFTAG_INKSET, &inkset);
    return layout.photometric == PHOTOMETRIC_SEPARATED && inkset == INKSET_CMYK && layout.samples == 4 &&
           (layout.bits == 8 || layout.bits == 16) && layout.format == SAMPLEFORMAT_UINT &&
           (layout.planar == PLANARCONFIG_CONTIG || layout.planar == PLANARCONFIG_SEPARATE) &&
           !(TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra) && extra_count > 0);
}

/// A plain CMYK page without a profile, made RGB with the formula libtiff's RGBA interface
/// uses for 8-bit inks (r = (255 − k)(255 − c) / 255, truncated), the same bytes: that
/// interface has no 16-bit CMYK at all (such a file was refused as corrupt), nor does it
/// read every tiled or planar layout. Returns -1 when the file is not that.
static int pg_tiff_read_cmyk_naively(pg_tiff *tiff, unsigned char *pixels, char *message) {
    int status = pg_tiff_read_cmyk(tiff, pixels, message);
    if (status != 0) return status;
    uint32_t width = 0, height = 0;
    pg_tiff_size(tiff, &width, &height);
    size_t count = (size_t)width * height;
    for (size_t i = 0; i < count; i++) {
        unsigned char *p = pixels + i * 4;
        unsigned k = 255u - p[3];
        for (int c = 0; c < 3; c++) p[c] = (unsigned char)(k * (255u - p[c]) / 255u);
        p[3] = 255;
    }
    return 0;
}

/// RGB with one unassociated alpha sample, 8 or 16 bits, in strips or tiles, contiguous or
/// planar, read as stored into R,G,B,A rows. libtiff's RGBA interface multiplies such
/// colours by alpha in 8 bits, and dividing them back kept only alpha/255 of their
/// precision: a pixel of alpha 1 came back up to 127 levels off. Returns -1 when the file
/// is not that, else 0, or 1 with `message` set.
static int pg_tiff_read_straight_rgba(pg_tiff *tiff, unsigned char *pixels, char *message) {
    struct pg_tiff_layout layout = pg_tiff_layout_of(tiff->tif);
    uint16_t samples = 0;
    if (!pg_tiff_is_plain_rgb(tiff->tif, layout, &samples) || samples != 4) return -1;
    return pg_tiff_read_samples_as_stored(tiff, layout, samples, pixels, 0, message);
}

int pg_tiff_is_rgb16(pg_tiff *tiff) {
    struct pg_tiff_layout layout = pg_tiff_layout_of(tiff->tif);
    uint16_t samples = 0;
    return pg_tiff_is_plain_rgb(tiff->tif, layout, &samples) && layout.bits == 16;
}

int pg_tiff_read_rgb16(pg_tiff *tiff, uint16_t *pixels, int *has_alpha, char *message) {
    tiff->error[0] = 0;
    struct pg_tiff_layout layout = pg_tiff_layout_of(tiff->tif);
    uint16_t samples = 0;
    if (!pg_tiff_is_plain_rgb(tiff->tif, layout, &samples) || layout.bits != 16) return -1;
    *has_alpha = samples == 4;
    return pg_tiff_read_samples_as_stored(tiff, layout, samples, pixels, 1, message);
}

/// Reads every scanline of the page into a buffer of `line` bytes and hands it to
/// `convert` with the output row it fills (width × 4 bytes R,G,B,A). Returns 0, or 1 with
/// `message` set.
typedef void (*pg_tiff_row_converter)(const unsigned char *row, unsigned char *out, uint32_t width, const void *context);

static int pg_tiff_convert_scanlines(pg_tiff *tiff, size_t line, unsigned char *pixels, pg_tiff_row_converter convert,
                                     const void *context, char *message) {
    uint32_t width = 0, height = 0;
    pg_tiff_size(tiff, &width, &height);
    unsigned char *row = malloc(line ? line : 1);
    if (!row) {
        snprintf(message, 256, "out of memory");
        return 1;
    }
    for (uint32_t y = 0; y < height; y++) {
        if (TIFFReadScanline(tiff->tif, row, y, 0) < 0) {
            free(row);
            pg_tiff_message(tiff, message, "the TIFF data does not decode completely");
            return 1;
        }
        convert(row, pixels + (size_t)y * width * 4, width, context);
    }
    free(row);
    return 0;
}

struct pg_tiff_grey16 { int associated, white; };

static void pg_tiff_grey16_row(const unsigned char *bytes, unsigned char *out, uint32_t width, const void *context) {
    const struct pg_tiff_grey16 *kind = context;
    const uint16_t *row = (const uint16_t *)bytes;
    for (uint32_t x = 0; x < width; x++) {
        uint32_t grey = row[x * 2], alpha = row[x * 2 + 1];
        if (kind->associated) grey = alpha == 0 ? 0 : (grey * 65535u + alpha / 2) / alpha;
        if (grey > 65535) grey = 65535;
        if (kind->white) grey = 65535 - grey;
        out[x * 4] = out[x * 4 + 1] = out[x * 4 + 2] = (unsigned char)(grey >> 8);
        out[x * 4 + 3] = (unsigned char)(alpha >> 8);
    }
}

/// 16-bit grey with an alpha sample, in strips: libtiff's RGBA interface reads 16-bit grey
/// (put16bitbwtile) without its alpha, so such a file came out opaque. Each sample's high
/// byte, as that interface reads 16-bit grey; associated alpha divided out at 16 bits.
/// Returns -1 when the file is not that.
static int pg_tiff_read_grey16_alpha(pg_tiff *tiff, unsigned char *pixels, char *message) {
    struct pg_tiff_layout layout = pg_tiff_layout_of(tiff->tif);
    uint32_t width = layout.width;
    uint16_t extra_count = 0;
    uint16_t *extra = NULL;
    int white = layout.photometric == PHOTOMETRIC_MINISWHITE;
    if (TIFFIsTiled(tiff->tif) || !(white || layout.photometric == PHOTOMETRIC_MINISBLACK) || layout.bits != 16 ||
        layout.samples != 2 || layout.format != SAMPLEFORMAT_UINT || layout.planar != PLANARCONFIG_CONTIG ||
        !TIFFGetField(tiff->tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra) || extra_count != 1 || !extra ||
        (extra[0] != EXTRASAMPLE_UNASSALPHA && extra[0] != EXTRASAMPLE_ASSOCALPHA) ||
        TIFFScanlineSize(tiff->tif) != (tmsize_t)width * 4)
        return -1;
    struct pg_tiff_grey16 kind = { extra[0] == EXTRASAMPLE_ASSOCALPHA, white };
    return pg_tiff_convert_scanlines(tiff, (size_t)width * 4, pixels, pg_tiff_grey16_row, &kind, message);
}

int pg_tiff_read_rgba(pg_tiff *tiff, unsigned char *pixels, int *has_alpha, char *message) {
    tiff->error[0] = 0;  /* an error libtiff recovered from while opening is not this one */
    int straight = pg_tiff_read_straight_rgba(tiff, pixels, message);
    if (straight >= 0) {
        *has_alpha = 1;
        return straight;
    }
    int grey16 = pg_tiff_read_grey16_alpha(tiff, pixels, message);
    if (grey16 >= 0) {
        *has_alpha = 1;
        return grey16;
    }
    int cmyk = pg_tiff_read_cmyk_naively(tiff, pixels, message);
    if (cmyk >= 0) {
        *has_alpha = 0;
        return cmyk;
    }
    TIFFRGBAImage image;
    char reason[1024] = {0};
    if (!TIFFRGBAImageOK(tiff->tif, reason) || !TIFFRGBAImageBegin(&image, tiff->tif, 1, reason)) {
        snprintf(message, 256, "%s", reason);
        return 1;
    }
    // Rows as stored: the caller applies the Orientation tag, as for every format.
    image.req_orientation = image.orientation;
    uint32_t width = image.width, height = image.height;
    int ok = TIFFRGBAImageGet(&image, (uint32_t *)pixels, width, height);
    *has_alpha = image.alpha != 0;
    // libtiff hands back RGB colours multiplied by alpha whichever alpha the file has (it
    // multiplies unassociated alpha itself), but grey with alpha as stored: multiplied
    // only when the file's alpha is associated.
    int grey = image.photometric == PHOTOMETRIC_MINISBLACK || image.photometric == PHOTOMETRIC_MINISWHITE;
    int premultiplied = image.alpha == EXTRASAMPLE_ASSOCALPHA || (image.alpha == EXTRASAMPLE_UNASSALPHA && !grey);
    TIFFRGBAImageEnd(&image);
    if (!ok) {
        pg_tiff_message(tiff, message, "the TIFF data does not decode completely");
        return 1;
    }
    // With the requested orientation equal to the file's, TIFFRGBAImageGet flips
    // nothing: raster row 0 is the first row stored.
    if (premultiplied) {
        size_t count = (size_t)width * height;
        for (size_t i = 0; i < count; i++) {
            unsigned char *p = pixels + i * 4;
            unsigned a = p[3];
            if (a == 255) continue;
            if (a == 0) { p[0] = p[1] = p[2] = 0; continue; }
            for (int c = 0; c < 3; c++) {
                unsigned v = (p[c] * 255u + a / 2) / a;
                p[c] = v > 255 ? 255 : (unsigned char)v;
            }
        }
    }
    return 0;
}

struct pg_tiff_wide { uint16_t samples; int is_float; };

static void pg_tiff_wide_row(const unsigned char *row, unsigned char *out, uint32_t width, const void *context) {
    const struct pg_tiff_wide *kind = context;
    for (uint32_t x = 0; x < width; x++) {
        for (uint16_t s = 0; s < 3; s++) {
            size_t at = ((size_t)x * kind->samples + (kind->samples == 3 ? s : 0)) * 4;
            double v;
            if (kind->is_float) {
                float f;
                memcpy(&f, row + at, 4);
                v = f != f ? 0 : f;  // NaN → 0
            } else {
                uint32_t u;
                memcpy(&u, row + at, 4);
                v = u / 4294967295.0;
            }
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            out[x * 4 + s] = (unsigned char)(v * 255 + 0.5);
        }
        out[x * 4 + 3] = 255;
    }
}

int pg_tiff_read_wide_samples(pg_tiff *tiff, unsigned char *pixels, char *message) {
    tiff->error[0] = 0;
    struct pg_tiff_layout layout = pg_tiff_layout_of(tiff->tif);
    uint16_t bits = layout.bits, format = layout.format, samples = layout.samples, planar = layout.planar;
    uint32_t width = layout.width;
    int is_float = format == SAMPLEFORMAT_IEEEFP;
    if (bits != 32 || !(is_float || format == SAMPLEFORMAT_UINT) || (samples != 1 && samples != 3) ||
        planar != PLANARCONFIG_CONTIG) {
        snprintf(message, 256, "unsupported TIFF sample layout: %u-bit, format %u, %u samples", bits, format, samples);
        return 2;
    }
    tmsize_t line = TIFFScanlineSize(tiff->tif);
    if (line < (tmsize_t)width * samples * 4) {
        snprintf(message, 256, "implausible TIFF scanline size");
        return 1;
    }
    struct pg_tiff_wide kind = { samples, is_float };
    return pg_tiff_convert_scanlines(tiff, (size_t)line, pixels, pg_tiff_wide_row, &kind, message);
}

int pg_tiff_read_cmyk(pg_tiff *tiff, unsigned char *pixels, char *message) {
    tiff->error[0] = 0;
    struct pg_tiff_layout layout = pg_tiff_layout_of(tiff->tif);
    if (!pg_tiff_is_plain_cmyk(tiff->tif, layout)) return -1;
    return pg_tiff_read_samples_as_stored(tiff, layout, 4, pixels, 0, message);
}

/// Whether the current directory, up to its pointer to the next, lies inside the file:
/// libtiff reads a pointer cut short as the end of the chain.
static int pg_tiff_directory_fits(pg_tiff *tiff) {
    TIFF *tif = tiff->tif;
    uint64_t offset = TIFFCurrentDirOffset(tif);
    int big = TIFFIsBigTIFF(tif), big_endian = TIFFIsBigEndian(tif);
    uint64_t count_size = big ? 8 : 2, entry_size = big ? 20 : 12, pointer_size = big ? 8 : 4;
    if (offset > tiff->size || tiff->size - offset < count_size) return 0;
    uint64_t count = 0;
    for (uint64_t i = 0; i < count_size; i++) {
        uint64_t byte = tiff->data[offset + (big_endian ? count_size - 1 - i : i)];
        count |= byte << (8 * i);
    }
    if (count > (tiff->size - offset - count_size) / entry_size) return 0;
    return tiff->size - offset - count_size - count * entry_size >= pointer_size;
}

int pg_tiff_check_later_pages(pg_tiff *tiff, uint32_t max_pages, uint32_t *pages, char *message) {
    TIFF *tif = tiff->tif;
    uint32_t count = 1;
    if (!pg_tiff_directory_fits(tiff)) {
        snprintf(message, 256, "the tiff's first directory is cut short");
        return 1;
    }
    // Every strip or tile has an offset and a byte count in the file, two bytes each at
    // the least, so more than this many are pages naming the same ones (a few kilobytes
    // could otherwise make every one of 10,000 pages name a million strips).
    uint64_t striles_left = tiff->size / 4;
    while (!TIFFLastDirectory(tif)) {
        if (count == max_pages) {
            *pages = count;
            return 2;
        }
        if (!TIFFReadDirectory(tif)) {
            char detail[256];
            pg_tiff_message(tiff, detail, "cannot be read");
            snprintf(message, 256, "page %u of the tiff: %s", count + 1, detail);
            return 1;
        }
        count += 1;
        if (!pg_tiff_directory_fits(tiff)) {
            snprintf(message, 256, "page %u of the tiff is cut short in its directory", count);
            return 1;
        }
        uint32_t striles = TIFFIsTiled(tif) ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
        if (striles == 0) {
            snprintf(message, 256, "page %u of the tiff has no image data", count);
            return 1;
        }
        if (striles > striles_left) {
            snprintf(message, 256, "page %u of the tiff names more strips than the file holds", count);
            return 1;
        }
        striles_left -= striles;
        for (uint32_t strile = 0; strile < striles; strile++) {
            int failed = 0;
            uint64_t offset = TIFFGetStrileOffsetWithErr(tif, strile, &failed);
            uint64_t length = failed ? 0 : TIFFGetStrileByteCountWithErr(tif, strile, &failed);
            if (failed || offset > tiff->size || length > tiff->size - offset) {
                snprintf(message, 256, "page %u of the tiff is cut short: its data runs past the end of the file",
                         count);
                return 1;
            }
        }
    }
    *pages = count;
    return 0;
}

void pg_tiff_close(pg_tiff *tiff) {
    if (!tiff) return;
    TIFFClose(tiff->tif);
    free(tiff);
}
