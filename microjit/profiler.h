// What the profile report needs besides the dispatcher's slots: the cost of one timing
// pair (the profiler's own overhead), and the application's phase counters (the parts of
// its work that are not dispatched kernels, named by the application: microjit knows
// nothing of what they are).
#pragma once

#include "kernel_lib/base/types.h"

namespace mjit {

struct PhaseCounter {
    u64 calls;
    u64 cycles;
};

// The application's phases: `count` names and counters, index for index.
struct PhaseTable {
    const char* const* names;
    PhaseCounter* counters;
    u32 count;
};

// Cycles one fenced timing pair costs (measured once), for the profiler's own overhead.
double timing_pair_cycles();

}
