// ACPI, as far as BareFlow needs it: find the RSDP (handed over by the UEFI loader, or
// searched for in the BIOS areas), walk the RSDT/XSDT to a table; read the local APIC address
// and the APIC ID of every enabled processor from the MADT ("APIC", for SMP); find the ACPI PM
// timer (FADT) and the HPET, the clocks the TSC is calibrated against when CPUID is silent;
// and the PCI Express configuration windows in the MCFG (for PCI, kernel_lib/net).
//
// Everything here is shared code and touches memory only through a PhysicalMemory view,
// so the host tests (tests/host/kernel_lib/smp_acpi_test.cpp) feed it hand-made tables,
// damaged ones included. Every structure is checked before it is trusted: signatures,
// checksums, lengths against what is readable, entry lengths against the table's end.
// A damaged table is an Error naming the table and the fault; the caller falls back to
// one core.
#pragma once

#include "kernel_lib/base/error.h"

namespace kl::acpi {

// Read access to physical memory: `view(ctx, address, length)` returns a pointer to the
// `length` bytes at `address`, or nullptr when any of them cannot be read.
struct PhysicalMemory {
    const u8* (*view)(void* ctx, u64 address, u64 length);
    void* ctx;

    const u8* at(u64 address, u64 length) const { return view(ctx, address, length); }
};

// The ACPI 1.0 RSDP is 20 bytes; revision 2+ adds a length, the XSDT address and an
// extended checksum over 36 bytes.
constexpr u64 rsdp_v1_bytes = 20;
constexpr u64 rsdp_v2_bytes = 36;
constexpr u64 sdt_header_bytes = 36;
constexpr u64 madt_entries_offset = 44;
constexpr u32 max_processors = 64;

// The BIOS areas searched for the RSDP: the first KiB of the EBDA, then the BIOS ROM.
constexpr u64 bios_area_begin = 0xE0000;
constexpr u64 bios_area_end = 0x100000;
constexpr u64 ebda_search_bytes = 1024;

// The physical address of a valid RSDP: signature "RSD PTR " on a 16-byte boundary, the
// 20-byte checksum, and for revision 2+ the extended checksum. `ebda_address` is the EBDA's
// start (0 to skip it). Candidates whose checksums fail are skipped, not fatal.
ErrorOr<u64> find_rsdp(const PhysicalMemory& memory, u64 ebda_address);

// The RSDP to use: the one the firmware handed over (`firmware_rsdp`, BootInfo.rsdp_address
// under UEFI; 0 for none) when it is valid, else find_rsdp()'s search.
ErrorOr<u64> locate_rsdp(const PhysicalMemory& memory, u64 firmware_rsdp, u64 ebda_address);

// The physical address and length of the table with `signature` ("APIC", "FACP", ...),
// found through the XSDT when the RSDP has one and it is valid, else through the RSDT.
// The table's own checksum and length are checked. `used_xsdt` (optional) says which.
struct TableLocation {
    u64 address;
    u32 length;
};
ErrorOr<TableLocation> find_table(const PhysicalMemory& memory, u64 rsdp_address, const char signature[4],
    bool* used_xsdt = nullptr);

// What the MADT says about the processors.
struct MadtInfo {
    u64 lapic_address = 0;       // after any type-5 override
    u32 flags = 0;               // bit 0: dual 8259 PICs present (PC-AT compatible)
    u32 processor_count = 0;     // enabled processors listed in apic_ids (first come first)
    u32 apic_ids[max_processors] = {};
    u32 disabled_count = 0;      // entries without the enabled flag (not started)
    u32 dropped_count = 0;       // enabled processors beyond max_processors
    u32 duplicate_count = 0;     // an APIC ID listed twice (type 0 and type 9): counted once
    u32 x2apic_entries = 0;      // type-9 entries among the enabled ones
};

// Parses a MADT already located and checksummed: `table` points at its header, `length`
// is the header's length field. Errors for entries that are too short or run past the end.
ErrorOr<MadtInfo> parse_madt(const u8* table, u32 length);

// The whole walk from a located RSDP: RSDT/XSDT -> MADT -> MadtInfo.
ErrorOr<MadtInfo> read_madt(const PhysicalMemory& memory, u64 rsdp_address);

// The ACPI power management timer: a 3.579545 MHz counter read from an I/O port, 24 bits
// wide unless the FADT's TMR_VAL_EXT flag says 32. Taken from X_PM_TMR_BLK when that is an
// I/O address, else PM_TMR_BLK. Errors for hardware-reduced ACPI and FADTs without one.
constexpr u64 pm_timer_hz = 3579545;
struct PmTimer {
    u16 port;
    bool wide;  // 32-bit counter
};
ErrorOr<PmTimer> read_pm_timer(const PhysicalMemory& memory, u64 rsdp_address);

// The HPET's register block (physical address, from the "HPET" table's base address).
ErrorOr<u64> read_hpet_address(const PhysicalMemory& memory, u64 rsdp_address);

// The MCFG's memory-mapped configuration (ECAM) windows: one per PCI segment group and bus
// range; each bus takes 1 MiB (32 devices x 8 functions x 4 KiB) from `base`.
constexpr u64 mcfg_entries_offset = 44;
constexpr u32 max_ecam_windows = 4;
struct EcamWindow {
    u64 base;
    u16 segment;
    u8 start_bus;
    u8 end_bus;
};
struct McfgInfo {
    u32 count = 0;   // windows kept (the first max_ecam_windows)
    EcamWindow windows[max_ecam_windows] = {};
};

// Parses an MCFG already located and checksummed. Entries must be whole, windows
// non-empty (start_bus <= end_bus) and their base 1 MiB aligned.
ErrorOr<McfgInfo> parse_mcfg(const u8* table, u32 length);

// The walk from a located RSDP to the MCFG (absent on machines without PCI Express, e.g.
// QEMU's "pc").
ErrorOr<McfgInfo> read_mcfg(const PhysicalMemory& memory, u64 rsdp_address);

// The 8-bit sum of `length` bytes (a valid ACPI structure sums to zero).
u8 checksum(const u8* bytes, u64 length);

}
