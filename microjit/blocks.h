// The block layouts of ggml's quantized formats, and exact fp16 / bf16 conversions.
//
// GGUF stores a weight row as a sequence of blocks, each a fixed number of values packed
// with its own scale(s); the structs below are those blocks byte for byte (ggml's
// ggml-common.h defines them; the static_asserts pin sizes and offsets). Halves are kept
// as raw u16 bits and converted with fp16_to_f32 / bf16_to_f32, which are exact.
// All blocks are little-endian, like the machine. A row of n values (n a multiple of the
// block size) is n / block_values blocks back to back; formats.h has the sizes as a table.
//
// What a block means (value i of the block, 0-based; "nibble" = 4 bits; q8 = the int8s):
//   Q8_0: d * qs[i]                                   (32 values)
//   Q4_0: d * (nib(i) - 8)        nib(i) = i < 16 ? qs[i] & 15 : qs[i - 16] >> 4
//   Q4_1: d * nib(i) + m
//   Q5_0: d * ((nib(i) | hbit(i) << 4) - 16)          hbit(i) = bit i of qh (as a LE u32)
//   Q5_1: d * (nib(i) | hbit(i) << 4) + m
//   Q8_1: d * qs[i]; s = fp16(d * sum(qs))             (activations only)
//   K formats: 256 values in sub-blocks (see reference_blocks.cpp for the bit positions):
//   Q2_K: 16 x 16, 2-bit q, 4-bit scale and min per sub-block: d*sc*q - dmin*m
//   Q3_K: 16 x 16, 3-bit q - 4 (high bit in hmask), 6-bit scale - 32: d*(sc-32)*q
//   Q4_K:  8 x 32, 4-bit q, 6-bit scale and min: d*sc*q - dmin*m
//   Q5_K:  8 x 32, 5-bit q (high bit in qh), 6-bit scale and min: d*sc*q - dmin*m
//   Q6_K: 16 x 16, 6-bit q - 32 (low 4 in ql, high 2 in qh), int8 scale: d*sc*q
//   Q8_K: fp32 d, 256 int8 q, and the int16 sum of each 16 (activations only)
#pragma once

#include <stddef.h>

#include "kernel_lib/base/types.h"

namespace mjit {

// IEEE binary16 <-> binary32. fp16 -> fp32 is exact (a NaN keeps its payload, quiet); fp32 -> fp16
// rounds to nearest even, overflows to infinity, keeps subnormals, and turns every NaN
// into the quiet NaN 0x7e00 with the sign kept (ggml's conversion does the same).
float fp16_to_f32(u16 h);
u16 f32_to_fp16(float f);

// bfloat16: the top half of an fp32. bf16 -> fp32 is exact; fp32 -> bf16 rounds to nearest
// even, and a NaN keeps its top half with the quiet bit (0x40) set, as ggml does.
float bf16_to_f32(u16 h);
u16 f32_to_bf16(float f);

constexpr u32 qk_legacy = 32;  // values per block of Q4_0 .. Q8_1
constexpr u32 qk_k = 256;      // values per super-block of the K formats

struct BlockQ8_0 {
    u16 d;
    i8 qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34 && offsetof(BlockQ8_0, qs) == 2);

struct BlockQ4_0 {
    u16 d;
    u8 qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18 && offsetof(BlockQ4_0, qs) == 2);

struct BlockQ4_1 {
    u16 d;
    u16 m;
    u8 qs[16];
};
static_assert(sizeof(BlockQ4_1) == 20 && offsetof(BlockQ4_1, qs) == 4);

struct BlockQ5_0 {
    u16 d;
    u8 qh[4];
    u8 qs[16];
};
static_assert(sizeof(BlockQ5_0) == 22 && offsetof(BlockQ5_0, qh) == 2 && offsetof(BlockQ5_0, qs) == 6);

struct BlockQ5_1 {
    u16 d;
    u16 m;
    u8 qh[4];
    u8 qs[16];
};
static_assert(sizeof(BlockQ5_1) == 24 && offsetof(BlockQ5_1, qh) == 4 && offsetof(BlockQ5_1, qs) == 8);

struct BlockQ8_1 {
    u16 d;
    u16 s;  // fp16(d * sum of qs)
    i8 qs[32];
};
static_assert(sizeof(BlockQ8_1) == 36 && offsetof(BlockQ8_1, qs) == 4);

struct BlockQ2_K {
    u8 scales[16];  // per sub-block of 16: scale (low nibble), min (high nibble)
    u8 qs[64];      // 2-bit values
    u16 d;          // scale of the scales
    u16 dmin;       // scale of the mins
};
static_assert(sizeof(BlockQ2_K) == 84 && offsetof(BlockQ2_K, qs) == 16 && offsetof(BlockQ2_K, d) == 80);

struct BlockQ3_K {
    u8 hmask[32];   // the high (third) bit of every value
    u8 qs[64];      // the low 2 bits
    u8 scales[12];  // 16 6-bit scales
    u16 d;
};
static_assert(sizeof(BlockQ3_K) == 110 && offsetof(BlockQ3_K, qs) == 32 && offsetof(BlockQ3_K, scales) == 96 &&
    offsetof(BlockQ3_K, d) == 108);

struct BlockQ4_K {
    u16 d;
    u16 dmin;
    u8 scales[12];  // 8 6-bit scales and 8 6-bit mins
    u8 qs[128];
};
static_assert(sizeof(BlockQ4_K) == 144 && offsetof(BlockQ4_K, scales) == 4 && offsetof(BlockQ4_K, qs) == 16);

struct BlockQ5_K {
    u16 d;
    u16 dmin;
    u8 scales[12];
    u8 qh[32];      // the fifth bit of every value
    u8 qs[128];     // the low 4 bits
};
static_assert(sizeof(BlockQ5_K) == 176 && offsetof(BlockQ5_K, qh) == 16 && offsetof(BlockQ5_K, qs) == 48);

struct BlockQ6_K {
    u8 ql[128];     // low 4 bits
    u8 qh[64];      // high 2 bits
    i8 scales[16];  // one int8 scale per sub-block of 16
    u16 d;
};
static_assert(sizeof(BlockQ6_K) == 210 && offsetof(BlockQ6_K, qh) == 128 && offsetof(BlockQ6_K, scales) == 192 &&
    offsetof(BlockQ6_K, d) == 208);

// The K formats' activations: ggml's Q8_K values, in a layout of our own (it never leaves
// the engine). The values come first and every part of the block starts a cache line (9
// in all), so that in a 64-byte aligned buffer the matmuls' 64-byte loads of values never
// straddle two lines (1.2x on the AVX-512 K-format matmul).
// Beside ggml's bsums, their pair sums (one per sub-block of 32, what Q4_K and Q5_K's mins
// multiply), so that the matmuls do not add them up again for every row they meet. The
// quantizers write the padding as zeros. Then the values once more, transposed by
// qwords: 64-byte row m holds one qword of each of the eight sub-blocks of 32, qword m of
// the even ones and qword m ^ 1 of the odd ones (q_transposed), the order in which the VNNI
// matmul of Q4_K multiplies them (microjit/gen_blocks_k.cpp).
struct BlockQ8_K {
    i8 qs[256];
    float d;
    i16 bsums[16];       // sum of each 16 consecutive qs
    i16 bsum_pairs[8];   // bsums[2j] + bsums[2j + 1]: sum of each 32 (at most 4064 in magnitude)
    u8 padding[12];
    i8 qs_t[256];        // qs_t[q_transposed(i)] = qs[i]
};
static_assert(sizeof(BlockQ8_K) == 576 && offsetof(BlockQ8_K, d) == 256 && offsetof(BlockQ8_K, bsums) == 260 &&
    offsetof(BlockQ8_K, bsum_pairs) == 292 && offsetof(BlockQ8_K, qs_t) == 320);

// Where value i of a Q8_K block (sub-block j = i / 32, its qword q = i % 32 / 8) sits in
// qs_t: row q ^ (j % 2), column j.
constexpr u32 q_transposed(u32 i) { return 64 * ((i % 32 / 8) ^ (i / 32 % 2)) + 8 * (i / 32) + i % 8; }

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block: entries 0..3 are
// the low 6 bits of bytes j and j + 4; entries 4..7 take their low 4 bits from byte j + 4
// (scale: low nibble, min: high nibble) and their top 2 bits from the spare top bits of
// bytes j - 4 (scale) and j (min).
inline void k4_scale_min(const u8* scales, u32 j, u8& scale, u8& min)
{
    if (j < 4) {
        scale = scales[j] & 63;
        min = scales[j + 4] & 63;
    } else {
        scale = static_cast<u8>((scales[j + 4] & 0xf) | ((scales[j - 4] >> 6) << 4));
        min = static_cast<u8>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}

// The 6-bit scale of sub-block j (0..15) of a Q3_K block, still biased by 32: the low 4
// bits are nibble (j / 8) of byte j % 8, the top 2 bits are bits 2*(j / 4) of byte 8 + j % 4.
inline u8 q3k_scale(const u8* scales, u32 j)
{
    const u8 low = j < 8 ? (scales[j] & 0xf) : (scales[j - 8] >> 4);
    const u8 high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return static_cast<u8>(low | (high << 4));
}

}
