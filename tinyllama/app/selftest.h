// MODE=selftest: the kernel's self-tests on the real machine path.
#pragma once

#include "kernel_lib/boot/bootinfo.h"
#include "tinyllama/app/boot_settings.h"

namespace tllama {

// Runs every self-test, prints one line per test and `@stats {...}`; returns the exit
// status (0 when all passed).
int run_selftest(const kl::boot::BootInfo& info, const BootSettings& settings);

}
