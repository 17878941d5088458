// The engine measuring itself (the kernel's MODE=bench and bareflow-host --bench): the
// single-core streaming-read bandwidth first, then for every variant (cores, prefill
// block) a fresh tuning, a warm-up generation so the JIT settles, and `runs` timed
// generations of `steps` tokens whose text is counted but not printed (the console would
// be measured otherwise). Prints through kl::print one `@bench {...}` line per run,
// `@stats {...}` with the medians, the weight stream's effective GB/s and its share of the
// measured bandwidth, and the `@profile` line of each variant.
#pragma once

#include "tinyllama/engine.h"

namespace tllama {

struct BenchPlan {
    const char* prompt = "";
    u32 steps = 200;               // 0: 200
    u32 runs = 3;                  // timed generations per variant (the median is reported)
    u32 warmup = 48;               // steps generated first in each variant (more when the prompt is longer)
    static constexpr u32 max_variants = 4;
    u32 cores[max_variants] {};    // core counts to try (0 = all), in turn
    u32 cores_count = 1;
    u32 prefill[max_variants] {};  // prefill blocks to try (0 = token by token)
    u32 prefill_count = 1;
};

// Runs every (prefill, cores) variant; returns the exit status (0 on success).
int run_bench(Engine& engine, const BenchPlan& plan);

}
