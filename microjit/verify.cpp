// Output comparison and verification samples (see verify.h).
#include "microjit/verify.h"

#include <string.h>

#include "kernel_lib/mem/alloc.h"
#include "microjit/reference.h"

namespace mjit {

namespace {

using kl::Error;
using kl::ErrorCode;

// Matrices with more work than this are checked on two windows of rows, not all of them.
constexpr u64 whole_matrix_work = 1u << 18;
constexpr u64 window_rows = 29;

u64 align64(u64 bytes) { return (bytes + 63) & ~63ull; }

// A pseudo-random float in [-1, 1), from a 32-bit LCG (the same sequence everywhere).
float next_value(u32& state)
{
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(static_cast<i32>(state >> 8) - (1 << 23)) / static_cast<float>(1 << 23);
}

// The first byte where a and b differ within the spans, or -1.
i64 first_difference(const OutputSpan& span, u32 tokens, const void* a, const void* b)
{
    for (u32 tok = 0; tok < tokens; ++tok) {
        const u64 start = tok * span.stride + span.offset;
        const u8* pa = static_cast<const u8*>(a) + start;
        const u8* pb = static_cast<const u8*>(b) + start;
        if (memcmp(pa, pb, span.bytes) == 0)
            continue;
        for (u64 i = 0;; ++i)
            if (pa[i] != pb[i])
                return static_cast<i64>(start + i);
    }
    return -1;
}

}

OutputSpan out_span(Op op, const KernelArgs& a)
{
    const u64 rows = a.row_end > a.row_begin ? a.row_end - a.row_begin : 0;
    switch (op.kind) {
    case OpKind::Matvec:
    case OpKind::Matmul: return { a.row_begin * 4, rows * 4, static_cast<u64>(a.d) * 4, static_cast<u64>(a.t) * a.d * 4 };
    case OpKind::Quantize: {
        // Q8G: a byte per value (scales apart); block formats: their blocks.
        const FormatInfo& f = format_info(op.format);
        const u64 bytes = is_q8g(op) ? a.gs : f.block_bytes;
        const u64 token = is_q8g(op) ? a.n : weight_row_bytes(op.format, a.n);
        return { a.row_begin * bytes, rows * bytes, token, static_cast<u64>(a.t) * token };
    }
    case OpKind::Copy: return { 0, a.n, 0, a.n };
    }
    return {};
}

OutputSpan out_scale_span(Op op, const KernelArgs& a)
{
    if (op.kind != OpKind::Quantize || !is_q8g(op))
        return {};
    const u64 rows = a.row_end > a.row_begin ? a.row_end - a.row_begin : 0;
    return { a.row_begin * 4, rows * 4, static_cast<u64>(a.d) * 4, static_cast<u64>(a.t) * a.d * 4 };
}

kl::ErrorOr<void> compare_outputs(Op op, const KernelArgs& a, const void* got, const float* got_scale,
    const void* expected, const float* expected_scale)
{
    const OutputSpan span = out_span(op, a);
    const i64 bad = first_difference(span, op.kind == OpKind::Copy ? 1 : a.t, got, expected);
    if (bad >= 0 && is_matrix(op)) {
        const u64 i = static_cast<u64>(bad) / 4;
        return Error::make(ErrorCode::JitMismatch, "mismatch at token %llu row %llu: %.9g, reference %.9g",
            static_cast<unsigned long long>(i / a.d), static_cast<unsigned long long>(i % a.d),
            static_cast<double>(static_cast<const float*>(got)[i]), static_cast<double>(static_cast<const float*>(expected)[i]));
    }
    if (bad >= 0)
        return Error::make(ErrorCode::JitMismatch, "mismatch at output byte %lld: 0x%02x, reference 0x%02x",
            static_cast<long long>(bad), static_cast<const u8*>(got)[bad], static_cast<const u8*>(expected)[bad]);
    const OutputSpan scales = out_scale_span(op, a);
    if (scales.bytes == 0)
        return {};
    const i64 bad_scale = first_difference(scales, a.t, got_scale, expected_scale);
    if (bad_scale >= 0) {
        const u64 i = static_cast<u64>(bad_scale) / 4;
        return Error::make(ErrorCode::JitMismatch, "mismatch at group scale %llu: %.9g, reference %.9g",
            static_cast<unsigned long long>(i), static_cast<double>(got_scale[i]), static_cast<double>(expected_scale[i]));
    }
    return {};
}

Sample::~Sample()
{
    if (m_block)
        kl::mem::release(m_block);
}

void Sample::fill_input(const KernelSlot& slot, float* values)
{
    const u64 count = slot.op.kind == OpKind::Copy ? slot.shape.n / 4 : static_cast<u64>(slot.shape.t) * slot.shape.n;
    u32 state = 0x9E3779B9u;
    for (u64 i = 0; i < count; ++i)
        values[i] = next_value(state);
    if (slot.op.kind == OpKind::Copy) {
        for (u64 i = count * 4; i < slot.shape.n; ++i)
            reinterpret_cast<u8*>(values)[i] = static_cast<u8>(i * 37);
        return;
    }
    // The quantizers' corner cases: a group of zeros (scale 0) and a group whose maximum
    // is 127 (scale exactly 1) holding exact halves, where the rounding rules differ.
    const u32 gs = is_q8g(slot.op) ? slot.shape.gs : format_info(slot.op.format).block_values;
    if (slot.op.kind == OpKind::Quantize && gs > 1 && slot.shape.n / gs >= 2) {
        memset(values, 0, gs * sizeof(float));
        float* halves = values + gs;
        for (u32 i = 0; i < gs; ++i)
            halves[i] = (i % 2 ? -1.0f : 1.0f) * (static_cast<float>(i % 100) + 0.5f);
        halves[0] = 127.0f;
    }
}

kl::ErrorOr<void> Sample::build(const KernelSlot& slot)
{
    const Op op = slot.op;
    const Shape s = slot.shape;
    KernelArgs& a = m_args;
    a = {};
    a.n = s.n;
    a.d = op.kind == OpKind::Copy ? 1 : s.d;
    a.t = s.t;
    a.gs = s.gs;
    a.w = slot.sample.w;
    a.w_scale = slot.sample.w_scale;
    a.row_begin = 0;
    a.row_end = a.d;
    if (is_matrix(op) && !a.w)
        return Error::make(ErrorCode::InvalidArgument, "%s: no sample weights to verify a kernel on", slot.name);

    // A matrix op reads its input in the weights' activation format: the fp32 sample is
    // converted as the engine would (Q8G: values and group scales).
    const Format activation = is_matrix(op) ? format_info(op.format).activation : Format::F32;
    const bool converted = activation != Format::F32;
    const u64 values = op.kind == OpKind::Copy ? (s.n + 3) / 4 : static_cast<u64>(s.t) * s.n;
    const u64 converted_bytes = converted ? s.t * weight_row_bytes(activation, s.n) : 0;
    const u64 groups = activation == Format::Q8G && s.gs ? values / s.gs : 0;
    const OutputSpan out = out_span(op, a), scale = out_scale_span(op, a);
    const u64 bytes = align64(values * 4) + align64(converted_bytes) + align64(groups * 4)
        + 2 * (align64(out.total) + align64(scale.total));
    u8* p = static_cast<u8*>(TRY(kl::mem::allocate(bytes, 64, "a JIT verification sample")));
    m_block = p;
    float* input = reinterpret_cast<float*>(p);
    p += align64(values * 4);
    fill_input(slot, input);
    a.x = input;
    if (activation == Format::Q8G) {
        float* xs = reinterpret_cast<float*>(p + align64(converted_bytes));
        ref::quantize_q8(input, static_cast<i8*>(static_cast<void*>(p)), xs, static_cast<u32>(values), s.gs);
        a.x_scale = xs;
    } else if (converted) {
        format_info(activation).quantize_row(input, p, values);
    }
    if (converted) {
        a.x = p;
        p += align64(converted_bytes) + align64(groups * 4);
    }
    a.out = p;
    a.out_scale = scale.total ? reinterpret_cast<float*>(p + align64(out.total)) : nullptr;
    p += align64(out.total) + align64(scale.total);
    m_scratch = p;
    m_scratch_scale = scale.total ? reinterpret_cast<float*>(p + align64(out.total)) : nullptr;

    const bool windows = is_matrix(op) && a.d > 2 * window_rows && call_work(op, s) > whole_matrix_work;
    m_windows = windows ? 2 : 1;
    m_window_rows[0][0] = 0;
    m_window_rows[0][1] = windows ? window_rows : a.d;
    m_window_rows[1][0] = a.d - window_rows;
    m_window_rows[1][1] = a.d;
    return {};
}

KernelArgs Sample::expected_call(u32 window) const
{
    KernelArgs a = m_args;
    a.row_begin = m_window_rows[window][0];
    a.row_end = m_window_rows[window][1];
    return a;
}

KernelArgs Sample::scratch_call(u32 window) const
{
    KernelArgs a = expected_call(window);
    a.out = m_scratch;
    a.out_scale = m_scratch_scale;
    return a;
}

}
