// The UEFI loader's code that does not touch the firmware (boot/uefi/*.cpp other than
// *.efi.cpp): finding the payload directory in the MBR, the device paths that lead from the
// EFI system partition to its disk, the identity map stage2 would build, and the BootInfo
// the kernel receives, field by field, from a directory, a memory map and a GOP mode.
#include <catch2/catch.hpp>
#include <string.h>

#include <string>
#include <vector>

#include "boot/uefi/bootinfo_builder.h"
#include "boot/uefi/disk_layout.h"
#include "boot/uefi/efi.h"
#include "boot/uefi/page_tables.h"
#include "kernel_lib/boot/payloads.h"
#include "kernel_lib/codec/crc32c.h"

using namespace uefi;
using namespace kl::boot;

namespace {

void put32(u8* p, u32 v) { memcpy(p, &v, 4); }
void put64(u8* p, u64 v) { memcpy(p, &v, 8); }

// An MBR as mkimage writes it: the payload partition first, the ESP second.
std::vector<u8> mbr(u32 payload_start, u32 esp_start)
{
    std::vector<u8> m(512, 0);
    m[510] = 0x55;
    m[511] = 0xAA;
    u8* p = &m[partition_table_offset];
    p[0] = 0x80;
    p[4] = partition_type_payloads;
    put32(p + 8, payload_start);
    put32(p + 12, 1000);
    p += 16;
    p[4] = partition_type_esp;
    put32(p + 8, esp_start);
    put32(p + 12, 2048);
    return m;
}

// Device path nodes: PciRoot(0)/Pci(3,0)/HD(2,MBR)/end, and a console path with a UART.
void node(std::vector<u8>& path, u8 type, u8 subtype, u16 length)
{
    path.push_back(type);
    path.push_back(subtype);
    path.push_back(static_cast<u8>(length));
    path.push_back(static_cast<u8>(length >> 8));
    path.insert(path.end(), length - 4, 0x11);
}

std::vector<u8> partition_path()
{
    std::vector<u8> p;
    node(p, 0x02, 0x01, 12);     // ACPI PciRoot
    node(p, 0x01, 0x01, 6);      // PCI
    node(p, 0x04, 0x01, 42);     // media: hard drive (the partition)
    node(p, 0x7F, 0xFF, 4);
    return p;
}

}

TEST_CASE("the payload directory is the start of the MBR's type-0xda partition", "[boot][uefi]")
{
    auto m = mbr(66, 4096);
    auto lba = payload_directory_lba(m.data(), 6144);
    REQUIRE_FALSE(lba.is_error());
    CHECK(lba.value() == 66);

    m[511] = 0;
    auto unsigned_sector = payload_directory_lba(m.data(), 6144);
    REQUIRE(unsigned_sector.is_error());
    CHECK(unsigned_sector.error().code() == kl::ErrorCode::BootDirectory);
    CHECK(std::string(unsigned_sector.error().message()).find("no 55 AA signature") != std::string::npos);

    m = mbr(66, 4096);
    m[partition_table_offset + 4] = 0x83;
    auto none = payload_directory_lba(m.data(), 6144);
    REQUIRE(none.is_error());
    CHECK(std::string(none.error().message()).find("no BareFlow payload partition") != std::string::npos);

    auto outside = payload_directory_lba(mbr(7000, 4096).data(), 6144);
    REQUIRE(outside.is_error());
    CHECK(std::string(outside.error().message()).find("starts at sector 7000, outside the 6144-sector disk") !=
        std::string::npos);
}

TEST_CASE("device paths: the disk of a partition, and whether a console reaches a UART", "[boot][uefi]")
{
    auto path = partition_path();
    CHECK(device_path_bytes(path.data(), path.size()) == 12 + 6 + 42 + 4);
    CHECK(device_path_bytes(path.data(), path.size() - 1) == 0);  // cut short: malformed

    u8 disk[64];
    usize n = parent_device_path(path.data(), path.size(), disk, sizeof(disk));
    REQUIRE(n == 12 + 6 + 4);
    CHECK(memcmp(disk, path.data(), 18) == 0);
    CHECK(disk[18] == 0x7F);
    CHECK(disk[19] == 0xFF);
    CHECK(disk[20] == 4);
    CHECK(parent_device_path(path.data(), path.size(), disk, 12 + 6 + 3) == 0);  // does not fit

    std::vector<u8> only_end;
    node(only_end, 0x7F, 0xFF, 4);
    CHECK(parent_device_path(only_end.data(), only_end.size(), disk, sizeof(disk)) == 0);
    std::vector<u8> zero_length = partition_path();
    zero_length[2] = 0;
    zero_length[3] = 0;
    CHECK(device_path_bytes(zero_length.data(), zero_length.size()) == 0);
    std::vector<u8> long_end = partition_path();
    long_end.back() = 0x11;
    long_end[long_end.size() - 4 + 2] = 5;  // an end node of 5 bytes (found by the fuzzer)
    CHECK(device_path_bytes(long_end.data(), long_end.size()) == 0);

    // ConOut as OVMF sets it: a serial terminal, then (after an end-of-instance node) the GOP.
    std::vector<u8> console;
    node(console, 0x02, 0x01, 12);
    node(console, 0x01, 0x01, 6);
    node(console, 0x03, 0x0E, 19);  // messaging: UART
    node(console, 0x7F, 0x01, 4);   // end of this instance
    node(console, 0x02, 0x01, 12);
    node(console, 0x01, 0x01, 6);
    node(console, 0x7F, 0xFF, 4);
    CHECK(device_path_has_uart(console.data(), console.size()));
    CHECK_FALSE(device_path_has_uart(path.data(), path.size()));
    CHECK_FALSE(device_path_has_uart(console.data(), 30));  // malformed within the bytes given
}

TEST_CASE("the loader's identity map is stage2's", "[boot][uefi]")
{
    MemoryRegion ram[] = { { 0, 0xA0000, 1, 1 }, { 0x100000, 0x3FF00000, 1, 1 }, { 0xFEC00000, 0x1000, 2, 1 } };
    auto small = plan_identity_map(ram, 3, 0, true);
    CHECK(small.gib == 4);  // at least 4 GiB, like stage2
    CHECK(small.table_pages == 2);
    CHECK(small.mapped_bytes == 4 * kl::GiB);

    MemoryRegion big[] = { { 0x100000000ull, 0x140000000ull, 1, 1 } };  // RAM up to 9 GiB
    CHECK(plan_identity_map(big, 1, 0, true).gib == 9);
    auto two_mib = plan_identity_map(big, 1, 0, false);
    CHECK(two_mib.gib == 9);
    CHECK(two_mib.table_pages == 2 + 9);
    CHECK(plan_identity_map(big, 1, 0x2000000000ull + 0x800000, false).gib == 16);  // capped like stage2
    CHECK(plan_identity_map(big, 1, 0x2000000000ull + 0x800000, true).gib == 129);  // the framebuffer's end

    std::vector<u64> tables(two_mib.table_pages * 512, 0xDEAD);
    const u64 at = 0x70000;
    build_identity_map(two_mib, tables.data(), at);
    CHECK(tables[0] == ((at + 0x1000) | 3));                        // PML4[0] -> PDPT
    CHECK(tables[1] == 0);
    CHECK(tables[512 + 0] == ((at + 0x2000) | 3));                  // PDPT[0] -> PD 0
    CHECK(tables[512 + 8] == ((at + 10 * 0x1000) | 3));             // PDPT[8] -> PD 8
    CHECK(tables[512 + 9] == 0);
    CHECK(tables[2 * 512 + 0] == 0x83);                             // 0..2 MiB
    CHECK(tables[2 * 512 + 511] == (0x3FE00000ull | 0x83));
    CHECK(tables[10 * 512 + 3] == ((8 * kl::GiB + 3 * 2 * kl::MiB) | 0x83));

    std::vector<u64> huge(2 * 512, 0xDEAD);
    auto one_gib = plan_identity_map(big, 1, 0, true);
    build_identity_map(one_gib, huge.data(), at);
    CHECK(huge[512 + 0] == 0x83);
    CHECK(huge[512 + 8] == (8 * kl::GiB | 0x83));
    CHECK(huge[512 + 9] == 0);
}

TEST_CASE("GOP modes give the framebuffer's masks, pitch and size", "[boot][uefi]")
{
    efi::GraphicsModeInformation info {};
    info.horizontal_resolution = 1280;
    info.vertical_resolution = 800;
    info.pixels_per_scan_line = 1344;
    info.pixel_format = efi::PixelBlueGreenRedReserved8BitPerColor;
    Framebuffer bgr = framebuffer_from_gop(info, 0x80000000, 1344 * 800 * 4);
    CHECK(bgr.address == 0x80000000);
    CHECK(bgr.pitch == 1344 * 4);
    CHECK(bgr.width == 1280);
    CHECK(bgr.bpp == 32);
    CHECK(bgr.red_mask == 0xFF0000);
    CHECK(bgr.blue_mask == 0x0000FF);

    info.pixel_format = efi::PixelRedGreenBlueReserved8BitPerColor;
    CHECK(framebuffer_from_gop(info, 0x80000000, 1).red_mask == 0x0000FF);
    info.pixel_format = efi::PixelBitMask;
    info.red_mask = 0xF800, info.green_mask = 0x07E0, info.blue_mask = 0x001F;
    CHECK(framebuffer_from_gop(info, 0x80000000, 1).green_mask == 0x07E0);
    info.blue_mask = 0;
    CHECK(framebuffer_from_gop(info, 0x80000000, 1).address == 0);  // a mask missing
    info.pixel_format = efi::PixelBltOnly;
    CHECK(framebuffer_from_gop(info, 0x80000000, 1).address == 0);  // no linear framebuffer
}

TEST_CASE("build_bootinfo fills BootInfo as stage2 does, plus UEFI's fields", "[boot][uefi]")
{
    // A two-payload directory (kernel, model) and a small memory map.
    u8 directory[512] = {};
    memcpy(directory, "BFPAYDIR", 8);
    put32(directory + 8, 1);
    put32(directory + 12, 2);
    u8* e0 = directory + 32;
    memcpy(e0, "kernel", 6);
    put64(e0 + 16, 10);
    put64(e0 + 24, 122704);
    put32(e0 + 32, 0x06049faf);
    u8* e1 = e0 + 40;
    memcpy(e1, "model", 5);
    put64(e1 + 16, 300);
    put64(e1 + 24, 1056540);
    put32(e1 + 32, 0x067290fc);
    put32(e1 + 36, 7);
    const u64 addresses[2] = { 0x3E600000, 0x3DE00000 };

    std::vector<u8> map(2 * 48, 0);
    efi::MemoryDescriptor d {};
    d.type = efi::ConventionalMemory, d.physical_start = 0, d.number_of_pages = 0x40000;
    memcpy(map.data(), &d, sizeof(d));
    d.type = efi::AcpiReclaimMemory, d.physical_start = 0x40000000, d.number_of_pages = 16;
    memcpy(map.data() + 48, &d, sizeof(d));

    efi::GraphicsModeInformation mode {};
    mode.horizontal_resolution = 800, mode.vertical_resolution = 600, mode.pixels_per_scan_line = 800;
    mode.pixel_format = efi::PixelBlueGreenRedReserved8BitPerColor;
    LoaderFacts facts { directory, addresses, { map.data(), map.size(), 48 }, {}, 0x3F77E014,
        framebuffer_from_gop(mode, 0x80000000, 800 * 600 * 4), 123456789 };
    MemoryRegion regions[1] = { { 0, 1 * kl::GiB, 1, 1 } };
    facts.identity_map = plan_identity_map(regions, 1, 0, true);

    BootInfo info;
    memset(&info, 0xCC, sizeof(info));
    REQUIRE_FALSE(build_bootinfo(info, facts).is_error());
    REQUIRE_FALSE(validate_bootinfo(info).is_error());  // what the kernel checks first
    CHECK(info.magic == bootinfo_magic);
    CHECK(info.version == bootinfo_version);
    CHECK(info.flags == (BootInfoFlagUefi | BootInfoFlagPages1G));
    CHECK(std::string(memory_map_source(info)) == "UEFI");
    CHECK(info.mapped_bytes == 4 * kl::GiB);
    CHECK(info.kernel_address == kernel_load_address);
    CHECK(info.kernel_size == 122704);
    CHECK(info.a20_method == static_cast<u32>(A20Method::AlreadyOn));
    CHECK(info.stage2_tsc == 123456789);
    CHECK(info.boot_drive == 0);
    CHECK(info.stage2_sectors == 0);

    REQUIRE(info.payload_count == 2);
    CHECK(std::string(info.payloads[0].name) == "kernel");
    CHECK(info.payloads[0].address == kernel_load_address);  // where the hand-over copies it
    CHECK(std::string(info.payloads[1].name) == "model");
    CHECK(info.payloads[1].address == 0x3DE00000);
    CHECK(info.payloads[1].size == 1056540);
    CHECK(info.payloads[1].crc32 == 0x067290fc);
    CHECK(info.payloads[1].flags == 7);
    auto model = find_payload(info, "model");
    REQUIRE_FALSE(model.is_error());
    CHECK(model.value().data == reinterpret_cast<const u8*>(0x3DE00000));
    CHECK(info.payloads[2].size == 0);  // zeroed past the count

    REQUIRE(info.region_count == 2);
    CHECK(info.regions[0].length == 1 * kl::GiB);
    CHECK(info.regions[1].type == 3);

    CHECK(info.rsdp_address == 0x3F77E014);
    CHECK(info.framebuffer_address == 0x80000000);
    CHECK(info.framebuffer_size == 800 * 600 * 4);
    CHECK(info.framebuffer_width == 800);
    CHECK(info.framebuffer_height == 600);
    CHECK(info.framebuffer_pitch == 3200);
    CHECK(info.framebuffer_bpp == 32);
    CHECK(info.framebuffer_red_mask == 0xFF0000);
    CHECK(info.framebuffer_green_mask == 0x00FF00);
    CHECK(info.framebuffer_blue_mask == 0x0000FF);
    CHECK(info.reserved == 0);

    SECTION("no framebuffer: the fields stay zero")
    {
        facts.framebuffer = {};
        REQUIRE_FALSE(build_bootinfo(info, facts).is_error());
        CHECK(info.framebuffer_address == 0);
        CHECK(info.framebuffer_width == 0);
    }
    SECTION("a memory map it cannot convert is the builder's error")
    {
        facts.memory_map.descriptor_size = 16;
        auto built = build_bootinfo(info, facts);
        REQUIRE(built.is_error());
        CHECK(built.error().code() == kl::ErrorCode::BootMemoryMap);
    }
}

TEST_CASE("firmware statuses are named as the specification names them", "[boot][uefi]")
{
    char scratch[32];
    CHECK(std::string(efi::status_name(efi::success, scratch, sizeof(scratch))) == "EFI_SUCCESS");
    CHECK(std::string(efi::status_name(efi::not_found, scratch, sizeof(scratch))) == "EFI_NOT_FOUND");
    CHECK(std::string(efi::status_name(efi::buffer_too_small, scratch, sizeof(scratch))) == "EFI_BUFFER_TOO_SMALL");
    CHECK(std::string(efi::status_name(efi::error_bit | 27, scratch, sizeof(scratch))) == "EFI_CRC_ERROR");
    CHECK(std::string(efi::status_name(efi::error_bit | 99, scratch, sizeof(scratch))) == "status 0x8000000000000063");
    CHECK(efi::same_guid(efi::acpi_20_table, efi::acpi_20_table));
    CHECK_FALSE(efi::same_guid(efi::acpi_20_table, efi::acpi_10_table));
}
