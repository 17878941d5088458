// PCI enumeration and BAR decoding (kernel_lib/net/pci.h) on a fake configuration space
// that behaves like hardware: absent functions read as all ones, BARs keep only the bits
// their size allows, status bits clear when written with ones.
#include <catch2/catch.hpp>

#include <map>
#include <tuple>
#include <vector>

#include "kernel_lib/net/pci.h"

namespace {

struct FakeFunction {
    u32 regs[64] = {};
    u64 bar_size[6] = {};      // 0: no BAR; for a 64-bit BAR, on its low index
    u32 bar_flags[6] = {};     // low bits: 1 = I/O, 4 = 64-bit memory
};

class FakeConfig final : public kl::pci::ConfigSpace {
public:
    const char* name() const override { return "fake"; }
    u32 read32(kl::pci::Address a, u16 offset) override
    {
        auto it = functions.find(key(a));
        ++reads;
        return it == functions.end() ? ~0u : it->second.regs[offset / 4];
    }
    void write32(kl::pci::Address a, u16 offset, u32 value) override
    {
        auto it = functions.find(key(a));
        if (it == functions.end())
            return;
        FakeFunction& f = it->second;
        if (offset == kl::pci::reg_command) {
            // Status is write-1-to-clear: a write that carries ones clears the bits.
            const u32 status = (f.regs[1] >> 16) & ~(value >> 16);
            f.regs[1] = status << 16 | (value & 0xFFFF);
            return;
        }
        if (offset >= kl::pci::reg_bar0 && offset < kl::pci::reg_bar0 + 24) {
            const u32 index = (offset - kl::pci::reg_bar0) / 4;
            const bool high_half = index > 0 && (f.bar_flags[index - 1] & 4);
            const u64 size = high_half ? f.bar_size[index - 1] : f.bar_size[index];
            if (high_half)
                value &= static_cast<u32>(~(size - 1) >> 32);
            else if (size)
                value = (value & static_cast<u32>(~(size - 1))) | f.bar_flags[index];
            else
                value = 0;
        }
        f.regs[offset / 4] = value;
    }

    FakeFunction& add(u8 bus, u8 device, u8 function, u16 vendor, u16 id, u8 klass, bool multi = false)
    {
        FakeFunction& f = functions[{ bus, device, function }];
        f.regs[0] = static_cast<u32>(id) << 16 | vendor;
        f.regs[2] = static_cast<u32>(klass) << 24;
        f.regs[3] = multi ? 0x800000u : 0;
        return f;
    }
    void bar(FakeFunction& f, u32 index, u64 address, u64 size, u32 flags)
    {
        f.bar_size[index] = size;
        f.bar_flags[index] = flags;
        f.regs[4 + index] = static_cast<u32>(address) | flags;
        if (flags & 4)
            f.regs[5 + index] = static_cast<u32>(address >> 32);
    }

    std::map<std::tuple<u8, u8, u8>, FakeFunction> functions;
    u32 reads = 0;

private:
    static std::tuple<u8, u8, u8> key(kl::pci::Address a) { return { a.bus, a.device, a.function }; }
};

std::vector<kl::pci::Device> list(FakeConfig& config, u8 last_bus = 255)
{
    std::vector<kl::pci::Device> found;
    kl::pci::enumerate(config, [](void* c, const kl::pci::Device& d) {
        static_cast<std::vector<kl::pci::Device>*>(c)->push_back(d);
    }, &found, last_bus);
    return found;
}

}

TEST_CASE("PCI: enumeration finds functions, multi-function devices and other buses", "[pci]")
{
    FakeConfig config;
    config.add(0, 0, 0, 0x8086, 0x1237, 0x06);                // host bridge
    config.add(0, 1, 0, 0x8086, 0x7000, 0x06, true);          // ISA bridge, multi-function
    config.add(0, 1, 1, 0x8086, 0x7010, 0x01);                // IDE
    config.add(0, 1, 3, 0x8086, 0x7113, 0x06);                // ACPI (function 2 absent)
    config.add(0, 3, 0, 0x1AF4, 0x1000, 0x02);                // virtio-net
    config.add(0, 4, 0, 0x8086, 0x100E, 0x02);                // e1000
    config.add(0, 4, 5, 0x8086, 0xFFFF, 0x02);                // not multi-function: never looked at
    config.add(2, 0, 0, 0x8086, 0x10D3, 0x02);                // e1000e behind a bridge
    auto found = list(config);
    REQUIRE(found.size() == 7);
    CHECK(found[2].address.function == 1);
    CHECK(found[3].address.function == 3);
    CHECK(found[4].vendor == 0x1AF4);
    CHECK(found[4].device_id == 0x1000);
    CHECK(found[4].class_code == 0x02);
    CHECK(found[6].address.bus == 2);
    CHECK(found[6].device_id == 0x10D3);
    CHECK(list(config, 0).size() == 6);
}

TEST_CASE("PCI: BARs of every kind are decoded and left as they were", "[pci]")
{
    FakeConfig config;
    FakeFunction& f = config.add(0, 3, 0, 0x1AF4, 0x1000, 0x02);
    f.regs[1] = 0x0010'0007;  // status: capabilities list; command: I/O, memory, bus master
    config.bar(f, 0, 0xC040, 0x20, 1);                         // I/O
    config.bar(f, 1, 0xFEBD1000, 0x1000, 0);                   // 32-bit memory
    config.bar(f, 4, 0x1'0000'0000ull + 0x4000, 0x4000, 4);    // 64-bit memory above 4 GiB
    const kl::pci::Address a { 0, 0, 3, 0 };
    auto io = kl::pci::read_bar(config, a, 0);
    CHECK(io.kind == kl::pci::Bar::Kind::Io);
    CHECK(io.address == 0xC040);
    CHECK(io.size == 0x20);
    auto mem = kl::pci::read_bar(config, a, 1);
    CHECK(mem.kind == kl::pci::Bar::Kind::Memory32);
    CHECK(mem.address == 0xFEBD1000);
    CHECK(mem.size == 0x1000);
    auto wide = kl::pci::read_bar(config, a, 4);
    CHECK(wide.kind == kl::pci::Bar::Kind::Memory64);
    CHECK(wide.address == 0x1'0000'4000ull);
    CHECK(wide.size == 0x4000);
    CHECK(kl::pci::read_bar(config, a, 2).kind == kl::pci::Bar::Kind::None);
    CHECK(kl::pci::read_bar(config, a, 6).kind == kl::pci::Bar::Kind::None);
    // Every BAR and the command register hold their values again; status bits were kept.
    CHECK(f.regs[4] == (0xC040u | 1));
    CHECK(f.regs[5] == 0xFEBD1000u);
    CHECK(f.regs[8] == (0x4000u | 4));
    CHECK(f.regs[9] == 1u);
    CHECK(f.regs[1] == 0x0010'0007u);
}

TEST_CASE("PCI: enable sets bus mastering and decoding, masks legacy interrupts", "[pci]")
{
    FakeConfig config;
    FakeFunction& f = config.add(0, 4, 0, 0x8086, 0x100E, 0x02);
    f.regs[1] = 0x0290'0000;  // status bits set, command clear
    kl::pci::enable(config, { 0, 0, 4, 0 }, false, true);
    CHECK((f.regs[1] & 0xFFFF) == (kl::pci::command_memory | kl::pci::command_bus_master |
                                      kl::pci::command_interrupts_off));
    CHECK(f.regs[1] >> 16 == 0x0290);
}
