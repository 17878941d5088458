// The profile report: a table per kernel shape (calls, cycles per call on tier 0 and on the
// JIT tier, speedup, share of time, the chosen kernel or why there is none) and per
// phase, on the console, and one `@profile {json}` line for scripts (profile-report).
#pragma once

#include "microjit/dispatch.h"

namespace mjit {

struct ReportContext {
    const char* isa;           // the ISA the JIT targeted ("avx2", or "off")
    bool jit_enabled;
    double generation_cycles;  // of the run being reported (for the overhead figure)
    u64 code_bytes;            // of generated kernels
};

void print_profile(Dispatcher& dispatcher, const ReportContext& context);

// Starts the call counts and the phases again (after a warm-up, between console runs);
// the per-call timings of each tier are kept.
void reset_profile(Dispatcher& dispatcher);

}
