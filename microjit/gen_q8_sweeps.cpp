// Q8_0 generator: batches of groups, the integer sums of each output, and the float stage
// that adds the group terms to the accumulators in group order (see gen_q8.h). Loops and
// rows are in gen_q8.cpp, instruction sequences of each ISA in gen_q8_ops.cpp.
#include "microjit/gen_q8.h"

namespace mjit {

// One batch (`groups` <= m_batch groups from byte `disp`, scale byte `sdisp`) for every
// output in flight, four outputs (rows r0.. of one token) per accumulator.
void Q8MatmulGenerator::column_step(u32 rows, u32 toks, bool indexed, i64 disp, i64 sdisp, bool last)
{
    const u32 groups = last ? m_rest : m_batch;
    const u32 quads_per_tok = (rows + 3) / 4;
    for (u32 t = 0; t < toks; ++t)
        for (u32 r0 = 0; r0 < rows; r0 += 4) {
            const u32 count = rows - r0 < 4 ? rows - r0 : 4;
            for (u32 i = 0; i < count; ++i)
                output_terms(r0 + i, t, indexed, disp, sdisp, groups, m_f[i]);
            accumulate(acc(t * quads_per_tok + r0 / 4), count, groups);
        }
}

// f = the batch's terms fl(fl(float(isum_g) * ws_g) * xs_g) of one output, lane = group.
void Q8MatmulGenerator::output_terms(u32 row, u32 tok, bool indexed, i64 disp, i64 sdisp, u32 groups, const x86::Vec& f)
{
    const bool partial = groups < m_batch;
    const x86::Vec a = at(f, m_width);
    if (m_packed) {
        dot(a, w_mem(row, indexed, disp), x_mem(tok, indexed, disp), partial ? &m_byte_tail : nullptr, true);
        finish_group(a);
    } else {
        // One vector per group; pair sums merge them as they come: a = (0,1), c = (2,3),
        // then a = (01, 23). Missing groups of a short batch pair with themselves.
        const x86::Vec b = wide(m_t.pair_left), c = wide(m_t.pair_right);
        const x86::Vec leaf[4] = { a, b, c, b };
        for (u32 g = 0; g < groups; ++g) {
            group_sum(leaf[g], row, tok, indexed, disp + static_cast<i64>(g) * m_gs);
            if (g == 1)
                hadd(a, b);
            if (g == 3)
                hadd(c, b);
        }
        if (groups == 1)
            hadd(a, a);
        if (groups == 3)
            hadd(c, c);
        hadd(a, groups <= 2 ? a : c);
        fold_to_xmm(a, m_width, b, x86::Inst::kIdVpaddd);
    }
    scale(f, row, tok, indexed, sdisp, partial);
}

// dst = the i32 lane sums of one group (any split of its bytes over the lanes).
void Q8MatmulGenerator::group_sum(const x86::Vec& dst, u32 row, u32 tok, bool indexed, i64 disp)
{
    const i64 v = m_width;
    if (!m_long) {
        for (u32 k = 0; k < m_chunks; ++k)
            dot(dst, w_mem(row, indexed, disp + k * v), x_mem(tok, indexed, disp + k * v), nullptr, k == 0);
        const i64 end = disp + m_chunks * v;
        if (m_partial)
            dot(dst, w_mem(row, indexed, end), x_mem(tok, indexed, end), &m_byte_tail, m_chunks == 0);
    } else {
        // The first vector, then a loop over the others that walks the byte index, which
        // is put back afterwards so that the other offsets of the batch stay valid.
        dot(dst, w_mem(row, true, disp), x_mem(tok, true, disp), nullptr, true);
        asmjit::Label loop = as().newLabel();
        as().mov(m_kcount.r32(), m_chunks - 1);
        as().bind(loop);
        dot(dst, w_mem(row, true, disp + v), x_mem(tok, true, disp + v), nullptr, false);
        as().add(m_col, static_cast<i32>(v));
        as().dec(m_kcount.r32());
        as().jnz(loop);
        if (m_partial)
            dot(dst, w_mem(row, true, disp + v), x_mem(tok, true, disp + v), &m_byte_tail, false);
        as().sub(m_col, static_cast<i32>((m_chunks - 1) * v));
    }
    finish_group(dst);
}

// isum -> float, times the row's scales, then times the token's: the reference's order.
void Q8MatmulGenerator::scale(const x86::Vec& f, u32 row, u32 tok, bool indexed, i64 sdisp, bool partial)
{
    const x86::Vec v = at(f, m_packed ? m_width : 16);
    if (is_sse())
        as().cvtdq2ps(v.xmm(), v.xmm());
    else
        as().vcvtdq2ps(v, v);
    mul_scales(v, ws_mem(row, indexed, sdisp), partial);
    mul_scales(v, xs_mem(tok, indexed, sdisp), partial);
}

// acc (lane i = output i of the quad) += the terms of the batch's groups, one group after
// the other: the quad's terms are transposed (per 128-bit piece of 4 groups) so that a
// column holds one group's terms of the four outputs.
void Q8MatmulGenerator::accumulate(const x86::Vec& acc, u32 count, u32 groups)
{
    const u32 width = m_packed ? m_width : 16;
    x86::Vec in[4], cols[4];
    for (u32 i = 0; i < 4; ++i)
        in[i] = at(m_f[i < count ? i : count - 1], width);
    x86::Vec temps[5];
    for (u32 i = 0; i < 5; ++i)
        temps[i] = at(m_t.transpose[i], width);
    transpose4(in, temps, cols);
    const x86::Xmm spare = m_t.spare.xmm();
    for (u32 g = 0; g < groups; ++g) {
        const u32 piece = g / 4;
        x86::Xmm term = cols[g % 4].xmm();
        if (piece > 0) {
            extract128(spare, cols[g % 4], piece, true);
            term = spare;
        }
        v_add(acc.xmm(), term);
    }
}

}
