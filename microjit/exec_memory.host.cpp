// Host executable memory (see exec_memory.h): anonymous mmap'd pages, RW then RX.
//
// Every block gets its own pages, so sealing one kernel never changes the protection of
// another, and a stray write into sealed code faults at once (SIGSEGV) instead of
// silently corrupting a kernel.
#include "microjit/exec_memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

namespace mjit {

namespace {

usize page_size()
{
    static usize cached = 0;
    if (cached == 0) {
        long size = sysconf(_SC_PAGESIZE);
        cached = size > 0 ? static_cast<usize>(size) : 4096;
    }
    return cached;
}

}

kl::ErrorOr<ExecBlock> exec_allocate(usize bytes)
{
    if (bytes == 0)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "exec_allocate: asked for 0 bytes of code memory");
    const usize size = kl::align_up(bytes, page_size());
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return kl::Error::make(kl::ErrorCode::OutOfMemory, "exec_allocate: mmap of %zu bytes for generated code failed: %s",
            size, strerror(errno));
    ExecBlock block;
    block.base = static_cast<u8*>(p);
    block.size = size;
    return block;
}

kl::ErrorOr<void> exec_seal(ExecBlock& block)
{
    if (!block.base)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "exec_seal: the block is empty (allocate it first)");
    if (block.sealed)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "exec_seal: the block at %p is already sealed", block.base);
    if (mprotect(block.base, block.size, PROT_READ | PROT_EXEC) != 0)
        return kl::Error::make(kl::ErrorCode::JitEmit, "exec_seal: mprotect(RX) of %zu bytes at %p failed: %s",
            block.size, block.base, strerror(errno));
    block.sealed = true;
    return {};
}

void exec_free(ExecBlock& block)
{
    if (block.base)
        munmap(block.base, block.size);
    block = ExecBlock {};
}

}
