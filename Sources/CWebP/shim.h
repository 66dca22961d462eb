#pragma once
/* The demuxer's animation decoder composites frames on the canvas; decode.h brings the
   colour modes (MODE_RGBA) it is configured with. encode.h and mux.h write animations. */
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>
