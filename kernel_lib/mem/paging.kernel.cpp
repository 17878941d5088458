// The kernel's identity-mapped page tables with protections (see paging.h).
#include "kernel_lib/mem/paging.h"

#include <string.h>

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/arch/x86_64/pvm.h"
#include "kernel_lib/cpu/features.h"
#include "kernel_lib/smp/parallel.h"

extern "C" char __kernel_start[], __rodata_start[], __data_start[], __kernel_end[];
extern "C" char boot_stack_guard[];

namespace kl::mem {

namespace {

constexpr u64 present = 1, writable = 2, user = 4, large = 0x80;
constexpr u64 no_execute = 1ull << 63;
constexpr u64 address_mask = 0x000FFFFFFFFFF000ull;
constexpr u64 large_page = 2 * MiB;

u64* g_pml4 = nullptr;
FrameAllocator* g_frames = nullptr;
u64 g_nx = 0;     // no_execute when the CPU has NX, else 0
u64 g_user = 0;   // U in every entry under PVM, where the kernel runs at hardware CPL 3
u64 g_mapped_end = 0;

u64* table(u64 entry) { return reinterpret_cast<u64*>(entry & address_mask); }

ErrorOr<u64*> new_table()
{
    u64 frame = TRY(g_frames->allocate(1, page_size, "a page table"));
    auto* t = reinterpret_cast<u64*>(frame);
    memset(t, 0, page_size);
    return t;
}

u64 leaf_flags(Protection p)
{
    switch (p) {
    case Protection::None: return 0;
    case Protection::Read: return present | g_user | g_nx;
    case Protection::ReadWrite: return present | writable | g_user | g_nx;
    case Protection::ReadExecute: return present | g_user;
    }
    return 0;
}

// The page-directory entry that maps `address` (a 2 MiB page or a page table).
u64& directory_entry(u64 address)
{
    u64* pdpt = table(g_pml4[(address >> 39) & 511]);
    u64* pd = table(pdpt[(address >> 30) & 511]);
    return pd[(address >> 21) & 511];
}

// Replaces the 2 MiB page holding `address` by a table of 512 4 KiB pages with the same
// protection.
ErrorOr<void> split(u64& pd_entry, u64 base)
{
    u64* pt = TRY(new_table());
    u64 flags = pd_entry & (present | writable | user | no_execute);
    for (u64 i = 0; i < 512; ++i)
        pt[i] = (base + i * page_size) | flags;
    pd_entry = reinterpret_cast<u64>(pt) | present | writable | g_user;
    return {};
}

}

u64 mapped_end() { return g_mapped_end; }

ErrorOr<void> protect(u64 address, u64 size, Protection protection)
{
    VERIFY(g_pml4 && address % page_size == 0 && size % page_size == 0);
    if (address + size > g_mapped_end)
        return Error::make(ErrorCode::InvalidArgument, "protect(%#llx, %#llx): beyond the mapped %#llx",
            static_cast<unsigned long long>(address), static_cast<unsigned long long>(size),
            static_cast<unsigned long long>(g_mapped_end));
    u64 end = address + size;
    for (u64 at = address; at < end;) {
        u64& pde = directory_entry(at);
        u64 chunk = align_down(at, large_page);
        if ((pde & large) && at == chunk && end - at >= large_page) {
            pde = chunk | large | leaf_flags(protection);
            x86::invlpg(chunk);
            at += large_page;
            continue;
        }
        if (pde & large)
            TRY(split(pde, chunk));
        u64* pt = table(pde);
        for (; at < end && at < chunk + large_page; at += page_size) {
            pt[(at >> 12) & 511] = at | leaf_flags(protection);
            x86::invlpg(at);
        }
    }
    // Other cores flush their TLBs before their next job (JIT code changes W^X often).
    smp::mappings_changed();
    return {};
}

ErrorOr<void> init_paging(const boot::BootInfo& info, FrameAllocator& frames)
{
    g_frames = &frames;
    g_user = x86::under_pvm() ? user : 0;
    const auto& cpu = cpu::features();
    if (cpu.nx) {
        x86::wrmsr(x86::MSR_EFER, x86::rdmsr(x86::MSR_EFER) | x86::EFER_NXE);
        g_nx = no_execute;
    }

    // Map [0, max(4 GiB, top of RAM, end of the framebuffer)) in whole GiB with 2 MiB pages.
    u64 top = max<u64>(4 * GiB, info.framebuffer_address + info.framebuffer_size);
    for (u32 i = 0; i < info.region_count; ++i) {
        const auto& r = info.regions[i];
        if (r.type == boot::memory_type_usable)
            top = max(top, r.base + r.length);
    }
    top = align_up(top, GiB);
    if (top > 512 * GiB * 512)
        top = 512 * GiB * 512;

    // The PML4 sits on an 8 KiB boundary: PVM reads CR3 bit 12 as "user page table".
    u64 pml4_frame = TRY(g_frames->allocate(1, 2 * page_size, "the PML4"));
    g_pml4 = reinterpret_cast<u64*>(pml4_frame);
    memset(g_pml4, 0, page_size);
    for (u64 gib = 0; gib < top / GiB; ++gib) {
        u64& pml4e = g_pml4[gib / 512];
        if (!(pml4e & present))
            pml4e = reinterpret_cast<u64>(TRY(new_table())) | present | writable | g_user;
        u64* pdpt = table(pml4e);
        u64* pd = TRY(new_table());
        pdpt[gib % 512] = reinterpret_cast<u64>(pd) | present | writable | g_user;
        for (u64 i = 0; i < 512; ++i)
            pd[i] = (gib * GiB + i * large_page) | large | present | writable | g_user | g_nx;
    }
    g_mapped_end = top;

    auto addr = [](const char* p) { return reinterpret_cast<u64>(p); };
    TRY(protect(0, page_size, Protection::None));
    TRY(protect(addr(__kernel_start), addr(__rodata_start) - addr(__kernel_start), Protection::ReadExecute));
    TRY(protect(addr(__rodata_start), addr(__data_start) - addr(__rodata_start), Protection::Read));
    TRY(protect(addr(boot_stack_guard), page_size, Protection::None));
    for (u32 i = 0; i < info.payload_count; ++i) {
        const auto& p = info.payloads[i];
        if (p.address == info.kernel_address || p.size == 0)
            continue;
        TRY(protect(p.address, align_up(p.size, page_size), Protection::Read));
    }

    x86::write_cr3(reinterpret_cast<u64>(g_pml4));
    x86::write_cr0(x86::read_cr0() | (1u << 16));  // WP: read-only pages bind the kernel too
    return {};
}

}
