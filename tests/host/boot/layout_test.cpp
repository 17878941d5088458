// The NASM mirrors of the boot structures and constants agree with the C++ originals.
//
// Parses boot/inc/*.inc (equ constants and struc blocks, with a small expression
// evaluator) and compares every field offset, struct size and shared constant with
// kernel_lib/boot/bootinfo.h and kernel_lib/base/error_codes.h.
#include <catch2/catch.hpp>
#include <ctype.h>
#include <stddef.h>

#include <map>
#include <sstream>
#include <string>

#include "kernel_lib/base/error_codes.h"
#include "kernel_lib/boot/bootinfo.h"
#include "tests/host/test_support.h"

namespace {

struct NasmDefinitions {
    std::map<std::string, long long> values;  // equ constants, Struct_size, Struct.field offsets

    long long eval(const std::string& expr) const
    {
        size_t pos = 0;
        long long v = parse_or(expr, pos);
        skip(expr, pos);
        if (pos != expr.size())
            FAIL("cannot evaluate '" << expr << "'");
        return v;
    }

    static void skip(const std::string& s, size_t& p)
    {
        while (p < s.size() && isspace(static_cast<unsigned char>(s[p])))
            ++p;
    }
    long long parse_or(const std::string& s, size_t& p) const
    {
        long long v = parse_shift(s, p);
        for (skip(s, p); p < s.size() && s[p] == '|'; skip(s, p)) {
            ++p;
            v |= parse_shift(s, p);
        }
        return v;
    }
    long long parse_shift(const std::string& s, size_t& p) const
    {
        long long v = parse_sum(s, p);
        for (skip(s, p); p + 1 < s.size() && s.compare(p, 2, "<<") == 0; skip(s, p)) {
            p += 2;
            v <<= parse_sum(s, p);
        }
        return v;
    }
    long long parse_sum(const std::string& s, size_t& p) const
    {
        long long v = parse_product(s, p);
        for (skip(s, p); p < s.size() && (s[p] == '+' || s[p] == '-'); skip(s, p)) {
            char op = s[p++];
            long long r = parse_product(s, p);
            v = op == '+' ? v + r : v - r;
        }
        return v;
    }
    long long parse_product(const std::string& s, size_t& p) const
    {
        long long v = parse_atom(s, p);
        for (skip(s, p); p < s.size() && (s[p] == '*' || s[p] == '/'); skip(s, p)) {
            char op = s[p++];
            long long r = parse_atom(s, p);
            v = op == '*' ? v * r : v / r;
        }
        return v;
    }
    long long parse_atom(const std::string& s, size_t& p) const
    {
        skip(s, p);
        if (p < s.size() && s[p] == '(') {
            ++p;
            long long v = parse_or(s, p);
            skip(s, p);
            REQUIRE(p < s.size());
            REQUIRE(s[p] == ')');
            ++p;
            return v;
        }
        size_t start = p;
        if (p < s.size() && isdigit(static_cast<unsigned char>(s[p]))) {
            while (p < s.size() && isalnum(static_cast<unsigned char>(s[p])))
                ++p;
            return std::stoll(s.substr(start, p - start), nullptr, 0);
        }
        while (p < s.size() && (isalnum(static_cast<unsigned char>(s[p])) || s[p] == '_' || s[p] == '.'))
            ++p;
        std::string name = s.substr(start, p - start);
        auto it = values.find(name);
        if (it == values.end())
            FAIL("unknown NASM symbol '" << name << "' in '" << s << "'");
        return it->second;
    }

    void parse_file(const std::string& path)
    {
        std::istringstream in(test_support::read_text(path));
        std::string line, current_struc;
        long long offset = 0;
        while (std::getline(in, line)) {
            auto semicolon = line.find(';');
            if (semicolon != std::string::npos)
                line = line.substr(0, semicolon);
            std::istringstream words(line);
            std::string first, second;
            words >> first >> second;
            if (first.empty() || first[0] == '%')
                continue;
            std::string rest;
            std::getline(words, rest);
            if (first == "struc") {
                current_struc = second;
                offset = 0;
            } else if (first == "endstruc") {
                values[current_struc + "_size"] = offset;
                current_struc.clear();
            } else if (!current_struc.empty() && first[0] == '.') {
                values[current_struc + first] = offset;
                long long count = eval(rest);
                int unit = second == "resb" ? 1 : second == "resw" ? 2 : second == "resd" ? 4 : second == "resq" ? 8 : 0;
                REQUIRE(unit != 0);
                offset += unit * count;
            } else if (second == "equ") {
                values[first] = eval(rest);
            }
        }
    }
};

NasmDefinitions load()
{
    NasmDefinitions d;
    std::string root = test_support::repo_root();
    d.parse_file(root + "/boot/inc/memmap.inc");
    d.parse_file(root + "/boot/inc/bootinfo.inc");
    d.parse_file(root + "/boot/inc/errors.inc");
    return d;
}

}

using namespace kl::boot;

#define CHECK_FIELD(Struct, field) CHECK(d.values.at(#Struct "." #field) == static_cast<long long>(offsetof(Struct, field)))

TEST_CASE("BootInfo and its parts have the same layout in NASM and C++", "[boot]")
{
    auto d = load();
    CHECK(d.values.at("BootInfo_size") == static_cast<long long>(sizeof(BootInfo)));
    CHECK_FIELD(BootInfo, magic);
    CHECK_FIELD(BootInfo, version);
    CHECK_FIELD(BootInfo, boot_drive);
    CHECK_FIELD(BootInfo, flags);
    CHECK_FIELD(BootInfo, mapped_bytes);
    CHECK_FIELD(BootInfo, kernel_address);
    CHECK_FIELD(BootInfo, kernel_size);
    CHECK_FIELD(BootInfo, a20_method);
    CHECK_FIELD(BootInfo, region_count);
    CHECK_FIELD(BootInfo, payload_count);
    CHECK_FIELD(BootInfo, stage2_sectors);
    CHECK_FIELD(BootInfo, stage2_tsc);
    CHECK_FIELD(BootInfo, payloads);
    CHECK_FIELD(BootInfo, regions);
    CHECK_FIELD(BootInfo, rsdp_address);
    CHECK_FIELD(BootInfo, framebuffer_address);
    CHECK_FIELD(BootInfo, framebuffer_size);
    CHECK_FIELD(BootInfo, framebuffer_width);
    CHECK_FIELD(BootInfo, framebuffer_height);
    CHECK_FIELD(BootInfo, framebuffer_pitch);
    CHECK_FIELD(BootInfo, framebuffer_bpp);
    CHECK_FIELD(BootInfo, framebuffer_red_mask);
    CHECK_FIELD(BootInfo, framebuffer_green_mask);
    CHECK_FIELD(BootInfo, framebuffer_blue_mask);
    CHECK_FIELD(BootInfo, reserved);

    CHECK(d.values.at("MemoryRegion_size") == static_cast<long long>(sizeof(MemoryRegion)));
    CHECK_FIELD(MemoryRegion, base);
    CHECK_FIELD(MemoryRegion, length);
    CHECK_FIELD(MemoryRegion, type);
    CHECK_FIELD(MemoryRegion, attributes);

    CHECK(d.values.at("LoadedPayload_size") == static_cast<long long>(sizeof(LoadedPayload)));
    CHECK_FIELD(LoadedPayload, name);
    CHECK_FIELD(LoadedPayload, address);
    CHECK_FIELD(LoadedPayload, size);
    CHECK_FIELD(LoadedPayload, crc32);
    CHECK_FIELD(LoadedPayload, flags);

    CHECK(d.values.at("DirectoryHeader_size") == static_cast<long long>(sizeof(DirectoryHeader)));
    CHECK_FIELD(DirectoryHeader, magic);
    CHECK_FIELD(DirectoryHeader, version);
    CHECK_FIELD(DirectoryHeader, entry_count);
    CHECK_FIELD(DirectoryHeader, crc32);
    CHECK_FIELD(DirectoryHeader, image_sectors);
    CHECK(d.values.at("DirectoryEntry_size") == static_cast<long long>(sizeof(DirectoryEntry)));
    CHECK_FIELD(DirectoryEntry, name);
    CHECK_FIELD(DirectoryEntry, lba);
    CHECK_FIELD(DirectoryEntry, size);
    CHECK_FIELD(DirectoryEntry, crc32);
    CHECK_FIELD(DirectoryEntry, flags);
}

TEST_CASE("boot constants agree between NASM and C++", "[boot]")
{
    auto d = load();
    CHECK(d.values.at("BOOTINFO_MAGIC") == bootinfo_magic);
    CHECK(d.values.at("BOOTINFO_VERSION") == bootinfo_version);
    CHECK(d.values.at("BOOTINFO_MAX_PAYLOADS") == max_payloads);
    CHECK(d.values.at("BOOTINFO_MAX_REGIONS") == max_memory_regions);
    CHECK(d.values.at("BOOTINFO_FLAG_E820") == BootInfoFlagE820);
    CHECK(d.values.at("BOOTINFO_FLAG_E801") == BootInfoFlagE801);
    CHECK(d.values.at("BOOTINFO_FLAG_PAGES_1G") == BootInfoFlagPages1G);
    CHECK(d.values.at("BOOTINFO_FLAG_UEFI") == BootInfoFlagUefi);
    CHECK(d.values.at("A20_ALREADY_ON") == static_cast<long long>(A20Method::AlreadyOn));
    CHECK(d.values.at("A20_BIOS") == static_cast<long long>(A20Method::Bios));
    CHECK(d.values.at("A20_KEYBOARD") == static_cast<long long>(A20Method::Keyboard));
    CHECK(d.values.at("A20_FAST") == static_cast<long long>(A20Method::Fast));
    CHECK(d.values.at("STAGE1_SLOTS_OFFSET") == stage1_slots_offset);
    CHECK(d.values.at("STAGE1_SLOT_MAGIC") == stage1_slot_magic);
    CHECK(d.values.at("STAGE1_SLOT_STAGE2_LBA") == stage1_slot_stage2_lba);
    CHECK(d.values.at("STAGE1_SLOT_STAGE2_SECTORS") == stage1_slot_stage2_sectors);
    CHECK(d.values.at("PARTITION_TABLE_OFFSET") == partition_table_offset);
    CHECK(d.values.at("BOOT_SIGNATURE_OFFSET") == boot_signature_offset);
    CHECK(d.values.at("STAGE2_SLOT_MAGIC") == stage2_slot_magic);
    CHECK(d.values.at("STAGE2_SLOT_DIRECTORY_LBA") == stage2_slot_directory_lba);
    CHECK(d.values.at("STAGE2_MAX_SECTORS") == stage2_max_sectors);
    CHECK(d.values.at("DIRECTORY_VERSION") == directory_version);
    CHECK(d.values.at("DIRECTORY_MAX_ENTRIES") == directory_max_entries);
    CHECK(d.values.at("PAYLOAD_NAME_BYTES") == payload_name_bytes);
    CHECK(d.values.at("SECTOR_SIZE") == sector_size);
    CHECK(d.values.at("KERNEL_LOAD_ADDR") == static_cast<long long>(kernel_load_address));
    CHECK(d.values.at("KERNEL_MAX_BYTES") == static_cast<long long>(kernel_max_bytes));
    CHECK(d.values.at("PAYLOAD_BASE") == static_cast<long long>(payload_base));
    CHECK(d.values.at("PAYLOAD_ALIGN") == static_cast<long long>(payload_align));
    CHECK(d.values.at("BOOTINFO_ADDR") == static_cast<long long>(bootinfo_address));
    CHECK(d.values.at("AP_TRAMPOLINE_ADDR") == static_cast<long long>(ap_trampoline_address));
    CHECK(d.values.at("PVM_VIF_PAGE") == static_cast<long long>(pvm_vif_page_address));
    CHECK(d.values.at("BOUNCE_ADDR") == static_cast<long long>(unpack_area_begin));
    CHECK(d.values.at("UNPACK_ADDR") == static_cast<long long>(unpack_address));
    CHECK(d.values.at("UNPACK_LIMIT") == static_cast<long long>(unpack_area_end));
    CHECK(d.values.at("KERNEL_LOAD_ADDR") + d.values.at("KERNEL_MAX_BYTES") <= d.values.at("PAYLOAD_BASE"));
}

TEST_CASE("the boot loader's error numbers are those of error_codes.h", "[boot]")
{
    auto d = load();
    using kl::ErrorCode;
    CHECK(d.values.at("ERR_BOOT_NO_DISK_EXTENSIONS") == static_cast<long long>(ErrorCode::BootNoDiskExtensions));
    CHECK(d.values.at("ERR_BOOT_DISK_READ") == static_cast<long long>(ErrorCode::BootDiskRead));
    CHECK(d.values.at("ERR_BOOT_NO_LONG_MODE") == static_cast<long long>(ErrorCode::BootNoLongMode));
    CHECK(d.values.at("ERR_BOOT_A20") == static_cast<long long>(ErrorCode::BootA20));
    CHECK(d.values.at("ERR_BOOT_DIRECTORY") == static_cast<long long>(ErrorCode::BootDirectory));
    CHECK(d.values.at("ERR_BOOT_MEMORY") == static_cast<long long>(ErrorCode::BootMemory));
    CHECK(d.values.at("ERR_BOOT_MEMORY_MAP") == static_cast<long long>(ErrorCode::BootMemoryMap));
    CHECK(d.values.at("ERR_BOOT_KERNEL") == static_cast<long long>(ErrorCode::BootKernel));
    CHECK(d.values.at("ERR_BOOT_FIRMWARE") == static_cast<long long>(ErrorCode::BootFirmware));
}
