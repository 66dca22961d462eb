#pragma once
#include <malloc.h>

// M_PERTURB is a macro; mallopt's options are not imported by Swift's Glibc module.
static inline int cmalloc_set_perturb(int byte) { return mallopt(M_PERTURB, byte); }
