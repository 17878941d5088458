// kl::smp::parallel_for in the kernel (see parallel.h): the boot core leads the work team
// that smp.kernel.cpp built; each job's fn is wrapped so that a core first applies any
// pending mappings_changed() (a CR3 reload) before it runs code or touches memory whose
// mapping the boot core changed.
#include "kernel_lib/smp/parallel.h"

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/smp/percpu.h"

extern "C" u32 smp_gs_read32(u64 offset);

namespace kl::smp {

namespace {

u32 g_limit = 0;
u32 g_mappings_epoch = 0;
bool g_in_job = false;  // the boot core is inside parallel_for

struct Wrapped {
    RangeFn fn;
    void* ctx;
};

void run_wrapped(void* context, u64 begin, u64 end, u32 member)
{
    auto* w = static_cast<Wrapped*>(context);
    if (member != 0) {
        PerCpu& c = cpu(member);
        u32 epoch = __atomic_load_n(&g_mappings_epoch, __ATOMIC_ACQUIRE);
        if (c.mappings_epoch != epoch) {
            x86::write_cr3(x86::read_cr3());  // flushes the TLB; serialising, like CPUID
            c.mappings_epoch = epoch;
        }
    }
    w->fn(w->ctx, begin, end, member);
}

}

u32 mappings_epoch_now() { return __atomic_load_n(&g_mappings_epoch, __ATOMIC_ACQUIRE); }

void mappings_changed() { __atomic_add_fetch(&g_mappings_epoch, 1, __ATOMIC_RELEASE); }

u32 current_cpu() { return per_cpu_ready() ? smp_gs_read32(offsetof(PerCpu, index)) : 0; }

void parallel_for(u64 count, RangeFn fn, void* ctx, u64 align)
{
    if (count == 0)
        return;
    u32 self = current_cpu();
    if (self != 0 || g_in_job) {
        // Nested (from inside a job) or from another core: the whole range, here.
        fn(ctx, 0, count, self);
        return;
    }
    g_in_job = true;
    Wrapped wrapped { fn, ctx };
    team().run(count, align, run_wrapped, &wrapped);
    g_in_job = false;
}

u32 core_count() { return team().participants(); }
u32 cores_online() { return team().members(); }

void set_core_limit(u32 limit)
{
    g_limit = limit;
    team().set_limit(limit);
}

u32 core_limit() { return g_limit; }

const CoreStats* core_stats() { return team().stats(); }
void reset_core_stats() { team().reset_stats(); }

}
