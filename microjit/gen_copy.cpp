// Fixed-size copy generator (see gen_copy.h).
#include "microjit/gen_copy.h"

namespace mjit {

namespace {

// Up to this many vectors are copied by straight-line code.
constexpr u64 straight_line_vectors = 16;

}

kl::ErrorOr<void> CopyGenerator::check(const KernelConfig& c)
{
    if (c.op.kind != OpKind::Copy)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "CopyGenerator: not a copy config");
    if ((c.flags & variant::nontemporal) && c.shape.n < 4 * vector_bytes(c.isa))
        return kl::Error::make(kl::ErrorCode::JitUnsupported, "copy of %u bytes: streaming stores need at least four vectors", c.shape.n);
    if (c.shape.n >= (1u << 30))
        return kl::Error::make(kl::ErrorCode::JitUnsupported, "copy of %u bytes: sizes up to 1 GiB are generated", c.shape.n);
    return {};
}

CopyGenerator::CopyGenerator(const KernelConfig& c) : Emitter(c)
{
    m_n = c.shape.n;
    m_width = vbytes();
    while (m_width > 16 && m_width > m_n)
        m_width /= 2;
    m_aligned = (c.flags & variant::aligned) != 0;
}

x86::Vec CopyGenerator::w(const x86::Vec& v) const
{
    if (m_width == 64)
        return v.zmm();
    if (m_width == 32)
        return v.ymm();
    return v.xmm();
}

void CopyGenerator::generate()
{
    // The pointers go where rep movsb wants them: dst in rdi (replacing the argument
    // pointer, read last), src in rsi.
    m_dst = x86::rdi;
    m_src = x86::rsi;
    as().mov(m_src, x86::qword_ptr(x86::rdi, offsetof(KernelArgs, x)));
    as().mov(m_dst, x86::qword_ptr(x86::rdi, offsetof(KernelArgs, out)));
    if (config().flags & variant::nontemporal) {
        streaming_copy();
        return;
    }
    if (config().flags & variant::rep_movsb) {
        as().mov(x86::ecx, static_cast<u32>(m_n));
        as().rep().movsb();
        as().ret();
        return;
    }
    if (m_n < 16) {
        small_copy();
        as().ret();
        return;
    }
    // new_gp() hands out rax and rcx first; never enough registers to reach rsi (src).
    m_index = new_gp();
    for (auto& r : m_regs)
        r = new_vec();
    prologue();
    vector_copy();
    epilogue();
}

void CopyGenerator::small_copy()
{
    // Two moves of the widest size <= n, one from each end; they overlap when n is not
    // that size exactly.
    const i32 n = static_cast<i32>(m_n);
    if (n == 0)
        return;
    u32 size = 8;
    while (size > static_cast<u32>(n))
        size /= 2;
    const x86::Gp a = new_gp(), b = new_gp();
    auto load = [&](const x86::Gp& r, i32 off) {
        if (size == 8)
            as().mov(r.r64(), x86::qword_ptr(m_src, off));
        else if (size == 4)
            as().mov(r.r32(), x86::dword_ptr(m_src, off));
        else if (size == 2)
            as().movzx(r.r32(), x86::word_ptr(m_src, off));
        else
            as().movzx(r.r32(), x86::byte_ptr(m_src, off));
    };
    auto store = [&](const x86::Gp& r, i32 off) {
        if (size == 8)
            as().mov(x86::qword_ptr(m_dst, off), r.r64());
        else if (size == 4)
            as().mov(x86::dword_ptr(m_dst, off), r.r32());
        else if (size == 2)
            as().mov(x86::word_ptr(m_dst, off), r.r16());
        else
            as().mov(x86::byte_ptr(m_dst, off), r.r8());
    };
    load(a, 0);
    if (static_cast<u32>(n) != size)
        load(b, n - static_cast<i32>(size));
    store(a, 0);
    if (static_cast<u32>(n) != size)
        store(b, n - static_cast<i32>(size));
}

void CopyGenerator::load(const x86::Vec& v, const x86::Mem& from, bool aligned)
{
    if (is_sse())
        aligned ? as().movaps(v.xmm(), from) : as().movups(v.xmm(), from);
    else
        aligned ? as().vmovaps(v, from) : as().vmovups(v, from);
}

void CopyGenerator::store(const x86::Mem& to, const x86::Vec& v, bool aligned)
{
    if (is_sse())
        aligned ? as().movaps(to, v.xmm()) : as().movups(to, v.xmm());
    else
        aligned ? as().vmovaps(to, v) : as().vmovups(to, v);
}

void CopyGenerator::move(i64 offset, u32 reg, bool aligned)
{
    const x86::Vec v = w(m_regs[reg]);
    load(v, x86::ptr(m_src, static_cast<i32>(offset)), aligned);
    store(x86::ptr(m_dst, static_cast<i32>(offset)), v, aligned);
}

void CopyGenerator::streaming_copy()
{
    // The first and the last vector with ordinary moves (they may overlap the middle);
    // the middle from the first vector-aligned destination address on, in streaming
    // stores: four vectors per step, then one at a time. The count depends on the
    // destination's alignment, known only at run time.
    // Two general registers (rax, rcx): new_gp() would hand out rsi, the source, as the fourth.
    const x86::Gp skip = new_gp(), left = new_gp();
    const x86::Gp src = m_src, dst = m_dst;
    for (auto& r : m_regs)
        r = new_vec();
    prologue();
    const x86::Vec v0 = w(m_regs[0]);
    const i32 width = static_cast<i32>(m_width);
    move(0, 0, false);
    move(static_cast<i64>(m_n) - width, 1, false);
    as().mov(skip, m_dst);
    as().neg(skip);
    as().and_(skip, width - 1);                      // bytes to the first aligned address
    as().add(dst, skip);
    as().add(src, skip);
    as().mov(left, static_cast<i64>(m_n) - width);  // bytes up to the last vector, already done
    as().sub(left, skip);
    asmjit::Label quads = as().newLabel(), singles = as().newLabel(), done = as().newLabel();
    as().bind(quads);
    as().cmp(left, 4 * width);
    as().jl(singles);
    for (i32 k = 0; k < 4; ++k)
        load(w(m_regs[k]), x86::ptr(src, k * width), false);
    for (i32 k = 0; k < 4; ++k)
        is_sse() ? as().movntps(x86::ptr(dst, k * width), m_regs[k].xmm()) : as().vmovntps(x86::ptr(dst, k * width), w(m_regs[k]));
    as().add(src, 4 * width);
    as().add(dst, 4 * width);
    as().sub(left, 4 * width);
    as().jmp(quads);
    // The last vectors may reach into the final one, already copied: never past n.
    as().bind(singles);
    as().cmp(left, 0);
    as().jle(done);
    load(v0, x86::ptr(src), false);
    is_sse() ? as().movntps(x86::ptr(dst), v0.xmm()) : as().vmovntps(x86::ptr(dst), v0);
    as().add(src, width);
    as().add(dst, width);
    as().sub(left, width);
    as().jmp(singles);
    as().bind(done);
    as().sfence();
    epilogue();
}

void CopyGenerator::vector_copy()
{
    const u64 full = m_n / m_width;
    const u64 tail = m_n % m_width;
    // Aligned moves only where the promise holds: on full vectors of the full width.
    const bool aligned = m_aligned && m_width == vbytes();
    if (full > straight_line_vectors) {
        const u64 step = 4ull * m_width;
        const u64 loop_bytes = full / 4 * step;
        asmjit::Label loop = as().newLabel();
        // Both pointers move to the end of the looped part; the index runs up to zero.
        as().add(m_src, static_cast<i32>(loop_bytes));
        as().add(m_dst, static_cast<i32>(loop_bytes));
        as().mov(m_index, -static_cast<i64>(loop_bytes));
        as().align(asmjit::AlignMode::kCode, 16);
        as().bind(loop);
        for (u32 k = 0; k < 4; ++k)
            load(w(m_regs[k]), x86::ptr(m_src, m_index, 0, static_cast<i32>(k * m_width)), aligned);
        for (u32 k = 0; k < 4; ++k)
            store(x86::ptr(m_dst, m_index, 0, static_cast<i32>(k * m_width)), w(m_regs[k]), aligned);
        as().add(m_index, static_cast<i32>(step));
        as().jnz(loop);
        // Offsets below are relative to the moved pointers.
        for (u64 k = 0; k < full % 4; ++k)
            move(static_cast<i64>(k * m_width), static_cast<u32>(k), aligned);
        if (tail)
            move(static_cast<i64>(m_n - loop_bytes) - m_width, 0, false);
        return;
    }
    for (u64 k = 0; k < full; ++k)
        move(static_cast<i64>(k * m_width), static_cast<u32>(k % 4), aligned);
    if (tail)
        move(static_cast<i64>(m_n) - m_width, 0, false);
}

}
