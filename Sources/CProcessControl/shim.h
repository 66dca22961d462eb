#pragma once
#include <signal.h>
#include <sys/prctl.h>

// prctl is variadic, which Swift cannot call.
static inline int cprocess_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

static inline int cprocess_become_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);
}
