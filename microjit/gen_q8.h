// Generator of Q8_0 matvec/matmul kernels (formats.md "Int8 checkpoint", kernel_abi.h):
//     out[tok][row] = sum_g float(isum_g) * w_scale[row][g] * x_scale[tok][g]
//     isum_g = sum_{k < gs} W[row][g*gs + k] * x[tok][g*gs + k]     (exact int32)
//
// Products are formed exactly in integers; per ISA:
//   SSE2      sign-extend bytes to i16 (punpck + psraw), pmaddwd
//   AVX2      sign trick: vpsignb moves x's sign onto W, |x| (computed once per chunk and
//             shared by all rows) is the unsigned operand of vpmaddubsw (u8 x s8 -> i16
//             pairs, at most 2*127*127, no saturation), then vpmaddwd by ones (-> i32 per
//             4 bytes)
//   AVX-512   the same on zmm with vpmovb2m + vpblendmb(x, -x) for the sign (no EVEX
//             vpsignb); the vnni variant replaces maddubsw+maddwd by vpdpbusd
// Values must lie in [-127, 127] (the format's quantizer guarantees it).
//
// Two layouts by group size, both exact per group:
//   packed   gs divides the vector (gs < width): each i32 lane holds 4 bytes of one group,
//            so the lane sums are converted at once and multiplied by a vector of group
//            scales (loaded, multiplied, and spread to lanes with vpermps / unpcklps).
//            This is the gs = 4 (stories260K-q8), 8, 16 (, 32 on AVX-512) path.
//   grouped  otherwise: whole vectors of one group accumulate in i32 lanes (any gs that is
//            a multiple of 4; the part of a group short of a vector is a masked load),
//            then one convert and one FMA by the broadcast product of the two scales.
//            On AVX2/AVX-512 the loop takes 8 groups at a time and forms the 8 scale
//            products of each row with one vector multiply, parked on the stack; each
//            group then broadcasts its product from there (a load instead of a multiply
//            on the busy multiplier ports).
// Rows, tokens, unroll, prefetch, stripes (here: two, for matvec) and the row/column tails
// work as in gen_f32.h.
#pragma once

#include "microjit/emitter.h"

namespace mjit {

class Q8MatmulGenerator final : public Emitter {
public:
    explicit Q8MatmulGenerator(const KernelConfig& config);

    static kl::ErrorOr<void> check(const KernelConfig& config);

    static constexpr u32 max_outputs = 16;  // rows x tokens in flight

private:
    // Columns of at most this many vectors become straight-line code.
    static constexpr u32 straight_line_chunks = 16;
    // Groups of more vectors than this run an inner loop over their vectors.
    static constexpr u32 unrolled_group_chunks = 8;
    // Groups whose scale products are formed together (one 8-float multiply per row).
    static constexpr u32 batch_groups = 8;

    void generate() override;
    void assign_registers();
    void load_args();
    void main_loop();
    void stripe_setup();
    void stripe_loop();
    void token_blocks(u32 rows);
    void sweep(u32 rows, u32 toks);
    void store(u32 rows, u32 toks);

    // packed layout (gen_q8_sweeps.cpp)
    void packed_sweep(u32 rows, u32 toks);
    void packed_chunk(u32 rows, u32 toks, bool indexed, i64 disp, i64 sdisp, bool tail);
    // grouped layout (gen_q8_sweeps.cpp)
    void grouped_sweep(u32 rows, u32 toks);
    void grouped_group(u32 rows, u32 toks, bool indexed, i64 disp, i64 sdisp, int batch_lane);
    void batch_scales(u32 rows, u32 toks, bool indexed, i64 sdisp);
    void grouped_chunk(u32 rows, u32 toks, bool indexed, i64 disp, bool partial, bool first);
    void prefetch_rows(u32 rows, bool indexed, i64 disp, i64 sdisp, u32 bytes);

    // ISA-specific pieces (gen_q8_ops.cpp)
    void load_bytes(const x86::Vec& dst, const x86::Mem& src, const Tail* tail);
    void prepare_x(u32 tok);                  // after x[tok] is loaded
    void prepare_w();                         // after m_wv is loaded
    void dot(u32 tok, const x86::Vec& dst, bool packed_lanes, bool accumulate);
    void load_scales(const x86::Vec& dst, const x86::Mem& src, u32 count, const Tail* tail);
    void spread_scales(const x86::Vec& s);    // group scales -> one per i32 lane
    void scale_fma(const x86::Vec& acc, const x86::Vec& isum, const x86::Vec& scale);

    const x86::Vec& acc(u32 row, u32 tok) const { return m_acc[row * m_toks + tok]; }
    const x86::Vec& isum(u32 row, u32 tok) const { return m_isum[row * m_toks + tok]; }
    x86::Mem w_mem(u32 row, bool indexed, i64 disp) const;
    x86::Mem x_mem(u32 tok, bool indexed, i64 disp) const;
    x86::Mem ws_mem(u32 row, bool indexed, i64 sdisp) const;
    x86::Mem xs_mem(u32 tok, bool indexed, i64 sdisp) const;

    // Shape, baked in.
    u32 m_n, m_d, m_t, m_gs, m_groups;
    u32 m_rows, m_toks, m_unroll;
    bool m_packed, m_vnni, m_aligned;
    bool m_stripes, m_in_stripe;  // variant::stripes (two stripes), emitting the stripe loop
    // packed: groups per vector, full vectors per row, tail bytes / tail groups
    u32 m_gpv, m_full, m_tail_bytes, m_tail_groups;
    // grouped: full vectors per group, bytes of the partial vector
    u32 m_vpg, m_partial_bytes;
    bool m_straight;    // no column loop at all
    i64 m_loop_bytes;   // packed loop: bytes the byte index covers (runs -m_loop_bytes .. 0)
    i64 m_loop_sbytes;  // ... and the scale index
    u32 m_groups_per_iter, m_loop_groups;
    bool m_batched;     // grouped: scale products of 8 groups at once, kept on the stack

    // General registers.
    // (row_end stays in memory: the general registers are all spoken for with stripes.)
    x86::Gp m_args, m_row, m_w, m_ws, m_xt, m_xst, m_ot, m_col, m_scol, m_tok_count, m_kcount, m_scratch;
    // Stripes (two): each stripe's current W and w_scale row, the out pointer of stripe 0,
    // the distance to stripe 1 in out (rows per stripe * 4), the steps left.
    x86::Gp m_stripe_w[2], m_stripe_ws[2], m_stripe_out, m_stripe_gap, m_stripe_count;
    // Vector registers.
    x86::Vec m_acc[max_outputs];
    x86::Vec m_isum[max_outputs];  // grouped: i32 sums of the current group
    x86::Vec m_xv[8];              // x chunk per token (SSE2: its high half as i16)
    x86::Vec m_xlo[8];             // SSE2: low half of x as i16
    x86::Vec m_xneg[8];            // AVX-512: -x
    x86::Vec m_xabs[8];            // AVX2: |x|
    x86::Vec m_xs[8];              // packed: group scales of x per token
    x86::Vec m_wv, m_wa, m_t1, m_t2, m_t3;
    x86::Vec m_ones, m_zero, m_wsv, m_sv, m_spread;
    x86::KReg m_sign;
    Tail m_byte_tail, m_scale_tail;
};

}
