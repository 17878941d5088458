// The calling convention shared by the reference kernels and every generated kernel.
//
// A kernel is `void fn(const KernelArgs*)` (SysV: the pointer arrives in rdi); generated
// code reads the fields by offsetof, so the layout below is ABI: append, never reorder.
// What the fields mean depends on the operation (microjit/op.h):
//
//   matrix (matvec t = 1, matmul t >= 1): W is row-major [d][n] in its format
//     (microjit/formats.h); x holds t tokens already in the format's activation format;
//         out[tok][row] = sum_j W[row][j] * x[tok][j]     for row in [row_begin, row_end)
//     Q8G (llama2.c's int8): W and x are int8 with one fp32 scale per group of gs values of
//     a row (w_scale, x_scale); the sum runs group by group in exact int32 and accumulates
//     float(isum) * w_scale * x_scale. Block formats carry their scales inside the blocks.
//   quantize: x is fp32 [t][n]; out receives the activation format's [t][n] values, for the
//     groups (rows) [row_begin, row_end) of every token, d = n / gs groups per token; Q8G
//     writes its group scales to out_scale [t][d].
//   copy: out[0..n) = x[0..n) bytes (d = t = 1, one "row"); the ranges do not overlap.
#pragma once

#include <stddef.h>

#include "kernel_lib/base/types.h"

namespace mjit {

// The shape a kernel is specialised on (t = 1 and gs = 0 where they do not apply).
struct Shape {
    u32 n = 0;   // input length (columns of W; values per token; bytes of a copy)
    u32 d = 0;   // output length (rows of W; groups per token)
    u32 t = 1;   // tokens per call
    u32 gs = 0;  // Q8G group size
    bool operator==(const Shape&) const = default;
};

struct KernelArgs {
    void* out;             // matrix: float [t][d]; quantize: the quantized values; copy: dst
    const void* w;         // [d][n] weights in their format
    const float* w_scale;  // Q8G: [d][n / gs]; null otherwise
    const void* x;         // [t][n] input
    const float* x_scale;  // Q8G: [t][n / gs]; null otherwise
    u64 row_begin;         // first row (group) of out to compute
    u64 row_end;           // one past the last row
    u32 n, d, t, gs;       // the shape (generated kernels have it baked in)
    float* out_scale;      // quantize to Q8G: [t][d] group scales
};
static_assert(offsetof(KernelArgs, out) == 0);
static_assert(offsetof(KernelArgs, w) == 8);
static_assert(offsetof(KernelArgs, w_scale) == 16);
static_assert(offsetof(KernelArgs, x) == 24);
static_assert(offsetof(KernelArgs, x_scale) == 32);
static_assert(offsetof(KernelArgs, row_begin) == 40);
static_assert(offsetof(KernelArgs, row_end) == 48);
static_assert(offsetof(KernelArgs, n) == 56);
static_assert(offsetof(KernelArgs, out_scale) == 72);
static_assert(sizeof(KernelArgs) == 80);

using KernelFn = void (*)(const KernelArgs*);

}
