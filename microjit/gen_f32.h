// Generator of fp32 matvec/matmul kernels: out[tok][row] = W[row] . x[tok] (kernel_abi.h),
// summed in exactly the canonical order of ref::dot_f32 (reference.h), so that every
// variant on every ISA returns the reference's bits. The same kernels serve F16 and BF16
// weights and activations (formats.h): each load converts 8 or 16 halves to fp32 exactly
// (vcvtph2ps; BF16 by a shift into the top half), and since the product of two halves is
// exact in fp32, this is ref::matmul_f16 / matmul_bf16's order (reference_blocks.h). Halves
// need AVX2 (with F16C for F16) or AVX-512 and an even n; SSE2 machines keep the reference.
//
// The 16 canonical lanes of each dot product live in P = 64 / vector-bytes accumulators
// (SSE2 four xmm, AVX2 two ymm, AVX-512 one zmm): vector v of a 64-byte chunk feeds part
// v, product first (vmulps), then the add (vaddps); no FMA. The short last chunk touches
// only its own lanes (masked or blended add). At the end each output folds its parts
// (s8 = parts' halves, s4), four outputs are transposed together and finish the tree
// s2 = s4[0..1] + s4[2..3], result = s2[0] + s2[1] in one vector.
//
// Specialised on n, d and t: every trip count, stride and tail is a constant. The kernel
// takes `rows` rows of W and `tokens` tokens at a time (register blocking: each weight
// vector is loaded once per block and multiplied for every token in flight, each output
// with its own lanes); `unroll` chunks per loop iteration only shorten the loop. Rows,
// stripes and tokens loop as gen_matrix.h says. Optional software prefetch `prefetch`
// bytes ahead on every weight row.
#pragma once

#include "microjit/gen_matrix.h"

namespace mjit {

class F32MatmulGenerator final : public MatrixGenerator {
public:
    explicit F32MatmulGenerator(const KernelConfig& config);

    // Register budget and shape checks specific to this family.
    static kl::ErrorOr<void> check(const KernelConfig& config);

    static constexpr u32 max_accumulators = 32;

private:
    void generate() override;
    void sweep(u32 rows, u32 toks) override;
    void store(u32 rows, u32 toks) override;
    // A 64-byte chunk of 16 values (the last one: m_tail_vecs vectors).
    void column_step(u32 rows, u32 toks, bool indexed, i64 disp, i64, bool last) override;
    void load_values(const x86::Vec& dst, const x86::Mem& src, bool tail);
    void mul_add(const x86::Vec& acc, const x86::Vec& x, const asmjit::Operand& w, bool partial);
    void fold(u32 row, u32 tok);

    const x86::Vec& acc(u32 row, u32 tok, u32 part) const { return m_acc[(row * m_toks + tok) * m_parts + part]; }

    // Shape, baked in.
    u32 m_n;
    u32 m_value_bytes;  // 4 (fp32) or 2 (F16, BF16)
    u32 m_chunk_bytes;  // bytes of 16 values
    u32 m_rows, m_toks;
    u32 m_parts;        // accumulators per output: 64 / vector bytes
    u32 m_tail_vecs;    // vectors of the last, short chunk (the last one maybe partial)
    bool m_tail_partial;
    bool m_aligned;

    // Vector registers: accumulators, x per token in flight, the weights (when shared by
    // several tokens, and always on SSE2), the product (AVX; SSE2 with several tokens).
    x86::Vec m_acc[max_accumulators];
    x86::Vec m_xv[8];
    x86::Vec m_wv, m_prod;
    Tail m_tail, m_half_tail;  // the short last vector: its fp32 lanes, its halves as dwords
};

}
