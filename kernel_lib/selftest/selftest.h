// MODE=selftest: the kernel's self-tests on the real machine path.
#pragma once

#include "kernel_lib/boot/bootinfo.h"

namespace kl::selftest {

// Runs every self-test, prints one line per test and `@stats {...}`; returns the exit
// status (0 when all passed). `deliberate_fault` (selftest_fault=on) then raises an
// unguarded #UD, which must end in the exception report.
int run(const kl::boot::BootInfo& info, bool deliberate_fault);

}
