// Whether the kernel runs natively under PVM (see pvm.asm), and what that changes:
// every paging entry needs the U bit, the PML4 must not have CR3 bit 12 set, IDT gates
// cannot use IST stacks, and the host states the TSC frequency.
#pragma once

#include "kernel_lib/base/types.h"

extern "C" u8 pvm_native;
extern "C" u64 pvm_tsc_khz();

namespace kl::x86 {

inline bool under_pvm() { return pvm_native != 0; }

}
