// Dispatcher slots and the timed call path (see dispatch.h).
#include "microjit/dispatch.h"

#include <stdio.h>

#include "kernel_lib/base/error.h"
#include "kernel_lib/smp/parallel.h"
#include "kernel_lib/time/tsc.h"
#include "microjit/reference.h"
#include "microjit/tiering.h"

namespace mjit {

namespace {

constexpr u32 default_sample_interval = 16;

u32 sample_interval(const KernelSlot& slot)
{
    return slot.tiering ? slot.tiering->options().sample_interval : default_sample_interval;
}

}

const char* tier_name(Tier tier)
{
    switch (tier) {
    case Tier::Reference: return "ref";
    case Tier::Default: return "default";
    case Tier::Tuned: return "tuned";
    }
    return "?";
}

void format_kernel_name(char* buffer, usize size, Op op, Shape shape)
{
    char name[32];
    format_op_name(name, sizeof(name), op);
    int used = snprintf(buffer, size, "%s_n%u", name, shape.n);
    auto append = [&](const char* fmt, u32 value) {
        if (used > 0 && static_cast<usize>(used) < size)
            used += snprintf(buffer + used, size - used, fmt, value);
    };
    if (is_matrix(op))
        append("_d%u", shape.d);
    if (shape.t > 1)
        append("_t%u", shape.t);
    if (is_q8g(op) && op.kind != OpKind::Copy)
        append("_gs%u", shape.gs);
}

u64 call_work(Op op, Shape shape)
{
    switch (op.kind) {
    case OpKind::Matvec:
    case OpKind::Matmul: return static_cast<u64>(shape.n) * shape.d * shape.t;
    case OpKind::Quantize: return 16ull * shape.n * shape.t;
    case OpKind::Copy: return 0;  // one contiguous range: never split
    }
    return 0;
}

void TierProfile::record(u64 cycles)
{
    ++calls;
    note(cycles);
}

void TierProfile::note(u64 cycles)
{
    ++timed_calls;
    timed_cycles += cycles;
    if (min_cycles == 0 || cycles < min_cycles)
        min_cycles = cycles;
    if (cycles > max_cycles)
        max_cycles = cycles;
}

KernelSlot* Dispatcher::slot(Op op, Shape shape, SampleWeights sample)
{
    for (int i = 0; i < m_count; ++i) {
        if (m_slots[i].op == op && m_slots[i].shape == shape)
            return &m_slots[i];
    }
    VERIFY(m_count < max_slots);
    KernelSlot& s = m_slots[m_count++];
    s.op = op;
    s.shape = shape;
    s.sample = sample;
    s.reference = ref::kernel_for(op);
    VERIFY(s.reference != nullptr);
    s.fn = s.reference;
    format_kernel_name(s.name, sizeof(s.name), op, shape);
    // Static: whether the work could pay for a split; run_split itself does nothing
    // special on one core.
    s.split = call_work(op, shape) >= kl::smp::split_min_work;
    s.tiering = m_tiering;
    s.settled = !m_tiering || !m_tiering->options().enabled;
    return &s;
}

void Dispatcher::attach(Tiering* tiering)
{
    m_tiering = tiering;
    for (int i = 0; i < m_count; ++i) {
        KernelSlot& s = m_slots[i];
        if (s.tier == Tier::Tuned)
            continue;  // keeps serving its kernel
        s.tiering = tiering;
        s.settled = !tiering || !tiering->options().enabled;
    }
}

namespace {

struct SplitJob {
    KernelFn fn;
    const KernelArgs* args;
};

void run_rows(void* context, u64 begin, u64 end, u32)
{
    auto* job = static_cast<SplitJob*>(context);
    KernelArgs part = *job->args;
    part.row_begin = job->args->row_begin + begin;
    part.row_end = job->args->row_begin + end;
    job->fn(&part);
}

}

void run_split(KernelFn fn, const KernelArgs& args)
{
    SplitJob job { fn, &args };
    // Ranges of 16 rows: whole cache lines of output per core, and whole row blocks of
    // the generated kernels (which handle any remainder anyway).
    kl::smp::parallel_for(args.row_end - args.row_begin, run_rows, &job, 16);
}

void call_timed(KernelSlot& slot, const KernelArgs& args)
{
    if (!slot.settled && slot.tiering && slot.tiering->step(slot, args))
        return;
    KernelFn fn = __atomic_load_n(&slot.fn, __ATOMIC_ACQUIRE);
    u64 begin = kl::time::rdtsc_begin();
    run(slot, fn, args);
    u64 cycles = kl::time::rdtsc_end() - begin;
    slot.current().record(cycles);
    if (slot.settled)
        slot.skip = sample_interval(slot) - 1;
}

}
