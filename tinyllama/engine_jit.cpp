// The engine's micro-JIT set-up (see engine_jit.h).
#include "tinyllama/engine_jit.h"

#include "microjit/isa.h"
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
    t.dispatcher.attach(&m_tiering);
    m_attached = &t.dispatcher;
}

void EngineJit::detach()
{
    if (!m_attached)
        return;
    mjit::tiers_to_reference(*m_attached, "the JIT was detached");
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
