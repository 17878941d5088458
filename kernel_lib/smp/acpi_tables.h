// The machine's ACPI tables as the kernel reaches them: the RSDP (the one the UEFI loader
// handed over in BootInfo, else the BIOS areas' search) and identity-mapped memory to read
// the tables through. SMP start-up reads the MADT with these, TSC calibration the FADT's PM
// timer and the HPET.
#pragma once

#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/smp/acpi.h"

namespace kl::acpi {

// Remembers where to look. Call once memory is set up (it reads the EBDA pointer from the
// BIOS data area in page 0, which the kernel's page tables leave unmapped otherwise).
void init(const boot::BootInfo& info);

// The RSDP, or why there is none (before init(): none).
ErrorOr<u64> machine_rsdp();

// Reads of identity-mapped physical memory (below mem::mapped_end(), not page 0).
const PhysicalMemory& identity_memory();

}
