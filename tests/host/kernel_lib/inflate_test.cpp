// Raw DEFLATE decoding against zlib's encoder: stored, fixed and dynamic blocks, long
// matches, and every kind of malformed or truncated input refused without overrunning.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <random>
#include <vector>

#include "kernel_lib/util/inflate.h"

namespace {

std::vector<u8> deflate_raw(const std::vector<u8>& data, int level, int strategy = Z_DEFAULT_STRATEGY)
{
    z_stream z {};
    REQUIRE(deflateInit2(&z, level, Z_DEFLATED, -15, 9, strategy) == Z_OK);
    std::vector<u8> out(deflateBound(&z, data.size()) + 16);
    z.next_in = const_cast<u8*>(data.data());
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::vector<u8> sample(size_t size, unsigned seed, int alphabet)
{
    std::mt19937 rng(seed);
    std::vector<u8> data(size);
    for (size_t i = 0; i < size; ++i) {
        // Runs and repeats so that matches of every length and distance appear.
        if (i > 300 && rng() % 4 == 0) {
            size_t distance = 1 + rng() % (i < 32768 ? i : 32768);
            data[i] = data[i - distance];
        } else {
            data[i] = static_cast<u8>(rng() % alphabet);
        }
    }
    return data;
}

}

TEST_CASE("inflate decodes what zlib's deflate encodes", "[inflate]")
{
    for (int level : { 0, 1, 6, 9 }) {
        for (int strategy : { Z_DEFAULT_STRATEGY, Z_FIXED, Z_HUFFMAN_ONLY, Z_RLE }) {
            for (size_t size : { size_t(0), size_t(1), size_t(100), size_t(70000), size_t(300000) }) {
                for (int alphabet : { 2, 26, 256 }) {
                    auto data = sample(size, static_cast<unsigned>(size + level * 7 + alphabet), alphabet);
                    auto packed = deflate_raw(data, level, strategy);
                    std::vector<u8> out(size + 8);
                    i64 n = kl::inflate_raw(packed.data(), packed.size(), out.data(), out.size());
                    INFO("level " << level << " strategy " << strategy << " size " << size);
                    REQUIRE(n == static_cast<i64>(size));
                    CHECK(std::equal(data.begin(), data.end(), out.begin()));
                }
            }
        }
    }
}

TEST_CASE("inflate refuses truncated, damaged and oversized streams", "[inflate]")
{
    auto data = sample(50000, 1, 40);
    auto packed = deflate_raw(data, 9);
    std::vector<u8> out(data.size());
    // Output too small.
    CHECK(kl::inflate_raw(packed.data(), packed.size(), out.data(), out.size() - 1) == kl::inflate_output_full);
    // Every truncation either fails cleanly or (never) claims success with the full size.
    for (size_t cut = 0; cut < packed.size(); cut += 97)
        CHECK(kl::inflate_raw(packed.data(), cut, out.data(), out.size()) < 0);
    // Random damage never writes past the buffer (ASan watches) and rarely decodes.
    std::mt19937 rng(7);
    for (int trial = 0; trial < 300; ++trial) {
        auto damaged = packed;
        damaged[rng() % damaged.size()] ^= static_cast<u8>(1 + rng() % 255);
        (void)kl::inflate_raw(damaged.data(), damaged.size(), out.data(), out.size());
    }
    const u8 bad_type[] = { 0x07 };  // final block of the reserved type 3
    CHECK(kl::inflate_raw(bad_type, 1, out.data(), out.size()) == kl::inflate_bad_code);
}
