// The scalar reference kernels of the block formats (GGUF's F16, BF16, Q8_0, Q4_0, Q4_1,
// Q5_0, Q5_1, Q2_K .. Q6_K): dequantisation as ggml defines it, and the matrix kernels
// whose summation order every generated kernel of a format will follow bit for bit.
// formats.h lists them per format; the KernelArgs convention for block formats is there.
//
// fl(e) is e rounded to fp32; there is no fused multiply-add anywhere (-ffp-contract=off
// and the pragma in reference_blocks.cpp). isum / imin are exact int32 sums (the formats
// bound them far below 2^31). float(i) converts an int32 with round-to-nearest-even, as
// cvtdq2ps does. d_w, m_w are the weight block's fp16 fields converted exactly; d_x, s_x
// the activation block's (fp16 for Q8_0/Q8_1, fp32 for Q8_K).
//
// Per output (row, token): sum = +0.0f, then for each block b in increasing order
// sum = fl(sum + term_b), and out = sum. The block terms:
//
//   F16, BF16 (x in F16 / BF16): no blocks; the fp32 dot product of reference.h (16 lanes,
//       element j into lane j % 16, fixed tree) over the converted values. Every product of
//       two halves is exact in fp32, so this equals ref::dot_f32 of the dequantised rows.
//   Q8_0 x Q8_0: isum = sum_i w_i * x_i (32 pairs); term = fl(float(isum) * fl(d_w * d_x)).
//   Q4_0 x Q8_0: isum over (nibble - 8) * x; term = fl(fl(float(isum) * d_w) * d_x)
//       (ggml's scalar order, and the order of Q8G's groups).
//   Q5_0 x Q8_0: isum over (5-bit value - 16) * x; term = fl(float(isum) * fl(d_w * d_x)).
//   Q4_1 x Q8_1, Q5_1 x Q8_1: isum over the unsigned values * x;
//       term = fl(fl(float(isum) * fl(d_w * d_x)) + fl(m_w * s_x)).
//   K formats x Q8_K (one block = 256 values): d = fl(d_w * d_x), dmin = fl(dmin_w * d_x);
//       isum = sum over sub-blocks j of scale_j * (sum_i q_i * x_i), with q and scale_j the
//       format's integers as stored (Q3_K: q in -4..3 and scale_j - 32; Q6_K: q in -32..31
//       and the int8 scale; Q2_K, Q4_K, Q5_K: unsigned q and 4- or 6-bit scale);
//       imin = sum over sub-blocks j of min_j * (the Q8_K bsums that cover sub-block j);
//       Q2_K, Q4_K, Q5_K: term = fl(fl(d * float(isum)) - fl(dmin * float(imin)));
//       Q3_K, Q6_K:       term = fl(d * float(isum)).
//
// A SIMD kernel computes isum (and imin) per block exactly in any order it likes, the one
// or two float multiplies and the subtraction per block exactly as above, and keeps one
// accumulator per output (lanes = rows or tokens), adding the terms block after block.
#pragma once

#include "microjit/kernel_abi.h"

namespace mjit::ref {

// Dequantisation (ggml's definitions; every value is fl(fl(d * scale) * q) - fl(dmin * min)
// or the like in ggml's order, with no FMA). `n` is a multiple of the block size.
void dequantize_f16(const void* blocks, float* out, u64 n);
void dequantize_bf16(const void* blocks, float* out, u64 n);
void dequantize_q8_0(const void* blocks, float* out, u64 n);
void dequantize_q4_0(const void* blocks, float* out, u64 n);
void dequantize_q4_1(const void* blocks, float* out, u64 n);
void dequantize_q5_0(const void* blocks, float* out, u64 n);
void dequantize_q5_1(const void* blocks, float* out, u64 n);
void dequantize_q8_1(const void* blocks, float* out, u64 n);
void dequantize_q2_k(const void* blocks, float* out, u64 n);
void dequantize_q3_k(const void* blocks, float* out, u64 n);
void dequantize_q4_k(const void* blocks, float* out, u64 n);
void dequantize_q5_k(const void* blocks, float* out, u64 n);
void dequantize_q6_k(const void* blocks, float* out, u64 n);
void dequantize_q8_k(const void* blocks, float* out, u64 n);
void dequantize_f32(const void* values, float* out, u64 n);  // a copy

// The reference matrix kernels (KernelArgs convention of formats.h).
void matmul_f16(const KernelArgs* args);
void matmul_bf16(const KernelArgs* args);
void matmul_q8_0(const KernelArgs* args);
void matmul_q4_0(const KernelArgs* args);
void matmul_q4_1(const KernelArgs* args);
void matmul_q5_0(const KernelArgs* args);
void matmul_q5_1(const KernelArgs* args);
void matmul_q2_k(const KernelArgs* args);
void matmul_q3_k(const KernelArgs* args);
void matmul_q4_k(const KernelArgs* args);
void matmul_q5_k(const KernelArgs* args);
void matmul_q6_k(const KernelArgs* args);

}
