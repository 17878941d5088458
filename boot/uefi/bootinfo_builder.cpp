// BootInfo from the UEFI loader's facts (see bootinfo_builder.h).
#include "boot/uefi/bootinfo_builder.h"

#include <string.h>

#include "kernel_lib/base/unaligned.h"

namespace uefi {

using namespace kl;
using namespace kl::boot;

Framebuffer framebuffer_from_gop(const efi::GraphicsModeInformation& info, u64 base, u64 size)
{
    Framebuffer fb {};
    switch (info.pixel_format) {
    case efi::PixelRedGreenBlueReserved8BitPerColor:
        fb.red_mask = 0x0000FF, fb.green_mask = 0x00FF00, fb.blue_mask = 0xFF0000;
        break;
    case efi::PixelBlueGreenRedReserved8BitPerColor:
        fb.red_mask = 0xFF0000, fb.green_mask = 0x00FF00, fb.blue_mask = 0x0000FF;
        break;
    case efi::PixelBitMask:
        fb.red_mask = info.red_mask, fb.green_mask = info.green_mask, fb.blue_mask = info.blue_mask;
        break;
    default: return {};  // Blt only: nothing to draw on directly
    }
    if (!fb.red_mask || !fb.green_mask || !fb.blue_mask || base == 0)
        return {};
    fb.address = base;
    fb.size = size;
    fb.width = info.horizontal_resolution;
    fb.height = info.vertical_resolution;
    fb.bpp = 32;
    fb.pitch = info.pixels_per_scan_line * 4;
    return fb;
}

ErrorOr<void> build_bootinfo(BootInfo& out, const LoaderFacts& facts)
{
    memset(&out, 0, sizeof(out));
    out.magic = bootinfo_magic;
    out.version = bootinfo_version;
    out.flags = BootInfoFlagUefi | (facts.identity_map.pages_1g ? BootInfoFlagPages1G : 0);
    out.mapped_bytes = facts.identity_map.mapped_bytes;
    out.a20_method = static_cast<u32>(A20Method::AlreadyOn);  // UEFI runs in long mode: A20 is on
    out.stage2_tsc = facts.loader_tsc;
    out.region_count = TRY(convert_memory_map(facts.memory_map, out.regions, max_memory_regions));

    // The payloads as stage2's plan_payloads lists them: name, size, CRC and flags from the
    // directory, the address where they were loaded.
    const u8* directory = facts.directory;
    out.payload_count = read_u32(directory + offsetof(DirectoryHeader, entry_count));
    for (u32 i = 0; i < out.payload_count; ++i) {
        const u8* entry = directory + sizeof(DirectoryHeader) + i * sizeof(DirectoryEntry);
        LoadedPayload& p = out.payloads[i];
        memcpy(p.name, entry + offsetof(DirectoryEntry, name), payload_name_bytes);
        p.size = read_u64(entry + offsetof(DirectoryEntry, size));
        p.crc32 = read_u32(entry + offsetof(DirectoryEntry, crc32));
        p.flags = read_u32(entry + offsetof(DirectoryEntry, flags));
        p.address = i == 0 ? kernel_load_address : facts.payload_addresses[i];
    }
    out.kernel_address = kernel_load_address;
    out.kernel_size = out.payloads[0].size;

    out.rsdp_address = facts.rsdp_address;
    const Framebuffer& fb = facts.framebuffer;
    if (fb.address) {
        out.framebuffer_address = fb.address;
        out.framebuffer_size = fb.size;
        out.framebuffer_width = fb.width;
        out.framebuffer_height = fb.height;
        out.framebuffer_pitch = fb.pitch;
        out.framebuffer_bpp = fb.bpp;
        out.framebuffer_red_mask = fb.red_mask;
        out.framebuffer_green_mask = fb.green_mask;
        out.framebuffer_blue_mask = fb.blue_mask;
    }
    return {};
}

}
