// Q8_0 matvec/matmul generator: plan, registers, rows, stripes and tokens (see gen_q8.h;
// the column layouts are in gen_q8_sweeps.cpp, the ISA-specific sequences in gen_q8_ops.cpp).
#include "microjit/gen_q8.h"

namespace mjit {

namespace {

struct Plan {
    bool packed;
    u32 toks;
    u32 gpv, full, tail_bytes, tail_groups;  // packed
    u32 vpg, partial_bytes;                  // grouped
    u32 vecs;
};

Plan plan_for(const KernelConfig& c)
{
    Plan p {};
    const u32 v = vector_bytes(c.isa);
    const u32 gs = c.shape.gs;
    const bool sse = c.isa == Isa::Sse2;
    const bool avx512 = c.isa == Isa::Avx512;
    const bool vnni = (c.flags & variant::vnni) != 0;
    p.toks = c.tokens < c.shape.t ? c.tokens : c.shape.t;
    p.packed = v != 0 && gs < v && v % gs == 0;
    if (p.packed) {
        p.gpv = v / gs;
        p.full = c.shape.n / v;
        p.tail_bytes = c.shape.n % v;
        p.tail_groups = p.tail_bytes / gs;
    } else if (v != 0) {
        p.vpg = gs / v;
        p.partial_bytes = gs % v;
    }
    const u32 outputs = c.rows * p.toks;
    u32 n = outputs;                      // float accumulators
    if (!p.packed)
        n += outputs;                     // i32 group sums
    n += p.toks;                          // x
    if (sse)
        n += p.toks;                      // x low half
    if (avx512)
        n += p.toks + 1;                  // -x, zero
    if (p.packed)
        n += p.toks;                      // x group scales
    n += 2;                               // w, a temporary
    if (sse || avx512)
        n += 1;                           // |w| (SSE2: w's low half)
    else
        n += p.toks;                      // AVX2: |x|
    if (sse || vnni)
        n += 1;                           // a second temporary
    if (sse && p.packed)
        n += 1;                           // lane shuffle temporary
    if (!sse && !vnni)
        n += 1;                           // i16 ones for vpmaddwd
    n += 2;                               // row scale, scale product
    if (p.packed && !sse && p.gpv < v / 4)
        n += 1;                           // vpermps index
    const bool byte_tail = p.packed ? p.tail_bytes != 0 : p.partial_bytes != 0;
    const bool scale_tail = p.packed && p.tail_groups != 0;
    if (!avx512)
        n += (byte_tail ? 1 : 0) + (scale_tail ? 1 : 0);
    p.vecs = n;
    return p;
}

}

kl::ErrorOr<void> Q8MatmulGenerator::check(const KernelConfig& c)
{
    if (!is_q8_op(c.op))
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "Q8MatmulGenerator: not a Q8 matrix op");
    if ((c.flags & variant::stripes) && (c.rows != 2 || c.tokens != c.shape.t || (c.shape.gs / vector_bytes(c.isa)) > unrolled_group_chunks)) {
        char name[96];
        format_config_name(name, sizeof(name), c);
        return kl::Error::make(kl::ErrorCode::JitUnsupported,
            "%s: Q8 stripes need rows = 2, all tokens in one block and groups of at most 8 vectors (general registers)", name);
    }
    const Plan p = plan_for(c);
    const u32 budget = c.isa == Isa::Avx512 ? 32 : 16;
    if (p.vecs > budget || c.rows * p.toks > max_outputs) {
        char name[96];
        format_config_name(name, sizeof(name), c);
        return kl::Error::make(kl::ErrorCode::JitUnsupported, "%s: %u rows x %u tokens in flight need %u vector registers, %s has %u",
            name, c.rows, p.toks, p.vecs, kl::cpu::isa_name(c.isa), budget);
    }
    return {};
}

Q8MatmulGenerator::Q8MatmulGenerator(const KernelConfig& c) : Emitter(c)
{
    const Plan p = plan_for(c);
    m_n = c.shape.n;
    m_d = c.shape.d;
    m_t = c.shape.t;
    m_gs = c.shape.gs;
    m_groups = m_gs ? m_n / m_gs : 0;
    m_rows = c.rows;
    m_toks = p.toks;
    m_unroll = c.unroll;
    m_packed = p.packed;
    m_vnni = (c.flags & variant::vnni) != 0;
    m_gpv = p.gpv;
    m_full = p.full;
    m_tail_bytes = p.tail_bytes;
    m_tail_groups = p.tail_groups;
    m_vpg = p.vpg;
    m_partial_bytes = p.partial_bytes;
    m_stripes = (c.flags & variant::stripes) != 0;
    m_in_stripe = false;
    // Aligned loads only where every vector starts on a vector boundary.
    m_aligned = (c.flags & variant::aligned) != 0 && (m_packed || m_gs % vbytes() == 0);

    const u32 v = vbytes();
    if (m_packed) {
        m_straight = m_full <= straight_line_chunks;
        m_loop_bytes = m_straight ? 0 : static_cast<i64>(m_full / m_unroll) * m_unroll * v;
        m_loop_sbytes = m_loop_bytes / m_gs * 4;
        m_groups_per_iter = 0;
        m_loop_groups = 0;
        m_batched = false;
    } else {
        const u32 chunks_per_group = m_vpg + (m_partial_bytes ? 1 : 0);
        m_straight = m_vpg <= unrolled_group_chunks && m_groups * chunks_per_group <= straight_line_chunks;
        m_loop_bytes = 0;
        m_loop_sbytes = 0;
        m_groups_per_iter = m_vpg >= 2 ? 1 : m_unroll;
        // Batches of 8 groups: not for SSE2 (16 registers of 16 bytes leave no room to
        // gain) nor for long groups (the scale work is a small share there).
        m_batched = !is_sse() && m_vpg <= 4 && m_groups >= batch_groups;
        if (m_batched)
            m_groups_per_iter = batch_groups;
        m_loop_groups = m_straight ? 0 : m_groups / m_groups_per_iter * m_groups_per_iter;
    }
}

void Q8MatmulGenerator::generate()
{
    if (check(config()).is_error()) {
        fail(kl::ErrorCode::JitUnsupported, "config over the register budget");
        return;
    }
    assign_registers();
    if (m_batched)
        reserve_stack(m_rows * m_toks * batch_groups * 4);
    prologue();
    load_args();
    main_loop();
    epilogue();
}

void Q8MatmulGenerator::assign_registers()
{
    m_args = x86::rdi;
    m_row = new_gp();
    m_w = new_gp();
    m_ws = new_gp();
    m_xt = new_gp();
    m_xst = new_gp();
    m_ot = new_gp();
    m_col = new_gp();
    m_scol = new_gp();
    m_scratch = new_gp();
    if (m_t / m_toks > 1)
        m_tok_count = new_gp();
    if (!m_packed && m_vpg > unrolled_group_chunks)
        m_kcount = new_gp();
    if (m_stripes) {
        m_stripe_w[0] = m_w;
        m_stripe_ws[0] = m_ws;
        m_stripe_w[1] = new_gp();
        m_stripe_ws[1] = new_gp();
        m_stripe_out = new_gp();
        m_stripe_gap = new_gp();
        m_stripe_count = new_gp();
    }

    m_wv = new_vec();
    if (is_sse() || is_avx512())
        m_wa = new_vec();
    m_t1 = new_vec();
    if (is_sse() || m_vnni)
        m_t2 = new_vec();
    if (is_sse() && m_packed)
        m_t3 = new_vec();
    if (!is_sse() && !m_vnni)
        m_ones = new_vec();
    if (is_avx512()) {
        m_zero = new_vec();
        m_sign = new_k();
    }
    m_wsv = new_vec();
    m_sv = new_vec();
    if (m_packed && !is_sse() && m_gpv < vbytes() / 4)
        m_spread = new_vec();
    for (u32 t = 0; t < m_toks; ++t) {
        m_xv[t] = new_vec();
        if (is_sse())
            m_xlo[t] = new_vec();
        if (is_avx512())
            m_xneg[t] = new_vec();
        else if (!is_sse())
            m_xabs[t] = new_vec();
        if (m_packed)
            m_xs[t] = new_vec();
    }
    for (u32 i = 0; i < m_rows * m_toks; ++i) {
        m_acc[i] = new_vec();
        if (!m_packed)
            m_isum[i] = new_vec();
    }
}

void Q8MatmulGenerator::load_args()
{
    as().mov(m_row, x86::qword_ptr(m_args, offsetof(KernelArgs, row_begin)));
    as().mov(m_w, x86::qword_ptr(m_args, offsetof(KernelArgs, w)));
    as().mov(m_ws, x86::qword_ptr(m_args, offsetof(KernelArgs, w_scale)));
    as().imul(m_scratch, m_row, static_cast<i32>(m_n));
    as().add(m_w, m_scratch);
    as().imul(m_scratch, m_row, static_cast<i32>(m_groups * 4));
    as().add(m_ws, m_scratch);

    setup_tail(m_byte_tail, (m_packed ? m_tail_bytes : m_partial_bytes) / 4, m_scratch);
    setup_tail(m_scale_tail, m_packed ? m_tail_groups : 0, m_scratch);
    if (m_ones.isValid())
        as().vpbroadcastd(m_ones, constant_dwords(0x00010001u, 1));
    if (m_zero.isValid())
        v_zero(m_zero);
    if (m_spread.isValid()) {
        u32 index[16];
        for (u32 i = 0; i < vbytes() / 4; ++i)
            index[i] = i * 4 / m_gs;
        v_load(m_spread, constant(index, vbytes()));
    }
}

// Two stripes: L = (row_end - row_begin) / 2 rows each, the second starting at
// row_begin + L; the rows past 2L are left to the single-row loop.
void Q8MatmulGenerator::stripe_setup()
{
    // An empty or inverted range (row_end <= row_begin) makes no stripes.
    asmjit::Label counted = as().newLabel();
    as().mov(m_stripe_count, x86::qword_ptr(m_args, offsetof(KernelArgs, row_end)));
    as().sub(m_stripe_count, m_row);
    as().jae(counted);
    as().xor_(m_stripe_count.r32(), m_stripe_count.r32());
    as().bind(counted);
    as().shr(m_stripe_count, 1);
    as().lea(m_stripe_gap, x86::ptr(0, m_stripe_count, 2));
    as().mov(m_stripe_out, x86::qword_ptr(m_args, offsetof(KernelArgs, out)));
    as().lea(m_stripe_out, x86::ptr(m_stripe_out, m_row, 2));
    as().imul(m_scratch, m_stripe_count, static_cast<i32>(m_n));
    as().lea(m_stripe_w[1], x86::ptr(m_w, m_scratch));
    as().imul(m_scratch, m_stripe_count, static_cast<i32>(m_groups * 4));
    as().lea(m_stripe_ws[1], x86::ptr(m_ws, m_scratch));
    as().lea(m_row, x86::ptr(m_row, m_stripe_count, 1));
}

void Q8MatmulGenerator::stripe_loop()
{
    asmjit::Label step = as().newLabel();
    asmjit::Label rest = as().newLabel();
    as().test(m_stripe_count, m_stripe_count);
    as().jz(rest);
    as().bind(step);
    m_in_stripe = true;
    token_blocks(2);
    m_in_stripe = false;
    for (u32 r = 0; r < 2; ++r) {
        as().add(m_stripe_w[r], static_cast<i32>(m_n));
        as().add(m_stripe_ws[r], static_cast<i32>(m_groups * 4));
    }
    as().add(m_stripe_out, 4);
    as().dec(m_stripe_count);
    as().jnz(step);
    as().bind(rest);
    // The second stripe ends where the leftover rows begin.
    as().mov(m_w, m_stripe_w[1]);
    as().mov(m_ws, m_stripe_ws[1]);
}

void Q8MatmulGenerator::main_loop()
{
    asmjit::Label single = as().newLabel();
    asmjit::Label done = as().newLabel();
    const x86::Mem row_end = x86::qword_ptr(m_args, offsetof(KernelArgs, row_end));
    if (m_stripes) {
        stripe_setup();
        stripe_loop();
    } else if (m_rows > 1) {
        asmjit::Label block = as().newLabel();
        as().bind(block);
        as().lea(m_scratch, x86::ptr(m_row, static_cast<i32>(m_rows)));
        as().cmp(m_scratch, row_end);
        as().ja(single);
        token_blocks(m_rows);
        as().add(m_row, static_cast<i32>(m_rows));
        as().add(m_w, static_cast<i32>(m_n * m_rows));
        as().add(m_ws, static_cast<i32>(m_groups * 4 * m_rows));
        as().jmp(block);
    }
    as().bind(single);
    as().cmp(m_row, row_end);
    as().jae(done);
    token_blocks(1);
    as().inc(m_row);
    as().add(m_w, static_cast<i32>(m_n));
    as().add(m_ws, static_cast<i32>(m_groups * 4));
    as().jmp(single);
    as().bind(done);
}

void Q8MatmulGenerator::token_blocks(u32 rows)
{
    const u32 full = m_t / m_toks;
    const u32 rest = m_t % m_toks;
    const i32 x_step = static_cast<i32>(m_n * m_toks);
    const i32 xs_step = static_cast<i32>(m_groups * 4 * m_toks);
    const i32 out_step = static_cast<i32>(m_d * 4 * m_toks);
    as().mov(m_xt, x86::qword_ptr(m_args, offsetof(KernelArgs, x)));
    as().mov(m_xst, x86::qword_ptr(m_args, offsetof(KernelArgs, x_scale)));
    if (m_in_stripe) {
        as().mov(m_ot, m_stripe_out);
    } else {
        as().mov(m_ot, x86::qword_ptr(m_args, offsetof(KernelArgs, out)));
        as().lea(m_ot, x86::ptr(m_ot, m_row, 2));
    }
    if (full > 1) {
        asmjit::Label next = as().newLabel();
        as().mov(m_tok_count.r32(), full);
        as().bind(next);
        sweep(rows, m_toks);
        store(rows, m_toks);
        as().add(m_xt, x_step);
        as().add(m_xst, xs_step);
        as().add(m_ot, out_step);
        as().dec(m_tok_count.r32());
        as().jnz(next);
    } else {
        sweep(rows, m_toks);
        store(rows, m_toks);
        if (rest) {
            as().add(m_xt, x_step);
            as().add(m_xst, xs_step);
            as().add(m_ot, out_step);
        }
    }
    if (rest) {
        sweep(rows, rest);
        store(rows, rest);
    }
}

x86::Mem Q8MatmulGenerator::w_mem(u32 row, bool indexed, i64 disp) const
{
    if (m_in_stripe)
        return indexed ? vmem(m_stripe_w[row], m_col, disp) : vmem(m_stripe_w[row], disp);
    const i64 d = disp + static_cast<i64>(row) * m_n;
    return indexed ? vmem(m_w, m_col, d) : vmem(m_w, d);
}

x86::Mem Q8MatmulGenerator::x_mem(u32 tok, bool indexed, i64 disp) const
{
    const i64 d = disp + static_cast<i64>(tok) * m_n;
    return indexed ? vmem(m_xt, m_col, d) : vmem(m_xt, d);
}

x86::Mem Q8MatmulGenerator::ws_mem(u32 row, bool indexed, i64 sdisp) const
{
    if (m_in_stripe)
        return indexed ? vmem(m_stripe_ws[row], m_scol, sdisp) : vmem(m_stripe_ws[row], sdisp);
    const i64 d = sdisp + static_cast<i64>(row) * m_groups * 4;
    return indexed ? vmem(m_ws, m_scol, d) : vmem(m_ws, d);
}

x86::Mem Q8MatmulGenerator::xs_mem(u32 tok, bool indexed, i64 sdisp) const
{
    const i64 d = sdisp + static_cast<i64>(tok) * m_groups * 4;
    return indexed ? vmem(m_xst, m_scol, d) : vmem(m_xst, d);
}

void Q8MatmulGenerator::sweep(u32 rows, u32 toks)
{
    for (u32 r = 0; r < rows; ++r)
        for (u32 t = 0; t < toks; ++t)
            v_zero(acc(r, t));
    if (m_packed)
        packed_sweep(rows, toks);
    else
        grouped_sweep(rows, toks);
}

void Q8MatmulGenerator::store(u32 rows, u32 toks)
{
    if (m_in_stripe) {
        for (u32 t = 0; t < toks; ++t) {
            const i32 tok = static_cast<i32>(t * m_d * 4);
            const x86::Vec group[2] = { acc(0, t), acc(1, t) };
            const x86::Mem outs[2] = { x86::ptr(m_ot, tok), x86::ptr(m_ot, m_stripe_gap, 0, tok) };
            reduce_scatter(group, 2, outs, m_t1);
        }
        return;
    }
    for (u32 t = 0; t < toks; ++t) {
        for (u32 r0 = 0; r0 < rows; r0 += 4) {
            const u32 count = rows - r0 < 4 ? rows - r0 : 4;
            x86::Vec group[4];
            for (u32 i = 0; i < count; ++i)
                group[i] = acc(r0 + i, t);
            reduce_store(group, count, x86::ptr(m_ot, static_cast<i32>(t * m_d * 4 + r0 * 4)), m_t1);
        }
    }
}

void Q8MatmulGenerator::prefetch_rows(u32 rows, bool indexed, i64 disp, i64 sdisp, u32 bytes)
{
    const i64 ahead = config().prefetch;
    for (u32 r = 0; r < rows; ++r) {
        for (u32 b = 0; b == 0 || b < bytes; b += 64)
            prefetch(w_mem(r, indexed, disp + ahead + b));
        // With small groups the scales are a second stream of n * 4 / gs bytes per row.
        if (m_gs <= 8) {
            const u32 sbytes = bytes * 4 / m_gs;
            for (u32 b = 0; b == 0 || b < sbytes; b += 64)
                prefetch(ws_mem(r, indexed, sdisp + ahead * 4 / m_gs + b));
        }
    }
}

}
