#include "progimage_png.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

struct pg_png {
    png_structp png;
    png_infop info;
    const unsigned char *data;
    size_t size;
    size_t position;
    uint32_t width, height;
    /// 7 for an interlaced file, else 1: libpng's passes over the rows.
    int passes;
    /// 1, or 2 when 16-bit samples were asked for and the file has them.
    int sample_bytes;
    /// libpng's error, kept by the handler below before it jumps back.
    char error[200];
};

static void pg_png_error(png_structp png, png_const_charp text) {
    struct pg_png *state = png_get_error_ptr(png);
    snprintf(state->error, sizeof state->error, "%s", text);
    png_longjmp(png, 1);
}

/// Warnings (a bad CRC in an ancillary chunk, an unknown chunk) change no pixel; libpng
/// would print them to stderr.
static void pg_png_warning(png_structp png, png_const_charp text) {
    (void)png; (void)text;
}

static void pg_png_read_data(png_structp png, png_bytep out, png_size_t count) {
    struct pg_png *state = png_get_io_ptr(png);
    if (count > state->size - state->position) png_error(png, "the PNG data ends early");
    memcpy(out, state->data + state->position, count);
    state->position += count;
}

pg_png *pg_png_open(const unsigned char *data, size_t size, int keep_16, char *message) {
    struct pg_png *state = calloc(1, sizeof *state);
    if (!state) {
        snprintf(message, 200, "out of memory");
        return NULL;
    }
    state->data = data;
    state->size = size;
    state->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, state, pg_png_error, pg_png_warning);
    if (state->png) state->info = png_create_info_struct(state->png);
    if (!state->png || !state->info) {
        png_destroy_read_struct(state->png ? &state->png : NULL, NULL, NULL);
        free(state);
        snprintf(message, 200, "out of memory");
        return NULL;
    }
    if (setjmp(png_jmpbuf(state->png))) {
        snprintf(message, 200, "%s", state->error[0] ? state->error : "the PNG header is damaged");
        pg_png_close(state);
        return NULL;
    }
    png_set_read_fn(state->png, state, pg_png_read_data);
    png_read_info(state->png, state->info);
    int depth = png_get_bit_depth(state->png, state->info);
    int type = png_get_color_type(state->png, state->info);
    state->sample_bytes = depth == 16 && keep_16 ? 2 : 1;
    if (state->sample_bytes == 1 && depth == 16) png_set_strip_16(state->png);
    // PNG stores 16-bit samples big-endian; the caller reads them in the machine's order.
    const uint16_t probe = 1;
    if (state->sample_bytes == 2 && *(const unsigned char *)&probe == 1) png_set_swap(state->png);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(state->png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(state->png);
    if (png_get_valid(state->png, state->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(state->png);
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(state->png);
    png_set_filler(state->png, state->sample_bytes == 2 ? 0xFFFF : 0xFF, PNG_FILLER_AFTER);
    state->passes = png_set_interlace_handling(state->png);
    png_read_update_info(state->png, state->info);
    if (png_get_rowbytes(state->png, state->info) !=
        (size_t)png_get_image_width(state->png, state->info) * 4 * state->sample_bytes)
        png_error(state->png, "libpng does not give four samples a pixel for this file");
    state->width = png_get_image_width(state->png, state->info);
    state->height = png_get_image_height(state->png, state->info);
    return state;
}

void pg_png_size(const pg_png *png, uint32_t *width, uint32_t *height) {
    *width = png->width;
    *height = png->height;
}

int pg_png_sample_bytes(const pg_png *png) { return png->sample_bytes; }

static uint32_t pg_png_be32(const unsigned char *bytes) {
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

/// The bytes of image data (IDAT payload) after the point libpng has read to, in the run of
/// IDAT chunks it is reading: what `png_read_end` would inflate. Later IDATs, after another
/// chunk, it only checks.
static size_t pg_png_unread_image_data(const struct pg_png *png) {
    size_t at = 8, unread = 0;
    int seen_data = 0;
    while (at + 12 <= png->size) {
        size_t length = pg_png_be32(png->data + at);
        if (length > png->size - at - 12) length = png->size - at - 12;
        size_t body = at + 8, end = body + length;
        if (memcmp(png->data + at + 4, "IDAT", 4) == 0) {
            seen_data = 1;
            if (end > png->position) unread += end - (body > png->position ? body : png->position);
        } else if (seen_data) {
            break;
        }
        at = end + 4;
    }
    return unread;
}

int pg_png_read_rgba_rows(pg_png *png, unsigned char *const *rows, char *message) {
    /* The caller's rows, which outlive a longjmp out of libpng: nothing to free here. */
    if (setjmp(png_jmpbuf(png->png))) {
        snprintf(message, 200, "%s", png->error[0] ? png->error : "the PNG data is damaged");
        return 1;
    }
    /* png_read_image's loop, with a look before the last row: finishing it, libpng inflates
       whatever image data follows, to no purpose but a warning; a 1x1 file whose data ran on
       to 1 GiB of zeros (1 MB deflated) took seconds at every upload and render, and a 50 MB
       one would take minutes (a black-box tester). Before the last row, what is left is that
       row (any encoding of it: at most 9 bits a byte, as fixed Huffman codes) and the
       stream's end; more than 64 KB beyond that is refused. */
    for (int pass = 0; pass < png->passes; pass++) {
        for (uint32_t y = 0; y < png->height; y++) {
            if (pass == png->passes - 1 && y == png->height - 1) {
                size_t unread = pg_png_unread_image_data(png);
                size_t row = (size_t)png->width * 8 + 1;
                if (unread > row + row / 8 + 65536) {
                    snprintf(message, 200, "the image data runs on past the image (%zu bytes for its last row)", unread);
                    return 1;
                }
            }
            png_read_row(png->png, rows[y], NULL);
        }
    }
    /* The chunks after the image, up to IEND, as libgd's reader reads them: a file it
       refuses is not read here either. */
    png_read_end(png->png, NULL);
    return 0;
}

void pg_png_close(pg_png *png) {
    if (!png) return;
    png_destroy_read_struct(&png->png, &png->info, NULL);
    free(png);
}
