// Heap behaviour case by case: alignment rules, statistics, reallocate, exhaustion and
// growth, and the detection of double frees, foreign pointers and header overruns (with a
// recording corruption handler, plus one forked run of the default panicking one).
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernel_lib/mem/frame_allocator.h"
#include "kernel_lib/mem/heap.h"

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using kl::mem::Heap;

// The kernel keeps these as globals: they must need no static constructor.
[[maybe_unused]] constinit Heap g_constant_heap;
[[maybe_unused]] constinit kl::mem::PhysicalMap g_constant_map;
[[maybe_unused]] constinit kl::mem::FrameAllocator g_constant_frames;

namespace {

// Host memory for a heap to manage.
struct Buffer {
    explicit Buffer(usize bytes) : size(bytes), data(static_cast<u8*>(aligned_alloc(4096, bytes))) { REQUIRE(data); }
    ~Buffer() { ::free(data); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    usize size;
    u8* data;
};

struct Corruption {
    int count = 0;
    std::string problem;
    const void* address = nullptr;
};

void record(const char* problem, const void* address, void* context)
{
    auto* corruption = static_cast<Corruption*>(context);
    corruption->count++;
    corruption->problem = problem;
    corruption->address = address;
}

bool aligned_to(const void* pointer, usize alignment) { return reinterpret_cast<uptr>(pointer) % alignment == 0; }

u8* must_allocate(Heap& heap, usize size, usize alignment = 0)
{
    auto result = heap.allocate(size, alignment, "test block");
    if (result.is_error())
        FAIL(result.error().message());
    return static_cast<u8*>(result.value());
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}

TEST_CASE("Heap: a fresh region is one free block; everything freed returns to it", "[mem]")
{
    Buffer buffer(4 << 20);
    Heap heap;
    REQUIRE_FALSE(heap.add_region(buffer.data, buffer.size).is_error());
    auto fresh = heap.stats();
    // Region header and end block take 16 bytes each, the free block's header 16 more.
    CHECK(fresh.region_bytes == buffer.size);
    CHECK(fresh.bytes_free == buffer.size - 32);
    CHECK(fresh.largest_free_block == buffer.size - 48);
    CHECK(fresh.bytes_in_use == 0);

    const usize sizes[] = { 0, 1, 15, 16, 17, 100, 255, 256, 257, 1000, 4096, 20000 };
    const usize alignments[] = { 0, 8, 16, 32, 64, 128, 4096, 65536 };
    std::vector<std::pair<u8*, usize>> blocks;
    u8 tag = 1;
    for (usize size : sizes) {
        for (usize alignment : alignments) {
            u8* p = must_allocate(heap, size, alignment);
            usize usable = heap.usable_size(p);
            INFO("size " << size << " alignment " << alignment);
            CHECK(aligned_to(p, 16));
            CHECK(aligned_to(p, std::max<usize>(alignment, 1)));
            if (size >= 256 || alignment > 16)
                CHECK(aligned_to(p, 64));
            CHECK(usable >= std::max<usize>(size, 1));
            CHECK(usable <= std::max<usize>((size + 15) / 16 * 16, 16) + 16);
            memset(p, tag++, usable);
            blocks.emplace_back(p, usable);
        }
    }
    REQUIRE(heap.check_integrity());
    std::sort(blocks.begin(), blocks.end());
    for (usize i = 0; i + 1 < blocks.size(); i++)
        CHECK(blocks[i].first + blocks[i].second + 16 <= blocks[i + 1].first);
    std::mt19937 rng(3);
    std::shuffle(blocks.begin(), blocks.end(), rng);
    for (auto [p, usable] : blocks) {
        u8 first = p[0];
        CHECK(std::all_of(p, p + usable, [&](u8 byte) { return byte == first; }));
        heap.free(p);
    }
    REQUIRE(heap.check_integrity());
    auto after = heap.stats();
    CHECK(after.bytes_free == fresh.bytes_free);
    CHECK(after.largest_free_block == fresh.largest_free_block);
    CHECK(after.bytes_in_use == 0);
    CHECK(after.allocations == blocks.size());
    CHECK(after.frees == blocks.size());
}

TEST_CASE("Heap: zero-size blocks are distinct and minimal", "[mem]")
{
    Buffer buffer(4096);
    Heap heap;
    REQUIRE_FALSE(heap.add_region(buffer.data, buffer.size).is_error());
    u8* a = must_allocate(heap, 0);
    u8* b = must_allocate(heap, 0);
    CHECK(a != b);
    CHECK(heap.usable_size(a) == 16);
    heap.free(a);
    heap.free(b);
    heap.free(nullptr);
    CHECK(heap.stats().frees == 2);
}

TEST_CASE("Heap: statistics follow allocations, frees and the peak", "[mem]")
{
    Buffer buffer(1 << 20);
    Heap heap;
    REQUIRE_FALSE(heap.add_region(buffer.data, buffer.size).is_error());
    u8* a = must_allocate(heap, 1000);
    u8* b = must_allocate(heap, 50);
    u8* c = must_allocate(heap, 300000);
    usize in_use = heap.usable_size(a) + heap.usable_size(b) + heap.usable_size(c);
    auto s = heap.stats();
    CHECK(s.bytes_in_use == in_use);
    CHECK(s.peak_bytes_in_use == in_use);
    CHECK(s.allocations == 3);
    CHECK(s.bytes_free < buffer.size - in_use);
    heap.free(c);
    s = heap.stats();
    CHECK(s.bytes_in_use == in_use - 300000);
    CHECK(s.peak_bytes_in_use == in_use);
    CHECK(s.frees == 1);
    CHECK(s.largest_free_block > 900000);
    heap.free(a);
    heap.free(b);
    CHECK(heap.stats().bytes_in_use == 0);
}

TEST_CASE("Heap: reallocate works in place when it can and always keeps the contents", "[mem]")
{
    Buffer buffer(1 << 20);
    Heap heap;
    REQUIRE_FALSE(heap.add_region(buffer.data, buffer.size).is_error());
    u8* a = must_allocate(heap, 256);
    for (int i = 0; i < 256; i++)
        a[i] = u8(i * 3);
    auto check_contents = [](const u8* p, int n) {
        for (int i = 0; i < n; i++) {
            if (p[i] != u8(i * 3))
                return false;
        }
        return true;
    };

    auto grown = heap.reallocate(a, 4000);  // the rest of the region follows a: in place
    REQUIRE_FALSE(grown.is_error());
    CHECK(grown.value() == a);
    CHECK(heap.usable_size(a) >= 4000);
    CHECK(check_contents(a, 256));

    auto shrunk = heap.reallocate(a, 300);
    REQUIRE_FALSE(shrunk.is_error());
    CHECK(shrunk.value() == a);
    u8* b = must_allocate(heap, 1000);  // the tail given back is used again
    CHECK(b > a);
    CHECK(b < a + 4000);

    auto moved = heap.reallocate(a, 2000);  // b is in the way now
    REQUIRE_FALSE(moved.is_error());
    CHECK(moved.value() != a);
    a = static_cast<u8*>(moved.value());
    CHECK(check_contents(a, 256));
    CHECK(aligned_to(a, 64));

    // A small block at a 16-but-not-64 address moves when it grows to a large size.
    u8* small = nullptr;
    std::vector<u8*> spare;
    while (!small) {
        u8* p = must_allocate(heap, 16);
        if (aligned_to(p, 64))
            spare.push_back(p);
        else
            small = p;
    }
    memset(small, 0xAB, 16);
    auto large = heap.reallocate(small, 300);
    REQUIRE_FALSE(large.is_error());
    CHECK(aligned_to(large.value(), 64));
    CHECK(static_cast<u8*>(large.value())[15] == 0xAB);

    auto from_null = heap.reallocate(nullptr, 40);
    REQUIRE_FALSE(from_null.is_error());
    auto to_zero = heap.reallocate(from_null.value(), 0);
    REQUIRE_FALSE(to_zero.is_error());
    CHECK(heap.usable_size(to_zero.value()) == 16);

    auto impossible = heap.reallocate(a, Heap::max_request + 1);
    REQUIRE(impossible.is_error());
    CHECK(impossible.error().code() == ErrorCode::OutOfMemory);
    CHECK(check_contents(a, 256));  // still valid

    heap.free(a);
    heap.free(b);
    heap.free(large.value());
    heap.free(to_zero.value());
    for (u8* p : spare)
        heap.free(p);
    REQUIRE(heap.check_integrity());
    CHECK(heap.stats().bytes_in_use == 0);
    CHECK(heap.stats().largest_free_block == buffer.size - 48);
}

TEST_CASE("Heap: finds the one block that fits even deep in a size class", "[mem]")
{
    Buffer buffer(1 << 16);
    Heap heap;
    REQUIRE_FALSE(heap.add_region(buffer.data, buffer.size).is_error());
    // Blocks of 11 and 8 units (one class), kept apart by small used blocks.
    u8* fits = must_allocate(heap, 160);
    must_allocate(heap, 0);
    std::vector<u8*> small;
    for (int i = 0; i < 10; i++) {
        small.push_back(must_allocate(heap, 112));
        must_allocate(heap, 0);
    }
    while (!heap.allocate(0, 0, "filler").is_error()) { }
    heap.free(fits);  // freed first: the last of its class list
    for (u8* p : small)
        heap.free(p);
    auto again = heap.allocate(160, 0, "deep");
    REQUIRE_FALSE(again.is_error());
    CHECK(again.value() == fits);
    REQUIRE(heap.check_integrity());
}

TEST_CASE("Heap: exhaustion and absurd requests are errors with sizes, never overflows", "[mem]")
{
    Buffer buffer(64 * 1024);
    Heap heap;
    REQUIRE_FALSE(heap.add_region(buffer.data, buffer.size).is_error());
    auto before = heap.stats();
    auto big = heap.allocate(1 << 20, 0, "KV cache");
    REQUIRE(big.is_error());
    CHECK(big.error().code() == ErrorCode::OutOfMemory);
    std::string message = big.error().message();
    CHECK(has(message, "KV cache: 1048576 bytes (alignment 64) requested"));
    CHECK(has(message, std::to_string(before.bytes_free) + " bytes free"));
    CHECK(has(message, "largest free block " + std::to_string(before.largest_free_block)));

    const usize absurd[] = { SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2, Heap::max_request + 1, Heap::max_request };
    for (usize size : absurd) {
        auto result = heap.allocate(size, 0, "absurd");
        REQUIRE(result.is_error());
        CHECK(result.error().code() == ErrorCode::OutOfMemory);
    }
    CHECK(heap.allocate(Heap::max_request, Heap::max_alignment, "absurd").error().code() == ErrorCode::OutOfMemory);
    CHECK(heap.allocate(16, 3, "odd").error().code() == ErrorCode::InvalidArgument);
    CHECK(heap.allocate(16, Heap::max_alignment * 2, "odd").error().code() == ErrorCode::InvalidArgument);
    CHECK(heap.allocate(16, SIZE_MAX, "odd").error().code() == ErrorCode::InvalidArgument);
    CHECK(heap.allocate(16, usize(1) << 63, "odd").error().code() == ErrorCode::InvalidArgument);

    // Fill it up with small blocks, then take everything back.
    std::vector<void*> blocks;
    for (;;) {
        auto result = heap.allocate(1000, 0, "filler");
        if (result.is_error()) {
            CHECK(result.error().code() == ErrorCode::OutOfMemory);
            break;
        }
        blocks.push_back(result.value());
    }
    CHECK(blocks.size() >= 60);  // 64 KiB / (1008 + header + alignment gaps)
    for (void* p : blocks)
        heap.free(p);
    REQUIRE(heap.check_integrity());
    CHECK(heap.stats().largest_free_block == before.largest_free_block);
}

namespace {

struct Pool {
    std::vector<std::unique_ptr<Buffer>> buffers;
    std::vector<usize> requests;
    usize chunk = 256 * 1024;
    int refuse_after = 1000;
};

ErrorOr<kl::mem::Span> grow_from_pool(usize min_bytes, void* context)
{
    auto* pool = static_cast<Pool*>(context);
    pool->requests.push_back(min_bytes);
    if (int(pool->buffers.size()) >= pool->refuse_after)
        return Error::make(ErrorCode::OutOfMemory, "the test pool gives no more than %d chunks", pool->refuse_after);
    usize size = std::max(pool->chunk, (min_bytes + 4095) / 4096 * 4096);
    pool->buffers.push_back(std::make_unique<Buffer>(size));
    return kl::mem::Span { pool->buffers.back()->data, size };
}

}

TEST_CASE("Heap: grows through its grow function when nothing fits", "[mem]")
{
    Pool pool;
    Heap heap;
    auto nothing = heap.allocate(100, 0, "first");
    REQUIRE(nothing.is_error());  // no memory and no way to grow
    CHECK(nothing.error().code() == ErrorCode::OutOfMemory);

    heap.set_grow_function(grow_from_pool, &pool);
    u8* a = must_allocate(heap, 100);
    CHECK(pool.buffers.size() == 1);
    u8* b = must_allocate(heap, 1000);
    CHECK(pool.buffers.size() == 1);  // fits in the first chunk

    // A request bigger than a chunk asks for enough, alignment gap included.
    u8* c = must_allocate(heap, 1 << 20, 4096);
    REQUIRE(pool.buffers.size() == 2);
    CHECK(pool.requests.back() >= (1 << 20) + 4096);
    CHECK(aligned_to(c, 4096));
    memset(c, 1, 1 << 20);
    REQUIRE(heap.check_integrity());
    CHECK(heap.stats().region_bytes == pool.chunk + pool.buffers[1]->size);

    pool.refuse_after = 2;
    auto refused = heap.allocate(1 << 20, 0, "weights scratch");
    REQUIRE(refused.is_error());
    CHECK(refused.error().code() == ErrorCode::OutOfMemory);
    CHECK(has(refused.error().message(), "weights scratch"));
    CHECK(has(refused.error().message(), "growing the heap failed: the test pool gives no more than 2 chunks"));

    heap.free(a);
    heap.free(b);
    heap.free(c);
    REQUIRE(heap.check_integrity());
    CHECK(heap.stats().bytes_free == heap.stats().region_bytes - 2 * 32);
}

TEST_CASE("Heap: regions too small are refused, misaligned bases are fine", "[mem]")
{
    Buffer buffer(8192);
    Heap heap;
    auto tiny = heap.add_region(buffer.data + 3, 60);
    REQUIRE(tiny.is_error());
    CHECK(tiny.error().code() == ErrorCode::MemoryTooSmall);
    REQUIRE_FALSE(heap.add_region(buffer.data + 3, 8000).is_error());
    CHECK(heap.stats().region_bytes == (8000 - 13) / 16 * 16);
    u8* p = must_allocate(heap, 500);
    CHECK(aligned_to(p, 64));
    CHECK(p >= buffer.data + 3);
    CHECK(p + 500 <= buffer.data + 8003);
    heap.free(p);
    REQUIRE(heap.check_integrity());
}

TEST_CASE("Heap: double frees and foreign pointers are detected and change nothing", "[mem]")
{
    Buffer buffer(1 << 16);
    Heap heap;
    Corruption corruption;
    heap.set_corruption_handler(record, &corruption);
    REQUIRE_FALSE(heap.add_region(buffer.data, buffer.size).is_error());
    u8* a = must_allocate(heap, 100);
    u8* b = must_allocate(heap, 100);
    u8* c = must_allocate(heap, 100);

    heap.free(b);
    heap.free(b);
    CHECK(corruption.count == 1);
    CHECK(has(corruption.problem, "double free"));
    CHECK(corruption.address == b);
    REQUIRE(heap.check_integrity());

    heap.free(a);  // merges with b's block: b's old header is now inside a free block
    heap.free(b);
    CHECK(corruption.count == 2);
    CHECK(has(corruption.problem, "double free"));
    heap.free(a);
    CHECK(corruption.count == 3);
    CHECK(corruption.address == a);

    CHECK(heap.usable_size(a) == 0);
    CHECK(corruption.count == 4);
    auto moved = heap.reallocate(a, 10);
    REQUIRE(moved.is_error());
    CHECK(moved.error().code() == ErrorCode::MemoryCorrupted);
    CHECK(corruption.count == 5);

    memset(c, 0xA5, 100);  // whatever the buffer held before, c + 32 is no header now
    heap.free(c + 48);  // inside a live block: no header there
    CHECK(corruption.count == 6);
    CHECK(has(corruption.problem, "overwritten"));
    heap.free(c + 8);  // not even 16-byte aligned
    CHECK(corruption.count == 7);
    CHECK(corruption.address == c + 8);

    // Freed into the free block before it: its own header is left behind, marked free.
    u8* d = must_allocate(heap, 100);
    u8* e = must_allocate(heap, 100);
    u8* f = must_allocate(heap, 100);
    heap.free(d);
    heap.free(e);
    heap.free(e);
    CHECK(corruption.count == 8);
    CHECK(has(corruption.problem, "double free"));
    CHECK(corruption.address == e);
    heap.free(f);

    REQUIRE(heap.check_integrity());
    CHECK(corruption.count == 8);
    auto s = heap.stats();
    CHECK(s.frees == 5);
    CHECK(s.bytes_in_use == heap.usable_size(c));
    heap.free(c);
    CHECK(heap.stats().bytes_in_use == 0);
    CHECK(corruption.count == 8);
}

TEST_CASE("Heap: writing past a block into the next header is detected", "[mem]")
{
    Buffer buffer(1 << 16);
    Heap heap;
    Corruption corruption;
    heap.set_corruption_handler(record, &corruption);
    REQUIRE_FALSE(heap.add_region(buffer.data, buffer.size).is_error());

    SECTION("into a used neighbour: found by free and by the integrity walk")
    {
        u8* a = must_allocate(heap, 100);
        u8* b = must_allocate(heap, 100);
        usize usable = heap.usable_size(a);
        REQUIRE(a + usable + 16 == b);  // b's header follows a's last byte
        a[usable] ^= 1;                  // one bit of the next header
        heap.free(a);
        CHECK(corruption.count == 1);
        CHECK(has(corruption.problem, "overwritten"));
        CHECK(corruption.address == b - 16);
        CHECK_FALSE(heap.check_integrity());
        CHECK(corruption.count == 2);
        heap.free(b);
        CHECK(corruption.count == 3);
    }
    SECTION("into a free neighbour: found when the block is handed out")
    {
        u8* a = must_allocate(heap, 100);
        usize usable = heap.usable_size(a);
        memset(a, 'x', usable + 4);  // the free rest of the region starts right after a
        auto next = heap.allocate(100, 0, "victim");
        REQUIRE(next.is_error());
        CHECK(next.error().code() == ErrorCode::MemoryCorrupted);
        CHECK(corruption.count == 1);
        CHECK_FALSE(heap.check_integrity());
    }
    SECTION("into the links of a freed block: found by the integrity walk")
    {
        u8* a = must_allocate(heap, 1000);
        u8* b = must_allocate(heap, 16);
        u8* c = must_allocate(heap, 16);
        heap.free(b);            // a free block between two used ones: its links are at b
        memset(b + 8, 0x11, 8);  // write after free over its link to the previous free block
        CHECK_FALSE(heap.check_integrity());
        CHECK(corruption.count == 1);
        CHECK(has(corruption.problem, "free list damaged"));
        CHECK(corruption.address == b - 16);
        // The heap must not be used further: the next merge would follow the bad link.
        (void)a;
        (void)c;
    }
    SECTION("a flipped in-use flag: found by free and the integrity walk")
    {
        u8* a = must_allocate(heap, 64);
        must_allocate(heap, 64);
        reinterpret_cast<u32*>(a - 16)[2] ^= 1;
        CHECK_FALSE(heap.check_integrity());
        CHECK(corruption.count == 1);
        heap.free(a);
        CHECK(corruption.count == 2);
    }
    SECTION("over the length of a block: found by the integrity walk")
    {
        u8* a = must_allocate(heap, 64);
        u8* b = must_allocate(heap, 64);
        reinterpret_cast<u32*>(b - 16)[0] += 1;  // a stray increment of b's size field
        CHECK_FALSE(heap.check_integrity());
        CHECK(corruption.count == 1);
        (void)a;
    }
}

TEST_CASE("Heap: the default corruption handler stops the program with mem.corrupted", "[mem]")
{
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        alignas(16) static u8 memory[4096];
        Heap heap;
        if (heap.add_region(memory, sizeof(memory)).is_error())
            _exit(100);
        auto p = heap.allocate(10, 0, "x");
        if (p.is_error())
            _exit(101);
        heap.free(p.value());
        heap.free(p.value());
        _exit(102);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == int(ErrorCode::MemoryCorrupted));
}
