// The hand-over from the boot loader to the kernel, and the on-disk payload directory.
//
// These are the original definitions; boot/inc/bootinfo.inc mirrors them for NASM and
// tests/host/boot/layout_test.cpp checks that both agree field by field. Packed, with every
// offset pinned by a static_assert: stage2 writes these bytes from 16-bit code, the UEFI
// loader (boot/uefi/) from C++. Version 2 appended the fields only the UEFI loader fills
// (RSDP, framebuffer); stage2 leaves them zero.
#pragma once

#include <stddef.h>

#include "kernel_lib/base/types.h"

namespace kl::boot {

// ---- disk image -----------------------------------------------------------------------
constexpr u32 sector_size = 512;
constexpr u32 stage1_slots_offset = 0x1A4;
constexpr u32 stage1_slot_magic = 0x1A4;           // "BFS1"
constexpr u32 stage1_slot_stage2_sectors = 0x1AA;  // u16, the count field of the DAP
constexpr u32 stage1_slot_stage2_lba = 0x1B0;      // u64, the LBA field of the DAP
constexpr u32 partition_table_offset = 0x1BE;
constexpr u32 partition_entry_bytes = 16;
constexpr u8 partition_type_payloads = 0xDA;  // "non-filesystem data": the directory and payloads
constexpr u8 partition_type_esp = 0xEF;       // the EFI system partition (FAT, \EFI\BOOT\BOOTX64.EFI)
constexpr u32 boot_signature_offset = 0x1FE;
constexpr u32 stage2_slot_magic = 4;               // "BFS2"
constexpr u32 stage2_slot_directory_lba = 8;       // u64
constexpr u32 stage2_max_sectors = 64;

constexpr u32 directory_version = 1;
constexpr u32 directory_max_entries = 12;
constexpr u32 payload_name_bytes = 16;
constexpr char directory_magic[8] = { 'B', 'F', 'P', 'A', 'Y', 'D', 'I', 'R' };

struct [[gnu::packed]] DirectoryHeader {
    char magic[8];
    u32 version;
    u32 entry_count;
    u32 crc32;  // CRC-32C of the whole 512-byte sector with this field zero
    u32 image_sectors;
    u64 reserved;
};
static_assert(sizeof(DirectoryHeader) == 32);
static_assert(offsetof(DirectoryHeader, crc32) == 16);

struct [[gnu::packed]] DirectoryEntry {
    char name[payload_name_bytes];  // NUL-padded; entry 0 is "kernel"
    u64 lba;
    u64 size;
    u32 crc32;
    u32 flags;
};
static_assert(sizeof(DirectoryEntry) == 40);
static_assert(offsetof(DirectoryEntry, lba) == 16);
static_assert(offsetof(DirectoryEntry, crc32) == 32);
static_assert(sizeof(DirectoryHeader) + directory_max_entries * sizeof(DirectoryEntry) == sector_size);

// ---- physical memory ------------------------------------------------------------------
// The kernel (image + .bss) at 1 MiB, at most 3 MiB; from its end to the payloads, the
// unpacker's codec tables while it decodes the kernel: more tables pack it tighter (8 MiB
// rather than 4 for the payloads: 431 bytes of kernel.bin, boot/README.md).
constexpr u64 kernel_load_address = 0x100000;
constexpr u64 kernel_max_bytes = 0x300000;
constexpr u64 payload_base = 0x800000;
constexpr u64 payload_align = 0x200000;
constexpr u64 bootinfo_address = 0x1000;
constexpr u64 ap_trampoline_address = 0x10000;
constexpr u64 pvm_vif_page_address = 0x3000;
// The AP trampoline and its start parameters (two pages), and the area the kernel unpacker
// uses: its stack grows down from unpack_address, where it copies itself and the packed
// kernel (kernel.bin), which must end by unpack_area_end.
constexpr u64 ap_trampoline_bytes = 0x2000;
constexpr u64 unpack_area_begin = 0x20000;
constexpr u64 unpack_address = 0x30000;
constexpr u64 unpack_area_end = 0x60000;

// ---- BootInfo -------------------------------------------------------------------------
constexpr u32 bootinfo_magic = 0x49424642;  // "BFBI"
constexpr u32 bootinfo_version = 2;
constexpr u32 max_payloads = 12;
constexpr u32 max_memory_regions = 128;

enum BootInfoFlags : u32 {
    BootInfoFlagE820 = 1,
    BootInfoFlagE801 = 2,
    BootInfoFlagPages1G = 4,
    BootInfoFlagUefi = 8,  // booted by the UEFI loader; the memory map came from GetMemoryMap
};

enum class A20Method : u32 { AlreadyOn = 1, Bios = 2, Keyboard = 3, Fast = 4 };

constexpr u32 memory_type_usable = 1;

struct [[gnu::packed]] MemoryRegion {
    u64 base;
    u64 length;
    u32 type;  // E820 type; 1 = usable RAM
    u32 attributes;
};
static_assert(sizeof(MemoryRegion) == 24);
static_assert(offsetof(MemoryRegion, length) == 8);
static_assert(offsetof(MemoryRegion, type) == 16);
static_assert(offsetof(MemoryRegion, attributes) == 20);

struct [[gnu::packed]] LoadedPayload {
    char name[payload_name_bytes];
    u64 address;
    u64 size;
    u32 crc32;
    u32 flags;
};
static_assert(sizeof(LoadedPayload) == 40);
static_assert(offsetof(LoadedPayload, address) == 16);
static_assert(offsetof(LoadedPayload, size) == 24);
static_assert(offsetof(LoadedPayload, crc32) == 32);
static_assert(offsetof(LoadedPayload, flags) == 36);

struct [[gnu::packed]] BootInfo {
    u32 magic;
    u32 version;
    u32 boot_drive;
    u32 flags;
    u64 mapped_bytes;  // [0, mapped_bytes) is identity mapped on entry
    u64 kernel_address;
    u64 kernel_size;
    u32 a20_method;
    u32 region_count;
    u32 payload_count;
    u32 stage2_sectors;
    u64 stage2_tsc;
    LoadedPayload payloads[max_payloads];
    MemoryRegion regions[max_memory_regions];
    // ---- version 2 ----
    u64 rsdp_address;            // ACPI RSDP from the firmware; 0: the kernel scans the BIOS areas
    u64 framebuffer_address;     // 0: no framebuffer (VGA text mode on BIOS boots)
    u64 framebuffer_size;        // bytes
    u32 framebuffer_width;       // pixels
    u32 framebuffer_height;
    u32 framebuffer_pitch;       // bytes from one scan line to the next
    u32 framebuffer_bpp;         // bits per pixel: 32 (every UEFI GOP format)
    u32 framebuffer_red_mask;    // where each colour sits in a pixel
    u32 framebuffer_green_mask;
    u32 framebuffer_blue_mask;
    u32 reserved;
};
static_assert(offsetof(BootInfo, magic) == 0);
static_assert(offsetof(BootInfo, version) == 4);
static_assert(offsetof(BootInfo, boot_drive) == 8);
static_assert(offsetof(BootInfo, flags) == 12);
static_assert(offsetof(BootInfo, mapped_bytes) == 16);
static_assert(offsetof(BootInfo, kernel_address) == 24);
static_assert(offsetof(BootInfo, kernel_size) == 32);
static_assert(offsetof(BootInfo, a20_method) == 40);
static_assert(offsetof(BootInfo, region_count) == 44);
static_assert(offsetof(BootInfo, payload_count) == 48);
static_assert(offsetof(BootInfo, stage2_sectors) == 52);
static_assert(offsetof(BootInfo, stage2_tsc) == 56);
static_assert(offsetof(BootInfo, payloads) == 64);
static_assert(offsetof(BootInfo, regions) == 64 + 40 * 12);
static_assert(offsetof(BootInfo, rsdp_address) == 3616);
static_assert(offsetof(BootInfo, framebuffer_address) == 3624);
static_assert(offsetof(BootInfo, framebuffer_size) == 3632);
static_assert(offsetof(BootInfo, framebuffer_width) == 3640);
static_assert(offsetof(BootInfo, framebuffer_pitch) == 3648);
static_assert(offsetof(BootInfo, framebuffer_bpp) == 3652);
static_assert(offsetof(BootInfo, framebuffer_red_mask) == 3656);
static_assert(offsetof(BootInfo, framebuffer_blue_mask) == 3664);
static_assert(sizeof(BootInfo) == 64 + 40 * 12 + 24 * 128 + 56);
static_assert(sizeof(BootInfo) <= 4096);

}
