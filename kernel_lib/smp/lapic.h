// The boot processor's local APIC, as far as starting the other cores needs it: enable it,
// read its ID, send INIT and STARTUP IPIs. xAPIC (MMIO) by default; x2APIC (MSRs) when the
// firmware left it enabled. No interrupts are taken: BareFlow's cores poll.
//
// Delays use the TSC (kl::time::tsc_hz), never the PIT: port I/O is slow under PVM and the
// PIT belongs to the boot processor.
#pragma once

#include "kernel_lib/base/error.h"

namespace kl::smp::lapic {

// Picks the mode, checks that the APIC is there and enabled (enabling it in the
// IA32_APIC_BASE MSR and the spurious-vector register when needed). `madt_address` is the
// address the MADT gives; the MSR's base wins when they differ (`note` says so).
ErrorOr<void> init(u64 madt_address, char* note, usize note_size);

bool x2apic_mode();
u64 mmio_base();
// The calling core's APIC ID.
u32 id();

// IPIs to one core. Errors when an xAPIC never reports the previous IPI delivered.
ErrorOr<void> send_init(u32 apic_id);
ErrorOr<void> send_startup(u32 apic_id, u8 vector);
// A fixed interrupt with `vector` (the idle workers' wake-up).
ErrorOr<void> send_fixed(u32 apic_id, u8 vector);

// On an application processor: its local APIC in the boot core's mode (x2APIC when the
// boot core uses it) and software-enabled, so that it accepts the wake-up interrupt.
void enable_this_core();

// Busy-waits on the TSC.
void delay_us(u64 microseconds);

}
