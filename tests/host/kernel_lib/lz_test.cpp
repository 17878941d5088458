// The unpacker's LZ coder (kernel_lib/codec/lz.h): the host encoder against the assembly
// decoder the unpacker runs (lz_decode.asm, linked here as it is): round trips of small,
// random, repetitive and overlapping data and of the unpacker's own body, and damaged
// streams, which must end inside the zeros after them and never write outside the output
// (guard bytes around it; the sanitizer build checks the reads).
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "kernel_lib/codec/lz.h"
#include "tests/host/test_support.h"

namespace {

constexpr usize guard = 64;
constexpr u8 guard_byte = 0xA5;

std::vector<u8> encode(const std::vector<u8>& data)
{
    std::vector<u8> out(kl::lz_encoded_capacity(data.size()));
    out.resize(kl::lz_encode(data.data(), data.size(), out.data()));
    return out;
}

// Decodes `stream`, followed by the zeros the decoder's contract asks for, into `size`
// bytes between guard bytes; returns how many stream bytes it read. The guards must hold.
usize decode(const std::vector<u8>& stream, usize size, std::vector<u8>& out)
{
    std::vector<u8> input = stream;
    input.resize(stream.size() + 2 * size + 64, 0);
    std::vector<u8> buffer(guard + size + guard, guard_byte);
    u8* start = buffer.data() + guard;
    const u8* end = kl::lz_decode(start, input.data(), start + size);
    for (usize i = 0; i < guard; ++i) {
        REQUIRE(buffer[i] == guard_byte);
        REQUIRE(buffer[guard + size + i] == guard_byte);
    }
    REQUIRE(end >= input.data());
    REQUIRE(end <= input.data() + input.size());
    out.assign(start, start + size);
    return static_cast<usize>(end - input.data());
}

void check_round_trip(const std::vector<u8>& data)
{
    INFO("size " << data.size());
    const std::vector<u8> stream = encode(data);
    REQUIRE(stream.size() <= kl::lz_encoded_capacity(data.size()));
    std::vector<u8> out;
    CHECK(decode(stream, data.size(), out) == stream.size());
    CHECK(out == data);
}

std::vector<u8> sample(usize size, unsigned seed, unsigned alphabet)
{
    return test_support::repetitive_bytes(size, seed, alphabet, 700);
}

}

TEST_CASE("lz round-trips small, random, repetitive and overlapping data", "[codec]")
{
    check_round_trip({});
    check_round_trip({ 42 });
    check_round_trip({ 1, 2 });
    check_round_trip(std::vector<u8>(1000, 0));
    check_round_trip(std::vector<u8>(300, 0xFF));
    for (usize size : { 3u, 17u, 256u, 257u, 1000u, 4096u }) {
        for (unsigned seed = 1; seed <= 3; ++seed) {
            check_round_trip(sample(size, seed, 256));
            check_round_trip(sample(size, seed, 4));
        }
    }
    std::vector<u8> far(3000);
    for (usize i = 0; i < far.size(); ++i)
        far[i] = static_cast<u8>(i * 7 + i / 1000);  // repeats at distances over 256
    check_round_trip(far);
}

TEST_CASE("lz packs repeated data", "[codec]")
{
    CHECK(encode(std::vector<u8>(4096, 0)).size() < 16);
    const std::vector<u8> data = sample(4096, 9, 16);
    CHECK(encode(data).size() < data.size() * 3 / 4);
}

TEST_CASE("lz restores the unpacker's body as pack-kernel packs it", "[codec]")
{
    const std::string path = test_support::repo_root() + "/build/unpack-body.bin";
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
        WARN("SKIPPED: build/unpack-body.bin is not built");
        return;
    }
    const std::vector<u8> body = test_support::read_file(path);
    check_round_trip(body);
    CHECK(encode(body).size() < body.size() * 4 / 5);
}

TEST_CASE("lz decodes damaged streams inside its output", "[codec]")
{
    const std::vector<u8> data = sample(2000, 5, 32);
    const std::vector<u8> stream = encode(data);
    std::mt19937 rng(11);
    std::vector<u8> out;
    for (int round = 0; round < 300; ++round) {
        std::vector<u8> damaged = stream;
        if (round % 3 == 0)
            damaged.resize(rng() % damaged.size());
        for (int k = 0; k < 1 + round % 5; ++k)
            if (!damaged.empty())
                damaged[rng() % damaged.size()] ^= static_cast<u8>(1 + rng() % 255);
        decode(damaged, data.size(), out);
    }
    std::vector<u8> noise(512);
    for (u8& b : noise)
        b = static_cast<u8>(rng());
    decode(noise, 700, out);
    decode(std::vector<u8>(512, 0xFF), 700, out);  // the longest numbers and matches there are
}
