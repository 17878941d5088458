// The kernel's own page tables: an identity map with real protections.
//
// stage2's tables map everything writable and executable. These replace them (CR0.WP on,
// EFER.NXE where the CPU has NX):
//   page 0                  not present (null pointer dereferences fault)
//   kernel .text            read + execute
//   kernel .rodata          read only
//   kernel .data/.bss       read + write, no execute
//   the boot stack's floor  one guard page, not present (an overflow becomes #DF on its
//                           own stack and a report, not silent corruption)
//   payloads (model, ...)   read only, no execute (a stray write to weights faults)
//   all other RAM and MMIO  read + write, no execute
// Most of memory uses 2 MiB pages; a 2 MiB page is split into 4 KiB pages where finer
// protection is needed (the kernel, the guard page, the JIT code arena).
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/mem/frame_allocator.h"

namespace kl::mem {

enum class Protection : u8 {
    None,        // not present
    Read,        // read only, no execute
    ReadWrite,   // read + write, no execute
    ReadExecute, // read + execute
};

// Builds the tables (frames from `frames`), switches CR3 to them.
ErrorOr<void> init_paging(const boot::BootInfo& info, FrameAllocator& frames);

// Sets the protection of [address, address + size) (4 KiB aligned), splitting large pages
// as needed, and flushes the TLB entries. Needs init_paging first.
ErrorOr<void> protect(u64 address, u64 size, Protection protection);

// The identity-mapped range [0, mapped_end()).
u64 mapped_end();

}
