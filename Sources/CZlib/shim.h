#pragma once
#include <zlib.h>

// inflateInit is a macro over inflateInit_ with the header's version and struct size.
static inline int pg_inflate_init(z_streamp stream) { return inflateInit(stream); }
