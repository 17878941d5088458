// MODE=bench: the kernel measures itself. The streaming-read bandwidth first, then a
// warm-up generation (the JIT tunes every kernel shape), then `bench_runs` timed
// generations of `steps` tokens whose text is counted but not printed (the console would be
// measured otherwise). Prints one `@bench {...}` line per run, `@stats {...}` with the
// medians, the weight stream's effective GB/s and its share of the measured bandwidth, and
// the `@profile` line.
#pragma once

#include "kernel_lib/boot/bootinfo.h"
#include "tinyllama/kernel_app/boot_settings.h"
#include "tinyllama/kernel_app/story.h"

namespace tllama {

// Returns the exit status (0 on success).
int run_bench(Engine& engine, const BootSettings& settings);

}
