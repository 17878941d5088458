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

KernelConfig default_config(Op op, Shape shape, Isa isa)
{
    KernelConfig c;
    c.op = op;
    c.isa = isa;
    c.shape = shape;
    const bool matrix = is_matrix(op);
    c.rows = matrix ? 4 : 1;
    c.tokens = 1;
    c.unroll = 1;
    if (op.kind == OpKind::Matmul)
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
    char op[32];
    format_op_name(op, sizeof(op), c.op);
    int used = snprintf(buffer, size, "%s_%s", op, kl::cpu::isa_name(c.isa));
    used = append(buffer, size, used, "_n%llu", c.shape.n);
    const bool matmul = c.op.kind == OpKind::Matmul;
    if (is_matrix(c.op)) {
        used = append(buffer, size, used, "_d%llu", c.shape.d);
        if (matmul)
            used = append(buffer, size, used, "_t%llu", c.shape.t);
    }
    if (is_q8g(c.op) && c.op.kind != OpKind::Copy)
        used = append(buffer, size, used, "_gs%llu", c.shape.gs);
    if (is_matrix(c.op)) {
        used = append(buffer, size, used, "_r%llu", c.rows);
        if (matmul)
            used = append(buffer, size, used, "t%llu", c.tokens);
        used = append(buffer, size, used, "u%llu", c.unroll);
    }
    if (c.prefetch)
        used = append(buffer, size, used, (c.flags & variant::prefetch_nta) ? "_nta%llu" : "_pf%llu", c.prefetch);
    if (c.flags & variant::aligned)
        used = append_text(buffer, size, used, "_al");
    if (c.flags & variant::vnni)
        used = append_text(buffer, size, used, "_vnni");
    if (c.flags & variant::gfni)
        used = append_text(buffer, size, used, "_gfni");
    if (c.flags & variant::stripes)
        used = append_text(buffer, size, used, "_st");
    if (c.flags & variant::rep_movsb)
        used = append_text(buffer, size, used, "_rep");
    if (c.flags & variant::nontemporal)
        append_text(buffer, size, used, "_nt");
}

namespace {

kl::ErrorOr<void> check_common(const KernelConfig& c, const char* name)
{
    if (static_cast<u8>(c.op.kind) >= op_kind_count || static_cast<u8>(c.op.format) >= format_count
        || !format_info(c.op.format).name)
        return Error::make(ErrorCode::InvalidArgument, "JIT config: unknown operation %u/%u",
            static_cast<unsigned>(c.op.kind), static_cast<unsigned>(c.op.format));
    if (c.isa == Isa::Scalar || static_cast<u8>(c.isa) > static_cast<u8>(Isa::Avx512))
        return Error::make(ErrorCode::JitUnsupported, "%s: the JIT generates sse2, avx2 or avx512 code only (scalar is the reference kernel)", name);
    if ((c.flags & ~variant::all) != 0)
        return Error::make(ErrorCode::InvalidArgument, "%s: unknown variant flags 0x%x", name, c.flags);
    if (c.prefetch == 0 && (c.flags & variant::prefetch_nta))
        return Error::make(ErrorCode::InvalidArgument, "%s: the non-temporal prefetch hint needs a prefetch distance", name);
    if ((c.flags & variant::vnni) && !(is_matrix(c.op) && is_quantized(c.op.format) && c.isa == Isa::Avx512))
        return Error::make(ErrorCode::InvalidArgument, "%s: the vnni variant exists for integer matrix kernels on avx512 only", name);
    if ((c.flags & variant::gfni) && (!(c.flags & variant::vnni) || !has_gfni_variant(c.op.format)))
        return Error::make(ErrorCode::InvalidArgument, "%s: the gfni variant exists for Q4_0, Q4_K and Q6_K with vnni only", name);
    if ((c.flags & variant::stripes) && (!is_matrix(c.op) || c.rows < 2 || c.rows > 4))
        return Error::make(ErrorCode::InvalidArgument, "%s: stripes need a matrix op with 2..4 rows in flight", name);
    if ((c.flags & (variant::rep_movsb | variant::nontemporal)) && c.op.kind != OpKind::Copy)
        return Error::make(ErrorCode::InvalidArgument, "%s: rep movsb and streaming stores are copy variants", name);
    if (c.shape.n == 0)
        return Error::make(ErrorCode::InvalidArgument, "%s: n must be at least 1", name);
    if (!is_matrix(c.op) && (c.rows != 1 || c.tokens != 1 || c.unroll != 1))
        return Error::make(ErrorCode::InvalidArgument, "%s: rows, tokens and unroll must be 1 for this op (see default_config)", name);
    if (c.unroll < 1 || c.unroll > 8)
        return Error::make(ErrorCode::InvalidArgument, "%s: unroll must be 1..8", name);
    if (is_q8g(c.op) && c.op.kind != OpKind::Copy
        && (c.shape.gs < 4 || c.shape.gs % 4 != 0 || c.shape.n % c.shape.gs != 0))
        return Error::make(ErrorCode::JitUnsupported, "%s: Q8 group size must be a multiple of 4 that divides n (n=%u, gs=%u)",
            name, c.shape.n, c.shape.gs);
    return {};
}

kl::ErrorOr<void> check_copy(const KernelConfig& c, const char* name)
{
    if (c.prefetch)
        return Error::make(ErrorCode::InvalidArgument, "%s: copy has no prefetch variant", name);
    if ((c.flags & variant::rep_movsb) && (c.flags & variant::nontemporal))
        return Error::make(ErrorCode::InvalidArgument, "%s: rep movsb and streaming stores exclude each other", name);
    if (c.shape.d != 1 || c.shape.t != 1)
        return Error::make(ErrorCode::InvalidArgument, "%s: a copy has d = t = 1", name);
    return {};
}

// A quantizer's rows are Q8G's groups of gs values or a block format's blocks.
kl::ErrorOr<void> check_quantize(const KernelConfig& c, const char* name)
{
    if (c.prefetch || (c.flags & variant::aligned))
        return Error::make(ErrorCode::InvalidArgument, "%s: the quantizer has no prefetch or aligned variant", name);
    const u32 values = is_q8g(c.op) ? c.shape.gs : format_info(c.op.format).block_values;
    if (c.shape.t == 0 || c.shape.n % values != 0 || c.shape.d != c.shape.n / values)
        return Error::make(ErrorCode::InvalidArgument, "%s: a quantizer has d = n / %u groups (blocks) and t >= 1 tokens", name, values);
    return {};
}

kl::ErrorOr<void> check_matrix(const KernelConfig& c, const char* name)
{
    if (c.shape.d == 0 || c.shape.t == 0)
        return Error::make(ErrorCode::InvalidArgument, "%s: d and t must be at least 1", name);
    if (c.op.kind == OpKind::Matvec && c.shape.t != 1)
        return Error::make(ErrorCode::InvalidArgument, "%s: a matvec kernel has t = 1 (use matmul for %u tokens)", name, c.shape.t);
    if (c.rows < 1 || c.rows > 16)
        return Error::make(ErrorCode::InvalidArgument, "%s: rows in flight must be 1..16", name);
    if (c.tokens < 1 || c.tokens > 8 || c.tokens > c.shape.t)
        return Error::make(ErrorCode::InvalidArgument, "%s: tokens in flight must be 1..min(8, t)", name);
    if (c.prefetch > 32768)
        return Error::make(ErrorCode::InvalidArgument, "%s: prefetch distance %u is above 32768 bytes", name, c.prefetch);
    const u32 block = format_info(c.op.format).block_values;
    if (block > 1 && c.shape.n % block != 0)
        return Error::make(ErrorCode::InvalidArgument, "%s: n = %u is not a whole number of %u-value blocks", name, c.shape.n, block);
    const u64 row_bytes = weight_row_bytes(c.op.format, c.shape.n);
    if (row_bytes * (c.rows + c.tokens + 1) >= max_displacement || u64(c.shape.d) * 4 * c.shape.t >= max_displacement
        || row_bytes * c.shape.d >= (1ull << 40))
        return Error::make(ErrorCode::JitUnsupported, "%s: the shape is too large for 32-bit displacements", name);
    if ((c.flags & variant::aligned) && row_bytes % vector_bytes(c.isa) != 0)
        return Error::make(ErrorCode::JitUnsupported, "%s: the aligned variant needs rows of a multiple of %u bytes", name,
            vector_bytes(c.isa));
    return {};
}

}

kl::ErrorOr<void> check_config(const KernelConfig& c)
{
    char name[96];
    format_config_name(name, sizeof(name), c);
    TRY(check_common(c, name));
    switch (c.op.kind) {
    case OpKind::Copy: return check_copy(c, name);
    case OpKind::Quantize: return check_quantize(c, name);
    case OpKind::Matvec:
    case OpKind::Matmul: return check_matrix(c, name);
    }
    return {};
}

kl::ErrorOr<void> check_runnable(const KernelConfig& c, const CpuCaps& caps)
{
    char name[96];
    format_config_name(name, sizeof(name), c);
    if (static_cast<u8>(c.isa) > static_cast<u8>(caps.best))
        return Error::make(ErrorCode::JitUnsupported, "%s: this CPU supports up to %s", name, kl::cpu::isa_name(caps.best));
    const char* missing = nullptr;
    if (c.isa == Isa::Avx512 && is_quantized(c.op.format) && c.op.kind != OpKind::Copy && !caps.avx512bw)
        missing = "AVX-512BW";
    else if (c.isa == Isa::Avx2 && c.op.format == Format::F16 && c.op.kind != OpKind::Copy && !caps.f16c)
        missing = "F16C";
    else if ((c.flags & variant::vnni) && !caps.avx512vnni)
        missing = "AVX-512 VNNI";
    else if ((c.flags & variant::gfni) && !caps.gfni)
        missing = "GFNI";
    if (missing)
        return Error::make(ErrorCode::JitUnsupported, "%s: needs %s, which this CPU lacks", name, missing);
    return {};
}

}
