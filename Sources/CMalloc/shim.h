#pragma once
#include <malloc.h>

// M_PERTURB is a macro; mallopt's options are not imported by Swift's Glibc module.
static inline int cmalloc_set_perturb(int byte) { return mallopt(M_PERTURB, byte); }

// M_ARENA_MAX likewise.
static inline int cmalloc_set_arena_max(int count) { return mallopt(M_ARENA_MAX, count); }
