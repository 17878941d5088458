// Work distribution over every core: kl::smp::parallel_for and the core count.
//
// parallel_for(count, fn, ctx, align) cuts [0, count) into one contiguous range per core
// in use (the calling boot core takes the first), calls fn(ctx, begin, end, cpu) on each
// core at the same time and returns when all are done. Ranges are multiples of `align`
// items (except where `count` ends them) and depend only on count, align and core_count():
// the same core count always gives the same split, so results are reproducible.
// Lock-free underneath (kernel_lib/smp/work_team.h): workers poll a generation counter.
//
// Rules for fn: it runs on any core, with interrupts off, on a 64 KiB stack; it must not
// print, allocate, or call parallel_for (a nested call runs its whole range on the calling
// core). The ranges of one call must not write to the same cache lines if speed matters.
//
// In the kernel the cores are those kl::smp::init started (kernel_lib/smp/smp.h); on the
// host (bareflow-host, tests) parallel_for runs serially on the calling thread and
// core_count() is 1.
#pragma once

#include "kernel_lib/smp/work_team.h"

namespace kl::smp {

void parallel_for(u64 count, RangeFn fn, void* ctx, u64 align = 1);

// The one rule for when a piece of work is worth splitting across the cores: a hand-off
// and the barrier cost about as much as 2000 multiply-adds on one core, so below this
// much work (in multiply-add equivalents: a matrix product counts n * d * t, attention
// 2 * positions * dim, quantization 16 per value) one core does it alone.
constexpr u64 split_min_work = 32768;

// Cores parallel_for uses now: the online cores, capped by set_core_limit (>= 1).
u32 core_count();
// See split_min_work.
inline bool worth_splitting(u64 work) { return work >= split_min_work && core_count() > 1; }

// Cores that are up and serving, whatever the limit.
u32 cores_online();
// Caps the cores parallel_for uses (the boot setting cores=N); 0 removes the cap. Call it
// from the boot core between parallel_for calls.
void set_core_limit(u32 limit);
u32 core_limit();

// The index of the calling core: 0 for the boot core, 1.. for the others (0 before init).
u32 current_cpu();

// Per-core profile, cores_online() entries, indexed like `cpu` in fn: cycles spent in fn,
// jobs, items; entry 0's wait_cycles is the boot core's time at the barrier.
const CoreStats* core_stats();
void reset_core_stats();

// Call after changing page protections (kl::mem::protect) or writing code that other
// cores will execute: before its next job every other core reloads CR3, which flushes its
// TLB and serialises its instruction stream. No effect on the host.
void mappings_changed();

}
