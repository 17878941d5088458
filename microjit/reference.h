// The scalar reference kernels: tier 0 of every dispatch slot, the oracle of every JIT
// test and the fallback whenever generated code cannot be used. They stay forever.
//
// Straightforward loops in the summation order of llama2.c's run.c/runq.c, compiled for
// baseline x86-64 (no vector ISA assumed).
#pragma once

#include "microjit/kernel_abi.h"

namespace mjit::ref {

// fp32: out[tok][row] = sum_j W[row][j] * x[tok][j] (sequential sum); t >= 1.
void matmul_f32(const KernelArgs* args);
// Q8_0: exact int32 group sums, accumulated as float(isum) * w_scale * x_scale.
void matmul_q8(const KernelArgs* args);

// The reference kernel for an op (matvec and matmul share the loops above).
KernelFn kernel_for(Op op);

// Q8_0 activation quantization of formats.md: per group of gs values
// scale = max|x| / 127, q = round(x / scale) (half away from zero; q = 0 when scale = 0).
void quantize_q8(const float* x, i8* q, float* scales, u32 n, u32 gs);

}
