// The kernel's PCI configuration access (see pci.h): ECAM windows from the ACPI MCFG when the
// machine has them, else the legacy configuration ports.
#include "kernel_lib/net/pci.h"

#include "kernel_lib/arch/x86_64/cpu.h"
#include "kernel_lib/io/print.h"
#include "kernel_lib/libc/format.h"
#include "kernel_lib/mem/paging.h"
#include "kernel_lib/smp/acpi_tables.h"

namespace kl::pci {

namespace {

constexpr u16 config_address_port = 0xCF8;
constexpr u16 config_data_port = 0xCFC;

// Configuration mechanism #1: an address written to 0xCF8 selects the dword at 0xCFC.
class PortConfigSpace final : public ConfigSpace {
public:
    const char* name() const override { return "the legacy ports 0xcf8/0xcfc"; }
    u32 read32(Address a, u16 offset) override
    {
        if (a.segment != 0 || offset > 0xFC)
            return ~0u;
        x86::outl(config_address_port, select(a, offset));
        return x86::inl(config_data_port);
    }
    void write32(Address a, u16 offset, u32 value) override
    {
        if (a.segment != 0 || offset > 0xFC)
            return;
        x86::outl(config_address_port, select(a, offset));
        x86::outl(config_data_port, value);
    }

private:
    static u32 select(Address a, u16 offset)
    {
        return 0x80000000u | static_cast<u32>(a.bus) << 16 | static_cast<u32>(a.device) << 11 |
            static_cast<u32>(a.function) << 8 | (offset & 0xFC);
    }
};

// PCI Express memory-mapped configuration: 4 KiB per function, 1 MiB per bus.
class EcamConfigSpace final : public ConfigSpace {
public:
    void use(const acpi::EcamWindow& window)
    {
        m_window = window;
        snprintf(m_name, sizeof(m_name), "ECAM at %#llx (MCFG, buses %u-%u)", static_cast<unsigned long long>(window.base),
            window.start_bus, window.end_bus);
    }
    const char* name() const override { return m_name; }
    u32 read32(Address a, u16 offset) override
    {
        volatile u32* p = at(a, offset);
        return p ? *p : ~0u;
    }
    void write32(Address a, u16 offset, u32 value) override
    {
        if (volatile u32* p = at(a, offset))
            *p = value;
    }

private:
    volatile u32* at(Address a, u16 offset) const
    {
        if (a.segment != m_window.segment || a.bus < m_window.start_bus || a.bus > m_window.end_bus || offset > 0xFFC)
            return nullptr;
        const u64 address = m_window.base + (static_cast<u64>(a.bus - m_window.start_bus) << 20) +
            (static_cast<u64>(a.device) << 15) + (static_cast<u64>(a.function) << 12) + (offset & 0xFFC);
        return reinterpret_cast<volatile u32*>(address);
    }

    acpi::EcamWindow m_window {};
    char m_name[64] = {};
};

PortConfigSpace g_ports;
EcamConfigSpace g_ecam;
ConfigSpace* g_chosen = nullptr;

}

ConfigSpace& config_space()
{
    if (g_chosen)
        return *g_chosen;
    g_chosen = &g_ports;
    auto rsdp = acpi::machine_rsdp();
    if (rsdp.is_error())
        return *g_chosen;
    auto mcfg = acpi::read_mcfg(acpi::identity_memory(), rsdp.value());
    if (mcfg.is_error())
        return *g_chosen;  // no MCFG: a PCI (not PCI Express) machine
    for (u32 i = 0; i < mcfg.value().count; ++i) {
        const acpi::EcamWindow& w = mcfg.value().windows[i];
        const u64 end = w.base + ((static_cast<u64>(w.end_bus) - w.start_bus + 1) << 20);
        if (w.segment != 0 || w.start_bus != 0)
            continue;
        if (end > mem::mapped_end()) {
            print("pci: the MCFG window at %#llx lies past the identity map; using the legacy ports\n",
                static_cast<unsigned long long>(w.base));
            continue;
        }
        g_ecam.use(w);
        g_chosen = &g_ecam;
        break;
    }
    return *g_chosen;
}

}
