// The code cache: generated kernels keyed by their KernelConfig (operation, shape, ISA,
// variant), in a bounded budget of executable memory, with statistics.
//
//   CodeCache cache(512 * kl::KiB);
//   auto k = cache.get(config);   // generated on first use, then found
//   if (k.is_error()) ...         // JitArenaFull / JitUnsupported / JitEmit: keep mjit::ref
//
// When the budget (or the table) is full, get() refuses with ErrorCode::JitArenaFull and
// the caller keeps the reference kernel. The cache never evicts on its own: a published
// kernel may be running on another core at any moment, and only the tiering layer knows
// which kernels were published. It can drop the ones it never published (autotuning
// losers, kernels that failed verification) with remove().
//
// Not thread-safe: one core generates and fills the cache; the kernels themselves are
// immutable once sealed and may be called from every core.
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/jit.h"

namespace mjit {

struct CacheStats {
    u32 kernels = 0;             // live kernels
    u64 code_bytes = 0;          // their code (and constant) bytes
    u64 arena_bytes = 0;         // executable memory they occupy (granule-rounded); counts against the budget
    u64 budget_bytes = 0;
    u64 generation_cycles = 0;   // TSC cycles spent generating, failures included
    u64 generated = 0;           // successful generations
    u64 hits = 0;                // get()/find() answered from the cache
    u64 refusals = 0;            // get() refused: budget or table full
    u64 failures = 0;            // generation errors (unsupported config, asmjit error)
};

class CodeCache {
public:
    static constexpr u32 max_kernels = 128;

    explicit CodeCache(u64 budget_bytes);
    ~CodeCache();
    CodeCache(const CodeCache&) = delete;
    CodeCache& operator=(const CodeCache&) = delete;

    // The kernel for `config`, generated (and counted) on first use.
    kl::ErrorOr<const GeneratedKernel*> get(const KernelConfig& config);
    // The cached kernel, or null; never generates.
    const GeneratedKernel* find(const KernelConfig& config);
    // Frees a kernel the caller never published; InvalidArgument when absent.
    kl::ErrorOr<void> remove(const KernelConfig& config);
    // Frees everything (only when no kernel can be running).
    void clear();

    CacheStats stats() const;
    u32 count() const { return m_count; }
    const GeneratedKernel& at(u32 index) const { return m_entries[index].kernel; }
    u64 hits_of(u32 index) const { return m_entries[index].hits; }

    // One line per kernel (name, bytes, hits, generation time) and a summary, via kl::print.
    void print() const;

private:
    struct Entry {
        GeneratedKernel kernel;
        u64 hits = 0;
    };
    int index_of(const KernelConfig& config) const;

    Entry m_entries[max_kernels];
    u32 m_count = 0;
    CacheStats m_stats;
};

}
