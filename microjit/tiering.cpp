// The tiering state machine (see tiering.h).
#include "microjit/tiering.h"

#include <new>
#include <stdio.h>
#include <string.h>

#include "kernel_lib/base/median.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/time/tsc.h"
#include "microjit/candidates.h"
#include "microjit/code_cache.h"
#include "microjit/jit.h"
#include "microjit/verify.h"

namespace mjit {

// A slot's tuning in progress. Allocated when tuning starts, freed when it ends.
//
// Two phases. Checking: on each live call the serving kernel produces the output and the
// next candidate is generated and checked against it. Timing: the contestants (every
// verified candidate, and the serving kernel when it is not one of them) take turns on the
// live calls, one call each per round, for `tune_calls` rounds; each is ranked by the
// median of its calls. Every contestant is timed on as many calls as the others,
// interleaved with them, so that neither a drifting machine nor a larger sample favours
// one of them. The median, not the fastest call: a streaming kernel's calls vary with how
// the prefetchers and the other cores' traffic treat it (TinyLlama Q4_0, 4 rows in
// stripes: fastest call 0.62 M cycles, median 1.05 M; 12 rows with the next block
// prefetched: 0.57 M and 0.72 M), and the program pays the typical call, not the luckiest.
struct TuningState {
    KernelConfig configs[max_candidates];
    KernelFn fns[max_candidates];       // obtained and verified candidates
    bool owned[max_candidates];         // obtained here (else: the kernel the slot already serves)
    bool dropped[max_candidates];
    u64 cycles[max_candidates + 1][max_tune_rounds];  // per round; [count]: the serving kernel when unlisted
    usize count = 0;
    usize index = 0;            // checking: the candidate to check; timing: the contestant serving
    bool timing = false;
    bool serving_listed = false;  // the serving kernel is one of the candidates
    u32 rounds = 0;             // timing rounds completed
    void* scratch = nullptr;    // a candidate's out (and out_scale) on a live call
    float* scratch_scale = nullptr;
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
    return candidate_configs(op, shape, target_isa(), host_caps(), out, capacity, streamed);
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

// Adds the cycles since `start` to `total` when the scope ends.
class SpentCycles {
public:
    explicit SpentCycles(u64& total) : m_total(total), m_start(kl::time::rdtsc()) {}
    ~SpentCycles() { m_total += kl::time::rdtsc() - m_start; }
    SpentCycles(const SpentCycles&) = delete;
    SpentCycles& operator=(const SpentCycles&) = delete;

private:
    u64& m_total;
    u64 m_start;
};

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

kl::ErrorOr<void> Tiering::verify(KernelSlot& slot, KernelFn candidate, const KernelArgs& args, void* scratch,
    float* scratch_scale)
{
    KernelArgs trial = args;
    trial.out = scratch;
    trial.out_scale = scratch_scale;
    GuardedRun run { candidate, &trial };
    kl::Fault fault {};
    auto guarded = kl::run_guarded(run_kernel, &run, &fault);
    if (guarded.is_error())
        return kl::Error::make(kl::ErrorCode::JitFault, "fault: %s", guarded.error().message());
    return compare_outputs(slot.op, args, scratch, scratch_scale, args.out, args.out_scale);
}

kl::ErrorOr<void> Tiering::verify_on_sample(KernelSlot& slot, KernelFn candidate)
{
    Sample sample;
    TRY(sample.build(slot));
    for (u32 w = 0; w < sample.window_count(); ++w) {
        const KernelArgs expected = sample.expected_call(w);
        // The reference's run, scaled to the whole row range, stands for the reference in
        // the report's speedup (an estimate: the sample is small and may sit in the caches).
        const u64 begin = kl::time::rdtsc_begin();
        slot.reference(&expected);
        const u64 cycles = kl::time::rdtsc_end() - begin;
        const u64 rows = expected.row_end - expected.row_begin;
        if (w == 0 && rows)
            slot.ref.note(cycles * expected.d / rows);
        TRY(verify(slot, candidate, expected, const_cast<void*>(sample.scratch()),
            const_cast<float*>(sample.scratch_scale())));
    }
    return {};
}

void Tiering::publish(KernelSlot& slot, KernelFn fn, const KernelConfig& config, Tier tier)
{
    Dispatcher::publish(slot, fn);
    if (slot.tier == Tier::Default && tier == Tier::Tuned)
        slot.default_cycles = slot.jit.mean();
    // The new kernel's timings start afresh; the calls served so far still count.
    const u64 calls = slot.jit.calls;
    slot.jit = {};
    slot.jit.calls = calls;
    slot.config = config;
    format_config_name(slot.config_name, sizeof(slot.config_name), config);
    slot.tier = tier;
    slot.reason[0] = 0;
    slot.settled = tier == Tier::Tuned || !m_options.enabled;
    slot.skip = slot.settled ? m_options.sample_interval - 1 : 0;
}

void Tiering::settle(KernelSlot& slot, const char* why)
{
    snprintf(slot.reason, sizeof(slot.reason), "%s", why);
    slot.settled = true;
    slot.skip = m_options.sample_interval - 1;
    // The kernel it keeps is timed afresh on the sampled calls from here: its first calls
    // (cold caches, first touches of the weights) and the tuning's would skew its mean.
    TierProfile& kept = slot.current();
    const u64 calls = kept.calls;
    kept = {};
    kept.calls = calls;
}

kl::ErrorOr<void> Tiering::publish_verified(KernelSlot& slot, const KernelConfig& config, Tier tier)
{
    SpentCycles spent(m_spent_cycles);
    KernelFn fn = TRY(m_hooks.obtain(m_hooks.context, config));
    auto verified = verify_on_sample(slot, fn);
    if (verified.is_error()) {
        m_hooks.discard(m_hooks.context, config);
        return verified.release_error();
    }
    publish(slot, fn, config, tier);
    return {};
}

kl::ErrorOr<void> Tiering::install_default(KernelSlot& slot)
{
    if (!m_options.enabled)
        return {};
    // A copy has a strong reference, the C library's memcpy: a generated one serves only
    // after it measured faster on the program's own calls (tuning compares every candidate
    // with the kernel serving).
    if (slot.op.kind == OpKind::Copy) {
        snprintf(slot.reason, sizeof(slot.reason), "memcpy until a generated copy measures faster");
        return {};
    }
    KernelConfig config;
    if (m_hooks.candidates(m_hooks.context, slot.op, slot.shape, m_options.weights_streamed, &config, 1) == 0)
        return kl::Error::make(kl::ErrorCode::JitUnsupported, "no kernel can be generated for this shape and CPU");
    return publish_verified(slot, config, Tier::Default);
}

void Tiering::abandon(KernelSlot& slot)
{
    TuningState* t = slot.tuning;
    if (!t)
        return;
    for (usize i = 0; i < t->count; ++i)
        if (t->fns[i] && t->owned[i])
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
        settle(slot, memory.error().message());
        return false;
    }
    auto* t = new (memory.value()) TuningState();
    const usize capacity = m_options.max_candidates < max_candidates ? m_options.max_candidates : max_candidates;
    t->count = m_hooks.candidates(m_hooks.context, slot.op, slot.shape, m_options.weights_streamed, t->configs,
        capacity);
    KernelArgs whole {};
    whole.n = slot.shape.n;
    whole.d = slot.op.kind == OpKind::Copy ? 1 : slot.shape.d;
    whole.t = slot.shape.t;
    whole.gs = slot.shape.gs;
    const u64 out_bytes = out_span(slot.op, whole).total, scale_bytes = out_scale_span(slot.op, whole).total;
    auto scratch = kl::mem::allocate(out_bytes + scale_bytes + 64, 64, "JIT verification output");
    if (scratch.is_error() || t->count == 0) {
        const bool nothing = t->count == 0;
        if (!scratch.is_error())
            kl::mem::release(scratch.value());
        t->~TuningState();
        kl::mem::release(t);
        settle(slot, nothing ? "no kernel can be generated for this shape and CPU" : "no memory for the verification buffer");
        return false;
    }
    t->scratch = scratch.value();
    t->scratch_scale = scale_bytes ? reinterpret_cast<float*>(static_cast<u8*>(t->scratch) + ((out_bytes + 63) & ~63ull))
                                   : nullptr;
    slot.tuning = t;
    return true;
}

void Tiering::try_next_candidate(KernelSlot& slot, const KernelArgs& args)
{
    TuningState& t = *slot.tuning;
    const usize c = t.index++;
    auto drop = [&](const char* why) {
        t.dropped[c] = true;
        if (!t.first_failure[0]) {
            char name[80];
            format_config_name(name, sizeof(name), t.configs[c]);
            snprintf(t.first_failure, sizeof(t.first_failure), "%s: %s", name, why);
        }
    };
    if (slot.tier != Tier::Reference && t.configs[c] == slot.config) {
        t.fns[c] = slot.fn;  // the kernel serving now: verified already, timed like the others
        t.serving_listed = true;
        return;
    }
    SpentCycles spent(m_spent_cycles);
    auto fn = m_hooks.obtain(m_hooks.context, t.configs[c]);
    if (fn.is_error()) {
        drop(fn.error().message());
        return;
    }
    t.fns[c] = fn.value();
    t.owned[c] = true;
    auto verified = verify(slot, t.fns[c], args, t.scratch, t.scratch_scale);
    if (verified.is_error())
        drop(verified.error().message());
}

// The contestant from `from` on (the serving kernel's own entry, `count`, last when it is
// not a candidate); count + 1 when the round is over.
usize Tiering::next_contestant(const TuningState& t, usize from) const
{
    for (usize i = from; i < t.count; ++i)
        if (t.fns[i] && !t.dropped[i])
            return i;
    return !t.serving_listed && from <= t.count ? t.count : t.count + 1;
}

void Tiering::tune(KernelSlot& slot, const KernelArgs& args)
{
    TuningState& t = *slot.tuning;
    if (!t.timing) {
        const u64 begin = kl::time::rdtsc_begin();
        run(slot, slot.fn, args);
        slot.current().record(kl::time::rdtsc_end() - begin);
        try_next_candidate(slot, args);
        if (t.index < t.count)
            return;
        t.timing = true;
        t.index = next_contestant(t, 0);
        // Nothing verified: no contest (the serving kernel alone is not one).
        if (t.index >= t.count)
            finish(slot);
        return;
    }
    // A contestant serves the live call itself and is timed on it: on the caches as the
    // program leaves them (weights that stream from memory are timed streaming) and split
    // across the cores as the slot's calls are. Timing it right after another kernel on the
    // same weights would time it on warm caches, and pick the wrong kernel.
    const usize c = t.index;
    const u64 start = kl::time::rdtsc_begin();
    run(slot, c < t.count ? t.fns[c] : slot.fn, args);
    const u64 cycles = kl::time::rdtsc_end() - start;
    if (c < t.count && t.fns[c] != slot.fn)
        ++slot.current().calls;
    else
        slot.current().record(cycles);
    t.cycles[c][t.rounds] = cycles;
    t.index = next_contestant(t, c + 1);
    if (t.index > t.count) {
        t.index = next_contestant(t, 0);
        if (++t.rounds >= tune_rounds())
            finish(slot);
    }
}

u32 Tiering::tune_rounds() const
{
    const u32 rounds = m_options.tune_calls < max_tune_rounds ? m_options.tune_calls : max_tune_rounds;
    return rounds ? rounds : 1;
}

void Tiering::finish(KernelSlot& slot)
{
    TuningState& t = *slot.tuning;
    // Each contestant's median call (sorts its calls in place: the contest is over).
    auto median = [&](usize i) { return kl::median_in_place(t.cycles[i], t.rounds); };
    usize best = t.count;
    u64 best_median = 0;
    for (usize i = 0; i < t.count; ++i) {
        const u64 m = t.fns[i] && !t.dropped[i] ? median(i) : 0;
        if (m != 0 && (best == t.count || m < best_median)) {
            best = i;
            best_median = m;
        }
    }
    const u64 serving = t.serving_listed ? 0 : median(t.count);
    char why[120];
    if (best == t.count) {
        snprintf(why, sizeof(why), "every candidate failed; first: %s", t.first_failure);
        settle(slot, why);
    } else if (!t.owned[best]) {
        settle(slot, "the default kernel was the fastest candidate");
    } else if (serving != 0 && best_median >= serving) {
        snprintf(why, sizeof(why), "no candidate beat the %s kernel (best %llu vs %llu cycles)",
            slot.tier == Tier::Reference ? "reference" : slot.tier == Tier::Default ? "default" : "tuned",
            static_cast<unsigned long long>(best_median), static_cast<unsigned long long>(serving));
        settle(slot, why);
    } else {
        publish(slot, t.fns[best], t.configs[best], Tier::Tuned);
        t.owned[best] = false;  // published: not discarded with the losers
    }
    abandon(slot);
}

bool Tiering::step(KernelSlot& slot, const KernelArgs& args)
{
    if (!m_options.enabled) {
        slot.settled = true;
        return false;
    }
    if (slot.default_pending) {
        slot.default_pending = false;
        auto installed = install_default(slot);
        if (installed.is_error())
            snprintf(slot.reason, sizeof(slot.reason), "no default kernel: %s", installed.error().message());
    }
    if (!slot.tuning) {
        const TierProfile& p = slot.current();
        const bool hot = p.calls >= m_options.hot_calls && p.timed_cycles >= m_options.hot_cycles;
        if (m_held || !hot || !start_tuning(slot))
            return false;
    }
    tune(slot, args);
    return true;
}

}
