// Baselines for jit-bench, compiled -O3 -march=native in baseline.native.cpp.
//
// The matrix loops are the naive loops of llama2.c's run.c/runq.c (a sequential sum per
// output), so "JIT vs native" compares generated code with what the best compiler flags
// make of the textbook source. (The reference kernels themselves use the canonical 16-lane
// order of reference.h, which the compiler can vectorise; the bench reports them apart.)
// `*_reassoc` additionally lets the compiler reorder the float sum (what -ffast-math would
// allow), which makes it vectorise: a stronger, informational baseline that returns other
// bits. Only plain pointers cross this interface (no shared inline code, so nothing
// compiled for this CPU can leak into the portable objects).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mjit::bench {

void native_matvec_f32(float* out, const float* w, const float* x, uint32_t n, uint64_t row_begin, uint64_t row_end);
void native_matvec_f32_reassoc(float* out, const float* w, const float* x, uint32_t n, uint64_t row_begin, uint64_t row_end);
void native_matvec_q8(float* out, const int8_t* w, const float* w_scale, const int8_t* x, const float* x_scale, uint32_t n,
    uint32_t gs, uint64_t row_begin, uint64_t row_end);

// AVX2 machines only. Reads `bytes` (64-byte aligned) with wide loads, from `streams`
// (1, 2 or 4) equal parts of the buffer in step, as a core streaming one or several
// arrays would; returns a checksum so that nothing is optimised away. The bench takes the
// fastest stream count as "the streaming-read bandwidth".
uint64_t native_stream_read(const void* data, size_t bytes, int streams);

}
