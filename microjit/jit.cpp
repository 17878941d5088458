// Config -> generator -> executable memory (see jit.h).
#include "microjit/jit.h"

#include <stdio.h>
#include <string.h>

#include "kernel_lib/io/print.h"
#include "kernel_lib/time/tsc.h"
#include "microjit/gen_blocks.h"
#include "microjit/gen_copy.h"
#include "microjit/gen_f32.h"
#include "microjit/gen_q8.h"
#include "microjit/gen_quantize.h"

namespace mjit {

namespace {

DumpHook g_dump_hook = nullptr;
void* g_dump_context = nullptr;

// The generator families: which class emits a config's code (none: the reference only).
enum class Family : u8 { None, F32, Q8, Blocks, Quantize, Copy };

Family family(const KernelConfig& c)
{
    switch (c.op.kind) {
    case OpKind::Copy: return Family::Copy;
    case OpKind::Quantize:
        return QuantizeGenerator::serves(c.op.format) ? Family::Quantize : Family::None;
    case OpKind::Matvec:
    case OpKind::Matmul:
        if (c.op.format == Format::F32 || is_halves(c.op.format))
            return Family::F32;
        if (BlockMatmulGenerator::serves(c.op.format))
            return Family::Blocks;
        return is_q8g(c.op) ? Family::Q8 : Family::None;
    }
    return Family::None;
}

// The generator of a config's family, constructed in place (no heap, no virtual factory).
class AnyGenerator {
public:
    explicit AnyGenerator(const KernelConfig& c)
    {
        switch (family(c)) {
        case Family::F32: m_emitter = new (m_storage) F32MatmulGenerator(c); break;
        case Family::Q8: m_emitter = new (m_storage) Q8MatmulGenerator(c); break;
        case Family::Blocks: m_emitter = new (m_storage) BlockMatmulGenerator(c); break;
        case Family::Quantize: m_emitter = new (m_storage) QuantizeGenerator(c); break;
        case Family::Copy: m_emitter = new (m_storage) CopyGenerator(c); break;
        case Family::None: break;
        }
    }
    ~AnyGenerator()
    {
        if (m_emitter)
            m_emitter->~Emitter();
    }
    Emitter* operator->() { return m_emitter; }
    explicit operator bool() const { return m_emitter != nullptr; }

private:
    static constexpr usize storage_size = kl::max(kl::max(kl::max(sizeof(F32MatmulGenerator), sizeof(Q8MatmulGenerator)),
        kl::max(sizeof(QuantizeGenerator), sizeof(CopyGenerator))), sizeof(BlockMatmulGenerator));
    alignas(16) u8 m_storage[storage_size];
    Emitter* m_emitter = nullptr;
};

}

kl::ErrorOr<void> validate(const KernelConfig& c)
{
    TRY(check_config(c));
    switch (family(c)) {
    case Family::F32: return F32MatmulGenerator::check(c);
    case Family::Q8: return Q8MatmulGenerator::check(c);
    case Family::Blocks: return BlockMatmulGenerator::check(c);
    case Family::Quantize: return QuantizeGenerator::check(c);
    case Family::Copy: return CopyGenerator::check(c);
    case Family::None: break;
    }
    char name[96];
    format_config_name(name, sizeof(name), c);
    return kl::Error::make(kl::ErrorCode::JitUnsupported, "%s: no generator for this operation (the reference kernel serves it)", name);
}

kl::ErrorOr<usize> emit_bytes(const KernelConfig& c, u8* buffer, usize capacity)
{
    TRY(validate(c));
    AnyGenerator gen(c);
    TRY(gen->assemble());
    const usize size = gen->code_size();
    TRY(gen->copy_to(buffer, capacity));
    return size;
}

kl::ErrorOr<GeneratedKernel> generate(const KernelConfig& c)
{
    const u64 start = kl::time::rdtsc();
    TRY(validate(c));
    TRY(check_runnable(c, host_caps()));

    AnyGenerator gen(c);
    TRY(gen->assemble());
    GeneratedKernel k;
    k.config = c;
    k.code_size = gen->code_size();
    format_config_name(k.name, sizeof(k.name), c);
    k.memory = TRY(exec_allocate(k.code_size));
    auto copied = gen->copy_to(k.memory.base, k.memory.size);
    if (copied.is_error()) {
        exec_free(k.memory);
        return copied.release_error();
    }
    auto sealed = exec_seal(k.memory);
    if (sealed.is_error()) {
        exec_free(k.memory);
        return sealed.release_error();
    }
    k.generation_cycles = kl::time::rdtsc() - start;
    if (g_dump_hook)
        g_dump_hook(g_dump_context, k.name, k.code(), k.code_size);
    return k;
}

void release(GeneratedKernel& k)
{
    exec_free(k.memory);
    k.code_size = 0;
}

void set_dump_hook(DumpHook hook, void* context)
{
    g_dump_hook = hook;
    g_dump_context = context;
}

void dump_hex(const char* name, const u8* code, usize size)
{
    kl::print("@jit-dump %s %zu\n", name, size);
    char line[2 * 32 + 2];
    for (usize i = 0; i < size; i += 32) {
        usize used = 0;
        for (usize j = i; j < size && j < i + 32; ++j)
            used += snprintf(line + used, sizeof(line) - used, "%02x", code[j]);
        line[used] = 0;
        kl::print("%s\n", line);
    }
    kl::print("@jit-dump-end\n");
}

}
