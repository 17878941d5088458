// What a kernel does: the operation kind and the format it works on, with one name table.
//
//   matvec / matmul   a weight matrix of `format` times t tokens of activations (t = 1 / t >= 1)
//   quantize          fp32 activations to `format` (an activation format: Q8G, Q8_0, Q8_K, ...)
//   copy              bytes (format F32, unused)
//
// A dispatcher slot, a kernel config and a cache entry are keyed by (Op, Shape, ...). Names
// are "<kind>_<format>" ("matvec_f32", "matmul_q8", "quantize_q8") and "copy": the names
// profiles, reports and warm-start files use.
#pragma once

#include "microjit/formats.h"

namespace mjit {

enum class OpKind : u8 { Matvec, Matmul, Quantize, Copy };
constexpr int op_kind_count = 4;

struct Op {
    OpKind kind = OpKind::Matvec;
    Format format = Format::F32;
    bool operator==(const Op&) const = default;
};

// The ops of the llama2.c formats by name (tests, benchmarks).
namespace ops {
constexpr Op matvec_f32 { OpKind::Matvec, Format::F32 };
constexpr Op matvec_q8 { OpKind::Matvec, Format::Q8G };
constexpr Op matmul_f32 { OpKind::Matmul, Format::F32 };
constexpr Op matmul_q8 { OpKind::Matmul, Format::Q8G };
constexpr Op quantize_q8 { OpKind::Quantize, Format::Q8G };
constexpr Op copy { OpKind::Copy, Format::F32 };
}

const char* op_kind_name(OpKind kind);  // "matvec", "matmul", "quantize", "copy"
constexpr bool is_matrix(Op op) { return op.kind == OpKind::Matvec || op.kind == OpKind::Matmul; }
constexpr bool is_q8g(Op op) { return op.format == Format::Q8G; }

// "matvec_f32", "quantize_q8", "copy".
void format_op_name(char* buffer, usize size, Op op);
// The inverse, for profiles; false for an unknown name.
bool parse_op_name(const char* name, Op& op);

// The matrix op of a weight format for t tokens per call (t = 1: matvec).
constexpr Op matrix_op(Format weights, u32 tokens) { return { tokens > 1 ? OpKind::Matmul : OpKind::Matvec, weights }; }

}
