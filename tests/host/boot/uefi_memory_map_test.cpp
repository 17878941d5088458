// The UEFI loader's memory map conversion (boot/uefi/memory_map.h): descriptors as firmware
// hands them over (OVMF-like, unsorted, wider than the specification's 40 bytes, adjacent
// pieces of one kind) become the E820-style list stage2 builds; damaged maps are refused
// with a boot.memory_map message; fixed ranges are free after ExitBootServices only where
// the firmware keeps nothing but boot-services or free memory.
#include <catch2/catch.hpp>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include "boot/uefi/memory_map.h"

using namespace uefi;
using kl::boot::MemoryRegion;

namespace {

struct Map {
    u64 descriptor_size = 48;  // what EDK2 firmware uses: 40 bytes and 8 of padding
    std::vector<u8> bytes;

    Map& add(u32 type, u64 start, u64 pages)
    {
        bytes.resize(bytes.size() + descriptor_size, 0xA5);  // the padding is never read
        efi::MemoryDescriptor d {};
        d.type = type;
        d.physical_start = start;
        d.number_of_pages = pages;
        d.attribute = 0xF;
        memcpy(bytes.data() + bytes.size() - descriptor_size, &d, std::min<size_t>(sizeof(d), descriptor_size));
        return *this;
    }
    MemoryMapView view() const { return { bytes.data(), bytes.size(), descriptor_size }; }
};

// Roughly what OVMF reports for a 1 GiB guest, in its own order.
Map ovmf_like()
{
    Map m;
    m.add(efi::BootServicesCode, 0x0, 1)
        .add(efi::ConventionalMemory, 0x1000, 0x9F)
        .add(efi::ConventionalMemory, 0x100000, 0x700)
        .add(efi::AcpiMemoryNvs, 0x800000, 0x8)
        .add(efi::ConventionalMemory, 0x808000, 0x3)
        .add(efi::AcpiMemoryNvs, 0x80B000, 0x1)
        .add(efi::LoaderCode, 0x3E000000, 0x20)
        .add(efi::LoaderData, 0x3E020000, 0x100)
        .add(efi::BootServicesData, 0x3E120000, 0x10)
        .add(efi::RuntimeServicesData, 0x3E130000, 0x10)
        .add(efi::AcpiReclaimMemory, 0x3E140000, 0x12)
        .add(efi::ConventionalMemory, 0x900000, 0x3D700)  // out of order
        .add(efi::MemoryMappedIo, 0xFFC00000, 0x400);
    return m;
}

std::vector<MemoryRegion> convert(const Map& m, u32 capacity = kl::boot::max_memory_regions)
{
    std::vector<MemoryRegion> out(capacity);
    auto count = convert_memory_map(m.view(), out.data(), capacity);
    INFO((count.is_error() ? count.error().message() : ""));
    REQUIRE_FALSE(count.is_error());
    out.resize(count.value());
    return out;
}

std::string refusal(const Map& m, u32 capacity = kl::boot::max_memory_regions)
{
    std::vector<MemoryRegion> out(capacity);
    auto count = convert_memory_map(m.view(), out.data(), capacity);
    REQUIRE(count.is_error());
    CHECK(count.error().code() == kl::ErrorCode::BootMemoryMap);
    return count.error().message();
}

}

TEST_CASE("UEFI memory types map to E820 types as the kernel sees memory after boot services", "[boot][uefi]")
{
    CHECK(e820_type(efi::ConventionalMemory) == e820_usable);
    CHECK(e820_type(efi::LoaderCode) == e820_usable);
    CHECK(e820_type(efi::LoaderData) == e820_usable);
    CHECK(e820_type(efi::BootServicesCode) == e820_usable);
    CHECK(e820_type(efi::BootServicesData) == e820_usable);
    CHECK(e820_type(efi::RuntimeServicesCode) == e820_reserved);
    CHECK(e820_type(efi::RuntimeServicesData) == e820_reserved);
    CHECK(e820_type(efi::ReservedMemoryType) == e820_reserved);
    CHECK(e820_type(efi::MemoryMappedIo) == e820_reserved);
    CHECK(e820_type(efi::MemoryMappedIoPortSpace) == e820_reserved);
    CHECK(e820_type(efi::PalCode) == e820_reserved);
    CHECK(e820_type(efi::UnacceptedMemory) == e820_reserved);
    CHECK(e820_type(0x70000000) == e820_reserved);  // OEM types
    CHECK(e820_type(efi::AcpiReclaimMemory) == e820_acpi);
    CHECK(e820_type(efi::AcpiMemoryNvs) == e820_nvs);
    CHECK(e820_type(efi::UnusableMemory) == e820_unusable);
    CHECK(e820_type(efi::PersistentMemory) == e820_persistent);
}

TEST_CASE("an OVMF-like map becomes a sorted, merged region list", "[boot][uefi]")
{
    auto r = convert(ovmf_like());
    // The free range sorted in at 0x900000 ends where the loader's pages begin (0x3E000000),
    // and those touch the boot-services data after them: one usable region.
    const std::vector<MemoryRegion> expected = {
        { 0x0, 0xA0000, e820_usable, 1 },  // boot-services code and free memory, merged
        { 0x100000, 0x700000, e820_usable, 1 },
        { 0x800000, 0x8000, e820_nvs, 1 },
        { 0x808000, 0x3000, e820_usable, 1 },
        { 0x80B000, 0x1000, e820_nvs, 1 },
        { 0x900000, 0x3D700000 + 0x130000, e820_usable, 1 },
        { 0x3E130000, 0x10000, e820_reserved, 1 },
        { 0x3E140000, 0x12000, e820_acpi, 1 },
        { 0xFFC00000, 0x400000, e820_reserved, 1 },
    };
    REQUIRE(r.size() == expected.size());
    for (size_t i = 0; i < r.size(); ++i) {
        INFO("region " << i);
        CHECK(r[i].base == expected[i].base);
        CHECK(r[i].length == expected[i].length);
        CHECK(r[i].type == expected[i].type);
        CHECK(r[i].attributes == 1);
    }
}

TEST_CASE("the conversion merges across insertion order and keeps every byte", "[boot][uefi]")
{
    Map m;
    m.descriptor_size = 40;  // the specification's own size works too
    // Three usable pieces arriving last, first, middle: one region in the end.
    m.add(efi::ConventionalMemory, 0x300000, 0x100).add(efi::ConventionalMemory, 0x100000, 0x100)
        .add(efi::BootServicesData, 0x200000, 0x100).add(efi::ConventionalMemory, 0x500000, 0)  // empty: dropped
        .add(efi::RuntimeServicesCode, 0x400000, 0x10);
    auto r = convert(m);
    REQUIRE(r.size() == 2);
    CHECK(r[0].base == 0x100000);
    CHECK(r[0].length == 0x300000);
    CHECK(r[1].base == 0x400000);
    CHECK(r[1].type == e820_reserved);
}

TEST_CASE("damaged or oversized memory maps are refused with boot.memory_map", "[boot][uefi]")
{
    SECTION("descriptors smaller than the specification's")
    {
        Map m;
        m.descriptor_size = 32;
        m.add(efi::ConventionalMemory, 0, 16);
        CHECK(refusal(m).find("32 bytes, fewer than the 40") != std::string::npos);
    }
    SECTION("a range past 2^64")
    {
        Map m;
        m.add(efi::ConventionalMemory, 0xFFFFFFFFFFFF0000ull, 0x100);
        CHECK(refusal(m).find("runs past the end of the address space") != std::string::npos);
    }
    SECTION("a page count whose byte size overflows")
    {
        Map m;
        m.add(efi::ConventionalMemory, 0x1000, 1ull << 60);
        CHECK(refusal(m).find("entry 0") != std::string::npos);
    }
    SECTION("more separate ranges than BootInfo holds")
    {
        Map m;
        for (u64 i = 0; i < 10; ++i)
            m.add(i % 2 ? efi::ConventionalMemory : efi::AcpiMemoryNvs, i * 0x1000, 1);
        CHECK(refusal(m, 9).find("more than 9 separate ranges") != std::string::npos);
        CHECK(convert(m, 10).size() == 10);
    }
    SECTION("nothing at all")
    {
        Map m;
        CHECK(refusal(m).find("empty") != std::string::npos);
    }
}

TEST_CASE("a fixed range is free after ExitBootServices only over boot-services or free memory", "[boot][uefi]")
{
    Map m = ovmf_like();
    CHECK_FALSE(check_free_after_exit(m.view(), 0x100000, 0x400000, "the kernel").is_error());
    CHECK_FALSE(check_free_after_exit(m.view(), 0x0, 0x2000, "a page at 0").is_error());  // boot services code + free

    auto nvs = check_free_after_exit(m.view(), 0x100000, 0x900000, "the kernel");
    REQUIRE(nvs.is_error());
    CHECK(nvs.error().code() == kl::ErrorCode::BootMemory);
    CHECK(std::string(nvs.error().message()) ==
        "the kernel needs 0x100000..0x900000, but the firmware keeps EfiACPIMemoryNVS at 0x800000..0x808000");

    auto hole = check_free_after_exit(m.view(), 0x90000, 0x120000, "the SMP start-up code");
    REQUIRE(hole.is_error());
    CHECK(std::string(hole.error().message()).find("no memory at 0xa0000") != std::string::npos);

    auto ours = check_free_after_exit(m.view(), 0x3E000000, 0x3E001000, "the kernel");
    REQUIRE(ours.is_error());
    CHECK(std::string(ours.error().message()).find("EfiLoaderCode") != std::string::npos);

    // Overlapping descriptors (firmware bugs): anything kept over the range wins, and a
    // descriptor whose size runs past 2^64 vouches for nothing.
    Map overlap;
    overlap.add(efi::ConventionalMemory, 0x100000, 0x300).add(efi::RuntimeServicesData, 0x200000, 1);
    auto kept = check_free_after_exit(overlap.view(), 0x100000, 0x400000, "the kernel");
    REQUIRE(kept.is_error());
    CHECK(std::string(kept.error().message()).find("EfiRuntimeServicesData at 0x200000..0x201000") != std::string::npos);
    Map garbage;
    garbage.add(efi::ConventionalMemory, 0, 1ull << 60);
    CHECK(check_free_after_exit(garbage.view(), 0, 0x2000, "a page at 0").is_error());
}
