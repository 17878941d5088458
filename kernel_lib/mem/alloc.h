// Checked allocation for large buffers (weights never; run state, KV cache, JIT scratch).
//
// Unlike malloc, a failure is an Error naming what was being allocated, the size asked for
// and what is available, so "model too big for this machine" reads as such.
// Kernel: the kernel heap (kernel_lib/mem/heap.h). Host: aligned_alloc.
#pragma once

#include "kernel_lib/base/error.h"

namespace kl::mem {

// `alignment` must be a power of two; memory is not zeroed.
ErrorOr<void*> allocate(usize size, usize alignment, const char* what);
void release(void* pointer);

// Bytes the allocator could still hand out (best effort on the host).
u64 available_bytes();

}
