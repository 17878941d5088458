// fp32 matvec/matmul generator (see gen_f32.h).
#include "microjit/gen_f32.h"

namespace mjit {

namespace {

// Rows of at most this many full vectors become straight-line code.
constexpr u32 straight_line_chunks = 16;

struct Plan {
    u32 toks;
    u32 splits;
    u32 vecs;
};

Plan plan_for(const KernelConfig& c)
{
    Plan p {};
    p.toks = c.tokens < c.shape.t ? c.tokens : c.shape.t;
    const u32 vfloats = vector_bytes(c.isa) / 4;
    const bool tail = vfloats != 0 && c.shape.n % vfloats != 0;
    // x per token, one weight register, SSE2's product temporary, the tail's mask/scratch
    // (AVX-512 keeps its tail mask in a k register).
    const u32 fixed = p.toks + 1 + (c.isa == Isa::Sse2 ? 1 : 0) + (tail && c.isa != Isa::Avx512 ? 1 : 0);
    const u32 outputs = c.rows * p.toks;
    const u32 budget = c.isa == Isa::Avx512 ? 32 : 16;
    p.splits = c.unroll;
    while (p.splits > 1 && (outputs * p.splits + fixed > budget || outputs * p.splits > F32MatmulGenerator::max_accumulators))
        --p.splits;
    p.vecs = outputs * p.splits + fixed;
    return p;
}

}

kl::ErrorOr<void> F32MatmulGenerator::check(const KernelConfig& c)
{
    if (c.op != KernelOp::MatvecF32 && c.op != KernelOp::MatmulF32)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "F32MatmulGenerator: not an fp32 matrix op");
    const Plan p = plan_for(c);
    const u32 budget = c.isa == Isa::Avx512 ? 32 : 16;
    if (p.vecs > budget || c.rows * p.toks > max_accumulators) {
        char name[96];
        format_config_name(name, sizeof(name), c);
        return kl::Error::make(kl::ErrorCode::JitUnsupported, "%s: %u rows x %u tokens in flight need %u vector registers, %s has %u",
            name, c.rows, p.toks, p.vecs, kl::cpu::isa_name(c.isa), budget);
    }
    return {};
}

F32MatmulGenerator::F32MatmulGenerator(const KernelConfig& c) : Emitter(c)
{
    const Plan p = plan_for(c);
    m_n = c.shape.n;
    m_d = c.shape.d;
    m_t = c.shape.t;
    m_rows = c.rows;
    m_toks = p.toks;
    m_unroll = c.unroll;
    m_splits = p.splits;
    m_vfloats = vbytes() / 4;
    m_full = m_n / m_vfloats;
    m_tail_floats = m_n % m_vfloats;
    m_row_bytes = static_cast<i64>(m_n) * 4;
    m_out_tok_bytes = static_cast<i64>(m_d) * 4;
    m_aligned = (c.flags & variant::aligned) != 0;
    m_stripes = (c.flags & variant::stripes) != 0;
    m_in_stripe = false;
    m_unrolled = m_full <= straight_line_chunks;
    m_loop_bytes = m_unrolled ? 0 : static_cast<i64>(m_full / m_unroll) * m_unroll * vbytes();
}

void F32MatmulGenerator::generate()
{
    if (check(config()).is_error()) {
        fail(kl::ErrorCode::JitUnsupported, "config over the register budget");
        return;
    }
    assign_registers();
    prologue();
    load_args();
    main_loop();
    epilogue();
}

void F32MatmulGenerator::assign_registers()
{
    m_args = x86::rdi;
    m_row = new_gp();
    m_row_end = new_gp();
    m_w = new_gp();
    m_xt = new_gp();
    m_ot = new_gp();
    m_col = new_gp();
    m_scratch = new_gp();
    if (m_t / m_toks > 1)
        m_tok_count = new_gp();
    if (m_stripes) {
        m_stripe_w[0] = m_w;
        for (u32 r = 1; r < m_rows; ++r)
            m_stripe_w[r] = new_gp();
        m_stripe_out = new_gp();
        m_stripe_gap = new_gp();
        m_stripe_count = new_gp();
    }

    // Temporaries first: on AVX-512 they land in the high bank with the accumulators.
    m_wv = new_vec();
    if (is_sse())
        m_tmp = new_vec();
    for (u32 i = 0; i < m_toks; ++i)
        m_xv[i] = new_vec();
    for (u32 i = 0; i < m_rows * m_toks * m_splits; ++i)
        m_acc[i] = new_vec();
}

void F32MatmulGenerator::load_args()
{
    as().mov(m_row, x86::qword_ptr(m_args, offsetof(KernelArgs, row_begin)));
    as().mov(m_row_end, x86::qword_ptr(m_args, offsetof(KernelArgs, row_end)));
    as().mov(m_w, x86::qword_ptr(m_args, offsetof(KernelArgs, w)));
    // W of the first row: w + row_begin * n * 4.
    as().imul(m_scratch, m_row, static_cast<i32>(m_row_bytes));
    as().add(m_w, m_scratch);
    setup_tail(m_tail, m_tail_floats, m_scratch);
}

// Stripes: L = (row_end - row_begin) / rows rows per stripe; stripe r starts at row
// row_begin + r * L. The rows past rows * L are left to the single-row loop.
void F32MatmulGenerator::stripe_setup()
{
    // An empty or inverted range (row_end <= row_begin) makes no stripes.
    asmjit::Label counted = as().newLabel();
    as().mov(m_stripe_count, m_row_end);
    as().sub(m_stripe_count, m_row);
    as().jae(counted);
    as().xor_(m_stripe_count.r32(), m_stripe_count.r32());
    as().bind(counted);
    if (m_rows == 3) {
        // count / 3 for count < 2^32: (count * 0xAAAAAAAB) >> 33.
        as().mov(m_scratch.r32(), 0xAAAAAAABu);
        as().imul(m_stripe_count, m_scratch);
        as().shr(m_stripe_count, 33);
    } else {
        as().shr(m_stripe_count, m_rows == 4 ? 2 : 1);
    }
    as().lea(m_stripe_gap, x86::ptr(0, m_stripe_count, 2));
    as().mov(m_stripe_out, x86::qword_ptr(m_args, offsetof(KernelArgs, out)));
    as().lea(m_stripe_out, x86::ptr(m_stripe_out, m_row, 2));
    as().imul(m_scratch, m_stripe_count, static_cast<i32>(m_row_bytes));
    for (u32 r = 1; r < m_rows; ++r)
        as().lea(m_stripe_w[r], x86::ptr(m_stripe_w[r - 1], m_scratch));
    // Where the leftover rows start: row_begin + rows * L.
    as().imul(m_scratch, m_stripe_count, static_cast<i32>(m_rows));
    as().add(m_row, m_scratch);
}

void F32MatmulGenerator::stripe_loop()
{
    asmjit::Label step = as().newLabel();
    asmjit::Label rest = as().newLabel();
    as().test(m_stripe_count, m_stripe_count);
    as().jz(rest);
    as().bind(step);
    m_in_stripe = true;
    token_blocks(m_rows);
    m_in_stripe = false;
    for (u32 r = 0; r < m_rows; ++r)
        as().add(m_stripe_w[r], static_cast<i32>(m_row_bytes));
    as().add(m_stripe_out, 4);
    as().dec(m_stripe_count);
    as().jnz(step);
    as().bind(rest);
    // The last stripe ends where the leftover rows begin.
    as().mov(m_w, m_stripe_w[m_rows - 1]);
}

void F32MatmulGenerator::main_loop()
{
    asmjit::Label single = as().newLabel();
    asmjit::Label done = as().newLabel();
    if (m_stripes) {
        stripe_setup();
        stripe_loop();
    } else if (m_rows > 1) {
        asmjit::Label block = as().newLabel();
        as().bind(block);
        as().lea(m_scratch, x86::ptr(m_row, static_cast<i32>(m_rows)));
        as().cmp(m_scratch, m_row_end);
        as().ja(single);
        token_blocks(m_rows);
        as().add(m_row, static_cast<i32>(m_rows));
        as().add(m_w, static_cast<i32>(m_row_bytes * m_rows));
        as().jmp(block);
    }
    // Leftover rows (fewer than `rows`), one at a time.
    as().bind(single);
    as().cmp(m_row, m_row_end);
    as().jae(done);
    token_blocks(1);
    as().inc(m_row);
    as().add(m_w, static_cast<i32>(m_row_bytes));
    as().jmp(single);
    as().bind(done);
}

void F32MatmulGenerator::token_blocks(u32 rows)
{
    const u32 full = m_t / m_toks;
    const u32 rest = m_t % m_toks;
    as().mov(m_xt, x86::qword_ptr(m_args, offsetof(KernelArgs, x)));
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
        as().add(m_xt, static_cast<i32>(m_row_bytes * m_toks));
        as().add(m_ot, static_cast<i32>(m_out_tok_bytes * m_toks));
        as().dec(m_tok_count.r32());
        as().jnz(next);
    } else {
        sweep(rows, m_toks);
        store(rows, m_toks);
        if (rest) {
            as().add(m_xt, static_cast<i32>(m_row_bytes * m_toks));
            as().add(m_ot, static_cast<i32>(m_out_tok_bytes * m_toks));
        }
    }
    if (rest) {
        sweep(rows, rest);
        store(rows, rest);
    }
}

x86::Mem F32MatmulGenerator::w_mem(u32 row, bool indexed, i64 disp) const
{
    if (m_in_stripe)
        return indexed ? vmem(m_stripe_w[row], m_col, disp) : vmem(m_stripe_w[row], disp);
    const i64 d = disp + static_cast<i64>(row) * m_row_bytes;
    return indexed ? vmem(m_w, m_col, d) : vmem(m_w, d);
}

x86::Mem F32MatmulGenerator::x_mem(u32 tok, bool indexed, i64 disp) const
{
    const i64 d = disp + static_cast<i64>(tok) * m_row_bytes;
    return indexed ? vmem(m_xt, m_col, d) : vmem(m_xt, d);
}

void F32MatmulGenerator::sweep(u32 rows, u32 toks)
{
    for (u32 r = 0; r < rows; ++r)
        for (u32 t = 0; t < toks; ++t)
            for (u32 s = 0; s < m_splits; ++s)
                v_zero(acc(r, t, s));

    const i64 vb = vbytes();
    if (m_unrolled) {
        for (u32 c = 0; c < m_full; ++c) {
            chunk(rows, toks, false, c * vb, c % m_splits);
            if (config().prefetch && (c * vb) % 64 == 0)
                prefetch_rows(rows, false, c * vb, 64);
        }
    } else {
        // The index runs from -m_loop_bytes up to 0, so the loop ends on the add's flags.
        asmjit::Label loop = as().newLabel();
        as().mov(m_col, -m_loop_bytes);
        as().align(asmjit::AlignMode::kCode, 16);
        as().bind(loop);
        for (u32 u = 0; u < m_unroll; ++u)
            chunk(rows, toks, true, m_loop_bytes + u * vb, u % m_splits);
        if (config().prefetch)
            prefetch_rows(rows, true, m_loop_bytes, static_cast<u32>(m_unroll * vb));
        as().add(m_col, static_cast<i32>(m_unroll * vb));
        as().jnz(loop);
        const u32 rest = m_full % m_unroll;
        for (u32 u = 0; u < rest; ++u)
            chunk(rows, toks, false, m_loop_bytes + u * vb, u % m_splits);
    }
    if (m_tail_floats)
        tail(rows, toks);

    for (u32 r = 0; r < rows; ++r)
        for (u32 t = 0; t < toks; ++t)
            for (u32 s = 1; s < m_splits; ++s)
                v_add(acc(r, t, 0), acc(r, t, s));
}

void F32MatmulGenerator::chunk(u32 rows, u32 toks, bool indexed, i64 disp, u32 split)
{
    for (u32 t = 0; t < toks; ++t)
        v_load(m_xv[t], x_mem(t, indexed, disp), m_aligned);
    for (u32 r = 0; r < rows; ++r) {
        const x86::Mem w = w_mem(r, indexed, disp);
        if (!is_sse() && toks == 1) {
            // One weight, one use: let the FMA read it from memory.
            v_fma(acc(r, 0, split), m_xv[0], w, m_tmp);
            continue;
        }
        v_load(m_wv, w, m_aligned);
        for (u32 t = 0; t < toks; ++t) {
            if (is_sse() && t + 1 == toks) {
                // The last use may consume the weight register itself.
                as().mulps(m_wv.xmm(), m_xv[t].xmm());
                as().addps(acc(r, t, split).xmm(), m_wv.xmm());
            } else {
                v_fma(acc(r, t, split), m_xv[t], m_wv, m_tmp);
            }
        }
    }
}

void F32MatmulGenerator::prefetch_rows(u32 rows, bool indexed, i64 disp, u32 bytes)
{
    const i64 ahead = config().prefetch;
    for (u32 r = 0; r < rows; ++r)
        for (u32 b = 0; b == 0 || b < bytes; b += 64)
            prefetch(w_mem(r, indexed, disp + ahead + b));
}

void F32MatmulGenerator::tail(u32 rows, u32 toks)
{
    const i64 disp = static_cast<i64>(m_full) * vbytes();
    for (u32 t = 0; t < toks; ++t)
        load_tail(m_xv[t], x_mem(t, false, disp), m_tail);
    for (u32 r = 0; r < rows; ++r) {
        load_tail(m_wv, w_mem(r, false, disp), m_tail);
        for (u32 t = 0; t < toks; ++t)
            v_fma(acc(r, t, 0), m_xv[t], m_wv, m_tmp);
    }
}

void F32MatmulGenerator::store(u32 rows, u32 toks)
{
    if (m_in_stripe) {
        // Stripe r's row sits r gaps after stripe 0's in out (gap = L * 4 bytes).
        for (u32 t = 0; t < toks; ++t) {
            const i32 tok = static_cast<i32>(t * m_out_tok_bytes);
            x86::Vec group[4];
            x86::Mem outs[4];
            for (u32 r = 0; r < rows; ++r)
                group[r] = acc(r, t, 0);
            outs[0] = x86::ptr(m_ot, tok);
            outs[1] = x86::ptr(m_ot, m_stripe_gap, 0, tok);
            if (rows > 2) {
                outs[2] = x86::ptr(m_ot, m_stripe_gap, 1, tok);
                as().lea(m_scratch, x86::ptr(m_ot, m_stripe_gap, 1));
                outs[3] = x86::ptr(m_scratch, m_stripe_gap, 0, tok);
            }
            reduce_scatter(group, rows, outs, m_wv);
        }
        return;
    }
    for (u32 t = 0; t < toks; ++t) {
        for (u32 r0 = 0; r0 < rows; r0 += 4) {
            const u32 count = rows - r0 < 4 ? rows - r0 : 4;
            x86::Vec group[4];
            for (u32 i = 0; i < count; ++i)
                group[i] = acc(r0 + i, t, 0);
            reduce_store(group, count, x86::ptr(m_ot, static_cast<i32>(t * m_out_tok_bytes + r0 * 4)), m_wv);
        }
    }
}

}
