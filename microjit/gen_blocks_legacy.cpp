// Block formats' generator, Q4_0 and Q8_0's integer stage (see gen_blocks.h): a step of
// S blocks (one per 128-bit lane) of one row against each token's Q8_0 blocks, into V.
//
// Both sides are gathered the same way: lane L of the "low" vector holds values 0..15 of
// block L, lane L of the "high" vector values 16..31 (Q4_0: the low and high nibbles of
// the block's 16 bytes; Q8_0 and the activations: bytes 0..15 and 16..31 of the block's
// 32). The activations' side is built once per step and token: the two vectors, the
// lane sums of x times 8 (Q4_0's nibbles are q + 8) or 128 (Q8_0's bytes are w + 128
// for vpdpbusd), and the fp32 scales d_x with lane L = block L's. A matvec builds them
// once per call instead, every step's in the step cache, and its rows load them: TinyLlama
// Q4_0 1.08x the tokens a second (47.7 against 44.2, six alternating runs), Q8_0 1.03x.
#include "microjit/gen_blocks.h"

#include "microjit/blocks.h"

namespace mjit {

namespace {

// What gather_words gathers (see there): the stride of the blocks, the first byte, the
// two 64-byte tables.
struct Gather {
    u32 stride, first, t1, t2;
};
constexpr u32 q8_qs = offsetof(BlockQ8_0, qs);
constexpr Gather gathers[] = {
    { sizeof(BlockQ4_0), offsetof(BlockQ4_0, qs), 0, 8 },  // q4_nibbles
    { sizeof(BlockQ4_0), 0, 0, 0 },                        // q4_scales
    { sizeof(BlockQ8_0), q8_qs + 16, 8, 72 },              // q8_high
    { sizeof(BlockQ8_0), q8_qs, 0, 64 },                   // q8_low
    { sizeof(BlockQ8_0), 0, 0, 64 },                       // q8_scales
};

}

// dst lane L = the 16 bytes at first + L * stride, for L < blocks; the other lanes keep
// what they held (no byte past the step's blocks is read).
void BlockMatmulGenerator::gather_lanes(const x86::Vec& dst, const x86::Mem& first, u32 stride, u32 blocks)
{
    load_constant(dst.xmm(), first);
    for (u32 l = 1; l < blocks; ++l)
        insert128(wide(dst), wide(dst), first.cloneAdjusted(static_cast<i64>(l) * stride), l);
}

// AVX-512, whole steps of four blocks: dst = words of the step's bytes (from `base`)
// picked by vpermi2w from two 64-byte tables at base + t1 (m_first_table, loaded here when
// `load_first`) and base + t2: word 8L + k of dst = the word at byte stride * L + first +
// 2k; with first = 0 the scales: word 4L + r = block L's fp16 scale, for every r. The
// indices come from a register where hold_gather_indices put them, else from the pool.
void BlockMatmulGenerator::gather_words(const x86::Vec& dst, const x86::Mem& base, GatherKind kind, bool load_first)
{
    const Gather& g = gathers[kind];
    if (load_first)
        load_constant(m_first_table, base.cloneAdjusted(g.t1));
    const x86::Vec index = m_gather_index[kind].isValid() ? m_gather_index[kind] : dst;
    if (index == dst)
        load_constant(dst, word_index(kind));
    // t2 = 0: every word is in the first table (no read past the step).
    if (g.t2) {
        if (index != dst)
            as().vmovdqu32(dst, index);
        as().vpermi2w(dst, m_first_table, base.cloneAdjusted(g.t2));
    } else {
        as().vpermw(dst, index, m_first_table);
    }
}

// The pool constant of gather_words' indices for `kind`.
x86::Mem BlockMatmulGenerator::word_index(GatherKind kind)
{
    const Gather& g = gathers[kind];
    u16 index[32];
    for (u32 j = 0; j < 32; ++j) {
        const u32 byte = g.first ? g.stride * (j / 8) + g.first + 2 * (j % 8) : g.stride * (j / 4);
        index[j] = static_cast<u16>(byte - g.t1 < 64 ? (byte - g.t1) / 2 : 32 + (byte - g.t2) / 2);
    }
    return constant(index, 64);
}

// AVX-512, in load_constants (the last registers handed out): gather_words' indices in
// the registers left, Q4_0 rows' first (once per row and step), then the activations'
// (once per token and step; Q8_0 rows gather the same way).
void BlockMatmulGenerator::hold_gather_indices()
{
    for (u32 k = m_format == Format::Q4_0 ? q4_nibbles : q8_high; k <= q8_scales && vecs_used() < vec_budget(isa()); ++k) {
        m_gather_index[k] = new_vec();
        load_constant(m_gather_index[k], word_index(static_cast<GatherKind>(k)));
    }
}

// Q8_0 blocks (weights or activations), four per step: values 0..15 and 16..31 of block L
// to lane L of `low` and `high`; m_first_table keeps the first 64 bytes (the scales of
// blocks 0 and 1; blocks 2 and 3's are in the 64 at 64).
void BlockMatmulGenerator::gather_q8_0(const x86::Vec& low, const x86::Vec& high, const x86::Mem& base)
{
    gather_words(high, base, q8_high, true);
    gather_words(low, base, q8_low, true);
}

void BlockMatmulGenerator::legacy_x_side(u32 toks, bool indexed, i64 xdisp, u32 blocks)
{
    const u32 stride = m_x_block_bytes;
    for (u32 t = 0; t < toks && m_x_pass != Pass::Reuse; ++t) {
        const Token& tk = m_tok[t];
        const x86::Mem x = xq_mem(t, indexed, xdisp);
        if (permute_gather(blocks)) {
            gather_q8_0(tk.x_low, tk.x_high, x);
            gather_words(m_values, x, q8_scales, false);
            as().vcvtph2ps(tk.x_scale, y(m_values));
        } else {
            gather_lanes(tk.x_low, x.cloneAdjusted(offsetof(BlockQ8_0, qs)), stride, blocks);
            gather_lanes(tk.x_high, x.cloneAdjusted(offsetof(BlockQ8_0, qs) + 16), stride, blocks);
        }
        // fp32 scales: words 4L..4L+3 = block L's d_x, converted.
        const x86::Xmm a = m_values.xmm(), b = m_raw.xmm();
        for (u32 pair = 0; !permute_gather(blocks) && pair * 2 < blocks; ++pair) {
            const x86::Xmm dst = pair ? b : a;
            as().vpbroadcastw(dst, x.cloneAdjusted(static_cast<i64>(2 * pair) * stride));
            if (2 * pair + 1 < blocks) {
                as().vpbroadcastw(m_product.xmm(), x.cloneAdjusted(static_cast<i64>(2 * pair + 1) * stride));
                as().vpunpcklqdq(dst, dst, m_product.xmm());
            }
        }
        if (!permute_gather(blocks)) {
            if (blocks > 2)
                insert128(y(m_values), y(m_values), b, 1);
            as().vcvtph2ps(wide(tk.x_scale), is_avx512() ? x86::Vec(y(m_values)) : x86::Vec(a));
        }
        if (!m_corrected)
            continue;
        // The lanes' sums of x times the weights' offset (8 or 128: the bytes of m_offsets).
        const x86::Vec c = wide(tk.correction), p = wide(m_product);
        if (m_vnni) {
            as().vpxord(c, c, c);
            as().vpdpbusd(c, wide(m_offsets), wide(tk.x_low));
            as().vpdpbusd(c, wide(m_offsets), wide(tk.x_high));
        } else {
            as().vpmaddubsw(c, wide(m_offsets), wide(tk.x_low));
            as().vpmaddubsw(p, wide(m_offsets), wide(tk.x_high));
            as().vpaddw(c, c, p);
            as().vpmaddwd(c, c, constant_dwords(0x00010001u, m_width / 4));
        }
        lane_sums(c, p);
    }
    if (m_x_pass != Pass::Alone)
        cache_x_side(m_x_pass == Pass::Fill, indexed, xdisp);
}

// The matvec's activations' side of the step at x byte `xdisp` to (`store`) or from the
// step cache.
void BlockMatmulGenerator::cache_x_side(bool store, bool indexed, i64 xdisp)
{
    const Token& tk = m_tok[0];
    const x86::Vec parts[] = { tk.x_low, tk.x_high, tk.x_scale, tk.correction };
    for (u32 i = 0; i < (m_corrected ? 4u : 3u); ++i) {
        const asmjit::Operand slot = step_cache(indexed, xdisp, i), v = wide(parts[i]);
        as().emit(is_avx512() ? x86::Inst::kIdVmovdqu32 : x86::Inst::kIdVmovdqu, store ? slot : v, store ? v : slot);
    }
}

// AVX-512: quad row r's four fp16 scales to words 4L + r of the quad's scales: row 0's
// to every word (no chain through the register from step to step), rows 1..3 merged
// under m_row_words[r]. Where they all sit in m_first_table (Q4_0) and the indices are
// held, that is one vpermw.
void BlockMatmulGenerator::row_scales(u32 r, const x86::Mem& w, GatherKind kind)
{
    const x86::Vec index = m_gather_index[kind];
    const bool permute = index.isValid() && !gathers[kind].t2;
    if (!permute)
        gather_words(r ? m_product : m_row_scales, w, kind, false);
    if (r)
        as().k(m_row_words[r]);  // the next instruction merges under the row's words
    if (permute)
        as().vpermw(m_row_scales, index, m_first_table);
    else if (r)
        as().vmovdqu16(m_row_scales, m_product);
}

// Row `row` (quad row r) of the step for every token: rows 0 and 2 of a quad into `held`,
// rows 1 and 3 into V.
void BlockMatmulGenerator::legacy_row(u32 row, u32 r, u32 toks, bool indexed, i64 disp, u32 blocks)
{
    const x86::Vec lo = wide(m_values), hi = wide(m_raw), p = wide(m_product);
    const x86::Mem w = w_mem(row, indexed, disp);
    if (permute_gather(blocks)) {
        // The 16 bytes of nibbles (Q4_0) or the two halves (Q8_0) of each block, and the
        // row's four fp16 scales to words 4L + r of the quad's scales (m_row_words[r]).
        if (m_format == Format::Q4_0) {
            gather_words(lo, w, q4_nibbles, true);
        } else {
            gather_q8_0(lo, hi, w);
        }
        row_scales(r, w, m_format == Format::Q4_0 ? q4_scales : q8_scales);
    }
    if (m_format == Format::Q4_0) {
        if (!permute_gather(blocks))
            gather_lanes(lo, w.cloneAdjusted(offsetof(BlockQ4_0, qs)), m_block_bytes, blocks);
        if (m_gfni) {
            as().vgf2p8affineqb(hi, lo, m_high_nibbles, 0);
        } else {
            as().vpsrlw(hi, lo, 4);
            v_and(hi, hi, wide(m_nibbles));
        }
        v_and(lo, lo, wide(m_nibbles));
    } else {
        const x86::Mem qs = w.cloneAdjusted(offsetof(BlockQ8_0, qs));
        if (!permute_gather(blocks)) {
            gather_lanes(lo, qs, m_block_bytes, blocks);
            gather_lanes(hi, qs.cloneAdjusted(16), m_block_bytes, blocks);
        }
        if (m_vnni) {
            const x86::Mem c80 = constant_dwords(0x80808080u, 1)._1to16();
            as().vpxord(lo, lo, c80);
            as().vpxord(hi, hi, c80);
        }
    }
    for (u32 t = 0; t < toks; ++t) {
        const Token& tk = m_tok[t];
        const x86::Vec v = wide(r % 2 ? tk.v : tk.held), xl = wide(tk.x_low), xh = wide(tk.x_high);
        if (m_vnni) {
            as().vpxord(v, v, v);
            as().vpdpbusd(v, lo, xl);
            as().vpdpbusd(v, hi, xh);
        } else if (m_format == Format::Q4_0) {
            as().vpmaddubsw(v, lo, xl);
            as().vpmaddubsw(p, hi, xh);
            as().vpaddw(v, v, p);
            as().vpmaddwd(v, v, constant_dwords(0x00010001u, m_width / 4));
        } else {
            // AVX2 Q8_0: |x| times w with x's sign (vpsignb), per half; the i16 pair sums
            // of two halves could overflow, so each becomes dwords first.
            const x86::Vec a = wide(m_row_scales);
            const x86::Mem ones = constant_dwords(0x00010001u, m_width / 4);
            as().vpsignb(v, lo, xl);
            as().vpabsb(a, xl);
            as().vpmaddubsw(v, a, v);
            as().vpmaddwd(v, v, ones);
            as().vpsignb(p, hi, xh);
            as().vpabsb(a, xh);
            as().vpmaddubsw(p, a, p);
            as().vpmaddwd(p, p, ones);
            as().vpaddd(v, v, p);
        }
    }
}

}
