/* In-process breakdown of progimage's thumbnail path, with the same libraries and the
 * same calls the worker makes (see Sources/TurboJPEG/TurboJPEGDecoder.swift,
 * Sources/GD/GDImage+Geometry.swift): TurboJPEG tjDecompress2 to BGRX (flags 0) at a
 * DCT scale, copy into a libgd truecolor image (X masked off), gdImageScale with
 * GD_TRIANGLE to WIDTH px, gdImageJpegPtr at QUALITY. No HTTP, no FastCGI, no disk.
 *
 * It also times two cheaper variants, to show what each step could give:
 * TJFLAG_FASTUPSAMPLE|TJFLAG_FASTDCT on the scaled decode, and GD_BILINEAR_FIXED for
 * the remaining (< 2x) scale after the DCT shrink.
 *
 * usage: pipeline FILE.jpg ITERATIONS [WIDTH [QUALITY]]
 * prints one JSON object of medians, in milliseconds of this thread's CPU time.
 * build: cc -O2 -o pipeline pipeline.c $(pkg-config --cflags --libs libturbojpeg gdlib)
 */
#include <gd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

/* This thread's CPU time: the steps are single-threaded, so this is their cost, and other
 * people's load on the box (which only delays us) does not inflate it. */
static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct {
    unsigned char *buf;
    int width, height;
} Pixels;

static Pixels decode_flags(tjhandle tj, unsigned char *jpeg, unsigned long size, int denom, int flags) {
    int w, h, sub, cs;
    Pixels p = {0};
    if (tjDecompressHeader3(tj, jpeg, size, &w, &h, &sub, &cs)) return p;
    p.width = (w + denom - 1) / denom; /* TJSCALED with 1/denom */
    p.height = (h + denom - 1) / denom;
    p.buf = malloc((size_t)p.width * p.height * 4);
    if (tjDecompress2(tj, jpeg, size, p.buf, p.width, p.width * 4, p.height, TJPF_BGRX, flags)) {
        fprintf(stderr, "tjDecompress2: %s\n", tjGetErrorStr2(tj));
        exit(1);
    }
    return p;
}

static Pixels decode(tjhandle tj, unsigned char *jpeg, unsigned long size, int denom) {
    return decode_flags(tj, jpeg, size, denom, 0);
}

static gdImagePtr to_gd(Pixels p) {
    gdImagePtr im = gdImageCreateTrueColor(p.width, p.height);
    for (int y = 0; y < p.height; y++) {
        const uint32_t *row = (const uint32_t *)(p.buf + (size_t)y * p.width * 4);
        int *dst = im->tpixels[y];
        for (int x = 0; x < p.width; x++) dst[x] = (int)(row[x] & 0x00FFFFFFu);
    }
    return im;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE.jpg ITERATIONS [WIDTH [QUALITY]]\n", argv[0]);
        return 2;
    }
    int iters = atoi(argv[2]);
    int target = argc > 3 ? atoi(argv[3]) : 800;
    int quality = argc > 4 ? atoi(argv[4]) : 80;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return perror(argv[1]), 1;
    fseek(f, 0, SEEK_END);
    unsigned long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *jpeg = malloc(size);
    if (fread(jpeg, 1, size, f) != size) return 1;
    fclose(f);

    tjhandle tj = tjInitDecompress();
    int w, h, sub, cs;
    tjDecompressHeader3(tj, jpeg, size, &w, &h, &sub, &cs);
    int th = (int)((double)h * target / w + 0.5);
    /* progimage's choice: the largest of 2, 4, 8 that still leaves >= target on both sides */
    int shrink = 1;
    for (int d = 2; d <= 8; d *= 2)
        if (w / d >= target && h / d >= th) shrink = d;

    double *dec[4], *copy = calloc(iters, sizeof(double)), *scale = calloc(iters, sizeof(double)),
           *enc = calloc(iters, sizeof(double)), *total = calloc(iters, sizeof(double)),
           *full_total = calloc(iters, sizeof(double)), *full_scale = calloc(iters, sizeof(double)),
           *fast_decode = calloc(iters, sizeof(double)), *bilinear = calloc(iters, sizeof(double));
    int denoms[4] = {1, 2, 4, 8};
    for (int k = 0; k < 4; k++) dec[k] = calloc(iters, sizeof(double));

    for (int warm = 0; warm < 2; warm++) free(decode(tj, jpeg, size, shrink).buf);
    for (int i = 0; i < iters; i++) {
        for (int k = 0; k < 4; k++) {
            double t0 = now_ms();
            Pixels p = decode(tj, jpeg, size, denoms[k]);
            dec[k][i] = now_ms() - t0;
            free(p.buf);
        }
        /* the shrink-on-load pipeline, step by step */
        double t0 = now_ms();
        Pixels p = decode(tj, jpeg, size, shrink);
        double t1 = now_ms();
        gdImagePtr im = to_gd(p);
        double t2 = now_ms();
        gdImageSetInterpolationMethod(im, GD_TRIANGLE);
        gdImagePtr small = gdImageScale(im, target, th);
        double t3 = now_ms();
        int outsize = 0;
        void *out = gdImageJpegPtr(small, &outsize, quality);
        double t4 = now_ms();
        (void)(t1 - t0);
        copy[i] = t2 - t1;
        scale[i] = t3 - t2;
        enc[i] = t4 - t3;
        total[i] = t4 - t0;
        gdFree(out);
        gdImageDestroy(small);
        gdImageDestroy(im);
        free(p.buf);
        /* the cheaper variants */
        t0 = now_ms();
        p = decode_flags(tj, jpeg, size, shrink, TJFLAG_FASTUPSAMPLE | TJFLAG_FASTDCT);
        fast_decode[i] = now_ms() - t0;
        im = to_gd(p);
        t0 = now_ms();
        gdImageSetInterpolationMethod(im, GD_BILINEAR_FIXED);
        small = gdImageScale(im, target, th);
        bilinear[i] = now_ms() - t0;
        gdImageDestroy(small);
        gdImageDestroy(im);
        free(p.buf);
        /* the same thumbnail from a full-size decode (what a chain without shrink-on-load pays) */
        t0 = now_ms();
        p = decode(tj, jpeg, size, 1);
        im = to_gd(p);
        t1 = now_ms();
        gdImageSetInterpolationMethod(im, GD_TRIANGLE);
        small = gdImageScale(im, target, th);
        t2 = now_ms();
        out = gdImageJpegPtr(small, &outsize, quality);
        t3 = now_ms();
        full_scale[i] = t2 - t1;
        full_total[i] = t3 - t0;
        gdFree(out);
        gdImageDestroy(small);
        gdImageDestroy(im);
        free(p.buf);
    }
    int shrink_index = shrink == 1 ? 0 : shrink == 2 ? 1 : shrink == 4 ? 2 : 3;
    double d_shrink = median(dec[shrink_index], iters);
    printf("{\"width\": %d, \"height\": %d, \"target\": %d, \"shrink\": %d, "
           "\"decode_1\": %.2f, \"decode_2\": %.2f, \"decode_4\": %.2f, \"decode_8\": %.2f, "
           "\"decode_shrink\": %.2f, \"copy\": %.2f, \"scale\": %.2f, \"encode\": %.2f, \"total\": %.2f, "
           "\"full_scale\": %.2f, \"full_total\": %.2f, \"fast_decode\": %.2f, \"bilinear_scale\": %.2f}\n",
           w, h, target, shrink, median(dec[0], iters), median(dec[1], iters), median(dec[2], iters),
           median(dec[3], iters), d_shrink, median(copy, iters), median(scale, iters), median(enc, iters),
           median(total, iters), median(full_scale, iters), median(full_total, iters), median(fast_decode, iters),
           median(bilinear, iters));
    tjDestroy(tj);
    return 0;
}
