// PhysicalMap and RangeSet: E820 tables as firmware really writes them (unsorted,
// overlapping, zero-length, past 4 GiB, past 2^64), reservations, capacity, and a
// randomised comparison with a per-chunk oracle.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "kernel_lib/mem/memory_map.h"

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using kl::boot::MemoryRegion;
using kl::mem::PhysicalMap;
using kl::mem::PhysRange;

namespace {

constexpr u32 usable = 1;
constexpr u32 reserved_type = 2;
constexpr u32 acpi = 3;

MemoryRegion entry(u64 base, u64 length, u32 type = usable)
{
    return MemoryRegion { base, length, type, 0 };
}

std::vector<std::pair<u64, u64>> ranges_of(const PhysicalMap& map)
{
    std::vector<std::pair<u64, u64>> out;
    for (usize i = 0; i < map.ranges().count(); i++)
        out.emplace_back(map.ranges()[i].start, map.ranges()[i].end);
    return out;
}

using Ranges = std::vector<std::pair<u64, u64>>;

}

TEST_CASE("PhysicalMap: a QEMU-like map loses the first MiB and the kernel", "[mem]")
{
    std::vector<MemoryRegion> regions {
        entry(0, 0x9fc00), entry(0x9fc00, 0x400, reserved_type), entry(0xf0000, 0x10000, reserved_type),
        entry(0x100000, 0x7ee0000), entry(0x7fe0000, 0x20000, reserved_type),
        entry(0xfffc0000, 0x40000, reserved_type),
    };
    PhysRange kernel { 0x100000, 0x100000 + 0x123456 };
    PhysicalMap map;
    REQUIRE_FALSE(map.build(regions.data(), regions.size(), &kernel, 1).is_error());
    CHECK(ranges_of(map) == Ranges { { 0x224000, 0x7fe0000 } });
    CHECK(map.usable_bytes() == 0x9f000 + 0x7ee0000);
    CHECK(map.free_bytes() == 0x7fe0000 - 0x224000);
    CHECK(map.largest().start == 0x224000);
}

TEST_CASE("PhysicalMap: unsorted, overlapping, adjacent and zero-length entries merge", "[mem]")
{
    std::vector<MemoryRegion> regions {
        entry(0x1000800, 0x1000),  // overlaps the next one, unaligned
        entry(0x300000, 0x100000), entry(0x200000, 0x100000),  // adjacent, given backwards
        entry(0x250000, 0x10000),  // inside another
        entry(0x500000, 0),        // zero length
        entry(0x1000000, 0x1000),
        entry(0x2000100, 0xe00),   // holds no whole page
    };
    PhysicalMap map;
    REQUIRE_FALSE(map.build(regions.data(), regions.size(), nullptr, 0).is_error());
    CHECK(ranges_of(map) == Ranges { { 0x200000, 0x400000 }, { 0x1000000, 0x1001000 } });
    CHECK(map.usable_bytes() == 0x200000 + 0x1000);
}

TEST_CASE("PhysicalMap: RAM above 4 GiB and entries that claim to pass 2^64", "[mem]")
{
    std::vector<MemoryRegion> regions {
        entry(0xffffffff00000000ull, 0x200000000ull),  // base + length wraps around
        entry(0x100000000ull, 0x80000000ull),
        entry(0x7ffffffff800ull, 0x1000),  // straddles a page boundary, no whole page
        entry(0x100000, 0x100000),
    };
    PhysicalMap map;
    REQUIRE_FALSE(map.build(regions.data(), regions.size(), nullptr, 0).is_error());
    CHECK(ranges_of(map)
        == Ranges { { 0x100000, 0x200000 }, { 0x100000000ull, 0x180000000ull },
            { 0xffffffff00000000ull, 0xfffffffffffff000ull } });
    // Reserving up to the very top must not wrap either.
    REQUIRE_FALSE(map.reserve({ 0xfffffffffffff001ull, ~0ull }).is_error());
    REQUIRE_FALSE(map.reserve({ 0xffffffff00000001ull, 0xffffffff00000002ull }).is_error());
    CHECK(ranges_of(map).back() == std::pair<u64, u64> { 0xffffffff00001000ull, 0xfffffffffffff000ull });
}

TEST_CASE("PhysicalMap: other entry types win over overlapping usable RAM", "[mem]")
{
    std::vector<MemoryRegion> regions {
        entry(0x100000, 0x1000000),
        entry(0x400000, 0x1000, acpi),
        entry(0x800100, 0x10, reserved_type),  // a few bytes spoil the whole page
        entry(0x1000000, 0x200000, reserved_type),  // cuts the tail
        entry(0x600800, 0, reserved_type),           // empty: must not split anything
    };
    PhysicalMap map;
    REQUIRE_FALSE(map.build(regions.data(), regions.size(), nullptr, 0).is_error());
    CHECK(ranges_of(map) == Ranges { { 0x100000, 0x400000 }, { 0x401000, 0x800000 }, { 0x801000, 0x1000000 } });
}

TEST_CASE("PhysicalMap: reservations round outward and may split or empty ranges", "[mem]")
{
    MemoryRegion ram = entry(0, 64 * kl::MiB);
    PhysRange reserved[] = { { 0x200001, 0x200002 }, { 0x3fff000, 0x4000001 }, { 0x500000, 0x500000 } };
    PhysicalMap map;
    REQUIRE_FALSE(map.build(&ram, 1, reserved, 3).is_error());
    CHECK(ranges_of(map) == Ranges { { 0x100000, 0x200000 }, { 0x201000, 0x3fff000 } });
    CHECK(map.usable_bytes() == 64 * kl::MiB);
    REQUIRE_FALSE(map.reserve({ 0, ~0ull }).is_error());
    CHECK(map.ranges().count() == 0);
    CHECK(map.free_bytes() == 0);
    CHECK(map.largest().size() == 0);
}

TEST_CASE("PhysicalMap: more separate ranges than it can hold is an error", "[mem]")
{
    constexpr usize capacity = kl::mem::RangeSet::capacity;
    std::vector<MemoryRegion> regions;
    for (usize i = 0; i < capacity; i++)
        regions.push_back(entry(0x1000000 + i * 0x2000, 0x1000));
    PhysicalMap map;
    REQUIRE_FALSE(map.build(regions.data(), regions.size(), nullptr, 0).is_error());
    CHECK(map.ranges().count() == capacity);

    // Splitting one more range does not fit; nothing is lost silently.
    auto split = map.reserve({ 0x1000000 + 0x2000 * 5, 0x1000000 + 0x2000 * 5 + 1 });
    CHECK_FALSE(split.is_error());  // a one-page range is removed, not split
    regions.push_back(entry(0x1000000 + capacity * 0x2000, 0x1000));
    auto too_many = map.build(regions.data(), regions.size(), nullptr, 0);
    REQUIRE(too_many.is_error());
    CHECK(too_many.error().code() == ErrorCode::BootMemoryMap);
    CHECK(std::string(too_many.error().message()).find("256") != std::string::npos);

    // A big range split by many reservations runs out the same way.
    MemoryRegion ram = entry(0x100000, 0x10000000);
    REQUIRE_FALSE(map.build(&ram, 1, nullptr, 0).is_error());
    ErrorOr<void> last {};
    usize i = 0;
    for (; i < capacity + 2; i++) {
        last = map.reserve({ 0x200000 + i * 0x2000, 0x201000 + i * 0x2000 });
        if (last.is_error())
            break;
    }
    CHECK(i == capacity - 1);
    CHECK(last.is_error());
}

TEST_CASE("PhysicalMap from a BootInfo reserves the kernel and every payload", "[mem]")
{
    static kl::boot::BootInfo info {};
    info.region_count = 3;
    info.regions[0] = entry(0, 0x9f000);
    info.regions[1] = entry(0x100000, 0x3ff00000);
    info.regions[2] = entry(0x100000000ull, 0x40000000);
    info.kernel_address = 0x100000;
    info.kernel_size = 0x50000;
    info.payload_count = 2;
    info.payloads[0].address = 0x400000;
    info.payloads[0].size = 0x12345;  // rounds up to 0x13000
    info.payloads[1].address = 0x600000;
    info.payloads[1].size = 0x200000;
    PhysRange extra { 0x20000000, 0x20001000 };
    PhysicalMap map;
    REQUIRE_FALSE(map.build(info, PhysRange { 0x100000, 0x180000 }, &extra, 1).is_error());
    CHECK(ranges_of(map)
        == Ranges { { 0x180000, 0x400000 }, { 0x413000, 0x600000 }, { 0x800000, 0x20000000 },
            { 0x20001000, 0x40000000 }, { 0x100000000ull, 0x140000000ull } });
    CHECK(map.usable_bytes() == 0x9f000 + 0x3ff00000 + 0x40000000);

    info.region_count = kl::boot::max_memory_regions + 1;
    auto bad = map.build(info, PhysRange { 0x100000, 0x180000 });
    REQUIRE(bad.is_error());
    CHECK(bad.error().code() == ErrorCode::BootInfoInvalid);
}

TEST_CASE("PhysicalMap summary names the totals and every range", "[mem]")
{
    MemoryRegion regions[] = { entry(0, 0x9f000), entry(0x100000, 0x7f00000), entry(0x100000000ull, 0x80000000) };
    PhysRange kernel { 0x100000, 0x200000 };
    PhysicalMap map;
    REQUIRE_FALSE(map.build(regions, 3, &kernel, 1).is_error());
    std::vector<std::string> lines;
    map.summarize([](const char* line, void* context) { static_cast<std::vector<std::string>*>(context)->push_back(line); },
        &lines);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].find("2175 MiB usable RAM") != std::string::npos);
    CHECK(lines[0].find("2174 MiB free in 2 ranges") != std::string::npos);
    CHECK(lines[0].find("largest 2048 MiB at 0x100000000") != std::string::npos);
    CHECK(lines[1].find("0x000000200000-0x000008000000") != std::string::npos);
    CHECK(lines[2].find("2097152 KiB") != std::string::npos);
}

// Random tables over 16 MiB (in 256-byte chunks) at two bases, against an oracle that
// paints each chunk and keeps a page when all its chunks are usable and unreserved.
TEST_CASE("PhysicalMap agrees with a per-chunk oracle on random tables", "[mem]")
{
    constexpr u64 chunk = 256, space = 16 * kl::MiB, chunks = space / chunk, per_page = 4096 / chunk;
    std::mt19937_64 rng(20240601);
    for (int trial = 0; trial < 300; trial++) {
        u64 base = trial % 2 ? 8 * kl::GiB : 0;
        std::vector<MemoryRegion> regions;
        std::vector<PhysRange> reserved;
        std::vector<int> ram(chunks + 1), other(chunks + 1), held(chunks + 1);
        auto random_span = [&](u64 max_chunks) {
            u64 first = rng() % chunks;
            u64 count = rng() % 8 == 0 ? 0 : rng() % max_chunks + 1;
            count = std::min(count, chunks - first);
            return std::pair<u64, u64> { first, first + count };
        };
        int region_count = int(rng() % 40) + 1;
        for (int i = 0; i < region_count; i++) {
            auto [first, last] = random_span(rng() % 3 == 0 ? chunks / 4 : chunks / 64);
            bool is_ram = rng() % 10 < 7;
            regions.push_back(entry(base + first * chunk, (last - first) * chunk, is_ram ? usable : 2 + u32(rng() % 4)));
            auto& paint = is_ram ? ram : other;
            paint[first]++;
            paint[last]--;
        }
        int reserved_count = int(rng() % 6);
        for (int i = 0; i < reserved_count; i++) {
            auto [first, last] = random_span(chunks / 32);
            reserved.push_back({ base + first * chunk, base + last * chunk });
            held[first]++;
            held[last]--;
        }
        if (base == 0) {
            held[0]++;
            held[PhysicalMap::low_memory_end / chunk]--;
        }
        PhysicalMap map;
        REQUIRE_FALSE(map.build(regions.data(), regions.size(), reserved.data(), reserved.size()).is_error());

        std::vector<bool> expect_usable(chunks / per_page), expect_free(chunks / per_page);
        int r = 0, o = 0, h = 0;
        std::vector<bool> chunk_usable(chunks), chunk_free(chunks);
        for (u64 c = 0; c < chunks; c++) {
            r += ram[c];
            o += other[c];
            h += held[c];
            chunk_usable[c] = r > 0 && o == 0;
            chunk_free[c] = chunk_usable[c] && h == 0;
        }
        u64 expect_usable_bytes = 0;
        for (u64 p = 0; p < chunks / per_page; p++) {
            bool all_usable = true, all_free = true;
            for (u64 c = p * per_page; c < (p + 1) * per_page; c++) {
                all_usable = all_usable && chunk_usable[c];
                all_free = all_free && chunk_free[c];
            }
            expect_usable_bytes += all_usable ? 4096 : 0;
            expect_free[p] = all_free;
        }
        std::vector<bool> got_free(chunks / per_page);
        u64 previous_end = 0;
        for (usize i = 0; i < map.ranges().count(); i++) {
            PhysRange range = map.ranges()[i];
            REQUIRE(range.start % 4096 == 0);
            REQUIRE(range.end % 4096 == 0);
            REQUIRE(range.start < range.end);
            REQUIRE(range.start >= base);
            REQUIRE(range.end <= base + space);
            REQUIRE((i == 0 || range.start > previous_end));  // sorted, disjoint, not adjacent
            previous_end = range.end;
            for (u64 a = range.start; a < range.end; a += 4096)
                got_free[(a - base) / 4096] = true;
        }
        INFO("trial " << trial);
        REQUIRE(got_free == expect_free);
        REQUIRE(map.usable_bytes() == expect_usable_bytes);
    }
}
