// RangeSet and PhysicalMap (see memory_map.h).
//
// The ranges stay in plain arrays kept sorted by insertion; with at most a few hundred
// entries, shifting them is cheaper in code and time than any tree.
#include "kernel_lib/mem/memory_map.h"

#include <stdio.h>
#include <string.h>

#include "kernel_lib/io/print.h"

// Optimised for size: the kernel binary budget is tight and none of this is a hot loop.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)
namespace kl::mem {

namespace {

// base + length, saturated: an E820 entry may claim to reach past 2^64.
u64 saturating_end(u64 base, u64 length)
{
    u64 end;
    return checked_add(base, length, end) ? end : ~0ull;
}

unsigned long long ull(u64 value) { return static_cast<unsigned long long>(value); }

}

// ---- RangeSet ---------------------------------------------------------------------------

ErrorOr<void> RangeSet::insert_at(usize index, PhysRange range, const char* what)
{
    if (m_count == capacity)
        return Error::make(ErrorCode::OutOfMemory,
            "%s needs more than %zu separate ranges (inserting 0x%llx-0x%llx); memory is too fragmented",
            what, capacity, ull(range.start), ull(range.end));
    memmove(&m_ranges[index + 1], &m_ranges[index], (m_count - index) * sizeof(PhysRange));
    m_ranges[index] = range;
    m_count++;
    return {};
}

void RangeSet::erase(usize first, usize count)
{
    memmove(&m_ranges[first], &m_ranges[first + count], (m_count - first - count) * sizeof(PhysRange));
    m_count -= count;
}

ErrorOr<void> RangeSet::add(PhysRange range, const char* what)
{
    if (range.start >= range.end)
        return {};
    usize first = 0;
    while (first < m_count && m_ranges[first].end < range.start)
        first++;
    // Absorb every range that overlaps or touches the new one.
    usize last = first;
    while (last < m_count && m_ranges[last].start <= range.end) {
        range.start = min(range.start, m_ranges[last].start);
        range.end = max(range.end, m_ranges[last].end);
        last++;
    }
    if (last == first)
        return insert_at(first, range, what);
    m_ranges[first] = range;
    erase(first + 1, last - first - 1);
    return {};
}

ErrorOr<void> RangeSet::remove(PhysRange range, const char* what)
{
    // An empty range would otherwise split the range around it in two.
    if (range.start >= range.end)
        return {};
    for (usize i = 0; i < m_count;) {
        PhysRange& current = m_ranges[i];
        if (current.end <= range.start) {
            i++;
            continue;
        }
        if (current.start >= range.end)
            break;
        if (current.start < range.start && current.end > range.end) {
            PhysRange tail { range.end, current.end };
            current.end = range.start;
            return insert_at(i + 1, tail, what);
        }
        if (current.start < range.start) {
            current.end = range.start;
            i++;
        } else if (current.end > range.end) {
            current.start = range.end;
            break;
        } else {
            erase(i, 1);
        }
    }
    return {};
}

bool RangeSet::overlaps(PhysRange range) const
{
    for (usize i = 0; i < m_count; i++) {
        if (m_ranges[i].start < range.end && range.start < m_ranges[i].end)
            return true;
    }
    return false;
}

bool RangeSet::contains(PhysRange range) const
{
    for (usize i = 0; i < m_count; i++) {
        if (m_ranges[i].start <= range.start && range.end <= m_ranges[i].end)
            return true;
    }
    return false;
}

u64 RangeSet::total_bytes() const
{
    u64 total = 0;
    for (usize i = 0; i < m_count; i++)
        total += m_ranges[i].size();
    return total;
}

PhysRange RangeSet::largest() const
{
    PhysRange best { 0, 0 };
    for (usize i = 0; i < m_count; i++) {
        if (m_ranges[i].size() > best.size())
            best = m_ranges[i];
    }
    return best;
}

void RangeSet::trim_to_pages()
{
    usize kept = 0;
    for (usize i = 0; i < m_count; i++) {
        // Align the end first: then start <= end guarantees align_up(start) cannot wrap.
        u64 end = align_down(m_ranges[i].end, page_size);
        u64 start = m_ranges[i].start;
        if (start >= end)
            continue;
        start = align_up(start, page_size);
        if (start < end)
            m_ranges[kept++] = { start, end };
    }
    m_count = kept;
}

// ---- PhysicalMap ------------------------------------------------------------------------

ErrorOr<void> PhysicalMap::build(const boot::MemoryRegion* regions, usize region_count, const PhysRange* reserved,
    usize reserved_count)
{
    m_free.clear();
    m_usable_bytes = 0;
    // Usable entries first, then every other type wins where they overlap (firmware that
    // reports an ACPI table inside a RAM entry means the table).
    for (int pass = 0; pass < 2; pass++) {
        for (usize i = 0; i < region_count; i++) {
            boot::MemoryRegion region = regions[i];
            bool usable = region.type == boot::memory_type_usable;
            if (usable != (pass == 0))
                continue;
            PhysRange range { region.base, saturating_end(region.base, region.length) };
            auto result = usable ? m_free.add(range, "the E820 memory map") : m_free.remove(range, "the E820 memory map");
            if (result.is_error())
                return Error::make(ErrorCode::BootMemoryMap, "%s", result.error().message());
        }
    }
    m_free.trim_to_pages();
    m_usable_bytes = m_free.total_bytes();
    TRY(reserve({ 0, low_memory_end }));
    for (usize i = 0; i < reserved_count; i++)
        TRY(reserve(reserved[i]));
    return {};
}

ErrorOr<void> PhysicalMap::build(const boot::BootInfo& info, PhysRange kernel_image, const PhysRange* extra,
    usize extra_count)
{
    if (info.region_count > boot::max_memory_regions || info.payload_count > boot::max_payloads)
        return Error::make(ErrorCode::BootInfoInvalid,
            "BootInfo claims %u memory regions and %u payloads (at most %u and %u); the loader handed over garbage",
            info.region_count, info.payload_count, boot::max_memory_regions, boot::max_payloads);
    TRY(build(info.regions, info.region_count, extra, extra_count));
    TRY(reserve(kernel_image));
    TRY(reserve({ info.kernel_address, saturating_end(info.kernel_address, info.kernel_size) }));
    for (u32 i = 0; i < info.payload_count; i++) {
        u64 address = info.payloads[i].address;
        TRY(reserve({ address, saturating_end(address, info.payloads[i].size) }));
    }
    return {};
}

ErrorOr<void> PhysicalMap::reserve(PhysRange range)
{
    if (range.start >= range.end)
        return {};
    u64 end = range.end > ~0ull - (page_size - 1) ? ~0ull : align_up(range.end, page_size);
    auto result = m_free.remove({ align_down(range.start, page_size), end }, "the physical memory map");
    if (result.is_error())
        return Error::make(ErrorCode::BootMemoryMap, "%s", result.error().message());
    return {};
}

void PhysicalMap::summarize(LineSink sink, void* context) const
{
    char line[160];
    PhysRange big = largest();
    snprintf(line, sizeof(line), "memory: %llu MiB usable RAM, %llu MiB free in %zu ranges, largest %llu MiB at 0x%llx",
        ull(m_usable_bytes / MiB), ull(free_bytes() / MiB), m_free.count(), ull(big.size() / MiB), ull(big.start));
    sink(line, context);
    for (usize i = 0; i < m_free.count(); i++) {
        snprintf(line, sizeof(line), "  0x%012llx-0x%012llx %10llu KiB", ull(m_free[i].start), ull(m_free[i].end),
            ull(m_free[i].size() / KiB));
        sink(line, context);
    }
}

void PhysicalMap::print() const
{
    summarize([](const char* line, void*) { kl::print("%s\n", line); }, nullptr);
}

}
#pragma clang attribute pop
