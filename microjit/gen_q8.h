// Generator of Q8_0 matvec/matmul kernels (formats.md "Int8 checkpoint", kernel_abi.h) that
// reproduce ref::matmul_q8 bit for bit:
//     sum = +0; for g in order: sum = fl(sum + fl(fl(float(isum_g) * w_scale[row][g]) * x_scale[tok][g]))
//     isum_g = sum_{k < gs} W[row][g*gs + k] * x[tok][g*gs + k]     (exact int32)
//
// The work goes in batches of groups. For each output (row, token) of the block in flight
// the integer stage forms each group's exact isum; the float stage then computes the
// batch's terms fl(fl(isum * ws) * xs) with lanes = groups (contiguous scale loads), and
// four outputs at a time are transposed so that lanes = outputs: each accumulator lane is
// one output, and the group terms are added to it one after the other, in group order.
//
// Two layouts of the integer stage, both exact:
//   packed   gs = 4 (stories260K-q8): each i32 lane of a vector holds one whole group, so
//            a batch is one vector of groups per output (4, 8 or 16 groups).
//   grouped  any other gs (a multiple of 4): each group is summed in its own vector of
//            16/32/64 bytes (the part of a group short of a vector is a masked load),
//            batches of 4 groups, whose vectors a horizontal-add tree (and a fold of the
//            128-bit blocks) reduces to one xmm [isum0..isum3].
// Products per ISA:
//   SSE2      sign-extend bytes to i16 (punpck + psraw), pmaddwd
//   AVX2      vpsignb gives w the sign of x, |x| is the unsigned operand of vpmaddubsw
//             (u8 x s8 -> i16 pairs, at most 2*127*127: no saturation), vpmaddwd by ones
//   AVX-512   the same on zmm with vpmovb2m + a masked vpsubb for the sign (no EVEX vpsignb)
//   VNNI      vpdpbusd of (x + 128) as u8 with w, minus vpdpbusd of 128 with w
// Values must lie in [-127, 127] (the format's quantizer guarantees it).
// Rows, tokens and stripes (two, for matvec) loop as gen_matrix.h says; `unroll` batches
// per loop iteration; optional software prefetch on the weight (and small-group scale) rows.
#pragma once

#include "microjit/gen_matrix.h"

namespace mjit {

class Q8MatmulGenerator final : public MatrixGenerator {
public:
    explicit Q8MatmulGenerator(const KernelConfig& config);

    static kl::ErrorOr<void> check(const KernelConfig& config);

    static constexpr u32 max_outputs = 16;  // rows x tokens in flight

private:
    // Groups of more full vectors than this run an inner loop over their vectors.
    static constexpr u32 long_group_chunks = 8;
    static constexpr u32 max_quads = 8;

    void generate() override;
    void assign_registers();
    void assign_temps(u32 count);
    void sweep(u32 rows, u32 toks) override;
    void store(u32 rows, u32 toks) override;
    void prefetch_rows(u32 rows, bool indexed, i64 disp, i64 sdisp, u32 bytes) override;

    // Batches and the float stage (gen_q8_sweeps.cpp).
    // A batch of m_batch groups (the last one: m_rest).
    void column_step(u32 rows, u32 toks, bool indexed, i64 disp, i64 sdisp, bool last) override;
    void output_terms(u32 row, u32 tok, bool indexed, i64 disp, i64 sdisp, u32 groups, const x86::Vec& f);
    void group_sum(const x86::Vec& dst, u32 row, u32 tok, bool indexed, i64 disp);
    void scale(const x86::Vec& f, u32 row, u32 tok, bool indexed, i64 sdisp, bool partial);
    void accumulate(const x86::Vec& acc, u32 count, u32 groups);

    // ISA-specific sequences (gen_q8_ops.cpp).
    void load_int(const x86::Vec& dst, const x86::Mem& src, const Tail* tail);
    void dot(const x86::Vec& dst, const x86::Mem& w, const x86::Mem& x, const Tail* tail, bool first);
    void finish_group(const x86::Vec& dst);
    void hadd(const x86::Vec& dst, const x86::Vec& b);  // i32 pair sums per 128-bit block, dst = hadd(dst, b)
    void mul_scales(const x86::Vec& f, const x86::Mem& s, bool partial);

    const x86::Vec& acc(u32 quad) const { return m_acc[quad]; }
    x86::Vec at(const x86::Vec& v, u32 bytes) const;  // v as xmm/ymm/zmm
    x86::Vec wide(const x86::Vec& v) const { return at(v, m_width); }  // at the integer stage's width

    // Shape, baked in.
    u32 m_n, m_gs, m_groups;
    u32 m_rows, m_toks;
    bool m_packed, m_vnni, m_aligned;
    u32 m_width;         // bytes of the integer vectors
    u32 m_batch;         // groups per batch
    u32 m_chunks;        // grouped: full vectors per group
    u32 m_partial;       // grouped: bytes of the short last vector of a group (0 = none)
    bool m_long;         // grouped: an inner loop over each group's vectors
    u32 m_rest;          // groups left over after the whole batches

    // The temporaries by role, assigned once in assign_registers(). Roles never live at the
    // same time share a register: the transpose's five are the integer stage's too, and
    // each ISA's products use their own few (SSE2 and AVX-512 two more than AVX2).
    struct Temps {
        x86::Vec pair_left, pair_right;      // group sums waiting in the pair-add tree
        x86::Vec x, x_high;                  // x as loaded (SSE2: i16 halves; VNNI: x + 128)
        x86::Vec w, w_high;                  // w as loaded (SSE2: i16 halves)
        x86::Vec abs_x, signed_w, product;   // AVX2 / AVX-512: |x|, w with x's sign, pair products
        x86::Vec bias_sum;                   // VNNI: the 128 * w sums
        x86::Vec pair_scratch;               // hadd's scratch (SSE2, AVX-512); SSE2 tails borrow it
        x86::Vec scale;                      // the scales a batch's terms are multiplied by
        x86::Vec transpose[5];               // transpose4's scratch
        x86::Vec spare;                      // a term extracted from a wide column
    };

    x86::Gp m_kcount;  // long groups: vectors left
    // Vector registers: accumulators (xmm, lane = output) per quad of outputs, the terms of
    // the quad's outputs, the temporaries, constants.
    x86::Vec m_acc[max_quads];
    x86::Vec m_f[4];
    Temps m_t;
    x86::Vec m_ones, m_zero, m_c80;
    x86::KReg m_sign;
    Tail m_byte_tail, m_scale_tail;
};

}
