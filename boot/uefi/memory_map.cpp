// UEFI memory map conversion and range checks (see memory_map.h).
//
// The firmware's descriptors are untrusted in the small ways firmware gets them wrong:
// unsorted, adjacent pieces of one kind of memory, lengths that run past 2^64. The output is
// what stage2 builds from E820: sorted, merged, at most BootInfo's 128 regions.
#include "boot/uefi/memory_map.h"

#include <string.h>

namespace uefi {

using namespace kl;

namespace {

unsigned long long ull(u64 v) { return static_cast<unsigned long long>(v); }

// [start, end) of a descriptor, false for an empty one or one that runs past 2^64.
bool descriptor_range(const efi::MemoryDescriptor& d, u64& start, u64& end)
{
    u64 length;
    start = d.physical_start;
    return d.number_of_pages != 0 && checked_mul(d.number_of_pages, efi::page_size, length) &&
        checked_add(start, length, end);
}

bool free_after_exit(u32 type)
{
    return type == efi::ConventionalMemory || type == efi::BootServicesCode || type == efi::BootServicesData;
}

// Inserts `r` into the sorted `out[0..count)`, merging it with a neighbour it touches when
// both have the same type. Returns the new count, or capacity + 1 when there is no room.
u32 insert_region(boot::MemoryRegion* out, u32 count, u32 capacity, boot::MemoryRegion r)
{
    u32 at = 0;
    while (at < count && out[at].base < r.base)
        ++at;
    if (at > 0 && out[at - 1].type == r.type && out[at - 1].base + out[at - 1].length == r.base) {
        out[at - 1].length += r.length;
        // The grown region may now touch the next one.
        if (at < count && out[at].type == r.type && out[at - 1].base + out[at - 1].length == out[at].base) {
            out[at - 1].length += out[at].length;
            memmove(&out[at], &out[at + 1], (count - at - 1) * sizeof(boot::MemoryRegion));
            --count;
        }
        return count;
    }
    if (at < count && out[at].type == r.type && r.base + r.length == out[at].base) {
        out[at].base = r.base;
        out[at].length += r.length;
        return count;
    }
    if (count == capacity)
        return capacity + 1;
    memmove(&out[at + 1], &out[at], (count - at) * sizeof(boot::MemoryRegion));
    out[at] = r;
    return count + 1;
}

}

u32 e820_type(u32 efi_type)
{
    switch (efi_type) {
    case efi::LoaderCode:
    case efi::LoaderData:
    case efi::BootServicesCode:
    case efi::BootServicesData:
    case efi::ConventionalMemory: return e820_usable;
    case efi::AcpiReclaimMemory: return e820_acpi;
    case efi::AcpiMemoryNvs: return e820_nvs;
    case efi::UnusableMemory: return e820_unusable;
    case efi::PersistentMemory: return e820_persistent;
    default: return e820_reserved;  // runtime services, MMIO, PAL code, unaccepted, unknown
    }
}

const char* memory_type_name(u32 efi_type)
{
    static const char* const names[] = { "EfiReservedMemoryType", "EfiLoaderCode", "EfiLoaderData",
        "EfiBootServicesCode", "EfiBootServicesData", "EfiRuntimeServicesCode", "EfiRuntimeServicesData",
        "EfiConventionalMemory", "EfiUnusableMemory", "EfiACPIReclaimMemory", "EfiACPIMemoryNVS",
        "EfiMemoryMappedIO", "EfiMemoryMappedIOPortSpace", "EfiPalCode", "EfiPersistentMemory",
        "EfiUnacceptedMemoryType" };
    return efi_type < sizeof(names) / sizeof(names[0]) ? names[efi_type] : "an unknown memory type";
}

ErrorOr<u32> convert_memory_map(const MemoryMapView& map, boot::MemoryRegion* out, u32 capacity)
{
    if (map.descriptor_size < sizeof(efi::MemoryDescriptor))
        return Error::make(ErrorCode::BootMemoryMap,
            "the firmware's memory descriptors are %llu bytes, fewer than the %zu the UEFI specification defines",
            ull(map.descriptor_size), sizeof(efi::MemoryDescriptor));
    u32 count = 0;
    for (u64 i = 0; i < map.count(); ++i) {
        const efi::MemoryDescriptor& d = map.at(i);
        if (d.number_of_pages == 0)
            continue;
        u64 start, end;
        if (!descriptor_range(d, start, end))
            return Error::make(ErrorCode::BootMemoryMap,
                "the firmware's memory map entry %llu (%s at %#llx, %llu pages) runs past the end of the address space",
                ull(i), memory_type_name(d.type), ull(d.physical_start), ull(d.number_of_pages));
        count = insert_region(out, count, capacity, { start, end - start, e820_type(d.type), 1 });
        if (count > capacity)
            return Error::make(ErrorCode::BootMemoryMap,
                "the firmware's memory map has more than %u separate ranges (%llu descriptors); BootInfo holds %u",
                capacity, ull(map.count()), capacity);
    }
    if (count == 0)
        return Error::make(ErrorCode::BootMemoryMap, "the firmware's memory map is empty");
    return count;
}

ErrorOr<void> check_free_after_exit(const MemoryMapView& map, u64 start, u64 end, const char* what)
{
    // Nothing the firmware keeps may overlap the range (firmware maps can overlap)...
    u64 d_start, d_end;
    for (u64 i = 0; i < map.count(); ++i) {
        const efi::MemoryDescriptor& d = map.at(i);
        if (descriptor_range(d, d_start, d_end) && d_start < end && start < d_end && !free_after_exit(d.type))
            return Error::make(ErrorCode::BootMemory, "%s needs %#llx..%#llx, but the firmware keeps %s at %#llx..%#llx",
                what, ull(start), ull(end), memory_type_name(d.type), ull(d_start), ull(d_end));
    }
    // ... and free descriptors must cover it: each step needs one containing `at`.
    for (u64 at = start; at < end;) {
        u64 next = at;
        for (u64 i = 0; i < map.count() && next == at; ++i) {
            if (descriptor_range(map.at(i), d_start, d_end) && at >= d_start && at < d_end)
                next = d_end;
        }
        if (next == at)
            return Error::make(ErrorCode::BootMemory,
                "%s needs %#llx..%#llx, but the firmware's memory map has no memory at %#llx", what, ull(start), ull(end),
                ull(at));
        at = next;
    }
    return {};
}

}
