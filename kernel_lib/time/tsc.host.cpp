// Host TSC calibration against CLOCK_MONOTONIC_RAW (about 20 ms, once).
#include <time.h>

#include "kernel_lib/time/tsc.h"

namespace kl::time {

namespace {

u64 g_tsc_hz = 0;

u64 monotonic_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return static_cast<u64>(ts.tv_sec) * 1000000000ull + static_cast<u64>(ts.tv_nsec);
}

}

u64 tsc_hz()
{
    if (g_tsc_hz == 0) {
        u64 best = 0;
        // The shortest of three 5 ms windows is the least disturbed by preemption.
        u64 best_ns = ~0ull;
        for (int i = 0; i < 3; ++i) {
            u64 t0 = monotonic_ns();
            u64 c0 = rdtsc_begin();
            while (monotonic_ns() - t0 < 5000000) { }
            u64 c1 = rdtsc_end();
            u64 t1 = monotonic_ns();
            if (t1 - t0 < best_ns) {
                best_ns = t1 - t0;
                best = (c1 - c0) * 1000000000ull / (t1 - t0);
            }
        }
        g_tsc_hz = best;
    }
    return g_tsc_hz;
}

const char* tsc_source() { return "clock_gettime"; }

}
