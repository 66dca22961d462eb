#include "progimage_jpeg.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libgd pixels are read as little-endian B,G,R,alpha bytes"
#endif

struct pg_jpeg_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    /// The first warning that means image data was lost, or 0.
    int damaging_warning;
    char damaging_message[JMSG_LENGTH_MAX];
    /// Set by the progress monitor when the file has more scans than `PG_JPEG_MAX_SCANS`.
    int too_many_scans;
};

/// A progressive JPEG's scans each pass over the whole image, and libjpeg accepts a scan
/// that refines what an earlier one already did (JWRN_BOGUS_PROGRESSION): a 4096² grey
/// file repeating one 56-byte scan 8,000 times (514 KB) took 91 CPU-seconds to upload and
/// as long again for every derived URL (a black-box tester's). Encoders write about ten
/// (jpegtran's default progression 10, mozjpeg's a dozen); libjpeg-turbo's documentation
/// suggests refusing past a few hundred. 100: ~1 s of such a file at most.
#define PG_JPEG_MAX_SCANS 100

static void pg_jpeg_count_scans(j_common_ptr common) {
    if (common->is_decompressor && ((j_decompress_ptr)common)->input_scan_number > PG_JPEG_MAX_SCANS) {
        ((struct pg_jpeg_error *)common->err)->too_many_scans = 1;
        common->err->error_exit(common);
    }
}

struct pg_jpeg_decoder {
    struct jpeg_decompress_struct info;
    struct pg_jpeg_error error;
    struct jpeg_progress_mgr progress;
    unsigned char *icc;
    unsigned int icc_length;
    JSAMPROW *rows;
    /// pg_jpeg_read_region's one decoded row (and pg_jpeg_read_rows_between's row for the
    /// rows it drops), freed here should libjpeg jump out mid-read.
    unsigned char *region_row;
    /// A decode entered at a restart (`pg_jpeg_open_at_row`): the headers, their height
    /// patched, then the file from that interval on; NULL for a whole file.
    struct pg_jpeg_chunks *chunks;
};

/// libjpeg's source for a decode entered at a restart: two pieces of memory in turn, the
/// headers (copied, their height patched) and the file's own bytes from the interval on.
struct pg_jpeg_chunks {
    struct jpeg_source_mgr base;
    unsigned char *header;
    size_t header_length;
    const unsigned char *scan;
    size_t scan_length;
    int next;
};

/// The rule for libjpeg's warnings, one line a code. libjpeg recovers from each of them
/// deterministically (lost entropy-coded data decodes as flat grey blocks), so none can
/// show uninitialised memory; the question is whether the image is still what its author
/// stored. Where data was lost it is not, exactly as a truncated file is not.
static int pg_jpeg_warning_damages(int code) {
    switch (code) {
    case JWRN_JPEG_EOF:          /* the data ran out: the rest is filled with grey */
    case JWRN_HIT_MARKER:        /* a scan ended early: its remaining blocks are lost */
    case JWRN_HUFF_BAD_CODE:     /* entropy data undecodable: blocks lost until the next restart */
    case JWRN_ARITH_BAD_CODE:    /* the same, arithmetic coding */
    case JWRN_MUST_RESYNC:       /* restart markers out of step: rows skipped or repeated */
    case JWRN_TOO_MUCH_DATA:     /* our own bug if ever seen; refuse rather than guess */
        return 1;
    case JWRN_EXTRANEOUS_DATA:   /* bytes between markers (common in camera files): skipped, nothing lost */
    case JWRN_NOT_SEQUENTIAL:    /* odd SOS parameters in a baseline file: decoded as written */
    case JWRN_BOGUS_PROGRESSION: /* a progressive scan refines coefficients out of order: all decoded */
    case JWRN_ADOBE_XFORM:       /* unknown Adobe transform code: the JFIF/colour-count rule decides */
    case JWRN_JFIF_MAJOR:        /* a future JFIF revision: the data is still baseline/progressive */
    case JWRN_BOGUS_ICC:         /* a malformed ICC marker: the profile is ignored, pixels intact */
    default:                     /* anything newer is informational in libjpeg-turbo 2.1 */
        return 0;
    }
}

static void pg_jpeg_error_exit(j_common_ptr common) {
    struct pg_jpeg_error *error = (struct pg_jpeg_error *)common->err;
    longjmp(error->jump, 1);
}

/// Warnings (level -1) are classified, never printed; trace messages are dropped.
static void pg_jpeg_emit_message(j_common_ptr common, int level) {
    struct pg_jpeg_error *error = (struct pg_jpeg_error *)common->err;
    if (level >= 0) return;
    error->base.num_warnings++;
    if (error->damaging_warning == 0 && pg_jpeg_warning_damages(error->base.msg_code)) {
        error->damaging_warning = error->base.msg_code;
        error->base.format_message(common, error->damaging_message);
    }
}

static pg_jpeg_status pg_jpeg_failure(struct pg_jpeg_decoder *decoder, char *message) {
    if (decoder->error.too_many_scans) {
        snprintf(message, JMSG_LENGTH_MAX, "the image has more than %d scans", PG_JPEG_MAX_SCANS);
        return PG_JPEG_CORRUPT;
    }
    decoder->error.base.format_message((j_common_ptr)&decoder->info, message);
    switch (decoder->error.base.msg_code) {
    case JERR_OUT_OF_MEMORY:
        return PG_JPEG_OUT_OF_MEMORY;
    case JERR_BAD_PRECISION:
    case JERR_ARITH_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_CONVERSION_NOTIMPL:
        return PG_JPEG_UNSUPPORTED;
    default:
        return PG_JPEG_CORRUPT;
    }
}

static void pg_jpeg_chunks_free(struct pg_jpeg_chunks *chunks) {
    if (chunks) free(chunks->header);
    free(chunks);
}

static void pg_jpeg_chunks_init(j_decompress_ptr info) { (void)info; }
static void pg_jpeg_chunks_term(j_decompress_ptr info) { (void)info; }

static boolean pg_jpeg_chunks_fill(j_decompress_ptr info) {
    struct pg_jpeg_chunks *chunks = (struct pg_jpeg_chunks *)info->src;
    static const JOCTET end_of_image[2] = {0xFF, JPEG_EOI};
    // libjpeg reads on from a fill without checking that it brought a byte.
    if (chunks->next == 0 && chunks->header_length == 0) chunks->next = 1;
    if (chunks->next == 1 && chunks->scan_length == 0) chunks->next = 2;
    if (chunks->next == 0) {
        chunks->base.next_input_byte = chunks->header;
        chunks->base.bytes_in_buffer = chunks->header_length;
    } else if (chunks->next == 1) {
        chunks->base.next_input_byte = chunks->scan;
        chunks->base.bytes_in_buffer = chunks->scan_length;
    } else {
        // As jpeg_mem_src at the end of its memory: a premature end, and a fake EOI.
        WARNMS(info, JWRN_JPEG_EOF);
        chunks->base.next_input_byte = end_of_image;
        chunks->base.bytes_in_buffer = 2;
    }
    chunks->next++;
    return TRUE;
}

static void pg_jpeg_chunks_skip(j_decompress_ptr info, long count) {
    struct pg_jpeg_chunks *chunks = (struct pg_jpeg_chunks *)info->src;
    if (count <= 0) return;
    while ((size_t)count > chunks->base.bytes_in_buffer) {
        count -= (long)chunks->base.bytes_in_buffer;
        pg_jpeg_chunks_fill(info);
    }
    chunks->base.next_input_byte += count;
    chunks->base.bytes_in_buffer -= (size_t)count;
}

/// Reads the header from the source already set (or `data` when none is) and prepares
/// the output as every decode here has it.
static pg_jpeg_decoder *pg_jpeg_open_decoder(const unsigned char *data, size_t size, struct pg_jpeg_chunks *chunks,
                                             int scale_denominator, pg_jpeg_info *info, pg_jpeg_status *status,
                                             char *message) {
    // libjpeg also scales by M/8 and up; the callers' size arithmetic assumes 1/1 to 1/8.
    if (scale_denominator != 1 && scale_denominator != 2 && scale_denominator != 4 && scale_denominator != 8) {
        *status = PG_JPEG_UNSUPPORTED;
        snprintf(message, JMSG_LENGTH_MAX, "scale 1/%d is not 1/1, 1/2, 1/4 or 1/8", scale_denominator);
        pg_jpeg_chunks_free(chunks);
        return NULL;
    }
    struct pg_jpeg_decoder *decoder = calloc(1, sizeof *decoder);
    if (!decoder) {
        *status = PG_JPEG_OUT_OF_MEMORY;
        snprintf(message, JMSG_LENGTH_MAX, "out of memory");
        pg_jpeg_chunks_free(chunks);
        return NULL;
    }
    decoder->chunks = chunks;
    decoder->info.err = jpeg_std_error(&decoder->error.base);
    decoder->error.base.error_exit = pg_jpeg_error_exit;
    decoder->error.base.emit_message = pg_jpeg_emit_message;
    if (setjmp(decoder->error.jump)) {
        *status = pg_jpeg_failure(decoder, message);
        pg_jpeg_close(decoder);
        return NULL;
    }
    jpeg_create_decompress(&decoder->info);
    decoder->progress.progress_monitor = pg_jpeg_count_scans;
    decoder->info.progress = &decoder->progress;
    if (chunks) {
        chunks->base.init_source = pg_jpeg_chunks_init;
        chunks->base.fill_input_buffer = pg_jpeg_chunks_fill;
        chunks->base.skip_input_data = pg_jpeg_chunks_skip;
        chunks->base.resync_to_restart = jpeg_resync_to_restart;
        chunks->base.term_source = pg_jpeg_chunks_term;
        chunks->base.bytes_in_buffer = 0;
        chunks->base.next_input_byte = NULL;
        decoder->info.src = &chunks->base;
    } else {
        jpeg_mem_src(&decoder->info, data, (unsigned long)size);
    }
    jpeg_save_markers(&decoder->info, JPEG_APP0 + 2, 0xFFFF);
    jpeg_read_header(&decoder->info, TRUE);

    J_COLOR_SPACE stored = decoder->info.jpeg_color_space;
    int cmyk = stored == JCS_CMYK || stored == JCS_YCCK;
    decoder->info.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGRX;
    decoder->info.scale_num = 1;
    decoder->info.scale_denom = (unsigned int)scale_denominator;
    jpeg_calc_output_dimensions(&decoder->info);
    if (!jpeg_read_icc_profile(&decoder->info, &decoder->icc, &decoder->icc_length)) {
        decoder->icc = NULL;
        decoder->icc_length = 0;
    }

    info->image_width = (int)decoder->info.image_width;
    info->image_height = (int)decoder->info.image_height;
    info->output_width = (int)decoder->info.output_width;
    info->output_height = (int)decoder->info.output_height;
    info->cmyk = cmyk;
    *status = PG_JPEG_OK;
    return decoder;
}

pg_jpeg_decoder *pg_jpeg_open(const unsigned char *data, size_t size, int scale_denominator,
                              pg_jpeg_info *info, pg_jpeg_status *status, char *message) {
    return pg_jpeg_open_decoder(data, size, NULL, scale_denominator, info, status, message);
}

/// A sequential Huffman JPEG's one scan, as far as entering it at a restart needs.
struct pg_jpeg_scan_layout {
    size_t scan_start;  // the first byte of entropy-coded data
    size_t sof_height;  // where the SOF's height field is
    int mcu_height, mcus_per_row, mcu_rows, restart_interval;
};

/// Walks the markers up to the first SOS: 1 when the file is sequential Huffman (SOF0 or
/// SOF1) with one scan of every component and a restart interval, 0 otherwise. libjpeg
/// has decoded the whole file when it was stored; this only finds where things are.
static int pg_jpeg_scan_layout(const unsigned char *data, size_t size, struct pg_jpeg_scan_layout *layout) {
    memset(layout, 0, sizeof *layout);
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return 0;
    size_t at = 2;
    int width = 0, height = 0, components = 0, max_h = 1, max_v = 1, h0 = 1, v0 = 1;
    while (at + 4 <= size) {
        if (data[at] != 0xFF) return 0;
        if (data[at + 1] == 0xFF) {  // fill bytes before a marker
            at++;
            continue;
        }
        unsigned char marker = data[at + 1];
        // Markers without a length, as libjpeg reads them: TEM and RSTn are skipped; a
        // second SOI, an EOI or a byte that is no marker here ends the walk.
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
            at += 2;
            continue;
        }
        if (marker == 0x00 || marker == 0xD8 || marker == 0xD9) return 0;
        size_t length = ((size_t)data[at + 2] << 8) | data[at + 3];
        if (length < 2 || at + 2 + length > size) return 0;
        const unsigned char *segment = data + at + 4;
        if ((marker >= 0xC2 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)) return 0;
        if (marker == 0xC0 || marker == 0xC1) {
            if (length < 8 || segment[0] != 8) return 0;
            layout->sof_height = at + 5;
            height = (segment[1] << 8) | segment[2];
            width = (segment[3] << 8) | segment[4];
            components = segment[5];
            if (components < 1 || length < 8 + 3 * (size_t)components) return 0;
            for (int c = 0; c < components; c++) {
                int h = segment[7 + 3 * c] >> 4, v = segment[7 + 3 * c] & 15;
                if (h < 1 || v < 1) return 0;
                if (c == 0) h0 = h, v0 = v;
                if (h > max_h) max_h = h;
                if (v > max_v) max_v = v;
            }
        } else if (marker == 0xDD) {
            if (length != 4) return 0;
            layout->restart_interval = (segment[0] << 8) | segment[1];
        } else if (marker == 0xDA) {
            if (length < 3 || !layout->sof_height || segment[0] != components || width == 0 || height == 0) return 0;
            layout->scan_start = at + 2 + length;
            break;
        }
        at += 2 + length;
    }
    if (!layout->scan_start || layout->restart_interval == 0) return 0;
    if (components == 1) {
        // A lone component's scan is not interleaved: an MCU is one block.
        if (h0 != max_h || v0 != max_v) return 0;
        layout->mcu_height = 8;
        layout->mcus_per_row = (width + 7) / 8;
    } else {
        layout->mcu_height = 8 * max_v;
        layout->mcus_per_row = (width + 8 * max_h - 1) / (8 * max_h);
    }
    layout->mcu_rows = (height + layout->mcu_height - 1) / layout->mcu_height;
    return 1;
}

static int pg_jpeg_gcd(int a, int b) {
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/// Every how many MCU rows the scan can be entered: where a restart interval begins an MCU
/// row, and one whose number is a multiple of 8. libjpeg expects RST0 first and takes the
/// marker its own count expects before any resync, so entered at another one, a marker out
/// of step by exactly that offset would pass unnoticed where a whole decode refuses it (a
/// reviewer's find); at a multiple of 8 the numbers are the whole decode's.
static int pg_jpeg_entry_rows(const struct pg_jpeg_scan_layout *layout) {
    int interval8 = 8 * layout->restart_interval;
    return interval8 / pg_jpeg_gcd(interval8, layout->mcus_per_row);
}

int pg_jpeg_lower_part_start(const unsigned char *data, size_t size, int *mcu_height) {
    struct pg_jpeg_scan_layout layout;
    *mcu_height = 0;
    if (!pg_jpeg_scan_layout(data, size, &layout)) return 0;
    // The one nearest above the middle, with at least one row to keep below it.
    int every = pg_jpeg_entry_rows(&layout);
    int start = (layout.mcu_rows / 2 - 1) / every * every;
    if (start < 1 || start + 1 >= layout.mcu_rows) return 0;
    *mcu_height = layout.mcu_height;
    return start;
}

int pg_jpeg_restart_row_above(const unsigned char *data, size_t size, int row, int *mcu_height) {
    struct pg_jpeg_scan_layout layout;
    *mcu_height = 0;
    if (row <= 0 || !pg_jpeg_scan_layout(data, size, &layout)) return 0;
    int every = pg_jpeg_entry_rows(&layout);
    // The MCU row above the one holding `row`: the context chroma upsampling reads.
    int start = (row / layout.mcu_height - 1) / every * every;
    if (start < 1 || start >= layout.mcu_rows) return 0;
    *mcu_height = layout.mcu_height;
    return start;
}

pg_jpeg_decoder *pg_jpeg_open_at_row(const unsigned char *data, size_t size, int scale_denominator, int first_mcu_row,
                                     pg_jpeg_info *info, pg_jpeg_status *status, char *message) {
    struct pg_jpeg_scan_layout layout;
    *status = PG_JPEG_CORRUPT;
    if (!pg_jpeg_scan_layout(data, size, &layout) || first_mcu_row <= 0 || first_mcu_row >= layout.mcu_rows ||
        ((long)first_mcu_row * layout.mcus_per_row) % (8L * layout.restart_interval) != 0) {
        snprintf(message, JMSG_LENGTH_MAX, "no restart interval starts at MCU row %d", first_mcu_row);
        return NULL;
    }
    long interval = (long)first_mcu_row * layout.mcus_per_row / layout.restart_interval;
    // The interval starts after the scan's `interval`-th marker. In entropy-coded data 0xFF
    // is followed by 0x00 (stuffing), more 0xFF (fill) or a marker; each RSTn must be the
    // next in turn, or the file is out of step and only a whole decode can say how.
    const unsigned char *at = data + layout.scan_start, *end = data + size;
    long seen = 0;
    while (seen < interval) {
        at = memchr(at, 0xFF, (size_t)(end - at));
        while (at && at + 1 < end && at[1] == 0xFF) at++;
        if (!at || at + 1 >= end) break;
        unsigned char next = at[1];
        if (next == 0x00) {
            at += 2;
            continue;
        }
        if (next < 0xD0 || next > 0xD7 || next - 0xD0 != (int)(seen & 7)) break;
        seen++;
        at += 2;
    }
    if (seen < interval || at >= end) {
        snprintf(message, JMSG_LENGTH_MAX, "the scan's restart markers do not reach MCU row %d", first_mcu_row);
        return NULL;
    }
    struct pg_jpeg_chunks *chunks = calloc(1, sizeof *chunks);
    unsigned char *header = chunks ? malloc(layout.scan_start) : NULL;
    if (!header) {
        free(chunks);
        *status = PG_JPEG_OUT_OF_MEMORY;
        snprintf(message, JMSG_LENGTH_MAX, "out of memory");
        return NULL;
    }
    memcpy(header, data, layout.scan_start);
    int height = ((data[layout.sof_height] << 8) | data[layout.sof_height + 1]) - first_mcu_row * layout.mcu_height;
    header[layout.sof_height] = (unsigned char)(height >> 8);
    header[layout.sof_height + 1] = (unsigned char)(height & 0xFF);
    chunks->header = header;
    chunks->header_length = layout.scan_start;
    chunks->scan = at;
    chunks->scan_length = (size_t)(end - at);
    pg_jpeg_decoder *decoder = pg_jpeg_open_decoder(NULL, 0, chunks, scale_denominator, info, status, message);
    if (!decoder) return NULL;
    // libjpeg's own reading of the headers must be the walk's, or the entry could fall
    // mid-row (a header only a hostile file has could part them).
    struct jpeg_decompress_struct *parsed = &decoder->info;
    int lone = parsed->num_components == 1;
    int parsed_mcu_height = lone ? 8 : 8 * parsed->max_v_samp_factor;
    int parsed_mcus_per_row = lone ? (int)(parsed->image_width + 7) / 8
                                   : (int)(parsed->image_width + 8 * parsed->max_h_samp_factor - 1) /
                                         (8 * parsed->max_h_samp_factor);
    if (parsed->progressive_mode || parsed->arith_code || parsed->data_precision != 8 ||
        parsed->comps_in_scan != parsed->num_components || (int)parsed->restart_interval != layout.restart_interval ||
        parsed_mcu_height != layout.mcu_height || parsed_mcus_per_row != layout.mcus_per_row ||
        (int)parsed->image_height != height) {
        pg_jpeg_close(decoder);
        *status = PG_JPEG_CORRUPT;
        snprintf(message, JMSG_LENGTH_MAX, "libjpeg reads the headers otherwise");
        return NULL;
    }
    return decoder;
}

int pg_jpeg_prefer_grey(pg_jpeg_decoder *decoder) {
    J_COLOR_SPACE stored = decoder->info.jpeg_color_space;
    if (decoder->icc_length > 0 || (stored != JCS_YCbCr && stored != JCS_GRAYSCALE)) return 0;
    decoder->info.out_color_space = JCS_GRAYSCALE;
    jpeg_calc_output_dimensions(&decoder->info);
    return 1;
}

size_t pg_jpeg_icc_profile(pg_jpeg_decoder *decoder, const unsigned char **profile) {
    *profile = decoder->icc;
    return decoder->icc_length;
}

static pg_jpeg_status pg_jpeg_read_into(pg_jpeg_decoder *decoder, JSAMPROW *rows, int clear_fourth, int first,
                                        int end, pg_jpeg_rows_done progress, void *context, char *message);

pg_jpeg_status pg_jpeg_read(pg_jpeg_decoder *decoder, unsigned char *pixels, size_t stride, char *message) {
    JSAMPROW *rows = malloc(sizeof(JSAMPROW) * (size_t)(decoder->info.output_height ? decoder->info.output_height : 1));
    if (!rows) {
        snprintf(message, JMSG_LENGTH_MAX, "out of memory");
        return PG_JPEG_OUT_OF_MEMORY;
    }
    for (JDIMENSION y = 0; y < decoder->info.output_height; y++) rows[y] = pixels + (size_t)y * stride;
    decoder->rows = rows;
    return pg_jpeg_read_into(decoder, rows, 0, 0, -1, NULL, NULL, message);
}

pg_jpeg_status pg_jpeg_read_rows_between(pg_jpeg_decoder *decoder, unsigned char *const *rows, int first, int end,
                                         int clear_fourth, pg_jpeg_rows_done progress, void *context,
                                         char *message) {
    return pg_jpeg_read_into(decoder, (JSAMPROW *)rows, clear_fourth, first, end, progress, context, message);
}

static pg_jpeg_status pg_jpeg_read_into(pg_jpeg_decoder *decoder, JSAMPROW *rows, int clear_fourth, int first,
                                        int end, pg_jpeg_rows_done progress, void *context, char *message) {
    if (setjmp(decoder->error.jump)) return pg_jpeg_failure(decoder, message);
    jpeg_start_decompress(&decoder->info);
    const JDIMENSION height = end < 0 || (JDIMENSION)end > decoder->info.output_height ? decoder->info.output_height
                                                                                       : (JDIMENSION)end;
    if (first > 0) {
        // Rows decoded only as the context of the ones wanted (chroma upsampling reads the
        // row above): one scratch row takes them all.
        decoder->region_row = malloc((size_t)decoder->info.output_width * (size_t)decoder->info.output_components);
        if (!decoder->region_row) {
            snprintf(message, JMSG_LENGTH_MAX, "out of memory");
            return PG_JPEG_OUT_OF_MEMORY;
        }
        JSAMPROW row = decoder->region_row;
        while (decoder->info.output_scanline < (JDIMENSION)first && decoder->info.output_scanline < height) {
            if (jpeg_read_scanlines(&decoder->info, &row, 1) != 1) break;
        }
    }
    // All remaining rows in one call, as TurboJPEG does: libjpeg hands back at most an
    // iMCU row at a time, and a call that returns none means it could not go on.
    while (decoder->info.output_scanline >= (JDIMENSION)first && decoder->info.output_scanline < height) {
        JDIMENSION done = decoder->info.output_scanline;
        JDIMENSION got = jpeg_read_scanlines(&decoder->info, &rows[done], height - done);
        if (got == 0) break;
        // libjpeg fills X with 0xFF; libgd reads that byte as alpha, where 0 is opaque.
        // Cleared while the rows are still in cache.
        // As a mask on whole pixels (libgd's `int` rows, so aligned), which vectorizes:
        // a byte store every fourth byte did not, and cost 5 ms of a 12 MP decode.
        // The width in a local: read through `decoder` it could alias the stores, and was
        // reloaded every pixel.
        const JDIMENSION width = decoder->info.output_width;
        for (JDIMENSION y = done; clear_fourth && y < done + got; y++) {
            uint32_t *restrict pixel = (uint32_t *)(void *)rows[y];
            for (JDIMENSION x = 0; x < width; x++) pixel[x] &= 0x00FFFFFFu;
        }
        // Called from here, never from inside libjpeg: a longjmp cannot cross it.
        if (progress) progress(context, (int)decoder->info.output_scanline);
    }
    if (decoder->error.damaging_warning) {
        memcpy(message, decoder->error.damaging_message, JMSG_LENGTH_MAX);
        return PG_JPEG_CORRUPT;
    }
    if (decoder->info.output_scanline < height) {
        snprintf(message, JMSG_LENGTH_MAX, "the decoder stopped after %u of %u rows",
                 decoder->info.output_scanline, height);
        return PG_JPEG_CORRUPT;
    }
    // A decode of the top part stops here; the part below it reads the rest.
    if (height < decoder->info.output_height) {
        jpeg_abort_decompress(&decoder->info);
        return PG_JPEG_OK;
    }
    // Reads up to EOI: data cut after the last row is still a premature end.
    jpeg_finish_decompress(&decoder->info);
    if (decoder->error.damaging_warning) {
        memcpy(message, decoder->error.damaging_message, JMSG_LENGTH_MAX);
        return PG_JPEG_CORRUPT;
    }
    return PG_JPEG_OK;
}

pg_jpeg_status pg_jpeg_read_region(pg_jpeg_decoder *decoder, int x, int y, int width, int height,
                                   unsigned char *pixels, char *message) {
    struct jpeg_decompress_struct *info = &decoder->info;
    if (x < 0 || y < 0 || width <= 0 || height <= 0 || (JDIMENSION)(x + width) > info->output_width ||
        (JDIMENSION)(y + height) > info->output_height) {
        snprintf(message, JMSG_LENGTH_MAX, "region %dx%d at %d,%d is outside the image", width, height, x, y);
        return PG_JPEG_CORRUPT;
    }
    if (setjmp(decoder->error.jump)) return pg_jpeg_failure(decoder, message);
    jpeg_start_decompress(info);
    // libjpeg widens the columns to whole iMCUs: `left` and `decoded_width` say where the
    // decoded rows start and how wide they are. Fancy upsampling repeats the edge chroma
    // sample at the window's sides where a whole decode would use the neighbour's, so the
    // window reaches one iMCU further each way than the region: the region's pixels are
    // then exactly a whole decode's (checked against one in the tests).
    JDIMENSION margin = (JDIMENSION)(info->max_h_samp_factor * DCTSIZE);
    JDIMENSION left = (JDIMENSION)x > margin ? (JDIMENSION)x - margin : 0;
    JDIMENSION right = (JDIMENSION)(x + width) + margin < info->output_width ? (JDIMENSION)(x + width) + margin
                                                                              : info->output_width;
    JDIMENSION decoded_width = right - left;
    jpeg_crop_scanline(info, &left, &decoded_width);
    if (y > 0 && jpeg_skip_scanlines(info, (JDIMENSION)y) != (JDIMENSION)y) {
        snprintf(message, JMSG_LENGTH_MAX, "the decoder stopped before row %d", y);
        return PG_JPEG_CORRUPT;
    }
    size_t bytes_per_pixel = (size_t)info->output_components;
    size_t shift = (size_t)((JDIMENSION)x - left) * bytes_per_pixel;
    size_t row_bytes = (size_t)width * bytes_per_pixel;
    decoder->region_row = malloc((size_t)decoded_width * bytes_per_pixel);
    if (!decoder->region_row) {
        snprintf(message, JMSG_LENGTH_MAX, "out of memory");
        return PG_JPEG_OUT_OF_MEMORY;
    }
    JSAMPROW row = decoder->region_row;
    for (int done = 0; done < height; done++) {
        if (jpeg_read_scanlines(info, &row, 1) != 1) {
            snprintf(message, JMSG_LENGTH_MAX, "the decoder stopped after %d of %d rows", done, height);
            return PG_JPEG_CORRUPT;
        }
        memcpy(pixels + (size_t)done * row_bytes, row + shift, row_bytes);
    }
    if (decoder->error.damaging_warning) {
        memcpy(message, decoder->error.damaging_message, JMSG_LENGTH_MAX);
        return PG_JPEG_CORRUPT;
    }
    jpeg_abort_decompress(info);
    return PG_JPEG_OK;
}

struct pg_jpeg_part {
    pg_jpeg_decoder *decoder;
    JSAMPROW *rows;
    int first, end;
    pg_jpeg_status status;
    char message[JMSG_LENGTH_MAX];
};

static void *pg_jpeg_read_part(void *argument) {
    struct pg_jpeg_part *part = argument;
    part->status = pg_jpeg_read_into(part->decoder, part->rows, 0, part->first, part->end, NULL, NULL, part->message);
    return NULL;
}

pg_jpeg_decoder *pg_jpeg_open_lower_part(const unsigned char *data, size_t size, int scale_denominator,
                                         pg_jpeg_decoder *upper, int *offset, int *split) {
    struct jpeg_decompress_struct *info = &upper->info;
    int mcu_height = 0;
    int start = (long)info->output_width * info->output_height >= PG_JPEG_PART_PIXELS
                    ? pg_jpeg_lower_part_start(data, size, &mcu_height)
                    : 0;
    pg_jpeg_info lower_info;
    pg_jpeg_status status = PG_JPEG_OK;
    char message[JMSG_LENGTH_MAX];
    pg_jpeg_decoder *lower =
        start ? pg_jpeg_open_at_row(data, size, scale_denominator, start, &lower_info, &status, message) : NULL;
    if (!lower) return NULL;
    *offset = start * mcu_height / scale_denominator;
    *split = *offset + mcu_height / scale_denominator;
    // The same output as the upper part's (grey after pg_jpeg_prefer_grey).
    if (setjmp(lower->error.jump)) {
        pg_jpeg_close(lower);
        return NULL;
    }
    lower->info.out_color_space = info->out_color_space;
    jpeg_calc_output_dimensions(&lower->info);
    if (lower->info.output_width != info->output_width || lower->info.output_components != info->output_components ||
        lower->info.output_height + (JDIMENSION)*offset != info->output_height ||
        (JDIMENSION)*split >= info->output_height) {
        pg_jpeg_close(lower);
        return NULL;
    }
    return lower;
}

pg_jpeg_status pg_jpeg_read_in_parts(pg_jpeg_decoder *decoder, const unsigned char *data, size_t size,
                                     int scale_denominator, unsigned char *pixels, size_t stride, char *message) {
    struct jpeg_decompress_struct *info = &decoder->info;
    int offset = 0, split = 0;
    pg_jpeg_decoder *lower = pg_jpeg_open_lower_part(data, size, scale_denominator, decoder, &offset, &split);
    if (!lower) return pg_jpeg_read(decoder, pixels, stride, message);
    JSAMPROW *rows = malloc(sizeof(JSAMPROW) * info->output_height);
    if (!rows) {
        pg_jpeg_close(lower);
        snprintf(message, JMSG_LENGTH_MAX, "out of memory");
        return PG_JPEG_OUT_OF_MEMORY;
    }
    for (JDIMENSION y = 0; y < info->output_height; y++) rows[y] = pixels + (size_t)y * stride;
    decoder->rows = rows;
    struct pg_jpeg_part parts[2] = {
        {decoder, rows, 0, split, PG_JPEG_OK, {0}},
        {lower, rows + offset, split - offset, -1, PG_JPEG_OK, {0}},
    };
    pthread_t thread;
    int threaded = pthread_create(&thread, NULL, pg_jpeg_read_part, &parts[1]) == 0;
    pg_jpeg_read_part(&parts[0]);
    if (threaded) pthread_join(thread, NULL);
    else pg_jpeg_read_part(&parts[1]);
    pg_jpeg_close(lower);
    for (int i = 0; i < 2; i++) {
        if (parts[i].status != PG_JPEG_OK) {
            memcpy(message, parts[i].message, JMSG_LENGTH_MAX);
            return parts[i].status;
        }
    }
    return PG_JPEG_OK;
}

void pg_jpeg_close(pg_jpeg_decoder *decoder) {
    if (!decoder) return;
    jpeg_destroy_decompress(&decoder->info);
    free(decoder->icc);
    free(decoder->region_row);
    free(decoder->rows);
    pg_jpeg_chunks_free(decoder->chunks);
    free(decoder);
}

/// libjpeg's output in one growing buffer this code always knows. jpeg_mem_dest frees its
/// first buffer when it grows and writes the new one back only when the compression ends,
/// so after an error mid-way its `*outbuffer` had been freed already (a double free) and the
/// live buffer leaked (a reviewer's find: a restart-marked copy failing after 4 KB aborted).
struct pg_jpeg_memory_destination {
    struct jpeg_destination_mgr base;
    unsigned char *buffer;
    size_t capacity;
    size_t size;  // set by term_destination
};

static void pg_jpeg_memory_init(j_compress_ptr info) {
    struct pg_jpeg_memory_destination *destination = (struct pg_jpeg_memory_destination *)info->dest;
    if (!destination->buffer) {
        destination->capacity = 65536;
        destination->buffer = malloc(destination->capacity);
        if (!destination->buffer) ERREXIT1(info, JERR_OUT_OF_MEMORY, 11);
    }
    destination->base.next_output_byte = destination->buffer;
    destination->base.free_in_buffer = destination->capacity;
}

/// Called when the buffer is full (all of it, whatever `free_in_buffer` says, per libjpeg).
static boolean pg_jpeg_memory_grow(j_compress_ptr info) {
    struct pg_jpeg_memory_destination *destination = (struct pg_jpeg_memory_destination *)info->dest;
    unsigned char *grown = realloc(destination->buffer, destination->capacity * 2);
    if (!grown) ERREXIT1(info, JERR_OUT_OF_MEMORY, 11);
    destination->buffer = grown;
    destination->base.next_output_byte = grown + destination->capacity;
    destination->base.free_in_buffer = destination->capacity;
    destination->capacity *= 2;
    return TRUE;
}

static void pg_jpeg_memory_term(j_compress_ptr info) {
    struct pg_jpeg_memory_destination *destination = (struct pg_jpeg_memory_destination *)info->dest;
    destination->size = destination->capacity - destination->base.free_in_buffer;
}

static void pg_jpeg_memory_destination(j_compress_ptr info, struct pg_jpeg_memory_destination *destination) {
    destination->base.init_destination = pg_jpeg_memory_init;
    destination->base.empty_output_buffer = pg_jpeg_memory_grow;
    destination->base.term_destination = pg_jpeg_memory_term;
    info->dest = &destination->base;
}

struct pg_jpeg_encoder {
    struct jpeg_compress_struct info;
    struct pg_jpeg_error error;
    struct pg_jpeg_memory_destination destination;
};

/// One baseline JPEG of `height` rows; `restart_each_row` puts a restart marker after
/// every MCU row (for splicing two halves). With `wait`, rows are written only once it
/// says they are ready.
static pg_jpeg_status pg_jpeg_encode_rows(unsigned char *const *rows, int width, int height, int quality, int grey,
                                          int restart_each_row, pg_jpeg_rows_wait wait, void *context,
                                          unsigned char **output, unsigned long *size, char *message) {
    struct pg_jpeg_encoder *encoder = calloc(1, sizeof *encoder);
    if (!encoder) {
        snprintf(message, JMSG_LENGTH_MAX, "out of memory");
        return PG_JPEG_OUT_OF_MEMORY;
    }
    *output = NULL;
    *size = 0;
    encoder->info.err = jpeg_std_error(&encoder->error.base);
    encoder->error.base.error_exit = pg_jpeg_error_exit;
    encoder->error.base.emit_message = pg_jpeg_emit_message;
    if (setjmp(encoder->error.jump)) {
        encoder->error.base.format_message((j_common_ptr)&encoder->info, message);
        pg_jpeg_status status = encoder->error.base.msg_code == JERR_OUT_OF_MEMORY ? PG_JPEG_OUT_OF_MEMORY : PG_JPEG_CORRUPT;
        jpeg_destroy_compress(&encoder->info);
        free(encoder->destination.buffer);
        free(encoder);
        return status;
    }
    jpeg_create_compress(&encoder->info);
    pg_jpeg_memory_destination(&encoder->info, &encoder->destination);
    encoder->info.image_width = (JDIMENSION)width;
    encoder->info.image_height = (JDIMENSION)height;
    encoder->info.input_components = 4;
    encoder->info.in_color_space = JCS_EXT_BGRX;
    jpeg_set_defaults(&encoder->info);
    if (grey) jpeg_set_colorspace(&encoder->info, JCS_GRAYSCALE);
    jpeg_set_quality(&encoder->info, quality, TRUE);
    if (quality >= PG_JPEG_HIGH_QUALITY) {
        // From quality 90, as libvips: chroma whole (4:4:4) and the accurate DCT. With the
        // fast DCT and 4:2:0 at every quality, quality:100 was no closer to the source than
        // 90 (a saturated photo: mean 0.7 levels, max 24; Pillow's accurate 4:4:4 at 100,
        // 0.14 and 4), only twice the size.
        encoder->info.dct_method = JDCT_ISLOW;
        for (int c = 0; c < encoder->info.num_components; c++) {
            encoder->info.comp_info[c].h_samp_factor = 1;
            encoder->info.comp_info[c].v_samp_factor = 1;
        }
    } else {
        // As tjCompress2 without TJFLAG_ACCURATEDCT: the fast integer DCT. jpeg_set_defaults
        // samples chroma 2×2 (4:2:0), as TurboJPEG's TJSAMP_420.
        encoder->info.dct_method = JDCT_IFAST;
    }
    if (restart_each_row) encoder->info.restart_in_rows = 1;
    jpeg_start_compress(&encoder->info, TRUE);
    JDIMENSION ready = wait ? 0 : encoder->info.image_height;
    while (encoder->info.next_scanline < encoder->info.image_height) {
        // Called from here, never from inside libjpeg: a longjmp cannot cross it.
        if (encoder->info.next_scanline >= ready) {
            int available = wait(context, (int)encoder->info.next_scanline + 1);
            if (available <= (int)encoder->info.next_scanline) {
                snprintf(message, JMSG_LENGTH_MAX, "the rows to encode stopped coming");
                jpeg_destroy_compress(&encoder->info);
                free(encoder->destination.buffer);
                free(encoder);
                return PG_JPEG_CORRUPT;
            }
            ready = (JDIMENSION)available;
        }
        JSAMPROW row = (JSAMPROW)rows[encoder->info.next_scanline];
        jpeg_write_scanlines(&encoder->info, &row, 1);
    }
    jpeg_finish_compress(&encoder->info);
    jpeg_destroy_compress(&encoder->info);
    *output = encoder->destination.buffer;
    *size = (unsigned long)encoder->destination.size;
    free(encoder);
    return PG_JPEG_OK;
}

/// Where the entropy-coded data of a segment `pg_jpeg_encode_segment` wrote starts (after
/// the SOS segment), and where its SOF's height field is (`pg_jpeg_scan_layout`, the walk
/// a decode entered at a restart uses); 0 when the layout is not the expected one.
static size_t pg_jpeg_scan_start(const unsigned char *jpeg, size_t size, size_t *sof_height) {
    struct pg_jpeg_scan_layout layout;
    if (!pg_jpeg_scan_layout(jpeg, size, &layout)) return 0;
    if (sof_height) *sof_height = layout.sof_height;
    return layout.scan_start;
}

int pg_jpeg_mcu_rows(int grey, int quality) { return grey || quality >= PG_JPEG_HIGH_QUALITY ? 8 : 16; }

/// Large images are worth two threads; the split is at an MCU row in the middle.
int pg_jpeg_splits(int width, int height, int grey, int quality) {
    int mcu_rows = pg_jpeg_mcu_rows(grey, quality);
    return (long)width * height >= (1L << 20) && (height / 2) / mcu_rows * mcu_rows > 0;
}

pg_jpeg_status pg_jpeg_encode_streamed(unsigned char *const *rows, int width, int height, int quality, int grey,
                                       pg_jpeg_rows_wait wait, void *context, unsigned char **output,
                                       unsigned long *size, char *message) {
    return pg_jpeg_encode_rows(rows, width, height, quality, grey, 0, wait, context, output, size, message);
}

pg_jpeg_status pg_jpeg_encode_segment(unsigned char *const *rows, int width, int height, int quality, int grey,
                                      pg_jpeg_rows_wait wait, void *context, unsigned char **output,
                                      unsigned long *size, char *message) {
    return pg_jpeg_encode_rows(rows, width, height, quality, grey, 1, wait, context, output, size, message);
}

pg_jpeg_status pg_jpeg_splice(unsigned char *const *segments, const unsigned long *sizes, const int *heights,
                              int count, int grey, int quality, unsigned char **output, unsigned long *size,
                              char *message) {
    // The first segment's headers (its height patched) and scan, then for each next one
    // the restart marker that follows the previous row, and its scan with its markers
    // renumbered. Restarts reset only the DC prediction, so every coefficient, hence every
    // decoded pixel, is what one encode gives (checked against TurboJPEG); the bytes are
    // those of one encode with a restart marker after every MCU row.
    int mcu_rows = pg_jpeg_mcu_rows(grey, quality);
    *output = NULL;
    *size = 0;
    size_t sof_height = 0;
    size_t total = 2, scans[count > 0 ? count : 1];
    int height = 0;
    for (int i = 0; i < count; i++) {
        scans[i] = pg_jpeg_scan_start(segments[i], sizes[i], i == 0 ? &sof_height : NULL);
        if (!scans[i] || sizes[i] < scans[i] + 2 || (i < count - 1 && heights[i] % mcu_rows != 0)) {
            snprintf(message, JMSG_LENGTH_MAX, "unexpected marker layout in segment %d", i);
            return PG_JPEG_CORRUPT;
        }
        total += (i == 0 ? sizes[i] - 2 : sizes[i] - 2 - scans[i]) + 2;
        height += heights[i];
    }
    if (count == 0 || !sof_height) {
        snprintf(message, JMSG_LENGTH_MAX, "no segment to splice");
        return PG_JPEG_CORRUPT;
    }
    unsigned char *spliced = malloc(total);
    if (!spliced) {
        snprintf(message, JMSG_LENGTH_MAX, "out of memory");
        return PG_JPEG_OUT_OF_MEMORY;
    }
    size_t at = sizes[0] - 2;  // without its EOI
    memcpy(spliced, segments[0], at);
    spliced[sof_height] = (unsigned char)(height >> 8);
    spliced[sof_height + 1] = (unsigned char)(height & 0xFF);
    int intervals = heights[0] / mcu_rows;
    for (int i = 1; i < count; i++) {
        spliced[at] = 0xFF;
        spliced[at + 1] = (unsigned char)(0xD0 + (intervals - 1) % 8);
        at += 2;
        size_t length = sizes[i] - 2 - scans[i];  // its scan, without EOI
        unsigned char *target = spliced + at;
        memcpy(target, segments[i] + scans[i], length);
        // In entropy-coded data 0xFF is followed by 0x00 (stuffing) or a marker: the only
        // markers here are RST0–7.
        for (size_t j = 0; j + 1 < length; j++) {
            if (target[j] == 0xFF && target[j + 1] >= 0xD0 && target[j + 1] <= 0xD7) {
                target[j + 1] = (unsigned char)(0xD0 + (target[j + 1] - 0xD0 + intervals) % 8);
                j++;
            }
        }
        at += length;
        intervals += heights[i] / mcu_rows;
    }
    spliced[at] = 0xFF;
    spliced[at + 1] = 0xD9;
    *output = spliced;
    *size = at + 2;
    return PG_JPEG_OK;
}

struct pg_jpeg_half {
    unsigned char *const *rows;
    int width, height, quality, grey;
    unsigned char *output;
    unsigned long size;
    pg_jpeg_status status;
    char message[JMSG_LENGTH_MAX];
};

static void *pg_jpeg_encode_half(void *argument) {
    struct pg_jpeg_half *half = argument;
    half->status = pg_jpeg_encode_segment(half->rows, half->width, half->height, half->quality, half->grey, NULL,
                                          NULL, &half->output, &half->size, half->message);
    return NULL;
}

pg_jpeg_status pg_jpeg_encode(unsigned char *const *rows, int width, int height, int quality, int grey,
                              unsigned char **output, unsigned long *size, char *message) {
    // Large images are encoded as two halves on two threads and spliced.
    if (!pg_jpeg_splits(width, height, grey, quality)) {
        return pg_jpeg_encode_rows(rows, width, height, quality, grey, 0, NULL, NULL, output, size, message);
    }
    int mcu_rows = pg_jpeg_mcu_rows(grey, quality);
    int top = (height / 2) / mcu_rows * mcu_rows;
    struct pg_jpeg_half halves[2] = {
        {rows, width, top, quality, grey, NULL, 0, PG_JPEG_OK, {0}},
        {rows + top, width, height - top, quality, grey, NULL, 0, PG_JPEG_OK, {0}},
    };
    pthread_t thread;
    int threaded = pthread_create(&thread, NULL, pg_jpeg_encode_half, &halves[1]) == 0;
    pg_jpeg_encode_half(&halves[0]);
    if (threaded) pthread_join(thread, NULL);
    else pg_jpeg_encode_half(&halves[1]);
    pg_jpeg_status status = PG_JPEG_OK;
    for (int i = 0; i < 2 && status == PG_JPEG_OK; i++) {
        if (halves[i].status != PG_JPEG_OK) {
            status = halves[i].status;
            memcpy(message, halves[i].message, JMSG_LENGTH_MAX);
        }
    }
    if (status == PG_JPEG_OK) {
        unsigned char *segments[2] = {halves[0].output, halves[1].output};
        unsigned long sizes[2] = {halves[0].size, halves[1].size};
        int heights[2] = {top, height - top};
        status = pg_jpeg_splice(segments, sizes, heights, 2, grey, quality, output, size, message);
    }
    free(halves[0].output);
    free(halves[1].output);
    return status;
}

/// Both halves of a lossless re-encode, one error handler for both.
struct pg_jpeg_transcoder {
    struct jpeg_decompress_struct source;
    struct jpeg_compress_struct copy;
    struct pg_jpeg_error error;
    struct jpeg_progress_mgr progress;
    struct pg_jpeg_memory_destination destination;
};

pg_jpeg_status pg_jpeg_restart_marked(const unsigned char *data, size_t size, unsigned char **output,
                                      unsigned long *output_size, char *message) {
    *output = NULL;
    *output_size = 0;
    struct pg_jpeg_transcoder *transcoder = calloc(1, sizeof *transcoder);
    if (!transcoder) {
        snprintf(message, JMSG_LENGTH_MAX, "out of memory");
        return PG_JPEG_OUT_OF_MEMORY;
    }
    transcoder->source.err = jpeg_std_error(&transcoder->error.base);
    transcoder->copy.err = &transcoder->error.base;
    transcoder->error.base.error_exit = pg_jpeg_error_exit;
    transcoder->error.base.emit_message = pg_jpeg_emit_message;
    pg_jpeg_status status = PG_JPEG_OK;
    if (setjmp(transcoder->error.jump)) {
        if (transcoder->error.too_many_scans) {
            snprintf(message, JMSG_LENGTH_MAX, "the image has more than %d scans", PG_JPEG_MAX_SCANS);
        } else {
            transcoder->error.base.format_message((j_common_ptr)&transcoder->source, message);
        }
        status = transcoder->error.base.msg_code == JERR_OUT_OF_MEMORY ? PG_JPEG_OUT_OF_MEMORY : PG_JPEG_CORRUPT;
        goto done;
    }
    jpeg_create_decompress(&transcoder->source);
    jpeg_create_compress(&transcoder->copy);
    transcoder->progress.progress_monitor = pg_jpeg_count_scans;
    transcoder->source.progress = &transcoder->progress;
    jpeg_mem_src(&transcoder->source, data, (unsigned long)size);
    // Every marker before the first scan kept, as `jpegtran -copy all`: the copy's EXIF and
    // ICC profile are the original's, so whatever reads them from the copy reads the same.
    // Markers between a progressive file's scans are left out: nothing here reads them
    // (the EXIF walk and libjpeg's profile stop at the first scan), and written before the
    // frame they would be read (a reviewer's find: an orientation there turned the copy).
    jpeg_save_markers(&transcoder->source, JPEG_COM, 0xFFFF);
    for (int m = 0; m < 16; m++) jpeg_save_markers(&transcoder->source, JPEG_APP0 + m, 0xFFFF);
    jpeg_read_header(&transcoder->source, TRUE);
    int markers_before_scan = 0;
    for (jpeg_saved_marker_ptr marker = transcoder->source.marker_list; marker; marker = marker->next) markers_before_scan++;
    J_COLOR_SPACE stored = transcoder->source.jpeg_color_space;
    if ((stored != JCS_YCbCr && stored != JCS_GRAYSCALE) || transcoder->source.data_precision != 8) {
        snprintf(message, JMSG_LENGTH_MAX, "only 8-bit YCbCr and grey files are re-encoded");
        status = PG_JPEG_UNSUPPORTED;
        goto done;
    }
    jvirt_barray_ptr *coefficients = jpeg_read_coefficients(&transcoder->source);
    // A progressive file whose coefficients are not all refined to their last bit decodes
    // with libjpeg's block smoothing; the sequential copy would not (a reviewer's find: up
    // to 2 levels apart). Such a file keeps no copy.
    if (transcoder->source.progressive_mode) {
        for (int c = 0; c < transcoder->source.num_components; c++) {
            for (int k = 0; k < DCTSIZE2; k++) {
                if (transcoder->source.coef_bits[c][k] != 0) {
                    snprintf(message, JMSG_LENGTH_MAX, "a progressive file refined short of its last bit");
                    status = PG_JPEG_UNSUPPORTED;
                    goto done;
                }
            }
        }
    }
    pg_jpeg_memory_destination(&transcoder->copy, &transcoder->destination);
    jpeg_copy_critical_parameters(&transcoder->source, &transcoder->copy);
    // Sequential, a restart marker after every MCU row, Huffman tables made for the copy's
    // own symbols (the original's may lack the codes a restart's first DC difference
    // needs). Made for them, since that pass refuses a coefficient a baseline file cannot
    // hold: a hostile file (arithmetic-coded, or Huffman with its own tables) decodes to
    // such values, and with the standard tables libjpeg-turbo wrote them silently wrong, a
    // copy that decoded to other pixels (found by `make fuzz`). 12 MP: 47 → 94 ms of idle
    // CPU, the copy 4% smaller.
    transcoder->copy.restart_in_rows = 1;
    transcoder->copy.optimize_coding = TRUE;
    jpeg_write_coefficients(&transcoder->copy, coefficients);
    int written = 0;
    for (jpeg_saved_marker_ptr marker = transcoder->source.marker_list; marker && written < markers_before_scan;
         marker = marker->next, written++) {
        // The JFIF and Adobe markers libjpeg writes itself, from the same parameters.
        if (transcoder->copy.write_JFIF_header && marker->marker == JPEG_APP0 && marker->data_length >= 5 &&
            memcmp(marker->data, "JFIF", 5) == 0)
            continue;
        if (transcoder->copy.write_Adobe_marker && marker->marker == JPEG_APP0 + 14 && marker->data_length >= 5 &&
            memcmp(marker->data, "Adobe", 5) == 0)
            continue;
        jpeg_write_marker(&transcoder->copy, marker->marker, marker->data, marker->data_length);
    }
    jpeg_finish_compress(&transcoder->copy);
    jpeg_finish_decompress(&transcoder->source);
    if (transcoder->error.damaging_warning) {
        memcpy(message, transcoder->error.damaging_message, JMSG_LENGTH_MAX);
        status = PG_JPEG_CORRUPT;
    }
done:
    jpeg_destroy_compress(&transcoder->copy);
    jpeg_destroy_decompress(&transcoder->source);
    if (status == PG_JPEG_OK) {
        *output = transcoder->destination.buffer;
        *output_size = (unsigned long)transcoder->destination.size;
    } else {
        free(transcoder->destination.buffer);
    }
    free(transcoder);
    return status;
}
