// The firmware's ACPI tables as the kernel reaches them (see acpi.h): through the identity
// map, with the EBDA's address read from the BIOS data area.
#include "kernel_lib/smp/acpi.h"

#include "kernel_lib/mem/paging.h"

namespace kl::acpi {

namespace {

constexpr u64 bda_ebda_segment = 0x40E;

const u8* identity_view(void*, u64 address, u64 length)
{
    u64 end;
    if (address < mem::page_size || !checked_add(address, length, end) || end > mem::mapped_end())
        return nullptr;
    return reinterpret_cast<const u8*>(address);
}

}

PhysicalMemory identity_memory() { return { identity_view, nullptr }; }

// The BIOS data area lies in page 0, which is unmapped so that null pointers fault: it is
// mapped read-only for the one read.
u64 bios_ebda_address()
{
    if (mem::protect(0, mem::page_size, mem::Protection::Read).is_error())
        return 0;
    u16 segment = *reinterpret_cast<volatile const u16*>(bda_ebda_segment);
    (void)mem::protect(0, mem::page_size, mem::Protection::None);
    return static_cast<u64>(segment) << 4;
}

}
