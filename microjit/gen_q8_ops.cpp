// Q8_0 generator: the ISA-specific instruction sequences (see gen_q8.h for the scheme and
// the temporaries' roles, m_t).
#include "microjit/gen_q8.h"

namespace mjit {

void Q8MatmulGenerator::load_int(const x86::Vec& dst, const x86::Mem& src, const Tail* tail)
{
    if (tail)
        load_tail(dst, src, *tail);
    else if (is_sse())
        as().emit(m_aligned ? x86::Inst::kIdMovdqa : x86::Inst::kIdMovdqu, dst.xmm(), src);
    else if (is_avx512())
        as().emit(m_aligned ? x86::Inst::kIdVmovdqa32 : x86::Inst::kIdVmovdqu32, dst, src);
    else
        as().emit(m_aligned ? x86::Inst::kIdVmovdqa : x86::Inst::kIdVmovdqu, dst, src);
}

// dst (first: =, else +=) the i32 lane sums of the products of the vectors at w and x;
// lane i covers exactly bytes 4i..4i+3 (the packed layout needs it).
void Q8MatmulGenerator::dot(const x86::Vec& dst, const x86::Mem& w, const x86::Mem& x, const Tail* tail, bool first)
{
    if (is_sse()) {
        // Widen to i16: duplicating each byte into a word and shifting right arithmetically
        // by 8 sign-extends it.
        const x86::Xmm v[4] = { m_t.x.xmm(), m_t.x_high.xmm(), m_t.w.xmm(), m_t.w_high.xmm() };
        for (u32 i = 0; i < 4; i += 2) {
            load_int(v[i], i == 0 ? x : w, tail);
            as().movdqa(v[i + 1], v[i]);
            as().punpcklbw(v[i], v[i]);
            as().psraw(v[i], 8);
            as().punpckhbw(v[i + 1], v[i + 1]);
            as().psraw(v[i + 1], 8);
        }
        as().pmaddwd(v[2], v[0]);  // [b0+b1, b2+b3, b4+b5, b6+b7]
        as().pmaddwd(v[3], v[1]);  // [b8+b9, ..., b14+b15]
        if (m_packed)
            hadd(v[2], v[3]);
        else
            as().paddd(v[2], v[3]);
        if (first)
            as().movdqa(dst.xmm(), v[2]);
        else
            as().paddd(dst.xmm(), v[2]);
        return;
    }

    if (m_vnni) {
        // (x + 128) * w as u8 x s8, minus 128 * w: no sign juggling. Masked-out bytes
        // of a tail are 0 in w, so they add nothing to either sum.
        const x86::Vec xu = wide(m_t.x), j = wide(m_t.bias_sum), wv = wide(m_t.w), c80 = wide(m_c80);
        asmjit::Operand wop = w;
        if (tail) {
            load_int(xu, x, tail);
            as().vpxord(xu, xu, c80);
            load_int(wv, w, tail);
            wop = wv;
        } else {
            as().vpxord(xu, c80, x);
        }
        if (first) {
            as().vpxord(dst, dst, dst);
            as().vpxord(j, j, j);
        }
        as().emit(x86::Inst::kIdVpdpbusd, dst, xu, wop);
        as().emit(x86::Inst::kIdVpdpbusd, j, c80, wop);
        return;
    }

    // Unsigned |x| against w with the sign of x: AVX2 vpsignb; AVX-512 (no EVEX vpsignb)
    // negates w under x's sign bits.
    const x86::Vec sw = wide(m_t.signed_w), ax = wide(m_t.abs_x), prod = wide(m_t.product), ones = wide(m_ones);
    if (is_avx512()) {
        const x86::Vec xr = wide(m_t.x);
        load_int(xr, x, tail);
        as().vpmovb2m(m_sign, xr);
        as().vpabsb(ax, xr);
        load_int(sw, w, tail);
        as().k(m_sign).vpsubb(sw, at(m_zero, m_width), sw);
    } else {
        const x86::Vec wv = wide(m_t.w);
        load_int(wv, w, tail);
        if (tail) {
            load_int(ax, x, tail);
            as().vpsignb(sw, wv, ax);
            as().vpabsb(ax, ax);
        } else {
            as().vpsignb(sw, wv, x);
            as().vpabsb(ax, x);
        }
    }
    as().vpmaddubsw(prod, ax, sw);
    if (first) {
        as().vpmaddwd(dst, prod, ones);
    } else {
        as().vpmaddwd(prod, prod, ones);
        as().vpaddd(dst, dst, prod);
    }
}

void Q8MatmulGenerator::finish_group(const x86::Vec& dst)
{
    if (m_vnni)
        as().vpsubd(dst, dst, wide(m_t.bias_sum));
}

// dst = per 128-bit block [d0+d1, d2+d3, b0+b1, b2+b3] (vphaddd; EVEX and SSE2 have none).
void Q8MatmulGenerator::hadd(const x86::Vec& dst, const x86::Vec& b)
{
    if (!is_sse() && !is_avx512()) {
        as().vphaddd(dst, dst, b);
        return;
    }
    pair_sums(dst, dst, b, at(m_t.pair_scratch, is_sse() ? 16 : m_width));
}

// f *= the scales at s (a short batch: only its groups are read).
void Q8MatmulGenerator::mul_scales(const x86::Vec& f, const x86::Mem& s, bool partial)
{
    const u32 bytes = f.isXmm() ? 16 : f.isYmm() ? 32 : 64;
    const x86::Vec t = at(m_t.scale, bytes);
    if (partial)
        load_tail(t, s, m_scale_tail);
    else if (is_sse())
        as().movups(t.xmm(), s);
    if (is_sse())
        as().mulps(f.xmm(), t.xmm());
    else if (partial)
        as().vmulps(f, f, t);
    else
        as().vmulps(f, f, s);
}

}
