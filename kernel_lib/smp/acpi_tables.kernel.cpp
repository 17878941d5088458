// The kernel's way to the ACPI tables (see acpi_tables.h).
#include "kernel_lib/smp/acpi_tables.h"

#include "kernel_lib/mem/paging.h"

namespace kl::acpi {

namespace {

constexpr u64 bda_ebda_segment = 0x40E;

bool g_ready = false;
u64 g_firmware_rsdp = 0;
u64 g_ebda = 0;

const u8* identity_view(void*, u64 address, u64 length)
{
    u64 end;
    if (address < mem::page_size || !checked_add(address, length, end) || end > mem::mapped_end())
        return nullptr;
    return reinterpret_cast<const u8*>(address);
}

const PhysicalMemory g_memory { identity_view, nullptr };

// The EBDA's address from the BIOS data area, which lies in page 0 (unmapped, so that null
// pointers fault): mapped read-only for the one read. UEFI machines have no BIOS data area.
u64 read_ebda_address()
{
    if (mem::protect(0, mem::page_size, mem::Protection::Read).is_error())
        return 0;
    u16 segment = *reinterpret_cast<volatile const u16*>(bda_ebda_segment);
    (void)mem::protect(0, mem::page_size, mem::Protection::None);
    return static_cast<u64>(segment) << 4;
}

}

void init(const boot::BootInfo& info)
{
    g_firmware_rsdp = info.rsdp_address;
    g_ebda = (info.flags & boot::BootInfoFlagUefi) ? 0 : read_ebda_address();
    g_ready = true;
}

ErrorOr<u64> machine_rsdp()
{
    if (!g_ready)
        return Error::make(ErrorCode::InvalidArgument, "ACPI: not looked for yet");
    return locate_rsdp(g_memory, g_firmware_rsdp, g_ebda);
}

const PhysicalMemory& identity_memory() { return g_memory; }

}
