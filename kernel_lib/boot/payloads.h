// The payloads stage2 loaded (kernel, settings, tokenizer, model, ...): lookup by name and
// the CRC-32C check against the payload directory.
#pragma once

#include "kernel_lib/base/error.h"
#include "kernel_lib/boot/bootinfo.h"

namespace kl::boot {

struct PayloadView {
    const char* name;
    const u8* data;
    u64 size;
    u32 expected_crc;
};

// Checks magic, version and counts of a BootInfo handed over by stage2 or the UEFI loader.
ErrorOr<void> validate_bootinfo(const BootInfo& info);

// Where the memory map came from: "UEFI" (GetMemoryMap), "E820" or "E801" (stage2).
const char* memory_map_source(const BootInfo& info);

// The payload called `name`, or a PayloadMissing error listing what the image holds.
ErrorOr<PayloadView> find_payload(const BootInfo& info, const char* name);

// Whether the image holds a payload of that name.
bool has_payload(const BootInfo& info, const char* name);

// CRC-32C of the payload against the directory's; PayloadChecksum names both on mismatch.
ErrorOr<void> verify_payload(const PayloadView& payload);

}
