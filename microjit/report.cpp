// The profile report (see report.h).
#include "microjit/report.h"

#include <stdio.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/text/json.h"
#include "microjit/profiler.h"

namespace mjit {

namespace {

const char* tier_name(const KernelSlot& s) { return s.tier == Tier::Jit ? "jit" : "ref"; }

double slot_cycles(const KernelSlot& s) { return s.ref.estimated_cycles() + s.jit.estimated_cycles(); }

double speedup(const KernelSlot& s)
{
    return s.tier == Tier::Jit && s.jit.mean() > 0.0 && s.ref.mean() > 0.0 ? s.ref.mean() / s.jit.mean() : 1.0;
}

void shape_text(const KernelSlot& s, char* out, usize size)
{
    if (s.shape.t > 1)
        snprintf(out, size, "%ux%u t%u", s.shape.d, s.shape.n, s.shape.t);
    else
        snprintf(out, size, "%ux%u", s.shape.d, s.shape.n);
}

}

void reset_profile(Dispatcher& dispatcher)
{
    // Call counts (and the time they add up to) start again; the per-call timings stay, so
    // the speedup of a kernel tuned before the reset is still reported.
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        KernelSlot& s = dispatcher.slot_at(i);
        s.ref.calls = 0;
        s.jit.calls = 0;
    }
    reset_phases();
    kl::smp::reset_core_stats();
}

void print_profile(Dispatcher& dispatcher, const ReportContext& context)
{
    double total = 0.0;
    u64 timed_pairs = 0;
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        const KernelSlot& s = dispatcher.slot_at(i);
        total += slot_cycles(s);
        timed_pairs += s.ref.timed_calls + s.jit.timed_calls;
    }
    for (const PhaseCounter& p : g_phases)
        total += static_cast<double>(p.cycles);
    if (total <= 0.0)
        total = 1.0;

    kl::print("profile (micro-JIT %s, isa %s): kernels and phases by share of the measured time\n",
        context.jit_enabled ? "on" : "off", context.isa);
    kl::print("  %-26s %-12s %8s %4s %12s %12s %8s %6s  %s\n", "kernel", "shape", "calls", "tier", "ref cyc/call",
        "jit cyc/call", "speedup", "share", "generated kernel / why tier 0");
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        const KernelSlot& s = dispatcher.slot_at(i);
        char shape[32];
        shape_text(s, shape, sizeof(shape));
        kl::print("  %-26s %-12s %8llu %4s %12.1f %12.1f %7.2fx %5.1f%%  %s\n", s.name, shape,
            static_cast<unsigned long long>(s.ref.calls + s.jit.calls), tier_name(s), s.ref.mean(), s.jit.mean(),
            speedup(s), 100.0 * slot_cycles(s) / total, s.tier == Tier::Jit ? s.config_name : s.reason);
    }
    for (int p = 0; p < static_cast<int>(Phase::Count); ++p) {
        const PhaseCounter& c = g_phases[p];
        if (c.calls == 0)
            continue;
        kl::print("  %-26s %-12s %8llu %4s %12.1f %12s %8s %5.1f%%\n", phase_name(static_cast<Phase>(p)), "(phase)",
            static_cast<unsigned long long>(c.calls), "-", static_cast<double>(c.cycles) / static_cast<double>(c.calls),
            "", "", 100.0 * static_cast<double>(c.cycles) / total);
    }
    double overhead = context.generation_cycles > 0.0
        ? 100.0 * static_cast<double>(timed_pairs) * timing_pair_cycles() / context.generation_cycles
        : 0.0;
    kl::print("  profiler overhead: %llu timed calls x %.0f cycles = %.3f%% of the run; generated code %llu bytes\n",
        static_cast<unsigned long long>(timed_pairs), timing_pair_cycles(), overhead,
        static_cast<unsigned long long>(context.code_bytes));
    // Time per core in the split work (matrix rows, attention heads, quantization); core 0
    // also waits at the barriers for the others to finish their ranges.
    const u32 cores = kl::smp::cores_online();
    const kl::smp::CoreStats* per_core = kl::smp::core_stats();
    for (u32 c = 0; cores > 1 && c < cores; ++c) {
        kl::print("  core %u: %llu parallel jobs, %.1f Mcycles in them", c,
            static_cast<unsigned long long>(per_core[c].jobs), static_cast<double>(per_core[c].job_cycles) / 1e6);
        if (c == 0)
            kl::print(", %.1f Mcycles waiting at barriers", static_cast<double>(per_core[c].wait_cycles) / 1e6);
        kl::print("\n");
    }

    // The machine-readable line: one object, every kernel row and phase in it.
    kl::print("@profile {\"jit\": \"%s\", \"isa\": \"%s\", \"profiler_overhead_pct\": %.4f, \"code_bytes\": %llu, "
              "\"kernels\": [",
        context.jit_enabled ? "on" : "off", context.isa, overhead, static_cast<unsigned long long>(context.code_bytes));
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        const KernelSlot& s = dispatcher.slot_at(i);
        char shape[32], reason[256];
        snprintf(shape, sizeof(shape), "n%u_d%u_t%u_gs%u", s.shape.n, s.shape.d, s.shape.t, s.shape.gs);
        kl::json_escape(s.reason, reason, sizeof(reason));
        kl::print("%s{\"kernel\": \"%s\", \"op\": \"%s\", \"shape\": \"%s\", \"n\": %u, \"d\": %u, \"t\": %u, \"gs\": %u, "
                  "\"calls\": %llu, \"tier\": \"%s\", \"ref_cycles\": %.1f, \"jit_cycles\": %.1f, \"speedup\": %.3f, "
                  "\"share\": %.4f, \"config\": \"%s\", \"reason\": \"%s\"",
            i ? ", " : "", s.name, op_name(s.op), shape, s.shape.n, s.shape.d, s.shape.t, s.shape.gs,
            static_cast<unsigned long long>(s.ref.calls + s.jit.calls), tier_name(s), s.ref.mean(), s.jit.mean(),
            speedup(s), slot_cycles(s) / total, s.tier == Tier::Jit ? s.config_name : "", reason);
        if (s.tier == Tier::Jit)
            kl::print(", \"isa\": \"%s\", \"rows\": %u, \"tokens\": %u, \"unroll\": %u, \"flags\": %u, \"prefetch\": %u",
                kl::cpu::isa_name(s.config.isa), s.config.rows, s.config.tokens, s.config.unroll, s.config.flags,
                s.config.prefetch);
        kl::print("}");
    }
    kl::print("], \"phases\": [");
    bool first = true;
    for (int p = 0; p < static_cast<int>(Phase::Count); ++p) {
        const PhaseCounter& c = g_phases[p];
        if (c.calls == 0)
            continue;
        kl::print("%s{\"phase\": \"%s\", \"calls\": %llu, \"cycles\": %llu, \"share\": %.4f}", first ? "" : ", ",
            phase_name(static_cast<Phase>(p)), static_cast<unsigned long long>(c.calls),
            static_cast<unsigned long long>(c.cycles), static_cast<double>(c.cycles) / total);
        first = false;
    }
    kl::print("], \"cores\": [");
    for (u32 c = 0; c < cores; ++c)
        kl::print("%s{\"cpu\": %u, \"jobs\": %llu, \"job_cycles\": %llu, \"wait_cycles\": %llu}", c ? ", " : "", c,
            static_cast<unsigned long long>(per_core[c].jobs), static_cast<unsigned long long>(per_core[c].job_cycles),
            static_cast<unsigned long long>(per_core[c].wait_cycles));
    kl::print("]}\n");
}

}
