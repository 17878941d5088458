// The generator base (see emitter.h): asmjit plumbing and ISA-neutral vector idioms.
#include "microjit/emitter.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

namespace mjit {

using namespace asmjit;

void EmitErrors::handleError(Error error, const char* message, BaseEmitter*)
{
    if (m_count++ != 0)
        return;
    m_first = error;
    // Builds without ASMJIT_NO_TEXT pass a message; the kernel build may pass none.
    snprintf(m_message, sizeof(m_message), "%s", message && *message ? message : "(no text in this build)");
}

Emitter::Emitter(const KernelConfig& config) : m_config(config)
{
    m_code.init(Environment(Arch::kX64));
    m_code.setErrorHandler(&m_errors);
    m_code.attach(&m_as);
#ifndef ASMJIT_NO_VALIDATION
    // Host builds check every instruction's operands as it is emitted, so a malformed
    // instruction fails generation (and the tests) instead of encoding something else.
    m_as.addDiagnosticOptions(DiagnosticOptions::kValidateAssembler);
#endif
}

void Emitter::fail(kl::ErrorCode code, const char* fmt, ...)
{
    if (m_failed)
        return;
    m_failed = true;
    m_fail_code = code;
    va_list args;
    va_start(args, fmt);
    vsnprintf(m_fail_message, sizeof(m_fail_message), fmt, args);
    va_end(args);
}

kl::ErrorOr<void> Emitter::assemble()
{
    char name[96];
    format_config_name(name, sizeof(name), m_config);
    if (m_assembled)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "%s: assemble() called twice", name);
    m_assembled = true;
    generate();
    emit_constant_pool();
    if (m_failed)
        return kl::Error::make(m_fail_code, "%s: %s", name, m_fail_message);
    if (m_errors.count() == 0) {
        m_code.flatten();
        m_code.resolveUnresolvedLinks();
    }
    if (m_errors.count() != 0)
        return kl::Error::make(kl::ErrorCode::JitEmit, "%s: asmjit error %u (%s); %u error(s) in all; the reference kernel stays in use",
            name, static_cast<unsigned>(m_errors.first()), m_errors.first_message(), m_errors.count());
    return {};
}

usize Emitter::code_size() const
{
    return m_code.codeSize();
}

kl::ErrorOr<void> Emitter::copy_to(u8* dest, usize capacity, u64 base_address)
{
    const usize size = code_size();
    if (!m_assembled || size > capacity)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "copy_to: %zu bytes of code do not fit %zu bytes (or not assembled)", size, capacity);
    Error err = m_code.relocateToBase(base_address);
    if (err == kErrorOk)
        err = m_code.copyFlattenedData(dest, capacity, CopySectionFlags::kPadTargetBuffer);
    if (err != kErrorOk || m_errors.count() != 0)
        return kl::Error::make(kl::ErrorCode::JitEmit, "relocating generated code to %#llx failed (asmjit error %u)",
            static_cast<unsigned long long>(base_address), static_cast<unsigned>(err));
    return {};
}

// ---- registers ---------------------------------------------------------------------

static x86::Vec full_width(Isa isa, u32 id)
{
    if (isa == Isa::Avx512)
        return x86::Zmm(id);
    if (isa == Isa::Avx2)
        return x86::Ymm(id);
    return x86::Xmm(id);
}

x86::Vec Emitter::new_vec()
{
    // On AVX-512 the high bank (16..31) goes first: it is only reachable with EVEX, which
    // every instruction of the AVX-512 paths has, and it leaves the low bank to the
    // temporaries that ask for it (new_low_vec).
    if (is_avx512() && m_high_used < 16)
        return full_width(isa(), 16 + m_high_used++);
    return new_low_vec();
}

x86::Vec Emitter::new_low_vec()
{
    if (m_low_used >= 16) {
        fail(kl::ErrorCode::JitUnsupported, "the config needs more than %u vector registers (fewer rows/tokens in flight or less unroll)",
            vec_budget(isa()));
        return full_width(isa(), 15);
    }
    return full_width(isa(), m_low_used++);
}

x86::Gp Emitter::new_gp()
{
    // rdi is the argument pointer; rsp is the stack.
    static constexpr u32 order[] = {
        x86::Gp::kIdAx, x86::Gp::kIdCx, x86::Gp::kIdDx, x86::Gp::kIdSi, x86::Gp::kIdR8, x86::Gp::kIdR9,
        x86::Gp::kIdR10, x86::Gp::kIdR11, x86::Gp::kIdBx, x86::Gp::kIdBp, x86::Gp::kIdR12, x86::Gp::kIdR13,
        x86::Gp::kIdR14, x86::Gp::kIdR15
    };
    if (m_gp_used >= sizeof(order) / sizeof(order[0])) {
        fail(kl::ErrorCode::JitUnsupported, "the generator ran out of general registers");
        return x86::rax;
    }
    return x86::gpq(order[m_gp_used++]);
}

x86::KReg Emitter::new_k()
{
    if (m_k_used >= 7) {
        fail(kl::ErrorCode::JitUnsupported, "the generator ran out of mask registers");
        return x86::k1;
    }
    return x86::KReg(1 + m_k_used++);
}

static constexpr u32 caller_saved_gps = 8;

void Emitter::prologue()
{
    for (u32 i = caller_saved_gps; i < m_gp_used; ++i) {
        static constexpr u32 saved[] = { x86::Gp::kIdBx, x86::Gp::kIdBp, x86::Gp::kIdR12, x86::Gp::kIdR13, x86::Gp::kIdR14, x86::Gp::kIdR15 };
        m_as.push(x86::gpq(saved[i - caller_saved_gps]));
    }
    if (m_stack_bytes)
        m_as.sub(x86::rsp, static_cast<i32>(m_stack_bytes));
}

void Emitter::epilogue()
{
    if (m_stack_bytes)
        m_as.add(x86::rsp, static_cast<i32>(m_stack_bytes));
    for (u32 i = m_gp_used; i > caller_saved_gps; --i) {
        static constexpr u32 saved[] = { x86::Gp::kIdBx, x86::Gp::kIdBp, x86::Gp::kIdR12, x86::Gp::kIdR13, x86::Gp::kIdR14, x86::Gp::kIdR15 };
        m_as.pop(x86::gpq(saved[i - 1 - caller_saved_gps]));
    }
    // Leaving dirty upper halves would slow down any SSE code the caller runs next.
    if (!is_sse())
        m_as.vzeroupper();
    m_as.ret();
}

// ---- constants ---------------------------------------------------------------------

x86::Mem Emitter::constant(const void* data, u32 bytes)
{
    if (bytes == 0 || bytes > 64) {
        fail(kl::ErrorCode::JitEmit, "constant of %u bytes (1..64 supported)", bytes);
        bytes = 1;
    }
    for (u32 i = 0; i < m_constant_count; ++i) {
        if (m_constants[i].size == bytes && memcmp(m_constants[i].bytes, data, bytes) == 0)
            return x86::ptr(m_constants[i].label);
    }
    if (m_constant_count >= max_constants) {
        fail(kl::ErrorCode::JitEmit, "more than %u constants", max_constants);
        return x86::ptr(m_constants[0].label);
    }
    Constant& c = m_constants[m_constant_count++];
    c.label = m_as.newLabel();
    c.size = bytes;
    memcpy(c.bytes, data, bytes);
    return x86::ptr(c.label);
}

x86::Mem Emitter::constant_dwords(u32 value, u32 count)
{
    u32 words[16];
    if (count > 16)
        count = 16;
    for (u32 i = 0; i < count; ++i)
        words[i] = value;
    return constant(words, count * 4);
}

void Emitter::emit_constant_pool()
{
    if (m_constant_count == 0)
        return;
    m_as.align(AlignMode::kZero, 64);
    for (u32 i = 0; i < m_constant_count; ++i) {
        m_as.align(AlignMode::kZero, m_constants[i].size > 32 ? 64 : m_constants[i].size > 16 ? 32 : 16);
        m_as.bind(m_constants[i].label);
        m_as.embed(m_constants[i].bytes, m_constants[i].size);
    }
}

// ---- tails -------------------------------------------------------------------------

void Emitter::setup_tail(Tail& tail, u32 dwords, const x86::Gp& scratch)
{
    tail.dwords = dwords;
    if (dwords == 0)
        return;
    if (dwords >= vbytes() / 4) {
        fail(kl::ErrorCode::JitEmit, "a tail of %u dwords is a full vector", dwords);
        return;
    }
    if (is_sse()) {
        tail.tmp = new_low_vec();
    } else if (is_avx512()) {
        tail.k = new_k();
        m_as.mov(scratch.r32(), (1u << dwords) - 1);
        m_as.kmovw(tail.k, scratch.r32());
    } else {
        u32 words[8] = {};
        for (u32 i = 0; i < dwords; ++i)
            words[i] = 0xFFFFFFFFu;
        tail.mask = new_low_vec();
        m_as.vmovdqu(tail.mask, constant(words, 32));
    }
}

void Emitter::load_tail(const x86::Vec& dst, const x86::Mem& src, const Tail& tail)
{
    if (is_avx512()) {
        m_as.k(tail.k).z().vmovdqu32(dst, src);
    } else if (!is_sse()) {
        m_as.vpmaskmovd(dst, tail.mask, src);
    } else {
        const x86::Xmm d = dst.xmm();
        if (tail.dwords == 1) {
            m_as.movd(d, src);
        } else {
            m_as.movq(d, src);
            if (tail.dwords == 3) {
                m_as.movd(tail.tmp.xmm(), src.cloneAdjusted(8));
                m_as.punpcklqdq(d, tail.tmp.xmm());
            }
        }
    }
}

// ---- vector idioms -----------------------------------------------------------------

x86::Mem Emitter::vmem(const x86::Gp& base, i64 disp)
{
    return x86::ptr(base, static_cast<i32>(disp));
}

x86::Mem Emitter::vmem(const x86::Gp& base, const x86::Gp& index, i64 disp)
{
    return x86::ptr(base, index, 0, static_cast<i32>(disp));
}

void Emitter::v_zero(const x86::Vec& v)
{
    // Writing the xmm part with VEX/EVEX clears the whole register.
    if (is_sse())
        m_as.xorps(v.xmm(), v.xmm());
    else if (is_avx512())
        m_as.vpxord(v.xmm(), v.xmm(), v.xmm());
    else
        m_as.vpxor(v.xmm(), v.xmm(), v.xmm());
}

void Emitter::v_load(const x86::Vec& dst, const x86::Mem& src, bool aligned)
{
    if (is_sse()) {
        if (aligned)
            m_as.movaps(dst.xmm(), src);
        else
            m_as.movups(dst.xmm(), src);
    } else if (aligned) {
        m_as.vmovaps(dst, src);
    } else {
        m_as.vmovups(dst, src);
    }
}

void Emitter::v_store(const x86::Mem& dst, const x86::Vec& src, bool aligned)
{
    if (is_sse()) {
        if (aligned)
            m_as.movaps(dst, src.xmm());
        else
            m_as.movups(dst, src.xmm());
    } else if (aligned) {
        m_as.vmovaps(dst, src);
    } else {
        m_as.vmovups(dst, src);
    }
}

void Emitter::v_copy(const x86::Vec& dst, const x86::Vec& src)
{
    if (is_sse())
        m_as.movaps(dst.xmm(), src.xmm());
    else
        m_as.vmovaps(dst, src);
}

void Emitter::v_fma(const x86::Vec& acc, const x86::Vec& a, const Operand& b, const x86::Vec& tmp)
{
    if (!is_sse()) {
        m_as.emit(x86::Inst::kIdVfmadd231ps, acc, a, b);
        return;
    }
    m_as.movaps(tmp.xmm(), a.xmm());
    if (b.isReg())
        m_as.mulps(tmp.xmm(), b.as<x86::Vec>().xmm());
    else
        m_as.mulps(tmp.xmm(), b.as<x86::Mem>());
    m_as.addps(acc.xmm(), tmp.xmm());
}

void Emitter::v_add(const x86::Vec& dst, const x86::Vec& src)
{
    if (is_sse())
        m_as.addps(dst.xmm(), src.xmm());
    else
        m_as.vaddps(dst, dst, src);
}

void Emitter::prefetch(const x86::Mem& m)
{
    if (m_config.flags & variant::prefetch_nta)
        m_as.prefetchnta(m);
    else
        m_as.prefetcht0(m);
}

// dst = [a0+a1, a2+a3, b0+b1, b2+b3] per 128-bit lane (vhaddps), in a form EVEX can
// encode too (registers 16..31 have no VEX encoding and vhaddps has no EVEX one).
void Emitter::hadd(const x86::Vec& dst, const x86::Vec& a, const x86::Vec& b, const x86::Vec& tmp)
{
    if (!is_avx512()) {
        m_as.vhaddps(dst.ymm(), a.ymm(), b.ymm());
        return;
    }
    m_as.vshufps(tmp.ymm(), a.ymm(), b.ymm(), 0x88);
    m_as.vshufps(dst.ymm(), a.ymm(), b.ymm(), 0xDD);
    m_as.vaddps(dst.ymm(), dst.ymm(), tmp.ymm());
}

x86::Xmm Emitter::reduce_lanes(const x86::Vec* accs, u32 count, const x86::Vec& tmp)
{
    const x86::Vec& a0 = accs[0];
    const x86::Xmm r = a0.xmm();
    if (count == 0 || count > 4) {
        fail(kl::ErrorCode::JitEmit, "reduction of %u accumulators", count);
        return r;
    }
    if (is_sse()) {
        const x86::Xmm t = tmp.xmm();
        const x86::Xmm a1 = (count >= 2 ? accs[1] : a0).xmm();
        // p01 = [a0_0+a0_2, a1_0+a1_2, a0_1+a0_3, a1_1+a1_3]
        m_as.movaps(t, r);
        m_as.unpcklps(r, a1);
        m_as.unpckhps(t, a1);
        m_as.addps(r, t);
        if (count <= 2) {
            m_as.movhlps(t, r);
            m_as.addps(r, t);
        } else {
            const x86::Xmm a2 = accs[2].xmm();
            const x86::Xmm a3 = (count == 4 ? accs[3] : accs[2]).xmm();
            m_as.movaps(t, a2);
            m_as.unpcklps(a2, a3);
            m_as.unpckhps(t, a3);
            m_as.addps(a2, t);
            m_as.movaps(t, r);
            m_as.movlhps(r, a2);
            m_as.movhlps(a2, t);
            m_as.addps(r, a2);
        }
        return r;
    }

    if (is_avx512()) {
        // Fold each zmm into its low 256 bits first.
        for (u32 i = 0; i < count; ++i) {
            m_as.vextractf64x4(tmp.ymm(), accs[i].zmm(), 1);
            m_as.vaddps(accs[i].ymm(), accs[i].ymm(), tmp.ymm());
        }
    }
    if (count == 1) {
        hadd(a0, a0, a0, tmp);
        hadd(a0, a0, a0, tmp);
    } else {
        hadd(a0, a0, accs[1], tmp);
        if (count >= 3) {
            const x86::Vec& a2 = accs[2];
            hadd(a2, a2, count == 4 ? accs[3] : a2, tmp);
            hadd(a0, a0, a2, tmp);
        } else {
            hadd(a0, a0, a0, tmp);
        }
    }
    if (is_avx512())
        m_as.vextractf32x4(tmp.xmm(), a0.ymm(), 1);
    else
        m_as.vextractf128(tmp.xmm(), a0.ymm(), 1);
    m_as.vaddps(r, r, tmp.xmm());
    return r;
}

void Emitter::reduce_store(const x86::Vec* accs, u32 count, const x86::Mem& out, const x86::Vec& tmp)
{
    const x86::Xmm r = reduce_lanes(accs, count, tmp);
    if (is_sse()) {
        const x86::Xmm t = tmp.xmm();
        if (count == 4) {
            m_as.movups(out, r);
        } else if (count == 3) {
            m_as.movlps(out, r);
            m_as.movhlps(t, r);
            m_as.movss(out.cloneAdjusted(8), t);
        } else if (count == 2) {
            m_as.movlps(out, r);
        } else {
            m_as.movss(out, r);
        }
        return;
    }
    if (count == 4) {
        m_as.vmovups(out, r);
    } else if (count == 3) {
        m_as.vmovlps(out, r);
        m_as.vextractps(out.cloneAdjusted(8), r, 2);
    } else if (count == 2) {
        m_as.vmovlps(out, r);
    } else {
        m_as.vmovss(out, r);
    }
}

void Emitter::reduce_scatter(const x86::Vec* accs, u32 count, const x86::Mem* outs, const x86::Vec& tmp)
{
    const x86::Xmm r = reduce_lanes(accs, count, tmp);
    for (u32 i = 0; i < count; ++i) {
        if (i == 0) {
            if (is_sse())
                m_as.movss(outs[0], r);
            else
                m_as.vmovss(outs[0], r);
        } else if (is_sse()) {
            // SSE2 has no extractps: bring lane i down first.
            m_as.movaps(tmp.xmm(), r);
            m_as.shufps(tmp.xmm(), tmp.xmm(), i);
            m_as.movss(outs[i], tmp.xmm());
        } else {
            m_as.vextractps(outs[i], r, i);
        }
    }
}

}
