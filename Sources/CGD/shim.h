#pragma once
#include <gd.h>

/* libgd exposes these as macros, which Swift does not import. */
static inline int cgd_truecolor(gdImagePtr im) { return gdImageTrueColor(im); }
static inline int cgd_pixel(gdImagePtr im, int x, int y) { return im->tpixels[y][x]; }
static inline void cgd_set_pixel(gdImagePtr im, int x, int y, int c) { im->tpixels[y][x] = c; }
static inline int **cgd_rows(gdImagePtr im) { return im->tpixels; }

#include <stdlib.h>
#include <string.h>

/* A gdIOCtx over a growing buffer whose every byte is written or zero. libgd's own
 * dynamic context leaves holes it seeks over uninitialised (libtiff aligns its directory
 * to an even offset by seeking one byte past the end), so its TIFFs carried a byte of
 * whatever the heap held. */
typedef struct {
    gdIOCtx ctx;
    unsigned char *bytes;
    size_t length, capacity, position;
    int failed;
} cgd_zeroed_output;

static inline int cgd_zeroed_reserve(cgd_zeroed_output *out, size_t needed) {
    if (needed <= out->capacity) return 1;
    size_t capacity = out->capacity ? out->capacity : 65536;
    while (capacity < needed) capacity *= 2;
    unsigned char *bytes = realloc(out->bytes, capacity);
    if (!bytes) { out->failed = 1; return 0; }
    memset(bytes + out->capacity, 0, capacity - out->capacity);
    out->bytes = bytes;
    out->capacity = capacity;
    return 1;
}

static inline int cgd_zeroed_put_buf(gdIOCtxPtr ctx, const void *buffer, int size) {
    cgd_zeroed_output *out = (cgd_zeroed_output *)ctx;
    if (size <= 0) return 0;
    if (!cgd_zeroed_reserve(out, out->position + (size_t)size)) return 0;
    memcpy(out->bytes + out->position, buffer, (size_t)size);
    out->position += (size_t)size;
    if (out->position > out->length) out->length = out->position;
    return size;
}

static inline void cgd_zeroed_put_c(gdIOCtxPtr ctx, int c) {
    unsigned char byte = (unsigned char)c;
    cgd_zeroed_put_buf(ctx, &byte, 1);
}

static inline int cgd_zeroed_get_buf(gdIOCtxPtr ctx, void *buffer, int wanted) {
    cgd_zeroed_output *out = (cgd_zeroed_output *)ctx;
    if (wanted <= 0 || out->position >= out->length) return 0;
    size_t n = out->length - out->position < (size_t)wanted ? out->length - out->position : (size_t)wanted;
    memcpy(buffer, out->bytes + out->position, n);
    out->position += n;
    return (int)n;
}

static inline int cgd_zeroed_get_c(gdIOCtxPtr ctx) {
    unsigned char byte;
    return cgd_zeroed_get_buf(ctx, &byte, 1) == 1 ? byte : EOF;
}

static inline int cgd_zeroed_seek(gdIOCtxPtr ctx, const int position) {
    cgd_zeroed_output *out = (cgd_zeroed_output *)ctx;
    if (position < 0 || !cgd_zeroed_reserve(out, (size_t)position)) return 0;
    out->position = (size_t)position;
    if (out->position > out->length) out->length = out->position; /* the gap is zeros */
    return 1;
}

static inline long cgd_zeroed_tell(gdIOCtxPtr ctx) { return (long)((cgd_zeroed_output *)ctx)->position; }

static inline void cgd_zeroed_free(gdIOCtxPtr ctx) { (void)ctx; }

/* The TIFF encoding of `im` (free() it), or NULL. */
static inline void *cgd_tiff_zeroed(gdImagePtr im, int *size) {
    cgd_zeroed_output out = {0};
    out.ctx.getC = cgd_zeroed_get_c;
    out.ctx.getBuf = cgd_zeroed_get_buf;
    out.ctx.putC = cgd_zeroed_put_c;
    out.ctx.putBuf = cgd_zeroed_put_buf;
    out.ctx.seek = cgd_zeroed_seek;
    out.ctx.tell = cgd_zeroed_tell;
    out.ctx.gd_free = cgd_zeroed_free;
    gdImageTiffCtx(im, &out.ctx);
    if (out.failed || out.length == 0) { free(out.bytes); return NULL; }
    *size = (int)out.length;
    return out.bytes;
}
