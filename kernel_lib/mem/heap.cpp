// Heap: boundary tags, segregated free lists, checked headers (see heap.h).
//
// Layout of a region: a 16-byte Region header (the list of regions, for check_integrity),
// then blocks back to back, then a one-unit end block marked used so that merging never
// runs past the region. Sizes are counted in 16-byte units. Invariants: no two free blocks
// are neighbours; every free block is in the list of its size class; every header's check
// word matches. Every neighbour header is checked before it is written, so a damaged
// header is never silently re-signed.
#include "kernel_lib/mem/heap.h"

#include <string.h>

// Optimised for size: the kernel binary budget is tight, and each operation is a few list
// steps whose speed depends on memory, not on instruction scheduling.
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)
namespace kl::mem {

namespace {

constexpr usize unit = 16;
constexpr u32 flag_used = 1;
constexpr u32 flag_end = 2;
constexpr u32 min_units = 2;  // a header and the two free-list links
constexpr usize max_chunk_units = usize(1) << 31;
constexpr usize cache_line = 64;

// Two classes per power of two: [2], [3], [4,5], [6,7], [8,11], [12,15], ...
u32 bin_of(u32 units)
{
    u32 log = 31 - __builtin_clz(units);
    return 2 * (log - 1) + ((units >> (log - 1)) & 1);
}

u32 units_for(usize size)
{
    return u32(max<usize>((size + unit - 1) / unit + 1, min_units));
}

}

struct Heap::Block {
    u32 units;       // this block in 16-byte units, header included
    u32 prev_units;  // the block before it in its region; 0 for the first
    u32 flags;
    u32 check;

    [[gnu::noinline]] u32 checksum() const
    {
        u64 x = (u64(units) << 32 | prev_units) * 0x9E3779B97F4A7C15ull;
        x ^= (reinterpret_cast<uptr>(this) + flags) * 0xC2B2AE3D27D4EB4Full;
        return u32(x >> 32) ^ 0x4B48454Du;
    }
    [[gnu::noinline]] void set(u32 new_units, u32 new_prev, u32 new_flags)
    {
        units = new_units;
        prev_units = new_prev;
        flags = new_flags;
        check = checksum();
    }
    bool is_free() const { return !(flags & flag_used); }
    Block* next() { return this + units; }
    // The free-list links live in the payload of a free block.
    Block*& next_free() { return reinterpret_cast<Block**>(this + 1)[0]; }
    Block*& prev_free() { return reinterpret_cast<Block**>(this + 1)[1]; }
};

struct Heap::Region {
    Region* next;
    u64 check;

    u64 checksum() const { return reinterpret_cast<uptr>(this) * 0x9E3779B97F4A7C15ull ^ 0x5245474E; }
};

namespace {

// Units to skip so that the payload after them is aligned; a gap must hold a free block.
u32 padding_units(const void* block, usize alignment)
{
    usize gap = -(reinterpret_cast<uptr>(block) + unit) & (alignment - 1);
    if (gap != 0 && gap < min_units * unit)
        gap += alignment;
    return u32(gap / unit);
}

}

ErrorOr<void> Heap::add_region(void* base, usize size)
{
    static_assert(sizeof(Block) == unit && sizeof(Region) == unit);
    uptr start = align_up(reinterpret_cast<uptr>(base), uptr(unit));
    usize skip = start - reinterpret_cast<uptr>(base);
    usize units = size > skip ? (size - skip) / unit : 0;
    if (units < 4)
        return Error::make(ErrorCode::MemoryTooSmall, "heap region %p of %zu bytes is too small (at least 64 bytes)",
            base, size);
    // Regions beyond 32 GiB become several, so that block sizes fit 32 bits.
    while (units >= 4) {
        usize chunk = min(units, max_chunk_units);
        auto* region = reinterpret_cast<Region*>(start);
        region->next = m_regions;
        region->check = region->checksum();
        m_regions = region;
        auto* first = reinterpret_cast<Block*>(region + 1);
        u32 inner = u32(chunk - 2);
        first->set(inner, 0, 0);
        first->next()->set(1, inner, flag_used | flag_end);
        link(first);
        m_region_units += chunk;
        start += chunk * unit;
        units -= chunk;
    }
    return {};
}

void Heap::set_grow_function(GrowFunction grow, void* context)
{
    m_grow = grow;
    m_grow_context = context;
}

void Heap::set_corruption_handler(CorruptionHandler handler, void* context)
{
    m_corruption_handler = handler;
    m_corruption_context = context;
}

bool Heap::corrupted(const char* problem, const void* address)
{
    if (!m_corruption_handler)
        panic_with(ErrorCode::MemoryCorrupted, "heap: %s (at %p); something wrote outside its allocation", problem,
            address);
    m_corruption_handler(problem, address, m_corruption_context);
    return false;
}

bool Heap::check(const Block* block)
{
    return block->check == block->checksum()
        || corrupted("block header overwritten (overrun of the block before it, or a wild pointer)", block);
}

Heap::Block* Heap::used_block(void* pointer, const char* problem)
{
    auto* block = static_cast<Block*>(pointer) - 1;
    bool aligned = reinterpret_cast<uptr>(pointer) % unit == 0;
    if (aligned && !check(block))
        return nullptr;
    if (!aligned || block->flags != flag_used) {
        corrupted(problem, pointer);
        return nullptr;
    }
    return block;
}

void Heap::link(Block* block)
{
    u32 bin = bin_of(block->units);
    block->next_free() = m_bins[bin];
    block->prev_free() = nullptr;
    if (m_bins[bin])
        m_bins[bin]->prev_free() = block;
    m_bins[bin] = block;
    m_bin_map |= 1ull << bin;
    m_free_units += block->units;
}

void Heap::unlink(Block* block)
{
    u32 bin = bin_of(block->units);
    Block* next = block->next_free();
    Block* prev = block->prev_free();
    (prev ? prev->next_free() : m_bins[bin]) = next;
    if (next)
        next->prev_free() = prev;
    if (!m_bins[bin])
        m_bin_map &= ~(1ull << bin);
    m_free_units -= block->units;
}

// First fit among the first few blocks of the classes that may fit, else any block of a
// larger class (all of those fit), else an exhaustive search of the classes that may fit.
Heap::Block* Heap::find(u32 need, u32 want, usize alignment)
{
    u32 low = bin_of(need);
    u32 high = bin_of(want);
    for (u32 limit = 8;; limit = ~0u) {
        for (u32 bin = low; bin <= high; bin++) {
            u32 seen = 0;
            for (Block* block = m_bins[bin]; block && seen++ < limit; block = block->next_free()) {
                if (block->units >= need + padding_units(block, alignment))
                    return block;
            }
        }
        if (u64 larger = m_bin_map & (~1ull << high))
            return m_bins[__builtin_ctzll(larger)];
        if (limit == ~0u)
            return nullptr;
    }
}

// Marks `block` (valid, in use) free and merges it with free neighbours.
bool Heap::release(Block* block)
{
    Block* next = block->next();
    Block* prev = block->prev_units ? block - block->prev_units : nullptr;
    if (!check(next) || (prev && !check(prev)))
        return false;
    Block* after = next->is_free() ? next->next() : next;
    if (!check(after))
        return false;
    u32 units = block->units;
    // Even when merged away below, the old header now reads as free: a second free of
    // this pointer is reported as such.
    block->set(units, block->prev_units, 0);
    if (after != next) {
        unlink(next);
        units += next->units;
    }
    if (prev && prev->is_free()) {
        unlink(prev);
        units += prev->units;
        block = prev;
    }
    block->set(units, block->prev_units, 0);
    after->set(after->units, units, after->flags);
    link(block);
    return true;
}

// Cuts `block` (in use, its next header already checked) to `keep` units and frees the rest.
void Heap::split(Block* block, u32 keep)
{
    u32 rest = block->units - keep;
    if (rest < min_units)
        return;
    Block* next = block->next();
    Block* tail = block + keep;
    block->set(keep, block->prev_units, block->flags);
    tail->set(rest, keep, flag_used);
    next->set(next->units, rest, next->flags);
    release(tail);
}

void Heap::note_in_use()
{
    m_peak_in_use = max(m_peak_in_use, in_use());
}

// Every failed request ends here: the message carries the request and the heap's state.
ErrorOr<void*> Heap::failure(ErrorCode code, const char* problem, usize size, usize alignment, const char* what,
    const char* why, const char* detail)
{
    Stats now = stats();
    return Error::make(code,
        "%s %s: %zu bytes (alignment %zu) requested; %zu bytes free, largest free block %zu bytes, %zu bytes in the "
        "heap%s%s",
        problem, what, size, alignment, now.bytes_free, now.largest_free_block, now.region_bytes, why, detail);
}

ErrorOr<void*> Heap::allocate(usize size, usize alignment, const char* what)
{
    constexpr const char* out_of_memory = "out of heap memory for";
    if (!what)
        what = "(unnamed)";
    // A power of two up to 2^30 is exactly a divisor of 2^30 (and costs no popcount).
    if (alignment > max_alignment || (alignment && max_alignment % alignment))
        return failure(ErrorCode::InvalidArgument, "alignment not a power of two up to 1 GiB, allocating", size,
            alignment, what, "", "");
    if (size >= large_block || alignment > unit)
        alignment = max(alignment, cache_line);
    alignment = max(alignment, unit);
    if (size > max_request)
        return failure(ErrorCode::OutOfMemory, out_of_memory, size, alignment, what, " (larger than any heap block)", "");
    u32 need = units_for(size);
    u32 want = need + (alignment > unit ? u32(alignment / unit + 1) : 0);
    Block* block = find(need, want, alignment);
    if (!block && m_grow) {
        // Room for the block, its worst alignment gap, a region header, an end block and
        // a misaligned base.
        auto span = m_grow(usize(want + 3) * unit, m_grow_context);
        if (span.is_error())
            return failure(ErrorCode::OutOfMemory, out_of_memory, size, alignment, what, "; growing the heap failed: ",
                span.error().message());
        TRY(add_region(span.value().base, span.value().size));
        block = find(need, want, alignment);
    }
    if (!block)
        return failure(ErrorCode::OutOfMemory, out_of_memory, size, alignment, what, "", "");
    Block* next = block->next();
    if (!check(block) || !check(next))
        return failure(ErrorCode::MemoryCorrupted, "heap corrupted (reported above) while allocating", size, alignment,
            what, "", "");
    unlink(block);
    if (u32 gap = padding_units(block, alignment)) {
        // The gap before the aligned block stays free; its neighbour before is in use.
        Block* aligned = block + gap;
        aligned->set(block->units - gap, gap, flag_used);
        next->set(next->units, aligned->units, next->flags);
        block->set(gap, block->prev_units, 0);
        link(block);
        block = aligned;
    } else {
        block->set(block->units, block->prev_units, flag_used);
    }
    split(block, need);
    m_used_units += block->units;
    m_allocations++;
    note_in_use();
    return static_cast<void*>(block + 1);
}

void Heap::free(void* pointer)
{
    if (!pointer)
        return;
    Block* block = used_block(pointer, "double free, or free of a pointer the heap never returned");
    if (!block)
        return;
    u32 units = block->units;
    if (release(block)) {
        m_used_units -= units;
        m_frees++;
    }
}

ErrorOr<void*> Heap::reallocate(void* pointer, usize size)
{
    if (!pointer)
        return allocate(size, 0, "reallocate");
    Block* block = used_block(pointer, "reallocate of a freed pointer or one the heap never returned");
    Block* next = block ? block->next() : nullptr;
    if (!block || !check(next) || (next->is_free() && !check(next->next())))
        return failure(ErrorCode::MemoryCorrupted, "heap corrupted (reported above) while reallocating", size, 0,
            "a block", "", "");
    // In place when the block keeps the alignment its new size calls for.
    if (size <= max_request && (size < large_block || reinterpret_cast<uptr>(pointer) % cache_line == 0)) {
        u32 need = units_for(size);
        u32 old = block->units;
        if (next->is_free() && old < need && old + next->units >= need) {
            Block* after = next->next();
            unlink(next);
            block->set(old + next->units, block->prev_units, flag_used);
            after->set(after->units, block->units, after->flags);
        }
        if (block->units >= need) {
            split(block, need);
            m_used_units = m_used_units - old + block->units;
            note_in_use();
            return pointer;
        }
    }
    void* moved = TRY(allocate(size, 0, "reallocate"));
    memcpy(moved, pointer, min(size, usize(block->units - 1) * unit));
    free(pointer);
    return moved;
}

usize Heap::usable_size(void* pointer)
{
    Block* block = pointer ? used_block(pointer, "usable_size of a freed pointer or one the heap never returned")
                           : nullptr;
    return block ? usize(block->units - 1) * unit : 0;
}

Heap::Stats Heap::stats() const
{
    u32 largest = 0;
    if (m_bin_map) {
        for (Block* block = m_bins[63 - __builtin_clzll(m_bin_map)]; block; block = block->next_free())
            largest = max(largest, block->units);
    }
    return {
        .bytes_in_use = in_use(),
        .peak_bytes_in_use = m_peak_in_use,
        .bytes_free = m_free_units * unit,
        .largest_free_block = largest ? usize(largest - 1) * unit : 0,
        .region_bytes = m_region_units * unit,
        .allocations = m_allocations,
        .frees = m_frees,
    };
}

bool Heap::check_integrity()
{
    usize free_units = 0, used_units = 0, free_blocks = 0;
    for (Region* region = m_regions; region; region = region->next) {
        if (region->check != region->checksum())
            return corrupted("region header overwritten", region);
        u32 prev_units = 0;
        bool prev_free = false;
        for (auto* block = reinterpret_cast<Block*>(region + 1);; block = block->next()) {
            if (!check(block))
                return false;
            bool end = block->flags & flag_end;
            bool misfit = block->units < min_units || (block->is_free() && prev_free);
            if (block->prev_units != prev_units || (!end && misfit))
                return corrupted("block sizes disagree or free blocks were not merged", block);
            if (end)
                break;
            (block->is_free() ? free_units : used_units) += block->units;
            free_blocks += block->is_free();
            prev_units = block->units;
            prev_free = block->is_free();
        }
    }
    usize listed = 0;
    for (u32 bin = 0; bin < bin_count; bin++) {
        if (!m_bins[bin] != !(m_bin_map >> bin & 1))
            return corrupted("free-class bitmap disagrees with the lists", &m_bins[bin]);
        Block* prev = nullptr;
        for (Block* block = m_bins[bin]; block; prev = block, block = block->next_free()) {
            if (++listed > free_blocks || !check(block) || !block->is_free() || bin_of(block->units) != bin
                || block->prev_free() != prev)
                return corrupted("free list damaged (a write after free?)", block);
        }
    }
    if (listed != free_blocks || free_units != m_free_units || used_units != m_used_units)
        return corrupted("heap counters disagree with the blocks", this);
    return true;
}

}
#pragma clang attribute pop
