// What a generated kernel is specialised on: the KernelConfig, which is also its cache key.
//
// The config names the operation, the shape (baked into the code: trip counts, strides,
// tails), the ISA, and the variant knobs the autotuner varies: rows and tokens in flight
// (register blocking), unroll, software prefetch distance and a few flag bits. Two equal
// configs always produce the same bytes.
//
// Besides the four matrix operations of kernel_abi.h the JIT has two helpers with their own
// small calling conventions (below): the Q8_0 activation quantizer and a fixed-size copy.
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/isa.h"
#include "microjit/kernel_abi.h"

namespace mjit {

enum class KernelOp : u8 {
    MatvecF32,   // kernel_abi.h, t == 1
    MatvecQ8,
    MatmulF32,   // kernel_abi.h, t >= 1 tokens
    MatmulQ8,
    QuantizeQ8,  // QuantizeArgs: fp32 -> Q8_0 groups, bit-identical to ref::quantize_q8
    Copy,        // CopyFn: memcpy of shape.n bytes
};
constexpr int kernel_op_count = 6;
constexpr KernelOp kernel_op(Op op) { return static_cast<KernelOp>(op); }
static_assert(kernel_op(Op::MatmulQ8) == KernelOp::MatmulQ8);

const char* kernel_op_name(KernelOp op);  // "matvec", "matvec_q8", "matmul", ...
constexpr bool is_matrix_op(KernelOp op) { return op <= KernelOp::MatmulQ8; }
constexpr bool is_q8_op(KernelOp op) { return op == KernelOp::MatvecQ8 || op == KernelOp::MatmulQ8; }

// Variant flag bits (KernelConfig::flags).
namespace variant {
constexpr u8 aligned = 1 << 0;       // x (and W rows) are vector-aligned: aligned loads
constexpr u8 vnni = 1 << 1;          // Q8 on AVX-512: vpdpbusd instead of vpmaddubsw+vpmaddwd
constexpr u8 rep_movsb = 1 << 2;     // Copy: rep movsb (worth it with ERMS/FSRM)
constexpr u8 prefetch_nta = 1 << 3;  // software prefetch with the non-temporal hint
// The rows in flight come from `rows` (2..4) equal stripes of the row range, one row of
// each per step, instead of `rows` adjacent rows: every load then walks one linear
// stream, which the hardware prefetchers follow (adjacent short rows defeat them).
constexpr u8 stripes = 1 << 4;
constexpr u8 all = aligned | vnni | rep_movsb | prefetch_nta | stripes;
}

struct KernelConfig {
    KernelOp op = KernelOp::MatvecF32;
    Isa isa = Isa::Sse2;
    u8 rows = 4;        // rows of W in flight (matrix ops)
    u8 tokens = 1;      // tokens in flight (matmul); 1 for matvec
    u8 unroll = 1;      // vector chunks (or Q8 groups) per main-loop iteration
    u8 flags = 0;       // variant:: bits
    u16 prefetch = 0;   // software prefetch distance in bytes on each weight row; 0 = none
    Shape shape;        // matrix: n, d, t, gs; QuantizeQ8: n, gs; Copy: n = bytes
    bool operator==(const KernelConfig&) const = default;
};

// Quantizer calling convention: void fn(const QuantizeArgs*), n and gs baked in.
struct QuantizeArgs {
    const float* x;  // [n]
    i8* q;           // [n]
    float* scale;    // [n / gs]
};
static_assert(offsetof(QuantizeArgs, q) == 8 && offsetof(QuantizeArgs, scale) == 16);
using QuantizeFn = void (*)(const QuantizeArgs*);

// Copy calling convention: void fn(void* dst, const void* src), size baked in; the ranges
// must not overlap.
using CopyFn = void (*)(void* dst, const void* src);

// The canonical config of an op: 4 rows (fewer if the registers do not suffice), 2 tokens
// for matmul, unroll 1, no prefetch, no variant bits. For QuantizeQ8 and Copy, which have
// no such knobs, they are 1 (and must stay 1, so that equal kernels have equal keys).
KernelConfig default_config(KernelOp op, Shape shape, Isa isa);

// "matvec_avx2_n288_d768_r4u2", "matvec_q8_avx2_n288_d768_gs64_r4u1_vnni", ...: the shape
// part first (as in the examples), then the variant.
void format_config_name(char* buffer, usize size, const KernelConfig& config);

// Shape and knob checks common to all generators (each generator adds its own, e.g. the
// register budget): the error says which value is wrong and what is accepted.
kl::ErrorOr<void> check_config(const KernelConfig& config);

// Whether code for `config` may run on a CPU with `caps` (ISA level, BW, VNNI).
kl::ErrorOr<void> check_runnable(const KernelConfig& config, const CpuCaps& caps);

}
