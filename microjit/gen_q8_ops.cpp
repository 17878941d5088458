// Q8_0 generator: the ISA-specific instruction sequences (see gen_q8.h for the scheme).
//
// Register roles (assigned once in gen_q8.cpp): m_wv the loaded weights, m_wa |w| on
// AVX-512 (SSE2: the low half of w widened to i16, m_wv then holds the high half),
// m_t1..m_t3 scratch, m_xv/m_xlo/m_xneg/m_xabs the per-token forms of x, m_sign the
// AVX-512 sign mask of w.
#include "microjit/gen_q8.h"

namespace mjit {

void Q8MatmulGenerator::load_bytes(const x86::Vec& dst, const x86::Mem& src, const Tail* tail)
{
    if (tail) {
        load_tail(dst, src, *tail);
    } else if (is_sse()) {
        if (m_aligned)
            as().movdqa(dst.xmm(), src);
        else
            as().movdqu(dst.xmm(), src);
    } else if (is_avx512()) {
        if (m_aligned)
            as().vmovdqa32(dst, src);
        else
            as().vmovdqu32(dst, src);
    } else if (m_aligned) {
        as().vmovdqa(dst, src);
    } else {
        as().vmovdqu(dst, src);
    }
}

void Q8MatmulGenerator::prepare_x(u32 tok)
{
    if (is_sse()) {
        // Widen to i16: duplicating each byte into a word and shifting right
        // arithmetically by 8 sign-extends it.
        const x86::Xmm hi = m_xv[tok].xmm();
        const x86::Xmm lo = m_xlo[tok].xmm();
        as().movdqa(lo, hi);
        as().punpcklbw(lo, lo);
        as().psraw(lo, 8);
        as().punpckhbw(hi, hi);
        as().psraw(hi, 8);
    } else if (is_avx512()) {
        as().vpsubb(m_xneg[tok], m_zero, m_xv[tok]);
    } else {
        as().vpabsb(m_xabs[tok], m_xv[tok]);
    }
}

void Q8MatmulGenerator::prepare_w()
{
    if (is_sse()) {
        const x86::Xmm hi = m_wv.xmm();
        const x86::Xmm lo = m_wa.xmm();
        as().movdqa(lo, hi);
        as().punpcklbw(lo, lo);
        as().psraw(lo, 8);
        as().punpckhbw(hi, hi);
        as().psraw(hi, 8);
        return;
    }
    // AVX2 needs nothing per row: the sign goes from x onto w in dot().
    if (is_avx512()) {
        as().vpmovb2m(m_sign, m_wv);
        as().vpabsb(m_wa, m_wv);
    }
}

// dst (+)= the i32 lane sums of w . x[tok]. With packed_lanes, lane i holds exactly bytes
// 4i..4i+3 (needed when lanes belong to different groups); otherwise any split of the
// vector's bytes over the lanes will do.
void Q8MatmulGenerator::dot(u32 tok, const x86::Vec& dst, bool packed_lanes, bool accumulate)
{
    if (is_sse()) {
        const x86::Xmm out = (accumulate ? m_t1 : dst).xmm();
        const x86::Xmm hi = m_t2.xmm();
        as().movdqa(out, m_wa.xmm());
        as().pmaddwd(out, m_xlo[tok].xmm());   // [b0+b1, b2+b3, b4+b5, b6+b7]
        as().movdqa(hi, m_wv.xmm());
        as().pmaddwd(hi, m_xv[tok].xmm());     // [b8+b9, ..., b14+b15]
        if (packed_lanes) {
            // Pair neighbours up so that lane i covers bytes 4i..4i+3.
            const x86::Xmm even = m_t3.xmm();
            as().movaps(even, out);
            as().shufps(even, hi, 0x88);
            as().shufps(out, hi, 0xDD);
            as().paddd(out, even);
        } else {
            as().paddd(out, hi);
        }
        if (accumulate)
            as().paddd(dst.xmm(), out);
        return;
    }

    // Unsigned x signed operands with the product's sign intact: AVX2 gives w the sign of x
    // (vpsignb, zero where x is zero) against |x|; AVX-512, without an EVEX vpsignb,
    // blends x and -x under w's sign bits against |w|.
    const x86::Vec& unsigned_part = is_avx512() ? m_wa : m_xabs[tok];
    if (is_avx512())
        as().k(m_sign).vpblendmb(m_t1, m_xv[tok], m_xneg[tok]);
    else
        as().vpsignb(m_t1, m_wv, m_xv[tok]);

    if (m_vnni) {
        if (!accumulate)
            as().vpxord(dst, dst, dst);
        as().vpdpbusd(dst, unsigned_part, m_t1);
        return;
    }
    as().vpmaddubsw(m_t1, unsigned_part, m_t1);
    if (accumulate) {
        as().vpmaddwd(m_t1, m_t1, m_ones);
        as().vpaddd(dst, dst, m_t1);
    } else {
        as().vpmaddwd(dst, m_t1, m_ones);
    }
}

void Q8MatmulGenerator::load_scales(const x86::Vec& dst, const x86::Mem& src, u32 count, const Tail* tail)
{
    if (tail) {
        load_tail(dst, src, *tail);
        return;
    }
    const u32 bytes = count * 4;
    if (bytes == vbytes()) {
        v_load(dst, src);
    } else if (bytes == 32) {
        as().vmovups(dst.ymm(), src);
    } else if (bytes == 16) {
        if (is_sse())
            as().movups(dst.xmm(), src);
        else
            as().vmovups(dst.xmm(), src);
    } else if (bytes == 8) {
        if (is_sse())
            as().movsd(dst.xmm(), src);
        else
            as().vmovsd(dst.xmm(), src);
    } else {
        fail(kl::ErrorCode::JitEmit, "no load for %u group scales", count);
    }
}

void Q8MatmulGenerator::spread_scales(const x86::Vec& s)
{
    if (m_gpv * 4 == vbytes())
        return;  // one group per lane already
    if (is_sse())
        as().unpcklps(s.xmm(), s.xmm());  // gs = 8: [s0, s1] -> [s0, s0, s1, s1]
    else
        as().vpermps(s, m_spread, s);
}

void Q8MatmulGenerator::scale_fma(const x86::Vec& acc, const x86::Vec& sum, const x86::Vec& scale)
{
    if (is_sse()) {
        as().cvtdq2ps(sum.xmm(), sum.xmm());
        as().mulps(sum.xmm(), scale.xmm());
        as().addps(acc.xmm(), sum.xmm());
    } else {
        as().vcvtdq2ps(sum, sum);
        as().vfmadd231ps(acc, sum, scale);
    }
}

}
