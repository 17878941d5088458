// The profile report (see report.h).
#include "microjit/report.h"

#include <stdio.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/text/json.h"

namespace mjit {

namespace {

double slot_cycles(const KernelSlot& s) { return s.ref.estimated_cycles() + s.jit.estimated_cycles(); }

double speedup(const KernelSlot& s)
{
    return s.tier != Tier::Reference && s.jit.mean() > 0.0 && s.ref.mean() > 0.0 ? s.ref.mean() / s.jit.mean() : 1.0;
}

void shape_text(const KernelSlot& s, char* out, usize size)
{
    if (s.op.kind == OpKind::Copy)
        snprintf(out, size, "%u bytes", s.shape.n);
    else if (s.shape.t > 1)
        snprintf(out, size, "%ux%u t%u", s.shape.d, s.shape.n, s.shape.t);
    else
        snprintf(out, size, "%ux%u", s.shape.d, s.shape.n);
}

// The kernel serving a slot, and why it is not a better one when there is a reason.
const char* serving_text(const KernelSlot& s, char* out, usize size)
{
    if (s.tier == Tier::Reference)
        return s.reason;
    snprintf(out, size, "%s%s%s", s.config_name, s.reason[0] ? " -- " : "", s.reason);
    return out;
}

// Every slot's and phase's cycles, for the shares.
double total_cycles(Dispatcher& dispatcher, const PhaseTable& phases)
{
    double total = 0.0;
    for (int i = 0; i < dispatcher.slot_count(); ++i)
        total += slot_cycles(dispatcher.slot_at(i));
    for (u32 p = 0; p < phases.count; ++p)
        total += static_cast<double>(phases.counters[p].cycles);
    return total > 0.0 ? total : 1.0;
}

double overhead_percent(Dispatcher& dispatcher, const ReportContext& context)
{
    u64 timed_pairs = 0;
    for (int i = 0; i < dispatcher.slot_count(); ++i)
        timed_pairs += dispatcher.slot_at(i).ref.timed_calls + dispatcher.slot_at(i).jit.timed_calls;
    return context.generation_cycles > 0.0
        ? 100.0 * static_cast<double>(timed_pairs) * timing_pair_cycles() / context.generation_cycles
        : 0.0;
}

void print_table(Dispatcher& dispatcher, const ReportContext& context, double total)
{
    kl::print("  %-30s %-12s %8s %7s %12s %12s %8s %6s  %s\n", "kernel", "shape", "calls", "tier", "ref cyc/call",
        "jit cyc/call", "speedup", "share", "generated kernel / why not (better)");
    for (int i = 0; i < dispatcher.slot_count(); ++i) {
        const KernelSlot& s = dispatcher.slot_at(i);
        char shape[32], serving[220];
        shape_text(s, shape, sizeof(shape));
        kl::print("  %-30s %-12s %8llu %7s %12.1f %12.1f %7.2fx %5.1f%%  %s\n", s.name, shape,
            static_cast<unsigned long long>(s.ref.calls + s.jit.calls), tier_name(s.tier), s.ref.mean(), s.jit.mean(),
            speedup(s), 100.0 * slot_cycles(s) / total, serving_text(s, serving, sizeof(serving)));
    }
    const PhaseTable& phases = context.phases;
    for (u32 p = 0; p < phases.count; ++p) {
        const PhaseCounter& c = phases.counters[p];
        if (c.calls == 0)
            continue;
        kl::print("  %-30s %-12s %8llu %7s %12.1f %12s %8s %5.1f%%\n", phases.names[p], "(phase)",
            static_cast<unsigned long long>(c.calls), "-", static_cast<double>(c.cycles) / static_cast<double>(c.calls),
            "", "", 100.0 * static_cast<double>(c.cycles) / total);
    }
}

// Time per core in the split work (matrix rows, attention heads, quantization); core 0
// also waits at the barriers for the others to finish their ranges.
void print_cores()
{
    const u32 cores = kl::smp::cores_online();
    const kl::smp::CoreStats* per_core = kl::smp::core_stats();
    for (u32 c = 0; cores > 1 && c < cores; ++c) {
        kl::print("  core %u: %llu parallel jobs, %.1f Mcycles in them", c,
            static_cast<unsigned long long>(per_core[c].jobs), static_cast<double>(per_core[c].job_cycles) / 1e6);
        if (c == 0)
            kl::print(", %.1f Mcycles waiting at barriers", static_cast<double>(per_core[c].wait_cycles) / 1e6);
        kl::print("\n");
    }
}

void print_kernel_json(const KernelSlot& s, double total, bool first)
{
    char shape[48], reason[256], op[32];
    snprintf(shape, sizeof(shape), "n%u_d%u_t%u_gs%u", s.shape.n, s.shape.d, s.shape.t, s.shape.gs);
    kl::json_escape(s.reason, reason, sizeof(reason));
    format_op_name(op, sizeof(op), s.op);
    kl::print("%s{\"kernel\": \"%s\", \"op\": \"%s\", \"shape\": \"%s\", \"n\": %u, \"d\": %u, \"t\": %u, \"gs\": %u, "
              "\"calls\": %llu, \"tier\": \"%s\", \"ref_cycles\": %.1f, \"jit_cycles\": %.1f, \"default_cycles\": %.1f, "
              "\"speedup\": %.3f, \"share\": %.4f, \"config\": \"%s\", \"reason\": \"%s\"",
        first ? "" : ", ", s.name, op, shape, s.shape.n, s.shape.d, s.shape.t, s.shape.gs,
        static_cast<unsigned long long>(s.ref.calls + s.jit.calls), tier_name(s.tier), s.ref.mean(), s.jit.mean(),
        s.default_cycles, speedup(s), slot_cycles(s) / total, s.tier != Tier::Reference ? s.config_name : "", reason);
    if (s.tier != Tier::Reference)
        kl::print(", \"isa\": \"%s\", \"rows\": %u, \"tokens\": %u, \"unroll\": %u, \"flags\": %u, \"prefetch\": %u",
            kl::cpu::isa_name(s.config.isa), s.config.rows, s.config.tokens, s.config.unroll, s.config.flags,
            s.config.prefetch);
    kl::print("}");
}

// The machine-readable line: one object, every kernel row, phase and core in it.
void print_json(Dispatcher& dispatcher, const ReportContext& context, double total, double overhead)
{
    kl::print("@profile {\"jit\": \"%s\", \"isa\": \"%s\", \"profiler_overhead_pct\": %.4f, \"code_bytes\": %llu, "
              "\"kernels\": [",
        context.jit_enabled ? "on" : "off", context.isa, overhead, static_cast<unsigned long long>(context.code_bytes));
    for (int i = 0; i < dispatcher.slot_count(); ++i)
        print_kernel_json(dispatcher.slot_at(i), total, i == 0);
    kl::print("], \"phases\": [");
    bool first = true;
    for (u32 p = 0; p < context.phases.count; ++p) {
        const PhaseCounter& c = context.phases.counters[p];
        if (c.calls == 0)
            continue;
        kl::print("%s{\"phase\": \"%s\", \"calls\": %llu, \"cycles\": %llu, \"share\": %.4f}", first ? "" : ", ",
            context.phases.names[p], static_cast<unsigned long long>(c.calls), static_cast<unsigned long long>(c.cycles),
            static_cast<double>(c.cycles) / total);
        first = false;
    }
    kl::print("], \"cores\": [");
    const kl::smp::CoreStats* per_core = kl::smp::core_stats();
    for (u32 c = 0; c < kl::smp::cores_online(); ++c)
        kl::print("%s{\"cpu\": %u, \"jobs\": %llu, \"job_cycles\": %llu, \"wait_cycles\": %llu}", c ? ", " : "", c,
            static_cast<unsigned long long>(per_core[c].jobs), static_cast<unsigned long long>(per_core[c].job_cycles),
            static_cast<unsigned long long>(per_core[c].wait_cycles));
    kl::print("]}\n");
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
    kl::smp::reset_core_stats();
}

void print_profile(Dispatcher& dispatcher, const ReportContext& context)
{
    const double total = total_cycles(dispatcher, context.phases);
    const double overhead = overhead_percent(dispatcher, context);
    kl::print("profile (micro-JIT %s, isa %s): kernels and phases by share of the measured time\n",
        context.jit_enabled ? "on" : "off", context.isa);
    print_table(dispatcher, context, total);
    kl::print("  profiler overhead: %.3f%% of the run (%.0f cycles per timed call); generated code %llu bytes\n",
        overhead, timing_pair_cycles(), static_cast<unsigned long long>(context.code_bytes));
    print_cores();
    print_json(dispatcher, context, total, overhead);
}

}
