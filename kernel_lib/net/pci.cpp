// PCI enumeration and BAR decoding (see pci.h).
#include "kernel_lib/net/pci.h"

namespace kl::pci {

namespace {

constexpr u32 bar_io = 1;
constexpr u32 bar_type_mask = 0x6;
constexpr u32 bar_type_64 = 0x4;

bool present(ConfigSpace& config, Address a) { return (config.read32(a, reg_vendor) & 0xFFFF) != 0xFFFF; }

Device describe(ConfigSpace& config, Address a)
{
    const u32 id = config.read32(a, reg_vendor);
    const u32 klass = config.read32(a, reg_class);
    const u8 header = static_cast<u8>(config.read32(a, reg_header) >> 16);
    return { a, static_cast<u16>(id), static_cast<u16>(id >> 16), static_cast<u8>(klass >> 24),
        static_cast<u8>(klass >> 16), static_cast<u8>(header & 0x7F) };
}

}

u32 enumerate(ConfigSpace& config, void (*visit)(void* context, const Device& device), void* context, u8 last_bus)
{
    u32 found = 0;
    for (u32 bus = 0; bus <= last_bus; ++bus) {
        for (u8 device = 0; device < 32; ++device) {
            const Address first { 0, static_cast<u8>(bus), device, 0 };
            if (!present(config, first))
                continue;
            const bool multi = (config.read32(first, reg_header) >> 16) & 0x80;
            for (u8 function = 0; function < (multi ? 8 : 1); ++function) {
                const Address a { 0, static_cast<u8>(bus), device, function };
                if (function > 0 && !present(config, a))
                    continue;
                ++found;
                visit(context, describe(config, a));
            }
        }
    }
    return found;
}

Bar read_bar(ConfigSpace& config, Address a, u32 index)
{
    Bar bar;
    if (index > 5)
        return bar;
    const u16 offset = static_cast<u16>(reg_bar0 + 4 * index);
    const u32 low = config.read32(a, offset);
    const bool io = low & bar_io;
    const bool wide = !io && (low & bar_type_mask) == bar_type_64 && index < 5;
    const u32 high = wide ? config.read32(a, offset + 4) : 0;

    // Sizing: decoding off while the BAR holds all ones, so the device answers nowhere.
    const u32 command = config.read32(a, reg_command) & 0xFFFF;  // not the status bits (write 1 to clear)
    config.write32(a, reg_command, command & ~static_cast<u32>(command_io | command_memory));
    config.write32(a, offset, ~0u);
    const u32 low_mask = config.read32(a, offset);
    config.write32(a, offset, low);
    u32 high_mask = ~0u;
    if (wide) {
        config.write32(a, offset + 4, ~0u);
        high_mask = config.read32(a, offset + 4);
        config.write32(a, offset + 4, high);
    }
    config.write32(a, reg_command, command);

    if (io) {
        const u32 mask = low_mask & ~3u & 0xFFFF;
        if (mask == 0)
            return bar;
        bar.kind = Bar::Kind::Io;
        bar.address = low & ~3u;
        bar.size = (~mask & 0xFFFF) + 1;
        return bar;
    }
    const u64 mask = (static_cast<u64>(high_mask) << 32 | (low_mask & ~0xFu)) & (wide ? ~0ull : 0xFFFFFFFFull);
    if (mask == 0)
        return bar;
    bar.kind = wide ? Bar::Kind::Memory64 : Bar::Kind::Memory32;
    bar.address = (static_cast<u64>(high) << 32) | (low & ~0xFu);
    bar.size = wide ? ~mask + 1 : (~mask & 0xFFFFFFFFull) + 1;
    return bar;
}

void enable(ConfigSpace& config, Address a, bool io, bool memory)
{
    u32 command = config.read32(a, reg_command) & 0xFFFF;  // status bits are write-1-to-clear: leave them
    command |= command_bus_master | command_interrupts_off;
    if (io)
        command |= command_io;
    if (memory)
        command |= command_memory;
    config.write32(a, reg_command, command);
}

}
