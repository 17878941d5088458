// The phases of the forward pass that are not dispatched kernels (norms, RoPE, attention,
// SwiGLU, sampling, ...), timed per phase so the profile report shows where the rest of
// the time goes. Unfenced rdtsc: these spans are short and their order does not matter.
#pragma once

#include "kernel_lib/time/tsc.h"
#include "microjit/profiler.h"

namespace tllama {

enum class Phase : u8 { Embedding, RmsNorm, Rope, Attention, Swiglu, Residual, Sampler, Count };

extern mjit::PhaseCounter g_phases[static_cast<int>(Phase::Count)];
extern bool g_phases_enabled;

// The counters with their names, for mjit::print_profile.
mjit::PhaseTable phase_table();
void reset_phases();

class PhaseScope {
public:
    explicit PhaseScope(Phase phase) : m_phase(phase), m_start(g_phases_enabled ? kl::time::rdtsc() : 0) {}
    ~PhaseScope()
    {
        if (m_start) {
            mjit::PhaseCounter& c = g_phases[static_cast<int>(m_phase)];
            ++c.calls;
            c.cycles += kl::time::rdtsc() - m_start;
        }
    }
    PhaseScope(const PhaseScope&) = delete;
    PhaseScope& operator=(const PhaseScope&) = delete;

private:
    Phase m_phase;
    u64 m_start;
};

}
