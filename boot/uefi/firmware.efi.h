// The loader's access to the firmware: the image handle and system table (its only global
// state), and checked wrappers of the boot services it calls. Every failure becomes a
// kl::Error that names the call, what it was for and the firmware's status.
#pragma once

#include "boot/uefi/efi.h"
#include "boot/uefi/memory_map.h"
#include "kernel_lib/base/error.h"

namespace uefi::firmware {

void init(efi::Handle image, efi::SystemTable* system_table);
efi::Handle image();
efi::SystemTable* system_table();
efi::BootServices* boot_services();
// False once ExitBootServices has succeeded: nothing of the firmware may be called then.
bool boot_services_active();

// An error for a failed call: "the firmware's CALL (for WHAT) failed: EFI_...".
kl::Error call_failed(kl::ErrorCode code, const char* call, const char* what, efi::Status status);

// The protocol `guid` of `handle`.
kl::ErrorOr<void*> handle_protocol(efi::Handle handle, const efi::Guid& guid, const char* what);

// Pages of loader data. `type` AllocateAddress takes `address` as the exact place,
// AllocateMaxAddress as the highest allowed byte. Errors name `what` (boot.memory).
kl::ErrorOr<u64> allocate_pages(efi::AllocateType type, u64 pages, u64 address, const char* what);
void free_pages(u64 address, u64 pages);

// The memory map in a buffer of the firmware's pool, with room for the few descriptors that
// allocating the buffer itself adds. `key` is what ExitBootServices wants.
struct MemoryMap {
    MemoryMapView view;
    u64 key;
    u64 capacity;
};
kl::ErrorOr<MemoryMap> get_memory_map();
// Reads the map again into the same buffer (no allocation: the one step allowed between a
// failed ExitBootServices and the next try).
kl::ErrorOr<void> refresh_memory_map(MemoryMap& map);
void free_memory_map(MemoryMap& map);

// ExitBootServices with `map`'s key; when the map changed in between (EFI_INVALID_PARAMETER),
// reads it again and tries once more, as the specification asks.
kl::ErrorOr<void> exit_boot_services(MemoryMap& map);

}
