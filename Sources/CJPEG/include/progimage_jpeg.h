#pragma once
// libjpeg's decompression API behind four calls that cannot longjmp into Swift: every
// libjpeg call happens inside a C function that set its own jump buffer.
#include <stddef.h>

typedef struct pg_jpeg_decoder pg_jpeg_decoder;

typedef enum {
    PG_JPEG_OK = 0,
    /// libjpeg stopped with an error, or a warning that means image data was lost
    /// (see `pg_jpeg_warning_damages` in progimage_jpeg.c), or fewer rows came out.
    PG_JPEG_CORRUPT = 1,
    /// Valid JPEG this build cannot decode (12-bit samples, an unusual component count).
    PG_JPEG_UNSUPPORTED = 2,
    PG_JPEG_OUT_OF_MEMORY = 3,
} pg_jpeg_status;

typedef struct {
    /// The stored size, and the size after the DCT scaling asked for.
    int image_width, image_height;
    int output_width, output_height;
    /// 1 when the output is C,M,Y,K (CMYK and YCCK files); 0 when it is B,G,R,X (X = 0xFF).
    /// Four bytes a pixel either way.
    int cmyk;
} pg_jpeg_info;

/// Reads the header and prepares a decode at 1/`scale_denominator` (1, 2, 4, 8).
/// NULL on failure, with `*status` and `message` (at least 200 bytes) set.
pg_jpeg_decoder *pg_jpeg_open(const unsigned char *data, size_t size, int scale_denominator,
                              pg_jpeg_info *info, pg_jpeg_status *status, char *message);

/// Switches the decode to luma only (one byte a pixel: the file's own Y, without chroma
/// upsampling or colour conversion) when the file is YCbCr or grey and carries no ICC
/// profile. Returns 1 when it did; before any `pg_jpeg_read*`.
int pg_jpeg_prefer_grey(pg_jpeg_decoder *decoder);

/// The embedded ICC profile (APP2 `ICC_PROFILE` chunks, reassembled), or 0 with none or
/// a malformed one. Valid until `pg_jpeg_close`.
size_t pg_jpeg_icc_profile(pg_jpeg_decoder *decoder, const unsigned char **profile);

/// Decodes every row into `pixels` (`stride` bytes a row, 4 bytes a pixel, 1 after
/// `pg_jpeg_prefer_grey`). Anything but
/// PG_JPEG_OK means the buffer must not be used.
pg_jpeg_status pg_jpeg_read(pg_jpeg_decoder *decoder, unsigned char *pixels, size_t stride, char *message);

/// Told how many rows are complete as they arrive, about an iMCU row (8 or 16) at a time.
/// Rows of a file that then fails may be garbage.
typedef void (*pg_jpeg_rows_done)(void *context, int rows);

/// Decodes only the `width`×`height` region at (`x`, `y`) of the output into `pixels`
/// (packed, 4 bytes a pixel, `width * 4` bytes a row; 1 and `width` after `pg_jpeg_prefer_grey`): rows above it are skipped without
/// colour conversion or IDCT, columns outside it are not converted, and the decode stops
/// after its last row, so trailing data is not read (the caller decoded the whole file
/// when it was stored). The region must lie inside the output size.
pg_jpeg_status pg_jpeg_read_region(pg_jpeg_decoder *decoder, int x, int y, int width, int height,
                                   unsigned char *pixels, char *message);

/// Where a decode in two parts begins its lower part: the MCU row (`*mcu_height` stored
/// rows each) nearest above the middle where a restart interval of the scan begins, in a
/// sequential Huffman JPEG whose one scan holds every component; 0 when there is none (no
/// restart markers, a progressive or multi-scan file, an interval that never meets the
/// start of a row). The lower part keeps the rows from one MCU row below it: the row
/// above is the context chroma upsampling reads.
int pg_jpeg_lower_part_start(const unsigned char *data, size_t size, int *mcu_height);

/// The lower part of a two-part decode of `upper` (opened on the same `data` at
/// `scale_denominator`, its output chosen, nothing read yet): from `pg_jpeg_lower_part_start`,
/// with `upper`'s output colour space. Its row 0 is `upper`'s row `*offset`, and it keeps
/// the rows from `*split` on (`pg_jpeg_read_rows_between`). NULL when the output is under
/// `PG_JPEG_PART_PIXELS` or the file has no such restart: then `upper` reads every row.
pg_jpeg_decoder *pg_jpeg_open_lower_part(const unsigned char *data, size_t size, int scale_denominator,
                                         pg_jpeg_decoder *upper, int *offset, int *split);

/// Where a decode of the rows from stored row `row` down can begin: the MCU row
/// (`*mcu_height` stored rows each) where a restart interval begins, at least one MCU row
/// above the one holding `row` (the context chroma upsampling reads); 0 when none does,
/// as for `pg_jpeg_lower_part_start`.
int pg_jpeg_restart_row_above(const unsigned char *data, size_t size, int row, int *mcu_height);

/// Outputs from this many pixels are decoded in two parts when the file allows.
#define PG_JPEG_PART_PIXELS (1 << 18)

/// As `pg_jpeg_open`, for the part of the image from MCU row `first_mcu_row` down, where
/// a restart interval begins (see `pg_jpeg_restart_rows`): libjpeg reads the headers, its
/// height patched, then the scan from that interval on, nothing above it. Its row 0 is
/// the image's row `first_mcu_row × mcu_height / scale_denominator`. NULL when the scan's
/// markers do not lead there, or as `pg_jpeg_open`.
pg_jpeg_decoder *pg_jpeg_open_at_row(const unsigned char *data, size_t size, int scale_denominator, int first_mcu_row,
                                     pg_jpeg_info *info, pg_jpeg_status *status, char *message);

/// As `pg_jpeg_read`, into rows that lie anywhere (`rows[y]`, 4 bytes a pixel: a libgd
/// image's own rows, no copy between), for rows `first` to `end` (-1: the last) only,
/// calling `progress` after each batch of rows from the decoding thread, so that another
/// thread can work on the rows above while the rest decode. The rows above `first` are
/// decoded into a scratch row and dropped (the context chroma upsampling needs), and a
/// decode that stops before the last row reads no further, so the rows below are another
/// decoder's to check. `clear_fourth` writes the fourth byte 0 (libgd's opaque); without
/// it the byte stays libjpeg's 0xFF, for a row filter, which masks it in what it writes:
/// clearing it cost 1.0–1.4 ms of the decoding thread in a 12 MP thumbnail at 1/2.
pg_jpeg_status pg_jpeg_read_rows_between(pg_jpeg_decoder *decoder, unsigned char *const *rows, int first, int end,
                                         int clear_fourth, pg_jpeg_rows_done progress, void *context,
                                         char *message);

/// As `pg_jpeg_read`, in two parts on two threads when the file's restart markers allow
/// (`pg_jpeg_lower_part_start`) and the output has `PG_JPEG_PART_PIXELS`: the same pixels.
/// `data`, `size` and `scale_denominator` as given to `pg_jpeg_open`.
pg_jpeg_status pg_jpeg_read_in_parts(pg_jpeg_decoder *decoder, const unsigned char *data, size_t size,
                                     int scale_denominator, unsigned char *pixels, size_t stride, char *message);

void pg_jpeg_close(pg_jpeg_decoder *decoder);

/// The same coefficients re-encoded losslessly with a restart marker after every MCU row,
/// every marker before the first scan kept, Huffman tables made for it (`jpegtran -optimize
/// -restart 1 -copy all`): a copy whose halves decode on two
/// threads to exactly the original's pixels. 8-bit YCbCr or grey files only
/// (PG_JPEG_UNSUPPORTED otherwise); a progressive original becomes sequential.
pg_jpeg_status pg_jpeg_restart_marked(const unsigned char *data, size_t size, unsigned char **output,
                                      unsigned long *output_size, char *message);

/// Compresses `height` rows of B,G,R,X pixels, each at `rows[y]` (no copy into one
/// buffer: libgd keeps its rows apart), to a baseline JPEG at `quality`: 4:2:0 YCbCr, or
/// one grey component when `grey`. On PG_JPEG_OK `*output` (free() it) holds `*size`
/// bytes; these are the bytes TurboJPEG's tjCompress2 writes for the same pixels.
pg_jpeg_status pg_jpeg_encode(unsigned char *const *rows, int width, int height, int quality, int grey,
                              unsigned char **output, unsigned long *size, char *message);

/// Told that rows up to `rows` are wanted; answers how many are ready (at least `rows`),
/// or fewer when they never will be.
typedef int (*pg_jpeg_rows_wait)(void *context, int rows);

/// The bytes `pg_jpeg_encode` writes for rows it does not split (see `pg_jpeg_splits`),
/// each row written only once `wait` says it is ready.
pg_jpeg_status pg_jpeg_encode_streamed(unsigned char *const *rows, int width, int height, int quality, int grey,
                                       pg_jpeg_rows_wait wait, void *context, unsigned char **output,
                                       unsigned long *size, char *message);

/// From this quality on, chroma is kept whole (4:4:4) and the accurate DCT used.
#define PG_JPEG_HIGH_QUALITY 90

/// Rows an MCU spans at `quality`: 16 with 4:2:0 chroma, 8 when `grey` or 4:4:4.
int pg_jpeg_mcu_rows(int grey, int quality);

/// Whether `pg_jpeg_encode` writes these rows in spliced segments (large images): then a
/// caller may too, with `pg_jpeg_encode_segment` and `pg_jpeg_splice`, for the same bytes.
int pg_jpeg_splits(int width, int height, int grey, int quality);

/// A segment of a large JPEG: its `height` rows as a JPEG of their own with a restart
/// marker after every MCU row (`pg_jpeg_mcu_rows`), each row written only once `wait`
/// (when given) says it is ready. Every segment but the last must be a whole number of
/// MCU rows.
pg_jpeg_status pg_jpeg_encode_segment(unsigned char *const *rows, int width, int height, int quality, int grey,
                                      pg_jpeg_rows_wait wait, void *context, unsigned char **output,
                                      unsigned long *size, char *message);

/// Segments, top to bottom, spliced into one JPEG (`*output` to free()): the bytes one
/// encode of all their rows with a restart marker after every MCU row gives.
pg_jpeg_status pg_jpeg_splice(unsigned char *const *segments, const unsigned long *sizes, const int *heights,
                              int count, int grey, int quality, unsigned char **output, unsigned long *size,
                              char *message);
