// The self-optimisation loop: which kernel serves each dispatcher slot, decided by
// measurement on the program's own calls.
//
// Per slot: tier 0 (the reference kernel) serves and is timed. Once the slot is hot
// (`hot_calls` calls and `hot_cycles` cycles spent on it), tuning starts: each candidate
// config (candidates.h: rows in flight, unroll, prefetch, ISA) is generated on a live call
// that the reference serves, run once under the fault guard into a scratch buffer and
// compared with the reference's output bit for bit (generated kernels follow the
// reference's summation order exactly), then serves `tune_calls` further live calls itself,
// timed on them (so it is timed on the caches as the program leaves them, like the
// reference). The fastest verified candidate is published by an atomic pointer swap if it
// beats the reference; otherwise, and on every failure (fault, mismatch, arena full,
// nothing to generate), the slot stays on tier 0 and the reason is recorded for the report.
//
// Warm start: decisions of an earlier run (profile payload) are generated and verified on
// sample inputs before the first token, so the first token already runs on them.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/debug/fault_guard.h"
#include "microjit/dispatch.h"
#include "microjit/kernel_config.h"

namespace mjit {

class CodeCache;

struct TieringOptions {
    bool enabled = true;          // false: tier 0 throughout (JIT=off), still profiled
    u32 hot_calls = 4;            // calls on tier 0 before tuning may start
    u64 hot_cycles = 100000;      // ... and cycles spent on them
    u32 tune_calls = 3;           // timed live calls per candidate
    u32 max_candidates = 8;
    u32 sample_interval = 16;     // once settled, one call in this many is timed
    // The weights are read from memory on every call, whatever a matrix's own size, because
    // the model's weights together exceed the CPU caches (the engine sets this): streaming
    // variants (stripes, prefetch) join the candidates of small matrices too.
    bool weights_streamed = false;
};

// What the tiering layer needs from the outside world; tests replace these to inject
// failures (generation errors, faulting or wrong kernels).
struct TieringHooks {
    kl::ErrorOr<KernelFn> (*obtain)(void* context, const KernelConfig& config);
    void (*discard)(void* context, const KernelConfig& config);  // never-published kernels
    usize (*candidates)(void* context, Op op, Shape shape, bool streamed, KernelConfig* out, usize capacity);
    void* context;
};

class Tiering {
public:
    // Kernels come from `cache` (generated there, freed there when they lose).
    Tiering(CodeCache& cache, const TieringOptions& options);
    // For tests: everything through `hooks`.
    Tiering(const TieringHooks& hooks, const TieringOptions& options);

    const TieringOptions& options() const { return m_options; }
    // Applies to slots that start tuning from now on.
    void set_weights_streamed(bool streamed) { m_options.weights_streamed = streamed; }

    // Called by call_timed for slots that have not settled; true when it served the call.
    bool step(KernelSlot& slot, const KernelArgs& args);

    // Publishes `config` for the slot at once, after verifying it on `sample` (whose
    // `out` receives the reference result). On failure the slot keeps tuning normally
    // and the error says why.
    kl::ErrorOr<void> warm_start(KernelSlot& slot, const KernelConfig& config, const KernelArgs& sample);

    // Frees a slot's tuning state (if tuning was interrupted).
    void abandon(KernelSlot& slot);

private:
    bool start_tuning(KernelSlot& slot);
    void tune(KernelSlot& slot, const KernelArgs& args);
    void finish(KernelSlot& slot);
    void settle_on_reference(KernelSlot& slot, const char* why);
    kl::ErrorOr<void> verify(KernelSlot& slot, KernelFn candidate, const KernelArgs& args, float* scratch);

    TieringHooks m_hooks;
    TieringOptions m_options;
};

// First element of `got` (rows row_begin..row_end of every token) whose bits differ from
// `expected`, or -1. Generated kernels must reproduce the reference bit for bit.
i64 first_mismatch(const KernelArgs& args, const float* got, const float* expected);

}
