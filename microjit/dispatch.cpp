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

const char* op_name(Op op)
{
    switch (op) {
    case Op::MatvecF32: return "matvec_f32";
    case Op::MatvecQ8: return "matvec_q8";
    case Op::MatmulF32: return "matmul_f32";
    case Op::MatmulQ8: return "matmul_q8";
    }
    return "?";
}

void format_kernel_name(char* buffer, usize size, Op op, Shape shape)
{
    int used = snprintf(buffer, size, "%s_n%u_d%u", op_name(op), shape.n, shape.d);
    if (shape.t > 1 && used > 0 && static_cast<usize>(used) < size)
        used += snprintf(buffer + used, size - used, "_t%u", shape.t);
    if (op_is_q8(op) && used > 0 && static_cast<usize>(used) < size)
        snprintf(buffer + used, size - used, "_gs%u", shape.gs);
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

KernelSlot* Dispatcher::slot(Op op, Shape shape)
{
    for (int i = 0; i < m_count; ++i) {
        if (m_slots[i].op == op && m_slots[i].shape == shape)
            return &m_slots[i];
    }
    VERIFY(m_count < max_slots);
    KernelSlot& s = m_slots[m_count++];
    s.op = op;
    s.shape = shape;
    s.reference = ref::kernel_for(op);
    s.fn = s.reference;
    format_kernel_name(s.name, sizeof(s.name), op, shape);
    s.split = static_cast<u64>(shape.n) * shape.d * shape.t >= split_threshold_macs;
    s.tiering = m_tiering;
    s.settled = !m_tiering || !m_tiering->options().enabled;
    return &s;
}

void Dispatcher::attach(Tiering* tiering)
{
    m_tiering = tiering;
    for (int i = 0; i < m_count; ++i) {
        KernelSlot& s = m_slots[i];
        if (s.tier == Tier::Jit)
            continue;
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
    (slot.tier == Tier::Jit ? slot.jit : slot.ref).record(cycles);
    if (slot.settled)
        slot.skip = sample_interval(slot) - 1;
}

}
