// The cost of a timing pair (see profiler.h).
#include "microjit/profiler.h"

#include "kernel_lib/time/tsc.h"

namespace mjit {

double timing_pair_cycles()
{
    static double cost = 0.0;
    if (cost == 0.0) {
        // The cheapest of a few trials of 256 back-to-back pairs.
        volatile u64 sink = 0;
        u64 best = ~0ull;
        for (int trial = 0; trial < 8; ++trial) {
            u64 start = kl::time::rdtsc_begin();
            for (int i = 0; i < 256; ++i) {
                u64 a = kl::time::rdtsc_begin();
                sink = kl::time::rdtsc_end() - a;
            }
            u64 spent = kl::time::rdtsc_end() - start;
            if (spent < best)
                best = spent;
        }
        cost = static_cast<double>(best) / 256.0;
        (void)sink;
    }
    return cost;
}

}
