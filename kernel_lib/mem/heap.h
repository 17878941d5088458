// The kernel's general-purpose allocator (malloc/new and kl::mem::allocate sit on it).
//
// A boundary-tag heap over memory regions handed to it: every block starts with a 16-byte
// header (its size, the size of the block before it, flags and a check word); free blocks
// live in 62 segregated lists, two per power of two, found through a bitmap, so an
// allocation or free costs a few list operations however big the heap is. Freed blocks
// merge with free neighbours at once.
//
// Alignment: every block is 16-byte aligned; blocks of 256 bytes or more, and any block
// asked for with an alignment, are aligned to at least 64 bytes (cache lines for tensors).
//
// Checks: each header's check word mixes its fields with its address, so a header damaged
// by an overrun of the block before it, a double free or a free of a foreign pointer is
// caught on free/reallocate/merge and by check_integrity(). The corruption handler then
// runs: by default panic_with(ErrorCode::MemoryCorrupted, ...); a test may install its own,
// in which case the operation that found the damage returns without changing anything.
//
// When no free block fits, the heap asks its grow function (if any) for a new region once,
// then gives up with an OutOfMemory error naming the request and what is free.
// Not thread-safe: the kernel wraps it in a lock.
#pragma once

#include "kernel_lib/base/error.h"

namespace kl::mem {

struct Span {
    void* base;
    usize size;
};

class Heap {
public:
    using GrowFunction = ErrorOr<Span> (*)(usize min_bytes, void* context);
    using CorruptionHandler = void (*)(const char* problem, const void* address, void* context);

    // Requests above these are refused with OutOfMemory (they keep the size arithmetic
    // far from overflow; no block can span more than 32 GiB).
    static constexpr usize max_request = usize(16) << 30;
    static constexpr usize max_alignment = usize(1) << 30;
    static constexpr usize large_block = 256;  // from this size on, 64-byte alignment

    struct Stats {
        usize bytes_in_use;        // usable bytes of the live blocks
        usize peak_bytes_in_use;
        usize bytes_free;          // free blocks, headers included
        usize largest_free_block;  // usable bytes of the largest free block
        usize region_bytes;        // all memory handed to the heap
        u64 allocations;           // successful allocate() calls (and moving reallocate() calls)
        u64 frees;
    };

    constexpr Heap() = default;
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;

    // Gives the heap [base, base + size). Error MemoryTooSmall below 64 usable bytes.
    ErrorOr<void> add_region(void* base, usize size);
    // `grow` is asked for a span of at least min_bytes when nothing fits.
    void set_grow_function(GrowFunction grow, void* context);
    void set_corruption_handler(CorruptionHandler handler, void* context);

    // `alignment` is 0 or a power of two up to max_alignment. Size 0 gives a unique
    // minimal block. Errors: OutOfMemory (sizes in the message), InvalidArgument for a bad
    // alignment, MemoryCorrupted when a damaged header was found (after the handler ran).
    ErrorOr<void*> allocate(usize size, usize alignment, const char* what);
    // nullptr is ignored.
    void free(void* pointer);
    // Keeps the contents up to the smaller size; grows or shrinks in place when it can.
    // The new block has the default alignment for its size. nullptr allocates.
    ErrorOr<void*> reallocate(void* pointer, usize size);
    // Bytes the caller may use at `pointer` (>= what was asked for).
    usize usable_size(void* pointer);

    // Walks every block and free list; reports the first inconsistency to the corruption
    // handler and returns false.
    bool check_integrity();
    Stats stats() const;

private:
    struct Block;
    struct Region;
    static constexpr u32 bin_count = 62;

    bool check(const Block* block);
    bool corrupted(const char* problem, const void* address);
    Block* used_block(void* pointer, const char* problem);
    Block* find(u32 need, u32 want, usize alignment);
    void link(Block* block);
    void unlink(Block* block);
    bool release(Block* block);
    void split(Block* block, u32 keep);
    void note_in_use();
    usize in_use() const { return (m_used_units - usize(m_allocations - m_frees)) * 16; }
    ErrorOr<void*> failure(ErrorCode code, const char* problem, usize size, usize alignment, const char* what,
        const char* why, const char* detail);

    Block* m_bins[bin_count] {};
    u64 m_bin_map { 0 };
    Region* m_regions { nullptr };
    usize m_free_units { 0 };
    usize m_used_units { 0 };
    usize m_region_units { 0 };
    usize m_peak_in_use { 0 };
    u64 m_allocations { 0 };
    u64 m_frees { 0 };
    GrowFunction m_grow { nullptr };
    void* m_grow_context { nullptr };
    CorruptionHandler m_corruption_handler { nullptr };
    void* m_corruption_context { nullptr };
};

}
