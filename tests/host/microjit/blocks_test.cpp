// The format table, the fp16/bf16 conversions, the block layouts (dequantisation of
// hand-made bytes) and the reference quantisers (hand-computed ggml results).
#include <catch2/catch.hpp>
#include <cpuid.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "microjit/blocks.h"
#include "microjit/formats.h"
#include "microjit/quantize_blocks.h"
#include "microjit/reference_blocks.h"

using namespace mjit;

namespace {

u32 bits(float f)
{
    u32 u;
    memcpy(&u, &f, 4);
    return u;
}

float from_bits(u32 u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// The CPU's own conversions (F16C), an oracle independent of blocks.cpp.
__attribute__((target("f16c"))) u16 hardware_fp16(float f)
{
    return static_cast<u16>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

__attribute__((target("f16c"))) float hardware_f32(u16 h)
{
    return _cvtsh_ss(h);
}

std::vector<float> dequantized(Format f, const void* blocks, u64 n)
{
    std::vector<float> out(n);
    format_info(f).dequantize_row(blocks, out.data(), n);
    return out;
}

}

TEST_CASE("formats: the table agrees with ggml's type ids and block sizes", "[formats]")
{
    struct Expected {
        Format format;
        const char* name;
        u32 ggml_type, values, bytes;
        Format activation;
    };
    // formats.md: type ids and block sizes.
    const Expected expected[] = {
        { Format::F32, "f32", 0, 1, 4, Format::F32 },
        { Format::F16, "f16", 1, 1, 2, Format::F16 },
        { Format::BF16, "bf16", 30, 1, 2, Format::BF16 },
        { Format::Q8_0, "q8_0", 8, 32, 34, Format::Q8_0 },
        { Format::Q4_0, "q4_0", 2, 32, 18, Format::Q8_0 },
        { Format::Q4_1, "q4_1", 3, 32, 20, Format::Q8_1 },
        { Format::Q5_0, "q5_0", 6, 32, 22, Format::Q8_0 },
        { Format::Q5_1, "q5_1", 7, 32, 24, Format::Q8_1 },
        { Format::Q2_K, "q2_k", 10, 256, 84, Format::Q8_K },
        { Format::Q3_K, "q3_k", 11, 256, 110, Format::Q8_K },
        { Format::Q4_K, "q4_k", 12, 256, 144, Format::Q8_K },
        { Format::Q5_K, "q5_k", 13, 256, 176, Format::Q8_K },
        { Format::Q6_K, "q6_k", 14, 256, 210, Format::Q8_K },
        { Format::Q8_1, "q8_1", 9, 32, 36, Format::Q8_1 },
        { Format::Q8_K, "q8_k", 15, 256, 576, Format::Q8_K },
    };
    for (const Expected& e : expected) {
        const FormatInfo& f = format_info(e.format);
        INFO(e.name);
        CHECK(std::string(f.name) == e.name);
        CHECK(f.ggml_type == e.ggml_type);
        CHECK(f.block_values == e.values);
        CHECK(f.block_bytes == e.bytes);
        CHECK(f.activation == e.activation);
        CHECK(f.dequantize_row != nullptr);
        CHECK(f.quantize_row != nullptr);
        CHECK((f.reference == nullptr) == f.activation_only);
        const auto back = format_from_ggml_type(e.ggml_type);
        if (f.activation_only) {
            CHECK(back.is_error());
        } else {
            REQUIRE_FALSE(back.is_error());
            CHECK(back.value() == e.format);
        }
    }
    const FormatInfo& q8g = format_info(Format::Q8G);
    CHECK(std::string(q8g.name) == "q8");
    CHECK(q8g.ggml_type == no_ggml_type);
    CHECK(q8g.quantize_groups != nullptr);
    CHECK(q8g.reference != nullptr);
}

TEST_CASE("formats: unsupported ggml types are errors that name them", "[formats]")
{
    struct Case {
        u32 type;
        const char* name;
    };
    for (Case c : { Case { 16, "IQ2_XXS" }, Case { 23, "IQ4_XS" }, Case { 35, "TQ2_0" }, Case { 9, "Q8_1" }, Case { 15, "Q8_K" },
             Case { 28, "F64" }, Case { 39, "MXFP4" }, Case { 4, "Q4_2" }, Case { 40, "unknown" }, Case { 0xffffffffu, "unknown" } }) {
        auto r = format_from_ggml_type(c.type);
        REQUIRE(r.is_error());
        CHECK(r.error().code() == kl::ErrorCode::GgufTensor);
        INFO(r.error().message());
        CHECK(std::string(r.error().message()).find(std::string("(") + c.name + ")") != std::string::npos);
        CHECK(std::string(r.error().message()).find(std::to_string(c.type)) != std::string::npos);
    }
}

TEST_CASE("formats: row and matrix sizes, checked", "[formats]")
{
    CHECK(row_bytes(Format::Q4_K, 2048).value() == 8 * 144);
    CHECK(row_bytes(Format::Q8_0, 64).value() == 68);
    CHECK(row_bytes(Format::F16, 3).value() == 6);
    CHECK(row_bytes(Format::Q8G, 100).value() == 100);
    CHECK(row_bytes(Format::Q4_0, 48).is_error());
    CHECK(row_bytes(Format::Q6_K, 288).is_error());
    CHECK(row_bytes(Format::F32, 1ull << 62).is_error());
    CHECK(matrix_bytes(Format::Q6_K, 32000, 2048).value() == 32000ull * 8 * 210);
    CHECK(matrix_bytes(Format::F32, 1ull << 40, 1ull << 30).is_error());
    CHECK(matrix_bytes(Format::Q5_0, 3, 33).error().code() == kl::ErrorCode::InvalidArgument);
}

TEST_CASE("halves: fp16 conversions are IEEE round-to-nearest-even", "[formats][halves]")
{
    // Known values.
    CHECK(f32_to_fp16(1.0f) == 0x3c00);
    CHECK(f32_to_fp16(-2.0f) == 0xc000);
    CHECK(f32_to_fp16(65504.0f) == 0x7bff);
    CHECK(f32_to_fp16(65519.99f) == 0x7bff);
    CHECK(f32_to_fp16(65520.0f) == 0x7c00);  // the tie rounds to even: infinity
    CHECK(f32_to_fp16(INFINITY) == 0x7c00);
    CHECK(f32_to_fp16(-0.0f) == 0x8000);
    CHECK(f32_to_fp16(0x1p-24f) == 0x0001);
    CHECK(f32_to_fp16(0x1p-25f) == 0x0000);          // tie with zero: even
    CHECK(f32_to_fp16(0x1.8p-24f) == 0x0002);        // tie between 1 and 2 units: even
    CHECK(f32_to_fp16(0x1.0p-14f) == 0x0400);        // smallest normal
    CHECK(f32_to_fp16(1.0f + 0x1p-11f) == 0x3c00);   // tie: even
    CHECK(f32_to_fp16(1.0f + 0x1.8p-11f) == 0x3c01);
    CHECK(f32_to_fp16(NAN) == 0x7e00);
    CHECK(f32_to_fp16(-NAN) == 0xfe00);
    CHECK(bits(fp16_to_f32(0x3555)) == bits(0.333251953125f));
    CHECK(fp16_to_f32(0x0001) == 0x1p-24f);
    CHECK(std::isnan(fp16_to_f32(0x7c01)));
    CHECK((bits(fp16_to_f32(0x7c01)) & 0x400000u) != 0);  // quiet

    // Every half round-trips; every conversion agrees with the CPU's (F16C), NaNs included.
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_F16C)) {
        WARN("SKIPPED: the CPU has no F16C to compare the conversions with");
        return;
    }
    for (u32 h = 0; h < 65536; ++h) {
        const float f = fp16_to_f32(static_cast<u16>(h));
        if (bits(f) != bits(hardware_f32(static_cast<u16>(h))) || (!std::isnan(f) && f32_to_fp16(f) != h))
            FAIL_CHECK("half " << h);
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 2000000; ++i) {
        const u32 u = i < 1000000 ? rng() : (0x33000000u + rng() % 0x14900000u);  // all, then the half range
        const float f = from_bits(u);
        if (!std::isnan(f) && f32_to_fp16(f) != hardware_fp16(f))
            FAIL_CHECK("f32 bits " << u);
    }
}

TEST_CASE("halves: bf16 conversions round to nearest even and keep NaNs", "[formats][halves]")
{
    CHECK(f32_to_bf16(1.0f) == 0x3f80);
    CHECK(f32_to_bf16(from_bits(0x3f808000u)) == 0x3f80);  // tie: even
    CHECK(f32_to_bf16(from_bits(0x3f818000u)) == 0x3f82);  // tie: even (up)
    CHECK(f32_to_bf16(from_bits(0x3f808001u)) == 0x3f81);
    CHECK(f32_to_bf16(from_bits(0x7f7fffffu)) == 0x7f80);  // max float rounds to infinity
    CHECK(f32_to_bf16(from_bits(0x7f800001u)) == 0x7fc0);  // signalling NaN: quiet
    CHECK(bits(bf16_to_f32(0xc0a0)) == bits(-5.0f));
    for (u32 h = 0; h < 65536; ++h) {
        const float f = bf16_to_f32(static_cast<u16>(h));
        if (!std::isnan(f) && f32_to_bf16(f) != h)
            FAIL_CHECK("bf16 " << h);
    }
}

TEST_CASE("activation quantisers: ggml's reference results, computed by hand", "[formats][quantize]")
{
    SECTION("Q8_0 and Q8_1: d = amax / 127, q = roundf(x / d), halves away from zero")
    {
        float x[32] = { 127, 2.5f, -2.5f, 0.5f, -0.5f, 1.49f, -126.5f, 3 };  // amax 127: d = 1, id = 1
        BlockQ8_0 b;
        ref::quantize_q8_0(x, &b, 32);
        CHECK(b.d == 0x3c00);
        const int expected[8] = { 127, 3, -3, 1, -1, 1, -127, 3 };
        for (int i = 0; i < 8; ++i)
            CHECK(b.qs[i] == expected[i]);
        for (int i = 8; i < 32; ++i)
            CHECK(b.qs[i] == 0);
        BlockQ8_1 b1;
        ref::quantize_q8_1(x, &b1, 32);
        CHECK(b1.d == 0x3c00);
        CHECK(memcmp(b1.qs, b.qs, 32) == 0);
        CHECK(b1.s == f32_to_fp16(127 + 3 - 3 + 1 - 1 + 1 - 127 + 3));
        float zeros[32] = {};
        ref::quantize_q8_1(zeros, &b1, 32);
        CHECK((b1.d == 0 && b1.s == 0 && b1.qs[5] == 0));
        // amax 254: d = 2 (fp16 0x4000), id = 0.5: 5 -> 2.5 -> 3, -1 -> -0.5 -> -1.
        float y[32] = { 254, 5, -1, 3 };
        ref::quantize_q8_0(y, &b, 32);
        CHECK(b.d == 0x4000);
        CHECK((b.qs[0] == 127 && b.qs[1] == 3 && b.qs[2] == -1 && b.qs[3] == 2));
    }
    SECTION("Q8_K: iscale = -127 / max (the signed largest), q = round half even, bsums and their pairs")
    {
        std::vector<float> x(256, 0.0f);
        x[0] = 2.5f;
        x[1] = -2.5f;
        x[2] = 1.5f;
        x[3] = 0.5f;
        x[17] = -127.0f;  // max = -127: iscale = 1, d = 1
        x[18] = 127.0f;
        x[40] = 3.5f;
        BlockQ8_K b;
        ref::quantize_q8_k(x.data(), &b, 256);
        CHECK(b.d == 1.0f);
        CHECK((b.qs[0] == 2 && b.qs[1] == -2 && b.qs[2] == 2 && b.qs[3] == 0 && b.qs[17] == -127 && b.qs[18] == 127 && b.qs[40] == 4));
        CHECK(b.bsums[0] == 2);
        CHECK(b.bsums[1] == 0);
        CHECK(b.bsums[2] == 4);
        CHECK(b.bsum_pairs[0] == 2);  // values 0..31: 2 - 2 + 2 + 0 - 127 + 127
        CHECK(b.bsum_pairs[1] == 4);  // values 32..63: 4 (value 40)
        for (u32 j = 0; j < 8; ++j)
            CHECK(b.bsum_pairs[j] == b.bsums[2 * j] + b.bsums[2 * j + 1]);
        // qs_t: row m holds qword m of each even sub-block of 32 and qword m ^ 1 of each odd one
        // (value 17: sub-block 0, its qword 2, byte 1; value 40: sub-block 1, its qword 1, byte 0,
        // in row 0).
        CHECK((b.qs_t[0] == 2 && b.qs_t[1] == -2 && b.qs_t[128 + 1] == -127 && b.qs_t[128 + 2] == 127 && b.qs_t[8] == 4));
        for (u32 i = 0; i < 256; ++i) {
            const u32 sub_block = i / 32, qword = i % 32 / 8;
            CHECK(b.qs_t[64 * (sub_block % 2 ? qword ^ 1 : qword) + 8 * sub_block + i % 8] == b.qs[i]);
        }
        // max = +254: iscale = -0.5, d = -2; 5 -> -2.5 -> -2, -7 -> 3.5 -> 4, -256 would pass 127: capped.
        std::fill(x.begin(), x.end(), 0.0f);
        x[5] = 254.0f;
        x[6] = 5.0f;
        x[7] = -7.0f;
        ref::quantize_q8_k(x.data(), &b, 256);
        CHECK(b.d == -2.0f);
        CHECK((b.qs[5] == -127 && b.qs[6] == -2 && b.qs[7] == 4));
        CHECK(b.bsums[0] == -125);
        std::fill(x.begin(), x.end(), 0.0f);
        memset(&b, 0x55, sizeof(b));
        ref::quantize_q8_k(x.data(), &b, 256);
        CHECK(b.d == 0.0f);
        CHECK((b.qs[100] == 0 && b.bsums[15] == 0 && b.bsum_pairs[7] == 0 && b.padding[11] == 0));
    }
    SECTION("F16 and BF16 activations are the conversions")
    {
        const float x[3] = { 1.0f, 0.1f, -65520.0f };
        u16 h[3];
        ref::quantize_f16(x, h, 3);
        CHECK((h[0] == 0x3c00 && h[1] == 0x2e66 && h[2] == 0xfc00));
        ref::quantize_bf16(x, h, 3);
        CHECK((h[0] == 0x3f80 && h[1] == 0x3dcd && h[2] == 0xc780));
    }
}

TEST_CASE("weight quantisers: ggml's reference on hand-made blocks", "[formats][quantize]")
{
    // Q4_0: the largest magnitude is -8: d = 1, levels trunc(x + 8.5) capped at 15.
    float x[32];
    for (int i = 0; i < 32; ++i)
        x[i] = static_cast<float>(i % 16) - 8.0f;
    x[30] = 7.5f;
    BlockQ4_0 q4;
    ref::quantize_q4_0(x, &q4, 32);
    CHECK(q4.d == 0x3c00);
    for (int i = 0; i < 16; ++i) {
        const int lo = q4.qs[i] & 15, hi = q4.qs[i] >> 4;
        CHECK(lo == i);
        CHECK(hi == (i == 14 ? 15 : i));  // 7.5 + 8.5 = 16, capped
    }
    // Q4_1: min -8, max 7.5: d = 15.5 / 15, levels trunc((x + 8) / d + 0.5).
    BlockQ4_1 q41;
    ref::quantize_q4_1(x, &q41, 32);
    CHECK(q41.m == f32_to_fp16(-8.0f));
    CHECK(q41.d == f32_to_fp16(15.5f / 15.0f));
    CHECK((q41.qs[0] & 15) == 0);
    CHECK((q41.qs[14] >> 4) == 15);
    // Q5_0: largest magnitude -8 maps to level 0: d = 0.5, levels trunc(2x + 16.5): 7.5 -> 31.5 -> 31.
    BlockQ5_0 q5;
    ref::quantize_q5_0(x, &q5, 32);
    CHECK(q5.d == f32_to_fp16(0.5f));
    const auto v5 = dequantized(Format::Q5_0, &q5, 32);
    CHECK(v5[0] == -8.0f);
    CHECK(v5[1] == -7.0f);
    CHECK(v5[30] == 7.5f);
    CHECK(v5[31] == 7.0f);
    // A zero block: d = 0 / -8 = -0 and every level in the middle (Q4_0: 8).
    float zeros[32] = {};
    ref::quantize_q4_0(zeros, &q4, 32);
    CHECK(q4.d == 0x8000);
    CHECK(q4.qs[3] == 0x88);
}

TEST_CASE("weight quantisers: dequantise(quantise(x)) stays within each format's step", "[formats][quantize]")
{
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const u32 n = 1024;
    std::vector<float> x(n);
    struct Bound {
        Format f;
        float relative;  // of the block's largest magnitude
    };
    for (Bound b : { Bound { Format::F16, 1e-3f }, Bound { Format::BF16, 8e-3f }, Bound { Format::Q8_0, 0.01f },
             Bound { Format::Q4_0, 0.14f }, Bound { Format::Q4_1, 0.08f }, Bound { Format::Q5_0, 0.07f },
             Bound { Format::Q5_1, 0.04f }, Bound { Format::Q2_K, 0.6f }, Bound { Format::Q3_K, 0.3f },
             Bound { Format::Q4_K, 0.15f }, Bound { Format::Q5_K, 0.08f }, Bound { Format::Q6_K, 0.04f },
             Bound { Format::Q8_1, 0.01f }, Bound { Format::Q8_K, 0.01f } }) {
        const FormatInfo& f = format_info(b.f);
        INFO(f.name);
        for (int round = 0; round < 20; ++round) {
            for (float& v : x)
                v = normal(rng) * (round % 2 ? 0.01f : 3.0f);
            std::vector<u8> q(row_bytes(b.f, n).value());
            f.quantize_row(x.data(), q.data(), n);
            const auto back = dequantized(b.f, q.data(), n);
            const u32 bv = kl::max<u32>(f.block_values, 256);
            for (u32 s = 0; s < n; s += bv) {
                float amax = 0.0f, err = 0.0f;
                for (u32 i = s; i < s + bv; ++i) {
                    amax = std::max(amax, std::fabs(x[i]));
                    err = std::max(err, std::fabs(back[i] - x[i]));
                }
                if (err > b.relative * amax)
                    FAIL_CHECK("error " << err << " for amax " << amax);
            }
        }
    }
}
