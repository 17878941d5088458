// Executable memory in the kernel: kernel_lib's W^X code arena (see exec_memory.h).
#include "microjit/exec_memory.h"

#include "kernel_lib/mem/code_arena.h"

namespace mjit {

kl::ErrorOr<ExecBlock> exec_allocate(usize bytes)
{
    if (bytes == 0)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "exec_allocate(0)");
    usize granted = 0;
    u8* base = TRY(kl::mem::code_arena_allocate(bytes, &granted));
    return ExecBlock { base, granted, false };
}

kl::ErrorOr<void> exec_seal(ExecBlock& block)
{
    if (block.sealed)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "exec_seal: block at %p is sealed already", block.base);
    TRY(kl::mem::code_arena_seal(block.base, block.size));
    block.sealed = true;
    return {};
}

void exec_free(ExecBlock& block)
{
    if (block.base)
        kl::mem::code_arena_free(block.base, block.size);
    block = {};
}

}
