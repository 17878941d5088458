// The reference kernels of the block formats: dequantisation against a decoder written
// here from ggml's loops (random and hand-made bytes), the matrix kernels against
// dequantise-then-multiply in double precision, and their summation order against an
// independent implementation of the order reference_blocks.h documents (bit for bit).
#include <catch2/catch.hpp>
#include <math.h>
#include <string.h>

#include <random>
#include <vector>

#include "microjit/blocks.h"
#include "microjit/formats.h"
#include "microjit/reference.h"
#include "microjit/reference_blocks.h"

using namespace mjit;

namespace {

constexpr Format weight_formats[] = { Format::F16, Format::BF16, Format::Q8_0, Format::Q4_0, Format::Q4_1, Format::Q5_0,
    Format::Q5_1, Format::Q2_K, Format::Q3_K, Format::Q4_K, Format::Q5_K, Format::Q6_K };

// ---- decoders written from ggml's dequantisation loops -----------------------------------

float h(u16 v) { return fp16_to_f32(v); }

void spec_legacy(Format f, const u8* block, float* y)
{
    const u16 d16 = static_cast<u16>(block[0] | block[1] << 8);
    const float d = h(d16);
    if (f == Format::Q8_0) {
        for (int j = 0; j < 32; ++j)
            y[j] = static_cast<float>(static_cast<i8>(block[2 + j])) * d;
        return;
    }
    const bool has_min = f == Format::Q4_1 || f == Format::Q5_1;
    const float m = has_min ? h(static_cast<u16>(block[2] | block[3] << 8)) : 0.0f;
    const bool five = f == Format::Q5_0 || f == Format::Q5_1;
    const u8* qh = block + (has_min ? 4 : 2);
    const u8* qs = qh + (five ? 4 : 0);
    u32 high = 0;
    if (five)
        memcpy(&high, qh, 4);
    const int offset = has_min ? 0 : (five ? 16 : 8);
    for (int j = 0; j < 16; ++j) {
        const int x0 = ((qs[j] & 0x0f) | (five ? ((high >> j) & 1) << 4 : 0)) - offset;
        const int x1 = ((qs[j] >> 4) | (five ? ((high >> (j + 16)) & 1) << 4 : 0)) - offset;
        y[j] = has_min ? static_cast<float>(x0) * d + m : static_cast<float>(x0) * d;
        y[j + 16] = has_min ? static_cast<float>(x1) * d + m : static_cast<float>(x1) * d;
    }
}

void spec_q2_k(const BlockQ2_K& b, float* y)
{
    const float d = h(b.d), min = h(b.dmin);
    const u8* q = b.qs;
    int is = 0;
    for (int n = 0; n < 256; n += 128, q += 32) {
        for (int shift = 0; shift < 8; shift += 2) {
            for (int half = 0; half < 2; ++half) {
                const u8 sc = b.scales[is++];
                const float dl = d * static_cast<float>(sc & 0xf), ml = min * static_cast<float>(sc >> 4);
                for (int l = 0; l < 16; ++l)
                    *y++ = dl * static_cast<float>((q[l + 16 * half] >> shift) & 3) - ml;
            }
        }
    }
}

void spec_q3_k(const BlockQ3_K& b, float* y)
{
    // The 16 scales: low nibbles from bytes 0..7, high 2 bits from bytes 8..11.
    i8 scales[16];
    for (int j = 0; j < 16; ++j) {
        const int low = j < 8 ? b.scales[j] & 0xf : b.scales[j - 8] >> 4;
        const int high = (b.scales[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
        scales[j] = static_cast<i8>((low | high << 4) - 32);
    }
    const float d = h(b.d);
    const u8* q = b.qs;
    u8 m = 1;
    int is = 0;
    for (int n = 0; n < 256; n += 128, q += 32) {
        for (int shift = 0; shift < 8; shift += 2, m = static_cast<u8>(m << 1)) {
            for (int half = 0; half < 2; ++half) {
                const float dl = d * static_cast<float>(scales[is++]);
                for (int l = 0; l < 16; ++l) {
                    const int low = (q[l + 16 * half] >> shift) & 3;
                    *y++ = dl * static_cast<float>(low - ((b.hmask[l + 16 * half] & m) ? 0 : 4));
                }
            }
        }
    }
}

template<typename Block>
void spec_q45_k(const Block& b, float* y, const u8* qh)
{
    const float d = h(b.d), min = h(b.dmin);
    const u8* q = b.qs;
    for (int j = 0, is = 0; j < 256; j += 64, q += 32, is += 2) {
        for (int half = 0; half < 2; ++half) {
            u8 sc, m;
            k4_scale_min(b.scales, is + half, sc, m);
            const float dl = d * static_cast<float>(sc), ml = min * static_cast<float>(m);
            for (int l = 0; l < 32; ++l) {
                int v = half ? q[l] >> 4 : q[l] & 0xf;
                if (qh && (qh[l] >> (is + half)) & 1)
                    v += 16;
                *y++ = dl * static_cast<float>(v) - ml;
            }
        }
    }
}

void spec_q6_k(const BlockQ6_K& b, float* y)
{
    const float d = h(b.d);
    const u8* ql = b.ql;
    const u8* qh = b.qh;
    const i8* sc = b.scales;
    for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
        for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = ((ql[l] & 0xf) | ((qh[l] >> 0) & 3) << 4) - 32;
            const int q2 = ((ql[l + 32] & 0xf) | ((qh[l] >> 2) & 3) << 4) - 32;
            const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
            const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
            y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
            y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
            y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
            y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
        }
    }
}

// Decodes one block of a block format with the decoders above.
void spec_decode(Format f, const u8* block, float* y)
{
    switch (f) {
    case Format::Q2_K: spec_q2_k(*reinterpret_cast<const BlockQ2_K*>(block), y); break;
    case Format::Q3_K: spec_q3_k(*reinterpret_cast<const BlockQ3_K*>(block), y); break;
    case Format::Q4_K: spec_q45_k(*reinterpret_cast<const BlockQ4_K*>(block), y, nullptr); break;
    case Format::Q5_K: {
        const auto& b = *reinterpret_cast<const BlockQ5_K*>(block);
        spec_q45_k(b, y, b.qh);
        break;
    }
    case Format::Q6_K: spec_q6_k(*reinterpret_cast<const BlockQ6_K*>(block), y); break;
    default: spec_legacy(f, block, y); break;
    }
}

// Random bytes with every fp16 field a sane finite value (NaN scales are not interesting).
std::vector<u8> random_blocks(Format f, u32 blocks, std::mt19937& rng)
{
    const FormatInfo& info = format_info(f);
    std::vector<u8> bytes(static_cast<size_t>(blocks) * info.block_bytes);
    for (u8& b : bytes)
        b = static_cast<u8>(rng());
    auto set_half = [&](u8* p) {
        const u16 v = f32_to_fp16(std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng));
        memcpy(p, &v, 2);
    };
    for (u32 k = 0; k < blocks; ++k) {
        u8* b = bytes.data() + static_cast<size_t>(k) * info.block_bytes;
        switch (f) {
        case Format::Q2_K: set_half(b + 80); set_half(b + 82); break;
        case Format::Q3_K: set_half(b + 108); break;
        case Format::Q6_K: set_half(b + 208); break;
        case Format::Q4_K: case Format::Q5_K: case Format::Q4_1: case Format::Q5_1: set_half(b); set_half(b + 2); break;
        default: set_half(b); break;
        }
    }
    return bytes;
}

bool same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0; }

}

TEST_CASE("block formats: dequantisation matches the format's definition on random bytes", "[formats][dequantize]")
{
    std::mt19937 rng(5);
    for (Format f : { Format::Q8_0, Format::Q4_0, Format::Q4_1, Format::Q5_0, Format::Q5_1, Format::Q2_K, Format::Q3_K,
             Format::Q4_K, Format::Q5_K, Format::Q6_K }) {
        const FormatInfo& info = format_info(f);
        INFO(info.name);
        const u32 blocks = 40;
        const auto bytes = random_blocks(f, blocks, rng);
        std::vector<float> ours(blocks * info.block_values), spec(ours.size());
        info.dequantize_row(bytes.data(), ours.data(), ours.size());
        for (u32 k = 0; k < blocks; ++k)
            spec_decode(f, bytes.data() + static_cast<size_t>(k) * info.block_bytes, spec.data() + k * info.block_values);
        for (size_t i = 0; i < ours.size(); ++i)
            if (!same_bits(ours[i], spec[i]))
                FAIL_CHECK("value " << i << ": " << ours[i] << " vs " << spec[i]);
    }
}

TEST_CASE("block formats: hand-made blocks decode to known values", "[formats][dequantize]")
{
    // Q4_0, d = 0.5: byte 3 = 0xa1 holds value 3 (1 - 8) and value 19 (10 - 8).
    BlockQ4_0 q4 {};
    q4.d = 0x3800;
    memset(q4.qs, 0x88, 16);
    q4.qs[3] = 0xa1;
    float y[256];
    ref::dequantize_q4_0(&q4, y, 32);
    CHECK((y[3] == -3.5f && y[19] == 1.0f && y[0] == 0.0f && y[31] == 0.0f));
    // Q5_1, d = 1, m = -16: value 20 = nibble 4 (high half of byte 4) + fifth bit 20.
    BlockQ5_1 q5 {};
    q5.d = 0x3c00;
    q5.m = f32_to_fp16(-16.0f);
    q5.qs[4] = 0x40;
    q5.qh[2] = 0x10;  // bit 20
    ref::dequantize_q5_1(&q5, y, 32);
    CHECK((y[20] == 4.0f && y[4] == -16.0f && y[0] == -16.0f));
    // Q4_K, d = 1, dmin = 0.5: sub-block 5 (values 160..191) has scale 2 + 16 * 1 = 18 and
    // min 3: scale low nibble in byte 9, top bits in byte 1; min low nibble in byte 9's high half.
    BlockQ4_K k4 {};
    k4.d = 0x3c00;
    k4.dmin = 0x3800;
    k4.scales[9] = 0x32;
    k4.scales[1] = 0x40;
    k4.qs[2 * 32 + 7] = 0x50;  // value 64*2 + 32 + 7 = 167: level 5
    ref::dequantize_q4_k(&k4, y, 256);
    CHECK(y[167] == 18.0f * 5 - 1.5f);
    CHECK(y[166] == -1.5f);
    CHECK(y[0] == 0.0f);
    // Q6_K, d = 0.25: value 200 = 128 + 64 + 8 (part 2): low nibble = high half of ql[64 + 8],
    // high bits at bit 4 of qh[32 + 8]; scale index 200 / 16 = 12.
    BlockQ6_K k6 {};
    k6.d = f32_to_fp16(0.25f);
    memset(k6.ql, 0, sizeof(k6.ql));
    k6.ql[72] = 0x70;
    k6.qh[40] = 0x20;  // high bits 2 -> level 7 + 32 = 39 -> 7
    k6.scales[12] = -4;
    ref::dequantize_q6_k(&k6, y, 256);
    CHECK(y[200] == 0.25f * -4 * 7);
    CHECK(y[201] == 32.0f);  // level 0 - 32, same sub-block
    CHECK(y[0] == 0.0f);     // scale 0
}

namespace {

struct Problem {
    Format format;
    u32 n, d, t;
    std::vector<u8> w, x;        // weight rows, activation rows in the activation format
    std::vector<float> wf, xf;   // both dequantised
};

Problem make_problem(Format f, u32 n, u32 d, u32 t, std::mt19937& rng)
{
    const FormatInfo& info = format_info(f);
    const FormatInfo& act = format_info(info.activation);
    Problem p { f, n, d, t, {}, {}, {}, {} };
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> values(static_cast<size_t>(n) * kl::max(d, t));
    for (float& v : values)
        v = normal(rng);
    const u64 wrow = row_bytes(f, n).value(), xrow = row_bytes(info.activation, n).value();
    p.w.resize(wrow * d);
    p.x.resize(xrow * t);
    p.wf.resize(static_cast<size_t>(n) * d);
    p.xf.resize(static_cast<size_t>(n) * t);
    for (u32 r = 0; r < d; ++r) {
        info.quantize_row(values.data() + static_cast<size_t>(r) * n, p.w.data() + r * wrow, n);
        info.dequantize_row(p.w.data() + r * wrow, p.wf.data() + static_cast<size_t>(r) * n, n);
    }
    for (float& v : values)
        v = normal(rng) * 0.5f;
    for (u32 k = 0; k < t; ++k) {
        act.quantize_row(values.data() + static_cast<size_t>(k) * n, p.x.data() + k * xrow, n);
        act.dequantize_row(p.x.data() + k * xrow, p.xf.data() + static_cast<size_t>(k) * n, n);
    }
    return p;
}

std::vector<float> run(const Problem& p, u64 row_begin, u64 row_end)
{
    std::vector<float> out(static_cast<size_t>(p.d) * p.t, -7.0f);
    KernelArgs a {};
    a.out = out.data();
    a.w = p.w.data();
    a.x = p.x.data();
    a.row_begin = row_begin;
    a.row_end = row_end;
    a.n = p.n;
    a.d = p.d;
    a.t = p.t;
    format_info(p.format).reference(&a);
    return out;
}

// The documented order (reference_blocks.h), computed from integers recovered with the
// spec decoders: a copy of the block with d = 1 and no min gives scale * q exactly.
float documented_dot(const Problem& p, u32 row, u32 tok)
{
    const FormatInfo& info = format_info(p.format);
    const FormatInfo& act = format_info(info.activation);
    const u8* w = p.w.data() + row * row_bytes(p.format, p.n).value();
    const u8* x = p.x.data() + tok * row_bytes(info.activation, p.n).value();
    float sum = 0.0f;
    for (u32 b = 0; b < p.n / info.block_values; ++b) {
        std::vector<u8> block(w + b * info.block_bytes, w + (b + 1) * info.block_bytes);
        const u8* xb = x + b * act.block_bytes;
        // Field offsets of d and the min field per format.
        u32 d_at = 0, min_at = 2;
        switch (p.format) {
        case Format::Q2_K: d_at = 80; min_at = 82; break;
        case Format::Q3_K: d_at = 108; min_at = ~0u; break;
        case Format::Q6_K: d_at = 208; min_at = ~0u; break;
        case Format::Q4_0: case Format::Q5_0: case Format::Q8_0: min_at = ~0u; break;
        default: break;
        }
        u16 d_w, min_w = 0;
        memcpy(&d_w, &block[d_at], 2);
        if (min_at != ~0u)
            memcpy(&min_w, &block[min_at], 2);
        const u16 one = 0x3c00, zero = 0;
        memcpy(&block[d_at], &one, 2);
        if (min_at != ~0u)
            memcpy(&block[min_at], &zero, 2);
        float ints[256];
        spec_decode(p.format, block.data(), ints);
        i64 isum = 0, imin = 0;
        if (info.block_values == 256) {
            const auto& xk = *reinterpret_cast<const BlockQ8_K*>(xb);
            for (u32 i = 0; i < 256; ++i)
                isum += static_cast<i64>(ints[i]) * xk.qs[i];
            if (min_at != ~0u) {
                memcpy(&block[d_at], &zero, 2);
                memcpy(&block[min_at], &one, 2);
                spec_decode(p.format, block.data(), ints);  // -min of each value's sub-block
                for (u32 i = 0; i < 256; ++i)
                    imin += static_cast<i64>(-ints[i]) * xk.qs[i];
            }
            const float d = h(d_w) * xk.d, dmin = h(min_w) * xk.d;
            const float scaled = d * static_cast<float>(isum);
            sum = sum + (min_at != ~0u ? scaled - dmin * static_cast<float>(imin) : scaled);
            continue;
        }
        const i8* xq = reinterpret_cast<const i8*>(xb + (info.activation == Format::Q8_1 ? 4 : 2));
        for (u32 i = 0; i < 32; ++i)
            isum += static_cast<i64>(ints[i]) * xq[i];
        u16 d_x16, s_x16;
        memcpy(&d_x16, xb, 2);
        memcpy(&s_x16, xb + 2, 2);
        const float dx = h(d_x16);
        float term;
        if (p.format == Format::Q4_0)
            term = static_cast<float>(isum) * h(d_w) * dx;
        else if (min_at != ~0u)
            term = static_cast<float>(isum) * (h(d_w) * dx) + h(min_w) * h(s_x16);
        else
            term = static_cast<float>(isum) * (h(d_w) * dx);
        sum = sum + term;
    }
    return sum;
}

}

TEST_CASE("block formats: reference kernels follow the documented order bit for bit", "[formats][reference]")
{
    std::mt19937 rng(9);
    for (Format f : weight_formats) {
        if (f == Format::F16 || f == Format::BF16)
            continue;
        const FormatInfo& info = format_info(f);
        INFO(info.name);
        for (u32 blocks : { 1u, 2u, 7u }) {
            const Problem p = make_problem(f, blocks * info.block_values, 5, 2, rng);
            const auto out = run(p, 0, p.d);
            for (u32 tok = 0; tok < p.t; ++tok)
                for (u32 row = 0; row < p.d; ++row)
                    if (!same_bits(out[tok * p.d + row], documented_dot(p, row, tok)))
                        FAIL_CHECK("row " << row << " token " << tok << ": " << out[tok * p.d + row] << " vs "
                                          << documented_dot(p, row, tok));
        }
    }
}

TEST_CASE("block formats: reference kernels equal dequantise-then-multiply within rounding", "[formats][reference]")
{
    std::mt19937 rng(13);
    for (Format f : weight_formats) {
        const FormatInfo& info = format_info(f);
        INFO(info.name);
        const u32 n = 1024, d = 9, t = 3;
        const Problem p = make_problem(f, n, d, t, rng);
        const auto out = run(p, 0, d);
        for (u32 tok = 0; tok < t; ++tok) {
            for (u32 row = 0; row < d; ++row) {
                double exact = 0, magnitude = 0;
                for (u32 j = 0; j < n; ++j) {
                    const double prod = static_cast<double>(p.wf[row * n + j]) * p.xf[tok * n + j];
                    exact += prod;
                    magnitude += fabs(prod);
                }
                // Q4_1 / Q5_1 take the activations' sum from Q8_1's s = fp16(d * sum q),
                // made with the fp32 d: off by up to 2^-10 of it, times the weights' min.
                double slack = 0;
                if (info.activation == Format::Q8_1) {
                    for (u32 b = 0; b < n / 32; ++b) {
                        u16 m, s;  // both at byte 2 of their blocks
                        memcpy(&m, p.w.data() + row * row_bytes(f, n).value() + b * info.block_bytes + 2, 2);
                        memcpy(&s, p.x.data() + tok * row_bytes(Format::Q8_1, n).value() + b * sizeof(BlockQ8_1) + 2, 2);
                        slack += fabs(h(m) * h(s)) * 0x1p-10;
                    }
                }
                if (fabs(out[tok * d + row] - exact) > 1e-5 * magnitude + slack)
                    FAIL_CHECK("row " << row << " token " << tok << ": " << out[tok * d + row] << " vs " << exact);
            }
        }
    }
}

TEST_CASE("block formats: F16 and BF16 kernels are dot_f32 over the converted values", "[formats][reference]")
{
    std::mt19937 rng(17);
    for (Format f : { Format::F16, Format::BF16 }) {
        for (u32 n : { 1u, 15u, 16u, 17u, 100u, 288u }) {
            const Problem p = make_problem(f, n, 6, 2, rng);
            const auto out = run(p, 0, p.d);
            std::vector<float> expected(out.size());
            KernelArgs a {};
            a.out = expected.data();
            a.w = p.wf.data();
            a.x = p.xf.data();
            a.row_begin = 0;
            a.row_end = p.d;
            a.n = n;
            a.d = p.d;
            a.t = p.t;
            ref::matmul_f32(&a);
            CHECK(memcmp(out.data(), expected.data(), out.size() * 4) == 0);
        }
    }
}

TEST_CASE("block formats: a row range writes those rows only, token by token", "[formats][reference]")
{
    std::mt19937 rng(19);
    for (Format f : weight_formats) {
        const FormatInfo& info = format_info(f);
        INFO(info.name);
        const Problem p = make_problem(f, 2 * kl::max<u32>(info.block_values, 32), 7, 3, rng);
        const auto all = run(p, 0, p.d);
        const auto part = run(p, 2, 5);
        for (u32 tok = 0; tok < p.t; ++tok)
            for (u32 row = 0; row < p.d; ++row) {
                const float v = part[tok * p.d + row];
                if (row >= 2 && row < 5)
                    CHECK(same_bits(v, all[tok * p.d + row]));
                else
                    CHECK(v == -7.0f);
            }
    }
}
