// The micro-JIT as the engine uses it: one code cache and one tiering policy attached to a
// transformer's dispatcher, the ISA cap, the on/off switch and the profile report. A
// member of tllama::Engine (engine.h), so the host tool and the kernel app run the same
// self-optimisation loop.
#pragma once

#include "kernel_lib/cpu/features.h"
#include "microjit/code_cache.h"
#include "microjit/tiering.h"
#include "tinyllama/transformer.h"

namespace tllama {

struct JitOptions {
    bool enabled = true;
    kl::cpu::Isa isa_cap = kl::cpu::Isa::Avx512;  // no cap
    u32 hot_calls = 4;
    u64 hot_cycles = 100000;
};

class EngineJit {
public:
    static constexpr u64 code_budget_bytes = 6 * 1024 * 1024;
    // Models with more weights than this are taken to stream from memory (larger than a
    // typical last-level cache share): see mjit::TieringOptions::weights_streamed.
    static constexpr u64 weights_streamed_bytes = 16 * 1024 * 1024;

    // Sets the process-wide ISA cap (microjit/isa.h) for its lifetime.
    explicit EngineJit(const JitOptions& options);
    ~EngineJit();
    EngineJit(const EngineJit&) = delete;
    EngineJit& operator=(const EngineJit&) = delete;

    // Every dispatched op of `t` is profiled and, when enabled, gets its default generated
    // kernel now (timed: setup_ms()) and is tuned on live calls later. One transformer at a
    // time: attaching another (or destroying the EngineJit) first returns the previous one's
    // slots to the reference kernels, since their generated code lives in this cache.
    void attach(Transformer& t);
    void detach();

    // Enabled at start-up (JIT=on): only then can it be switched on.
    bool available() const { return m_options.enabled; }
    bool on() const { return m_on; }
    // Off: every slot back to the reference; on: the defaults again, then tuning.
    kl::ErrorOr<void> set_on(bool on);
    // The ISA generated kernels target ("avx2"), or "off".
    const char* isa_name() const;

    // Milliseconds spent installing the default kernels when attached.
    double setup_ms() const { return m_setup_ms; }
    // TSC cycles spent generating and verifying kernels since start-up.
    u64 spent_cycles() const { return m_tiering.spent_cycles(); }
    u32 defaults_installed() const { return m_defaults; }

    mjit::Tiering& tiering() { return m_tiering; }
    mjit::CodeCache& cache() { return m_cache; }
    const mjit::CodeCache& cache() const { return m_cache; }

private:
    JitOptions m_options;
    kl::cpu::Isa m_previous_cap;
    mjit::CodeCache m_cache;
    mjit::Tiering m_tiering;
    mjit::Dispatcher* m_attached = nullptr;
    bool m_on = false;
    double m_setup_ms = 0.0;
    u32 m_defaults = 0;
};

}
