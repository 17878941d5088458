// Block formats' generator, the K formats' integer stage (see gen_blocks.h): one row's
// 256-value block against each token's Q8_K block, into V (and M).
//
// A "unit" is 32 consecutive values of the block. Unit u's low bits come from 32 bytes at
// lo_off (nibble lo_shift / 4 of each byte), its high bits (Q5_K: one, Q6_K: two) from the
// 32 bytes at hi_off, bit hi_bit of each byte up; so the three formats are three rows of
// numbers (unit_layout). An AVX2 vector holds one unit, an AVX-512 vector two (units 2m and
// 2m + 1 in its halves: the same bytes twice, each half shifted its own way, or 64
// consecutive bytes). The values come out unsigned (Q6_K's are q + 32) next to the Q8_K
// values they multiply, which are the activations' bytes as they lie.
#include "microjit/gen_blocks.h"

#include "microjit/blocks.h"

namespace mjit {

namespace {

struct Unit {
    u32 lo_off, lo_shift;  // the low bits' 32 bytes and shift (0 or 4)
    u32 hi_off, hi_bit;    // the high bits' bytes and the position of the unit's first one; hi_off 0: none
    u32 hi_mask;           // where they go in the value (0x10, 0x30)
};

Unit unit_layout(Format f, u32 u)
{
    constexpr u32 q4_qs = offsetof(BlockQ4_K, qs), q5_qs = offsetof(BlockQ5_K, qs), q5_qh = offsetof(BlockQ5_K, qh),
                  q6_qh = offsetof(BlockQ6_K, qh);
    switch (f) {
    case Format::Q4_K: return { q4_qs + 32 * (u / 2), 4 * (u % 2), 0, 0, 0 };
    case Format::Q5_K: return { q5_qs + 32 * (u / 2), 4 * (u % 2), q5_qh, u, 0x10 };
    default: {
        // Q6_K: value 128h + 32k + l, low bits nibble k / 2 of ql[64h + 32(k % 2) + l],
        // high bits 2k, 2k + 1 of qh[32h + l].
        const u32 h = u / 4, k = u % 4;
        return { 64 * h + 32 * (k % 2), 4 * (k / 2), q6_qh + 32 * h, 2 * k, 0x30 };
    }
    }
}

// Values per scale: Q4_K and Q5_K have 8 sub-blocks of 32, Q6_K 16 of 16.
u32 sub_block_values(Format f) { return f == Format::Q6_K ? 16 : 32; }

// The AVX2 order of the units: Q6_K's units 0 and 2 (1 and 3) share their low bytes.
u32 unit_order(Format f, u32 i) { return f == Format::Q6_K ? (i & 4) | (i & 1) << 1 | (i & 2) >> 1 : i; }

// Q6_K's scales times -32 (vpmullw): the words of its values' offset.
constexpr u16 minus32[16] = { 0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0,
    0xFFE0, 0xFFE0, 0xFFE0, 0xFFE0 };

// vpshufb control: each dword's low word twice (byte indices within the 128-bit lane).
constexpr u32 dup_words[16] = { 0x01000100u, 0x05040504u, 0x09080908u, 0x0D0C0D0Cu, 0x01000100u, 0x05040504u, 0x09080908u,
    0x0D0C0D0Cu, 0x01000100u, 0x05040504u, 0x09080908u, 0x0D0C0D0Cu, 0x01000100u, 0x05040504u, 0x09080908u, 0x0D0C0D0Cu };

}

// Q4_K, Q5_K: m_quad_scales = the quad's rows' scales and mins as bytes (decoded, or from
// the step cache), m_values = the mins as words (row r in lane r, missing rows repeat the
// last).
void BlockMatmulGenerator::k_decode_quad(u32 q, u32 count, bool indexed, i64 disp)
{
    if (m_pass == Pass::Reuse) {
        as().vmovdqu32(m_quad_scales, step_cache(indexed, disp, q));
    } else {
        x86::Mem rows[4];
        for (u32 r = 0; r < 4; ++r)
            rows[r] = w_mem(4 * q + (r < count ? r : count - 1), indexed, disp + offsetof(BlockQ4_K, scales));
        k4_scales_mins(m_quad_scales, rows, 4);
        if (m_pass == Pass::Fill)
            as().vmovdqu32(step_cache(indexed, disp, q), m_quad_scales);
    }
    const x86::Vec mins = wide(m_values);
    as().vpxord(mins, mins, mins);
    as().vpunpckhbw(mins, m_quad_scales, mins);
}

// dst dword r = row r's imin: lane r's mins (words) times the pair sums, summed per lane
// (the pair sums in every lane); tmp is clobbered.
void BlockMatmulGenerator::k_lane_imins(const x86::Vec& dst, const x86::Vec& mins, const x86::Vec& pairs, const x86::Vec& tmp)
{
    static constexpr u32 lane_firsts[4] = { 0, 4, 8, 12 };
    as().vpmaddwd(dst, mins, pairs);
    lane_sums(dst, tmp);
    load_constant(tmp.xmm(), constant(lane_firsts, 16));
    as().vpermd(dst, tmp, dst);
}

// Row `row` (quad row row % 4) of the block at `disp` for every token: rows 0 and 2 of a
// quad sum into `held`, rows 1 and 3 into V (tree_step pairs them up).
void BlockMatmulGenerator::k_row(u32 row, u32 toks, bool indexed, i64 disp, i64 xdisp)
{
    if (m_transposed) {
        k_grid_row_bytes(row, toks, indexed, disp, xdisp);
        return;
    }
    if (m_q6_grid) {
        k_grid_row_q6(row, toks, indexed, disp, xdisp);
        return;
    }
    if (m_grid && m_mins)
        k_grid_row_scales(row);
    else
        k_decode_scales(row, indexed, disp);
    m_raw_off = m_high_off = ~0u;
    const u32 units = m_width / 32;  // units per vector
    const u32 vectors = 8 / units;
    for (u32 i = 0; i < vectors; ++i) {
        const u32 first = units == 2 ? 2 * i : unit_order(m_format, i);
        // AVX2 Q6_K: units 4..7 take scales 8..15.
        if (units == 1 && m_format == Format::Q6_K && i == 4) {
            as().vpmovsxbd(y(m_scales), w_mem(row, indexed, disp + offsetof(BlockQ6_K, scales) + 8));
            as().vpshufb(y(m_scales), y(m_scales), constant(dup_words, 32));
        }
        const x86::Vec values = wide(m_values), sc = wide(m_scale_vec), p = wide(m_product);
        k_unit_values(values, row, indexed, disp, first);
        k_scale_vector(sc, first);
        for (u32 t = 0; t < toks; ++t) {
            const x86::Vec v = wide(row % 2 ? m_tok[t].v : m_tok[t].held);
            as().vpmaddubsw(p, values, xq_mem(t, indexed, xdisp + offsetof(BlockQ8_K, qs) + 32 * first));
            if (m_vnni && i > 0) {
                as().vpdpwssd(v, p, sc);
            } else if (i == 0) {
                as().vpmaddwd(v, p, sc);
            } else {
                as().vpmaddwd(p, p, sc);
                as().vpaddd(v, v, p);
            }
        }
    }
    // mins * bsums (Q4_K, Q5_K: M) or -32 * scale * bsums added to V (Q6_K), 16 pairs of
    // words each.
    for (u32 t = 0; t < toks; ++t) {
        const x86::Mem bsums = xq_mem(t, indexed, xdisp + offsetof(BlockQ8_K, bsums));
        if (m_mins && !m_grid) {
            as().vpmaddwd(y(m_tok[t].m), y(m_second), bsums);
        } else if (!m_mins) {
            const x86::Vec v = wide(row % 2 ? m_tok[t].v : m_tok[t].held);
            as().vpmaddwd(y(m_product), y(m_second), bsums);
            as().vpaddd(v, v, wide(m_product));
        }
    }
}

// Q4_K on the grid with VNNI: one vpdpbusd per 64 values and token, on the Q8_K block's
// qword-transposed values (qs_t, blocks.h). Each 128-bit lane k of a W-vector comes from the
// row's 32-byte group k (sub-blocks 2k and 2k + 1, the low and the high nibbles): its qword
// 0 keeps the low nibbles of one qword of the group, its qword 1 the high nibbles of the
// other one of the same half. So one vshufi64x2 gathers the first halves of the four groups
// (bytes 0..15), one the second halves (16..31): W-vectors 0 and 2 take them as they are,
// 1 and 3 with the two qwords of each lane swapped (vpshufd), which is why Q8_K's odd
// sub-blocks sit in row m ^ 1 of qs_t. Every dword lane of the row's sums (`held` for rows 0
// and 2, V for 1 and 3, as k_row) then sees one sub-block, lane L in qword L / 2, in all
// four vpdpbusd: its sum, at most 16 * 15 * 127 in magnitude, fits an i16, and the tree's
// first level (row_pairs) applies the scales. Against a vpermi2w of the 128 bytes per
// W-vector (and a register copy of its indices) the lane shuffles leave the multiply pipes
// to vpdpbusd: see microjit/README.md for the figures.
void BlockMatmulGenerator::k_grid_row_bytes(u32 row, u32 toks, bool indexed, i64 disp, i64 xdisp)
{
    const i64 qs = disp + offsetof(BlockQ4_K, qs);
    const x86::Vec first_halves = m_values, second_halves = m_raw_high;
    as().vmovdqu32(m_raw, w_mem(row, indexed, qs));
    as().vmovdqu32(m_raw_high, w_mem(row, indexed, qs + 64));
    as().vshufi64x2(first_halves, m_raw, m_raw_high, 0x88);
    as().vshufi64x2(second_halves, m_raw, m_raw_high, 0xdd);
    for (u32 m = 0; m < 4; ++m) {
        const x86::Vec halves = m < 2 ? first_halves : second_halves;
        // Even W-vectors go to m_raw (free after the gathers), odd ones swap in place (w = halves).
        const x86::Vec w = m % 2 ? halves : m_raw;
        if (m % 2)
            as().vpshufd(w, halves, 0x4e);
        if (m_gfni) {
            as().vgf2p8affineqb(w, halves, m_shifts, 0);
        } else {
            as().vpsrlvd(w, halves, m_shifts);
            as().vpandd(w, w, m_nibbles);
        }
        for (u32 t = 0; t < toks; ++t) {
            const x86::Vec sums = row % 2 ? m_tok[t].v : m_tok[t].held;
            if (m == 0)
                as().vpxord(sums, sums, sums);
            as().vpdpbusd(sums, w, xq_mem(t, indexed, xdisp + offsetof(BlockQ8_K, qs_t) + 64 * m));
        }
    }
}

// The scales of quad rows 2h and 2h + 1 for row_pairs: vpackssdw puts the first row's
// sums in words 0..3 of each 128-bit lane L and the second's in words 4..7, lanes 4L..4L + 3
// of each, sub-blocks 2L, 2L, 2L + 1, 2L + 1. So dword 4L + j holds, twice as a word, the
// scale of sub-block 2L + j % 2 of row 2h + j / 2: from the rows' decoded scales (lanes
// 2h, 2h + 1 of the quad's, missing rows repeating the last), widened to words (the 6-bit
// scales are the same signed).
void BlockMatmulGenerator::k_pair_scales(u32 h)
{
    // Word i is byte 32h + index[i] of the quad's scales (rows 2h, 2h + 1). With gfni
    // (which implies AVX512_VBMI here, see CpuCaps) one vpermb puts the bytes in the even
    // bytes and zeroes the odd ones, the words of the 6-bit scales (TinyLlama Q4_K_M ~1.04x
    // on Zen 4 against the widening and the vpermi2w below, ten alternating rounds).
    const bool bytes = m_even_bytes.isValid();
    u16 index[32];
    for (u32 i = 0; i < 32; ++i) {
        const u32 j = i / 2 % 4;
        index[i] = static_cast<u16>((bytes ? 32 * h : 0) + 16 * (j / 2) + 2 * (i / 8) + j % 2);
    }
    load_constant(m_scale_vec, constant(index, 64));
    if (bytes) {
        as().k(m_even_bytes).z().vpermb(m_scale_vec, m_scale_vec, m_quad_scales);
        return;
    }
    const x86::Vec words = m_scales;
    x86::Vec rows = m_quad_scales.ymm();
    if (h) {
        as().vextracti64x4(words.ymm(), m_quad_scales, 1);
        rows = words.ymm();
    }
    as().vpmovsxbw(words, rows);
    as().vpermi2w(m_scale_vec, words, words);
}

// The constants of the Q4_K and Q6_K grids with VNNI, in registers: per qword the choice of
// nibble, the low ones kept or the high ones moved down (Q4_K: alternating qwords; Q6_K:
// the high ones in every qword): with gfni the GF(2) matrix of one vgf2p8affineqb that does
// it with zeros above (bit i of each byte from row byte 7 - i of its qword's matrix; four
// instructions less per row than a shift and a mask: TinyLlama Q4_K_M's tokens a second
// below), else (Q4_K) the dwords' shift counts. Q6_K also: per W-vector the matrices that
// take each half's two high bits to bits 4, 5 (the first half's bits 0, 1 or 4, 5, the
// second's 2, 3 or 6, 7), and per pair of W-vectors the vpermw index of its scales (word p:
// lane c = p / 8, sub-block 8h + c in words 0..3, 8h + 4 + c in 4..7, as vpackssdw leaves
// the sums). In registers, not memory operands: k_grid_row_q6's loop body in L1 ~1.2x
// faster.
void BlockMatmulGenerator::k_grid_constants()
{
    static constexpr u64 high_bits[2][8] = {
        { 0x01020000, 0x01020000, 0x01020000, 0x01020000, 0x04080000, 0x04080000, 0x04080000, 0x04080000 },
        { 0x10200000, 0x10200000, 0x10200000, 0x10200000, 0x40800000, 0x40800000, 0x40800000, 0x40800000 } };
    static constexpr u16 pair_index[2][32] = {
        { 0, 0, 0, 0, 4, 4, 4, 4, 1, 1, 1, 1, 5, 5, 5, 5, 2, 2, 2, 2, 6, 6, 6, 6, 3, 3, 3, 3, 7, 7, 7, 7 },
        { 8, 8, 8, 8, 12, 12, 12, 12, 9, 9, 9, 9, 13, 13, 13, 13, 10, 10, 10, 10, 14, 14, 14, 14, 11, 11, 11, 11, 15, 15, 15,
            15 } };
    for (u32 i = 0; i < 2 && m_q6_grid; ++i) {
        load_constant(m_q6_high_bits[i], constant(high_bits[i], 64));
        load_constant(m_q6_pair_index[i], constant(pair_index[i], 64));
    }
    if (m_gfni) {
        u64 matrices[8];
        for (u32 q = 0; q < 8; ++q)
            matrices[q] = m_q6_grid || q % 2 ? 0x1020408000000000ull : 0x0102040800000000ull;
        load_constant(m_shifts, constant(matrices, 64));
        return;
    }
    u32 shifts[16];
    for (u32 i = 0; i < 16; ++i)
        shifts[i] = 4 * (i / 2 % 2);
    load_constant(m_shifts, constant(shifts, 64));
}

// Q6_K on the grid with VNNI and GFNI: one vpdpbusd per 64 values and token, on the
// weights' and the activations' values as they lie. Half h of the block (values 128h ..
// 128h + 127) takes its low bits from the 64 bytes ql[64h..] (values 128h + i: byte i's low
// nibble, 128h + 64 + i: its high nibble) and its high bits from the 32 bytes qh[32h..]
// (value 128h + 32k + l: bits 2k, 2k + 1 of byte l), which a broadcast puts in both halves
// of a vector: one vgf2p8affineqb per W-vector takes each half's two bits to bits 4, 5
// (per-qword matrices), and a vpternlogd (the low nibbles) or a vpord (the high ones,
// moved down by a third vgf2p8affineqb) completes W-vector 0 (values 128h + 0..63) and 1
// (+ 64..127). Each 128-bit lane of a vpdpbusd's sums then holds one sub-block of 16,
// at most 4 * 63 * 128 in magnitude: vpackssdw packs the sums of both W-vectors into words
// (lane c: sub-blocks 8h + c and 8h + 4 + c) and one vpdpwssd multiplies them by their
// scales and adds them to the token's sums, which start at the -32 correction: the scales
// times -32 (vpmullw, at most 4096) by the bsums, one vpmaddwd. The kernel before this one
// multiplied a third copy of the activations, transposed by dwords, with the weights moved
// into that order by lane shuffles (vpermd, vshufi32x4, vprolvd) and scaled by vpmulld: a
// matvec step's loop body in L1 took ~96 core cycles on Zen 4, this one ~71 (1.35x); see
// microjit/README.md.
void BlockMatmulGenerator::k_grid_row_q6(u32 row, u32 toks, bool indexed, i64 disp, i64 xdisp)
{
    const x86::Vec scales = m_scales, corrections = m_product, low = m_raw, high = m_high, w[2] = { m_values, m_second };
    const x86::Vec pair_scales[2] = { m_scale_vec, m_row_scales };
    as().vpmovsxbw(scales.ymm(), w_mem(row, indexed, disp + offsetof(BlockQ6_K, scales)));
    as().vpmullw(corrections.ymm(), scales.ymm(), constant(minus32, 32));
    for (u32 h = 0; h < 2; ++h)
        as().vpermw(pair_scales[h], m_q6_pair_index[h], scales);
    // The bsums' words beyond the sixteen meet zeros (the ymm's upper half).
    for (u32 t = 0; t < toks; ++t) {
        const x86::Vec sums = row % 2 ? m_tok[t].v : m_tok[t].held;
        as().vpmaddwd(sums, corrections, xq_mem(t, indexed, xdisp + offsetof(BlockQ8_K, bsums)));
    }
    const x86::Vec a[2] = { scales, corrections };  // free from here on
    for (u32 h = 0; h < 2; ++h) {
        as().vbroadcasti64x4(high, w_mem(row, indexed, disp + offsetof(BlockQ6_K, qh) + 32 * h));
        as().vmovdqu32(low, w_mem(row, indexed, disp + offsetof(BlockQ6_K, ql) + 64 * h));
        as().vgf2p8affineqb(w[0], high, m_q6_high_bits[0], 0);
        as().vgf2p8affineqb(w[1], high, m_q6_high_bits[1], 0);
        as().vpternlogd(w[0], low, m_nibbles, 0xF8);  // w0 | (low & 0x0f)
        as().vgf2p8affineqb(low, low, m_shifts, 0);
        as().vpord(w[1], w[1], low);
        for (u32 t = 0; t < toks; ++t) {
            const x86::Vec sums = row % 2 ? m_tok[t].v : m_tok[t].held;
            for (u32 i = 0; i < 2; ++i) {
                as().vpxord(a[i], a[i], a[i]);
                as().vpdpbusd(a[i], w[i], xq_mem(t, indexed, xdisp + offsetof(BlockQ8_K, qs) + 128 * h + 64 * i));
            }
            as().vpackssdw(a[0], a[0], a[1]);
            as().vpdpwssd(sums, a[0], pair_scales[h]);
        }
    }
}

// m_scales = the sub-block scales as dwords holding the i16 scale twice (what vpmaddwd
// multiplies pairs of words by), for vpermd to spread; m_second = Q4_K/Q5_K's mins the
// same way (ymm), or Q6_K's scales times -32 as words.
void BlockMatmulGenerator::k_decode_scales(u32 row, bool indexed, i64 disp)
{
    const x86::Vec sc = wide(m_scales), second = y(m_second);
    const x86::Mem dup = constant(dup_words, m_width);
    if (m_format == Format::Q6_K) {
        const x86::Mem scales = w_mem(row, indexed, disp + offsetof(BlockQ6_K, scales));
        as().vpmovsxbd(sc, scales);
        as().vpshufb(sc, sc, dup);
        as().vpmovsxbw(second, scales);
        as().vpmullw(second, second, constant(minus32, 32));
        return;
    }
    // Q4_K, Q5_K on AVX2 (AVX-512 decodes a quad at once: k_grid_row_scales).
    const x86::Mem scales = w_mem(row, indexed, disp + offsetof(BlockQ4_K, scales));
    k4_scales_mins(m_scales.xmm(), &scales, 1);
    const x86::Xmm x = m_scales.xmm(), b = m_high.xmm();
    as().vpshufd(b, x, 0xEE);
    as().vpmovzxbd(second, b);
    as().vpshufb(second, second, dup);
    as().vpmovzxbd(sc, x);
    as().vpshufb(sc, sc, dup);
}

// ---- the grid (AVX-512): dword 4t + r = quad row r, token t ---------------------------------

// Once per step: d_x of token t in dwords 4t..4t + 3 (one token: in every dword of the ymm,
// see k_grid_terms_one); with mins, the pair sums of token t's bsums (one per sub-block of
// 32, at most 4064) as words in lane t (one token: in every lane, see k_grid_mins).
void BlockMatmulGenerator::k_grid_x_side(u32 toks, bool indexed, i64 xdisp)
{
    if (toks == 1) {
        as().vbroadcastss(m_grid_dx.ymm(), xq_mem(0, indexed, xdisp + offsetof(BlockQ8_K, d)));
    } else {
        const x86::Xmm dx = m_grid_dx.xmm();
        for (u32 t = 0; t < toks; ++t) {
            const x86::Mem d = xq_mem(t, indexed, xdisp + offsetof(BlockQ8_K, d));
            if (t == 0)
                as().vmovss(dx, d);
            else
                as().vinsertps(dx, dx, d, t << 4);
        }
        u32 index[16];
        for (u32 i = 0; i < 16; ++i)
            index[i] = i / 4;
        load_constant(m_product, constant(index, 64));
        as().vpermps(m_grid_dx, m_product, m_grid_dx);
    }
    if (!m_mins)
        return;
    const i64 pairs = xdisp + offsetof(BlockQ8_K, bsum_pairs);
    if (toks == 1) {
        as().vbroadcasti32x4(m_grid_bsums, xq_mem(0, indexed, pairs));
        return;
    }
    load_constant(m_grid_bsums.xmm(), xq_mem(0, indexed, pairs));
    for (u32 t = 1; t < toks; ++t)
        as().vinserti32x4(m_grid_bsums, m_grid_bsums, xq_mem(t, indexed, pairs), t);
}

// Q4_K, Q5_K, before the quad's rows: the quad's scales and mins decoded, and imin of row
// r, token t = sum over the sub-blocks j of min(r, j) * pair sum(t, j), as four vpdpwssd
// (vpmaddwd) of two sub-blocks each: the mins transposed (lane j, dword r = row r's pair
// j), then lane j of them and dword j of each token's pair sums spread over the grid. One
// token (the matvec): k_lane_imins, 7 instructions instead of 14.
void BlockMatmulGenerator::k_grid_mins(u32 q, u32 count, u32 toks, bool indexed, i64 disp)
{
    const x86::Vec mins = m_values, by_row = m_raw, by_token = m_high;
    k_decode_quad(q, count, indexed, disp);  // mins: lane r holds row r's eight mins as words
    if (toks == 1) {
        k_lane_imins(m_grid_min, mins, m_grid_bsums, by_row);
        return;
    }
    u32 transpose[16];
    for (u32 i = 0; i < 16; ++i)
        transpose[i] = 4 * (i % 4) + i / 4;
    load_constant(by_row, constant(transpose, 64));
    as().vpermd(mins, by_row, mins);
    for (u32 j = 0; j < 4; ++j) {
        as().vshufi32x4(by_row, mins, mins, 0x55 * j);
        as().vpshufd(by_token, m_grid_bsums, 0x55 * j);
        if (j == 0) {
            as().vpmaddwd(m_grid_min, by_row, by_token);
        } else if (m_vnni) {
            as().vpdpwssd(m_grid_min, by_row, by_token);
        } else {
            as().vpmaddwd(by_row, by_row, by_token);
            as().vpaddd(m_grid_min, m_grid_min, by_row);
        }
    }
}

// Q4_K, Q5_K on the grid: m_scales = row's scales from the quad's decoded lane, each as a
// dword holding the i16 scale twice (see k_decode_scales).
void BlockMatmulGenerator::k_grid_row_scales(u32 row)
{
    x86::Xmm lane = m_quad_scales.xmm();
    if (row % 4) {
        lane = m_scales.xmm();
        extract128(lane, m_quad_scales, row % 4);
    }
    as().vpmovzxbd(m_scales, lane);
    as().vpshufb(m_scales, m_scales, constant(dup_words, 64));
}

// Q4_K, Q5_K: dst = the 8 scales and 8 mins as bytes of `count` rows (one per 128-bit lane),
// from the 12 bytes at `rows[r]` as dwords u0, u1, u2: scales 0..3 = u0 & 0x3f.., mins 0..3
// = u1 & 0x3f..; scales 4..7 = (u2 & 0x0f..) | ((u0 >> 2) & 0x30..), mins 4..7 = ((u2 >> 4)
// & 0x0f..) | ((u1 >> 2) & 0x30..) (k4_scale_min in blocks.h). Per lane A = [u0, u2, u1,
// u2 >> 4] holds every byte's low bits in place (six of them for scales and mins 0..3, four
// for 4..7) and B = [0, u0 >> 2, 0, u1 >> 2] masked to bits 4, 5 the high bits of 4..7;
// dst = (A & low bits) | B, one vpternlogd on AVX-512: six instructions where there were
// eight (the Q4_K matvec's step in L1 ~1.025x faster, microjit/README.md).
void BlockMatmulGenerator::k4_scales_mins(const x86::Vec& dst, const x86::Mem* rows, u32 count)
{
    const u32 bytes = 16 * count;
    const x86::Vec a = dst, b = at(m_high, bytes);
    static constexpr u32 shifts[16] = { 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4 };
    static constexpr u32 low_bits[16] = { 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F,
        0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F,
        0x0F0F0F0F };
    static constexpr u32 high_bits[16] = { 0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0,
        0x30303030, 0, 0x30303030, 0, 0x30303030 };
    load_constant(a.xmm(), rows[0]);
    for (u32 r = 1; r < count; ++r)
        insert128(a, a, rows[r], r);
    as().vpshufd(b, a, 0x50);
    as().vpshufd(a, a, 0x98);
    as().vpsrlvd(a, a, constant(shifts, bytes));
    as().vpsrld(b, b, 2);
    v_and(b, b, constant(high_bits, bytes));
    if (is_avx512()) {
        as().vpternlogd(a, b, constant(low_bits, bytes), 0xEC);  // (a & low_bits) | b
    } else {
        v_and(a, a, constant(low_bits, bytes));
        v_or(a, a, b);
    }
}

// dst = the unsigned values of units first.. (one per 32-byte half), from the row's bytes.
void BlockMatmulGenerator::k_unit_values(const x86::Vec& dst, u32 row, bool indexed, i64 disp, u32 first)
{
    const Unit a = unit_layout(m_format, first);
    if (!is_avx512()) {
        // One unit: its 32 low-bit bytes (shared by the unit that takes the other nibble).
        if (m_raw_off != a.lo_off) {
            as().vmovdqu(y(m_raw), w_mem(row, indexed, disp + a.lo_off));
            m_raw_off = a.lo_off;
        }
        if (a.lo_shift) {
            as().vpsrlw(dst, y(m_raw), a.lo_shift);
            as().vpand(dst, dst, m_nibbles);
        } else {
            as().vpand(dst, y(m_raw), m_nibbles);
        }
        if (!a.hi_off)
            return;
        if (m_high_off != a.hi_off) {
            as().vmovdqu(y(m_high), w_mem(row, indexed, disp + a.hi_off));
            m_high_off = a.hi_off;
        }
        // The unit's high bits to bit 4 (and 5), masked, into the value.
        const x86::Vec t = y(m_product);
        const int shift = 4 - static_cast<int>(a.hi_bit);
        if (shift > 0)
            as().vpsllw(t, y(m_high), shift);
        else if (shift < 0)
            as().vpsrlw(t, y(m_high), -shift);
        as().vpand(t, shift ? t : y(m_high), constant_dwords(a.hi_mask * 0x01010101u, 8));
        as().vpor(dst, dst, t);
        return;
    }
    // Two units: the same 32 bytes in both halves with a shift each, or 64 bytes.
    const Unit b = unit_layout(m_format, first + 1);
    const x86::Mem lo = w_mem(row, indexed, disp + a.lo_off);
    if (b.lo_off == a.lo_off) {
        as().vbroadcasti64x4(dst, lo);
        u16 counts[32];
        for (u32 i = 0; i < 32; ++i)
            counts[i] = static_cast<u16>(i < 16 ? a.lo_shift : b.lo_shift);
        as().vpsrlvw(dst, dst, constant(counts, 64));
    } else {
        as().vmovdqu8(dst, lo);
        if (a.lo_shift)
            as().vpsrlw(dst, dst, a.lo_shift);
    }
    as().vpandd(dst, dst, m_nibbles);
    if (!a.hi_off)
        return;
    if (m_high_off != a.hi_off) {
        as().vbroadcasti64x4(wide(m_high), w_mem(row, indexed, disp + a.hi_off));
        m_high_off = a.hi_off;
    }
    // Rotating each dword left moves every byte's bits by the same amount within the
    // byte where it matters (the masked bits): the high bits land at bit 4 in each half.
    u32 counts[16];
    for (u32 i = 0; i < 16; ++i)
        counts[i] = (36 - (i < 8 ? a.hi_bit : b.hi_bit)) % 32;
    as().vprolvd(wide(m_product), wide(m_high), constant(counts, 64));
    // dst |= rotated & mask (truth table A | (B & C)).
    as().vpternlogd(dst, wide(m_product), constant_dwords(a.hi_mask * 0x01010101u, 1)._1to16(), 0xF8);
}

// dst = the scale of every dword's values, from m_scales (vpermd by a constant index).
void BlockMatmulGenerator::k_scale_vector(const x86::Vec& dst, u32 first)
{
    const u32 lanes = m_width / 4, sub = sub_block_values(m_format);
    u32 index[16];
    for (u32 i = 0; i < lanes; ++i)
        index[i] = (32 * first + 4 * i) / sub % lanes;
    load_constant(dst, constant(index, m_width));
    as().vpermd(dst, dst, wide(m_scales));
}

}
