// The row, stripe and token loops of the matrix generators (see gen_matrix.h).
#include "microjit/gen_matrix.h"

namespace mjit {

void MatrixGenerator::assign_row_registers(const Rows& rows)
{
    m_rows = rows;
    const KernelConfig& c = config();
    const bool scales = rows.ws_row != 0;
    m_args = x86::rdi;
    m_row = new_gp();
    m_w = new_gp();
    m_xt = new_gp();
    m_ot = new_gp();
    m_col = new_gp();
    m_scratch = new_gp();
    if (scales) {
        m_ws = new_gp();
        m_xst = new_gp();
        m_scol = new_gp();
    }
    if (c.shape.t / rows.toks > 1)
        m_tok_count = new_gp();
    if (rows.stripes) {
        m_stripe_w[0] = m_w;
        m_stripe_ws[0] = m_ws;
        for (u32 r = 1; r < rows.stripes; ++r) {
            m_stripe_w[r] = new_gp();
            if (scales)
                m_stripe_ws[r] = new_gp();
        }
        m_stripe_out = new_gp();
        m_stripe_gap = new_gp();
        m_stripe_count = new_gp();
    }
}

void MatrixGenerator::load_row_args()
{
    as().mov(m_row, x86::qword_ptr(m_args, offsetof(KernelArgs, row_begin)));
    const x86::Gp bases[2] = { m_w, m_ws };
    const i64 bytes[2] = { m_rows.w_row, m_rows.ws_row };
    for (u32 i = 0; i < 2 && bytes[i]; ++i) {
        as().mov(bases[i], x86::qword_ptr(m_args, i == 0 ? offsetof(KernelArgs, w) : offsetof(KernelArgs, w_scale)));
        as().imul(m_scratch, m_row, static_cast<i32>(bytes[i]));
        as().add(bases[i], m_scratch);
    }
}

x86::Mem MatrixGenerator::row_mem(const x86::Gp& base, const x86::Gp* stripe, i64 row_bytes, u32 row, bool indexed, i64 disp) const
{
    const x86::Gp& index = base == m_w ? m_col : m_scol;
    if (m_in_stripe)
        return indexed ? vmem(stripe[row], index, disp) : vmem(stripe[row], disp);
    const i64 d = disp + static_cast<i64>(row) * row_bytes;
    return indexed ? vmem(base, index, d) : vmem(base, d);
}

x86::Mem MatrixGenerator::x_mem(u32 tok, bool indexed, i64 disp) const
{
    const i64 d = disp + static_cast<i64>(tok) * m_rows.x_tok;
    return indexed ? vmem(m_xt, m_col, d) : vmem(m_xt, d);
}

x86::Mem MatrixGenerator::xs_mem(u32 tok, bool indexed, i64 disp) const
{
    const i64 d = disp + static_cast<i64>(tok) * m_rows.xs_tok;
    return indexed ? vmem(m_xst, m_scol, d) : vmem(m_xst, d);
}

bool MatrixGenerator::out_mems(u32 r0, u32 tok, x86::Mem* outs)
{
    const i32 t = static_cast<i32>(static_cast<i64>(tok) * config().shape.d * 4);
    if (!m_in_stripe) {
        outs[0] = x86::ptr(m_ot, t + static_cast<i32>(r0 * 4));
        return true;
    }
    // Stripe r's row sits r gaps after stripe 0's in out (gap = L * 4 bytes).
    outs[0] = x86::ptr(m_ot, t);
    outs[1] = x86::ptr(m_ot, m_stripe_gap, 0, t);
    if (m_rows.stripes > 2) {
        outs[2] = x86::ptr(m_ot, m_stripe_gap, 1, t);
        as().lea(m_scratch, x86::ptr(m_ot, m_stripe_gap, 1));
        outs[3] = x86::ptr(m_scratch, m_stripe_gap, 0, t);
    }
    return false;
}

// Stripes: L = (row_end - row_begin) / stripes rows per stripe; stripe r starts at row
// row_begin + r * L. The rows past stripes * L are left to the single-row loop.
void MatrixGenerator::stripe_setup()
{
    const u32 n = m_rows.stripes;
    asmjit::Label counted = as().newLabel();
    as().mov(m_stripe_count, x86::qword_ptr(m_args, offsetof(KernelArgs, row_end)));
    as().sub(m_stripe_count, m_row);
    as().jae(counted);
    as().xor_(m_stripe_count.r32(), m_stripe_count.r32());
    as().bind(counted);
    if (n == 3) {
        // count / 3 for count < 2^32: (count * 0xAAAAAAAB) >> 33.
        as().mov(m_scratch.r32(), 0xAAAAAAABu);
        as().imul(m_stripe_count, m_scratch);
        as().shr(m_stripe_count, 33);
    } else {
        as().shr(m_stripe_count, n == 4 ? 2 : 1);
    }
    as().lea(m_stripe_gap, x86::ptr(0, m_stripe_count, 2));
    as().mov(m_stripe_out, x86::qword_ptr(m_args, offsetof(KernelArgs, out)));
    as().lea(m_stripe_out, x86::ptr(m_stripe_out, m_row, 2));
    const x86::Gp* ptrs[2] = { m_stripe_w, m_stripe_ws };
    const i64 bytes[2] = { m_rows.w_row, m_rows.ws_row };
    for (u32 i = 0; i < 2 && bytes[i]; ++i) {
        as().imul(m_scratch, m_stripe_count, static_cast<i32>(bytes[i]));
        for (u32 r = 1; r < n; ++r)
            as().lea(ptrs[i][r], x86::ptr(ptrs[i][r - 1], m_scratch));
    }
    // Where the leftover rows start: row_begin + stripes * L.
    as().imul(m_scratch, m_stripe_count, static_cast<i32>(n));
    as().add(m_row, m_scratch);
}

void MatrixGenerator::stripe_loop()
{
    const u32 n = m_rows.stripes;
    asmjit::Label step = as().newLabel();
    asmjit::Label rest = as().newLabel();
    as().test(m_stripe_count, m_stripe_count);
    as().jz(rest);
    as().bind(step);
    m_in_stripe = true;
    token_blocks(n);
    m_in_stripe = false;
    for (u32 r = 0; r < n; ++r)
        advance(&m_stripe_w[r], &m_stripe_ws[r], 1);
    as().add(m_stripe_out, 4);
    as().dec(m_stripe_count);
    as().jnz(step);
    as().bind(rest);
    // The last stripe ends where the leftover rows begin.
    as().mov(m_w, m_stripe_w[n - 1]);
    if (m_rows.ws_row)
        as().mov(m_ws, m_stripe_ws[n - 1]);
}

void MatrixGenerator::advance(const x86::Gp* w, const x86::Gp* ws, u32 rows)
{
    as().add(*w, static_cast<i32>(m_rows.w_row * rows));
    if (m_rows.ws_row)
        as().add(*ws, static_cast<i32>(m_rows.ws_row * rows));
}

void MatrixGenerator::row_loops()
{
    asmjit::Label single = as().newLabel();
    asmjit::Label done = as().newLabel();
    const x86::Mem row_end = x86::qword_ptr(m_args, offsetof(KernelArgs, row_end));
    const u32 rows = m_rows.rows;
    const u32 cache = step_cache_bytes();
    if (cache)
        as().sub(x86::rsp, cache);
    prepare_columns();
    if (m_rows.stripes) {
        stripe_setup();
        stripe_loop();
    } else if (rows > 1) {
        asmjit::Label block = as().newLabel();
        as().bind(block);
        as().lea(m_scratch, x86::ptr(m_row, static_cast<i32>(rows)));
        as().cmp(m_scratch, row_end);
        as().ja(single);
        token_blocks(rows);
        as().add(m_row, static_cast<i32>(rows));
        advance(&m_w, &m_ws, rows);
        as().jmp(block);
    }
    // Leftover rows (fewer than `rows`), one at a time.
    as().bind(single);
    as().cmp(m_row, row_end);
    as().jae(done);
    token_blocks(1);
    as().inc(m_row);
    advance(&m_w, &m_ws, 1);
    as().jmp(single);
    as().bind(done);
    if (cache)
        as().add(x86::rsp, cache);
}

void MatrixGenerator::token_blocks(u32 rows)
{
    const u32 t = config().shape.t, toks = m_rows.toks;
    const u32 full = t / toks, rest = t % toks;
    as().mov(m_xt, x86::qword_ptr(m_args, offsetof(KernelArgs, x)));
    if (m_rows.ws_row)
        as().mov(m_xst, x86::qword_ptr(m_args, offsetof(KernelArgs, x_scale)));
    if (m_in_stripe) {
        as().mov(m_ot, m_stripe_out);
    } else {
        as().mov(m_ot, x86::qword_ptr(m_args, offsetof(KernelArgs, out)));
        as().lea(m_ot, x86::ptr(m_ot, m_row, 2));
    }
    // The full blocks of `toks` tokens (a loop if more than one), then the rest; with a
    // step cache, the first full block fills it and the others (a loop) read it.
    struct Part {
        u32 block, count;
        Pass pass;
    };
    const bool cached = step_cache_bytes() != 0;
    const Part parts[3] = { { toks, cached ? 1 : full, cached ? Pass::Fill : Pass::Alone },
        { toks, cached ? full - 1 : 0, Pass::Reuse }, { rest, rest ? 1u : 0u, cached ? Pass::Reuse : Pass::Alone } };
    const u32 groups = full + (rest ? 1 : 0);
    u32 emitted = 0;
    for (u32 part = 0; part < 3; ++part) {
        const u32 count = parts[part].count;
        if (count == 0)
            continue;
        emitted += count;
        asmjit::Label next = as().newLabel();
        if (count > 1) {
            as().mov(m_tok_count.r32(), count);
            as().bind(next);
        }
        m_pass = parts[part].pass;
        sweep(rows, parts[part].block);
        store(rows, parts[part].block);
        // On to the next group's tokens and outputs (in a loop: after every group).
        if (count > 1 || emitted < groups) {
            as().add(m_xt, static_cast<i32>(m_rows.x_tok * toks));
            if (m_rows.ws_row)
                as().add(m_xst, static_cast<i32>(m_rows.xs_tok * toks));
            as().add(m_ot, static_cast<i32>(static_cast<i64>(config().shape.d) * 4 * toks));
        }
        if (count > 1) {
            as().dec(m_tok_count.r32());
            as().jnz(next);
        }
    }
    m_pass = Pass::Alone;
}

void MatrixGenerator::column_loop(u32 rows, u32 toks)
{
    const Columns& c = m_columns;
    const bool prefetching = config().prefetch != 0;
    if (c.loop_steps == 0 && c.indexed) {
        as().xor_(m_col.r32(), m_col.r32());
        as().xor_(c.second.r32(), c.second.r32());
    }
    u32 s = 0;
    if (c.loop_steps) {
        // The indices run from minus the loop's bytes up to 0, so the loop ends on the
        // W index's add.
        const i64 loop_bytes = c.loop_steps * c.bytes, loop_second = c.loop_steps * c.second_bytes;
        asmjit::Label loop = as().newLabel();
        as().mov(m_col, -loop_bytes);
        if (c.second.isValid())
            as().mov(c.second, -loop_second);
        as().align(asmjit::AlignMode::kCode, 16);
        as().bind(loop);
        for (u32 u = 0; u < c.unroll; ++u)
            column_step(rows, toks, true, loop_bytes + u * c.bytes, loop_second + u * c.second_bytes, false);
        if (prefetching)
            prefetch_rows(rows, true, loop_bytes, loop_second, static_cast<u32>(c.unroll * c.bytes));
        if (c.second.isValid())
            as().add(c.second, static_cast<i32>(c.unroll * c.second_bytes));
        as().add(m_col, static_cast<i32>(c.unroll * c.bytes));
        as().jnz(loop);
        s = c.loop_steps;
    }
    for (; s < c.steps; ++s) {
        column_step(rows, toks, c.indexed, s * c.bytes, s * c.second_bytes, false);
        if (prefetching && c.loop_steps == 0)
            prefetch_rows(rows, c.indexed, s * c.bytes, s * c.second_bytes, c.straight_prefetch);
    }
    if (c.last)
        column_step(rows, toks, c.indexed, c.steps * c.bytes, c.steps * c.second_bytes, true);
}

void MatrixGenerator::prefetch_rows(u32 rows, bool indexed, i64 disp, i64, u32 bytes)
{
    for (u32 r = 0; r < rows; ++r)
        prefetch_row(r, indexed, disp, bytes);
}

void MatrixGenerator::prefetch_row(u32 row, bool indexed, i64 disp, u32 bytes)
{
    const i64 ahead = config().prefetch;
    for (u32 b = 0; b < bytes; b += 64)
        prefetch(w_mem(row, indexed, disp + ahead + b));
}

}
