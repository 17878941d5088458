// The loader's output: the firmware console (screen, and on machines like QEMU's OVMF also
// the serial port) and COM1, so that the `@error` / `@exit` lines reach a serial log as
// stage2's do. COM1 is written directly only when the firmware console does not already
// go there (its ConOut device path has no UART node), so every line appears once.
// After ExitBootServices only COM1 is left.
#pragma once

#include "kernel_lib/base/error.h"

namespace uefi::console {

void init();
// After ExitBootServices: from now on COM1 is the only output.
void boot_services_ended();
void write(const char* text);
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// "loading payloads: NN%" for large images, as stage2 shows it: on the firmware console at
// every percent, on a directly written COM1 every 10 %. `done == total` ends the line.
void progress(u64 done, u64 total);

// The failure report the kernel also prints: a human line, `@error {...}` and `@exit N`;
// then QEMU's exit device ends a virtual machine (harmless on hardware, as in stage2).
void report(const kl::Error& error);

// On hardware: leaves the message on screen until a key is pressed or `seconds` pass.
void wait_for_key(u32 seconds);

}
