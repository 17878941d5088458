// kl::smp on the host (see parallel.h): one core, parallel_for is a plain call on the
// calling thread. The shared job protocol (work_team.cpp) is tested with real threads in
// tests/host/kernel_lib/smp_parallel_test.cpp; the host tool does not spin threads up.
#include "kernel_lib/smp/parallel.h"

#include "kernel_lib/arch/x86_64/cpu.h"

namespace kl::smp {

namespace {

CoreStats g_stats[1];

}

void parallel_for(u64 count, RangeFn fn, void* ctx, u64)
{
    if (count == 0)
        return;
    u64 start = x86::rdtsc();
    fn(ctx, 0, count, 0);
    g_stats[0].job_cycles += x86::rdtsc() - start;
    g_stats[0].jobs += 1;
    g_stats[0].items += count;
}

u32 core_count() { return 1; }
u32 cores_online() { return 1; }
void set_core_limit(u32) {}
u32 core_limit() { return 0; }
u32 current_cpu() { return 0; }
const CoreStats* core_stats() { return g_stats; }
void reset_core_stats() { g_stats[0] = CoreStats {}; }
void mappings_changed() {}

}
