// PCI: finding devices and reading what they need (BARs, command bits) through a
// ConfigSpace, the way configuration registers are reached.
//
// The kernel has two ConfigSpaces (pci.kernel.cpp): the legacy 0xCF8/0xCFC ports, and the
// memory-mapped ECAM windows the ACPI MCFG table lists (PCI Express machines, e.g. QEMU's
// q35); config_space() picks ECAM when there is one. Enumeration and BAR decoding are shared
// code, host-tested on a fake configuration space (tests/host/kernel_lib/pci_test.cpp).
#pragma once

#include "kernel_lib/base/error.h"

namespace kl::pci {

struct Address {
    u16 segment;
    u8 bus;
    u8 device;    // 0..31
    u8 function;  // 0..7
};

// Configuration registers of one function; offsets are byte offsets, 4-byte aligned for
// the 32-bit accessors. Reading a function that is not there gives all ones.
class ConfigSpace {
public:
    virtual const char* name() const = 0;  // "ports", "ECAM at 0xb0000000"
    virtual u32 read32(Address address, u16 offset) = 0;
    virtual void write32(Address address, u16 offset, u32 value) = 0;

    u16 read16(Address address, u16 offset) { return static_cast<u16>(read32(address, offset & ~3) >> ((offset & 2) * 8)); }
    u8 read8(Address address, u16 offset) { return static_cast<u8>(read32(address, offset & ~3) >> ((offset & 3) * 8)); }

protected:
    ~ConfigSpace() = default;
};

// Standard header registers.
constexpr u16 reg_vendor = 0x00;
constexpr u16 reg_command = 0x04;  // command (low 16 bits) and status (high 16 bits)
constexpr u16 reg_class = 0x08;    // revision, prog-if, subclass, class
constexpr u16 reg_header = 0x0C;   // header type in bits 16..23 (bit 23: multi-function)
constexpr u16 reg_bar0 = 0x10;
constexpr u16 command_io = 1 << 0;
constexpr u16 command_memory = 1 << 1;
constexpr u16 command_bus_master = 1 << 2;
constexpr u16 command_interrupts_off = 1 << 10;

struct Device {
    Address address;
    u16 vendor;
    u16 device_id;
    u8 class_code;
    u8 subclass;
    u8 header_type;  // without the multi-function bit
};

// Calls `visit` for every function present on segment 0, buses 0..last_bus (function 0 of
// each device, and functions 1..7 of multi-function devices); returns how many there were.
u32 enumerate(ConfigSpace& config, void (*visit)(void* context, const Device& device), void* context,
    u8 last_bus = 255);

struct Bar {
    enum class Kind : u8 { None, Io, Memory32, Memory64 } kind = Kind::None;
    u64 address = 0;
    u64 size = 0;
};

// Decodes BAR `index` (0..5) of a type-0 function, sizing it the standard way (write all
// ones, read the mask back, restore) with the function's decoding switched off meanwhile.
Bar read_bar(ConfigSpace& config, Address address, u32 index);

// Kernel only (pci.kernel.cpp): the machine's configuration space, chosen on first use.
ConfigSpace& config_space();

// Turns on I/O and/or memory decoding and bus mastering (for DMA), and off legacy
// interrupts (everything here is polled).
void enable(ConfigSpace& config, Address address, bool io, bool memory);

}
