// The kernel's memory, brought up in one step: the physical map, the frame allocator, the
// kernel's page tables, the heap (behind malloc/new and kl::mem::allocate) and the JIT
// code arena.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/mem/frame_allocator.h"
#include "kernel_lib/mem/heap.h"

namespace kl::mem {

ErrorOr<void> init_memory(const boot::BootInfo& info);

FrameAllocator& frame_allocator();
Heap& kernel_heap();

// Prints the memory summary (usable, reserved, free; heap and arena sizes).
void print_memory_summary();

}
