// The engine's micro-JIT set-up (see engine_jit.h).
#include "tinyllama/engine_jit.h"

#include <string.h>

#include "kernel_lib/debug/fault_guard.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "microjit/isa.h"
#include "microjit/reference.h"
#include "microjit/report.h"
#include "microjit/tier_control.h"

namespace tllama {

namespace {

mjit::TieringOptions tiering_options(const JitOptions& o)
{
    mjit::TieringOptions t;
    t.enabled = o.enabled;
    t.hot_calls = o.hot_calls;
    t.hot_cycles = o.hot_cycles;
    return t;
}

// A sample for checking a quantizer: pseudo-random groups, a group of zeros (scale 0), and
// a group whose maximum is 127 (scale exactly 1) holding exact halves, where rounding
// away from zero and to even differ.
void quantizer_sample(float* x, u32 groups, u32 gs)
{
    u32 state = 12345;
    for (u32 i = 0; i < groups * gs; ++i) {
        state = state * 1664525u + 1013904223u;
        x[i] = static_cast<float>(static_cast<i32>(state >> 9) - (1 << 22)) / static_cast<float>(1 << 19);
    }
    memset(x, 0, gs * sizeof(float));
    float* halves = x + gs;
    for (u32 i = 0; i < gs; ++i)
        halves[i] = (i % 2 ? -1.0f : 1.0f) * (static_cast<float>(i % 100) + 0.5f);
    halves[0] = 127.0f;
}

struct QuantizerRun {
    mjit::QuantizeFn fn;
    const float* x;
    i8* q;
    float* scale;
    u32 groups, gs;
};

void run_quantizer(void* context)
{
    const auto& r = *static_cast<const QuantizerRun*>(context);
    for (u32 g = 0; g < r.groups; ++g) {
        const mjit::QuantizeArgs args { r.x + g * r.gs, r.q + g * r.gs, r.scale + g };
        r.fn(&args);
    }
}

}

EngineJit::EngineJit(const JitOptions& options)
    : m_options(options)
    , m_previous_cap(mjit::isa_cap())
    , m_cache(code_budget_bytes)
    , m_tiering(m_cache, tiering_options(options))
{
    mjit::set_isa_cap(options.isa_cap);
}

EngineJit::~EngineJit()
{
    detach();
    mjit::set_isa_cap(m_previous_cap);
}

void EngineJit::attach(Transformer& t)
{
    if (m_attached != &t.dispatcher)
        detach();
    // A model bigger than the caches streams every matrix from memory on every token.
    m_tiering.set_weights_streamed(t.weight_bytes > weights_streamed_bytes);
    t.dispatcher.attach(&m_tiering);
    m_attached = &t.dispatcher;
    if (m_options.enabled && t.weights.format == WeightFormat::Q8) {
        auto installed = install_quantizer(t);
        if (installed.is_error())
            kl::print("micro-JIT: the reference quantizes the Q8 activations (%s)\n", installed.error().message());
    }
}

kl::ErrorOr<void> EngineJit::install_quantizer(Transformer& t)
{
    const u32 gs = t.weights.group_size;
    mjit::Shape shape;
    shape.n = gs;
    shape.gs = gs;
    const mjit::KernelConfig config = mjit::default_config(mjit::KernelOp::QuantizeQ8, shape, mjit::target_isa());
    const mjit::GeneratedKernel* kernel = TRY(m_cache.get(config));

    // Checked bit for bit against the reference on a sample, under the fault guard.
    constexpr u32 groups = 64;
    const u64 values = static_cast<u64>(groups) * gs;
    u8* memory = static_cast<u8*>(TRY(kl::mem::allocate(values * 6 + groups * 8, 64, "the quantizer check")));
    float* x = reinterpret_cast<float*>(memory);
    float* scale_ref = x + values;
    float* scale_jit = scale_ref + groups;
    i8* q_ref = reinterpret_cast<i8*>(scale_jit + groups);
    i8* q_jit = q_ref + values;
    quantizer_sample(x, groups, gs);
    mjit::ref::quantize_q8(x, q_ref, scale_ref, static_cast<u32>(values), gs);
    QuantizerRun run { kernel->quantizer(), x, q_jit, scale_jit, groups, gs };
    auto guarded = kl::run_guarded(run_quantizer, &run);
    const bool same = !guarded.is_error() && memcmp(q_ref, q_jit, values) == 0
        && memcmp(scale_ref, scale_jit, groups * sizeof(float)) == 0;
    kl::mem::release(memory);
    if (guarded.is_error())
        return kl::Error::make(kl::ErrorCode::JitFault, "%s faulted: %s", kernel->name, guarded.error().message());
    if (!same)
        return kl::Error::make(kl::ErrorCode::JitMismatch, "%s differs from the reference", kernel->name);
    t.dispatcher.set_jit_quantizer(kernel->quantizer());
    return {};
}

void EngineJit::detach()
{
    if (!m_attached)
        return;
    mjit::tiers_to_reference(*m_attached, "the JIT was detached");
    m_attached->set_jit_quantizer(nullptr);  // its code lives in this cache
    m_attached = nullptr;
}

const char* EngineJit::isa_name() const
{
    return m_options.enabled ? kl::cpu::isa_name(mjit::target_isa()) : "off";
}

void EngineJit::report(Transformer& t, double generation_cycles)
{
    mjit::ReportContext context { isa_name(), m_options.enabled, generation_cycles, m_cache.stats().code_bytes };
    mjit::print_profile(t.dispatcher, context);
}

}
