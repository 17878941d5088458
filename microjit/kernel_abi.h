// The calling convention shared by the reference kernels and every generated kernel.
//
// A kernel is `void fn(const KernelArgs*)` (SysV: the pointer arrives in rdi); generated
// code reads the fields by offsetof, so the layout below is ABI: append, never reorder.
// W is row-major [d][n] as in the model files; a kernel computes
//     out[tok][row] = sum_j W[row][j] * x[tok][j]     for row in [row_begin, row_end)
// for every token tok < t. Q8_0 (formats.md): W and x are int8 with one fp32 scale per
// group of gs consecutive values in a row; the sum runs group by group in exact int32 and
// accumulates float(isum) * w_scale * x_scale.
#pragma once

#include <stddef.h>

#include "kernel_lib/base/types.h"

namespace mjit {

enum class Op : u8 {
    MatvecF32,  // t == 1, fp32 weights
    MatvecQ8,   // t == 1, Q8_0 weights, pre-quantized activations
    MatmulF32,  // t tokens at once (prefill), fp32
    MatmulQ8,   // t tokens at once (prefill), Q8_0
};
constexpr int op_count = 4;
const char* op_name(Op op);  // "matvec_f32", ...
inline bool op_is_q8(Op op) { return op == Op::MatvecQ8 || op == Op::MatmulQ8; }

// The shape a kernel is specialised on (t = 1 and gs = 0 where they do not apply).
struct Shape {
    u32 n = 0;   // input length (columns of W)
    u32 d = 0;   // output length (rows of W)
    u32 t = 1;   // tokens per call
    u32 gs = 0;  // Q8 group size
    bool operator==(const Shape&) const = default;
};

struct KernelArgs {
    float* out;            // [t][d]
    const void* w;         // [d][n] float, or int8 for Q8
    const float* w_scale;  // Q8: [d][n / gs]; null for fp32
    const void* x;         // [t][n] float, or int8 for Q8
    const float* x_scale;  // Q8: [t][n / gs]; null for fp32
    u64 row_begin;         // first row of out to compute
    u64 row_end;           // one past the last row
    u32 n, d, t, gs;       // the shape (generated kernels have it baked in)
};
static_assert(offsetof(KernelArgs, out) == 0);
static_assert(offsetof(KernelArgs, w) == 8);
static_assert(offsetof(KernelArgs, w_scale) == 16);
static_assert(offsetof(KernelArgs, x) == 24);
static_assert(offsetof(KernelArgs, x_scale) == 32);
static_assert(offsetof(KernelArgs, row_begin) == 40);
static_assert(offsetof(KernelArgs, row_end) == 48);
static_assert(offsetof(KernelArgs, n) == 56);
static_assert(sizeof(KernelArgs) == 72);

using KernelFn = void (*)(const KernelArgs*);

}
