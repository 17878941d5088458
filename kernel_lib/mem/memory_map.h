// The physical memory the kernel may use, derived from the BIOS E820 map.
//
// PhysicalMap turns the loader's raw E820 table (unsorted, overlapping, zero-length and
// >4 GiB entries all happen on real machines) into a sorted list of disjoint, page-aligned
// ranges of free RAM: usable RAM (type 1) minus every range some other entry claims, minus
// the first MiB (BIOS data, boot structures, the AP trampoline), the kernel image and the
// loaded payloads. The frame allocator (frame_allocator.h) hands out frames from it.
// Everything is in fixed-size arrays: this runs before any allocator exists.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/boot/bootinfo.h"

namespace kl::mem {

constexpr u64 page_size = 4096;

// A half-open physical address range [start, end).
struct PhysRange {
    u64 start;
    u64 end;
    u64 size() const { return end - start; }
};

// A sorted set of disjoint, non-adjacent ranges with a fixed capacity: adding merges with
// overlapping or touching neighbours, removing may split a range in two.
class RangeSet {
public:
    static constexpr usize capacity = 256;

    // Both fail only when the set would need more than `capacity` ranges; `what` names
    // the set in that error.
    ErrorOr<void> add(PhysRange range, const char* what);
    ErrorOr<void> remove(PhysRange range, const char* what);
    void clear() { m_count = 0; }

    // True when any byte of `range` is in the set / when all of it lies in one range.
    bool overlaps(PhysRange range) const;
    bool contains(PhysRange range) const;

    usize count() const { return m_count; }
    const PhysRange& operator[](usize index) const { return m_ranges[index]; }
    u64 total_bytes() const;
    // The largest range ({0, 0} when empty).
    PhysRange largest() const;

    // Shrinks every range to whole pages, dropping those that hold none.
    void trim_to_pages();

private:
    ErrorOr<void> insert_at(usize index, PhysRange range, const char* what);
    void erase(usize first, usize count);

    PhysRange m_ranges[capacity] {};
    usize m_count { 0 };
};

class PhysicalMap {
public:
    // Always reserved: real-mode IVT, BIOS data, BootInfo, the AP trampoline, VGA, ROMs.
    static constexpr u64 low_memory_end = 0x100000;

    // The usable RAM of `regions` minus every non-usable entry, the first MiB and each of
    // `reserved` (rounded outward to pages). Errors: more than RangeSet::capacity separate
    // ranges (ErrorCode::BootMemoryMap).
    ErrorOr<void> build(const boot::MemoryRegion* regions, usize region_count, const PhysRange* reserved,
        usize reserved_count);
    // Same from the loader's BootInfo: also reserves its kernel and every payload
    // (size rounded up to a page). `kernel_image` is [start of the image, end of .bss),
    // which the loader does not know.
    ErrorOr<void> build(const boot::BootInfo& info, PhysRange kernel_image, const PhysRange* extra = nullptr,
        usize extra_count = 0);

    // Removes `range` (rounded outward to pages) from the free RAM.
    ErrorOr<void> reserve(PhysRange range);

    // RAM of type 1 in whole pages, before any reservation.
    u64 usable_bytes() const { return m_usable_bytes; }
    // What is left for the frame allocator.
    u64 free_bytes() const { return m_free.total_bytes(); }
    PhysRange largest() const { return m_free.largest(); }
    const RangeSet& ranges() const { return m_free; }

    // One line of text per call (no newline): a total line, then one line per range.
    using LineSink = void (*)(const char* line, void* context);
    void summarize(LineSink sink, void* context) const;
    // The summary through kl::print.
    void print() const;

private:
    RangeSet m_free;
    u64 m_usable_bytes { 0 };
};

}
