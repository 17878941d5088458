// The legacy 8259 PICs and the 8254 PIT.
//
// BareFlow polls its devices, so the PICs are remapped to vectors 32-47 (away from the CPU
// exceptions) and every line is masked; spurious interrupts are acknowledged quietly. The
// PIT's channel 2 serves as a reference clock for TSC calibration.
#pragma once

#include "kernel_lib/base/types.h"

namespace kl::arch {

constexpr u8 pic_vector_base = 32;

void init_pic();
// End of interrupt for a PIC line (0-15).
void pic_eoi(u8 irq);
// Whether an IRQ 7/15 is spurious (the PIC reports no line in service).
bool pic_is_spurious(u8 irq);

// Busy-waits `microseconds` (at most 54 ms) on PIT channel 2 while sampling the TSC; returns
// the TSC cycles that elapsed, or 0 when the PIT does not count (absent or emulated badly).
u64 pit_measure_tsc(u32 microseconds);

}
