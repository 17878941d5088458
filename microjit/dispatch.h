// The dispatcher: one slot per (operation, shape) the program uses, holding the kernel
// that currently serves it, and the profile of its calls.
//
// Every matrix product of the engine goes through `call(slot, args)`. A slot starts on the
// reference kernel (tier 0). When a Tiering policy is attached (microjit/tiering.h), the
// calls it times show which slots are hot; the micro-JIT then generates, verifies and
// times candidate kernels on live calls and publishes the fastest by swapping `fn`
// atomically, so a call in flight always sees one complete kernel.
//
// Profiling: every call is counted; calls are timed with fenced rdtsc (kernel_lib/time)
// until the slot has settled on a tier, then one call in `sample_interval`, so the
// profiler's cost stays far below the kernels' own. Slots are created while the model is
// set up and never move afterwards.
#pragma once

#include "microjit/kernel_config.h"

namespace mjit {

class Tiering;
struct TuningState;

enum class Tier : u8 {
    Reference,  // tier 0: the scalar reference kernel
    Tuning,     // candidates are being generated, verified and timed on live calls
    Jit,        // a generated kernel is published
};

// Measurements of the calls one tier served (cycles of the timed calls only).
struct TierProfile {
    u64 calls = 0;         // every call served by this tier
    u64 timed_calls = 0;
    u64 timed_cycles = 0;
    u64 min_cycles = 0;    // 0 = none timed yet
    u64 max_cycles = 0;

    void record(u64 cycles);
    // A timing taken outside the served calls (warm start's reference run): it informs the
    // mean, not the call count.
    void note(u64 cycles);
    // Mean cycles per timed call (0 when none was timed).
    double mean() const { return timed_calls ? static_cast<double>(timed_cycles) / timed_calls : 0.0; }
    // All calls' cycles, extrapolated from the timed ones.
    double estimated_cycles() const { return mean() * static_cast<double>(calls); }
};

struct KernelSlot {
    Op op;
    Shape shape;
    KernelFn reference;  // tier 0, always valid
    KernelFn fn;         // current kernel; read with acquire, published with release
    char name[48];       // "matvec_f32_n288_d768"

    Tier tier = Tier::Reference;
    bool settled = false;       // no further tier change will be tried
    bool split = false;         // big enough to split its rows across the cores
    u32 skip = 0;               // untimed calls left before the next timed one
    TierProfile ref;            // calls served by the reference kernel
    TierProfile jit;            // calls served by the published kernel
    KernelConfig config {};     // the published kernel's config (valid when tier == Jit)
    char config_name[80] {};    // its name ("matvec_avx2_n288_d768_r4u2")
    char reason[120] {};        // why the slot stays on tier 0 (empty otherwise)
    Tiering* tiering = nullptr;
    TuningState* tuning = nullptr;
};

class Dispatcher {
public:
    static constexpr int max_slots = 64;

    // The slot for (op, shape), created on first request. VERIFY()s that the table has
    // room: the engine asks for a handful of shapes per model.
    KernelSlot* slot(Op op, Shape shape);

    int slot_count() const { return m_count; }
    KernelSlot& slot_at(int index) { return m_slots[index]; }

    // Every slot (now and later) reports to `tiering` (null: plain dispatch, no JIT).
    void attach(Tiering* tiering);
    Tiering* tiering() const { return m_tiering; }

    // Publishes `fn` for the slot (atomic pointer swap).
    static void publish(KernelSlot& slot, KernelFn fn) { __atomic_store_n(&slot.fn, fn, __ATOMIC_RELEASE); }

    // The Q8 activation quantizer for one group of `gs` values (n = gs), or null for
    // mjit::ref::quantize_q8. The engine generates and verifies it (tinyllama/engine_jit.h);
    // use_jit_quantizer(false) returns to the reference, (true) to the verified kernel.
    void set_jit_quantizer(QuantizeFn fn) { m_jit_quantizer = m_quantizer = fn; }
    void use_jit_quantizer(bool on) { m_quantizer = on ? m_jit_quantizer : nullptr; }
    QuantizeFn quantizer() const { return m_quantizer; }

private:
    KernelSlot m_slots[max_slots] {};
    int m_count = 0;
    Tiering* m_tiering = nullptr;
    QuantizeFn m_quantizer = nullptr;
    QuantizeFn m_jit_quantizer = nullptr;
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
        ++(slot.tier == Tier::Jit ? slot.jit : slot.ref).calls;
        run(slot, __atomic_load_n(&slot.fn, __ATOMIC_ACQUIRE), args);
        return;
    }
    call_timed(slot, args);
}

// Slots with at least this many multiply-adds per call split their rows across cores
// (below it the dispatch and barrier cost more than the second core saves).
constexpr u64 split_threshold_macs = 32768;

// "matvec_f32_n288_d768", "matmul_q8_n288_d768_t16_gs64": the name of a kernel's shape.
void format_kernel_name(char* buffer, usize size, Op op, Shape shape);

}
