// Generator of the Q8_0 activation quantizer, bit-identical to mjit::ref::quantize_q8:
// per group of gs floats, scale = max|x| / 127 (a true division), q = round(x / scale)
// with halves away from zero, q = 0 when scale = 0.
//
// Why it is exact: max is order-independent; vdivss/vdivps round like the scalar
// division; the rounding is done as trunc(v) + (|v - trunc(v)| >= 0.5 ? sign(v) : 0), where
// v - trunc(v) is exact for every float, so no "add 0.5" double rounding can creep in.
// Finite inputs only (NaN/inf groups are not defined by the format).
//
// Calling convention: KernelArgs (kernel_abi.h, op quantize): x [t][n] floats in, out
// [t][n] int8 and out_scale [t][n / gs] out, for the groups row_begin..row_end of every
// token; n, gs and t are baked in. Vectors are as wide as the ISA allows while still
// dividing a group (gs = 4: xmm).
#pragma once

#include "microjit/emitter.h"

namespace mjit {

class QuantizeGenerator final : public Emitter {
public:
    explicit QuantizeGenerator(const KernelConfig& config);

    static kl::ErrorOr<void> check(const KernelConfig& config);

private:
    void generate() override;
    void assign_registers();
    void load_args();
    void token_loop();
    void group_loop();
    void group(i64 x_disp, i64 q_disp, i64 s_disp);
    void group_max(i64 x_disp);
    void quantize_chunk(i64 x_disp, i64 q_disp);

    x86::Vec w(const x86::Vec& v) const;  // the register at this kernel's chunk width

    u32 m_n, m_gs, m_t;
    u32 m_chunk_bytes;  // bytes of floats per vector (16/32/64)
    u32 m_chunks;       // vectors per group

    // The current token's x, out and out_scale at group row_begin; the walking pointers;
    // groups per token (row_end - row_begin), groups left, tokens left.
    x86::Gp m_args, m_xt, m_qt, m_st, m_x, m_q, m_s, m_groups, m_count, m_tokens;
    x86::Vec m_abs_mask, m_half, m_one, m_zero;
    x86::Vec m_max, m_tmp, m_scale, m_nonzero, m_v, m_i, m_f, m_ge, m_sign;
    x86::KReg m_knonzero, m_kround;
};

}
