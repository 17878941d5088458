// The loader's identity map (see page_tables.h).
#include "boot/uefi/page_tables.h"

#include <string.h>

namespace uefi {

using namespace kl;

namespace {

constexpr u64 present_writable = 0x3;
constexpr u64 page_size_bit = 0x80;
constexpr u64 entries = 512;
constexpr u64 table_bytes = 4096;

}

IdentityMapPlan plan_identity_map(const boot::MemoryRegion* regions, u32 region_count, u64 cover_end,
    bool cpu_has_1g_pages)
{
    u64 top = cover_end;
    for (u32 i = 0; i < region_count; ++i) {
        const auto& r = regions[i];
        if (r.type == boot::memory_type_usable && r.base + r.length > top)
            top = r.base + r.length;
    }
    u64 gib = (top >> 30) + ((top & (GiB - 1)) != 0);
    gib = max<u64>(gib, 4);
    IdentityMapPlan plan {};
    plan.pages_1g = cpu_has_1g_pages;
    plan.gib = static_cast<u32>(min<u64>(gib, cpu_has_1g_pages ? max_gib_1g_pages : max_gib_2m_pages));
    plan.table_pages = 2 + (cpu_has_1g_pages ? 0 : plan.gib);
    plan.mapped_bytes = static_cast<u64>(plan.gib) * GiB;
    return plan;
}

void build_identity_map(const IdentityMapPlan& plan, u64* tables, u64 tables_physical)
{
    memset(tables, 0, plan.table_pages * table_bytes);
    u64* pml4 = tables;
    u64* pdpt = tables + entries;
    pml4[0] = (tables_physical + table_bytes) | present_writable;
    for (u64 g = 0; g < plan.gib; ++g) {
        if (plan.pages_1g) {
            pdpt[g] = (g << 30) | page_size_bit | present_writable;
            continue;
        }
        u64* pd = tables + (2 + g) * entries;
        pdpt[g] = (tables_physical + (2 + g) * table_bytes) | present_writable;
        for (u64 i = 0; i < entries; ++i)
            pd[i] = ((g << 30) + (i << 21)) | page_size_bit | present_writable;
    }
}

}
