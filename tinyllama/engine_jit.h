// The micro-JIT as the engine uses it: one code cache and one tiering policy attached to a
// transformer's dispatcher, the ISA cap, and the end-of-run profile report. Shared by the
// host tool and the kernel app so both run the same self-optimisation loop.
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

    // Every matrix product of `t` is profiled and, when enabled, tiered. One transformer
    // at a time: attaching another (or destroying the EngineJit) first returns the previous
    // one's slots to the reference kernels, since its generated code lives in this cache.
    void attach(Transformer& t);
    void detach();

    bool enabled() const { return m_options.enabled; }
    // The ISA generated kernels target ("avx2"), or "off".
    const char* isa_name() const;

    // The profile table and the `@profile` line for the run that took `generation_cycles`.
    void report(Transformer& t, double generation_cycles);

    mjit::Tiering& tiering() { return m_tiering; }
    mjit::CodeCache& cache() { return m_cache; }

private:
    // Q8 models: the activation quantizer for one group, generated, verified bit for bit
    // on a sample and installed in t's dispatcher (the reference stays otherwise).
    kl::ErrorOr<void> install_quantizer(Transformer& t);

    JitOptions m_options;
    kl::cpu::Isa m_previous_cap;
    mjit::CodeCache m_cache;
    mjit::Tiering m_tiering;
    mjit::Dispatcher* m_attached = nullptr;
};

}
