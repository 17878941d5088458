// Host-only dump hook: writes every generated kernel to DIR/NAME.bin, ready for
//     objdump -D -b binary -mi386:x86-64 DIR/NAME.bin
// (the kernel build prints dumps as hex instead, see mjit::dump_hex).
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/base/types.h"

namespace mjit {

kl::ErrorOr<void> dump_to_file(const char* directory, const char* name, const u8* code, usize size);

// Installs dump_to_file as the dump hook (jit.h) for `directory`, which must outlive it.
void dump_kernels_to(const char* directory);

}
