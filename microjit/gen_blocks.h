// Generator of the block formats' integer matvec/matmul kernels (Q8_0, Q4_0, Q4_K, Q5_K,
// Q6_K; formats.h has the KernelArgs convention), on AVX2 and AVX-512 (VNNI where the CPU
// has it). Every output equals the format's reference kernel bit for bit: per output
// sum = +0, then block after block sum = fl(sum + term), with the block's integer sums
// exact and its term computed in the order reference_blocks.h gives.
//
// One family: the formats differ in how a row's bytes become unsigned 8-bit values (the
// unpacking, data-driven: which bytes, which shift, which high bits) and in the float step
// of a block; the integer dot products, the reduction and the accumulation are common.
//
// Integer stage, per row in flight and token in flight, into one i32 vector V:
//   K formats (one 256-value block per step), the unpacked values q (0..63, Q6_K as q + 32)
//     times the Q8_K values: vpmaddubsw (u8 x s8 -> i16 pairs, no saturation at these
//     ranges), then vpmaddwd (VNNI: vpdpwssd) by the sub-block scales, each i16 scale
//     duplicated into a dword and spread over the vector with vpermd, into V; Q6_K adds
//     -32 * sum_j scale_j * bsums_j the same way (but see the transposed grids below).
//     Q4_K, Q5_K keep mins * bsums in a second vector M (imin).
//   The K formats on AVX-512 (matvec and matmul) work on a grid: one zmm holds a
//     quad's four rows for four tokens, dword 4t + r. The quad's scales and mins are
//     decoded once (row r in lane r); imin is four vpdpwssd (vpmaddwd) of the mins and
//     the tokens' bsum pairs, each permuted into the grid; the rows' sums fold into
//     the grid after the quad; the float step and the accumulator are one vector each.
//     Q4_K there with VNNI ("transposed"): one vpdpbusd per W-vector and token on the Q8_K
//     block's qword-transposed values (qs_t), one qword of each sub-block per W-vector (lane
//     shuffles of the row's bytes), so that each dword lane meets one sub-block in all four
//     and its sum fits an i16; the reduction's first level packs two rows' sums into
//     words and one vpmaddwd applies the scales (row_pairs).
//     Q6_K there with VNNI and GFNI ("q6_grid"): one vpdpbusd per 64 values and token on
//     the values as they lie (the nibbles and high bits merged by GF(2) affine maps), each
//     128-bit lane of its sums one sub-block of 16; two vectors' sums packed into words
//     and multiplied by their scales with one vpdpwssd, onto sums that start at
//     -32 * scales * bsums; then the grid's tree.
//   Q4_0, Q8_0 (32-value blocks, S per step: 4 on AVX-512, 2 on AVX2): each 128-bit lane of
//     V is one block. A step's weights and activations are gathered as "values 0..15 of
//     each block" and "values 16..31" (lane L = block L); Q4_0's nibbles are unsigned
//     (q + 8), Q8_0's bytes get 128 added (vpdpbusd; without VNNI the sign goes to the
//     activations' side as for Q8G), and the lane's sum of x times 8 or 128, computed
//     once per token, is subtracted after the reduction. A matvec builds the activations'
//     side of every step once per call, into the step cache (prepare_columns).
// Reduction, four rows (a quad) at a time: pair-add trees (vphaddd) leave, per 128-bit
//   lane, [r0, r1, r2, r3]; the K formats then fold the lanes into one xmm (and M's into a
//   second) or, on the grid, the tokens' vectors into one, the legacy formats keep lane
//   L = block L.
// Float step, lanes = the quad's four rows, per token (on the grid: dwords 4t + r, all
//   tokens at once; fp16 scales gathered per row and converted exactly with vcvtph2ps):
//   Q4_K, Q5_K   d = fl(d_w * d_x), dmin = fl(dmin_w * d_x) (one vmulps on the interleaved
//                pairs), term = fl(fl(d * float(isum)) - fl(dmin * float(imin)))
//   Q6_K         term = fl(fl(d_w * d_x) * float(isum))
//   Q4_0         term = fl(fl(float(isum) * d_w) * d_x)
//   Q8_0         term = fl(float(isum) * fl(d_w * d_x))
//   then acc (xmm, lane = row) = fl(acc + term), block after block.
// Rows, stripes and tokens loop as gen_matrix.h says (rows in flight: quads, the last one
// possibly short); `unroll` steps per loop iteration; optional software prefetch on the
// weight rows. SSE2 has no byte shuffles or vpmaddubsw: the reference serves it.
#pragma once

#include "microjit/gen_matrix.h"

namespace mjit {

class BlockMatmulGenerator final : public MatrixGenerator {
public:
    explicit BlockMatmulGenerator(const KernelConfig& config);

    static kl::ErrorOr<void> check(const KernelConfig& config);
    // The formats this family generates.
    static constexpr bool serves(Format f)
    {
        return f == Format::Q8_0 || f == Format::Q4_0 || f == Format::Q4_K || f == Format::Q5_K || f == Format::Q6_K;
    }

    static constexpr u32 max_quads = 4;   // rows in flight / 4
    static constexpr u32 max_tokens = 4;  // tokens in flight

private:
    void generate() override;
    void assign_registers();
    void load_constants();
    void sweep(u32 rows, u32 toks) override;
    void store(u32 rows, u32 toks) override;
    u32 step_cache_bytes() const override;
    void prepare_columns() override;
    x86::Mem step_cache(bool indexed, i64 disp, u32 slot) const;
    // A step of m_step_blocks blocks (the last one: m_rest).
    void column_step(u32 rows, u32 toks, bool indexed, i64 disp, i64 xdisp, bool last) override;

    // One row's integer stage (gen_blocks_k.cpp, gen_blocks_legacy.cpp).
    void k_row(u32 row, u32 toks, bool indexed, i64 disp, i64 xdisp);
    void k4_scales_mins(const x86::Vec& dst, const x86::Mem* rows, u32 count);
    void k_grid_row_bytes(u32 row, u32 toks, bool indexed, i64 disp, i64 xdisp);
    void k_grid_constants();
    void k_grid_row_q6(u32 row, u32 toks, bool indexed, i64 disp, i64 xdisp);
    void k_pair_scales(u32 pair);
    void k_decode_scales(u32 row, bool indexed, i64 disp);
    void k_unit_values(const x86::Vec& dst, u32 row, bool indexed, i64 disp, u32 first_unit);
    void k_scale_vector(const x86::Vec& dst, u32 first_unit);
    void k_decode_quad(u32 quad, u32 count, bool indexed, i64 disp);
    void k_grid_x_side(u32 toks, bool indexed, i64 xdisp);
    void k_grid_mins(u32 quad, u32 count, u32 toks, bool indexed, i64 disp);
    void k_lane_imins(const x86::Vec& dst, const x86::Vec& mins, const x86::Vec& pairs, const x86::Vec& tmp);
    void k_grid_row_scales(u32 row);
    void legacy_x_side(u32 toks, bool indexed, i64 xdisp, u32 blocks);
    void cache_x_side(bool store, bool indexed, i64 xdisp);
    void legacy_row(u32 row, u32 quad_row, u32 toks, bool indexed, i64 disp, u32 blocks);
    void gather_lanes(const x86::Vec& dst, const x86::Mem& first, u32 stride, u32 blocks);
    bool permute_gather(u32 blocks) const { return is_avx512() && blocks == 4; }
    // gather_words' five gathers (gen_blocks_legacy.cpp).
    enum GatherKind : u32 { q4_nibbles, q4_scales, q8_high, q8_low, q8_scales, gather_kinds };
    void gather_words(const x86::Vec& dst, const x86::Mem& base, GatherKind kind, bool load_first);
    x86::Mem word_index(GatherKind kind);
    void hold_gather_indices();
    void row_scales(u32 quad_row, const x86::Mem& w, GatherKind kind);
    void gather_q8_0(const x86::Vec& low, const x86::Vec& high, const x86::Mem& base);

    // The reduction and the float step (gen_blocks.cpp).
    void tree_step(u32 quad_row, u32 count, u32 toks);
    void fold_quad(u32 tok);
    void fold_grid(u32 toks);
    void row_pairs(const x86::Vec& dst, const x86::Vec& a, const x86::Vec& b);
    void fold_grid_pair(const x86::Vec& a, const x86::Vec& b);
    void k_float_step(u32 quad, u32 count, u32 toks, bool indexed, i64 disp, i64 xdisp);
    void k_grid_terms(u32 quad, u32 count, u32 toks, bool indexed, i64 disp, const x86::Vec& d,
        const x86::Vec& min_term);
    void k_grid_terms_one(const x86::Vec& d, const x86::Vec& min_term);
    void k_grid_add_terms(u32 quad, u32 toks, const x86::Vec& d, const x86::Vec& min_term);
    void legacy_float_step(u32 quad, u32 count, u32 toks, bool indexed, i64 disp, u32 blocks);
    void gather_scales(const x86::Vec& dst, u32 quad_first, u32 count, bool indexed, i64 disp, u32 offset, u32 blocks, bool pairs);

    x86::Mem xq_mem(u32 tok, bool indexed, i64 disp) const;  // token tok's activation bytes
    x86::Vec at(const x86::Vec& v, u32 bytes) const;         // v as xmm/ymm/zmm
    x86::Vec y(const x86::Vec& v) const { return at(v, 32); }
    x86::Vec wide(const x86::Vec& v) const { return at(v, m_width); }
    void hadd(const x86::Vec& dst, const x86::Vec& a, const x86::Vec& b);  // per 128-bit lane: [a0+a1, a2+a3, b0+b1, b2+b3]
    void insert128(const x86::Vec& dst, const x86::Vec& src, const asmjit::Operand& part, u32 lane);
    void load_constant(const x86::Vec& dst, const x86::Mem& src);
    // vpand / vpor / vmovdqu, or their EVEX forms on AVX-512.
    void v_and(const x86::Vec& dst, const x86::Vec& a, const asmjit::Operand& b);
    void v_or(const x86::Vec& dst, const x86::Vec& a, const asmjit::Operand& b);

    // The plan, baked in.
    Format m_format;
    bool m_k;            // a K format (one 256-value block per step) or Q4_0 / Q8_0
    bool m_mins;         // Q4_K, Q5_K: the second vector M and dmin
    bool m_vnni, m_gfni;
    bool m_grid;         // K formats on AVX-512 (matvec and matmul): the quad x tokens grid
    bool m_transposed;   // Q4_K on the grid with VNNI: vpdpbusd on Q8_K's transposed values
    bool m_q6_grid;      // Q6_K on the grid with VNNI and GFNI: vpdpbusd on the values as they lie
    bool m_deferred;     // the grid with one quad: a step's fold and float step run in the next
    u32 m_width;         // bytes of the integer vectors (32 or 64)
    u32 m_row_count, m_toks;  // rows and tokens in flight
    u32 m_block_bytes, m_x_block_bytes;
    u32 m_step_blocks;   // blocks per step
    u32 m_rest;          // blocks left for a short last step

    bool m_corrected;    // legacy: the activations' sums are subtracted (all but Q8_0 without VNNI)
    Pass m_x_pass = Pass::Alone;  // legacy matvec: the step cache of the activations' side (Fill: being built)
    u32 m_raw_off, m_high_off;  // K: which bytes m_raw / m_high hold (within the current row and block)

    x86::Gp m_xcol;      // byte index into the activations (with m_col into the weights)

    // Vector registers, assigned once (assign_registers): per token in flight the integer
    // vectors of the current row (V, M), the quad's pair sums so far (held: row 0 or 2's
    // sums, pairs: rows 0+1), the accumulators per quad, and the legacy formats' per-token
    // activation lanes (low / high values, the correction, the fp32 scales).
    struct Token {
        x86::Vec v, m, held, pairs;
        x86::Vec x_low, x_high, correction, x_scale;
        x86::Vec acc[max_quads];
    };
    Token m_tok[max_tokens];
    // The row's temporaries by role: decoded scales (and mins / the Q6_K correction's
    // scales), the unpacked values, a raw load or high-bit source, the scale vector, the
    // product; the float step reuses them.
    x86::Vec m_scales, m_second, m_values, m_raw, m_high, m_scale_vec, m_product, m_row_scales;
    // Constants: 0x0f bytes; the legacy formats' weight offset as bytes (Q4_0's nibbles are
    // q + 8, Q8_0's bytes under vnni w + 128), the activations' lane sums' multiplier.
    x86::Vec m_nibbles, m_offsets;
    x86::Vec m_high_nibbles;     // the gfni variant: the GF(2) matrix that moves each byte's high nibble down
    x86::Vec m_quad_scales;      // Q4_K, Q5_K on the grid: the quad's decoded scales and mins, row r in lane r
    // The grid: per quad the accumulator (dword 4t + r); per step the tokens' d_x in the
    // grid's order and their bsum pairs (lane t: the eight words); imin of the quad.
    x86::Vec m_grid_acc[max_quads], m_grid_dx, m_grid_bsums, m_grid_min;
    x86::Vec m_grid_d, m_grid_min_term;  // deferred: the last step's d and fl(dmin * imin), waiting
    x86::Vec m_shifts;              // the Q4_K and Q6_K grids' constant (k_grid_constants; with gfni the per-qword GF(2) matrices)
    x86::Vec m_raw_high;             // the transposed grid: a row's second 64 bytes of nibbles
    x86::Vec m_q6_high_bits[2];      // Q6_K's grid: the GF(2) matrices of W-vectors 0, 1's high bits
    x86::Vec m_q6_pair_index[2];     // Q6_K's grid: the vpermw indices of the halves' pair scales
    x86::Vec m_first_table;      // AVX-512 Q4_0 / Q8_0: a row's first 64 bytes of the step (its scales' source)
    // AVX-512 Q4_0 / Q8_0: gather_words' word indices by kind, held in registers while the
    // budget lasts (hold_gather_indices; the others: invalid).
    x86::Vec m_gather_index[gather_kinds];
    x86::KReg m_even_bytes;      // Q4_K's transposed grid with gfni: the even bytes (vpermb into words)
    x86::KReg m_row_words[4];    // AVX-512 Q4_0 / Q8_0: the words of quad row r (4L + r) in the scales' vector
};

}
