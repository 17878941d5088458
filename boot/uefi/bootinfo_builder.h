// The hand-over to the kernel, built from what the UEFI loader found: the same BootInfo that
// stage2 fills (kernel_lib/boot/bootinfo.h), with the firmware's memory map in place of
// E820, and the RSDP and framebuffer that only UEFI hands over.
//
// One function builds it, shared with the host tests (tests/host/boot/uefi_bootinfo_test.cpp);
// the loader calls it once before ExitBootServices to find every problem while it can still
// report it, and once after, with the final memory map.
#pragma once

#include "boot/uefi/efi.h"
#include "boot/uefi/memory_map.h"
#include "boot/uefi/page_tables.h"
#include "kernel_lib/base/error.h"
#include "kernel_lib/boot/bootinfo.h"

namespace uefi {

struct Framebuffer {
    u64 address;  // 0: none
    u64 size;
    u32 width, height, pitch, bpp;
    u32 red_mask, green_mask, blue_mask;
};

// The framebuffer of a GOP mode: 32-bit pixels in one of the three linear formats; a
// Blt-only mode (no linear framebuffer) or an empty mask gives address 0.
Framebuffer framebuffer_from_gop(const efi::GraphicsModeInformation& info, u64 base, u64 size);

struct LoaderFacts {
    const u8* directory;             // the payload directory sector, already validated
    const u64* payload_addresses;    // where each directory entry was loaded (entry 0, the
                                     // kernel, runs at kernel_load_address whatever it says)
    MemoryMapView memory_map;        // the firmware's map
    IdentityMapPlan identity_map;    // what the loader's page tables map
    u64 rsdp_address;
    Framebuffer framebuffer;
    u64 loader_tsc;                  // the TSC when the loader started (BootInfo.stage2_tsc)
};

// Fills `out` completely (it is zeroed first). The memory map conversion's errors
// (boot.memory_map) are the only failures.
kl::ErrorOr<void> build_bootinfo(kl::boot::BootInfo& out, const LoaderFacts& facts);

}
