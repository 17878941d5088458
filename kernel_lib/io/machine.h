// Leaving the machine: QEMU's exit device for tests and benchmarks, a halt on hardware.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::machine {

// Prints `@exit N`, writes N to the isa-debug-exit device (port 0xF4: QEMU exits with
// (N << 1) | 1; nothing listens there on real hardware) and, still running, halts with a
// message saying the machine can be switched off.
[[noreturn]] void exit(int status);

// Stops this CPU for good (interrupts off).
[[noreturn]] void halt_forever();

// Resets the machine through the keyboard controller (then a triple fault as fallback).
[[noreturn]] void reboot();

}
