// Executable memory for generated code, under a strict W^X discipline.
//
// The life of a block: exec_allocate() hands out memory that is readable and
// writable but NOT executable; the JIT copies one kernel's bytes into it; exec_seal() turns
// it read+execute (never writable again); exec_free() gives it back once no core can still
// be running it. A block is never writable and executable at the same time.
//
// Two implementations, one per platform:
//   exec_memory.host.cpp    Linux: mmap / mprotect / munmap, page granular.
//   exec_memory.kernel.cpp  BareFlow kernel: kernel_lib's code arena (written by the lead).
// Contract both follow:
//   - exec_allocate(bytes): bytes > 0. Returns a block whose `size` is `bytes` rounded up to
//     the platform's protection granule (4 KiB pages on x86-64) and whose `base` is aligned
//     to that granule (so at least 64 bytes, which the generators rely on for their
//     constant pools). Failure: ErrorCode::JitArenaFull (no room) or OutOfMemory, with the
//     size asked for in the message. The contents are unspecified: the JIT writes the
//     whole block (code, constants, zero padding) before sealing it.
//   - exec_seal(block): RW -> RX, and whatever the platform needs so that instruction
//     fetch sees the new bytes (x86 keeps caches coherent; nothing else is required on a
//     single address space). Sealing twice is an error (ErrorCode::InvalidArgument).
//     Failure leaves the block allocated and RW; the caller frees it.
//   - exec_free(block): releases the whole block, sealed or not, and clears the struct.
//     Freeing an empty block is a no-op. The caller guarantees no core executes it.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/base/types.h"

namespace mjit {

struct ExecBlock {
    u8* base = nullptr;  // granule-aligned start
    usize size = 0;      // granule-rounded length
    bool sealed = false; // true once RX
};

kl::ErrorOr<ExecBlock> exec_allocate(usize bytes);
kl::ErrorOr<void> exec_seal(ExecBlock& block);
void exec_free(ExecBlock& block);

}
