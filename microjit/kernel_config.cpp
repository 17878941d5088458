// Kernel config names and the checks shared by all generators (see kernel_config.h).
#include "microjit/kernel_config.h"

#include <stdio.h>

#include "microjit/jit.h"

namespace mjit {

namespace {

using kl::Error;
using kl::ErrorCode;

// Largest byte offset the generators fold into an addressing displacement (disp32).
constexpr u64 max_displacement = 1ull << 30;

int append(char* buffer, usize size, int used, const char* fmt, u64 value)
{
    if (used < 0 || static_cast<usize>(used) >= size)
        return used;
    return used + snprintf(buffer + used, size - used, fmt, static_cast<unsigned long long>(value));
}

int append_text(char* buffer, usize size, int used, const char* text)
{
    if (used < 0 || static_cast<usize>(used) >= size)
        return used;
    return used + snprintf(buffer + used, size - used, "%s", text);
}

}

const char* kernel_op_name(KernelOp op)
{
    switch (op) {
    case KernelOp::MatvecF32: return "matvec";
    case KernelOp::MatvecQ8: return "matvec_q8";
    case KernelOp::MatmulF32: return "matmul";
    case KernelOp::MatmulQ8: return "matmul_q8";
    case KernelOp::QuantizeQ8: return "quantize_q8";
    case KernelOp::Copy: return "copy";
    }
    return "?";
}

KernelConfig default_config(KernelOp op, Shape shape, Isa isa)
{
    KernelConfig c;
    c.op = op;
    c.isa = isa;
    c.shape = shape;
    const bool matrix = is_matrix_op(op);
    c.rows = matrix ? 4 : 1;
    c.tokens = 1;
    c.unroll = 1;
    if (op == KernelOp::MatmulF32 || op == KernelOp::MatmulQ8)
        c.tokens = shape.t < 2 ? 1 : 2;
    // Fewer rows (then tokens) in flight where the register budget asks for it (SSE2).
    // A shape that is invalid anyway is returned as it is, for validate() to explain.
    if (check_config(c).is_error())
        return c;
    while (matrix && c.rows > 1 && validate(c).is_error())
        --c.rows;
    while (matrix && c.tokens > 1 && validate(c).is_error())
        --c.tokens;
    return c;
}

void format_config_name(char* buffer, usize size, const KernelConfig& c)
{
    if (size == 0)
        return;
    int used = snprintf(buffer, size, "%s_%s", kernel_op_name(c.op), kl::cpu::isa_name(c.isa));
    used = append(buffer, size, used, "_n%llu", c.shape.n);
    if (is_matrix_op(c.op)) {
        used = append(buffer, size, used, "_d%llu", c.shape.d);
        if (c.op == KernelOp::MatmulF32 || c.op == KernelOp::MatmulQ8)
            used = append(buffer, size, used, "_t%llu", c.shape.t);
    }
    if (is_q8_op(c.op) || c.op == KernelOp::QuantizeQ8)
        used = append(buffer, size, used, "_gs%llu", c.shape.gs);
    if (is_matrix_op(c.op)) {
        used = append(buffer, size, used, "_r%llu", c.rows);
        if (c.op == KernelOp::MatmulF32 || c.op == KernelOp::MatmulQ8)
            used = append(buffer, size, used, "t%llu", c.tokens);
        used = append(buffer, size, used, "u%llu", c.unroll);
    }
    if (c.prefetch)
        used = append(buffer, size, used, (c.flags & variant::prefetch_nta) ? "_nta%llu" : "_pf%llu", c.prefetch);
    if (c.flags & variant::aligned)
        used = append_text(buffer, size, used, "_al");
    if (c.flags & variant::vnni)
        used = append_text(buffer, size, used, "_vnni");
    if (c.flags & variant::stripes)
        used = append_text(buffer, size, used, "_st");
    if (c.flags & variant::rep_movsb)
        append_text(buffer, size, used, "_rep");
}

kl::ErrorOr<void> check_config(const KernelConfig& c)
{
    char name[96];
    format_config_name(name, sizeof(name), c);
    if (static_cast<u8>(c.op) >= kernel_op_count)
        return Error::make(ErrorCode::InvalidArgument, "JIT config: unknown operation %u", static_cast<unsigned>(c.op));
    if (c.isa == Isa::Scalar || static_cast<u8>(c.isa) > static_cast<u8>(Isa::Avx512))
        return Error::make(ErrorCode::JitUnsupported, "%s: the JIT generates sse2, avx2 or avx512 code only (scalar is the reference kernel)", name);
    if ((c.flags & ~variant::all) != 0)
        return Error::make(ErrorCode::InvalidArgument, "%s: unknown variant flags 0x%x", name, c.flags);
    if (c.prefetch == 0 && (c.flags & variant::prefetch_nta))
        return Error::make(ErrorCode::InvalidArgument, "%s: the non-temporal prefetch hint needs a prefetch distance", name);
    if ((c.flags & variant::vnni) && !(is_q8_op(c.op) && c.isa == Isa::Avx512))
        return Error::make(ErrorCode::InvalidArgument, "%s: the vnni variant exists for Q8 matrix kernels on avx512 only", name);
    if ((c.flags & variant::stripes) && (!is_matrix_op(c.op) || c.rows < 2 || c.rows > 4))
        return Error::make(ErrorCode::InvalidArgument, "%s: stripes need a matrix op with 2..4 rows in flight", name);
    if ((c.flags & variant::rep_movsb) && c.op != KernelOp::Copy)
        return Error::make(ErrorCode::InvalidArgument, "%s: rep movsb is a Copy variant", name);
    if (c.shape.n == 0)
        return Error::make(ErrorCode::InvalidArgument, "%s: n must be at least 1", name);
    const u32 vbytes = vector_bytes(c.isa);

    if (!is_matrix_op(c.op) && (c.rows != 1 || c.tokens != 1 || c.unroll != 1))
        return Error::make(ErrorCode::InvalidArgument, "%s: rows, tokens and unroll must be 1 for this op (see default_config)", name);
    if (c.op == KernelOp::Copy) {
        if (c.prefetch)
            return Error::make(ErrorCode::InvalidArgument, "%s: copy has no prefetch variant", name);
        return {};
    }
    if (c.op == KernelOp::QuantizeQ8 || is_q8_op(c.op)) {
        if (c.shape.gs < 4 || c.shape.gs % 4 != 0 || c.shape.n % c.shape.gs != 0)
            return Error::make(ErrorCode::JitUnsupported, "%s: Q8 group size must be a multiple of 4 that divides n (n=%u, gs=%u)",
                name, c.shape.n, c.shape.gs);
    }
    if (c.unroll < 1 || c.unroll > 8)
        return Error::make(ErrorCode::InvalidArgument, "%s: unroll must be 1..8", name);
    if (c.op == KernelOp::QuantizeQ8) {
        if (c.prefetch || (c.flags & variant::aligned))
            return Error::make(ErrorCode::InvalidArgument, "%s: the quantizer has no prefetch or aligned variant", name);
        return {};
    }

    // Matrix kernels.
    const bool matvec = c.op == KernelOp::MatvecF32 || c.op == KernelOp::MatvecQ8;
    if (c.shape.d == 0 || c.shape.t == 0)
        return Error::make(ErrorCode::InvalidArgument, "%s: d and t must be at least 1", name);
    if (matvec && c.shape.t != 1)
        return Error::make(ErrorCode::InvalidArgument, "%s: a matvec kernel has t = 1 (use matmul for %u tokens)", name, c.shape.t);
    if (c.rows < 1 || c.rows > 16)
        return Error::make(ErrorCode::InvalidArgument, "%s: rows in flight must be 1..16", name);
    if (c.tokens < 1 || c.tokens > 8 || c.tokens > c.shape.t)
        return Error::make(ErrorCode::InvalidArgument, "%s: tokens in flight must be 1..min(8, t)", name);
    if (c.prefetch > 32768)
        return Error::make(ErrorCode::InvalidArgument, "%s: prefetch distance %u is above 32768 bytes", name, c.prefetch);
    const u64 elem = is_q8_op(c.op) ? 1 : 4;
    const u64 row_bytes = c.shape.n * elem;
    if (row_bytes * (c.rows + c.tokens + 1) >= max_displacement || u64(c.shape.d) * 4 * c.shape.t >= max_displacement
        || u64(c.shape.n) * c.shape.d * elem >= (1ull << 40))
        return Error::make(ErrorCode::JitUnsupported, "%s: the shape is too large for 32-bit displacements", name);
    if ((c.flags & variant::aligned) && row_bytes % vbytes != 0)
        return Error::make(ErrorCode::JitUnsupported, "%s: the aligned variant needs rows of a multiple of %u bytes", name, vbytes);
    return {};
}

kl::ErrorOr<void> check_runnable(const KernelConfig& c, const CpuCaps& caps)
{
    char name[96];
    format_config_name(name, sizeof(name), c);
    if (static_cast<u8>(c.isa) > static_cast<u8>(caps.best))
        return Error::make(ErrorCode::JitUnsupported, "%s: this CPU supports up to %s", name, kl::cpu::isa_name(caps.best));
    if (c.isa == Isa::Avx512 && (is_q8_op(c.op) || c.op == KernelOp::QuantizeQ8) && !caps.avx512bw)
        return Error::make(ErrorCode::JitUnsupported, "%s: needs AVX-512BW, which this CPU lacks", name);
    if ((c.flags & variant::vnni) && !caps.avx512vnni)
        return Error::make(ErrorCode::JitUnsupported, "%s: needs AVX-512 VNNI, which this CPU lacks", name);
    return {};
}

}
