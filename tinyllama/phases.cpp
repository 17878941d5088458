// Phase counters (see phases.h).
#include "tinyllama/phases.h"

#include <string.h>

namespace tllama {

mjit::PhaseCounter g_phases[static_cast<int>(Phase::Count)];
bool g_phases_enabled = true;

namespace {

constexpr const char* phase_names[static_cast<int>(Phase::Count)] = { "embedding", "rmsnorm", "rope", "attention",
    "swiglu", "residual", "sampler" };

}

mjit::PhaseTable phase_table() { return { phase_names, g_phases, static_cast<u32>(Phase::Count) }; }

void reset_phases() { memset(g_phases, 0, sizeof(g_phases)); }

}
