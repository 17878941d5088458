// SMP bring-up: find the processors (ACPI MADT), start every application processor, and
// leave each one polling for parallel_for jobs (kernel_lib/smp/parallel.h).
//
// init() never fails the boot: with no usable ACPI tables, no local APIC, or a core that
// does not answer, it says so on the console and carries on with the cores it has (at
// least the boot core). Each core that came up has had its TSC compared with the boot
// core's; the offsets are kept for the report.
#pragma once

#include "kernel_lib/boot/bootinfo.h"

namespace kl::smp {

// After kl::mem::init_memory (needs the frame allocator, the heap and the kernel's page
// tables) and after kl::cpu::refresh(); on the boot core, interrupts off.
void init(const boot::BootInfo& info);

// What init found, for reports.
struct CoreInfo {
    u32 apic_id;
    i64 tsc_offset;         // TSC minus the boot core's, cycles (0 for the boot core)
    u64 tsc_uncertainty;    // half-width of that measurement
    u64 start_us;           // INIT IPI to online
};
CoreInfo core_info(u32 index);          // index < cores_online()
u32 cores_listed();                     // enabled processors in the MADT (1 without one)
// The largest |TSC offset| of any core against the boot core, and its uncertainty.
u64 max_tsc_offset(u64* uncertainty = nullptr);

}
