// The engine's micro-JIT binding (see engine_jit.h).
#include "tinyllama/engine_jit.h"

#include "kernel_lib/time/tsc.h"
#include "microjit/isa.h"
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
    m_on = m_options.enabled;
    if (!m_on)
        return;
    const u64 start = kl::time::rdtsc();
    m_defaults = mjit::tiers_install_defaults(t.dispatcher, m_tiering);
    m_setup_ms = kl::time::cycles_to_ms(kl::time::rdtsc() - start);
}

void EngineJit::detach()
{
    if (!m_attached)
        return;
    mjit::tiers_to_reference(*m_attached, "the JIT was detached");
    m_attached = nullptr;
    m_on = false;
}

kl::ErrorOr<void> EngineJit::set_on(bool on)
{
    if (on && !m_options.enabled)
        return kl::Error::make(kl::ErrorCode::UsageError,
            "the micro-JIT was disabled at start-up (JIT=off), so it cannot be switched on here");
    if (on == m_on || !m_attached)
        return {};
    if (on)
        mjit::tiers_resume(*m_attached, m_tiering);
    else
        mjit::tiers_to_reference(*m_attached, "micro-JIT switched off (/jit off)");
    m_on = on;
    return {};
}

const char* EngineJit::isa_name() const { return m_on ? kl::cpu::isa_name(mjit::target_isa()) : "off"; }

}
