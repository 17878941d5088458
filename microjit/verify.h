// Checking a kernel against another, bit for bit: what a call writes, how to compare it,
// and the synthetic samples kernels are checked on before they serve any call.
//
// Every generated kernel reproduces the reference kernel's bytes exactly (the summation
// orders of reference.h), so verification is a byte comparison of what the two wrote:
//   matrix     out[tok][row] floats, rows row_begin..row_end of every token
//   quantize   the quantized values of groups row_begin..row_end (and Q8G's group scales)
//   copy       the n bytes
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/dispatch.h"

namespace mjit {

// The bytes a call writes to one output array, per token: `bytes` at `offset`, tokens
// `stride` bytes apart; `total` = the array's size for the whole shape.
struct OutputSpan {
    u64 offset = 0;
    u64 bytes = 0;
    u64 stride = 0;
    u64 total = 0;
};
OutputSpan out_span(Op op, const KernelArgs& args);
OutputSpan out_scale_span(Op op, const KernelArgs& args);  // bytes 0: no out_scale

// Compares what `got` and `expected` (two out arrays, and their out_scale arrays) hold in
// the spans `args` writes. Ok when identical; else JitMismatch saying where and what.
kl::ErrorOr<void> compare_outputs(Op op, const KernelArgs& args, const void* got, const float* got_scale,
    const void* expected, const float* expected_scale);

// A synthetic call for a slot: the slot's sample weights, a pseudo-random input in the
// op's input format (with the corner cases of its quantizer), the reference's output, and
// scratch arrays for a candidate's. Big matrices are checked on two windows of rows (the
// first and the last), each an odd count of more rows than any kernel keeps in flight, so
// that every row-blocking remainder and stripe leftover runs.
class Sample {
public:
    Sample() = default;
    ~Sample();
    Sample(const Sample&) = delete;
    Sample& operator=(const Sample&) = delete;

    kl::ErrorOr<void> build(const KernelSlot& slot);

    u32 window_count() const { return m_windows; }
    // The call for window i, writing the expected (reference) output.
    KernelArgs expected_call(u32 window) const;
    // The same call writing into the scratch arrays.
    KernelArgs scratch_call(u32 window) const;
    const void* scratch() const { return m_scratch; }
    const float* scratch_scale() const { return m_scratch_scale; }

private:
    void fill_input(const KernelSlot& slot, float* values);

    KernelArgs m_args {};
    u64 m_windows = 0;
    u64 m_window_rows[2][2] {};
    void* m_block = nullptr;
    void* m_scratch = nullptr;
    float* m_scratch_scale = nullptr;
};

}
