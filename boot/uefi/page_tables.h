// The identity map the kernel is entered with, as stage2 builds it (boot/stage2/longmode.asm:
// build_page_tables): [0, max(4 GiB, top of usable RAM)) in 1 GiB pages where the CPU has
// them (at most 512 GiB), else in 2 MiB pages (at most 16 GiB). The loader also stretches it
// over the framebuffer, which the kernel's console draws on before it builds its own tables.
//
// Shared code: the plan and the table contents are host-tested; the loader writes them into
// pages it allocated below 1 MiB.
#pragma once

#include "kernel_lib/boot/bootinfo.h"

namespace uefi {

constexpr u32 max_gib_1g_pages = 512;
constexpr u32 max_gib_2m_pages = 16;

struct IdentityMapPlan {
    u32 gib;            // GiB mapped from address 0
    bool pages_1g;
    u32 table_pages;    // 4 KiB pages of tables: PML4, PDPT and, for 2 MiB pages, one PD per GiB
    u64 mapped_bytes;
};

// `cover_end`: an address the map should reach besides RAM (the framebuffer's end; 0: none).
IdentityMapPlan plan_identity_map(const kl::boot::MemoryRegion* regions, u32 region_count, u64 cover_end,
    bool cpu_has_1g_pages);

// Writes the tables of `plan` into `tables` (plan.table_pages * 512 entries), which the
// CPU will find at physical address `tables_physical`: PML4 first, then the PDPT, then the
// page directories. Present, writable, executable, cacheable, like stage2's.
void build_identity_map(const IdentityMapPlan& plan, u64* tables, u64 tables_physical);

}
