// Scalar reference kernels of the block formats (see reference_blocks.h for the order).
//
// Each format has one "unpack" that turns a block into its integers (the values as
// signed ints, with the format's offsets applied, and the per-sub-block scales and mins);
// dequantisation and the dot products are both written over those integers, so the two
// cannot disagree about where a bit lives.
#include "microjit/reference_blocks.h"

#include <stddef.h>
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

// The formats share their loops: each is described by a table row (its block size, where
// its fp16 fields sit, and its unpack function), so one block loop serves them all
// through a function pointer per block. These kernels are the oracle and the fallback,
// not the hot path; the arithmetic of every term is exactly as reference_blocks.h says.

float half_at(const u8* block, u32 offset)
{
    u16 h;
    memcpy(&h, block + offset, sizeof(h));
    return fp16_to_f32(h);
}

// ---- legacy blocks: 32 values, one scale (and a min for _1) ----------------------------

// Value i < 16 is the low nibble of qs[i], value 16 + i the high nibble; `high` gives
// each value's fifth bit (bit i of qh for Q5_0 / Q5_1, none for Q4_0 / Q4_1).
void unpack_nibbles(const u8* qs, u32 high, i8* q, i32 offset)
{
    for (u32 i = 0; i < 16; ++i) {
        q[i] = static_cast<i8>(((qs[i] & 0xf) | (((high >> i) & 1) << 4)) - offset);
        q[i + 16] = static_cast<i8>(((qs[i] >> 4) | (((high >> (i + 16)) & 1) << 4)) - offset);
    }
}

u32 qh_bits(const u8* qh)
{
    u32 bits;
    memcpy(&bits, qh, sizeof(bits));
    return bits;
}

void unpack_q8_0(const u8* b, i8* q) { memcpy(q, b + offsetof(BlockQ8_0, qs), 32); }
void unpack_q8_1(const u8* b, i8* q) { memcpy(q, b + offsetof(BlockQ8_1, qs), 32); }
void unpack_q4_0(const u8* b, i8* q) { unpack_nibbles(b + offsetof(BlockQ4_0, qs), 0, q, 8); }
void unpack_q4_1(const u8* b, i8* q) { unpack_nibbles(b + offsetof(BlockQ4_1, qs), 0, q, 0); }
void unpack_q5_0(const u8* b, i8* q)
{
    unpack_nibbles(b + offsetof(BlockQ5_0, qs), qh_bits(b + offsetof(BlockQ5_0, qh)), q, 16);
}
void unpack_q5_1(const u8* b, i8* q)
{
    unpack_nibbles(b + offsetof(BlockQ5_1, qs), qh_bits(b + offsetof(BlockQ5_1, qh)), q, 0);
}

// How a legacy block's term is rounded (reference_blocks.h).
enum class LegacyTerm : u8 {
    joint_scale,   // fl(float(isum) * fl(d_w * d_x)): Q8_0, Q5_0
    weight_first,  // fl(fl(float(isum) * d_w) * d_x): Q4_0
    with_min,      // joint_scale plus fl(m_w * s_x): Q4_1, Q5_1 against Q8_1
};

struct Legacy {
    u32 bytes;
    void (*unpack)(const u8* block, i8* q);
    LegacyTerm term;
};

constexpr Legacy legacy_q8_0 { sizeof(BlockQ8_0), unpack_q8_0, LegacyTerm::joint_scale };
constexpr Legacy legacy_q8_1 { sizeof(BlockQ8_1), unpack_q8_1, LegacyTerm::joint_scale };
constexpr Legacy legacy_q4_0 { sizeof(BlockQ4_0), unpack_q4_0, LegacyTerm::weight_first };
constexpr Legacy legacy_q4_1 { sizeof(BlockQ4_1), unpack_q4_1, LegacyTerm::with_min };
constexpr Legacy legacy_q5_0 { sizeof(BlockQ5_0), unpack_q5_0, LegacyTerm::joint_scale };
constexpr Legacy legacy_q5_1 { sizeof(BlockQ5_1), unpack_q5_1, LegacyTerm::with_min };

// Every legacy block starts with d; the _1 blocks follow it with m (Q8_1: s).
constexpr u32 legacy_m = offsetof(BlockQ4_1, m);
static_assert(offsetof(BlockQ5_1, m) == legacy_m && offsetof(BlockQ8_1, s) == legacy_m);

// Dequantises n values: fl(q * d), or fl(fl(q * d) + m) for the blocks with a min.
void dequantize_legacy(const Legacy& f, const void* blocks, float* out, u64 n)
{
    const u8* b = static_cast<const u8*>(blocks);
    for (u64 k = 0; k < n / qk_legacy; ++k, out += qk_legacy, b += f.bytes) {
        i8 q[32];
        f.unpack(b, q);
        const float d = half_at(b, 0);
        for (u32 i = 0; i < 32; ++i) {
            const float v = static_cast<float>(q[i]) * d;
            out[i] = f.term == LegacyTerm::with_min ? v + half_at(b, legacy_m) : v;
        }
    }
}

float legacy_term(const void* table, const u8* w, const u8* x)
{
    const Legacy& f = *static_cast<const Legacy*>(table);
    i8 q[32];
    f.unpack(w, q);
    const u32 x_qs = f.term == LegacyTerm::with_min ? offsetof(BlockQ8_1, qs) : offsetof(BlockQ8_0, qs);
    const i8* xq = reinterpret_cast<const i8*>(x + x_qs);
    i32 isum = 0;
    for (u32 i = 0; i < 32; ++i)
        isum += static_cast<i32>(q[i]) * static_cast<i32>(xq[i]);
    if (f.term == LegacyTerm::weight_first)
        return static_cast<float>(isum) * half_at(w, 0) * half_at(x, 0);
    const float scaled = static_cast<float>(isum) * (half_at(w, 0) * half_at(x, 0));
    if (f.term == LegacyTerm::joint_scale)
        return scaled;
    return scaled + half_at(w, legacy_m) * half_at(x, legacy_m);
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

void unpack_q2_k(const u8* p, KInts& k)
{
    const auto& b = *reinterpret_cast<const BlockQ2_K*>(p);
    k.sub = 16;
    for (u32 v = 0; v < 256; ++v)
        k.q[v] = static_cast<i8>(two_bits(b.qs, v));
    for (u32 j = 0; j < 16; ++j) {
        k.scale[j] = b.scales[j] & 0xf;
        k.min[j] = b.scales[j] >> 4;
    }
}

void unpack_q3_k(const u8* p, KInts& k)
{
    const auto& b = *reinterpret_cast<const BlockQ3_K*>(p);
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

void unpack_q4_k(const u8* p, KInts& k)
{
    const auto& b = *reinterpret_cast<const BlockQ4_K*>(p);
    for (u32 v = 0; v < 256; ++v)
        k.q[v] = static_cast<i8>(nibble_k(b.qs, v));
    unpack_scales_k4(b.scales, k);
}

void unpack_q5_k(const u8* p, KInts& k)
{
    const auto& b = *reinterpret_cast<const BlockQ5_K*>(p);
    for (u32 v = 0; v < 256; ++v)
        k.q[v] = static_cast<i8>(nibble_k(b.qs, v) | (((b.qh[v % 32] >> (v / 32)) & 1) << 4));
    unpack_scales_k4(b.scales, k);
}

// Q6_K: value v = 128h + 32k + l: low 4 bits in nibble k / 2 of ql[64h + 32(k % 2) + l],
// high 2 bits at bit 2k of qh[32h + l]; minus 32.
void unpack_q6_k(const u8* p, KInts& k)
{
    const auto& b = *reinterpret_cast<const BlockQ6_K*>(p);
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

struct KFormat {
    u32 bytes;
    u32 d, dmin;  // the fp16 fields' offsets; dmin 0: the format has no mins (Q3_K, Q6_K)
    void (*unpack)(const u8* block, KInts& k);
};

constexpr KFormat k_q2 { sizeof(BlockQ2_K), offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin), unpack_q2_k };
constexpr KFormat k_q3 { sizeof(BlockQ3_K), offsetof(BlockQ3_K, d), 0, unpack_q3_k };
constexpr KFormat k_q4 { sizeof(BlockQ4_K), offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin), unpack_q4_k };
constexpr KFormat k_q5 { sizeof(BlockQ5_K), offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin), unpack_q5_k };
constexpr KFormat k_q6 { sizeof(BlockQ6_K), offsetof(BlockQ6_K, d), 0, unpack_q6_k };

// Dequantises K blocks: per sub-block dl = fl(d * scale), ml = fl(dmin * min), and each
// value fl(fl(dl * q) - ml) (or fl(dl * q) without mins), as ggml writes it.
void dequantize_k(const KFormat& f, const void* blocks, float* out, u64 n)
{
    const u8* b = static_cast<const u8*>(blocks);
    for (u64 i = 0; i < n / qk_k; ++i, out += qk_k, b += f.bytes) {
        KInts k;
        f.unpack(b, k);
        const float d = half_at(b, f.d);
        for (u32 v = 0; v < 256; ++v) {
            const u32 j = v / k.sub;
            const float dl = d * static_cast<float>(k.scale[j]);
            const float value = dl * static_cast<float>(k.q[v]);
            out[v] = f.dmin ? value - half_at(b, f.dmin) * static_cast<float>(k.min[j]) : value;
        }
    }
}

// The term of one K block against its Q8_K activation block (reference_blocks.h).
float k_term(const void* table, const u8* w, const u8* xp)
{
    const KFormat& f = *static_cast<const KFormat*>(table);
    const auto& x = *reinterpret_cast<const BlockQ8_K*>(xp);
    KInts k;
    f.unpack(w, k);
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
    const float d = half_at(w, f.d) * x.d;
    const float scaled = d * static_cast<float>(isum);
    if (!f.dmin)
        return scaled;
    const float dmin = half_at(w, f.dmin) * x.d;
    return scaled - dmin * static_cast<float>(imin);
}

// The block loop every block format shares: per output, sum = +0 and the block terms
// added in order. `term(table, w, x)` is legacy_term or k_term with the format's table row.
using Term = float (*)(const void* table, const u8* w, const u8* x);

void matmul_blocks(const KernelArgs* a, const void* table, u32 w_bytes, u32 x_bytes, u32 block_values, Term term)
{
    const u64 blocks = a->n / block_values;
    for (u32 tok = 0; tok < a->t; ++tok) {
        const u8* xt = static_cast<const u8*>(a->x) + tok * blocks * x_bytes;
        float* out = static_cast<float*>(a->out) + static_cast<u64>(tok) * a->d;
        for (u64 row = a->row_begin; row < a->row_end; ++row) {
            const u8* wr = static_cast<const u8*>(a->w) + row * blocks * w_bytes;
            float sum = 0.0f;
            for (u64 b = 0; b < blocks; ++b)
                sum = sum + term(table, wr + b * w_bytes, xt + b * x_bytes);
            out[row] = sum;
        }
    }
}

void matmul_legacy(const KernelArgs* a, const Legacy& f)
{
    const u32 x_bytes = f.term == LegacyTerm::with_min ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
    matmul_blocks(a, &f, f.bytes, x_bytes, qk_legacy, legacy_term);
}

void matmul_k(const KernelArgs* a, const KFormat& f) { matmul_blocks(a, &f, f.bytes, sizeof(BlockQ8_K), qk_k, k_term); }

// dot_f32's 16-lane order (reference.h) over the products of the converted halves.
void matmul_halves(const KernelArgs* a, float (*convert)(u16))
{
    const u16* w = static_cast<const u16*>(a->w);
    const u16* x = static_cast<const u16*>(a->x);
    for (u32 tok = 0; tok < a->t; ++tok) {
        const u16* xt = x + static_cast<u64>(tok) * a->n;
        float* out = static_cast<float*>(a->out) + static_cast<u64>(tok) * a->d;
        for (u64 row = a->row_begin; row < a->row_end; ++row) {
            const u16* wr = w + row * a->n;
            float acc[16] = {};
            for (u32 j = 0; j < a->n; ++j)
                acc[j % 16] = acc[j % 16] + convert(wr[j]) * convert(xt[j]);
            float s8[8], s4[4];
            for (u32 k = 0; k < 8; ++k)
                s8[k] = acc[k] + acc[k + 8];
            for (u32 k = 0; k < 4; ++k)
                s4[k] = s8[k] + s8[k + 4];
            out[row] = (s4[0] + s4[2]) + (s4[1] + s4[3]);
        }
    }
}

void dequantize_halves(const void* blocks, float* out, u64 n, float (*convert)(u16))
{
    const u16* h = static_cast<const u16*>(blocks);
    for (u64 i = 0; i < n; ++i)
        out[i] = convert(h[i]);
}

}

// ---- dequantisation ---------------------------------------------------------------------

void dequantize_f32(const void* values, float* out, u64 n)
{
    memcpy(out, values, n * sizeof(float));
}

void dequantize_f16(const void* b, float* out, u64 n) { dequantize_halves(b, out, n, fp16_to_f32); }
void dequantize_bf16(const void* b, float* out, u64 n) { dequantize_halves(b, out, n, bf16_to_f32); }

void dequantize_q8_k(const void* blocks, float* out, u64 n)
{
    const auto* b = static_cast<const BlockQ8_K*>(blocks);
    for (u64 k = 0; k < n / qk_k; ++k, out += qk_k) {
        for (u32 i = 0; i < 256; ++i)
            out[i] = b[k].d * static_cast<float>(b[k].qs[i]);
    }
}

void dequantize_q8_0(const void* b, float* out, u64 n) { dequantize_legacy(legacy_q8_0, b, out, n); }
void dequantize_q8_1(const void* b, float* out, u64 n) { dequantize_legacy(legacy_q8_1, b, out, n); }
void dequantize_q4_0(const void* b, float* out, u64 n) { dequantize_legacy(legacy_q4_0, b, out, n); }
void dequantize_q4_1(const void* b, float* out, u64 n) { dequantize_legacy(legacy_q4_1, b, out, n); }
void dequantize_q5_0(const void* b, float* out, u64 n) { dequantize_legacy(legacy_q5_0, b, out, n); }
void dequantize_q5_1(const void* b, float* out, u64 n) { dequantize_legacy(legacy_q5_1, b, out, n); }

void dequantize_q2_k(const void* b, float* out, u64 n) { dequantize_k(k_q2, b, out, n); }
void dequantize_q3_k(const void* b, float* out, u64 n) { dequantize_k(k_q3, b, out, n); }
void dequantize_q4_k(const void* b, float* out, u64 n) { dequantize_k(k_q4, b, out, n); }
void dequantize_q5_k(const void* b, float* out, u64 n) { dequantize_k(k_q5, b, out, n); }
void dequantize_q6_k(const void* b, float* out, u64 n) { dequantize_k(k_q6, b, out, n); }

// ---- reference matrix kernels -------------------------------------------------------------

void matmul_f16(const KernelArgs* a) { matmul_halves(a, fp16_to_f32); }
void matmul_bf16(const KernelArgs* a) { matmul_halves(a, bf16_to_f32); }

void matmul_q8_0(const KernelArgs* a) { matmul_legacy(a, legacy_q8_0); }
void matmul_q4_0(const KernelArgs* a) { matmul_legacy(a, legacy_q4_0); }
void matmul_q5_0(const KernelArgs* a) { matmul_legacy(a, legacy_q5_0); }
void matmul_q4_1(const KernelArgs* a) { matmul_legacy(a, legacy_q4_1); }
void matmul_q5_1(const KernelArgs* a) { matmul_legacy(a, legacy_q5_1); }

void matmul_q2_k(const KernelArgs* a) { matmul_k(a, k_q2); }
void matmul_q3_k(const KernelArgs* a) { matmul_k(a, k_q3); }
void matmul_q4_k(const KernelArgs* a) { matmul_k(a, k_q4); }
void matmul_q5_k(const KernelArgs* a) { matmul_k(a, k_q5); }
void matmul_q6_k(const KernelArgs* a) { matmul_k(a, k_q6); }

// ---- the activation quantizers as kernels (reference.h) -----------------------------------

namespace {

void quantize_blocks(Format format, const KernelArgs* a)
{
    if (a->row_end <= a->row_begin)
        return;
    const FormatInfo& f = format_info(format);
    const u64 token_bytes = weight_row_bytes(format, a->n);
    for (u32 tok = 0; tok < a->t; ++tok)
        f.quantize_row(static_cast<const float*>(a->x) + static_cast<u64>(tok) * a->n + a->row_begin * f.block_values,
            static_cast<u8*>(a->out) + tok * token_bytes + a->row_begin * f.block_bytes, (a->row_end - a->row_begin) * f.block_values);
}

}

template<Format F>
void quantize_blocks_kernel(const KernelArgs* a)
{
    quantize_blocks(F, a);
}

template void quantize_blocks_kernel<Format::Q8_0>(const KernelArgs*);
template void quantize_blocks_kernel<Format::Q8_1>(const KernelArgs*);
template void quantize_blocks_kernel<Format::Q8_K>(const KernelArgs*);
template void quantize_blocks_kernel<Format::F16>(const KernelArgs*);
template void quantize_blocks_kernel<Format::BF16>(const KernelArgs*);

}
