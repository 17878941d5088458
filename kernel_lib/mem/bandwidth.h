// The single-core streaming-read bandwidth of this machine, measured by the program itself:
// the yardstick the benchmarks compare the weight stream against (a matvec over weights
// larger than the caches cannot beat it).
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::mem {

struct Bandwidth {
    double gb_per_s;   // best of the passes, 1e9 bytes per second
    u64 bytes;         // bytes read per pass
    const char* isa;   // the loop used ("avx2", "sse2")
};

// Reads `bytes` at `buffer` (64-byte aligned, at least 1 MiB) `passes` times and reports the
// fastest pass. The buffer is written first so its pages are really there.
Bandwidth measure_read_bandwidth(void* buffer, u64 bytes, int passes);

}
