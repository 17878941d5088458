// Activation quantizer generator: Q8G, Q8_0 and Q8_K (see gen_quantize.h).
#include "microjit/gen_quantize.h"

#include "microjit/blocks.h"
#include "microjit/jit.h"

namespace mjit {

namespace {

// cmpps predicates (the SSE encodings, valid for VEX/EVEX as well).
constexpr u32 cmp_neq = 4;
constexpr u32 cmp_nlt = 5;  // a >= b for non-NaN inputs
constexpr u32 float_127 = 0x42FE0000u;
constexpr u32 float_minus_127 = 0xC2FE0000u;
constexpr u32 float_one = 0x3F800000u;
constexpr u32 float_half = 0x3F000000u;
constexpr u32 float_round = 0x4B400000u;  // 1.5 * 2^23: round_even's addend (quantize_blocks.h)

}

bool QuantizeGenerator::serves(Format f)
{
    return f == Format::Q8G || f == Format::Q8_0 || f == Format::Q8_K;
}

kl::ErrorOr<void> QuantizeGenerator::check(const KernelConfig& c)
{
    if (c.op.kind != OpKind::Quantize || !serves(c.op.format))
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "QuantizeGenerator: not a Q8G, Q8_0 or Q8_K quantizer config");
    if (c.op.format != Format::Q8G && c.isa == Isa::Sse2) {
        char name[96];
        format_config_name(name, sizeof(name), c);
        return kl::Error::make(kl::ErrorCode::JitUnsupported, "%s: needs avx2 or avx512 (the reference serves sse2)", name);
    }
    return {};
}

QuantizeGenerator::QuantizeGenerator(const KernelConfig& c) : Emitter(c)
{
    m_format = c.op.format;
    m_n = c.shape.n;
    m_gs = is_q8g(c.op) ? c.shape.gs : format_info(m_format).block_values;
    m_group_bytes = is_q8g(c.op) ? m_gs : format_info(m_format).block_bytes;
    m_t = c.shape.t;
    m_chunk_bytes = vbytes();
    while (m_chunk_bytes > 16 && (m_gs * 4) % m_chunk_bytes != 0)
        m_chunk_bytes /= 2;
    m_chunks = m_gs * 4 / m_chunk_bytes;
}

x86::Vec QuantizeGenerator::w(const x86::Vec& v) const
{
    if (m_chunk_bytes == 64)
        return v.zmm();
    if (m_chunk_bytes == 32)
        return v.ymm();
    return v.xmm();
}

void QuantizeGenerator::generate()
{
    assign_registers();
    prologue();
    load_args();
    token_loop();
    epilogue();
}

void QuantizeGenerator::assign_registers()
{
    m_args = x86::rdi;
    m_xt = new_gp();
    m_qt = new_gp();
    m_st = new_gp();
    m_x = new_gp();
    m_q = new_gp();
    m_s = new_gp();
    m_groups = new_gp();
    m_count = new_gp();
    m_tokens = new_gp();
    if (m_format == Format::Q8_K)
        m_scan = new_gp();
    m_abs_mask = new_vec();
    m_half = new_vec();
    m_one = new_vec();
    m_zero = new_vec();
    m_max = new_vec();
    m_tmp = new_vec();
    m_scale = new_vec();
    m_v = new_vec();
    m_i = new_vec();
    m_f = new_vec();
    m_sign = new_vec();
    if (is_avx512()) {
        m_knonzero = new_k();
        m_kround = new_k();
    } else {
        m_nonzero = new_vec();
        m_ge = new_vec();
    }
}

void QuantizeGenerator::load_args()
{
    // Group row_begin of token 0: x + g * gs * 4, out + g * gs, out_scale + g * 4.
    as().mov(m_groups, x86::qword_ptr(m_args, offsetof(KernelArgs, row_begin)));
    as().mov(m_xt, m_groups);
    as().imul(m_xt, m_xt, static_cast<i32>(m_gs * 4));
    as().add(m_xt, x86::qword_ptr(m_args, offsetof(KernelArgs, x)));
    as().mov(m_qt, m_groups);
    as().imul(m_qt, m_qt, static_cast<i32>(m_group_bytes));
    as().add(m_qt, x86::qword_ptr(m_args, offsetof(KernelArgs, out)));
    if (m_format == Format::Q8G) {
        as().mov(m_st, x86::qword_ptr(m_args, offsetof(KernelArgs, out_scale)));
        as().lea(m_st, x86::ptr(m_st, m_groups, 2));
    }
    as().neg(m_groups);
    as().add(m_groups, x86::qword_ptr(m_args, offsetof(KernelArgs, row_end)));
    const u32 lanes = m_chunk_bytes / 4;
    if (is_sse()) {
        as().movaps(m_abs_mask.xmm(), constant_dwords(0x7FFFFFFFu, lanes));
        as().movaps(m_half.xmm(), constant_dwords(float_half, lanes));
        as().movaps(m_one.xmm(), constant_dwords(1, lanes));
    } else {
        as().vmovups(w(m_abs_mask), constant_dwords(0x7FFFFFFFu, lanes));
        as().vmovups(w(m_half), constant_dwords(float_half, lanes));
        as().vmovups(w(m_one), constant_dwords(1, lanes));
    }
    v_zero(m_zero);
}

void QuantizeGenerator::token_loop()
{
    // An empty or inverted group range writes nothing.
    asmjit::Label done = as().newLabel(), token = as().newLabel();
    as().test(m_groups, m_groups);
    as().jle(done);
    as().mov(m_tokens.r32(), m_t);
    as().bind(token);
    as().mov(m_x, m_xt);
    as().mov(m_q, m_qt);
    as().mov(m_s, m_st);
    group_loop();
    as().add(m_xt, static_cast<i32>(m_n * 4));
    as().add(m_qt, static_cast<i32>(m_n / m_gs * m_group_bytes));
    if (m_format == Format::Q8G)
        as().add(m_st, static_cast<i32>(m_n / m_gs * 4));
    as().dec(m_tokens.r32());
    as().jnz(token);
    as().bind(done);
}

void QuantizeGenerator::group_loop()
{
    asmjit::Label loop = as().newLabel();
    as().mov(m_count, m_groups);
    as().bind(loop);
    group(0, 0, 0);
    as().add(m_x, static_cast<i32>(m_gs * 4));
    as().add(m_q, static_cast<i32>(m_group_bytes));
    if (m_format == Format::Q8G)
        as().add(m_s, 4);
    as().dec(m_count);
    as().jnz(loop);
}

void QuantizeGenerator::group(i64 x_disp, i64 q_disp, i64 s_disp)
{
    group_max(x_disp);
    if (m_format == Format::Q8_K) {
        // The cache line of d, bsums and the padding zeroed first, as the reference does.
        for (u32 b = offsetof(BlockQ8_K, d); b < offsetof(BlockQ8_K, qs_t); b += m_chunk_bytes)
            as().vmovups(x86::ptr(m_q, static_cast<i32>(b)), w(m_zero));
        q8k_scale();
        for (u32 k = 0; k < m_chunks; ++k)
            q8k_chunk(k);
        q8k_pairs();
        return;
    }
    const x86::Xmm mx = m_max.xmm();
    if (m_format == Format::Q8_0) {
        // d = amax / 127 to the block as fp16; id = d ? 1 / d : 0, broadcast.
        const x86::Xmm id = m_scale.xmm(), t = m_tmp.xmm();
        as().vdivss(mx, mx, constant_dwords(float_127, 1));
        as().vcvtps2ph(t, mx, 0);
        as().vpextrw(x86::ptr(m_q, static_cast<i32>(q_disp)), t, 0);
        as().vmovss(id, constant_dwords(float_one, 1));
        as().vdivss(id, id, mx);
        zero_unless_nonzero(id, mx);
        as().vbroadcastss(w(m_scale), id);
        for (u32 k = 0; k < m_chunks; ++k)
            quantize_chunk(x_disp + static_cast<i64>(k) * m_chunk_bytes, q_disp + offsetof(BlockQ8_0, qs) + k * m_chunk_bytes / 4);
        return;
    }
    const x86::Mem s_out = x86::ptr(m_s, static_cast<i32>(s_disp));
    if (is_sse()) {
        as().divss(mx, constant_dwords(float_127, 1));
        as().movss(s_out, mx);
        as().movaps(m_scale.xmm(), mx);
        as().shufps(m_scale.xmm(), m_scale.xmm(), 0);
        as().movaps(m_nonzero.xmm(), m_scale.xmm());
        as().cmpps(m_nonzero.xmm(), m_zero.xmm(), cmp_neq);
    } else {
        as().vdivss(mx, mx, constant_dwords(float_127, 1));
        as().vmovss(s_out, mx);
        as().vbroadcastss(w(m_scale), mx);
        if (is_avx512())
            as().vcmpps(m_knonzero, w(m_scale), w(m_zero), cmp_neq);
        else
            as().vcmpps(w(m_nonzero), w(m_scale), w(m_zero), cmp_neq);
    }
    for (u32 k = 0; k < m_chunks; ++k)
        quantize_chunk(x_disp + static_cast<i64>(k) * m_chunk_bytes, q_disp + k * m_chunk_bytes / 4);
}

void QuantizeGenerator::group_max(i64 x_disp)
{
    for (u32 k = 0; k < m_chunks; ++k) {
        const x86::Mem src = x86::ptr(m_x, static_cast<i32>(x_disp + static_cast<i64>(k) * m_chunk_bytes));
        const x86::Vec dst = k == 0 ? m_max : m_v;
        if (is_sse()) {
            as().movups(dst.xmm(), src);
            as().andps(dst.xmm(), m_abs_mask.xmm());
        } else if (is_avx512()) {
            as().vpandd(w(dst), w(m_abs_mask), src);
        } else {
            as().vandps(w(dst), w(m_abs_mask), src);
        }
        if (k == 0)
            continue;
        if (is_sse())
            as().maxps(m_max.xmm(), m_v.xmm());
        else
            as().vmaxps(w(m_max), w(m_max), w(m_v));
    }
    // Fold the lanes down to lane 0.
    const x86::Xmm mx = m_max.xmm();
    const x86::Xmm t = m_tmp.xmm();
    fold_to_xmm(m_max, m_chunk_bytes, m_tmp, x86::Inst::kIdVmaxps);
    if (is_sse()) {
        as().movhlps(t, mx);
        as().maxps(mx, t);
        as().movaps(t, mx);
        as().shufps(t, t, 0x55);
        as().maxss(mx, t);
    } else {
        as().vmovhlps(t, t, mx);
        as().vmaxps(mx, mx, t);
        as().vshufps(t, mx, mx, 0x55);
        as().vmaxss(mx, mx, t);
    }
}

void QuantizeGenerator::quantize_chunk(i64 x_disp, i64 q_disp)
{
    const x86::Mem src = x86::ptr(m_x, static_cast<i32>(x_disp));
    const x86::Mem dst = x86::ptr(m_q, static_cast<i32>(q_disp));
    if (is_sse()) {
        const x86::Xmm v = m_v.xmm(), i = m_i.xmm(), f = m_f.xmm(), ge = m_ge.xmm(), sg = m_sign.xmm();
        as().movups(v, src);
        as().divps(v, m_scale.xmm());
        as().andps(v, m_nonzero.xmm());  // 0/0 -> 0 for an all-zero group
        as().cvttps2dq(i, v);
        as().cvtdq2ps(f, i);
        as().movaps(ge, v);
        as().subps(ge, f);
        as().andps(ge, m_abs_mask.xmm());
        as().cmpps(ge, m_half.xmm(), cmp_nlt);  // |v - trunc(v)| >= 0.5
        as().movdqa(sg, v);
        as().psrad(sg, 31);
        as().por(sg, m_one.xmm());               // +1 or -1 by the sign of v
        as().pand(sg, ge);
        as().paddd(i, sg);
        as().packssdw(i, i);
        as().packsswb(i, i);
        as().movd(dst, i);
        return;
    }
    const x86::Vec v = w(m_v), i = w(m_i), f = w(m_f), sg = w(m_sign);
    const bool multiply = m_format == Format::Q8_0;  // by 1 / d, which is 0 for d = 0
    if (multiply)
        as().vmulps(v, w(m_scale), src);
    else
        as().vmovups(v, src);
    if (is_avx512()) {
        if (!multiply)
            as().k(m_knonzero).z().vdivps(v, v, w(m_scale));
        as().vcvttps2dq(i, v);
        as().vcvtdq2ps(f, i);
        as().vsubps(f, v, f);
        as().vpandd(f, f, w(m_abs_mask));
        as().vcmpps(m_kround, f, w(m_half), cmp_nlt);
        as().vpsrad(sg, v, 31);
        as().vpord(sg, sg, w(m_one));
        as().k(m_kround).vpaddd(i, i, sg);
        as().vpmovsdb(dst, i);
        return;
    }
    const x86::Vec ge = w(m_ge);
    if (!multiply) {
        as().vdivps(v, v, w(m_scale));
        as().vandps(v, v, w(m_nonzero));
    }
    as().vcvttps2dq(i, v);
    as().vcvtdq2ps(f, i);
    as().vsubps(f, v, f);
    as().vandps(f, f, w(m_abs_mask));
    as().vcmpps(ge, f, w(m_half), cmp_nlt);
    as().vpsrad(sg, v, 31);
    as().vpor(sg, sg, w(m_one));
    as().vpand(sg, sg, ge);
    as().vpaddd(i, i, sg);
    const x86::Xmm ix = m_i.xmm();
    if (m_chunk_bytes == 32) {
        extract128(m_tmp.xmm(), m_i.ymm(), 1);
        as().vpackssdw(ix, ix, m_tmp.xmm());
        as().vpacksswb(ix, ix, ix);
        as().vmovq(dst, ix);
    } else {
        as().vpackssdw(ix, ix, ix);
        as().vpacksswb(ix, ix, ix);
        as().vmovd(dst, ix);
    }
}

// v = 0 where `test` (lane 0) is zero: a division by it gave an infinity the reference
// never computes. AVX-512 compares into a mask register (EVEX has no xmm-result compare).
void QuantizeGenerator::zero_unless_nonzero(const x86::Xmm& v, const x86::Xmm& test)
{
    if (is_avx512()) {
        as().vcmpss(m_kround, test, m_zero.xmm(), cmp_neq);
        as().k(m_kround).z().vmovaps(v, v);
    } else {
        as().vcmpss(m_tmp.xmm(), test, m_zero.xmm(), cmp_neq);
        as().vandps(v, v, m_tmp.xmm());
    }
}

// Q8_K: the block's first value of largest magnitude (amax from group_max), then
// iscale = -127 / max and d = 1 / iscale (both 0 when max is 0), d to the block.
void QuantizeGenerator::q8k_scale()
{
    const x86::Xmm mx = m_max.xmm(), is = m_scale.xmm();
    as().vbroadcastss(w(m_scale), mx);
    asmjit::Label done = as().newLabel();
    asmjit::Label found[32];
    // Each chunk: which lanes hold amax (in magnitude); the first chunk with one wins.
    for (u32 k = 0; k < m_chunks; ++k) {
        found[k] = as().newLabel();
        const x86::Mem src = x86::ptr(m_x, static_cast<i32>(k * m_chunk_bytes));
        if (is_avx512()) {
            as().vpandd(w(m_v), w(m_abs_mask), src);
            as().vcmpps(m_kround, w(m_v), w(m_scale), 0);
            as().kmovw(m_scan.r32(), m_kround);
        } else {
            as().vandps(w(m_v), w(m_abs_mask), src);
            as().vcmpps(w(m_v), w(m_v), w(m_scale), 0);
            as().vmovmskps(m_scan.r32(), w(m_v));
        }
        as().test(m_scan.r32(), m_scan.r32());
        as().jnz(found[k]);
    }
    as().vxorps(mx, mx, mx);  // unreachable: amax is one of the magnitudes
    as().jmp(done);
    for (u32 k = 0; k < m_chunks; ++k) {
        as().bind(found[k]);
        as().tzcnt(m_scan.r32(), m_scan.r32());
        as().vmovss(mx, x86::ptr(m_x, m_scan, 2, static_cast<i32>(k * m_chunk_bytes)));
        if (k + 1 < m_chunks)
            as().jmp(done);
    }
    as().bind(done);
    as().vmovss(is, constant_dwords(float_minus_127, 1));
    as().vdivss(is, is, mx);
    zero_unless_nonzero(is, mx);
    as().vmovss(m_i.xmm(), constant_dwords(float_one, 1));
    as().vdivss(m_i.xmm(), m_i.xmm(), is);
    zero_unless_nonzero(m_i.xmm(), mx);
    as().vmovss(x86::ptr(m_q, offsetof(BlockQ8_K, d)), m_i.xmm());
    as().vbroadcastss(w(m_scale), is);
}

// Q8_K: chunk k's q = min(127, round_even(iscale * x)) stored as bytes, both in order and
// transposed by qwords, and each 16 q's sum as an i16 (AVX2: two chunks per sum).
void QuantizeGenerator::q8k_chunk(u32 k)
{
    const x86::Vec v = w(m_v), sum = w(m_f);
    const u32 lanes = m_chunk_bytes / 4;
    as().vmulps(v, w(m_scale), x86::ptr(m_x, static_cast<i32>(k * m_chunk_bytes)));
    as().vaddps(v, v, constant_dwords(float_round, lanes));
    as().emit(is_avx512() ? x86::Inst::kIdVpandd : x86::Inst::kIdVpand, v, v, constant_dwords(0x007FFFFFu, lanes));
    as().vpsubd(v, v, constant_dwords(0x00400000u, lanes));
    as().vpminsd(v, v, constant_dwords(127, lanes));
    const x86::Mem q = x86::ptr(m_q, static_cast<i32>(offsetof(BlockQ8_K, qs) + k * lanes));
    const x86::Xmm vx = m_v.xmm(), t = m_tmp.xmm(), sx = m_f.xmm();
    // The sum of 16 q (AVX2: this chunk's 8 added to the previous chunk's).
    if (is_avx512()) {
        as().vextracti64x4(m_f.ymm(), v, 1);
        as().vpaddd(m_f.ymm(), m_f.ymm(), m_v.ymm());
        as().vpmovdb(t, v);
        as().vmovups(q, t);
        store_transposed(t, 2 * k);
        as().vpshufd(t, t, 0xEE);
        store_transposed(t, 2 * k + 1);
    } else {
        if (k % 2 == 0) {
            as().vmovdqa(m_sign.ymm(), v);
        } else {
            as().vpaddd(sum, v, m_sign.ymm());
        }
        extract128(t, v, 1);
        as().vpackssdw(vx, vx, t);
        as().vpacksswb(vx, vx, vx);
        as().vmovq(q, vx);
        store_transposed(vx, k);
        if (k % 2 == 0)
            return;
    }
    extract128(t, m_f.ymm(), 1);
    as().vpaddd(sx, sx, t);
    lane_sums(sx, t);
    as().vpextrw(x86::ptr(m_q, static_cast<i32>(offsetof(BlockQ8_K, bsums) + 2 * (k * lanes / 16))), sx, 0);
}

// Q8_K: the bsums just stored, added in pairs (vpmaddwd by ones), packed to words.
void QuantizeGenerator::q8k_pairs()
{
    const x86::Ymm pairs = m_v.ymm();
    const x86::Xmm high = m_tmp.xmm();
    as().vmovdqu(pairs, x86::ptr(m_q, offsetof(BlockQ8_K, bsums)));
    as().vpmaddwd(pairs, pairs, constant_dwords(0x00010001u, 8));
    extract128(high, pairs, 1);
    as().vpackssdw(pairs.xmm(), pairs.xmm(), high);
    as().vmovdqu(x86::ptr(m_q, offsetof(BlockQ8_K, bsum_pairs)), pairs.xmm());
}

// Qword `index` of the block's values (its low 8 bytes in `src`) to its place in qs_t.
void QuantizeGenerator::store_transposed(const x86::Xmm& src, u32 index)
{
    as().vmovq(x86::ptr(m_q, static_cast<i32>(offsetof(BlockQ8_K, qs_t) + q_transposed(8 * index))), src);
}

}
