// Block formats' matvec/matmul generator: plan, registers, the step loop, the reduction of
// a quad and the float step (see gen_blocks.h; the K formats' integer stage is in
// gen_blocks_k.cpp, Q4_0 and Q8_0's in gen_blocks_legacy.cpp).
#include "microjit/gen_blocks.h"

#include "microjit/blocks.h"

namespace mjit {

namespace {

// Steps per row up to which the columns are straight-line code.
constexpr u32 straight_steps = 2;

// ymm [d0 dmin0 d1 dmin1 ..] (gather_scales' pairs) -> [d0..d3 | dmin0..dmin3].
constexpr u32 deinterleave_pairs[8] = { 0, 2, 4, 6, 1, 3, 5, 7 };

struct Plan {
    bool k, mins, vnni, grid, transposed, q6_grid, deferred;
    u32 width, toks, quads, step_blocks, vecs;
};

Plan plan_for(const KernelConfig& c)
{
    Plan p {};
    const Format f = c.op.format;
    p.k = f == Format::Q4_K || f == Format::Q5_K || f == Format::Q6_K;
    p.mins = f == Format::Q4_K || f == Format::Q5_K;
    p.vnni = (c.flags & variant::vnni) != 0;
    p.width = vector_bytes(c.isa);
    p.toks = c.tokens < c.shape.t ? c.tokens : c.shape.t;
    p.quads = (c.rows + 3) / 4;
    p.step_blocks = p.k ? 1 : p.width / 16;
    // The K formats on AVX-512: the grid (matvec and matmul alike).
    p.grid = p.k && p.width == 64;
    // Q4_K on the grid with VNNI: vpdpbusd on the activations' transposed values.
    p.transposed = p.grid && p.vnni && f == Format::Q4_K;
    // Q6_K there, with gfni: vpdpbusd on the weights' values as they lie (k_grid_row_q6).
    p.q6_grid = p.grid && p.vnni && (c.flags & variant::gfni) && f == Format::Q6_K;
    // The grid with one quad of rows: each step's fold and float step run in the next one
    // (k_grid_terms); the step's d and dmin-term wait in two registers (one without mins).
    p.deferred = p.grid && p.quads == 1;
    // As assign_registers() hands them out: the K formats' constant and eight row
    // temporaries, per token V, held, pairs (and M, or the grid's d_x, with mins its quad
    // scales, bsums and imin, transposed its constant and a row's second 64 bytes,
    // q6_grid its five constants, deferred the waiting d and min term); the legacy
    // formats' constants (with gfni its matrix) and four row temporaries, per token V,
    // held, pairs and four activation vectors (the gathers' indices take only the
    // registers left over).
    // Accumulators: per token and quad, or per quad on the grid.
    const u32 grid_fixed = p.grid ? 1 + (p.mins ? 3 : 0) + (p.transposed ? 2 : p.q6_grid ? 5 : 0) + (p.deferred ? (p.mins ? 2 : 1) : 0) : 0;
    const u32 legacy_fixed = 5 + (f == Format::Q4_0 ? 1 : 0) + (c.isa == Isa::Avx512 ? 1 : 0) + ((c.flags & variant::gfni) ? 1 : 0);
    const u32 fixed = p.k ? 9 + grid_fixed : legacy_fixed;
    const u32 per_token = p.k ? 3 + (p.mins && !p.grid ? 1 : 0) : 7;
    p.vecs = p.grid ? fixed + p.toks * per_token + p.quads : fixed + p.toks * (per_token + p.quads);
    return p;
}

}

kl::ErrorOr<void> BlockMatmulGenerator::check(const KernelConfig& c)
{
    char name[96];
    format_config_name(name, sizeof(name), c);
    if (!is_matrix(c.op) || !serves(c.op.format))
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "%s: not a block format this generator serves", name);
    if (c.isa == Isa::Sse2)
        return kl::Error::make(kl::ErrorCode::JitUnsupported,
            "%s: the block formats need avx2 or avx512 (byte shuffles, vpmaddubsw); the reference serves sse2", name);
    const Plan p = plan_for(c);
    const u32 budget = vec_budget(c.isa);
    if (p.vecs > budget || p.quads > max_quads || p.toks > max_tokens)
        return kl::Error::make(kl::ErrorCode::JitUnsupported, "%s: %u rows x %u tokens in flight need %u vector registers, %s has %u",
            name, c.rows, p.toks, p.vecs, kl::cpu::isa_name(c.isa), budget);
    if (c.op.format == Format::Q8_0 && c.isa == Isa::Avx512 && !p.vnni)
        return kl::Error::make(kl::ErrorCode::JitUnsupported,
            "%s: q8_0 on avx512 needs the vnni variant (parts without VNNI run the avx2 kernel)", name);
    return {};
}

BlockMatmulGenerator::BlockMatmulGenerator(const KernelConfig& c) : MatrixGenerator(c)
{
    const Plan p = plan_for(c);
    m_format = c.op.format;
    m_k = p.k;
    m_mins = p.mins;
    m_vnni = p.vnni;
    m_gfni = (c.flags & variant::gfni) != 0;
    m_grid = p.grid;
    m_transposed = p.transposed;
    m_q6_grid = p.q6_grid;
    m_deferred = p.deferred;
    m_width = p.width;
    m_row_count = c.rows;
    m_toks = p.toks;
    m_block_bytes = format_info(m_format).block_bytes;
    m_x_block_bytes = format_info(format_info(m_format).activation).block_bytes;
    m_step_blocks = p.step_blocks;
    const u32 blocks = c.shape.n / format_info(m_format).block_values;
    const u32 steps = blocks / m_step_blocks;
    m_rest = blocks % m_step_blocks;
    m_columns.steps = steps;
    m_columns.unroll = c.unroll;
    if (steps > straight_steps && steps >= c.unroll)
        m_columns.loop_steps = steps / c.unroll * c.unroll;
    m_columns.bytes = static_cast<i64>(m_step_blocks) * m_block_bytes;
    m_columns.second_bytes = static_cast<i64>(m_step_blocks) * m_x_block_bytes;
    m_columns.last = m_rest != 0;
    // Straight-line steps prefetch as far as a loop iteration does.
    m_columns.straight_prefetch = static_cast<u32>(c.unroll * m_columns.bytes);
    m_corrected = m_format == Format::Q4_0 || m_vnni;
    m_raw_off = m_high_off = ~0u;
}

void BlockMatmulGenerator::generate()
{
    if (check(config()).is_error()) {
        fail(kl::ErrorCode::JitUnsupported, "config over the register budget");
        return;
    }
    assign_registers();
    prologue();
    load_row_args();
    load_constants();
    row_loops();
    epilogue();
}

// The step cache, at most 16 KiB of stack, one slot of m_width bytes per vector:
//   - the grid's (K formats with mins, prefill): each step's decoded quad scales, which the
//     token groups of a block after the first read instead of decoding them again
//     (k_decode_quad), slot = quad, at twice the step's W offset (a block has at least 144
//     bytes: room for max_quads); TinyLlama's 5632 columns: 6.2 KiB;
//   - the legacy formats' matvec: each step's activations' side (legacy_x_side), built once
//     per call (prepare_columns) instead of once per step and block of rows, at twice the
//     step's x offset (34 bytes of x per 16 of a vector: room for its four); 5632 columns:
//     11.7 KiB.
u32 BlockMatmulGenerator::step_cache_bytes() const
{
    const bool grid = m_grid && m_mins && config().shape.t > m_toks, legacy = !m_k && config().shape.t == 1;
    const i64 step = legacy ? m_columns.second_bytes : m_columns.bytes;
    const u64 bytes = 2 * static_cast<u64>(m_columns.steps + (m_columns.last ? 1 : 0)) * step;
    if (!(grid || legacy) || bytes > 16 * kl::KiB)
        return 0;
    return static_cast<u32>(bytes);
}

// The step cache's slot `slot` of the step at W byte `disp` (the legacy formats: x byte).
x86::Mem BlockMatmulGenerator::step_cache(bool indexed, i64 disp, u32 slot) const
{
    const i32 offset = static_cast<i32>(2 * disp + m_width * slot);
    return indexed ? x86::ptr(x86::rsp, m_k ? m_col : m_xcol, 1, offset) : x86::ptr(x86::rsp, offset);
}

// The legacy formats' matvec: every step's activations' side into the step cache, a pass
// over the columns without rows.
void BlockMatmulGenerator::prepare_columns()
{
    if (m_k || !step_cache_bytes())
        return;
    as().mov(m_xt, x86::qword_ptr(m_args, offsetof(KernelArgs, x)));
    m_x_pass = Pass::Fill;
    column_loop(0, 1);
    m_x_pass = Pass::Reuse;
}

void BlockMatmulGenerator::assign_registers()
{
    const KernelConfig& c = config();
    const u32 blocks = c.shape.n / format_info(m_format).block_values;
    Rows rows;
    rows.w_row = static_cast<i64>(blocks) * m_block_bytes;
    rows.x_tok = static_cast<i64>(blocks) * m_x_block_bytes;
    rows.rows = m_row_count;
    rows.toks = m_toks;
    rows.stripes = (c.flags & variant::stripes) ? m_row_count : 0;
    assign_row_registers(rows);
    m_xcol = new_gp();
    m_columns.second = m_xcol;

    m_values = new_vec();
    m_raw = new_vec();
    m_product = new_vec();
    m_row_scales = new_vec();
    if (m_k) {
        m_scales = new_vec();
        m_second = new_vec();
        m_high = new_vec();
        m_scale_vec = new_vec();
    } else {
        m_offsets = new_vec();
    }
    if (m_k || m_format == Format::Q4_0)
        m_nibbles = new_vec();
    if (m_gfni && !m_k)
        m_high_nibbles = new_vec();
    if (m_mins && m_grid)
        m_quad_scales = new_vec();
    if (m_grid) {
        m_grid_dx = new_vec();
        if (m_mins) {
            m_grid_bsums = new_vec();
            m_grid_min = new_vec();
        }
        for (u32 q = 0; q < (m_row_count + 3) / 4; ++q)
            m_grid_acc[q] = new_vec();
        if (m_deferred) {
            m_grid_d = new_vec();
            if (m_mins)
                m_grid_min_term = new_vec();
        }
    }
    if (m_transposed) {
        m_shifts = new_vec();
        m_raw_high = new_vec();
        if (m_gfni)
            m_even_bytes = new_k();
    }
    if (m_q6_grid) {
        m_shifts = new_vec();
        for (u32 i = 0; i < 2; ++i) {
            m_q6_high_bits[i] = new_vec();
            m_q6_pair_index[i] = new_vec();
        }
    }
    if (!m_k && is_avx512()) {
        m_first_table = new_vec();
        for (auto& k : m_row_words)
            k = new_k();
    }
    for (u32 t = 0; t < m_toks; ++t) {
        Token& tk = m_tok[t];
        tk.v = new_vec();
        tk.held = new_vec();
        tk.pairs = new_vec();
        if (m_mins && !m_grid)
            tk.m = new_vec();
        if (!m_k) {
            tk.x_low = new_vec();
            tk.x_high = new_vec();
            tk.correction = new_vec();
            tk.x_scale = new_vec();
        }
        for (u32 q = 0; q < (m_row_count + 3) / 4 && !m_grid; ++q)
            tk.acc[q] = new_vec();
    }
}

void BlockMatmulGenerator::load_constants()
{
    if (m_nibbles.isValid())
        as().vpbroadcastd(m_nibbles, constant_dwords(0x0F0F0F0Fu, 1));
    // Bit i of each byte from row byte 7 - i of the matrix: bits 4..7 down to 0..3, zeros above.
    if (m_gfni && !m_k) {
        const u64 matrix = 0x1020408000000000ull;
        as().vpbroadcastq(m_high_nibbles, constant(&matrix, 8));
    }
    if (m_transposed || m_q6_grid)
        k_grid_constants();
    if (!m_k && is_avx512())
        hold_gather_indices();
    if (m_even_bytes.isValid()) {
        const u64 even = 0x5555555555555555ull;
        as().kmovq(m_even_bytes, constant(&even, 8));
    }
    for (u32 r = 0; r < 4 && m_row_words[r].isValid(); ++r) {
        as().mov(m_scratch.r32(), 0x11111111u << r);
        as().kmovd(m_row_words[r], m_scratch.r32());
    }
    if (m_offsets.isValid())
        as().vpbroadcastd(m_offsets, constant_dwords(m_format == Format::Q4_0 ? 0x08080808u : 0x80808080u, 1));
}

x86::Vec BlockMatmulGenerator::at(const x86::Vec& v, u32 bytes) const
{
    return bytes == 16 ? x86::Vec(v.xmm()) : bytes == 32 ? x86::Vec(v.ymm()) : x86::Vec(v.zmm());
}

x86::Mem BlockMatmulGenerator::xq_mem(u32 tok, bool indexed, i64 disp) const
{
    const i64 d = disp + static_cast<i64>(tok) * m_rows.x_tok;
    return indexed ? vmem(m_xt, m_xcol, d) : vmem(m_xt, d);
}

void BlockMatmulGenerator::insert128(const x86::Vec& dst, const x86::Vec& src, const asmjit::Operand& part, u32 lane)
{
    as().emit(is_avx512() ? x86::Inst::kIdVinserti32x4 : x86::Inst::kIdVinserti128, dst, src, part, lane);
}

void BlockMatmulGenerator::load_constant(const x86::Vec& dst, const x86::Mem& src)
{
    as().emit(is_avx512() ? x86::Inst::kIdVmovdqu32 : x86::Inst::kIdVmovdqu, dst, src);
}

void BlockMatmulGenerator::v_and(const x86::Vec& dst, const x86::Vec& a, const asmjit::Operand& b)
{
    as().emit(is_avx512() ? x86::Inst::kIdVpandd : x86::Inst::kIdVpand, dst, a, b);
}

void BlockMatmulGenerator::v_or(const x86::Vec& dst, const x86::Vec& a, const asmjit::Operand& b)
{
    as().emit(is_avx512() ? x86::Inst::kIdVpord : x86::Inst::kIdVpor, dst, a, b);
}

void BlockMatmulGenerator::hadd(const x86::Vec& dst, const x86::Vec& a, const x86::Vec& b)
{
    // m_product is free whenever a reduction runs.
    pair_sums(dst, a, b, at(m_product, dst.size()));
}

// ---- the step loop -------------------------------------------------------------------

void BlockMatmulGenerator::sweep(u32 rows, u32 toks)
{
    for (u32 q = 0; q < (rows + 3) / 4; ++q) {
        if (m_grid)
            v_zero(m_grid_acc[q]);
        for (u32 t = 0; t < toks && !m_grid; ++t)
            v_zero(m_tok[t].acc[q]);
    }
    // Deferred: the first step adds the terms of d = 0 and min term 0, whatever its folded
    // sums (integers: finite), so +-0, and +0 + -0 = +0, the reference's start; the last
    // step's terms follow the loop.
    if (m_deferred) {
        v_zero(m_grid_d);
        if (m_mins)
            v_zero(m_grid_min_term);
    }
    column_loop(rows, toks);
    if (m_deferred)
        k_grid_add_terms(0, toks, m_grid_d, m_grid_min_term);
}

// One step (`blocks` blocks, fewer than a full step only at the end of a row) for every
// row and token in flight, a quad of rows at a time.
void BlockMatmulGenerator::column_step(u32 rows, u32 toks, bool indexed, i64 disp, i64 xdisp, bool last)
{
    const u32 blocks = last ? m_rest : m_step_blocks;
    if (!m_k)
        legacy_x_side(toks, indexed, xdisp, blocks);
    else if (m_grid)
        k_grid_x_side(toks, indexed, xdisp);
    for (u32 q = 0; q * 4 < rows; ++q) {
        const u32 count = rows - 4 * q < 4 ? rows - 4 * q : 4;
        if (m_mins && m_grid)
            k_grid_mins(q, count, toks, indexed, disp);
        for (u32 r = 0; r < count; ++r) {
            if (m_k)
                k_row(4 * q + r, toks, indexed, disp, xdisp);
            else
                legacy_row(4 * q + r, r, toks, indexed, disp, blocks);
            // The step before's terms, while this step's first row is multiplied.
            if (m_deferred && r == 0)
                k_grid_add_terms(q, toks, m_grid_d, m_grid_min_term);
            tree_step(r, count, toks);
        }
        if (m_deferred) {
            k_grid_terms(q, count, toks, indexed, disp, m_grid_d, m_grid_min_term);
        } else if (m_grid) {
            k_grid_terms(q, count, toks, indexed, disp, m_values, m_high);
            k_grid_add_terms(q, toks, m_values, m_high);
        } else if (m_k) {
            k_float_step(q, count, toks, indexed, disp, xdisp);
        } else {
            legacy_float_step(q, count, toks, indexed, disp, blocks);
        }
    }
}

void BlockMatmulGenerator::store(u32 rows, u32 toks)
{
    for (u32 t = 0; t < toks; ++t)
        for (u32 q = 0; q * 4 < rows; ++q) {
            x86::Mem outs[4];
            const bool contiguous = out_mems(4 * q, t, outs);
            x86::Vec sums = m_grid ? m_grid_acc[q] : m_tok[t].acc[q];
            if (m_grid && t > 0) {
                extract128(m_values.xmm(), sums, t, true);
                sums = m_values;
            }
            store_lanes(sums, rows - 4 * q < 4 ? rows - 4 * q : 4, outs, contiguous, m_product);
        }
}

// ---- the reduction of a quad -------------------------------------------------------------

// After quad row r's integer stage: the row's vector(s) are in V (and M) of each token for
// rows 1 and 3, in `held` for rows 0 and 2 (the integer stage writes there directly).
// Rows 0 + 1 become `pairs`, rows 2 + 3 `held`; a short quad repeats its last row.
void BlockMatmulGenerator::tree_step(u32 r, u32 count, u32 toks)
{
    const bool first_level = r % 2 == 1 || r + 1 == count;
    if (m_transposed && first_level)
        k_pair_scales(r / 2);
    for (u32 t = 0; t < toks; ++t) {
        const Token& tk = m_tok[t];
        const x86::Vec row = wide(r % 2 ? tk.v : tk.held);
        const x86::Vec held = wide(tk.held), pairs = wide(tk.pairs);
        // K formats with mins off the grid (AVX2): [V pair sums, M pair sums] in each lane.
        if (m_mins && !m_grid)
            hadd(row, row, wide(tk.m));
        if (r == 1) {
            row_pairs(pairs, held, row);
            if (count == 2)
                row_pairs(held, held, row);
        }
        if (r == 3)
            row_pairs(held, held, row);
        if (r == 0 && count == 1) {
            row_pairs(pairs, held, held);
            row_pairs(held, held, held);
        }
        if (r == 2 && count == 3)
            row_pairs(held, held, held);
        if (r + 1 == count && m_grid)
            hadd(pairs, pairs, held);
        else if (r + 1 == count)
            fold_quad(t);
    }
}

// The first level of the quad's tree: two rows' vectors into their pair sums, per 128-bit
// lane [a0 + a1, a2 + a3, b0 + b1, b2 + b3]. The transposed grid's rows hold sub-block sums
// that fit in i16 (k_grid_row_bytes): packed into words, vpmaddwd multiplies each pair by
// its sub-block's scale (m_scale_vec, k_pair_scales) as it adds them.
void BlockMatmulGenerator::row_pairs(const x86::Vec& dst, const x86::Vec& a, const x86::Vec& b)
{
    if (!m_transposed) {
        hadd(dst, a, b);
        return;
    }
    as().vpackssdw(dst, a, b);
    as().vpmaddwd(dst, dst, m_scale_vec);
}

// The grid: token t's pairs hold [r0..r3] per 128-bit lane; their lanes' sums go to lane
// t of the first token's pairs (tokens not in flight repeat the last; their lanes are
// never stored).
void BlockMatmulGenerator::fold_grid(u32 toks)
{
    // One token (the matvec): its lanes' sums into its xmm by halves, narrower operations
    // (Zen 4 splits each 512-bit one in two).
    if (toks == 1) {
        fold_to_xmm(m_tok[0].pairs, m_width, m_product, x86::Inst::kIdVpaddd);
        return;
    }
    const auto pairs = [&](u32 t) { return m_tok[t < toks ? t : toks - 1].pairs; };
    fold_grid_pair(pairs(0), pairs(1));
    if (toks > 2)
        fold_grid_pair(pairs(2), pairs(3));
    fold_grid_pair(pairs(0), toks > 2 ? pairs(2) : pairs(0));
}

// a = [a0 + a1, a2 + a3, b0 + b1, b2 + b3] by 128-bit lanes (b is clobbered; b may be a).
void BlockMatmulGenerator::fold_grid_pair(const x86::Vec& a, const x86::Vec& b)
{
    as().vshufi32x4(m_product, a, b, 0x88);
    as().vshufi32x4(b, a, b, 0xDD);
    as().vpaddd(a, m_product, b);
}

// The quad's sums into `pairs`: legacy formats lane L = [r0..r3] of block L; K formats
// the xmm [isum r0..r3] (with mins: the ymm [isum r0..r3 | imin r0..r3]).
void BlockMatmulGenerator::fold_quad(u32 t)
{
    const Token& tk = m_tok[t];
    const x86::Vec pairs = wide(tk.pairs), held = wide(tk.held);
    if (!m_mins) {
        hadd(pairs, pairs, held);
        if (m_k)
            fold_to_xmm(pairs, m_width, m_product, x86::Inst::kIdVpaddd);
        return;
    }
    // AVX2 (AVX-512 folds on the grid): pairs = [V0 M0 V1 M1], held = [V2 M2 V3 M3] per
    // lane: V's and M's apart, then the two lanes added into [V r0..3 | M r0..3].
    const x86::Vec a = wide(m_values), b = wide(m_raw);
    as().vshufps(a, pairs, held, 0x88);
    as().vshufps(b, pairs, held, 0xDD);
    as().vperm2i128(pairs, a, b, 0x20);
    as().vperm2i128(a, a, b, 0x31);
    as().vpaddd(pairs, pairs, a);
}

// ---- the float steps -----------------------------------------------------------------------

// dst = the fp16 scales at `offset` of the quad's rows (missing rows repeat the last),
// converted to fp32: pairs (d, dmin) per row -> ymm [d0 dmin0 d1 dmin1 ...], or one half per
// row and block -> lanes [block L: r0..r3] (legacy: `blocks` blocks, stride m_block_bytes).
void BlockMatmulGenerator::gather_scales(const x86::Vec& dst, u32 first, u32 count, bool indexed, i64 disp, u32 offset, u32 blocks,
    bool pairs)
{
    const x86::Xmm lo = dst.xmm(), hi = m_scale_vec.isValid() ? m_scale_vec.xmm() : m_values.xmm();
    for (u32 l = 0; l < blocks; ++l)
        for (u32 r = 0; r < 4; ++r) {
            const u32 row = first + (r < count ? r : count - 1);
            const x86::Mem m = w_mem(row, indexed, disp + offset + static_cast<i64>(l) * m_block_bytes);
            const u32 word = 4 * l + r;
            const x86::Xmm into = word < 8 ? lo : hi;
            if (pairs)
                as().vpinsrd(lo, lo, m, r);
            else
                as().vpinsrw(into, into, m, word % 8);
        }
    if (blocks > 2)
        insert128(y(dst), y(dst), hi, 1);
    if (blocks > 2)
        as().vcvtph2ps(wide(dst), y(dst));
    else
        as().vcvtph2ps(y(dst), lo);
}

// K formats: the quad's terms for every token, added to its accumulator.
void BlockMatmulGenerator::k_float_step(u32 q, u32 count, u32 toks, bool indexed, i64 disp, i64 xdisp)
{
    const x86::Vec scales = m_row_scales, f = m_values, g = m_raw;
    // Q4_K, Q5_K: (d, dmin) at byte 0; Q6_K: d at byte 208.
    gather_scales(scales, 4 * q, count, indexed, disp, m_mins ? 0 : offsetof(BlockQ6_K, d), 1, m_mins);
    for (u32 t = 0; t < toks; ++t) {
        const Token& tk = m_tok[t];
        const x86::Mem xd = xq_mem(t, indexed, xdisp + offsetof(BlockQ8_K, d));
        if (m_mins) {
            // [d_w dmin_w] * d_x, then [d0..3 | dmin0..3] against [isum | imin].
            as().vbroadcastss(y(f), xd);
            as().vmulps(y(f), y(f), y(scales));
            load_constant(y(g), constant(deinterleave_pairs, 32));
            as().vpermps(y(f), y(g), y(f));
            as().vcvtdq2ps(y(g), y(tk.pairs));
            as().vmulps(y(g), y(g), y(f));
            extract128(f.xmm(), y(g), 1);
            as().vsubps(g.xmm(), g.xmm(), f.xmm());
        } else {
            as().vbroadcastss(f.xmm(), xd);
            as().vmulps(f.xmm(), f.xmm(), scales.xmm());
            as().vcvtdq2ps(g.xmm(), tk.pairs.xmm());
            as().vmulps(g.xmm(), f.xmm(), g.xmm());
        }
        v_add(tk.acc[q].xmm(), g.xmm());
    }
}

// The grid's float step, for all tokens at once (dword 4t + r), in two parts. k_grid_terms:
// d = fl(d_w * d_x) with the rows' scales permuted into the grid and, with mins, the term
// fl(dmin * imin), dmin = fl(dmin_w * d_x). k_grid_add_terms: the quad's sums folded into
// the grid (fold_grid), fl(fl(isum * d) - that term) added to the accumulator. Deferred, the
// second part runs in the next step, after its first row, so that the fold's and the float
// step's chains overlap that step's multiplies (a step ends on the last row's sums). One
// token (the matvec) needs dwords 0..3 only: xmm and ymm operations, no 512-bit ones.
void BlockMatmulGenerator::k_grid_terms(u32 q, u32 count, u32 toks, bool indexed, i64 disp, const x86::Vec& d,
    const x86::Vec& min_term)
{
    const x86::Vec scales = m_row_scales;
    gather_scales(scales, 4 * q, count, indexed, disp, m_mins ? 0 : offsetof(BlockQ6_K, d), 1, m_mins);
    if (toks == 1) {
        k_grid_terms_one(d, min_term);
        return;
    }
    // Row r's d (and dmin) from [d0 dmin0 d1 dmin1 ..] or [d0 d1 d2 d3] into every dword 4t + r.
    const auto row_scale = [&](const x86::Vec& dst, u32 second) {
        u32 index[16];
        for (u32 i = 0; i < 16; ++i)
            index[i] = m_mins ? 2 * (i % 4) + second : i % 4;
        load_constant(dst, constant(index, 64));
        as().vpermps(dst, dst, scales);
        as().vmulps(dst, dst, m_grid_dx);
    };
    row_scale(d, 0);
    if (m_mins) {
        row_scale(min_term, 1);
        as().vcvtdq2ps(m_raw, m_grid_min);
        as().vmulps(min_term, m_raw, min_term);
    }
}

// k_grid_terms for one token, d_x in every dword of m_grid_dx's ymm (k_grid_x_side): the
// rows' [d0..d3] are in order without mins, [d0..d3 | dmin0..dmin3] after a permute.
void BlockMatmulGenerator::k_grid_terms_one(const x86::Vec& d, const x86::Vec& min_term)
{
    const x86::Vec scales = m_row_scales;
    if (!m_mins) {
        as().vmulps(d.xmm(), scales.xmm(), m_grid_dx.xmm());
        return;
    }
    load_constant(y(d), constant(deinterleave_pairs, 32));
    as().vpermps(y(d), y(d), y(scales));
    as().vmulps(y(d), y(d), y(m_grid_dx));
    extract128(min_term.xmm(), y(d), 1, true);
    as().vcvtdq2ps(m_raw.xmm(), m_grid_min.xmm());
    as().vmulps(min_term.xmm(), m_raw.xmm(), min_term.xmm());
}

void BlockMatmulGenerator::k_grid_add_terms(u32 q, u32 toks, const x86::Vec& d, const x86::Vec& min_term)
{
    // One token: its four dwords.
    const auto part = [toks](const x86::Vec& v) { return toks == 1 ? x86::Vec(v.xmm()) : v; };
    const x86::Vec term = part(m_raw);
    fold_grid(toks);
    as().vcvtdq2ps(term, part(m_tok[0].pairs));
    as().vmulps(term, term, part(d));
    if (m_mins)
        as().vsubps(term, term, part(min_term));
    v_add(part(m_grid_acc[q]), term);
}

// Q4_0, Q8_0: lane L of the quad's sums is block L; its terms are added block by block.
void BlockMatmulGenerator::legacy_float_step(u32 q, u32 count, u32 toks, bool indexed, i64 disp, u32 blocks)
{
    const x86::Vec scales = wide(m_row_scales), f = wide(m_values), g = wide(m_raw);
    if (permute_gather(blocks))
        as().vcvtph2ps(scales, y(scales));  // the rows put their words in place
    else
        gather_scales(scales, 4 * q, count, indexed, disp, 0, blocks, false);
    for (u32 t = 0; t < toks; ++t) {
        const Token& tk = m_tok[t];
        if (m_corrected) {
            as().vpsubd(f, wide(tk.pairs), wide(tk.correction));
            as().vcvtdq2ps(f, f);
        } else {
            as().vcvtdq2ps(f, wide(tk.pairs));
        }
        if (m_format == Format::Q4_0) {
            as().vmulps(f, f, scales);
            as().vmulps(f, f, wide(tk.x_scale));
        } else {
            as().vmulps(g, scales, wide(tk.x_scale));
            as().vmulps(f, f, g);
        }
        for (u32 l = 0; l < blocks; ++l) {
            x86::Xmm term = f.xmm();
            if (l > 0) {
                term = g.xmm();
                extract128(term, f, l);
            }
            v_add(tk.acc[q].xmm(), term);
        }
    }
}

}
