// What a generated kernel is specialised on: the KernelConfig, which is also its cache key.
//
// The config names the operation (op.h: kind and format), the shape (baked into the code:
// trip counts, strides, tails), the ISA, and the variant knobs the autotuner varies: rows
// and tokens in flight (register blocking), unroll, software prefetch distance and a few
// flag bits. Two equal configs always produce the same bytes. Every kernel, whatever its
// op, is a KernelFn taking KernelArgs (kernel_abi.h).
#pragma once

#include "kernel_lib/base/error.h"
#include "microjit/isa.h"
#include "microjit/op.h"

namespace mjit {

// Variant flag bits (KernelConfig::flags).
namespace variant {
constexpr u8 aligned = 1 << 0;       // x (and W rows) are vector-aligned: aligned loads
constexpr u8 vnni = 1 << 1;          // Q8 on AVX-512: vpdpbusd instead of vpmaddubsw+vpmaddwd
constexpr u8 rep_movsb = 1 << 2;     // copy: rep movsb (worth it with ERMS/FSRM)
constexpr u8 prefetch_nta = 1 << 3;  // software prefetch with the non-temporal hint
// The rows in flight come from `rows` (2..4) equal stripes of the row range, one row of
// each per step, instead of `rows` adjacent rows: every load then walks one linear
// stream, which the hardware prefetchers follow (adjacent short rows defeat them).
constexpr u8 stripes = 1 << 4;
constexpr u8 nontemporal = 1 << 5;   // copy: streaming stores (large copies the caches need not keep)
// Q4_0, Q4_K, Q6_K with vnni: the nibbles with one vgf2p8affineqb (and Q4_K's scales into
// words with one vpermb: the caps' gfni also requires AVX512_VBMI).
constexpr u8 gfni = 1 << 6;
// (Bit 7 was `grid`, the K formats' matvec on the prefill kernels' grid instead of the
// sub-block lanes; since 2026-12-07 every AVX-512 K kernel runs on the grid.)
constexpr u8 all = aligned | vnni | rep_movsb | prefetch_nta | stripes | nontemporal | gfni;
}

// The formats whose kernels have the gfni variant (with vnni): the one place that lists them.
constexpr bool has_gfni_variant(Format f) { return f == Format::Q4_0 || f == Format::Q4_K || f == Format::Q6_K; }

struct KernelConfig {
    Op op;
    Isa isa = Isa::Sse2;
    u8 rows = 4;        // rows of W in flight (matrix ops)
    u8 tokens = 1;      // tokens in flight (matmul); 1 for matvec
    u8 unroll = 1;      // vector chunks (or Q8 groups) per main-loop iteration
    u8 flags = 0;       // variant:: bits
    u16 prefetch = 0;   // software prefetch distance in bytes on each weight row; 0 = none
    Shape shape;        // matrix: n, d, t, gs; quantize: n, d = n / gs, t, gs; copy: n = bytes
    bool operator==(const KernelConfig&) const = default;
};

// The canonical config of an op: 4 rows (fewer if the registers do not suffice), 2 tokens
// for matmul, unroll 1, no prefetch, no variant bits. For quantize and copy, which have
// no such knobs, they are 1 (and must stay 1, so that equal kernels have equal keys).
KernelConfig default_config(Op op, Shape shape, Isa isa);

// "matvec_f32_avx2_n288_d768_r4u2", "matvec_q8_avx2_n288_d768_gs64_r4u1_vnni", ...: the
// op, the ISA, the shape, then the variant.
void format_config_name(char* buffer, usize size, const KernelConfig& config);

// Shape and knob checks common to all generators (each generator adds its own, e.g. the
// register budget): the error says which value is wrong and what is accepted.
kl::ErrorOr<void> check_config(const KernelConfig& config);

// Whether code for `config` may run on a CPU with `caps` (ISA level, BW, VNNI).
kl::ErrorOr<void> check_runnable(const KernelConfig& config, const CpuCaps& caps);

}
