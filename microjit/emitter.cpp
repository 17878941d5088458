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

#ifdef BAREFLOW_HOST
namespace {
InstObserver inst_observer = nullptr;
void* inst_observer_context = nullptr;
}

void set_inst_observer(InstObserver observer, void* context)
{
    inst_observer = observer;
    inst_observer_context = context;
}
#endif

Error Assembler::_emit(InstId id, const Operand_& o0, const Operand_& o1, const Operand_& o2, const Operand_* rest)
{
#ifdef BAREFLOW_HOST
    if (inst_observer)
        inst_observer(inst_observer_context, id);
#endif
    // Encoding 0 (kEncodingNone) belongs to kIdNone alone in asmjit's table: any other id
    // with it was pruned from this image, and asmjit would emit nothing for it.
    if (id != x86::Inst::kIdNone && id < x86::Inst::_kIdCount && x86::InstDB::infoById(id)._encoding == 0) {
        char message[112];
        snprintf(message, sizeof(message), "instruction id %u was pruned from the kernel's asmjit tables (scripts/kernel-insts missed it)",
            static_cast<unsigned>(id));
        resetExtraReg();
        resetInstOptions();
        resetInlineComment();
        return reportError(DebugUtils::errored(kErrorInvalidInstruction), message);
    }
    return x86::Assembler::_emit(id, o0, o1, o2, rest);
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

kl::ErrorOr<void> Emitter::copy_to(u8* dest, usize capacity)
{
    const usize size = code_size();
    if (!m_assembled || size > capacity)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "copy_to: %zu bytes of code do not fit %zu bytes (or not assembled)", size, capacity);
    // Generated code is position-independent (labels and its constant pool are in its one
    // section), so there is nothing to relocate; asmjit's relocator stays out of the kernel.
    if (!m_code.relocEntries().empty())
        return kl::Error::make(kl::ErrorCode::JitEmit,
            "generated code needs %u relocation(s); the micro-JIT emits position-independent code only",
            m_code.relocEntries().size());
    Error err = m_code.copyFlattenedData(dest, capacity, CopySectionFlags::kPadTargetBuffer);
    if (err != kErrorOk || m_errors.count() != 0)
        return kl::Error::make(kl::ErrorCode::JitEmit, "copying generated code failed (asmjit error %u)",
            static_cast<unsigned>(err));
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
}

void Emitter::epilogue()
{
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
    // The lane mask in memory for SSE2 (and/andn/or) and AVX2 (vmaskmov, vblendv): a tail
    // there has fewer than 8 dwords; AVX-512 builds its k mask from an immediate.
    u32 words[8] = {};
    for (u32 i = 0; i < dwords && i < 8; ++i)
        words[i] = 0xFFFFFFFFu;
    if (is_sse()) {
        if (!tail.tmp.isValid())
            tail.tmp = new_low_vec();
        tail.bits = constant(words, 16);
    } else if (is_avx512()) {
        tail.k = new_k();
        m_as.mov(scratch.r32(), (1u << dwords) - 1);
        m_as.kmovw(tail.k, scratch.r32());
    } else {
        tail.mask = new_low_vec();
        m_as.vmovdqu(tail.mask, constant(words, 32));
    }
}

// The AVX2 mask at the width of `v` (the low lanes of the ymm mask).
static x86::Vec same_width(const x86::Vec& like, const x86::Vec& v)
{
    return like.isXmm() ? x86::Vec(v.xmm()) : like.isYmm() ? x86::Vec(v.ymm()) : v;
}

void Emitter::load_tail(const x86::Vec& dst, const x86::Mem& src, const Tail& tail)
{
    if (is_avx512()) {
        m_as.k(tail.k).z().vmovdqu32(dst, src);
    } else if (!is_sse()) {
        m_as.vpmaskmovd(dst, same_width(dst, tail.mask), src);
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

void Emitter::blend_tail(const x86::Vec& dst, const x86::Vec& src, const Tail& tail)
{
    if (is_avx512()) {
        m_as.k(tail.k).vmovaps(dst, src);
    } else if (!is_sse()) {
        m_as.vblendvps(dst, dst, src, same_width(dst, tail.mask));
    } else {
        // dst = (src & bits) | (dst & ~bits)
        const x86::Xmm t = tail.tmp.xmm();
        m_as.movaps(t, tail.bits);
        m_as.andnps(t, dst.xmm());
        m_as.andps(src.xmm(), tail.bits);
        m_as.orps(src.xmm(), t);
        m_as.movaps(dst.xmm(), src.xmm());
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
    if (is_sse())
        m_as.emit(aligned ? x86::Inst::kIdMovaps : x86::Inst::kIdMovups, dst.xmm(), src);
    else
        m_as.emit(aligned ? x86::Inst::kIdVmovaps : x86::Inst::kIdVmovups, dst, src);
}

void Emitter::v_add(const x86::Vec& dst, const x86::Vec& src)
{
    if (is_sse())
        m_as.addps(dst.xmm(), src.xmm());
    else
        m_as.vaddps(dst, dst, src);
}

// Matmuls (a prefill block) prefetch into L2, not L1: the row block ahead then leaves the
// tokens' activations in L1 (Zen 4, jit-bench's 16-token _dram rows: Q4_K 1.1-1.25x,
// TinyLlama Q4_K_M's 207-token first token ~1.08x in alternating runs).
void Emitter::prefetch(const x86::Mem& m)
{
    const bool matmul = m_config.shape.t > 1;
    const u32 id = (m_config.flags & variant::prefetch_nta) ? x86::Inst::kIdPrefetchnta
        : matmul                                            ? x86::Inst::kIdPrefetcht1
                                                            : x86::Inst::kIdPrefetcht0;
    m_as.emit(id, m);
}

void Emitter::transpose4(const x86::Vec* in, const x86::Vec* tmp, x86::Vec* cols)
{
    const x86::Vec &a = in[0], &b = in[1], &c = in[2], &d = in[3];
    const x86::Vec &t0 = tmp[0], &t1 = tmp[1], &t2 = tmp[2], &t3 = tmp[3], &e = tmp[4];
    // t0 = [a0 b0 a1 b1], t1 = [c0 d0 c1 d1], t2 = [a2 b2 a3 b3], t3 = [c2 d2 c3 d3]; then
    // col0 = lo(t0):lo(t1), col1 = hi(t0):hi(t1), col2 = lo(t2):lo(t3), col3 = hi(t2):hi(t3).
    if (is_sse()) {
        const x86::Vec src[4][2] = { { t2, a }, { t3, c }, { t0, a }, { t1, c } };
        for (const auto& p : src)
            m_as.movaps(p[0].xmm(), p[1].xmm());
        m_as.unpckhps(t2.xmm(), b.xmm());
        m_as.unpckhps(t3.xmm(), d.xmm());
        m_as.unpcklps(t0.xmm(), b.xmm());
        m_as.unpcklps(t1.xmm(), d.xmm());
        m_as.movaps(e.xmm(), t0.xmm());
        m_as.shufps(e.xmm(), t1.xmm(), 0x44);
        m_as.shufps(t0.xmm(), t1.xmm(), 0xEE);
        m_as.movaps(t1.xmm(), t2.xmm());
        m_as.shufps(t1.xmm(), t3.xmm(), 0x44);
        m_as.shufps(t2.xmm(), t3.xmm(), 0xEE);
    } else {
        m_as.vunpckhps(t2, a, b);
        m_as.vunpckhps(t3, c, d);
        m_as.vunpcklps(t0, a, b);
        m_as.vunpcklps(t1, c, d);
        m_as.vshufps(e, t0, t1, 0x44);
        m_as.vshufps(t0, t0, t1, 0xEE);
        m_as.vshufps(t1, t2, t3, 0x44);
        m_as.vshufps(t2, t2, t3, 0xEE);
    }
    cols[0] = e;
    cols[1] = t0;
    cols[2] = t1;
    cols[3] = t2;
}

void Emitter::extract128(const x86::Xmm& dst, const x86::Vec& src, u32 lane, bool floats)
{
    static constexpr InstId ids[2][2] = { { x86::Inst::kIdVextracti128, x86::Inst::kIdVextracti32x4 },
        { x86::Inst::kIdVextractf128, x86::Inst::kIdVextractf32x4 } };
    m_as.emit(ids[floats][is_avx512()], dst, src, lane);
}

void Emitter::fold_to_xmm(const x86::Vec& v, u32 bytes, const x86::Vec& tmp, InstId op)
{
    const bool floats = op != x86::Inst::kIdVpaddd;
    if (bytes == 64) {
        m_as.emit(floats ? x86::Inst::kIdVextractf64x4 : x86::Inst::kIdVextracti64x4, tmp.ymm(), v.zmm(), 1);
        m_as.emit(op, v.ymm(), v.ymm(), tmp.ymm());
    }
    if (bytes >= 32) {
        extract128(tmp.xmm(), v.ymm(), 1, floats);
        m_as.emit(op, v.xmm(), v.xmm(), tmp.xmm());
    }
}

void Emitter::pair_sums(const x86::Vec& dst, const x86::Vec& a, const x86::Vec& b, const x86::Vec& tmp)
{
    // Even and odd dwords apart, then added.
    if (is_sse()) {
        m_as.movaps(tmp.xmm(), a.xmm());
        m_as.shufps(tmp.xmm(), b.xmm(), 0x88);
        m_as.shufps(dst.xmm(), b.xmm(), 0xDD);
        m_as.paddd(dst.xmm(), tmp.xmm());
    } else {
        m_as.vshufps(tmp, a, b, 0x88);
        m_as.vshufps(dst, a, b, 0xDD);
        m_as.vpaddd(dst, dst, tmp);
    }
}

void Emitter::lane_sums(const x86::Vec& v, const x86::Vec& tmp)
{
    m_as.vpshufd(tmp, v, 0x4E);
    m_as.vpaddd(v, v, tmp);
    m_as.vpshufd(tmp, v, 0xB1);
    m_as.vpaddd(v, v, tmp);
}

void Emitter::store_lanes(const x86::Vec& r, u32 count, const x86::Mem* outs, bool contiguous, const x86::Vec& tmp)
{
    const x86::Xmm v = r.xmm(), t = tmp.xmm();
    const bool sse = is_sse();
    u32 i = 0;
    if (contiguous && count >= 2) {
        m_as.emit(count == 4 ? (sse ? x86::Inst::kIdMovups : x86::Inst::kIdVmovups) : (sse ? x86::Inst::kIdMovlps : x86::Inst::kIdVmovlps),
            outs[0], v);
        i = count == 4 ? 4 : 2;
    }
    for (; i < count; ++i) {
        const x86::Mem out = contiguous ? outs[0].cloneAdjusted(4 * i) : outs[i];
        if (i == 0) {
            m_as.emit(sse ? x86::Inst::kIdMovss : x86::Inst::kIdVmovss, out, v);
        } else if (sse) {
            // SSE2 has no extractps: bring lane i down first.
            m_as.movaps(t, v);
            m_as.shufps(t, t, i);
            m_as.movss(out, t);
        } else {
            m_as.vextractps(out, v, i);
        }
    }
}

u32 Emitter::unallocated_vecs(x86::Vec* out, u32 max) const
{
    u32 n = 0;
    for (u32 id = m_low_used; id < 16 && n < max; ++id)
        out[n++] = full_width(isa(), id);
    for (u32 id = 16 + m_high_used; is_avx512() && id < 32 && n < max; ++id)
        out[n++] = full_width(isa(), id);
    return n;
}

}
