// Raw LZMA1 decoding and the x86 BCJ decode filter (kernel_lib/codec/lzma.h) against
// liblzma's encoder: random, repetitive and text data, every supported lc/lp/pb, with and
// without the x86 filter, the real kernel image; then truncated, damaged and impossible
// streams, which must fail cleanly. Inputs and outputs sit in exactly sized buffers, so
// the sanitizer build catches any read or write past their ends.
#include <catch2/catch.hpp>
#include <lzma.h>

#include <random>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "kernel_lib/codec/lzma.h"
#include "tests/host/test_support.h"

namespace {

struct Settings {
    u32 preset = 6;
    u32 lc = 3;
    u32 lp = 0;
    u32 pb = 2;
    bool bcj = false;
    const std::vector<u8>* preset_dictionary = nullptr;
};

kl::LzmaProperties properties_of(const Settings& s)
{
    return { static_cast<u8>(s.lc), static_cast<u8>(s.lp), static_cast<u8>(s.pb) };
}

// liblzma's raw encoder: [x86 BCJ,] LZMA1, as scripts/pack-kernel uses it.
std::vector<u8> encode(const std::vector<u8>& data, const Settings& s)
{
    lzma_options_lzma options;
    REQUIRE(!lzma_lzma_preset(&options, s.preset));
    options.lc = s.lc;
    options.lp = s.lp;
    options.pb = s.pb;
    if (s.preset_dictionary) {
        options.preset_dict = s.preset_dictionary->data();
        options.preset_dict_size = static_cast<u32>(s.preset_dictionary->size());
    }
    lzma_filter filters[3];
    usize count = 0;
    if (s.bcj)
        filters[count++] = { LZMA_FILTER_X86, nullptr };
    filters[count++] = { LZMA_FILTER_LZMA1, &options };
    filters[count] = { LZMA_VLI_UNKNOWN, nullptr };
    std::vector<u8> out(data.size() + data.size() / 2 + 1024);
    size_t out_pos = 0;
    REQUIRE(lzma_raw_buffer_encode(filters, nullptr, data.data(), data.size(), out.data(), &out_pos, out.size()) == LZMA_OK);
    out.resize(out_pos);
    return out;
}

// The LZMA layer alone, decoded by liblzma: for a [BCJ, LZMA1] stream, the data as the
// x86 filter left it.
std::vector<u8> liblzma_decode_lzma_only(const std::vector<u8>& packed, const Settings& s, usize size)
{
    lzma_options_lzma options;
    REQUIRE(!lzma_lzma_preset(&options, s.preset));
    options.lc = s.lc;
    options.lp = s.lp;
    options.pb = s.pb;
    lzma_filter filters[2] = { { LZMA_FILTER_LZMA1, &options }, { LZMA_VLI_UNKNOWN, nullptr } };
    std::vector<u8> out(size + 16);
    size_t in_pos = 0, out_pos = 0;
    REQUIRE(lzma_raw_buffer_decode(filters, nullptr, packed.data(), &in_pos, packed.size(), out.data(), &out_pos, out.size())
        == LZMA_OK);
    out.resize(out_pos);
    return out;
}

// Our decoder, into a buffer of exactly `capacity` bytes; the status or the byte count.
i64 decode(const std::vector<u8>& packed, const Settings& s, std::vector<u8>& out)
{
    return kl::lzma_decode_raw(packed.data(), packed.size(), properties_of(s), out.data(), out.size());
}

// Encodes with liblzma, decodes with ours (then undoes the BCJ filter), and compares.
void check_round_trip(const std::vector<u8>& data, const Settings& s)
{
    INFO("size " << data.size() << " preset " << s.preset << " lc " << s.lc << " lp " << s.lp << " pb " << s.pb
                 << " bcj " << s.bcj);
    auto packed = encode(data, s);
    std::vector<u8> out(data.size());
    REQUIRE(decode(packed, s, out) == static_cast<i64>(data.size()));
    if (s.bcj)
        kl::x86_bcj_decode(out.data(), out.size());
    CHECK(out == data);
}

// Random bytes over `alphabet` symbols, with copies of earlier stretches mixed in so that
// matches of many lengths and distances (and repeated distances) appear.
std::vector<u8> sample(usize size, unsigned seed, unsigned alphabet)
{
    std::mt19937 rng(seed);
    std::vector<u8> data(size);
    for (usize i = 0; i < size;) {
        if (i > 64 && rng() % 3 == 0) {
            usize distance = 1 + rng() % (i < 100000 ? i : 100000);
            usize length = 2 + rng() % (rng() % 8 == 0 ? 300 : 12);
            for (usize k = 0; k < length && i < size; ++k, ++i)
                data[i] = data[i - distance];
        } else {
            data[i++] = static_cast<u8>(rng() % alphabet);
        }
    }
    return data;
}

// Words and punctuation, like the stories the model writes.
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

// Code-like bytes: many E8/E9 opcodes and 00/FF displacement bytes, close together, so
// the x86 filter converts some candidates and must skip others.
std::vector<u8> branchy(usize size, unsigned seed)
{
    static const u8 alphabet[] = { 0xE8, 0xE9, 0x00, 0xFF, 0x01, 0xFE, 0x7F, 0x80 };
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

TEST_CASE("lzma decodes what liblzma's raw LZMA1 encoder writes", "[lzma]")
{
    for (u32 preset : { 0u, 6u, 9u | LZMA_PRESET_EXTREME }) {
        for (usize size : { usize(2), usize(100), usize(70000), usize(300000) }) {
            for (unsigned alphabet : { 2u, 26u, 256u }) {
                Settings s;
                s.preset = preset;
                check_round_trip(sample(size, static_cast<unsigned>(size + alphabet + preset), alphabet), s);
            }
        }
    }
}

TEST_CASE("lzma decodes empty, one-byte, text and highly repetitive data", "[lzma]")
{
    for (bool bcj : { false, true }) {
        Settings s;
        s.bcj = bcj;
        check_round_trip({}, s);
        check_round_trip({ 0x42 }, s);
        check_round_trip({ 0xE8 }, s);
        check_round_trip(text(100000, 3), s);
        check_round_trip(std::vector<u8>(1 << 20, 0), s);  // the longest matches, all at distance 1
        std::vector<u8> pattern(200000);
        for (usize i = 0; i < pattern.size(); ++i)
            pattern[i] = static_cast<u8>("abcabd\xE8\x00"[i % 8]);
        check_round_trip(pattern, s);
    }
}

TEST_CASE("lzma decodes every supported lc, lp and pb, with and without BCJ", "[lzma]")
{
    auto data = sample(12000, 11, 256);
    auto words = text(12000, 12);
    data.insert(data.end(), words.begin(), words.end());
    for (u32 lc = 0; lc <= 4; ++lc) {
        for (u32 lp = 0; lc + lp <= 4; ++lp) {
            for (u32 pb = 0; pb <= 4; ++pb) {
                for (bool bcj : { false, true })
                    check_round_trip(data, Settings { 6, lc, lp, pb, bcj, nullptr });
            }
        }
    }
}

TEST_CASE("lzma unpacks the kernel image as scripts/pack-kernel packs it", "[lzma]")
{
    auto kernel = kernel_image();
    if (kernel.empty()) {
        WARN("SKIPPED: build/kernel.raw is not built");
        return;
    }
    check_round_trip(kernel, Settings { 9 | LZMA_PRESET_EXTREME, 3, 0, 0, true, nullptr });
}

TEST_CASE("x86 BCJ decode inverts liblzma's x86 filter", "[lzma]")
{
    std::vector<std::vector<u8>> inputs;
    for (usize size = 0; size < 16; ++size)
        inputs.push_back(branchy(size, static_cast<unsigned>(size)));
    for (unsigned seed = 0; seed < 20; ++seed)
        inputs.push_back(branchy(1000 + seed * 397, seed));
    inputs.push_back(kernel_image());
    Settings s { 6, 3, 0, 0, true, nullptr };
    for (const auto& data : inputs) {
        INFO("size " << data.size());
        auto filtered = liblzma_decode_lzma_only(encode(data, s), s, data.size());
        REQUIRE(filtered.size() == data.size());
        if (data.size() > 1000)
            CHECK(filtered != data);  // the filter did convert something
        kl::x86_bcj_decode(filtered.data(), filtered.size());
        CHECK(filtered == data);
    }
}

TEST_CASE("lzma refuses truncated input", "[lzma]")
{
    Settings s;
    auto data = sample(40000, 5, 40);
    auto packed = encode(data, s);
    std::vector<u8> out(data.size());
    // Every cut, the last bytes included: the end marker and the range coder's final
    // bytes are required, so no prefix passes for the whole stream.
    for (usize cut = 0; cut < packed.size(); cut += cut + 64 < packed.size() ? 61 : 1) {
        std::vector<u8> prefix(packed.begin(), packed.begin() + static_cast<long>(cut));
        INFO("cut at " << cut << " of " << packed.size());
        CHECK(decode(prefix, s, out) == kl::lzma_truncated);
    }
}

TEST_CASE("lzma refuses damaged input without reading or writing out of bounds", "[lzma]")
{
    Settings s;
    auto data = sample(30000, 6, 64);
    auto packed = encode(data, s);
    std::vector<u8> out(data.size());

    auto first_byte = packed;
    first_byte[0] = 1;  // the range coder's first byte is always 0
    CHECK(decode(first_byte, s, out) == kl::lzma_corrupt);

    auto trailing = packed;
    trailing.push_back(0);  // a byte after the stream's end
    CHECK(decode(trailing, s, out) == kl::lzma_corrupt);

    std::mt19937 rng(7);
    int refused = 0;
    for (int trial = 0; trial < 300; ++trial) {
        auto damaged = packed;
        damaged[1 + rng() % (damaged.size() - 1)] ^= static_cast<u8>(1 + rng() % 255);
        std::vector<u8> small(rng() % 2 ? out.size() : out.size() / 2);
        refused += decode(damaged, s, small) < 0;
    }
    CHECK(refused == 300);
}

TEST_CASE("lzma refuses a match before the start of the output", "[lzma]")
{
    // With a preset dictionary the encoder's first packet copies from it; without it,
    // that distance reaches before the output.
    auto dictionary = text(5000, 8);
    Settings s;
    s.preset_dictionary = &dictionary;
    std::vector<u8> data(dictionary.begin(), dictionary.begin() + 3000);
    auto packed = encode(data, s);
    std::vector<u8> out(data.size());
    CHECK(decode(packed, s, out) == kl::lzma_bad_distance);
}

TEST_CASE("lzma refuses a small output and unsupported properties", "[lzma]")
{
    Settings s;
    auto data = text(5000, 9);
    auto packed = encode(data, s);
    std::vector<u8> out(data.size() - 1);
    CHECK(decode(packed, s, out) == kl::lzma_output_full);
    std::vector<u8> none;
    CHECK(decode(packed, s, none) == kl::lzma_output_full);

    std::vector<u8> full(data.size());
    CHECK(kl::lzma_decode_raw(packed.data(), packed.size(), { 3, 2, 2 }, full.data(), full.size())
        == kl::lzma_bad_properties);
    CHECK(kl::lzma_decode_raw(packed.data(), packed.size(), { 0, 0, 5 }, full.data(), full.size())
        == kl::lzma_bad_properties);

    kl::LzmaProperties p;
    REQUIRE(kl::lzma_properties_from_byte((2 * 5 + 0) * 9 + 3, p));  // liblzma's default
    CHECK((p.lc == 3 && p.lp == 0 && p.pb == 2));
    REQUIRE(kl::lzma_properties_from_byte((4 * 5 + 4) * 9 + 0, p));
    CHECK((p.lc == 0 && p.lp == 4 && p.pb == 4));
    CHECK(!kl::lzma_properties_from_byte((0 * 5 + 1) * 9 + 4, p));  // lc + lp = 5
    CHECK(!kl::lzma_properties_from_byte(225, p));                 // pb = 5
}
