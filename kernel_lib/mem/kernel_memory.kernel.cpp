// Kernel memory bring-up and the allocation entry points everything else uses:
// kl::mem::allocate, malloc and friends, operator new/delete (see kernel_memory.h).
#include "kernel_lib/mem/kernel_memory.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/mem/alloc.h"
#include "kernel_lib/mem/code_arena.h"
#include "kernel_lib/mem/memory_map.h"
#include "kernel_lib/mem/paging.h"

extern "C" char __kernel_start[], __kernel_end[];

namespace kl::mem {

namespace {

PhysicalMap g_map;
FrameAllocator g_frames;
Heap g_heap;
bool g_ready = false;

constexpr u64 heap_initial_bytes = 16 * MiB;
constexpr u64 heap_growth_bytes = 64 * MiB;

// The heap grows in 2 MiB-aligned steps straight from the frame allocator.
ErrorOr<Span> grow_heap(usize min_bytes, void*)
{
    u64 want = align_up<u64>(max<u64>(min_bytes + MiB, heap_growth_bytes), 2 * MiB);
    u64 largest = g_frames.free_ranges().largest().size();
    if (want > largest)
        want = align_down<u64>(largest, 2 * MiB) >= min_bytes + page_size ? align_down<u64>(largest, 2 * MiB)
                                                                          : align_up<u64>(min_bytes + page_size, page_size);
    u64 base = TRY(g_frames.allocate(want / page_size, page_size, "the kernel heap"));
    return Span { reinterpret_cast<void*>(base), static_cast<usize>(want) };
}

}

FrameAllocator& frame_allocator() { return g_frames; }
Heap& kernel_heap() { return g_heap; }

ErrorOr<void> init_memory(const boot::BootInfo& info)
{
    PhysRange kernel { reinterpret_cast<u64>(__kernel_start), align_up<u64>(reinterpret_cast<u64>(__kernel_end), page_size) };
    TRY(g_map.build(info, kernel));
    g_frames.init(g_map);
    TRY(init_paging(info, g_frames));
    Span first = TRY(grow_heap(heap_initial_bytes - MiB, nullptr));
    TRY(g_heap.add_region(first.base, first.size));
    g_heap.set_grow_function(grow_heap, nullptr);
    TRY(init_code_arena(g_frames));
    g_ready = true;
    return {};
}

void print_memory_summary()
{
    auto stats = g_heap.stats();
    print("memory: %llu MiB usable, %llu MiB free for the engine; heap %llu MiB, code arena %llu KiB\n",
        static_cast<unsigned long long>(g_map.usable_bytes() / MiB),
        static_cast<unsigned long long>(available_bytes() / MiB),
        static_cast<unsigned long long>(stats.region_bytes / MiB),
        static_cast<unsigned long long>(code_arena_bytes() / KiB));
}

ErrorOr<void*> allocate(usize size, usize alignment, const char* what)
{
    VERIFY(g_ready);
    return g_heap.allocate(size, alignment, what);
}

void release(void* pointer) { g_heap.free(pointer); }

u64 available_bytes()
{
    auto stats = g_heap.stats();
    return g_frames.free_frames() * page_size + stats.bytes_free;
}

}

// ---- C and C++ allocation entry points --------------------------------------------------

extern "C" {

void* malloc(size_t size)
{
    auto r = kl::mem::kernel_heap().allocate(size, 16, "malloc");
    return r.is_error() ? nullptr : r.value();
}

void* aligned_alloc(size_t alignment, size_t size)
{
    auto r = kl::mem::kernel_heap().allocate(size, alignment, "aligned_alloc");
    return r.is_error() ? nullptr : r.value();
}

int posix_memalign(void** out, size_t alignment, size_t size)
{
    *out = aligned_alloc(alignment, size);
    return *out ? 0 : 12;  // ENOMEM
}

void* calloc(size_t count, size_t size)
{
    u64 bytes;
    if (!kl::checked_mul(count, size, bytes))
        return nullptr;
    void* p = malloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void* realloc(void* pointer, size_t size)
{
    if (!pointer)
        return malloc(size);
    auto r = kl::mem::kernel_heap().reallocate(pointer, size);
    return r.is_error() ? nullptr : r.value();
}

void free(void* pointer)
{
    if (pointer)
        kl::mem::kernel_heap().free(pointer);
}

void abort()
{
    kl::panic_with(kl::ErrorCode::InternalPanic, "abort() called");
}

}

// new never returns null: failing to allocate is a clear, fatal out-of-memory report.
namespace {

void* new_or_die(size_t size, size_t alignment)
{
    auto r = kl::mem::kernel_heap().allocate(size, alignment, "operator new");
    if (r.is_error())
        kl::panic_with(kl::ErrorCode::OutOfMemory, "%s", r.error().message());
    return r.value();
}

}

void* operator new(size_t size) { return new_or_die(size, 16); }
void* operator new[](size_t size) { return new_or_die(size, 16); }
void* operator new(size_t size, std::align_val_t alignment) { return new_or_die(size, static_cast<size_t>(alignment)); }
void* operator new[](size_t size, std::align_val_t alignment) { return new_or_die(size, static_cast<size_t>(alignment)); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return malloc(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return malloc(size); }
void* operator new(size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept
{
    return aligned_alloc(static_cast<size_t>(alignment), size);
}
void* operator new[](size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept
{
    return aligned_alloc(static_cast<size_t>(alignment), size);
}
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { free(p); }
