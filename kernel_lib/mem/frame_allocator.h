// Physical page frames: contiguous runs of 4 KiB frames for the heap, page tables and the
// JIT code arena.
//
// The free memory is a RangeSet (sorted disjoint ranges), not a bitmap: the kernel asks for
// few, mostly large runs, and a range list costs 4 KiB however much RAM there is.
// Allocation is first fit, lowest address first (so early page tables land in the
// identity-mapped low memory); freeing merges with the neighbours.
//
// Freeing is checked: frames outside the managed RAM, or already free (a double free),
// are refused with an Error (ErrorCode::InvalidArgument / MemoryCorrupted) and nothing
// changes; the caller decides whether that is fatal. Freeing part of an allocation is
// allowed (the allocator does not remember allocations, only what is free).
// Not thread-safe: the kernel serialises calls.
#pragma once

#include "kernel_lib/mem/memory_map.h"

namespace kl::mem {

class FrameAllocator {
public:
    static constexpr u64 frame_size = page_size;
    static constexpr u64 no_limit = ~0ull;

    // Takes every free range of `map`, which must outlive the allocator (free() checks
    // against it).
    void init(const PhysicalMap& map);

    // `frames` contiguous frames whose first address is a multiple of `alignment` (a power
    // of two >= 4 KiB, e.g. 4 KiB, 2 MiB or 1 GiB; 0 means 4 KiB) and which end at or
    // below `limit`. Returns the physical address. Errors: OutOfMemory naming `what`, the
    // request, the free total and the largest free range; InvalidArgument for a zero count
    // or a bad alignment.
    ErrorOr<u64> allocate(u64 frames, u64 alignment, const char* what, u64 limit = no_limit);
    ErrorOr<void> free(u64 address, u64 frames);

    u64 free_frames() const { return m_free.total_bytes() / frame_size; }
    u64 total_frames() const { return m_total_bytes / frame_size; }
    PhysRange largest_free() const { return m_free.largest(); }
    const RangeSet& free_ranges() const { return m_free; }

private:
    const PhysicalMap* m_map { nullptr };
    RangeSet m_free;
    u64 m_total_bytes { 0 };
};

}
