// Q8_0 generator: the two column layouts, packed and grouped (see gen_q8.h), and the
// batching of group scales. Loops and rows are in gen_q8.cpp, instruction sequences of
// each ISA in gen_q8_ops.cpp.
#include "microjit/gen_q8.h"

namespace mjit {

// ---- packed layout: one i32 lane = 4 bytes of one group ----------------------------

void Q8MatmulGenerator::packed_sweep(u32 rows, u32 toks)
{
    const i64 v = vbytes();
    const i64 sv = m_gpv * 4;  // scale bytes per vector
    if (m_straight) {
        for (u32 c = 0; c < m_full; ++c) {
            packed_chunk(rows, toks, false, c * v, c * sv, false);
            if (config().prefetch && (c * v) % 64 == 0)
                prefetch_rows(rows, false, c * v, c * sv, 64);
        }
    } else {
        asmjit::Label loop = as().newLabel();
        as().mov(m_col, -m_loop_bytes);
        as().mov(m_scol, -m_loop_sbytes);
        as().align(asmjit::AlignMode::kCode, 16);
        as().bind(loop);
        for (u32 u = 0; u < m_unroll; ++u)
            packed_chunk(rows, toks, true, m_loop_bytes + u * v, m_loop_sbytes + u * sv, false);
        if (config().prefetch)
            prefetch_rows(rows, true, m_loop_bytes, m_loop_sbytes, static_cast<u32>(m_unroll * v));
        as().add(m_scol, static_cast<i32>(m_unroll * sv));
        as().add(m_col, static_cast<i32>(m_unroll * v));
        as().jnz(loop);
        for (u32 u = 0; u < m_full % m_unroll; ++u)
            packed_chunk(rows, toks, false, m_loop_bytes + u * v, m_loop_sbytes + u * sv, false);
    }
    if (m_tail_bytes)
        packed_chunk(rows, toks, false, static_cast<i64>(m_full) * v, static_cast<i64>(m_full) * sv, true);
}

void Q8MatmulGenerator::packed_chunk(u32 rows, u32 toks, bool indexed, i64 disp, i64 sdisp, bool tail)
{
    const Tail* bytes_tail = tail ? &m_byte_tail : nullptr;
    const Tail* scales_tail = tail ? &m_scale_tail : nullptr;
    for (u32 t = 0; t < toks; ++t) {
        load_bytes(m_xv[t], x_mem(t, indexed, disp), bytes_tail);
        prepare_x(t);
        load_scales(m_xs[t], xs_mem(t, indexed, sdisp), m_gpv, scales_tail);
    }
    // One full vector of scales read straight from memory by the multiply.
    const bool direct = !is_sse() && toks == 1 && !tail && m_gpv * 4 == vbytes();
    for (u32 r = 0; r < rows; ++r) {
        load_bytes(m_wv, w_mem(r, indexed, disp), bytes_tail);
        prepare_w();
        if (!direct)
            load_scales(m_wsv, ws_mem(r, indexed, sdisp), m_gpv, scales_tail);
        for (u32 t = 0; t < toks; ++t) {
            // SSE2 and maddubsw leave the sum in their scratch; vpdpbusd needs another.
            const x86::Vec& sum = m_vnni ? m_t2 : m_t1;
            dot(t, sum, true, false);
            if (direct) {
                as().vmulps(m_sv, m_xs[0], ws_mem(r, indexed, sdisp));
            } else if (is_sse()) {
                as().movaps(m_sv.xmm(), m_wsv.xmm());
                as().mulps(m_sv.xmm(), m_xs[t].xmm());
            } else {
                as().vmulps(m_sv, m_wsv, m_xs[t]);
            }
            spread_scales(m_sv);
            scale_fma(acc(r, t), sum, m_sv);
        }
    }
}

// ---- grouped layout: i32 sums per group, then one scale per group -------------------

void Q8MatmulGenerator::grouped_sweep(u32 rows, u32 toks)
{
    if (m_straight) {
        for (u32 g = 0; g < m_groups; ++g) {
            const bool batched = m_batched && g / batch_groups < m_groups / batch_groups;
            if (batched && g % batch_groups == 0)
                batch_scales(rows, toks, false, static_cast<i64>(g) * 4);
            grouped_group(rows, toks, false, static_cast<i64>(g) * m_gs, static_cast<i64>(g) * 4,
                batched ? static_cast<int>(g % batch_groups) : -1);
        }
        return;
    }
    as().xor_(m_col.r32(), m_col.r32());
    as().xor_(m_scol.r32(), m_scol.r32());
    if (m_loop_groups) {
        asmjit::Label loop = as().newLabel();
        as().align(asmjit::AlignMode::kCode, 16);
        as().bind(loop);
        if (m_batched)
            batch_scales(rows, toks, true, 0);
        for (u32 j = 0; j < m_groups_per_iter; ++j)
            grouped_group(rows, toks, true, static_cast<i64>(j) * m_gs, static_cast<i64>(j) * 4, m_batched ? static_cast<int>(j) : -1);
        if (config().prefetch)
            prefetch_rows(rows, true, 0, 0, m_groups_per_iter * m_gs);
        as().add(m_col, static_cast<i32>(m_groups_per_iter * m_gs));
        as().add(m_scol, static_cast<i32>(m_groups_per_iter * 4));
        as().cmp(m_scol, static_cast<i32>(m_loop_groups * 4));
        as().jne(loop);
    }
    for (u32 j = 0; j < m_groups - m_loop_groups; ++j)
        grouped_group(rows, toks, true, static_cast<i64>(j) * m_gs, static_cast<i64>(j) * 4, -1);
}

// The products w_scale[row][g] * x_scale[tok][g] of the batch's 8 groups, one multiply
// per (row, token), parked on the stack for grouped_group() to broadcast.
void Q8MatmulGenerator::batch_scales(u32 rows, u32 toks, bool indexed, i64 sdisp)
{
    const x86::Ymm s = m_sv.ymm();
    for (u32 r = 0; r < rows; ++r)
        for (u32 t = 0; t < toks; ++t) {
            as().vmovups(s, ws_mem(r, indexed, sdisp));
            as().vmulps(s, s, xs_mem(t, indexed, sdisp));
            as().vmovups(stack_slot(static_cast<i32>((r * toks + t) * batch_groups * 4)), s);
        }
}

void Q8MatmulGenerator::grouped_group(u32 rows, u32 toks, bool indexed, i64 disp, i64 sdisp, int batch_lane)
{
    const i64 v = vbytes();
    if (m_vpg <= unrolled_group_chunks) {
        for (u32 k = 0; k < m_vpg; ++k)
            grouped_chunk(rows, toks, indexed, disp + k * v, false, k == 0);
        if (m_partial_bytes)
            grouped_chunk(rows, toks, indexed, disp + m_vpg * v, true, m_vpg == 0);
    } else {
        // Long groups: a loop over the group's vectors that walks the byte index, which
        // is put back afterwards so that the group's other offsets stay the same.
        for (u32 r = 0; r < rows; ++r)
            for (u32 t = 0; t < toks; ++t)
                v_zero(isum(r, t));
        asmjit::Label loop = as().newLabel();
        as().mov(m_kcount.r32(), m_vpg);
        as().bind(loop);
        grouped_chunk(rows, toks, true, disp, false, false);
        as().add(m_col, static_cast<i32>(v));
        as().dec(m_kcount.r32());
        as().jnz(loop);
        if (m_partial_bytes)
            grouped_chunk(rows, toks, true, disp, true, false);
        as().sub(m_col, static_cast<i32>(m_vpg * v));
    }

    if (batch_lane >= 0) {
        for (u32 r = 0; r < rows; ++r)
            for (u32 t = 0; t < toks; ++t) {
                as().vbroadcastss(m_sv, stack_slot(static_cast<i32>(((r * toks + t) * batch_groups + batch_lane) * 4)));
                scale_fma(acc(r, t), isum(r, t), m_sv);
            }
        return;
    }
    for (u32 r = 0; r < rows; ++r) {
        const x86::Mem ws = ws_mem(r, indexed, sdisp);
        if (is_sse()) {
            as().movss(m_wsv.xmm(), ws);
            as().shufps(m_wsv.xmm(), m_wsv.xmm(), 0);
        } else {
            as().vbroadcastss(m_wsv, ws);
        }
        for (u32 t = 0; t < toks; ++t) {
            x86::Mem xs = xs_mem(t, indexed, sdisp);
            if (is_sse()) {
                as().movss(m_sv.xmm(), xs);
                as().shufps(m_sv.xmm(), m_sv.xmm(), 0);
                as().mulps(m_sv.xmm(), m_wsv.xmm());
            } else if (is_avx512()) {
                as().vmulps(m_sv, m_wsv, xs._1to16());
            } else {
                as().vbroadcastss(m_sv, xs);
                as().vmulps(m_sv, m_sv, m_wsv);
            }
            scale_fma(acc(r, t), isum(r, t), m_sv);
        }
    }
}

void Q8MatmulGenerator::grouped_chunk(u32 rows, u32 toks, bool indexed, i64 disp, bool partial, bool first)
{
    const Tail* tail = partial ? &m_byte_tail : nullptr;
    for (u32 t = 0; t < toks; ++t) {
        load_bytes(m_xv[t], x_mem(t, indexed, disp), tail);
        prepare_x(t);
    }
    for (u32 r = 0; r < rows; ++r) {
        load_bytes(m_wv, w_mem(r, indexed, disp), tail);
        prepare_w();
        for (u32 t = 0; t < toks; ++t)
            dot(t, isum(r, t), false, !first);
    }
}

}
