// FrameAllocator: first fit over the free ranges (see frame_allocator.h).
#include "kernel_lib/mem/frame_allocator.h"

// Optimised for size: the kernel binary budget is tight and none of this is a hot loop.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)
namespace kl::mem {

namespace {

unsigned long long kib(u64 bytes) { return static_cast<unsigned long long>(bytes / KiB); }
unsigned long long ull(u64 value) { return static_cast<unsigned long long>(value); }

}

void FrameAllocator::init(const PhysicalMap& map)
{
    m_map = &map;
    // Same capacity and a set that is already sorted and disjoint: copying cannot fail.
    m_free = map.ranges();
    m_total_bytes = m_free.total_bytes();
}

ErrorOr<u64> FrameAllocator::allocate(u64 frames, u64 alignment, const char* what, u64 limit)
{
    if (alignment == 0)
        alignment = frame_size;
    u64 bytes;
    if (frames == 0 || alignment < frame_size || (alignment & (alignment - 1)) != 0
        || !checked_mul(frames, frame_size, bytes))
        return Error::make(ErrorCode::InvalidArgument,
            "bad frame request for %s: %llu frames aligned to 0x%llx (need a count > 0 and a power-of-two alignment >= 4 KiB)",
            what, ull(frames), ull(alignment));
    for (usize i = 0; i < m_free.count(); i++) {
        PhysRange range = m_free[i];
        if (range.start > ~0ull - (alignment - 1))
            break;
        u64 start = align_up(range.start, alignment);
        if (start >= range.end || range.end - start < bytes || start + bytes > limit)
            continue;
        TRY(m_free.remove({ start, start + bytes }, "the frame allocator's free list"));
        return start;
    }
    PhysRange big = largest_free();
    return Error::make(ErrorCode::OutOfMemory,
        "out of physical memory for %s: %llu KiB aligned to %llu KiB%s requested; %llu KiB free, largest free range %llu KiB at 0x%llx",
        what, kib(bytes), kib(alignment), limit == no_limit ? "" : " (below the limit)", kib(m_free.total_bytes()),
        kib(big.size()), ull(big.start));
}

ErrorOr<void> FrameAllocator::free(u64 address, u64 frames)
{
    u64 bytes, end;
    if (frames == 0 || address % frame_size != 0 || !checked_mul(frames, frame_size, bytes)
        || !checked_add(address, bytes, end) || !m_map || !m_map->ranges().contains({ address, end }))
        return Error::make(ErrorCode::InvalidArgument,
            "freeing %llu frames at 0x%llx: not page frames this allocator manages", ull(frames), ull(address));
    if (m_free.overlaps({ address, end }))
        return Error::make(ErrorCode::MemoryCorrupted,
            "double free: frames 0x%llx-0x%llx are (partly) free already", ull(address), ull(end));
    return m_free.add({ address, end }, "the frame allocator's free list");
}

}
#pragma clang attribute pop
