// The self-optimisation loop: which kernel serves each dispatcher slot, decided by
// measurement on the program's own calls.
//
// When the model is loaded every slot gets its default generated kernel (tier 1: the
// first autotuning candidate, the a-priori best guess), verified bit for bit against the
// reference on a sample (verify.h) under the fault guard, so no call of the first token
// runs on the scalar reference. From there, per slot: once hot (`hot_calls` calls and
// `hot_cycles` cycles on its current kernel), tuning starts. Each candidate config
// (candidates.h) is generated on a live call that the current kernel serves and is checked
// against that call's output bit for bit under the fault guard (the current kernel equals
// the reference bit for bit, so this is the reference check). Then the verified candidates
// and the current kernel take turns on the live calls for `tune_calls` rounds, timed on
// them (on the caches as the program leaves them), each on as many calls as the others.
// The candidate with the fastest median call replaces the current kernel (tier 2) if it
// beats it; otherwise, and on every failure (fault, mismatch, arena full, nothing to
// generate), the slot keeps its kernel and the reason is recorded for the report.
//
// Warm start: decisions of an earlier run (profile payload) are published the same way as
// the defaults, verified on a sample, before the first token.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/debug/fault_guard.h"
#include "microjit/dispatch.h"
#include "microjit/kernel_config.h"

namespace mjit {

class CodeCache;

constexpr u32 max_tune_rounds = 7;

struct TieringOptions {
    bool enabled = true;          // false: tier 0 throughout (JIT=off), still profiled
    u32 hot_calls = 4;            // calls on the current kernel before tuning may start
    u64 hot_cycles = 100000;      // ... and cycles spent on them
    u32 tune_calls = 5;           // timed rounds (at most max_tune_rounds): calls per contestant
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

    // Tier 1: the slot's first candidate, verified on a sample and published. On failure
    // the slot stays on the reference (and may still tune) and the error says why. Copies
    // stay on memcpy until tuning finds a faster generated one.
    kl::ErrorOr<void> install_default(KernelSlot& slot);

    // Publishes `config` for the slot at `tier` after verifying it on a sample (warm
    // start). On failure the slot keeps its kernel and tunes normally.
    kl::ErrorOr<void> publish_verified(KernelSlot& slot, const KernelConfig& config, Tier tier);

    // Called by call_timed for slots that have not settled; true when it served the call.
    // A pending default is installed first.
    bool step(KernelSlot& slot, const KernelArgs& args);

    // While held, no slot starts tuning (a tuning under way goes on): the application holds
    // it until its first token, so that the first token comes as soon as the default
    // kernels allow.
    void hold(bool held) { m_held = held; }

    // Frees a slot's tuning state (if tuning was interrupted).
    void abandon(KernelSlot& slot);

    // TSC cycles spent generating and verifying kernels so far (defaults, warm start and
    // tuning): what the JIT itself cost the program.
    u64 spent_cycles() const { return m_spent_cycles; }

private:
    bool start_tuning(KernelSlot& slot);
    void tune(KernelSlot& slot, const KernelArgs& args);
    void try_next_candidate(KernelSlot& slot, const KernelArgs& args);
    usize next_contestant(const TuningState& t, usize from) const;
    u32 tune_rounds() const;
    void finish(KernelSlot& slot);
    void publish(KernelSlot& slot, KernelFn fn, const KernelConfig& config, Tier tier);
    void settle(KernelSlot& slot, const char* why);
    kl::ErrorOr<void> verify(KernelSlot& slot, KernelFn candidate, const KernelArgs& args, void* scratch,
        float* scratch_scale);
    kl::ErrorOr<void> verify_on_sample(KernelSlot& slot, KernelFn candidate);

    TieringHooks m_hooks;
    TieringOptions m_options;
    u64 m_spent_cycles = 0;
    bool m_held = false;
};

}
