// fp32 (and F16 / BF16) matvec/matmul generator (see gen_f32.h).
#include "microjit/gen_f32.h"

namespace mjit {

namespace {

// Rows of at most this many vectors become straight-line code.
constexpr u32 straight_line_vectors = 16;
// The canonical order's chunk: 16 lanes (of 4 bytes in registers).
constexpr u32 chunk_lanes = 16;

struct Plan {
    u32 toks;
    u32 parts;
    u32 vecs;
};

Plan plan_for(const KernelConfig& c)
{
    Plan p {};
    p.toks = c.tokens < c.shape.t ? c.tokens : c.shape.t;
    const u32 v = vector_bytes(c.isa);
    p.parts = v ? chunk_lanes * 4 / v : 1;
    const bool partial = v != 0 && c.shape.n % (v / 4) != 0;
    // x per token, the product, the weights when several tokens share them (SSE2: the
    // weights are the product with one token), the tail's mask or scratch (AVX-512 has it
    // in a k register), and on AVX-512 three spare registers for the final transpose (the
    // other ISAs free accumulator parts for it).
    u32 fixed = p.toks + 1 + (p.toks > 1 ? 1 : 0);
    if (partial && c.isa != Isa::Avx512)
        fixed += is_halves(c.op.format) ? 2 : 1;  // halves: the short load's mask as well
    if (c.isa == Isa::Avx512)
        fixed += 3;
    p.vecs = c.rows * p.toks * p.parts + fixed;
    return p;
}

}

kl::ErrorOr<void> F32MatmulGenerator::check(const KernelConfig& c)
{
    if (!is_matrix(c.op) || !(c.op.format == Format::F32 || is_halves(c.op.format)))
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "F32MatmulGenerator: not an fp32, f16 or bf16 matrix op");
    const Plan p = plan_for(c);
    if (is_halves(c.op.format) && (c.isa == Isa::Sse2 || c.shape.n % 2 != 0)) {
        char name[96];
        format_config_name(name, sizeof(name), c);
        return kl::Error::make(kl::ErrorCode::JitUnsupported,
            "%s: f16 and bf16 kernels need avx2 or avx512 and an even n (the reference serves the others)", name);
    }
    const u32 budget = vec_budget(c.isa);
    if (p.vecs > budget || c.rows * p.toks * p.parts > max_accumulators) {
        char name[96];
        format_config_name(name, sizeof(name), c);
        return kl::Error::make(kl::ErrorCode::JitUnsupported,
            "%s: %u rows x %u tokens in flight (16 lanes each) need %u vector registers, %s has %u", name, c.rows, p.toks, p.vecs,
            kl::cpu::isa_name(c.isa), budget);
    }
    return {};
}

F32MatmulGenerator::F32MatmulGenerator(const KernelConfig& c) : MatrixGenerator(c)
{
    const Plan p = plan_for(c);
    m_n = c.shape.n;
    m_value_bytes = is_halves(c.op.format) ? 2 : 4;
    m_chunk_bytes = chunk_lanes * m_value_bytes;
    m_rows = c.rows;
    m_toks = p.toks;
    m_parts = p.parts;
    const u32 vfloats = vbytes() / 4;
    const u32 chunks = m_n / 16;
    m_tail_vecs = (m_n % 16 + vfloats - 1) / vfloats;
    m_tail_partial = m_n % vfloats != 0;
    m_aligned = (c.flags & variant::aligned) != 0;
    m_columns.steps = chunks;
    m_columns.unroll = c.unroll;
    if (chunks * m_parts > straight_line_vectors && chunks >= c.unroll)
        m_columns.loop_steps = chunks / c.unroll * c.unroll;
    m_columns.bytes = m_chunk_bytes;
    m_columns.straight_prefetch = m_chunk_bytes;
    m_columns.last = m_tail_vecs != 0;
}

void F32MatmulGenerator::generate()
{
    if (check(config()).is_error()) {
        fail(kl::ErrorCode::JitUnsupported, "config over the register budget");
        return;
    }
    Rows rows;
    rows.w_row = static_cast<i64>(m_n) * m_value_bytes;
    rows.x_tok = rows.w_row;
    rows.rows = m_rows;
    rows.toks = m_toks;
    rows.stripes = (config().flags & variant::stripes) ? m_rows : 0;
    assign_row_registers(rows);
    // Temporaries first: on AVX-512 they land in the high bank with the accumulators.
    if (!is_sse() || m_toks > 1)
        m_prod = new_vec();
    if (is_sse() || m_toks > 1)
        m_wv = new_vec();
    for (u32 i = 0; i < m_toks; ++i)
        m_xv[i] = new_vec();
    for (u32 i = 0; i < m_rows * m_toks * m_parts; ++i)
        m_acc[i] = new_vec();

    prologue();
    load_row_args();
    setup_tail(m_tail, m_tail_partial ? m_n % (vbytes() / 4) : 0, m_scratch);
    // Halves: the short last vector's values are loaded as dwords of two.
    if (m_value_bytes == 2)
        setup_tail(m_half_tail, m_tail_partial ? m_n % (vbytes() / 4) / 2 : 0, m_scratch);
    row_loops();
    epilogue();
}

void F32MatmulGenerator::sweep(u32 rows, u32 toks)
{
    for (u32 r = 0; r < rows; ++r)
        for (u32 t = 0; t < toks; ++t)
            for (u32 p = 0; p < m_parts; ++p)
                v_zero(acc(r, t, p));
    column_loop(rows, toks);
}

// Vector v of the chunk at `disp` feeds part v of every output; in the last chunk, the
// last vector may be short and update only its own lanes.
void F32MatmulGenerator::column_step(u32 rows, u32 toks, bool indexed, i64 disp, i64, bool last)
{
    const u32 vectors = last ? m_tail_vecs : m_parts;
    const bool partial = last && m_tail_partial;
    for (u32 v = 0; v < vectors; ++v) {
        const bool tail = partial && v + 1 == vectors;
        const i64 d = disp + static_cast<i64>(v) * (vbytes() / 4) * m_value_bytes;
        for (u32 t = 0; t < toks; ++t)
            load_values(m_xv[t], x_mem(t, indexed, d), tail);
        for (u32 r = 0; r < rows; ++r) {
            const x86::Mem w = w_mem(r, indexed, d);
            if (!is_sse() && toks == 1 && !tail && m_value_bytes == 4) {
                // One weight, one use: the multiply reads it from memory.
                mul_add(acc(r, 0, v), m_xv[0], w, false);
                continue;
            }
            // AVX with one token has no weight register: the product register holds it.
            const x86::Vec& wv = m_wv.isValid() ? m_wv : m_prod;
            load_values(wv, w, tail);
            for (u32 t = 0; t < toks; ++t)
                mul_add(acc(r, t, v), m_xv[t], wv, tail);
        }
    }
}

// dst = one vector of fp32 values from memory: fp32 as they are, halves converted
// (exactly: F16 with vcvtph2ps, BF16 by moving its bits to the top of each fp32). A short
// last vector reads only its own values.
void F32MatmulGenerator::load_values(const x86::Vec& dst, const x86::Mem& src, bool tail)
{
    if (m_value_bytes == 4) {
        if (tail)
            load_tail(dst, src, m_tail);
        else
            v_load(dst, src, m_aligned);
        return;
    }
    const x86::Vec half = is_avx512() ? x86::Vec(dst.ymm()) : x86::Vec(dst.xmm());
    asmjit::Operand from = src;
    if (tail) {
        load_tail(half, src, m_half_tail);
        from = half;
    }
    if (config().op.format == Format::F16) {
        as().emit(x86::Inst::kIdVcvtph2ps, dst, from);
    } else {
        as().emit(x86::Inst::kIdVpmovzxwd, dst, from);
        as().vpslld(dst, dst, 16);
    }
}

// acc += x * w, rounded twice (never an FMA); with `partial` only the tail lanes change.
// SSE2 multiplies the weight register in place when it has no other use left.
void F32MatmulGenerator::mul_add(const x86::Vec& acc, const x86::Vec& x, const asmjit::Operand& w, bool partial)
{
    x86::Vec prod = m_prod;
    if (is_sse()) {
        const x86::Xmm wv = w.as<x86::Vec>().xmm();
        const bool last_use = x == m_xv[m_toks - 1] || !m_prod.isValid();
        prod = last_use ? x86::Vec(wv) : m_prod;
        if (!last_use)
            as().movaps(prod.xmm(), wv);
        as().mulps(prod.xmm(), x.xmm());
    } else {
        as().emit(x86::Inst::kIdVmulps, prod, x, w);
    }
    if (!partial) {
        v_add(acc, prod);
    } else if (is_avx512()) {
        as().k(m_tail.k).vaddps(acc, acc, prod);
    } else {
        if (is_sse())
            as().addps(prod.xmm(), acc.xmm());
        else
            as().vaddps(prod, acc, prod);
        blend_tail(acc, prod, m_tail);
    }
}

// The first steps of the canonical tree in place: part 0's xmm becomes s4 (lanes 0..3),
// s8[k] = acc[k] + acc[k+8], s4[k] = s8[k] + s8[k+4].
void F32MatmulGenerator::fold(u32 row, u32 tok)
{
    const x86::Vec& a0 = acc(row, tok, 0);
    const x86::Vec& tmp = m_prod.isValid() ? m_prod : m_wv;
    if (is_sse()) {
        as().addps(a0.xmm(), acc(row, tok, 2).xmm());
        as().addps(acc(row, tok, 1).xmm(), acc(row, tok, 3).xmm());
        as().addps(a0.xmm(), acc(row, tok, 1).xmm());
        return;
    }
    // AVX2: the two parts' sum first, the canonical s8.
    if (!is_avx512())
        as().vaddps(a0, a0, acc(row, tok, 1));
    fold_to_xmm(a0, vbytes(), tmp, x86::Inst::kIdVaddps);
}

// Four outputs at a time (rows r0.. of one token): fold, transpose, and the last two tree
// levels s2 = col0 + col2, col1 + col3 and result = s2[0] + s2[1], one store.
void F32MatmulGenerator::store(u32 rows, u32 toks)
{
    for (u32 t = 0; t < toks; ++t) {
        for (u32 r0 = 0; r0 < rows; r0 += 4) {
            const u32 count = rows - r0 < 4 ? rows - r0 : 4;
            x86::Vec in[4];
            for (u32 i = 0; i < 4; ++i) {
                if (i < count)
                    fold(r0 + i, t);
                in[i] = acc(r0 + (i < count ? i : count - 1), t, 0);
            }
            // Scratch: registers nobody holds, the x/w/product registers, the parts this
            // quad just folded, and the accumulators of outputs stored already or not in
            // this sweep.
            x86::Vec pool[5];
            u32 free = unallocated_vecs(pool, 5);
            const x86::Vec spare[] = { m_wv, m_prod, m_xv[0], m_xv[1], m_xv[2], m_xv[3] };
            for (u32 i = 0; i < 6 && free < 5; ++i)
                if (spare[i].isValid() && (i < 2 || i - 2 < m_toks))
                    pool[free++] = spare[i];
            for (u32 i = 0; i < m_rows * m_toks * m_parts && free < 5; ++i) {
                const u32 r = i / m_parts / m_toks, tk = i / m_parts % m_toks, p = i % m_parts;
                const bool quad = tk == t && r >= r0 && r < r0 + count;
                if (r >= rows || tk >= toks || tk < t || (tk == t && r < r0) || (quad && p > 0))
                    pool[free++] = m_acc[i];
            }
            if (free < 5) {
                fail(kl::ErrorCode::JitUnsupported, "no scratch registers left for the final reduction");
                return;
            }
            x86::Vec cols[4];
            transpose4(in, pool, cols);
            v_add(cols[0], cols[2]);
            v_add(cols[1], cols[3]);
            v_add(cols[0], cols[1]);

            x86::Mem outs[4];
            const bool contiguous = out_mems(r0, t, outs);
            store_lanes(cols[0], count, outs, contiguous, cols[2]);
        }
    }
}

}
