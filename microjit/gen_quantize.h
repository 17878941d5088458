// Generator of the activation quantizers, bit-identical to their reference kernels:
//   Q8G (mjit::ref::quantize_q8): per group of gs floats, scale = max|x| / 127 (a true
//     division), q = round(x / scale) with halves away from zero, q = 0 when scale = 0;
//     the scales to out_scale.
//   Q8_0 (ref::quantize_q8_0, blocks of 32): d = max|x| / 127, id = d ? 1 / d : 0, q =
//     round(x * id) with halves away from zero; fp16(d) (vcvtps2ph, round to nearest even)
//     and the 32 q in each 34-byte block.
//   Q8_K (ref::quantize_q8_k, blocks of 256): max = the first value of largest magnitude,
//     iscale = -127 / max, q = min(127, round_even(iscale * x)) through the same 1.5 * 2^23
//     addition as the reference, d = 1 / iscale, the sum of each 16 q; an all-zero block is
//     all zeros (iscale and d masked to 0 instead of a branch).
//
// Why it is exact: max is order-independent; vdivss/vdivps round like the scalar
// division; the rounding is done as trunc(v) + (|v - trunc(v)| >= 0.5 ? sign(v) : 0), where
// v - trunc(v) is exact for every float, so no "add 0.5" double rounding can creep in.
// Finite inputs only (NaN/inf groups are not defined by the format).
//
// Calling convention: KernelArgs (kernel_abi.h, op quantize): x [t][n] floats in, out
// [t][n] int8 and out_scale [t][n / gs] out (Q8G), or out [t][n / block] blocks, for the
// groups (blocks) row_begin..row_end of every token; n, gs and t are baked in. Vectors
// are as wide as the ISA allows while still dividing a group (gs = 4: xmm). Q8_0 and Q8_K
// need AVX2 or AVX-512 (vcvtps2ph, byte packing); SSE2 keeps their reference kernels.
#pragma once

#include "microjit/emitter.h"

namespace mjit {

class QuantizeGenerator final : public Emitter {
public:
    explicit QuantizeGenerator(const KernelConfig& config);

    static kl::ErrorOr<void> check(const KernelConfig& config);
    static bool serves(Format format);

private:
    void generate() override;
    void assign_registers();
    void load_args();
    void token_loop();
    void group_loop();
    void group(i64 x_disp, i64 q_disp, i64 s_disp);
    void group_max(i64 x_disp);
    void quantize_chunk(i64 x_disp, i64 q_disp);
    void zero_unless_nonzero(const x86::Xmm& v, const x86::Xmm& test);
    void q8k_scale();
    void q8k_chunk(u32 chunk);
    void q8k_pairs();
    void store_transposed(const x86::Xmm& src, u32 index);

    x86::Vec w(const x86::Vec& v) const;  // the register at this kernel's chunk width

    Format m_format;    // Q8G, Q8_0 or Q8_K
    u32 m_n, m_gs, m_t;
    u32 m_group_bytes;  // bytes of out per group: gs (Q8G) or the block's
    u32 m_chunk_bytes;  // bytes of floats per vector (16/32/64)
    u32 m_chunks;       // vectors per group

    // The current token's x, out and out_scale at group row_begin; the walking pointers;
    // groups per token (row_end - row_begin), groups left, tokens left.
    x86::Gp m_args, m_xt, m_qt, m_st, m_x, m_q, m_s, m_groups, m_count, m_tokens;
    x86::Gp m_scan;  // Q8_K: the lanes holding the block's largest magnitude
    x86::Vec m_abs_mask, m_half, m_one, m_zero;
    x86::Vec m_max, m_tmp, m_scale, m_nonzero, m_v, m_i, m_f, m_ge, m_sign;
    x86::KReg m_knonzero, m_kround;
};

}
