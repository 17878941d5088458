// Heap under random load: 200k allocate/free/reallocate operations at fixed seeds with
// the invariants checked as it goes (integrity walk, no overlap, alignment, contents kept
// across reallocate, counters equal to an independent tally), and a steady-state loop
// whose memory use must stop growing once warmed up.
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "kernel_lib/mem/heap.h"

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using kl::mem::Heap;

namespace {

struct Chunks {
    std::vector<u8*> buffers;
    usize chunk = 0;
    usize total = 0;
    ~Chunks()
    {
        for (u8* buffer : buffers)
            ::free(buffer);
    }
};

ErrorOr<kl::mem::Span> grow(usize min_bytes, void* context)
{
    auto* chunks = static_cast<Chunks*>(context);
    usize size = std::max(chunks->chunk, (min_bytes + 4095) / 4096 * 4096);
    auto* buffer = static_cast<u8*>(aligned_alloc(4096, size));
    if (!buffer)
        return Error::make(ErrorCode::OutOfMemory, "host out of memory");
    chunks->buffers.push_back(buffer);
    chunks->total += size;
    return kl::mem::Span { buffer, size };
}

struct Live {
    u8* pointer;
    usize size;
    u32 seed;
};

// Big blocks get their first and last 2 KiB patterned: enough to see moves and overruns
// without spending the run on memset.
constexpr usize pattern_edge = 2048;

u8 pattern_byte(u32 seed, usize i) { return u8(seed + i * 7 + (i >> 8)); }

void fill(const Live& live)
{
    for (usize i = 0; i < live.size; i++) {
        if (i == pattern_edge && live.size > 2 * pattern_edge)
            i = live.size - pattern_edge;
        live.pointer[i] = pattern_byte(live.seed, i);
    }
}

// Checks the bytes fill() wrote for `live.size` that lie below `limit` (a block that
// shrank keeps only a prefix of its pattern).
bool intact(const Live& live, usize limit)
{
    for (usize i = 0; i < std::min(live.size, limit); i++) {
        if (i == pattern_edge && live.size > 2 * pattern_edge)
            i = live.size - pattern_edge;
        if (i < limit && live.pointer[i] != pattern_byte(live.seed, i))
            return false;
    }
    return true;
}

usize random_size(std::mt19937_64& rng)
{
    u64 kind = rng() % 100;
    if (kind < 70)
        return rng() % 129;
    if (kind < 92)
        return 129 + rng() % 4000;
    if (kind < 99)
        return 4096 + rng() % 60000;
    return 65536 + rng() % (1 << 20);
}

usize random_alignment(std::mt19937_64& rng)
{
    const usize choices[] = { 16, 32, 64, 128, 256, 4096 };
    return rng() % 100 < 85 ? 0 : choices[rng() % 6];
}

void check_block(Heap& heap, const Live& live, usize alignment)
{
    REQUIRE(reinterpret_cast<uptr>(live.pointer) % std::max<usize>(alignment, 16) == 0);
    if (live.size >= 256 || alignment > 16)
        REQUIRE(reinterpret_cast<uptr>(live.pointer) % 64 == 0);
    REQUIRE(heap.usable_size(live.pointer) >= live.size);
}

void check_all(Heap& heap, std::vector<Live>& live, bool contents)
{
    REQUIRE(heap.check_integrity());
    std::sort(live.begin(), live.end(), [](const Live& a, const Live& b) { return a.pointer < b.pointer; });
    usize in_use = 0;
    for (usize i = 0; i < live.size(); i++) {
        usize usable = heap.usable_size(live[i].pointer);
        in_use += usable;
        if (i + 1 < live.size())
            REQUIRE(live[i].pointer + usable + 16 <= live[i + 1].pointer);  // next header after this block
        if (contents)
            REQUIRE(intact(live[i], live[i].size));
    }
    auto stats = heap.stats();
    REQUIRE(stats.bytes_in_use == in_use);
    REQUIRE(stats.allocations - stats.frees == live.size());
    REQUIRE(stats.peak_bytes_in_use >= in_use);
    REQUIRE(stats.bytes_free + in_use <= stats.region_bytes);
}

}

TEST_CASE("Heap survives 200k random operations with its invariants intact", "[mem]")
{
    for (u64 seed : { 11, 22, 33, 44 }) {
        INFO("seed " << seed);
        Chunks chunks;
        chunks.chunk = 4 << 20;
        Heap heap;
        heap.set_grow_function(grow, &chunks);
        std::mt19937_64 rng(seed);
        std::vector<Live> live;
        u32 next_seed = 1;
        for (int op = 0; op < 50000; op++) {
            u64 kind = rng() % 100;
            if (live.size() > 1500)
                kind = 50;
            if (kind < 42 || live.empty()) {
                usize alignment = random_alignment(rng);
                Live block { nullptr, random_size(rng), next_seed++ };
                auto result = heap.allocate(block.size, alignment, "random");
                REQUIRE_FALSE(result.is_error());
                block.pointer = static_cast<u8*>(result.value());
                check_block(heap, block, alignment);
                fill(block);
                live.push_back(block);
            } else if (kind < 77) {
                usize index = rng() % live.size();
                REQUIRE(intact(live[index], live[index].size));
                heap.free(live[index].pointer);
                live[index] = live.back();
                live.pop_back();
            } else {
                usize index = rng() % live.size();
                Live& block = live[index];
                usize new_size = rng() % 4 == 0 ? block.size + rng() % 200 : random_size(rng);
                auto result = heap.reallocate(block.pointer, new_size);
                REQUIRE_FALSE(result.is_error());
                Live moved { static_cast<u8*>(result.value()), block.size, block.seed };
                REQUIRE(intact(moved, new_size));
                moved.size = new_size;
                check_block(heap, moved, 0);
                moved.seed = next_seed++;
                fill(moved);
                block = moved;
            }
            if (op % 1000 == 999)
                check_all(heap, live, op % 10000 == 9999);
        }
        check_all(heap, live, true);
        for (const Live& block : live)
            heap.free(block.pointer);
        REQUIRE(heap.check_integrity());
        auto stats = heap.stats();
        CHECK(stats.bytes_in_use == 0);
        CHECK(stats.region_bytes == chunks.total);
        // Fully merged again: one free block per region, each region losing only its
        // header and end block.
        CHECK(stats.bytes_free == chunks.total - 32 * chunks.buffers.size());
    }
}

TEST_CASE("Heap memory use stays bounded in a steady state of allocations and frees", "[mem]")
{
    Chunks chunks;
    chunks.chunk = 1 << 20;
    Heap heap;
    heap.set_grow_function(grow, &chunks);
    std::mt19937_64 rng(5);
    std::vector<void*> live(400, nullptr);
    auto new_block = [&]() {
        usize size = rng() % 50 == 0 ? 16384 + rng() % 49152 : 16 + rng() % 4096;
        auto result = heap.allocate(size, rng() % 20 == 0 ? 256 : 0, "steady");
        REQUIRE_FALSE(result.is_error());
        return result.value();
    };
    for (void*& p : live)
        p = new_block();
    usize warm = 0, peak_in_use = 0;
    for (int i = 0; i < 100000; i++) {
        usize index = rng() % live.size();
        heap.free(live[index]);
        live[index] = new_block();
        peak_in_use = std::max(peak_in_use, heap.stats().bytes_in_use);
        if (i == 20000)
            warm = heap.stats().region_bytes;
    }
    REQUIRE(heap.check_integrity());
    auto stats = heap.stats();
    INFO("region bytes after warm-up " << warm << ", at the end " << stats.region_bytes << ", peak in use "
                                       << peak_in_use);
    CHECK(stats.region_bytes <= warm + chunks.chunk);  // at most one more chunk in 80k rounds
    CHECK(stats.region_bytes <= 2 * peak_in_use);      // fragmentation overhead below 2x
    CHECK(stats.peak_bytes_in_use == peak_in_use);
    for (void* p : live)
        heap.free(p);
    REQUIRE(heap.check_integrity());
}
