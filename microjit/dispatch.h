// The dispatcher: one slot per (operation, shape) the program uses, holding the kernel
// that currently serves it, and the profile of its calls.
//
// Every dispatched operation of the engine (matrix products, activation quantization,
// copies) goes through `call(slot, args)`. A slot serves one of three tiers:
//   tier 0  Reference  the scalar reference kernel (JIT off, or nothing could be generated)
//   tier 1  Default    the generated default kernel, installed and verified when the model
//                      is loaded (tiering.h), so the first token already runs on it
//   tier 2  Tuned      the fastest candidate the tuner found on live calls (or a warm
//                      start's decision), published by swapping `fn` atomically, so a call
//                      in flight always sees one complete kernel
//
// Profiling: every call is counted; calls are timed with fenced rdtsc (kernel_lib/time)
// until the slot has settled, then one call in `sample_interval`, so the profiler's cost
// stays far below the kernels' own. Slots are created while the model is set up and never
// move afterwards.
#pragma once

#include "microjit/kernel_config.h"

namespace mjit {

class Tiering;
struct TuningState;

enum class Tier : u8 { Reference, Default, Tuned };
const char* tier_name(Tier tier);  // "ref", "default", "tuned"

// Measurements of the calls one tier served (cycles of the timed calls only).
struct TierProfile {
    u64 calls = 0;         // every call served by this tier
    u64 timed_calls = 0;
    u64 timed_cycles = 0;
    u64 min_cycles = 0;    // 0 = none timed yet
    u64 max_cycles = 0;

    void record(u64 cycles);
    // A timing taken outside the served calls (the reference's run on a verification
    // sample): it informs the mean, not the call count.
    void note(u64 cycles);
    // Mean cycles per timed call (0 when none was timed).
    double mean() const { return timed_calls ? static_cast<double>(timed_cycles) / timed_calls : 0.0; }
    // All calls' cycles, extrapolated from the timed ones.
    double estimated_cycles() const { return mean() * static_cast<double>(calls); }
};

// The operands a slot's kernels are verified on before they serve a call: the model's own
// weights of that shape (null for ops without weights); the input is synthetic.
struct SampleWeights {
    const void* w = nullptr;
    const float* w_scale = nullptr;
};

struct KernelSlot {
    Op op;
    Shape shape;
    KernelFn reference;  // tier 0, always valid
    KernelFn fn;         // current kernel; read with acquire, published with release
    char name[48];       // "matvec_f32_n288_d768"
    SampleWeights sample;

    Tier tier = Tier::Reference;
    bool settled = false;       // no further tier change will be tried
    bool default_pending = false;  // its default kernel is installed at its first call
    bool split = false;         // big enough to split its rows across the cores
    u32 skip = 0;               // untimed calls left before the next timed one
    TierProfile ref;            // calls served by the reference kernel
    TierProfile jit;            // calls served by the current generated kernel
    double default_cycles = 0;  // mean cycles per call of the default kernel a tuned one replaced
    KernelConfig config {};     // the generated kernel's config (tier Default or Tuned)
    char config_name[80] {};    // its name ("matvec_f32_avx2_n288_d768_r4u2")
    char reason[120] {};        // why the slot is on tier 0 or kept its default (empty otherwise)
    Tiering* tiering = nullptr;
    TuningState* tuning = nullptr;

    TierProfile& current() { return tier == Tier::Reference ? ref : jit; }
};

class Dispatcher {
public:
    static constexpr int max_slots = 96;

    // The slot for (op, shape), created on first request with its verification sample.
    // VERIFY()s that the op has a reference kernel and that the table has room: the engine
    // asks for a few dozen shapes per model.
    KernelSlot* slot(Op op, Shape shape, SampleWeights sample = {});

    int slot_count() const { return m_count; }
    KernelSlot& slot_at(int index) { return m_slots[index]; }

    // Every slot (now and later) reports to `tiering` (null: plain dispatch, no JIT).
    void attach(Tiering* tiering);
    Tiering* tiering() const { return m_tiering; }

    // Publishes `fn` for the slot (atomic pointer swap).
    static void publish(KernelSlot& slot, KernelFn fn) { __atomic_store_n(&slot.fn, fn, __ATOMIC_RELEASE); }

private:
    KernelSlot m_slots[max_slots] {};
    int m_count = 0;
    Tiering* m_tiering = nullptr;
};

// The timed path: counts, times, and drives the tiering state machine (dispatch.cpp).
void call_timed(KernelSlot& slot, const KernelArgs& args);

// Runs `fn` on args's rows, split across the cores in contiguous ranges (kernel_lib/smp):
// every row is still computed by one kernel in its canonical order, so the results do not
// depend on the number of cores.
void run_split(KernelFn fn, const KernelArgs& args);

inline void run(const KernelSlot& slot, KernelFn fn, const KernelArgs& args)
{
    if (slot.split)
        run_split(fn, args);
    else
        fn(&args);
}

inline void call(KernelSlot& slot, const KernelArgs& args)
{
    if (slot.skip != 0) [[likely]] {
        --slot.skip;
        ++slot.current().calls;
        run(slot, __atomic_load_n(&slot.fn, __ATOMIC_ACQUIRE), args);
        return;
    }
    call_timed(slot, args);
}

// "matvec_f32_n288_d768", "matmul_q8_n288_d768_t16_gs64", "copy_n1152": a slot's name.
void format_kernel_name(char* buffer, usize size, Op op, Shape shape);

// The work of one call in multiply-add equivalents (kl::smp::worth_splitting).
u64 call_work(Op op, Shape shape);

}
