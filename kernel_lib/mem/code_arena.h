// The JIT's executable memory: a fixed arena of 4 KiB pages, W^X.
//
// Pages are handed out read+write and not executable; sealing a block makes it read+execute
// and never writable again; freeing makes its pages writable (not executable) and free.
// First fit over a page bitmap: the JIT allocates a few hundred small blocks at most.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/mem/frame_allocator.h"

namespace kl::mem {

constexpr u64 code_arena_default_bytes = 8 * MiB;

ErrorOr<void> init_code_arena(FrameAllocator& frames, u64 bytes = code_arena_default_bytes);

// Zero-filled, page-aligned, RW + NX. JitArenaFull (naming the request and what is left)
// when no run of free pages is long enough.
ErrorOr<u8*> code_arena_allocate(usize bytes, usize* granted);
ErrorOr<void> code_arena_seal(u8* base, usize bytes);
void code_arena_free(u8* base, usize bytes);

u64 code_arena_bytes();
u64 code_arena_used_bytes();

}
