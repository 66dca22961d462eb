#pragma once
#include <gd.h>

/* libgd exposes these as macros, which Swift does not import. */
static inline int cgd_truecolor(gdImagePtr im) { return gdImageTrueColor(im); }
static inline int cgd_pixel(gdImagePtr im, int x, int y) { return im->tpixels[y][x]; }
static inline void cgd_set_pixel(gdImagePtr im, int x, int y, int c) { im->tpixels[y][x] = c; }
static inline int **cgd_rows(gdImagePtr im) { return im->tpixels; }
static inline unsigned char **cgd_palette_rows(gdImagePtr im) { return im->pixels; }
