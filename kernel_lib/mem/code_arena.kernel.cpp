// The JIT code arena (see code_arena.h).
#include "kernel_lib/mem/code_arena.h"

#include <string.h>

#include "kernel_lib/mem/paging.h"

namespace kl::mem {

namespace {

constexpr u64 max_pages = 16384;  // 64 MiB at most

u64 g_base = 0;
u64 g_pages = 0;
u64 g_used_pages = 0;
u64 g_bitmap[max_pages / 64];

bool page_used(u64 i) { return (g_bitmap[i / 64] >> (i % 64)) & 1; }
void mark(u64 first, u64 count, bool used)
{
    for (u64 i = first; i < first + count; ++i) {
        if (used)
            g_bitmap[i / 64] |= 1ull << (i % 64);
        else
            g_bitmap[i / 64] &= ~(1ull << (i % 64));
    }
}

}

ErrorOr<void> init_code_arena(FrameAllocator& frames, u64 bytes)
{
    g_pages = min<u64>(align_up<u64>(bytes, page_size) / page_size, max_pages);
    g_base = TRY(frames.allocate(g_pages, 2 * MiB, "the JIT code arena"));
    // Split the arena into 4 KiB pages now (protecting one page of each 2 MiB page does
    // it), so later protection changes never need to allocate a page table.
    for (u64 at = g_base; at < g_base + g_pages * page_size; at += 2 * MiB)
        TRY(protect(at, page_size, Protection::ReadWrite));
    return {};
}

ErrorOr<u8*> code_arena_allocate(usize bytes, usize* granted)
{
    u64 need = align_up<u64>(max<u64>(bytes, 1), page_size) / page_size;
    u64 run = 0;
    for (u64 i = 0; i < g_pages; ++i) {
        run = page_used(i) ? 0 : run + 1;
        if (run == need) {
            u64 first = i + 1 - need;
            mark(first, need, true);
            g_used_pages += need;
            u8* base = reinterpret_cast<u8*>(g_base + first * page_size);
            memset(base, 0, need * page_size);
            *granted = need * page_size;
            return base;
        }
    }
    return Error::make(ErrorCode::JitArenaFull,
        "the JIT code arena has no %llu free contiguous pages (%llu of %llu pages in use)",
        static_cast<unsigned long long>(need), static_cast<unsigned long long>(g_used_pages),
        static_cast<unsigned long long>(g_pages));
}

ErrorOr<void> code_arena_seal(u8* base, usize bytes)
{
    return protect(reinterpret_cast<u64>(base), align_up<u64>(bytes, page_size), Protection::ReadExecute);
}

void code_arena_free(u8* base, usize bytes)
{
    u64 address = reinterpret_cast<u64>(base);
    u64 pages = align_up<u64>(bytes, page_size) / page_size;
    VERIFY(address >= g_base && address + pages * page_size <= g_base + g_pages * page_size);
    // The arena's pages are already split, so this cannot fail for lack of memory.
    VERIFY(!protect(address, pages * page_size, Protection::ReadWrite).is_error());
    mark((address - g_base) / page_size, pages, false);
    g_used_pages -= pages;
}

u64 code_arena_bytes() { return g_pages * page_size; }
u64 code_arena_used_bytes() { return g_used_pages * page_size; }

}
