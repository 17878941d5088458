// The code cache (see code_cache.h).
#include "microjit/code_cache.h"

#include "kernel_lib/io/print.h"
#include "kernel_lib/time/tsc.h"

namespace mjit {

CodeCache::CodeCache(u64 budget_bytes)
{
    m_stats.budget_bytes = budget_bytes;
}

CodeCache::~CodeCache()
{
    clear();
}

int CodeCache::index_of(const KernelConfig& config) const
{
    for (u32 i = 0; i < m_count; ++i)
        if (m_entries[i].kernel.config == config)
            return static_cast<int>(i);
    return -1;
}

const GeneratedKernel* CodeCache::find(const KernelConfig& config)
{
    const int i = index_of(config);
    if (i < 0)
        return nullptr;
    ++m_entries[i].hits;
    ++m_stats.hits;
    return &m_entries[i].kernel;
}

kl::ErrorOr<const GeneratedKernel*> CodeCache::get(const KernelConfig& config)
{
    if (const GeneratedKernel* k = find(config))
        return k;
    char name[96];
    format_config_name(name, sizeof(name), config);
    if (m_count >= max_kernels) {
        ++m_stats.refusals;
        return kl::Error::make(kl::ErrorCode::JitArenaFull, "JIT code cache: all %u slots are taken, %s stays on the reference kernel",
            max_kernels, name);
    }
    if (m_stats.arena_bytes >= m_stats.budget_bytes) {
        ++m_stats.refusals;
        return kl::Error::make(kl::ErrorCode::JitArenaFull, "JIT code cache: the %llu-byte budget is used up, %s stays on the reference kernel",
            static_cast<unsigned long long>(m_stats.budget_bytes), name);
    }

    const u64 start = kl::time::rdtsc();
    auto generated = generate(config);
    m_stats.generation_cycles += kl::time::rdtsc() - start;
    if (generated.is_error()) {
        ++m_stats.failures;
        return generated.release_error();
    }
    GeneratedKernel k = generated.release_value();
    // The size is only known once emitted; a kernel that would overflow the budget is
    // dropped again rather than admitted.
    if (m_stats.arena_bytes + k.memory.size > m_stats.budget_bytes) {
        const unsigned long long needed = k.memory.size;
        release(k);
        ++m_stats.refusals;
        return kl::Error::make(kl::ErrorCode::JitArenaFull, "JIT code cache: %s needs %llu bytes, %llu of the %llu-byte budget are left",
            name, needed, static_cast<unsigned long long>(m_stats.budget_bytes - m_stats.arena_bytes),
            static_cast<unsigned long long>(m_stats.budget_bytes));
    }
    Entry& e = m_entries[m_count++];
    e.kernel = k;
    e.hits = 0;
    m_stats.code_bytes += k.code_size;
    m_stats.arena_bytes += k.memory.size;
    ++m_stats.generated;
    return &e.kernel;
}

kl::ErrorOr<void> CodeCache::remove(const KernelConfig& config)
{
    const int i = index_of(config);
    if (i < 0) {
        char name[96];
        format_config_name(name, sizeof(name), config);
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "JIT code cache: %s is not cached", name);
    }
    Entry& e = m_entries[i];
    m_stats.code_bytes -= e.kernel.code_size;
    m_stats.arena_bytes -= e.kernel.memory.size;
    release(e.kernel);
    // Keep the table dense; entry order carries no meaning.
    m_entries[i] = m_entries[--m_count];
    m_entries[m_count] = Entry {};
    return {};
}

void CodeCache::clear()
{
    for (u32 i = 0; i < m_count; ++i) {
        release(m_entries[i].kernel);
        m_entries[i] = Entry {};
    }
    m_count = 0;
    m_stats.code_bytes = 0;
    m_stats.arena_bytes = 0;
}

CacheStats CodeCache::stats() const
{
    CacheStats s = m_stats;
    s.kernels = m_count;
    return s;
}

void CodeCache::print() const
{
    for (u32 i = 0; i < m_count; ++i) {
        const Entry& e = m_entries[i];
        kl::print("jit: %-48s %6zu bytes  %8llu hits  %7.1f us to generate\n", e.kernel.name, e.kernel.code_size,
            static_cast<unsigned long long>(e.hits), kl::time::cycles_to_ns(e.kernel.generation_cycles) / 1000.0);
    }
    const CacheStats s = stats();
    kl::print("jit: %u kernels, %llu code bytes in %llu of %llu arena bytes, %.2f ms generating, %llu hits, %llu refused, %llu failed\n",
        s.kernels, static_cast<unsigned long long>(s.code_bytes), static_cast<unsigned long long>(s.arena_bytes),
        static_cast<unsigned long long>(s.budget_bytes), kl::time::cycles_to_ms(s.generation_cycles),
        static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.refusals), static_cast<unsigned long long>(s.failures));
}

}
