// FrameAllocator: alignment, limits, exhaustion with a useful message, merging on free,
// refused double frees, and a random run against a page-bitmap oracle that predicts the
// exact first-fit address. Physical addresses are only numbers here: no memory is touched.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernel_lib/mem/frame_allocator.h"

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using kl::boot::MemoryRegion;
using kl::mem::FrameAllocator;
using kl::mem::PhysicalMap;

namespace {

constexpr u64 frame = 4096;

void build(PhysicalMap& map, std::vector<MemoryRegion> regions)
{
    REQUIRE_FALSE(map.build(regions.data(), regions.size(), nullptr, 0).is_error());
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}

TEST_CASE("FrameAllocator honours 4 KiB, 2 MiB and 1 GiB alignment, lowest address first", "[mem]")
{
    PhysicalMap map;
    build(map, { { 0, 0x9f000, 1, 0 }, { 0x100000, 3 * kl::GiB, 1, 0 } });
    FrameAllocator frames;
    frames.init(map);
    u64 total = frames.total_frames();
    CHECK(total == 3 * kl::GiB / frame);

    auto small = frames.allocate(1, 0, "page table");
    REQUIRE_FALSE(small.is_error());
    CHECK(small.value() == 0x100000);
    auto big = frames.allocate(512, 2 * kl::MiB, "2 MiB page");
    REQUIRE_FALSE(big.is_error());
    CHECK(big.value() == 0x200000);
    auto huge = frames.allocate(3, kl::GiB, "1 GiB aligned");
    REQUIRE_FALSE(huge.is_error());
    CHECK(huge.value() == kl::GiB);
    auto next = frames.allocate(1, frame, "page table");
    REQUIRE_FALSE(next.is_error());
    CHECK(next.value() == 0x101000);  // the gap below 2 MiB is used again
    CHECK(frames.free_frames() == total - 1 - 512 - 3 - 1);
    CHECK(frames.free_ranges().count() == 3);

    // Returned in any order, everything merges back into one range.
    REQUIRE_FALSE(frames.free(big.value(), 512).is_error());
    REQUIRE_FALSE(frames.free(small.value(), 1).is_error());
    REQUIRE_FALSE(frames.free(huge.value(), 3).is_error());
    REQUIRE_FALSE(frames.free(next.value(), 1).is_error());
    CHECK(frames.free_frames() == total);
    REQUIRE(frames.free_ranges().count() == 1);
    CHECK(frames.free_ranges()[0].start == 0x100000);
}

TEST_CASE("FrameAllocator rejects bad requests", "[mem]")
{
    PhysicalMap map;
    build(map, { { 0x100000, 0x100000, 1, 0 } });
    FrameAllocator frames;
    frames.init(map);
    CHECK(frames.allocate(0, frame, "nothing").error().code() == ErrorCode::InvalidArgument);
    CHECK(frames.allocate(1, 3 * frame, "odd").error().code() == ErrorCode::InvalidArgument);
    CHECK(frames.allocate(1, 2048, "small").error().code() == ErrorCode::InvalidArgument);
    CHECK(frames.allocate(~0ull / 2, frame, "overflow").error().code() == ErrorCode::InvalidArgument);
    auto too_aligned = frames.allocate(1, 1ull << 63, "far");
    CHECK(too_aligned.error().code() == ErrorCode::OutOfMemory);
    CHECK(frames.free_frames() == 256);
}

TEST_CASE("FrameAllocator exhaustion names the request, the free total and the largest range", "[mem]")
{
    PhysicalMap map;
    build(map, { { 0x100000, 16 * frame, 1, 0 } });
    FrameAllocator frames;
    frames.init(map);
    std::vector<u64> got;
    for (int i = 0; i < 16; i++) {
        auto address = frames.allocate(1, frame, "page table");
        REQUIRE_FALSE(address.is_error());
        got.push_back(address.value());
    }
    auto none = frames.allocate(1, frame, "page table");
    REQUIRE(none.is_error());
    CHECK(none.error().code() == ErrorCode::OutOfMemory);
    std::string message = none.error().message();
    CHECK(has(message, "page table"));
    CHECK(has(message, "4 KiB aligned to 4 KiB"));
    CHECK(has(message, "0 KiB free"));

    // Every other frame back: 32 KiB free, but no two frames in a row.
    for (int i = 0; i < 16; i += 2)
        REQUIRE_FALSE(frames.free(got[i], 1).is_error());
    auto pair = frames.allocate(2, frame, "JIT arena");
    REQUIRE(pair.is_error());
    message = pair.error().message();
    CHECK(has(message, "JIT arena: 8 KiB"));
    CHECK(has(message, "32 KiB free, largest free range 4 KiB at 0x100000"));
    CHECK(frames.free_ranges().count() == 8);

    for (int i = 1; i < 16; i += 2)
        REQUIRE_FALSE(frames.free(got[i], 1).is_error());
    CHECK(frames.free_ranges().count() == 1);
    CHECK(frames.free_frames() == 16);
}

TEST_CASE("FrameAllocator refuses double frees and foreign frames without changing anything", "[mem]")
{
    PhysicalMap map;
    build(map, { { 0, 0x9f000, 1, 0 }, { 0x100000, 0x100000, 1, 0 }, { 0x400000, 0x100000, 1, 0 } });
    FrameAllocator frames;
    frames.init(map);
    auto a = frames.allocate(4, frame, "a");
    REQUIRE_FALSE(a.is_error());
    REQUIRE_FALSE(frames.free(a.value(), 4).is_error());
    u64 free_before = frames.free_frames();

    auto twice = frames.free(a.value(), 4);
    REQUIRE(twice.is_error());
    CHECK(twice.error().code() == ErrorCode::MemoryCorrupted);
    CHECK(has(twice.error().message(), "double free"));

    auto b = frames.allocate(4, frame, "b");
    REQUIRE_FALSE(b.is_error());
    // Overlapping a free frame is a double free too, even if part of it is allocated.
    CHECK(frames.free(b.value(), 5).error().code() == ErrorCode::MemoryCorrupted);
    CHECK(frames.free(0x1000, 1).error().code() == ErrorCode::InvalidArgument);     // first MiB: never managed
    CHECK(frames.free(0x300000, 1).error().code() == ErrorCode::InvalidArgument);   // a hole
    CHECK(frames.free(0x1ff000, 2).error().code() == ErrorCode::InvalidArgument);   // runs past its range
    CHECK(frames.free(b.value() + 1, 1).error().code() == ErrorCode::InvalidArgument);  // not a frame address
    CHECK(frames.free(b.value(), 0).error().code() == ErrorCode::InvalidArgument);
    CHECK(frames.free(~0ull & ~(frame - 1), 2).error().code() == ErrorCode::InvalidArgument);  // wraps
    CHECK(frames.free_frames() == free_before - 4);

    // Freeing an allocation in parts is allowed.
    REQUIRE_FALSE(frames.free(b.value() + frame, 3).is_error());
    REQUIRE_FALSE(frames.free(b.value(), 1).is_error());
    CHECK(frames.free_frames() == free_before);
}

TEST_CASE("FrameAllocator keeps allocations below a limit when asked", "[mem]")
{
    PhysicalMap map;
    build(map, { { 0x100000, 0x100000, 1, 0 }, { 0x1000000, 0x1000000, 1, 0 } });
    FrameAllocator frames;
    frames.init(map);
    auto low = frames.allocate(255, frame, "low", 0x200000);
    REQUIRE_FALSE(low.is_error());
    CHECK(low.value() == 0x100000);
    auto last = frames.allocate(1, frame, "low", 0x200000);
    REQUIRE_FALSE(last.is_error());
    CHECK(last.value() == 0x1ff000);
    auto over = frames.allocate(1, frame, "identity-mapped table", 0x200000);
    REQUIRE(over.is_error());
    CHECK(has(over.error().message(), "below the limit"));
    auto high = frames.allocate(1, frame, "anywhere");
    REQUIRE_FALSE(high.is_error());
    CHECK(high.value() == 0x1000000);
}

// The oracle: one flag per frame; first fit means the lowest aligned address whose frames
// are all free (the free ranges are maximal, so such a run always lies in one range).
TEST_CASE("FrameAllocator matches a page-bitmap oracle over random operations", "[mem]")
{
    PhysicalMap map;
    build(map, { { 0x100000, 0xf00000, 1, 0 }, { 0x1800000, 0x2800000, 1, 0 }, { 0x4000000, 0x123000, 1, 0 },
                   { 0x2000000, 0x10000, 2, 0 } });
    constexpr u64 limit_frames = 0x4200000 / frame;
    std::vector<bool> free_frame(limit_frames);
    for (usize i = 0; i < map.ranges().count(); i++) {
        for (u64 a = map.ranges()[i].start; a < map.ranges()[i].end; a += frame)
            free_frame[a / frame] = true;
    }
    FrameAllocator frames;
    frames.init(map);
    std::mt19937_64 rng(7);
    std::map<u64, u64> live;  // address -> frames
    const u64 alignments[] = { frame, frame, 2 * frame, 16 * frame, 512 * frame };
    u64 free_count = frames.free_frames();
    for (int op = 0; op < 20000; op++) {
        if (rng() % 100 < 55 || live.empty()) {
            u64 count = rng() % 16 == 0 ? rng() % 2048 + 1 : rng() % 32 + 1;
            u64 alignment = alignments[rng() % 5];
            u64 expect = 0;
            bool found = false;
            u64 step = alignment / frame;
            for (u64 f = 0; f + count <= limit_frames;) {
                u64 i = 0;
                while (i < count && free_frame[f + i])
                    i++;
                if (i == count) {
                    found = true;
                    expect = f * frame;
                    break;
                }
                f = (f + i + 1 + step - 1) / step * step;  // past the used frame, aligned
            }
            auto got = frames.allocate(count, alignment, "random");
            INFO("op " << op << " count " << count << " alignment " << alignment);
            REQUIRE(got.is_error() == !found);
            if (!found) {
                REQUIRE(got.error().code() == ErrorCode::OutOfMemory);
                continue;
            }
            REQUIRE(got.value() == expect);
            for (u64 i = 0; i < count; i++)
                free_frame[expect / frame + i] = false;
            live[expect] = count;
            free_count -= count;
        } else {
            auto it = live.begin();
            std::advance(it, rng() % live.size());
            if (rng() % 10 == 0) {
                // A stale second free after the real one must be refused.
                REQUIRE_FALSE(frames.free(it->first, it->second).is_error());
                REQUIRE(frames.free(it->first, it->second).is_error());
            } else {
                REQUIRE_FALSE(frames.free(it->first, it->second).is_error());
            }
            for (u64 i = 0; i < it->second; i++)
                free_frame[it->first / frame + i] = true;
            free_count += it->second;
            live.erase(it);
        }
        REQUIRE(frames.free_frames() == free_count);
    }
    for (auto [address, count] : live)
        REQUIRE_FALSE(frames.free(address, count).is_error());
    CHECK(frames.free_frames() == frames.total_frames());
    CHECK(frames.free_ranges().count() == map.ranges().count());
}
