// Fuzz targets for what the UEFI loader reads from the firmware and the disk
// (boot/uefi/memory_map.h, boot/uefi/disk_layout.h).
//
// fuzz_uefi_memory_map: byte [0] picks the descriptor size (40 + 8 * (b % 4)), [1] the
// region capacity (1 + b % 128), [2, 10) a range start and [10, 14) its length for
// check_free_after_exit; the rest are memory descriptors. An accepted map must come out
// sorted, without empty or wrapping regions, with touching regions of one type merged, the
// byte count of the non-empty descriptors preserved, and every descriptor inside a region of
// its E820 type; a range called free must be free memory, and nothing else, at the points
// checked.
// fuzz_uefi_disk: bytes [0, 512) are sector 0, [512, 520) the disk's sector count, the rest a
// device path. The directory LBA must be the first type-0xda partition's start, inside the
// disk; device path lengths, the UART answer and the parent path must agree with the bytes.
#include <string.h>

#include <vector>

#include "boot/uefi/disk_layout.h"
#include "boot/uefi/memory_map.h"
#include "tests/fuzz/targets.h"
#include "tests/fuzz/targets/fuzz_support.h"

using fuzz_support::byte_or_zero;
using fuzz_support::read_or_zero;

namespace {

unsigned long long ull(u64 v) { return static_cast<unsigned long long>(v); }

bool descriptor_range(const efi::MemoryDescriptor& d, u64& start, u64& end)
{
    u64 length;
    start = d.physical_start;
    return d.number_of_pages != 0 && !__builtin_mul_overflow(d.number_of_pages, efi::page_size, &length) &&
        !__builtin_add_overflow(start, length, &end);
}

void check_regions(const uefi::MemoryMapView& map, const kl::boot::MemoryRegion* r, u32 count, u32 capacity)
{
    FUZZ_CHECK(count >= 1 && count <= capacity, "%u regions, capacity %u", count, capacity);
    unsigned __int128 region_bytes = 0, descriptor_bytes = 0;
    for (u32 i = 0; i < count; ++i) {
        u64 end;
        FUZZ_CHECK(r[i].length > 0 && !__builtin_add_overflow(r[i].base, r[i].length, &end), "region %u empty or wraps", i);
        FUZZ_CHECK(i == 0 || r[i - 1].base <= r[i].base, "regions %u and %u out of order", i - 1, i);
        FUZZ_CHECK(i == 0 || !(r[i - 1].type == r[i].type && r[i - 1].base + r[i - 1].length == r[i].base),
            "regions %u and %u touch with the same type, unmerged", i - 1, i);
        region_bytes += r[i].length;
    }
    for (u64 i = 0; i < map.count(); ++i) {
        u64 start, end;
        if (!descriptor_range(map.at(i), start, end))
            continue;
        descriptor_bytes += end - start;
        u32 type = uefi::e820_type(map.at(i).type);
        bool inside = false;
        for (u32 k = 0; k < count && !inside; ++k)
            inside = r[k].type == type && r[k].base <= start && end - r[k].base <= r[k].length;
        FUZZ_CHECK(inside, "descriptor %llu (%#llx..%#llx) lies in no region of type %u", ull(i), ull(start), ull(end), type);
    }
    FUZZ_CHECK(region_bytes == descriptor_bytes, "regions hold another byte count than the descriptors");
}

// A point of a range called free: inside a free descriptor and inside no other kind.
bool free_at(const uefi::MemoryMapView& map, u64 at)
{
    bool free = false;
    for (u64 i = 0; i < map.count(); ++i) {
        u64 start, end;
        u32 type = map.at(i).type;
        if (!descriptor_range(map.at(i), start, end) || at < start || at >= end)
            continue;
        if (type != efi::ConventionalMemory && type != efi::BootServicesCode && type != efi::BootServicesData)
            return false;
        free = true;
    }
    return free;
}

}

int fuzz_uefi_memory_map(const u8* data, size_t size)
{
    const u64 descriptor_size = 40 + 8 * (byte_or_zero(data, size, 0) % 4);
    const u32 capacity = 1 + byte_or_zero(data, size, 1) % 128;
    const u64 range_start = read_or_zero<u64>(data, size, 2);
    const u64 range_length = read_or_zero<u32>(data, size, 10);
    // An aligned copy: the firmware's buffer is pool memory, 8-byte aligned.
    std::vector<u64> buffer((size > 14 ? size - 14 : 0) / 8 + 1, 0);
    if (size > 14)
        memcpy(buffer.data(), data + 14, size - 14);
    uefi::MemoryMapView map { reinterpret_cast<const u8*>(buffer.data()), size > 14 ? size - 14 : 0, descriptor_size };

    std::vector<kl::boot::MemoryRegion> regions(capacity);
    auto converted = uefi::convert_memory_map(map, regions.data(), capacity);
    if (converted.is_error())
        FUZZ_CHECK(converted.error().code() == kl::ErrorCode::BootMemoryMap, "error %s", converted.error().code_name());
    else
        check_regions(map, regions.data(), converted.value(), capacity);

    u64 range_end;
    if (range_length == 0 || __builtin_add_overflow(range_start, range_length, &range_end))
        return 0;
    auto free = uefi::check_free_after_exit(map, range_start, range_end, "a fuzzed range");
    if (free.is_error()) {
        FUZZ_CHECK(free.error().code() == kl::ErrorCode::BootMemory, "error %s", free.error().code_name());
        return 0;
    }
    for (u64 at : { range_start, range_start + range_length / 2, range_end - 1 })
        FUZZ_CHECK(free_at(map, at), "%#llx..%#llx called free, but %#llx is not", ull(range_start), ull(range_end), ull(at));
    return 0;
}

int fuzz_uefi_disk(const u8* data, size_t size)
{
    u8 mbr[512] = {};
    if (size)
        memcpy(mbr, data, size < 512 ? size : 512);
    const u64 disk_sectors = read_or_zero<u64>(data, size, 512);
    auto lba = uefi::payload_directory_lba(mbr, disk_sectors);
    if (lba.is_error()) {
        FUZZ_CHECK(lba.error().code() == kl::ErrorCode::BootDirectory, "error %s", lba.error().code_name());
    } else {
        FUZZ_CHECK(mbr[510] == 0x55 && mbr[511] == 0xAA, "accepted a sector without 55 AA");
        FUZZ_CHECK(lba.value() != 0 && lba.value() < disk_sectors, "directory LBA %llu outside the disk", ull(lba.value()));
        const u8* first = nullptr;
        for (int i = 0; i < 4 && !first; ++i)
            first = mbr[0x1BE + 16 * i + 4] == 0xDA ? mbr + 0x1BE + 16 * i : nullptr;
        FUZZ_CHECK(first && read_or_zero<u32>(first, 16, 8) == lba.value(), "not the first 0xda partition's start");
    }

    const size_t path_size = size > 520 ? size - 520 : 0;
    std::vector<u8> path(data + (size > 520 ? 520 : size), data + size);
    const usize total = uefi::device_path_bytes(path.data(), path_size);
    FUZZ_CHECK(total <= path_size, "path of %zu bytes in %zu", total, path_size);
    if (total)
        FUZZ_CHECK(path[total - 4] == 0x7F && path[total - 3] == 0xFF, "the path does not end in an end node");
    bool uart = uefi::device_path_has_uart(path.data(), path_size);
    FUZZ_CHECK(!uart || total > 0, "a UART in a malformed path");
    u8 parent[256];
    usize n = uefi::parent_device_path(path.data(), path_size, parent, sizeof(parent));
    if (n) {
        FUZZ_CHECK(total > 0 && n <= sizeof(parent) && n < total + 4, "parent of %zu bytes from %zu", n, total);
        FUZZ_CHECK(memcmp(parent, path.data(), n - 4) == 0, "the parent is not a prefix of the path");
        FUZZ_CHECK(uefi::device_path_bytes(parent, n) == n, "the parent path is malformed");
    }
    return 0;
}
