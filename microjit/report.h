// The profile report: a table per kernel shape (calls, cycles per call on tier 0 and on the
// generated kernel, speedup, share of time, the kernel serving it and its tier, or why it
// has none) and per application phase, on the console, and one `@profile {json}` line for
// scripts (profile-report).
#pragma once

#include "microjit/dispatch.h"
#include "microjit/profiler.h"

namespace mjit {

struct ReportContext {
    const char* isa;           // the ISA the JIT targeted ("avx2", or "off")
    bool jit_enabled;
    double generation_cycles;  // of the run being reported (for the overhead figure)
    u64 code_bytes;            // of generated kernels
    PhaseTable phases;         // the application's phases (count 0: none)
};

void print_profile(Dispatcher& dispatcher, const ReportContext& context);

// Starts the call counts again (after a warm-up, between console runs); the per-call
// timings of each tier are kept. The application resets its phases itself.
void reset_profile(Dispatcher& dispatcher);

}
