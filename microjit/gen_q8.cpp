// Q8_0 matvec/matmul generator: plan, registers, rows, stripes and tokens (see gen_q8.h;
// batches and the float stage are in gen_q8_sweeps.cpp, the ISA-specific sequences in
// gen_q8_ops.cpp).
#include "microjit/gen_q8.h"

namespace mjit {

namespace {

// Batches per row up to which the columns are straight-line code.
constexpr u32 straight_batches = 2;

struct Plan {
    bool packed;
    u32 toks, width, batch, quads, temps, vecs;
};

Plan plan_for(const KernelConfig& c)
{
    Plan p {};
    const u32 v = vector_bytes(c.isa);
    const u32 gs = c.shape.gs;
    const bool sse = c.isa == Isa::Sse2;
    const bool avx512 = c.isa == Isa::Avx512;
    p.toks = c.tokens < c.shape.t ? c.tokens : c.shape.t;
    p.packed = gs == 4;
    // Grouped: the narrowest vector that holds a group (at most the ISA's).
    const u32 need = gs <= 16 ? 16 : gs <= 32 ? 32 : 64;
    p.width = p.packed || need > v ? v : need;
    p.batch = p.packed ? v / 4 : 4;
    p.quads = p.toks * ((c.rows + 3) / 4);
    // Five for the transpose, which the integer stage reuses (AVX2: tree 2, w, w*sgn(x),
    // |x|); SSE2 and AVX-512 need two more (their products take more registers, plus the
    // pair-add scratch).
    p.temps = sse || avx512 ? 7 : 5;
    u32 n = p.quads + 4 + p.temps;
    if (!sse)
        n += avx512 && (c.flags & variant::vnni) ? 1 : avx512 ? 2 : 1;  // 0x80 bytes | ones, zero | ones
    const u32 rest = v && gs ? c.shape.n / gs % p.batch : 0;
    const bool byte_tail = p.packed ? rest != 0 : gs % p.width != 0;
    if (!sse && !avx512)
        n += (byte_tail ? 1 : 0) + (rest ? 1 : 0);  // AVX2 tail masks
    p.vecs = n;
    return p;
}

}

kl::ErrorOr<void> Q8MatmulGenerator::check(const KernelConfig& c)
{
    if (!is_matrix(c.op) || !is_q8g(c.op))
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "Q8MatmulGenerator: not a Q8 matrix op");
    char name[96];
    format_config_name(name, sizeof(name), c);
    const Plan p = plan_for(c);
    const bool long_groups = !p.packed && c.shape.gs / p.width > long_group_chunks;
    if ((c.flags & variant::stripes) && (c.rows != 2 || c.tokens != c.shape.t || long_groups))
        return kl::Error::make(kl::ErrorCode::JitUnsupported,
            "%s: Q8 stripes need rows = 2, all tokens in one block and groups of at most 8 vectors (general registers)", name);
    const u32 budget = vec_budget(c.isa);
    if (p.vecs > budget || c.rows * p.toks > max_outputs || p.quads > max_quads)
        return kl::Error::make(kl::ErrorCode::JitUnsupported, "%s: %u rows x %u tokens in flight need %u vector registers, %s has %u",
            name, c.rows, p.toks, p.vecs, kl::cpu::isa_name(c.isa), budget);
    return {};
}

Q8MatmulGenerator::Q8MatmulGenerator(const KernelConfig& c) : MatrixGenerator(c)
{
    const Plan p = plan_for(c);
    m_n = c.shape.n;
    m_gs = c.shape.gs;
    m_groups = m_gs ? m_n / m_gs : 0;
    m_rows = c.rows;
    m_toks = p.toks;
    m_packed = p.packed;
    m_vnni = (c.flags & variant::vnni) != 0;
    m_width = p.width;
    m_batch = p.batch;
    m_chunks = m_packed || !m_width ? 1 : m_gs / m_width;
    m_partial = m_packed || !m_width ? 0 : m_gs % m_width;
    m_long = !m_packed && m_chunks > long_group_chunks;
    // Aligned loads only where every vector starts on a boundary of its width.
    m_aligned = (c.flags & variant::aligned) != 0 && (m_packed || m_gs % m_width == 0);
    const u32 batches = m_batch ? m_groups / m_batch : 0;
    m_rest = m_batch ? m_groups % m_batch : 0;
    m_columns.steps = batches;
    m_columns.unroll = c.unroll;
    if (batches > straight_batches && batches >= c.unroll)
        m_columns.loop_steps = batches / c.unroll * c.unroll;
    m_columns.bytes = static_cast<i64>(m_batch) * m_gs;
    m_columns.second_bytes = static_cast<i64>(m_batch) * 4;
    m_columns.last = m_rest != 0;
    // Long groups step the byte index in their inner loop: it must be live.
    m_columns.indexed = m_long;
    m_columns.straight_prefetch = static_cast<u32>(m_columns.bytes);
}

void Q8MatmulGenerator::generate()
{
    if (check(config()).is_error()) {
        fail(kl::ErrorCode::JitUnsupported, "config over the register budget");
        return;
    }
    assign_registers();
    prologue();
    load_row_args();
    setup_tail(m_byte_tail, (m_packed ? m_rest * 4 : m_partial) / 4, m_scratch);
    setup_tail(m_scale_tail, m_rest, m_scratch);
    if (m_ones.isValid())
        as().vpbroadcastd(m_ones, constant_dwords(0x00010001u, 1));
    if (m_c80.isValid())
        as().vpbroadcastd(m_c80, constant_dwords(0x80808080u, 1));
    if (m_zero.isValid())
        v_zero(m_zero);
    row_loops();
    epilogue();
}

void Q8MatmulGenerator::assign_registers()
{
    Rows rows;
    rows.w_row = m_n;
    rows.ws_row = static_cast<i64>(m_groups) * 4;
    rows.x_tok = m_n;
    rows.xs_tok = rows.ws_row;
    rows.rows = m_rows;
    rows.toks = m_toks;
    rows.stripes = (config().flags & variant::stripes) ? 2 : 0;
    assign_row_registers(rows);
    m_columns.second = m_scol;
    if (m_long)
        m_kcount = new_gp();

    assign_temps(plan_for(config()).temps);
    const Plan p = plan_for(config());
    for (auto& f : m_f)
        f = new_vec();
    for (u32 q = 0; q < p.quads; ++q)
        m_acc[q] = new_vec();
    if (!is_sse() && !m_vnni)
        m_ones = new_vec();
    if (is_avx512()) {
        if (m_vnni)
            m_c80 = new_vec();
        else
            m_zero = new_vec();
        m_sign = new_k();
    }
    // SSE2's tails borrow the pair-add scratch (free whenever a tail is loaded).
    if (is_sse())
        m_byte_tail.tmp = m_scale_tail.tmp = m_t.pair_scratch;
}

void Q8MatmulGenerator::assign_temps(u32 count)
{
    x86::Vec r[7];
    for (u32 i = 0; i < count; ++i)
        r[i] = new_vec();
    m_t.pair_left = r[0];
    m_t.pair_right = r[1];
    for (u32 i = 0; i < 5; ++i)
        m_t.transpose[i] = r[i];
    m_t.scale = r[2];
    m_t.spare = r[3];
    if (is_sse()) {
        m_t.x = r[2];
        m_t.x_high = r[3];
        m_t.w = r[4];
        m_t.w_high = r[5];
        m_t.pair_scratch = r[6];
    } else if (m_vnni) {
        m_t.x = r[2];
        m_t.bias_sum = r[3];
        m_t.w = r[4];
        m_t.pair_scratch = r[6];
    } else if (is_avx512()) {
        m_t.x = r[2];
        m_t.abs_x = r[3];
        m_t.signed_w = r[4];
        m_t.product = r[5];
        m_t.pair_scratch = r[6];
    } else {
        // AVX2: the signed w is consumed by the product that replaces it.
        m_t.w = r[2];
        m_t.signed_w = m_t.product = r[3];
        m_t.abs_x = r[4];
    }
}

x86::Vec Q8MatmulGenerator::at(const x86::Vec& v, u32 bytes) const
{
    return bytes == 16 ? x86::Vec(v.xmm()) : bytes == 32 ? x86::Vec(v.ymm()) : x86::Vec(v.zmm());
}

void Q8MatmulGenerator::sweep(u32 rows, u32 toks)
{
    const u32 quads = toks * ((rows + 3) / 4);
    for (u32 q = 0; q < quads; ++q)
        v_zero(acc(q));
    column_loop(rows, toks);
}

void Q8MatmulGenerator::store(u32 rows, u32 toks)
{
    const u32 quads_per_tok = (rows + 3) / 4;
    for (u32 t = 0; t < toks; ++t)
        for (u32 r0 = 0; r0 < rows; r0 += 4) {
            x86::Mem outs[4];
            const bool contiguous = out_mems(r0, t, outs);
            store_lanes(acc(t * quads_per_tok + r0 / 4), rows - r0 < 4 ? rows - r0 : 4, outs, contiguous, m_t.pair_left);
        }
}

void Q8MatmulGenerator::prefetch_rows(u32 rows, bool indexed, i64 disp, i64 sdisp, u32 bytes)
{
    const i64 ahead = config().prefetch;
    for (u32 r = 0; r < rows; ++r) {
        prefetch_row(r, indexed, disp, bytes);
        // With small groups the scales are a second stream of n * 4 / gs bytes per row.
        if (m_gs <= 8)
            for (u32 b = 0; b < bytes * 4 / m_gs; b += 64)
                prefetch(ws_mem(r, indexed, sdisp + ahead * 4 / m_gs + b));
    }
}

}
