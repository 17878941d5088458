// Q8_0 activation quantizer generator (see gen_quantize.h).
#include "microjit/gen_quantize.h"

namespace mjit {

namespace {

// cmpps predicates (the SSE encodings, valid for VEX/EVEX as well).
constexpr u32 cmp_neq = 4;
constexpr u32 cmp_nlt = 5;  // a >= b for non-NaN inputs
constexpr u32 float_127 = 0x42FE0000u;
constexpr u32 float_half = 0x3F000000u;

}

kl::ErrorOr<void> QuantizeGenerator::check(const KernelConfig& c)
{
    if (c.op != ops::quantize_q8)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "QuantizeGenerator: not a Q8 quantizer config");
    return {};
}

QuantizeGenerator::QuantizeGenerator(const KernelConfig& c) : Emitter(c)
{
    m_n = c.shape.n;
    m_gs = c.shape.gs;
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
    as().imul(m_qt, m_qt, static_cast<i32>(m_gs));
    as().add(m_qt, x86::qword_ptr(m_args, offsetof(KernelArgs, out)));
    as().mov(m_st, x86::qword_ptr(m_args, offsetof(KernelArgs, out_scale)));
    as().lea(m_st, x86::ptr(m_st, m_groups, 2));
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
    as().add(m_qt, static_cast<i32>(m_n));
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
    as().add(m_q, static_cast<i32>(m_gs));
    as().add(m_s, 4);
    as().dec(m_count);
    as().jnz(loop);
}

void QuantizeGenerator::group(i64 x_disp, i64 q_disp, i64 s_disp)
{
    group_max(x_disp);
    const x86::Xmm mx = m_max.xmm();
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
    if (m_chunk_bytes == 64) {
        as().vextractf64x4(m_tmp.ymm(), m_max.zmm(), 1);
        as().vmaxps(m_max.ymm(), m_max.ymm(), m_tmp.ymm());
    }
    if (m_chunk_bytes >= 32) {
        if (is_avx512())
            as().vextractf32x4(t, m_max.ymm(), 1);
        else
            as().vextractf128(t, m_max.ymm(), 1);
        as().vmaxps(mx, mx, t);
    }
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
    as().vmovups(v, src);
    if (is_avx512()) {
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
    as().vdivps(v, v, w(m_scale));
    as().vandps(v, v, w(m_nonzero));
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
        as().vextracti128(m_tmp.xmm(), m_i.ymm(), 1);
        as().vpackssdw(ix, ix, m_tmp.xmm());
        as().vpacksswb(ix, ix, ix);
        as().vmovq(dst, ix);
    } else {
        as().vpackssdw(ix, ix, ix);
        as().vpacksswb(ix, ix, ix);
        as().vmovd(dst, ix);
    }
}

}
