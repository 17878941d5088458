// Reference quantisers: fp32 rows into each block format, as ggml's reference
// quantisation (ggml-quants.c's quantize_row_*_ref) defines them.
//
// The activation formats are what the engine converts activations to before a dot
// product (formats.h, "activation"), so they are bit for bit ggml's reference:
//   Q8_0: per 32 values amax = max |x|, d = amax / 127, id = d ? 1 / d : 0,
//         q = roundf(x * id) (half away from zero); stores fp16(d).
//   Q8_1: the same, and s = fp16(d * float(sum of q)) with the fp32 d.
//   Q8_K: per 256 values max = the x of largest |x| (first one on ties); all zero: d = 0
//         and q = 0; else iscale = -127 / max, q = min(127, round_even(iscale * x)),
//         d = 1 / iscale (fp32), bsums = the sums of each 16 q (and, our own, their
//         pair sums: blocks.h).
//   F16, BF16: each value converted with round-to-nearest-even (blocks.h).
// (ggml's x86 CPU backend quantises Q8_0 / Q8_1 activations with its own AVX code:
// id = 127 / amax and round-half-even, which differs from the reference in the last bit of
// a few values. BareFlow follows the reference, the definition every platform shares.)
//
// The weight formats follow ggml's reference algorithms step for step in the same float
// order (Q4_0 .. Q5_1: one pass from the block's max or min/max; Q2_K, Q4_K, Q5_K: the
// weighted min/scale search of make_qkx2_quants; Q3_K: make_q3_quants' iterative refit;
// Q6_K: make_qx_quants' scale sweep). Built with -ffp-contract=off they reproduce ggml's
// reference built the same way; ggml builds that fuse multiply-adds can differ in a few
// rounding decisions, which changes nothing about what the files mean.
// `n` is a multiple of the format's block size in every function. The weight formats'
// quantisers are host-only (quantize_weights.host.cpp): the kernel never quantises weights.
#pragma once

#include "kernel_lib/base/types.h"

namespace mjit::ref {

void quantize_f32(const float* x, void* out, u64 n);  // a copy
void quantize_f16(const float* x, void* out, u64 n);
void quantize_bf16(const float* x, void* out, u64 n);
void quantize_q8_0(const float* x, void* out, u64 n);
void quantize_q8_1(const float* x, void* out, u64 n);
void quantize_q8_k(const float* x, void* out, u64 n);
// Host only:
void quantize_q4_0(const float* x, void* out, u64 n);
void quantize_q4_1(const float* x, void* out, u64 n);
void quantize_q5_0(const float* x, void* out, u64 n);
void quantize_q5_1(const float* x, void* out, u64 n);
void quantize_q2_k(const float* x, void* out, u64 n);
void quantize_q3_k(const float* x, void* out, u64 n);
void quantize_q4_k(const float* x, void* out, u64 n);
void quantize_q5_k(const float* x, void* out, u64 n);
void quantize_q6_k(const float* x, void* out, u64 n);

// Helpers the quantisers share. The value of largest magnitude, with its sign (the first
// on ties; 0 for an all-zero block), and that magnitude in *amax when asked: the
// scale-only formats map it to their most negative level, which leaves the other end one
// more level.
float signed_abs_max(const float* x, u32 count, float* amax = nullptr);
// float -> int truncating toward zero, as C's conversion does for the values the
// quantisers produce; NaN and values beyond the int range (only from non-finite input)
// give 0 instead of undefined behaviour.
i32 truncate_to_int(float v);

// round-to-nearest-even of |v| <= 2^22 through the 1.5 * 2^23 addition trick ggml uses
// (nearest_int); beyond that range the result wraps the same way ggml's does.
i32 round_even(float v);

}
