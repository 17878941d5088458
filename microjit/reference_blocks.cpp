// Scalar reference kernels of the block formats (see reference_blocks.h for the order).
//
// Each format has one "unpack" that turns a block into its integers (the values as
// signed ints, with the format's offsets applied, and the per-sub-block scales and mins);
// dequantisation and the dot products are both written over those integers, so the two
// cannot disagree about where a bit lives.
#include "microjit/reference_blocks.h"

#include <string.h>

#include "microjit/blocks.h"
#include "microjit/formats.h"
#include "microjit/reference.h"

// Every product rounded before it is added (reference_blocks.h); the Makefile passes
// -ffp-contract=off as well.
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace mjit::ref {

namespace {

// ---- legacy blocks: 32 values, one scale (and a min for _1) ----------------------------

u32 qh_bits(const u8* qh)
{
    u32 bits;
    memcpy(&bits, qh, sizeof(bits));
    return bits;
}

// Value i < 16 is the low nibble of qs[i], value 16 + i the high nibble.
void unpack_nibbles(const u8* qs, i8* q, i32 offset)
{
    for (u32 i = 0; i < 16; ++i) {
        q[i] = static_cast<i8>((qs[i] & 0xf) - offset);
        q[i + 16] = static_cast<i8>((qs[i] >> 4) - offset);
    }
}

// The same with the fifth bit of value i taken from bit i of qh.
void unpack_nibbles_5(const u8* qs, const u8* qh, i8* q, i32 offset)
{
    const u32 high = qh_bits(qh);
    for (u32 i = 0; i < 16; ++i) {
        q[i] = static_cast<i8>(((qs[i] & 0xf) | (((high >> i) & 1) << 4)) - offset);
        q[i + 16] = static_cast<i8>(((qs[i] >> 4) | (((high >> (i + 16)) & 1) << 4)) - offset);
    }
}

void unpack(const BlockQ4_0& b, i8* q) { unpack_nibbles(b.qs, q, 8); }
void unpack(const BlockQ4_1& b, i8* q) { unpack_nibbles(b.qs, q, 0); }
void unpack(const BlockQ5_0& b, i8* q) { unpack_nibbles_5(b.qs, b.qh, q, 16); }
void unpack(const BlockQ5_1& b, i8* q) { unpack_nibbles_5(b.qs, b.qh, q, 0); }

i32 dot32(const i8* q, const i8* x)
{
    i32 sum = 0;
    for (u32 i = 0; i < 32; ++i)
        sum += static_cast<i32>(q[i]) * static_cast<i32>(x[i]);
    return sum;
}

// Blocks with a min (Q4_1, Q5_1: m; Q2_K, Q4_K, Q5_K: dmin).
template<typename Block>
constexpr bool has_m = requires(const Block& b) { b.m; };
template<typename Block>
constexpr bool has_dmin = requires(const Block& b) { b.dmin; };

// Dequantises n values of scale-only (Q4_0, Q5_0) or scale-and-min (Q4_1, Q5_1) blocks:
// fl(q * d), or fl(fl(q * d) + m).
template<typename Block>
void dequantize_legacy(const void* blocks, float* out, u64 n)
{
    const auto* b = static_cast<const Block*>(blocks);
    for (u64 k = 0; k < n / qk_legacy; ++k, out += qk_legacy) {
        i8 q[32];
        unpack(b[k], q);
        const float d = fp16_to_f32(b[k].d);
        for (u32 i = 0; i < 32; ++i) {
            const float v = static_cast<float>(q[i]) * d;
            if constexpr (has_m<Block>)
                out[i] = v + fp16_to_f32(b[k].m);
            else
                out[i] = v;
        }
    }
}

// ---- K blocks: 256 values in 16 sub-blocks of 16 or 8 of 32 ---------------------------

struct KInts {
    i8 q[256];
    i32 scale[16];  // per sub-block, as the dot product uses it (Q3_K: already minus 32)
    i32 min[16];    // per sub-block; all 0 for Q3_K and Q6_K
    u32 sub;        // values per sub-block: 16 or 32
};

// Value v = 128h + 32j + 16k + l sits in bits 2j of qs[32h + 16k + l] (Q2_K, Q3_K).
u8 two_bits(const u8* qs, u32 v)
{
    const u32 h = v / 128, j = (v / 32) % 4, rest = v % 32;
    return (qs[32 * h + rest] >> (2 * j)) & 3;
}

void unpack(const BlockQ2_K& b, KInts& k)
{
    k.sub = 16;
    for (u32 v = 0; v < 256; ++v)
        k.q[v] = static_cast<i8>(two_bits(b.qs, v));
    for (u32 j = 0; j < 16; ++j) {
        k.scale[j] = b.scales[j] & 0xf;
        k.min[j] = b.scales[j] >> 4;
    }
}

void unpack(const BlockQ3_K& b, KInts& k)
{
    k.sub = 16;
    // The high bit of value v = 128h + 32j + r is bit 4h + j of hmask[r]; clear means -4.
    for (u32 v = 0; v < 256; ++v) {
        const u32 bit = 4 * (v / 128) + (v / 32) % 4;
        const bool high = (b.hmask[v % 32] >> bit) & 1;
        k.q[v] = static_cast<i8>(two_bits(b.qs, v) - (high ? 0 : 4));
    }
    for (u32 j = 0; j < 16; ++j) {
        k.scale[j] = static_cast<i32>(q3k_scale(b.scales, j)) - 32;
        k.min[j] = 0;
    }
}

// Q4_K / Q5_K: value v sits in nibble (v / 32) % 2 of qs[32 * (v / 64) + v % 32]; Q5_K's
// fifth bit is bit v / 32 of qh[v % 32].
u8 nibble_k(const u8* qs, u32 v)
{
    const u8 byte = qs[32 * (v / 64) + v % 32];
    return (v / 32) % 2 ? byte >> 4 : byte & 0xf;
}

void unpack_scales_k4(const u8* scales, KInts& k)
{
    k.sub = 32;
    for (u32 j = 0; j < 8; ++j) {
        u8 scale, min;
        k4_scale_min(scales, j, scale, min);
        k.scale[j] = scale;
        k.min[j] = min;
    }
}

void unpack(const BlockQ4_K& b, KInts& k)
{
    for (u32 v = 0; v < 256; ++v)
        k.q[v] = static_cast<i8>(nibble_k(b.qs, v));
    unpack_scales_k4(b.scales, k);
}

void unpack(const BlockQ5_K& b, KInts& k)
{
    for (u32 v = 0; v < 256; ++v)
        k.q[v] = static_cast<i8>(nibble_k(b.qs, v) | (((b.qh[v % 32] >> (v / 32)) & 1) << 4));
    unpack_scales_k4(b.scales, k);
}

// Q6_K: value v = 128h + 32k + l: low 4 bits in nibble k / 2 of ql[64h + 32(k % 2) + l],
// high 2 bits at bit 2k of qh[32h + l]; minus 32.
void unpack(const BlockQ6_K& b, KInts& k)
{
    k.sub = 16;
    for (u32 v = 0; v < 256; ++v) {
        const u32 h = v / 128, part = (v / 32) % 4, l = v % 32;
        const u8 low_byte = b.ql[64 * h + 32 * (part % 2) + l];
        const u32 low = part / 2 ? low_byte >> 4 : low_byte & 0xf;
        const u32 high = (b.qh[32 * h + l] >> (2 * part)) & 3;
        k.q[v] = static_cast<i8>(static_cast<i32>(low | (high << 4)) - 32);
    }
    for (u32 j = 0; j < 16; ++j) {
        k.scale[j] = b.scales[j];
        k.min[j] = 0;
    }
}

// Dequantises K blocks: per sub-block dl = fl(d * scale), ml = fl(dmin * min), and each
// value fl(fl(dl * q) - ml) (or fl(dl * q) without mins), as ggml writes it.
template<typename Block>
void dequantize_k(const void* blocks, float* out, u64 n)
{
    const auto* b = static_cast<const Block*>(blocks);
    for (u64 i = 0; i < n / qk_k; ++i, out += qk_k) {
        KInts k;
        unpack(b[i], k);
        const float d = fp16_to_f32(b[i].d);
        for (u32 v = 0; v < 256; ++v) {
            const u32 j = v / k.sub;
            const float dl = d * static_cast<float>(k.scale[j]);
            const float value = dl * static_cast<float>(k.q[v]);
            if constexpr (has_dmin<Block>)
                out[v] = value - fp16_to_f32(b[i].dmin) * static_cast<float>(k.min[j]);
            else
                out[v] = value;
        }
    }
}

// The term of one K block against its Q8_K activation block (reference_blocks.h).
template<typename Block>
float k_term(const Block& w, const BlockQ8_K& x)
{
    KInts k;
    unpack(w, k);
    i32 isum = 0, imin = 0;
    for (u32 j = 0; j < 256 / k.sub; ++j) {
        i32 dot = 0;
        for (u32 i = j * k.sub; i < (j + 1) * k.sub; ++i)
            dot += static_cast<i32>(k.q[i]) * static_cast<i32>(x.qs[i]);
        isum += k.scale[j] * dot;
        i32 bsum = 0;
        for (u32 s = j * k.sub / 16; s < (j + 1) * k.sub / 16; ++s)
            bsum += x.bsums[s];
        imin += k.min[j] * bsum;
    }
    const float d = fp16_to_f32(w.d) * x.d;
    const float scaled = d * static_cast<float>(isum);
    if constexpr (has_dmin<Block>) {
        const float dmin = fp16_to_f32(w.dmin) * x.d;
        return scaled - dmin * static_cast<float>(imin);
    } else {
        return scaled;
    }
}

// The block loop every block format shares: per output, sum = +0 and the block terms
// added in order.
template<typename WBlock, typename XBlock, typename Term>
void matmul_blocks(const KernelArgs* a, u32 block_values, Term term)
{
    const u64 blocks = a->n / block_values;
    const auto* w = static_cast<const WBlock*>(a->w);
    const auto* x = static_cast<const XBlock*>(a->x);
    for (u32 tok = 0; tok < a->t; ++tok) {
        const XBlock* xt = x + tok * blocks;
        float* out = static_cast<float*>(a->out) + static_cast<u64>(tok) * a->d;
        for (u64 row = a->row_begin; row < a->row_end; ++row) {
            const WBlock* wr = w + row * blocks;
            float sum = 0.0f;
            for (u64 b = 0; b < blocks; ++b)
                sum = sum + term(wr[b], xt[b]);
            out[row] = sum;
        }
    }
}

// dot_f32's 16-lane order (reference.h) over products made by `product(j)`.
template<typename Product>
float dot_lanes16(u32 n, Product product)
{
    float acc[16] = {};
    u32 j = 0;
    for (; j + 16 <= n; j += 16) {
        for (u32 l = 0; l < 16; ++l)
            acc[l] = acc[l] + product(j + l);
    }
    for (u32 l = 0; j + l < n; ++l)
        acc[l] = acc[l] + product(j + l);
    float s8[8], s4[4];
    for (u32 k = 0; k < 8; ++k)
        s8[k] = acc[k] + acc[k + 8];
    for (u32 k = 0; k < 4; ++k)
        s4[k] = s8[k] + s8[k + 4];
    return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

template<float (*Convert)(u16)>
void matmul_halves(const KernelArgs* a)
{
    const u16* w = static_cast<const u16*>(a->w);
    const u16* x = static_cast<const u16*>(a->x);
    for (u32 tok = 0; tok < a->t; ++tok) {
        const u16* xt = x + static_cast<u64>(tok) * a->n;
        float* out = static_cast<float*>(a->out) + static_cast<u64>(tok) * a->d;
        for (u64 row = a->row_begin; row < a->row_end; ++row) {
            const u16* wr = w + row * a->n;
            out[row] = dot_lanes16(a->n, [&](u32 j) { return Convert(wr[j]) * Convert(xt[j]); });
        }
    }
}

}

// ---- dequantisation ---------------------------------------------------------------------

void dequantize_f32(const void* values, float* out, u64 n)
{
    memcpy(out, values, n * sizeof(float));
}

void dequantize_f16(const void* blocks, float* out, u64 n)
{
    const u16* h = static_cast<const u16*>(blocks);
    for (u64 i = 0; i < n; ++i)
        out[i] = fp16_to_f32(h[i]);
}

void dequantize_bf16(const void* blocks, float* out, u64 n)
{
    const u16* h = static_cast<const u16*>(blocks);
    for (u64 i = 0; i < n; ++i)
        out[i] = bf16_to_f32(h[i]);
}

void dequantize_q8_0(const void* blocks, float* out, u64 n)
{
    const auto* b = static_cast<const BlockQ8_0*>(blocks);
    for (u64 k = 0; k < n / qk_legacy; ++k, out += qk_legacy) {
        const float d = fp16_to_f32(b[k].d);
        for (u32 i = 0; i < 32; ++i)
            out[i] = static_cast<float>(b[k].qs[i]) * d;
    }
}

void dequantize_q8_1(const void* blocks, float* out, u64 n)
{
    const auto* b = static_cast<const BlockQ8_1*>(blocks);
    for (u64 k = 0; k < n / qk_legacy; ++k, out += qk_legacy) {
        const float d = fp16_to_f32(b[k].d);
        for (u32 i = 0; i < 32; ++i)
            out[i] = static_cast<float>(b[k].qs[i]) * d;
    }
}

void dequantize_q8_k(const void* blocks, float* out, u64 n)
{
    const auto* b = static_cast<const BlockQ8_K*>(blocks);
    for (u64 k = 0; k < n / qk_k; ++k, out += qk_k) {
        for (u32 i = 0; i < 256; ++i)
            out[i] = b[k].d * static_cast<float>(b[k].qs[i]);
    }
}

void dequantize_q4_0(const void* b, float* out, u64 n) { dequantize_legacy<BlockQ4_0>(b, out, n); }
void dequantize_q4_1(const void* b, float* out, u64 n) { dequantize_legacy<BlockQ4_1>(b, out, n); }
void dequantize_q5_0(const void* b, float* out, u64 n) { dequantize_legacy<BlockQ5_0>(b, out, n); }
void dequantize_q5_1(const void* b, float* out, u64 n) { dequantize_legacy<BlockQ5_1>(b, out, n); }

void dequantize_q2_k(const void* b, float* out, u64 n) { dequantize_k<BlockQ2_K>(b, out, n); }
void dequantize_q3_k(const void* b, float* out, u64 n) { dequantize_k<BlockQ3_K>(b, out, n); }
void dequantize_q4_k(const void* b, float* out, u64 n) { dequantize_k<BlockQ4_K>(b, out, n); }
void dequantize_q5_k(const void* b, float* out, u64 n) { dequantize_k<BlockQ5_K>(b, out, n); }
void dequantize_q6_k(const void* b, float* out, u64 n) { dequantize_k<BlockQ6_K>(b, out, n); }

// ---- reference matrix kernels -------------------------------------------------------------

void matmul_f16(const KernelArgs* a) { matmul_halves<fp16_to_f32>(a); }
void matmul_bf16(const KernelArgs* a) { matmul_halves<bf16_to_f32>(a); }

void matmul_q8_0(const KernelArgs* a)
{
    matmul_blocks<BlockQ8_0, BlockQ8_0>(a, qk_legacy, [](const BlockQ8_0& w, const BlockQ8_0& x) {
        const float d = fp16_to_f32(w.d) * fp16_to_f32(x.d);
        return static_cast<float>(dot32(w.qs, x.qs)) * d;
    });
}

void matmul_q4_0(const KernelArgs* a)
{
    matmul_blocks<BlockQ4_0, BlockQ8_0>(a, qk_legacy, [](const BlockQ4_0& w, const BlockQ8_0& x) {
        i8 q[32];
        unpack(w, q);
        const float scaled = static_cast<float>(dot32(q, x.qs)) * fp16_to_f32(w.d);
        return scaled * fp16_to_f32(x.d);
    });
}

void matmul_q5_0(const KernelArgs* a)
{
    matmul_blocks<BlockQ5_0, BlockQ8_0>(a, qk_legacy, [](const BlockQ5_0& w, const BlockQ8_0& x) {
        i8 q[32];
        unpack(w, q);
        const float d = fp16_to_f32(w.d) * fp16_to_f32(x.d);
        return static_cast<float>(dot32(q, x.qs)) * d;
    });
}

// Q4_1 and Q5_1: the scaled sum plus the block's min times the activations' sum.
template<typename Block>
float min_block_term(const Block& w, const BlockQ8_1& x)
{
    i8 q[32];
    unpack(w, q);
    const float d = fp16_to_f32(w.d) * fp16_to_f32(x.d);
    const float scaled = static_cast<float>(dot32(q, x.qs)) * d;
    const float offset = fp16_to_f32(w.m) * fp16_to_f32(x.s);
    return scaled + offset;
}

void matmul_q4_1(const KernelArgs* a) { matmul_blocks<BlockQ4_1, BlockQ8_1>(a, qk_legacy, min_block_term<BlockQ4_1>); }
void matmul_q5_1(const KernelArgs* a) { matmul_blocks<BlockQ5_1, BlockQ8_1>(a, qk_legacy, min_block_term<BlockQ5_1>); }

void matmul_q2_k(const KernelArgs* a) { matmul_blocks<BlockQ2_K, BlockQ8_K>(a, qk_k, k_term<BlockQ2_K>); }
void matmul_q3_k(const KernelArgs* a) { matmul_blocks<BlockQ3_K, BlockQ8_K>(a, qk_k, k_term<BlockQ3_K>); }
void matmul_q4_k(const KernelArgs* a) { matmul_blocks<BlockQ4_K, BlockQ8_K>(a, qk_k, k_term<BlockQ4_K>); }
void matmul_q5_k(const KernelArgs* a) { matmul_blocks<BlockQ5_K, BlockQ8_K>(a, qk_k, k_term<BlockQ5_K>); }
void matmul_q6_k(const KernelArgs* a) { matmul_blocks<BlockQ6_K, BlockQ8_K>(a, qk_k, k_term<BlockQ6_K>); }

// ---- the activation quantizers as kernels (reference.h) -----------------------------------

template<Format F>
void quantize_blocks_kernel(const KernelArgs* a)
{
    if (a->row_end <= a->row_begin)
        return;
    const FormatInfo& f = format_info(F);
    const u64 token_bytes = weight_row_bytes(F, a->n);
    for (u32 tok = 0; tok < a->t; ++tok)
        f.quantize_row(static_cast<const float*>(a->x) + static_cast<u64>(tok) * a->n + a->row_begin * f.block_values,
            static_cast<u8*>(a->out) + tok * token_bytes + a->row_begin * f.block_bytes, (a->row_end - a->row_begin) * f.block_values);
}

template void quantize_blocks_kernel<Format::Q8_0>(const KernelArgs*);
template void quantize_blocks_kernel<Format::Q8_1>(const KernelArgs*);
template void quantize_blocks_kernel<Format::Q8_K>(const KernelArgs*);
template void quantize_blocks_kernel<Format::F16>(const KernelArgs*);
template void quantize_blocks_kernel<Format::BF16>(const KernelArgs*);

}
