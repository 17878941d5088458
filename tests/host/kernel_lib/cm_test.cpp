// The kernel image's codec (kernel_lib/codec/cm.h) and x86 branch filter
// (kernel_lib/codec/x86_filter.h): round trips over random, text, repetitive and
// branch-heavy data and the real kernel image, then truncated, extended, damaged and
// impossible streams, which must fail cleanly. Inputs and outputs sit in exactly sized
// buffers, so the sanitizer build catches any read or write past their ends.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "kernel_lib/codec/cm.h"
#include "kernel_lib/codec/x86_filter.h"
#include "tests/host/test_support.h"

namespace {

constexpr u32 small_table = kl::cm_min_bucket_count;

std::vector<u8> encode(const std::vector<u8>& data, u32 buckets = small_table)
{
    std::vector<u8> scratch(kl::cm_scratch_bytes(buckets));
    std::vector<u8> out(data.size() + data.size() / 8 + 16);
    i64 size = kl::cm_encode(data.data(), data.size(), out.data(), out.size(), buckets, scratch.data(), scratch.size());
    REQUIRE(size > 0);
    out.resize(static_cast<usize>(size));
    return out;
}

// Decodes into a buffer of exactly `size` bytes; the status, and the bytes in `out`.
i64 decode(const std::vector<u8>& packed, usize size, std::vector<u8>& out, u32 buckets = small_table)
{
    std::vector<u8> scratch(kl::cm_scratch_bytes(buckets));
    out.assign(size, 0);
    return kl::cm_decode(packed.data(), packed.size(), out.data(), out.size(), buckets, scratch.data(), scratch.size());
}

void check_round_trip(const std::vector<u8>& data, u32 buckets = small_table)
{
    INFO("size " << data.size() << " buckets " << buckets);
    auto packed = encode(data, buckets);
    std::vector<u8> out;
    REQUIRE(decode(packed, data.size(), out, buckets) == static_cast<i64>(data.size()));
    CHECK(out == data);
}

std::vector<u8> sample(usize size, unsigned seed, unsigned alphabet)
{
    return test_support::repetitive_bytes(size, seed, alphabet, 300);
}

std::vector<u8> text(usize size, unsigned seed)
{
    static const char* const words[] = { "Once", "upon", "a", "time", "there", "was", "little", "girl", "named",
        "Lily", "she", "loved", "to", "play", "in", "the", "park", "with", "her", "dog", "and", "sun", "happy" };
    std::mt19937 rng(seed);
    std::string s;
    while (s.size() < size) {
        s += words[rng() % (sizeof(words) / sizeof(words[0]))];
        s += rng() % 9 == 0 ? ". " : " ";
    }
    s.resize(size);
    return std::vector<u8>(s.begin(), s.end());
}

// Bytes rich in E8/E9/0F 8x opcodes and 00/FF, so that the filter converts some candidates
// and skips others, with overlapping ones.
std::vector<u8> branchy(usize size, unsigned seed)
{
    static const u8 alphabet[] = { 0xE8, 0xE9, 0x0F, 0x85, 0x00, 0xFF, 0x01, 0xFE, 0x7F, 0x80 };
    std::mt19937 rng(seed);
    std::vector<u8> data(size);
    for (u8& byte : data)
        byte = rng() % 10 == 0 ? static_cast<u8>(rng()) : alphabet[rng() % sizeof(alphabet)];
    return data;
}

std::vector<u8> kernel_image()
{
    std::string path = test_support::repo_root() + "/build/kernel.raw";
    struct stat st;
    if (stat(path.c_str(), &st) != 0)
        return {};
    return test_support::read_file(path);
}

}

TEST_CASE("cm round-trips random, text and repetitive data", "[codec]")
{
    check_round_trip({});
    check_round_trip({ 0x42 });
    for (usize size : { usize(7), usize(1000), usize(70000) }) {
        for (unsigned alphabet : { 2u, 26u, 256u })
            check_round_trip(sample(size, static_cast<unsigned>(size + alphabet), alphabet));
        check_round_trip(text(size, static_cast<unsigned>(size)));
        check_round_trip(std::vector<u8>(size, 0xE8));
    }
    check_round_trip(sample(50000, 5, 256), 4096);
}

TEST_CASE("cm packs text and repeated data tightly", "[codec]")
{
    auto words = text(100000, 1);
    CHECK(encode(words).size() < words.size() / 3);
    std::vector<u8> zeros(100000, 0);
    CHECK(encode(zeros).size() < 200);
}

TEST_CASE("cm and the x86 filter unpack the kernel image as pack-kernel packs it", "[codec]")
{
    auto image = kernel_image();
    if (image.empty()) {
        WARN("SKIPPED: build/kernel.raw is not built");
        return;
    }
    auto filtered = image;
    kl::x86_filter_encode(filtered.data(), filtered.size());
    CHECK(filtered != image);
    const u32 buckets = 65536;
    auto packed = encode(filtered, buckets);
    CHECK(packed.size() < image.size() / 2);
    std::vector<u8> out;
    REQUIRE(decode(packed, image.size(), out, buckets) == static_cast<i64>(image.size()));
    kl::x86_filter_decode(out.data(), out.size());
    CHECK(out == image);
}

TEST_CASE("cm refuses truncated and extended streams", "[codec]")
{
    auto data = sample(20000, 3, 64);
    auto packed = encode(data);
    std::vector<u8> out;
    for (usize cut = 0; cut < packed.size(); cut += 1 + packed.size() / 37) {
        std::vector<u8> prefix(packed.begin(), packed.begin() + static_cast<long>(cut));
        INFO("cut at " << cut << " of " << packed.size());
        CHECK(decode(prefix, data.size(), out) == kl::cm_truncated);
    }
    auto longer = packed;
    longer.push_back(0);
    CHECK(decode(longer, data.size(), out) == kl::cm_trailing_bytes);
}

TEST_CASE("cm decodes damaged streams to something, within its buffers", "[codec]")
{
    auto data = text(5000, 9);
    auto packed = encode(data);
    std::mt19937 rng(11);
    std::vector<u8> out;
    usize differing = 0;
    for (int trial = 0; trial < 40; ++trial) {
        auto damaged = packed;
        damaged[rng() % damaged.size()] ^= static_cast<u8>(1 + rng() % 255);
        i64 status = decode(damaged, data.size(), out);
        CHECK((status == static_cast<i64>(data.size()) || status == kl::cm_truncated || status == kl::cm_trailing_bytes));
        differing += status < 0 || out != data;
    }
    // The unpacker's CRC is what catches damage; most of it shows in the output already.
    CHECK(differing >= 35);
}

TEST_CASE("cm refuses bad table sizes and a full output", "[codec]")
{
    std::vector<u8> data = text(1000, 2);
    std::vector<u8> scratch(kl::cm_scratch_bytes(small_table + 4));
    std::vector<u8> out(4000);
    auto encode_with = [&](u32 buckets, usize scratch_size) {
        return kl::cm_encode(data.data(), data.size(), out.data(), out.size(), buckets, scratch.data(), scratch_size);
    };
    CHECK(encode_with(small_table + 1, scratch.size()) == kl::cm_bad_tables);
    CHECK(encode_with(small_table + 2, scratch.size()) == kl::cm_bad_tables);  // the probes need fours
    CHECK(encode_with(small_table - 4, scratch.size()) == kl::cm_bad_tables);
    CHECK(encode_with(small_table + 4, scratch.size() - 1) == kl::cm_bad_tables);
    CHECK(kl::cm_decode(data.data(), data.size(), out.data(), 10, small_table + 1, scratch.data(), scratch.size())
        == kl::cm_bad_tables);
    i64 full = encode_with(small_table, scratch.size());
    REQUIRE(full > 10);
    std::vector<u8> small(static_cast<usize>(full - 1));
    CHECK(kl::cm_encode(data.data(), data.size(), small.data(), small.size(), small_table, scratch.data(), scratch.size())
        == kl::cm_output_full);
}

TEST_CASE("cm_bucket_count_for fills the scratch memory with a multiple of 4", "[codec]")
{
    CHECK(kl::cm_bucket_count_for(0) == 0);
    CHECK(kl::cm_bucket_count_for(kl::cm_scratch_bytes(small_table) - 1) == 0);
    CHECK(kl::cm_bucket_count_for(kl::cm_scratch_bytes(small_table)) == small_table);
    for (usize scratch : { usize(1) << 20, usize(2800000), usize(3) << 20 }) {
        u32 buckets = kl::cm_bucket_count_for(scratch);
        CHECK(buckets % 4 == 0);
        CHECK(kl::cm_scratch_bytes(buckets) <= scratch);
        CHECK(kl::cm_scratch_bytes(buckets + 4) > scratch);
    }
}

TEST_CASE("x86 filter makes branch targets absolute and back", "[codec]")
{
    // call +0x100 at offset 0x10, call to the same target from 0x20, jne +0x40 at 0x30, and
    // a far jmp (top byte 0x12) that stays as it is.
    std::vector<u8> code(0x60, 0x90);
    const u8 call1[] = { 0xE8, 0x00, 0x01, 0x00, 0x00 };
    const u8 call2[] = { 0xE8, 0xF0, 0x00, 0x00, 0x00 };
    const u8 jne[] = { 0x0F, 0x85, 0x40, 0x00, 0x00, 0x00 };
    const u8 far[] = { 0xE9, 0x00, 0x00, 0x00, 0x12 };
    std::copy(call1, call1 + 5, code.begin() + 0x10);
    std::copy(call2, call2 + 5, code.begin() + 0x20);
    std::copy(jne, jne + 6, code.begin() + 0x30);
    std::copy(far, far + 5, code.begin() + 0x40);
    auto filtered = code;
    kl::x86_filter_encode(filtered.data(), filtered.size());
    const u8 target[] = { 0x15, 0x01, 0x00, 0x00 };  // 0x100 + 0x15 = 0xF0 + 0x25
    CHECK(std::equal(target, target + 4, filtered.begin() + 0x11));
    CHECK(std::equal(target, target + 4, filtered.begin() + 0x21));
    const u8 jne_target[] = { 0x76, 0x00, 0x00, 0x00 };  // 0x40 + 0x36
    CHECK(std::equal(jne_target, jne_target + 4, filtered.begin() + 0x32));
    CHECK(std::equal(far, far + 5, filtered.begin() + 0x40));
    kl::x86_filter_decode(filtered.data(), filtered.size());
    CHECK(filtered == code);
}

TEST_CASE("x86 filter is a bijection on any bytes", "[codec]")
{
    for (usize size : { usize(0), usize(5), usize(6), usize(100), usize(100000) }) {
        auto data = branchy(size, static_cast<unsigned>(size));
        auto forward = data;
        kl::x86_filter_encode(forward.data(), forward.size());
        kl::x86_filter_decode(forward.data(), forward.size());
        CHECK(forward == data);
        auto backward = data;
        kl::x86_filter_decode(backward.data(), backward.size());
        kl::x86_filter_encode(backward.data(), backward.size());
        CHECK(backward == data);
    }
}
