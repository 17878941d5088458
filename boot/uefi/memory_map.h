// The firmware's memory map, read as the kernel needs it: UEFI memory descriptors turned
// into the E820-style region list stage2 hands over, and the question whether a fixed
// physical range (where the kernel and its helpers must sit) is free once boot services end.
//
// Shared code: the loader runs it on the map GetMemoryMap returned, the host tests on
// hand-made maps (tests/host/boot/uefi_memory_map_test.cpp).
#pragma once

#include "boot/uefi/efi.h"
#include "kernel_lib/base/error.h"
#include "kernel_lib/boot/bootinfo.h"

namespace uefi {

// GetMemoryMap's result: `map_size` bytes of descriptors, `descriptor_size` bytes apart.
struct MemoryMapView {
    const u8* bytes;
    u64 map_size;
    u64 descriptor_size;

    u64 count() const { return descriptor_size ? map_size / descriptor_size : 0; }
    const efi::MemoryDescriptor& at(u64 i) const
    {
        return *reinterpret_cast<const efi::MemoryDescriptor*>(bytes + i * descriptor_size);
    }
};

// E820 types: 1 usable, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS, 5 unusable, 7 persistent.
constexpr u32 e820_usable = 1, e820_reserved = 2, e820_acpi = 3, e820_nvs = 4, e820_unusable = 5, e820_persistent = 7;

// The E820 type of a UEFI memory type as the kernel sees memory after ExitBootServices:
// loader and boot-services memory and free memory are usable; runtime services, MMIO and
// types unknown to this loader are reserved.
u32 e820_type(u32 efi_type);

// Fills `out` (at most `capacity` entries) with the map's ranges sorted by address,
// adjacent ranges of the same E820 type merged, empty descriptors dropped. Errors
// (boot.memory_map): descriptors smaller than the specification's, a range past 2^64, more
// separate ranges than `capacity`.
kl::ErrorOr<u32> convert_memory_map(const MemoryMapView& map, kl::boot::MemoryRegion* out, u32 capacity);

// Whether [start, end) holds only memory that is free once boot services have ended
// (conventional or boot-services memory). Used when the firmware refuses to allocate a
// fixed range: a boot-services allocation there is fine to overwrite after ExitBootServices,
// anything else is not. The error (boot.memory) names `what`, the range and the first
// descriptor in the way.
kl::ErrorOr<void> check_free_after_exit(const MemoryMapView& map, u64 start, u64 end, const char* what);

// The name of a UEFI memory type ("EfiBootServicesData"), for messages.
const char* memory_type_name(u32 efi_type);

}
