#pragma once
#include <lcms2.h>

// lcms2.h builds its pixel formats from macros Swift does not import; these are the ones
// the wrapper uses.
static inline cmsUInt32Number pg_lcms_type_bgra_8(void) { return TYPE_BGRA_8; }
static inline cmsUInt32Number pg_lcms_type_rgba_8(void) { return TYPE_RGBA_8; }
static inline cmsUInt32Number pg_lcms_type_rgb_8(void) { return TYPE_RGB_8; }
static inline cmsUInt32Number pg_lcms_type_cmyk_8(void) { return TYPE_CMYK_8; }
static inline cmsUInt32Number pg_lcms_type_cmyk_8_rev(void) { return TYPE_CMYK_8_REV; }
static inline cmsUInt32Number pg_lcms_type_gray_8(void) { return TYPE_GRAY_8; }
