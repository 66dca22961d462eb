#pragma once
/* libjxl's decoder and encoder: plain C calls that return a status (no callbacks, no
   longjmp), used from Swift directly. */
#include <jxl/decode.h>
#include <jxl/encode.h>
#include <jxl/thread_parallel_runner.h>
