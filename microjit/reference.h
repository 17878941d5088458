// The scalar reference kernels: tier 0 of every dispatch slot, the oracle of every JIT
// test and the fallback whenever generated code cannot be used. They stay forever.
//
// They also DEFINE the canonical summation order that every generated kernel follows bit
// for bit, on every ISA and variant, for any split of the rows across cores; so the text a
// model generates does not depend on which kernel the autotuner picked.
//
// fp32 dot product W[row] . x (dot_f32): 16 partial sums acc[0..15], all +0.0f. Element j
// goes to lane j % 16 in increasing j: acc[j % 16] = fl(acc[j % 16] + fl(w_j * x_j)) (the
// product is rounded on its own; no FMA). Lanes without an element in a short last chunk
// are left alone. Then a fixed tree: s8[k] = acc[k] + acc[k+8], s4[k] = s8[k] + s8[k+4],
// s2[k] = s4[k] + s4[k+2], result = s2[0] + s2[1]. (One zmm, two ymm or four xmm
// accumulators hold the 16 lanes exactly.)
//
// Q8_0 (llama2.c runq.c's order, which the int8 reference outputs were made with): per
// output sum = +0.0f; for each group g in increasing order, isum_g is the exact int32 sum
// of its gs products and sum = fl(sum + fl(fl(float(isum_g) * w_scale[g]) * x_scale[g])).
//
// Compiled for baseline x86-64 with -ffp-contract=off (and the pragma in reference.cpp),
// never with -ffast-math: the compiler may vectorise across the 16 lanes, which is exact,
// but may neither fuse nor reorder.
#pragma once

#include "microjit/op.h"

namespace mjit::ref {

// The canonical fp32 dot product of w[0..n) and x[0..n) (see above).
float dot_f32(const float* w, const float* x, u32 n);

// fp32: out[tok][row] = dot_f32(W[row], x[tok], n); t >= 1.
void matmul_f32(const KernelArgs* args);
// Q8_0: exact int32 group sums, accumulated as ((float)isum * w_scale) * x_scale.
void matmul_q8(const KernelArgs* args);

// Q8_0 activation quantization of formats.md: per group of gs values
// scale = max|x| / 127, q = round(x / scale) (half away from zero; q = 0 when scale = 0).
void quantize_q8(const float* x, i8* q, float* scales, u32 n, u32 gs);

// The same as a kernel (op quantize_q8, kernel_abi.h): groups row_begin..row_end of every
// token of x [t][n] into out [t][n] and out_scale [t][n / gs].
void quantize_q8_kernel(const KernelArgs* args);

// The quantizers of the block activation formats as kernels (op quantize_q8_0, _q8_1,
// _q8_k, _f16, _bf16): blocks (rows) row_begin..row_end of every token of x [t][n] into
// out [t][n / block], with the format's reference quantiser (quantize_blocks.h).
template<Format F>
void quantize_blocks_kernel(const KernelArgs* args);

// Op copy: memcpy of n bytes (the C library's, which generated copies must beat).
void copy(const KernelArgs* args);

// The reference kernel of an op (matvec and matmul share the format's loops), or null
// when there is none (an op the engine never asks for).
KernelFn kernel_for(Op op);

}
