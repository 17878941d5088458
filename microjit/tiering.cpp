// The tiering state machine (see tiering.h).
#include "microjit/tiering.h"

#include <new>
#include <stdio.h>
#include <string.h>

#include "kernel_lib/libm/math.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/time/tsc.h"
#include "microjit/candidates.h"
#include "microjit/code_cache.h"
#include "microjit/jit.h"
#include "microjit/reference.h"

namespace mjit {

// A slot's tuning in progress. Allocated when tuning starts, freed when it ends.
struct TuningState {
    KernelConfig configs[max_candidates];
    KernelFn fns[max_candidates];
    u64 best_cycles[max_candidates];  // 0 = not timed (or dropped)
    u32 runs[max_candidates];
    bool dropped[max_candidates];
    u64 ref_best = 0;           // the reference's fastest call while tuning (same conditions)
    usize count = 0;
    usize index = 0;            // the candidate being run
    float* scratch = nullptr;   // [t][d] candidate outputs
    char first_failure[120] {};
};

namespace {

kl::ErrorOr<KernelFn> cache_obtain(void* context, const KernelConfig& config)
{
    auto* cache = static_cast<CodeCache*>(context);
    const GeneratedKernel* kernel = TRY(cache->get(config));
    return kernel->kernel();
}

void cache_discard(void* context, const KernelConfig& config)
{
    (void)static_cast<CodeCache*>(context)->remove(config);
}

usize cache_candidates(void*, Op op, Shape shape, bool streamed, KernelConfig* out, usize capacity)
{
    return candidate_configs(kernel_op(op), shape, target_isa(), host_caps(), out, capacity, streamed);
}

struct GuardedRun {
    KernelFn fn;
    const KernelArgs* args;
};

void run_kernel(void* context)
{
    auto* run = static_cast<GuardedRun*>(context);
    run->fn(run->args);
}

u64 elements(const KernelArgs& args) { return static_cast<u64>(args.t) * args.d; }

}

Tiering::Tiering(CodeCache& cache, const TieringOptions& options)
    : m_hooks { cache_obtain, cache_discard, cache_candidates, &cache }
    , m_options(options)
{
}

Tiering::Tiering(const TieringHooks& hooks, const TieringOptions& options)
    : m_hooks(hooks)
    , m_options(options)
{
}

i64 first_mismatch(const KernelArgs& a, const float* got, const float* expected)
{
    for (u32 tok = 0; tok < a.t; ++tok) {
        for (u64 row = a.row_begin; row < a.row_end; ++row) {
            u64 i = static_cast<u64>(tok) * a.d + row;
            // Bits, not values: every generated kernel follows the reference's summation
            // order exactly (microjit/reference.h), so any difference, even 1 ulp or the
            // sign of a zero, is a defect.
            if (__builtin_memcmp(&got[i], &expected[i], sizeof(float)) != 0)
                return static_cast<i64>(i);
        }
    }
    return -1;
}

kl::ErrorOr<void> Tiering::verify(KernelSlot& slot, KernelFn candidate, const KernelArgs& args, float* scratch)
{
    KernelArgs trial = args;
    trial.out = scratch;
    GuardedRun run { candidate, &trial };
    kl::Fault fault {};
    auto guarded = kl::run_guarded(run_kernel, &run, &fault);
    if (guarded.is_error())
        return kl::Error::make(kl::ErrorCode::JitFault, "fault: %s", guarded.error().message());
    i64 bad = first_mismatch(args, scratch, args.out);
    if (bad >= 0)
        return kl::Error::make(kl::ErrorCode::JitMismatch, "mismatch at token %lld row %lld: %.9g, reference %.9g",
            static_cast<long long>(bad / args.d), static_cast<long long>(bad % args.d), static_cast<double>(scratch[bad]),
            static_cast<double>(args.out[bad]));
    (void)slot;
    return {};
}

void Tiering::settle_on_reference(KernelSlot& slot, const char* why)
{
    snprintf(slot.reason, sizeof(slot.reason), "%s", why);
    slot.tier = Tier::Reference;
    slot.settled = true;
    slot.skip = m_options.sample_interval - 1;
}

void Tiering::abandon(KernelSlot& slot)
{
    TuningState* t = slot.tuning;
    if (!t)
        return;
    for (usize i = 0; i < t->count; ++i)
        if (t->fns[i])
            m_hooks.discard(m_hooks.context, t->configs[i]);
    kl::mem::release(t->scratch);
    t->~TuningState();
    kl::mem::release(t);
    slot.tuning = nullptr;
}

bool Tiering::start_tuning(KernelSlot& slot)
{
    auto memory = kl::mem::allocate(sizeof(TuningState), 64, "JIT tuning state");
    if (memory.is_error()) {
        settle_on_reference(slot, memory.error().message());
        return false;
    }
    auto* t = new (memory.value()) TuningState();
    usize capacity = m_options.max_candidates < max_candidates ? m_options.max_candidates : max_candidates;
    t->count = m_hooks.candidates(m_hooks.context, slot.op, slot.shape, m_options.weights_streamed, t->configs,
        capacity);
    u64 bytes = static_cast<u64>(slot.shape.t) * slot.shape.d * sizeof(float);
    auto scratch = kl::mem::allocate(bytes, 64, "JIT verification output");
    if (scratch.is_error() || t->count == 0) {
        const bool nothing = t->count == 0;
        if (!scratch.is_error())
            kl::mem::release(scratch.value());
        t->~TuningState();
        kl::mem::release(t);
        settle_on_reference(slot, nothing ? "no kernel can be generated for this shape and CPU"
                                          : "no memory for the verification buffer");
        return false;
    }
    t->scratch = static_cast<float*>(scratch.value());
    slot.tuning = t;
    slot.tier = Tier::Tuning;
    return true;
}

void Tiering::tune(KernelSlot& slot, const KernelArgs& args)
{
    TuningState& t = *slot.tuning;
    const usize c = t.index;
    auto drop = [&](const char* why) {
        t.dropped[c] = true;
        if (!t.first_failure[0]) {
            char name[80];
            format_config_name(name, sizeof(name), t.configs[c]);
            snprintf(t.first_failure, sizeof(t.first_failure), "%s: %s", name, why);
        }
        ++t.index;
    };

    if (t.fns[c]) {
        // A verified candidate serves the live call itself and is timed on it: on the
        // caches as the program leaves them (weights that stream from memory are timed
        // streaming) and split across the cores as the slot's calls are, exactly as the
        // reference was. Timing it right after the reference on the same weights would time
        // it on warm caches, and pick the wrong kernel.
        const u64 start = kl::time::rdtsc_begin();
        run(slot, t.fns[c], args);
        const u64 cycles = kl::time::rdtsc_end() - start;
        if (t.best_cycles[c] == 0 || cycles < t.best_cycles[c])
            t.best_cycles[c] = cycles;
        if (++t.runs[c] >= m_options.tune_calls)
            ++t.index;
    } else {
        // The reference produces the real output (and is timed); the next candidate is
        // generated and checked against that output, bit for bit, under the fault guard.
        const u64 begin = kl::time::rdtsc_begin();
        run(slot, slot.reference, args);
        const u64 cycles = kl::time::rdtsc_end() - begin;
        slot.ref.record(cycles);
        if (t.ref_best == 0 || cycles < t.ref_best)
            t.ref_best = cycles;
        auto fn = m_hooks.obtain(m_hooks.context, t.configs[c]);
        if (fn.is_error()) {
            drop(fn.error().message());
        } else {
            t.fns[c] = fn.value();
            auto verified = verify(slot, t.fns[c], args, t.scratch);
            if (verified.is_error())
                drop(verified.error().message());
        }
    }
    if (t.index >= t.count)
        finish(slot);
}

void Tiering::finish(KernelSlot& slot)
{
    TuningState& t = *slot.tuning;
    usize best = t.count;
    for (usize i = 0; i < t.count; ++i) {
        if (!t.dropped[i] && t.best_cycles[i] != 0 && (best == t.count || t.best_cycles[i] < t.best_cycles[best]))
            best = i;
    }
    // The reference's best call while tuning, taken on the same kind of live calls as the
    // candidates' (its all-time best may come from a call on warm caches).
    const u64 reference = t.ref_best ? t.ref_best : slot.ref.min_cycles;
    char why[120];
    if (best == t.count) {
        snprintf(why, sizeof(why), "every candidate failed; first: %s", t.first_failure);
    } else if (reference != 0 && t.best_cycles[best] >= reference) {
        snprintf(why, sizeof(why), "no candidate beat the reference (best %llu vs %llu cycles)",
            static_cast<unsigned long long>(t.best_cycles[best]), static_cast<unsigned long long>(reference));
        best = t.count;
    }
    if (best < t.count) {
        Dispatcher::publish(slot, t.fns[best]);
        slot.config = t.configs[best];
        format_config_name(slot.config_name, sizeof(slot.config_name), t.configs[best]);
        t.fns[best] = nullptr;  // published: not discarded with the losers
        slot.tier = Tier::Jit;
        slot.settled = true;
        slot.reason[0] = 0;
        slot.skip = m_options.sample_interval - 1;
    } else {
        settle_on_reference(slot, why);
    }
    abandon(slot);
}

bool Tiering::step(KernelSlot& slot, const KernelArgs& args)
{
    if (!m_options.enabled) {
        slot.settled = true;
        return false;
    }
    if (slot.tier == Tier::Reference) {
        bool hot = slot.ref.calls >= m_options.hot_calls && slot.ref.timed_cycles >= m_options.hot_cycles;
        if (!hot || !start_tuning(slot))
            return false;
    }
    tune(slot, args);
    return true;
}

kl::ErrorOr<void> Tiering::warm_start(KernelSlot& slot, const KernelConfig& config, const KernelArgs& sample)
{
    if (!m_options.enabled || slot.settled)
        return {};
    KernelFn fn = TRY(m_hooks.obtain(m_hooks.context, config));
    u64 bytes = elements(sample) * sizeof(float);
    float* scratch = static_cast<float*>(TRY(kl::mem::allocate(bytes, 64, "warm-start verification")));
    // Two reference runs (the first warms the caches), timed for the report's speedup.
    for (int run = 0; run < 2; ++run) {
        u64 begin = kl::time::rdtsc_begin();
        slot.reference(&sample);
        u64 cycles = kl::time::rdtsc_end() - begin;
        if (run == 1)
            slot.ref.note(cycles);
    }
    auto verified = verify(slot, fn, sample, scratch);
    kl::mem::release(scratch);
    if (verified.is_error()) {
        m_hooks.discard(m_hooks.context, config);
        return verified.release_error();
    }
    Dispatcher::publish(slot, fn);
    slot.config = config;
    format_config_name(slot.config_name, sizeof(slot.config_name), config);
    slot.tier = Tier::Jit;
    slot.settled = true;
    slot.skip = m_options.sample_interval - 1;
    return {};
}

}
