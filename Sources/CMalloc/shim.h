#pragma once
#include <malloc.h>

// M_PERTURB is a macro; mallopt's options are not imported by Swift's Glibc module.
static inline int cmalloc_set_perturb(int byte) { return mallopt(M_PERTURB, byte); }

// M_ARENA_MAX, M_MMAP_MAX and M_TRIM_THRESHOLD likewise.
static inline int cmalloc_set_arena_max(int count) { return mallopt(M_ARENA_MAX, count); }
static inline int cmalloc_set_mmap_max(int count) { return mallopt(M_MMAP_MAX, count); }
static inline int cmalloc_set_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }
